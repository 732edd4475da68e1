"""Timing backends: when each counted work item runs, hence latency, FPS and every block's busy time.

Every backend is one module (or package) here with the same entry,

    schedule_plans(hw, wl, mapping, plans, source, *, progress=False) -> list[archsim.cycles.SimTrace]

that takes the same action counts (archsim.counts: the oracle every backend shares) and per-item cycles
(archsim.cycles), a block of samples at a time from ``source`` (archsim.timing.chunks.ChunkSource, which
serves several exit plans at once: a run and its fixed-T baseline), tells the source when each block's
items are final, and returns one trace per plan, which energy and the report read; and, for one plan
whose counts and cycles of every sample are made already,

    schedule(hw, wl, mapping, plan, counts, timing, *, progress=False) -> archsim.cycles.SimTrace

  simpy/       the discrete-event model (``--mode simpy``, the default): contention, back-pressure,
               the layer/timestep wavefront, image pipelining, speculation
  analytic.py  longest paths through each sample's items plus a first-come-first-served replay of a
               spread-out sample of images (replay.py) to measure the waiting (``--mode analytic``)
  barrier.py   lockstep timesteps, one sample at a time (hwconfig ``timing.mode: barrier``: Loihi,
               SANA-FE); it overrides ``--mode``

:data:`BACKENDS` is the table a run chooses from. A backend is imported only when chosen, so SimPy loads
only for a SimPy run and ``archsim --help`` stays fast. A new backend is one module and one row here.
"""
from __future__ import annotations

import importlib

# name -> module that defines schedule(...)
BACKENDS = {
    "simpy": "archsim.timing.simpy",
    "analytic": "archsim.timing.analytic",
    "barrier": "archsim.timing.barrier",
}


def backend_name(hw, mode: str) -> str:
    """The backend of a run: ``barrier`` when the hwconfig's ``timing.mode`` says so (a barrier chip has
    no schedule to simulate), else the run's ``mode`` (archsim.choices.MODES)."""
    return "barrier" if hw.timing.mode == "barrier" else mode


def schedule_plans(name: str, hw, wl, mapping, plans, source, *, progress: bool = False):
    """Run backend ``name`` (a key of :data:`BACKENDS`) on every plan of ``source``; a SimTrace per plan."""
    backend = importlib.import_module(BACKENDS[name])
    return backend.schedule_plans(hw, wl, mapping, plans, source, progress=progress)


def schedule(name: str, hw, wl, mapping, plan, counts, timing, *, progress: bool = False):
    """Run backend ``name`` on one plan's counts and cycles of every sample (one block); its SimTrace."""
    backend = importlib.import_module(BACKENDS[name])
    return backend.schedule(hw, wl, mapping, plan, counts, timing, progress=progress)

"""Timing backends: when each counted work item runs, hence latency, FPS and every block's busy time.

Every backend is one module (or package) here with the same entry,

    schedule(hw, wl, mapping, plan, counts, timing, *, progress=False) -> archsim.cycles.SimTrace

that takes the same action counts (archsim.counts: the oracle every backend shares) and per-item cycles
(archsim.cycles), and returns the same trace, which energy and the report read:

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


def schedule(name: str, hw, wl, mapping, plan, counts, timing, *, progress: bool = False):
    """Run backend ``name`` (a key of :data:`BACKENDS`) on one plan's counts and cycles; its SimTrace."""
    backend = importlib.import_module(BACKENDS[name])
    return backend.schedule(hw, wl, mapping, plan, counts, timing, progress=progress)

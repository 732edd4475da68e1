"""Cycles: how long each block is busy, as pure functions of the counts. Used by both timing models.

The SimPy chip (archsim.timing.simpy) and the analytic schedule (archsim.timing.analytic) differ only in how they
*schedule* work items (contention, stalls, back-pressure); what one item costs on each block is decided
here, once, so the two cannot drift apart. No SimPy here: the analytic mode and the sweeps import this
module without it.

- ``core_timing``: cycles a work item holds its layer's cores (see :class:`CoreTiming`);
- ``ttfs_lead``: when a TTFS consumer's window may start after its producer's;
- ``bank_cycles`` / ``with_latency``: SRAM bank bandwidth (word-interleaved single-ported banks);
- ``cycles_per_flit`` / ``occupancy_cycles``: mesh link throughput under credit flow control;
- ``reserve_links``: how a transfer holds its route's links (first come, first served);
- ``transfer_cycles`` / ``image_load_cycles``: the off-chip channel;
- :class:`SimTrace`: what a schedule returns.

Core timing (an item runs on all cores of its layer at once, each on its own neurons; the fullest core,
``max_share`` of the neurons, sets the pace, so per-core work = layer work x max_share):

Each unit (archsim.units) says what it needs per item, per phase (``busy_cycles``); a phase takes its
slowest unit's cycles:

- compute = the slowest of: the PE array (accumulates / accumulates_per_cycle + MACs / macs_per_cycle),
  the weight SRAM (its word reads over its banks), the spike buffer (each core reads every input spike,
  or scans its neurons' input bitmaps under ``gather``) and, under the ``scatter`` dataflow, the
  potential SRAM's read-modify-write per accumulate; each plus its first access's latency;
- update = the neuron sweep: neurons / updates_per_cycle, or the potential SRAM's read+write words over
  its banks when that is slower, plus its read and write latency;
- an item holds its cores for compute + update (integrate, then fire); a layer with spilled weights also
  books the shared off-chip channel for its spilled reads, overlapped with compute.

TTFS (Quartz) items: T is 1 and an item is a layer's whole window of ``window_steps`` (= 4 t_max - 4)
steps; the neurons are time-driven, so each step sweeps them (``update / window_steps`` cycles), and the
input spikes arrive during the t_max steps of the input phase, so a step takes max(sweep, compute /
t_max) cycles and the item window_steps such steps. Outputs leave during steps [2(t_max-1), 3(t_max-1)]
of the producer's window and must land in steps [t_max-1, 2(t_max-1)] of the consumer's, so a consumer
may start ``lead`` cycles after its producer started (see ``ttfs_lead``), not after it ended.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from archsim import graph as lg
from archsim import units
from archsim.hwconfig import HwConfig, Sram, offchip_bits_per_cycle
from archsim.counts import ItemCounts
from archsim.mapping import Mapping, window_steps
from archsim.units.base import BUSY_PHASES, CycleContext, ceil_div, words
from archsim.units.base import with_latency  # noqa: F401  (re-exported: the SRAM latency rule, tests)
from archsim.units import chip_link
from archsim.units.network import cycles_per_flit  # the on-chip link's rate (re-exported: the timing backends)
from archsim.units.offchip import channel_cycles
from archsim.workload import Workload


@dataclass
class SimTrace:
    """What happened: which items ran, when images came and went, how busy each block was (cycles)."""
    executed: np.ndarray          # [N, L', T] bool
    admit: np.ndarray             # [N] cycle the image entered
    finish: np.ndarray            # [N] cycle the image left (exit decision or last timestep)
    makespan: float
    group_busy: np.ndarray        # [groups] cycles held
    layer_stall: np.ndarray       # [L'] cycles holding cores while a downstream buffer was full
    link_busy: np.ndarray         # [links] cycles reserved
    offchip_busy: float
    controller_busy: float
    decisions: int
    spikes_sent: int | None       # spike events over mesh-crossing edges (None: not tracked, analytic)
    spikes_received: int | None
    spikes_dropped: int | None


@dataclass
class CoreTiming:
    """Cycles per item, all int64 [N, L', T]."""
    compute: np.ndarray
    update: np.ndarray
    offchip: np.ndarray        # cycles on the shared off-chip channel (spilled weight reads)
    held: np.ndarray           # cycles the item holds its cores when the off-chip channel is free
    step: np.ndarray | None    # TTFS: cycles per window step [N, L'] (None otherwise)
    t_max: int                 # TTFS t_max (0 otherwise)

    def take(self, index) -> "CoreTiming":
        """The cycles of the samples ``index`` (as archsim.workload.Workload.take)."""
        return CoreTiming(self.compute[index], self.update[index], self.offchip[index], self.held[index],
                          None if self.step is None else self.step[index], self.t_max)


def bank_cycles(accesses: np.ndarray, sram: Sram) -> np.ndarray:
    """Cycles to serve ``accesses`` port-wide accesses on one core's banks (int64, 0 for none): the
    access streams of an item are sequential, so they spread evenly over the word-interleaved banks."""
    a = np.asarray(accesses, dtype=np.float64)
    return np.ceil(a / sram.banks - 1e-9).astype(np.int64)


def link_cycles_per_flit(hw: HwConfig, mapping: Mapping) -> np.ndarray:
    """``[links]`` cycles per flit of every link (mapping.links order): an on-chip link's
    (:func:`cycles_per_flit`), or a chip-to-chip link's (archsim.units.chip_link)."""
    onchip = cycles_per_flit(hw)
    return np.where(mapping.chip_links, chip_link.cycles_per_flit(hw) if hw.chip_link else onchip, onchip)


def occupancy_cycles(max_link_flits: np.ndarray, hw: HwConfig) -> np.ndarray:
    """Cycles a transfer holds its links: its busiest link's flits at the link rate."""
    return np.ceil(np.asarray(max_link_flits, dtype=np.float64) * cycles_per_flit(hw) - 1e-9).astype(np.int64)


def reserve_links(free_at: list[float], busy: list[float], link_ids, now: float, occupancy: float) -> float:
    """A transfer on the mesh (wormhole, first come first served per link) holds every link of its route
    from a common start, the latest of ``now`` and each link's busy-until, for ``occupancy`` cycles.
    Updates ``free_at`` and ``busy`` (cycles held per link); returns the cycle the transfer ends. The
    SimPy link reservations (archsim.timing.simpy.router) and the analytic replay (archsim.timing.replay) both reserve links with it."""
    start = now
    for j in link_ids:
        if free_at[j] > start:
            start = free_at[j]
    end = start + occupancy
    for j in link_ids:
        free_at[j] = end
        busy[j] += occupancy
    return end


def transfer_cycles(accesses: np.ndarray, hw: HwConfig) -> np.ndarray:
    """Cycles to move ``accesses`` off-chip accesses (0 for none, or when there is no off-chip memory)."""
    return channel_cycles(accesses, hw, offchip_bits_per_cycle(hw))


def image_load_cycles(hw: HwConfig, wl: Workload) -> int:
    """Off-chip channel cycles to bring one image in (0 without off-chip memory or with spike input)."""
    src = wl.graph.nodes[lg.INPUT]
    if hw.offchip is None or src["spiking"]:
        return 0
    accesses = words(hw.precision.input_bits, src["neurons"], hw.offchip.access_bits)
    return int(transfer_cycles(np.array([accesses]), hw)[0])


def core_timing(hw: HwConfig, mapping: Mapping, counts: ItemCounts, wl: Workload) -> CoreTiming:
    """Cycles of every item on its cores (module docstring): per phase, the slowest of the chip's units."""
    a = counts.actions
    busy = {phase: np.zeros(a["accumulates"].shape, dtype=np.int64) for phase in BUSY_PHASES}
    chip = [u for u in units.present(hw) if hasattr(u, "busy_cycles")]
    bits_per_cycle = offchip_bits_per_cycle(hw)
    for li, name in enumerate(mapping.order):
        place = mapping.layers[name]
        ctx = CycleContext(hw, {c: v[:, li] for c, v in a.items()}, max(place.neurons_per_core), place.neurons,
                           len(place.cores), bits_per_cycle)
        for unit in chip:
            for phase, cycles in unit.busy_cycles(ctx).items():
                busy[phase][:, li] = np.maximum(busy[phase][:, li], cycles)
    compute, update, offchip = busy["compute"], busy["update"], busy["channel"]
    if wl.kind == "ttfs":
        steps, t_max = window_steps(wl.graph, mapping.order[-1]), int(wl.meta["t_max"])
        step = np.maximum(ceil_div(update[:, :, 0], steps), ceil_div(compute[:, :, 0], t_max))
        held = (step * steps)[:, :, None]
        return CoreTiming(compute, update, offchip, held, step, t_max)
    return CoreTiming(compute, update, offchip, compute + update, None, 0)


def ttfs_lead(step_src: np.ndarray, step_dst: np.ndarray, t_max: int) -> np.ndarray:
    """Cycles after the producer's window starts at which the consumer's window may start, so that the
    producer's output steps [2(t_max-1), 3(t_max-1)] land in the consumer's input steps
    [t_max-1, 2(t_max-1)]: start_c + (t_max-1) s_c >= start_p + 2(t_max-1) s_p and
    start_c + 2(t_max-1) s_c >= start_p + 3(t_max-1) s_p."""
    d = t_max - 1
    return np.maximum(np.maximum(2 * d * step_src - d * step_dst, 3 * d * step_src - 2 * d * step_dst), 0)

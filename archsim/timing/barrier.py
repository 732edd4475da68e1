"""Timestep-barrier timing (``timing.mode: barrier``): how Loihi-class chips, and SANA-FE, keep time.

Every core finishes a timestep before any core starts the next, and one sample runs at a time. Within a
step a core does two things: it *processes its neurons* (each mapped neuron's access, update and spike
out, plus one message-out per packet it sends) and it *processes the messages it receives* (a
message-in per packet, then each synaptic event). With per-event latencies from the energy table
(``latency_ns``), a core's step takes max(neuron processing, message processing); the step takes the
slowest core, plus a synchronisation cost that depends on how many tiles hold neurons
(``timing.sync_ns_by_tiles``). This is SANA-FE's "simple" timing model (SANA-FE 2.x,
``schedule_messages_timestep_simple``): no network delay, no contention.

Which items share a hardware step: a workload records spikes per *algorithm* timestep, where layer l at
t reads layer l-1's spikes of the same t. On a barrier chip a spike sent in step s is integrated in
step s+1, so layer l's item t updates its neurons in hardware step t + depth(l) (depth: longest path
from the first placed layer) after its cores processed the incoming messages in the step before, and a
sample takes its exit timestep + the network's depth in steps. A workload whose
``meta.spike_timing`` is ``hardware`` (a SANA-FE spike trace) is already in hardware steps: no shift.
"""
from __future__ import annotations

import networkx as nx
import numpy as np

from archsim import units
from archsim.hwconfig import HwConfig, unit_for
from archsim.counts import ItemCounts, oracle_mask
from archsim.exit_policy import ExitPlan
from archsim.cycles import CoreTiming, SimTrace
from archsim.timing.chunks import one_block
from archsim.mapping import Mapping
from archsim.units.base import BARRIER_PHASES
from archsim.workload import Workload


def layer_depths(g: nx.DiGraph, order: list[str]) -> dict[str, int]:
    """Hardware steps after the first placed layer at which each layer's item t runs."""
    depth = {}
    for name in nx.topological_sort(g):
        if name not in order:
            continue
        preds = [depth[u] + 1 for u in g.predecessors(name) if u in depth]
        depth[name] = max(preds, default=0)
    return depth


def _latency(hw: HwConfig, component: str, action: str) -> float:
    value = hw.energy.latency_ns(component, action)
    return 0.0 if value is None else float(value)


def layer_core_ns(hw: HwConfig, g: nx.DiGraph, name: str, load: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """One layer's per-core loads (counts.core_load, [N, T, K]) in nanoseconds: (neuron processing,
    message processing), each the sum over the chip's units' timed rows of events x ``latency_ns``."""
    ns = dict.fromkeys(BARRIER_PHASES, 0.0)
    for row in units.rows(units.present(hw)):
        if row.barrier_phase is not None:
            comp = unit_for(hw, g, name, row.pricing) if row.pricing in units.PER_LAYER_PRICING else row.component
            ns[row.barrier_phase] = ns[row.barrier_phase] + load[row.count] * _latency(hw, comp, row.action)
    return ns["neuron"], ns["message"]


class _Plan:
    """One plan's barrier schedule, made block by block (:meth:`add`), then its trace (:meth:`trace`).
    Float sums over samples are taken once, over every sample, at the end, so blocks give the same
    numbers as one pass."""

    def __init__(self, hw: HwConfig, wl: Workload, mapping: Mapping, plan: ExitPlan):
        self.hw, self.g, self.mapping, self.plan, self.order = hw, wl.graph, mapping, plan, mapping.order
        hardware_time = wl.meta.get("spike_timing") == "hardware"
        self.depth = {name: 0 for name in self.order} if hardware_time else layer_depths(self.g, self.order)
        self.d_max = max(self.depth.values(), default=0)
        self.t_steps = wl.timesteps
        self.cycles_per_ns = hw.clock_mhz / 1000.0
        tiles = len({hw.tile_of(c) for name in self.order for c in mapping.layers[name].cores})
        self.sync = hw.timing.sync_ns(tiles)
        self.latency: list[np.ndarray] = []             # per block: [n] cycles per sample
        self.busy: list[list[np.ndarray]] = [[] for _ in self.order]   # per layer, per block: [n, T] ns
        self.executed: list[np.ndarray] = []
        self.decisions = 0

    def add(self, chunk, i: int) -> np.ndarray:
        """Block ``chunk`` under this plan (the ``i``-th): every sample stops at its exit (no speculation on
        a barrier chip); its items (bool [n, L', T])."""
        hw, counts, n_steps = self.hw, chunk.counts[i], self.t_steps + self.d_max
        sub = self.plan.take(slice(chunk.lo, chunk.hi))
        executed = oracle_mask(sub, len(self.order), self.t_steps)
        n = chunk.hi - chunk.lo
        core_neuron = np.zeros((n, n_steps, hw.n_cores))
        core_message = np.zeros_like(core_neuron)
        for li, name in enumerate(self.order):
            place = self.mapping.layers[name]
            neuron, message = layer_core_ns(hw, self.g, name, counts.core_load[name])
            ran = executed[:, li, :, None]
            neuron, message = np.where(ran, neuron, 0.0), np.where(ran, message, 0.0)
            s0, cores = self.depth[name], list(place.cores)
            m0 = max(s0 - 1, 0)          # messages are processed in the step they were sent, integrated the next
            core_neuron[:, s0:s0 + self.t_steps, cores] += neuron
            core_message[:, m0:m0 + self.t_steps, cores] += message
            self.busy[li].append(np.maximum(neuron, message).max(axis=-1))
        live = np.arange(n_steps)[None, :] < (sub.exit_t + self.d_max)[:, None]      # hardware steps each sample runs
        step_ns = np.where(live, np.maximum(core_neuron, core_message).max(axis=-1) + self.sync, 0.0)   # [n, S]
        self.latency.append(step_ns.sum(axis=1) * self.cycles_per_ns)
        self.executed.append(executed)
        self.decisions += int(counts.actions["decisions"][executed].sum())
        return executed

    def trace(self) -> SimTrace:
        """Samples one after another, each ``exit + depth`` steps, each step the slowest core plus the
        synchronisation cost."""
        busy = np.zeros(len(self.mapping.groups))
        for li, name in enumerate(self.order):
            busy[self.mapping.layers[name].group] += np.concatenate(self.busy[li]).sum() * self.cycles_per_ns
        latency = np.concatenate(self.latency)
        finish = np.cumsum(latency)
        admit = finish - latency
        n = len(latency)
        return SimTrace(executed=np.concatenate(self.executed), admit=admit, finish=finish,
                        makespan=float(finish[-1]) if n else 0.0, group_busy=busy,
                        layer_stall=np.zeros(len(self.order)), link_busy=np.zeros(len(self.mapping.links)),
                        offchip_busy=0.0, controller_busy=0.0, decisions=self.decisions,
                        spikes_sent=None, spikes_received=None, spikes_dropped=None)


def schedule_plans(hw: HwConfig, wl: Workload, mapping: Mapping, plans: list[ExitPlan], source, *,
                   progress: bool = False) -> list[SimTrace]:
    """The timing-backend entry (archsim.timing): the barrier schedule of each plan, block by block.
    ``progress``: unused (steps are timed by the table's latencies)."""
    runs = [_Plan(hw, wl, mapping, plan) for plan in plans]
    for k in range(len(source)):
        chunk = source.chunk(k)
        for i, run in enumerate(runs):
            source.done(k, i, run.add(chunk, i))
    return [run.trace() for run in runs]


def schedule(hw: HwConfig, wl: Workload, mapping: Mapping, plan: ExitPlan, counts: ItemCounts, timing: CoreTiming,
             *, progress: bool = False) -> SimTrace:
    """One plan, its counts and cycles of every sample given (archsim.timing.chunks.one_block)."""
    return one_block(schedule_plans, hw, wl, mapping, plan, counts, timing, progress)

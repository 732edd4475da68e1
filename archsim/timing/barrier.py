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


def barrier_schedule(hw: HwConfig, wl: Workload, mapping: Mapping, plan: ExitPlan, counts: ItemCounts,
                     executed: np.ndarray) -> SimTrace:
    """The trace of a barrier-synchronised run: samples one after another, each ``exit + depth`` steps
    (or its recorded hardware steps), each step the slowest core plus the synchronisation cost."""
    g, order = wl.graph, mapping.order
    n, t_steps = wl.n_samples, wl.timesteps
    hardware_time = wl.meta.get("spike_timing") == "hardware"
    depth = {name: 0 for name in order} if hardware_time else layer_depths(g, order)
    d_max = max(depth.values(), default=0)
    n_steps = t_steps + d_max
    core_neuron = np.zeros((n, n_steps, hw.n_cores))
    core_message = np.zeros_like(core_neuron)
    cycles_per_ns = hw.clock_mhz / 1000.0
    busy = np.zeros(len(mapping.groups))
    for li, name in enumerate(order):
        place = mapping.layers[name]
        neuron, message = layer_core_ns(hw, g, name, counts.core_load[name])
        ran = executed[:, li, :, None]
        neuron, message = np.where(ran, neuron, 0.0), np.where(ran, message, 0.0)
        s0, cores = depth[name], list(place.cores)
        m0 = max(s0 - 1, 0)          # messages are processed in the step they were sent, integrated the next
        core_neuron[:, s0:s0 + t_steps, cores] += neuron
        core_message[:, m0:m0 + t_steps, cores] += message
        busy[place.group] += np.maximum(neuron, message).max(axis=-1).sum() * cycles_per_ns
    tiles = len({hw.tile_of(c) for name in order for c in mapping.layers[name].cores})
    sync = hw.timing.sync_ns(tiles)
    live = np.arange(n_steps)[None, :] < (plan.exit_t + d_max)[:, None]      # hardware steps each sample runs
    step_ns = np.where(live, np.maximum(core_neuron, core_message).max(axis=-1) + sync, 0.0)   # [N, S]
    latency = step_ns.sum(axis=1) * cycles_per_ns
    finish = np.cumsum(latency)
    admit = finish - latency
    decisions = int(counts.totals(executed)["decisions"])
    return SimTrace(executed=executed, admit=admit, finish=finish, makespan=float(finish[-1]) if n else 0.0,
                    group_busy=busy, layer_stall=np.zeros(len(order)), link_busy=np.zeros(len(mapping.links)),
                    offchip_busy=0.0, controller_busy=0.0, decisions=decisions,
                    spikes_sent=None, spikes_received=None, spikes_dropped=None)


def schedule(hw: HwConfig, wl: Workload, mapping: Mapping, plan: ExitPlan, counts: ItemCounts, timing: CoreTiming,
             *, progress: bool = False) -> SimTrace:
    """The timing-backend entry (archsim.timing): every sample stops at its exit (no speculation on a
    barrier chip). ``timing`` and ``progress``: unused (steps are timed by the table's latencies)."""
    return barrier_schedule(hw, wl, mapping, plan, counts, oracle_mask(plan, len(mapping.order), wl.timesteps))

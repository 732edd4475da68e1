"""``--mode analytic``: the same counts and item cycles as the SimPy model, timed by formula.

For big sweeps. Differences from the SimPy run, by design:

- latency of a sample = the longest path through its (layer, timestep) grid with no contention:
  finish(l, t) = max(inputs of (l, t) delivered, finish(l, t-1), the controller's decision on t-1 for a
  first layer in wait mode, the image loaded) + the item's cycles; plus the last decision;
- makespan = the larger of (a) the busiest block's total busy cycles (a core group, the off-chip
  channel, the controller, a mesh link) plus one image's latency minus one image's share of that block
  (pipeline fill and drain), (b) images x mean latency / images_in_flight (too few images in flight to
  keep the pipeline full), (c) the longest latency;
- no back-pressure stalls and no speculation: items past the exit are never counted (speculate mode is
  timed like wait mode without the decision gate).
"""
from __future__ import annotations

import numpy as np

from archsim import graph as lg
from archsim.config import HwConfig
from archsim.counts import ItemCounts
from archsim.exit_policy import ExitPlan
from archsim.hw.chip import SimTrace, image_load_cycles
from archsim.hw.core import CoreTiming, ttfs_lead
from archsim.hw.router import cycles_per_flit, occupancy_cycles
from archsim.mapping import Mapping
from archsim.workload import Workload


def analytic_schedule(hw: HwConfig, mapping: Mapping, wl: Workload, plan: ExitPlan, counts: ItemCounts,
                      timing: CoreTiming, executed: np.ndarray) -> SimTrace:
    g = wl.graph
    n, t_steps = wl.n_samples, wl.timesteps
    order = mapping.order
    li_of = {name: i for i, name in enumerate(order)}
    # an item's cycles with the off-chip channel to itself: spilled reads overlap compute
    dur = timing.held + np.maximum(timing.offchip - timing.compute, 0)
    hop = hw.router.hop_latency_cycles
    transfer = {}
    for (u, v), route in mapping.routes.items():
        occ = occupancy_cycles(counts.edge_max_link_flits[(u, v)], hw)
        transfer[(u, v)] = np.zeros_like(occ) if route.local else occ + route.max_hops * hop
    load = image_load_cycles(hw, wl)
    decide = hw.controller.decision_cycles if plan.adaptive else 0
    gate = plan.adaptive and hw.controller.mode == "wait"
    sink = next(name for name in order if g.out_degree(name) == 0)

    finish_prev = np.zeros((len(order), n))
    start_now = np.zeros((len(order), n))
    decision_end = np.zeros((t_steps, n))
    latency = np.zeros(n)
    for t in range(t_steps):
        finish_now = np.zeros((len(order), n))
        for li, name in enumerate(order):
            ready = finish_prev[li].copy() if t else np.zeros(n)
            if g.has_edge(lg.INPUT, name):
                ready = np.maximum(ready, load)
                if gate and t:
                    ready = np.maximum(ready, decision_end[t - 1])
            for u in g.predecessors(name):
                if u == lg.INPUT:
                    continue
                ui = li_of[u]
                if timing.step is not None:       # TTFS: overlap with the producer's window
                    lead = ttfs_lead(timing.step[:, ui], timing.step[:, li], timing.t_max)
                    ready = np.maximum(ready, start_now[ui] + lead + transfer[(u, name)][:, t])
                else:
                    ready = np.maximum(ready, finish_now[ui] + transfer[(u, name)][:, t])
            start_now[li] = ready
            finish_now[li] = ready + dur[:, li, t]
        si = li_of[sink]
        decided_here = plan.adaptive and t < plan.max_t - 1
        decision_end[t] = finish_now[si] + (decide if decided_here else 0)
        ends = plan.exit_t == t + 1
        latency[ends] = decision_end[t][ends]
        finish_prev = finish_now

    mean_latency = float(latency.mean())
    group_busy = np.zeros(len(mapping.groups))
    for li, name in enumerate(order):
        group_busy[mapping.layers[name].group] += float(np.where(executed[:, li], dur[:, li], 0).sum())
    offchip_busy = float(np.where(executed, timing.offchip, 0).sum()) + n * load
    controller_busy = float(counts.totals(executed)["decisions"] * hw.controller.decision_cycles)
    link_busy = counts.link_flits(mapping, executed) * cycles_per_flit(hw)
    blocks = [group_busy.max(initial=0.0), offchip_busy, controller_busy, float(link_busy.max(initial=0.0))]
    bottleneck = max(blocks)
    makespan = max(bottleneck - bottleneck / n + mean_latency,
                   n * mean_latency / hw.pipeline.images_in_flight, float(latency.max()))
    admit = np.arange(n) * (makespan - mean_latency) / max(n - 1, 1)
    decisions = int(counts.totals(executed)["decisions"])
    return SimTrace(executed=executed, admit=admit, finish=admit + latency, makespan=float(makespan),
                    group_busy=group_busy, layer_stall=np.zeros(len(order)), link_busy=link_busy,
                    offchip_busy=offchip_busy, controller_busy=controller_busy, decisions=decisions,
                    spikes_sent=None, spikes_received=None, spikes_dropped=None)   # not tracked

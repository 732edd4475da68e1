"""``--mode analytic``: the same counts and item cycles as the SimPy model, timed by formula plus a short
replay.

For big sweeps. Differences from the SimPy run, by design:

- contention-free latency of a sample = the longest path through its (layer, timestep) grid:
  finish(l, t) = max(inputs of (l, t) delivered, finish(l, t-1), the controller's decision on t - lag
  where the layer waits for it (archsim.timing.lookahead; wait mode: a first layer, lag 1), the image
  loaded) + the item's cycles; plus the last decision (vectorised over all samples);
- the waiting that the other images in flight cause on the core groups is measured, not estimated:
  ``REPLAY_IMAGES`` samples spread evenly over the workload are replayed one after another, each core
  group serving their items first come first served as the SimPy chip does (archsim.timing.replay); their
  latencies are the replayed ones, and every other sample's contention-free latency is stretched by the
  replayed samples' total latency over their contention-free total. When every sample is replayed
  (workloads of up to ``REPLAY_IMAGES`` samples), admissions, exits and makespan are the replay's;
- otherwise makespan = the larger of (a) the busiest block's total busy cycles (a core group, the
  off-chip channel, the controller, a mesh link) plus one image's latency minus one image's share of
  that block (pipeline fill and drain), (b) images x mean latency / images_in_flight (Little's law with
  the chip always full), (c) the longest latency;
- no back-pressure stalls (the spike buffers never fill), no waiting for mesh links, the off-chip channel
  or the controller, and no ``useful_first`` arbitration (the replay serves first come first served);
- speculation as the SimPy model does it: in ``speculate`` mode a sample's layers run on past its exit
  timestep until the controller stops it (with ``speculate_layers: K`` only the first K layers, and only
  the timestep after the exit), so an item (l, t >= exit) whose inputs are ready before the sample
  leaves is executed (and its work wasted and counted); the output layer itself stops at the exit.
  Replayed samples take this from the replay, the others from their contention-free schedule.

Why a replay: no closed formula we tried stayed within 5 % of SimPy on small_c10, the synthetic VGG16 and
the trained VGG16 with buffers that never fill (FPS errors respectively; ``benchmarks/analytic_vs_simpy.py``):
random-arrival queueing (L = free + (k - 1) sum D_i^2 / 2L) +1.6 / -3.8 / -20 %, because two images in
flight fall into a staggered rhythm on the busy conv1-conv3 groups and wait 13 % where random arrivals
predict 41 %; the closed-network bound max(free, k x D_max) +9 / +29 / +12 %; mean-value analysis with
half-residual service -4 / -12 / -28 %; a phase-aware overlap of the images' busy intervals at a fixed
offset L / k +9 / +1 / +2 % (small_c10's latencies vary too much between images for a fixed offset).
Replaying 256 samples: +0.6 / -0.4 / -0.5 % FPS and +0.6 / +1.6 / +0.1 % energy (results/analytic_vs_simpy.json);
replaying every sample: within 0.1 % (the replay differs from SimPy only in back-pressure and arbitration).
"""
from __future__ import annotations

import numpy as np

from archsim import graph as lg
from archsim.hwconfig import HwConfig
from archsim.counts import ItemCounts, oracle_mask
from archsim.exit_policy import ExitPlan
from archsim.cycles import CoreTiming, SimTrace, image_load_cycles, link_cycles_per_flit, occupancy_cycles, ttfs_lead
from archsim.mapping import Mapping
from archsim.timing.lookahead import Lookahead, lookahead
from archsim.timing.replay import Edge, replay
from archsim.workload import Workload


REPLAY_IMAGES = 256      # images replayed first come first served to measure how long they wait (archsim.timing.replay)


def analytic_schedule(hw: HwConfig, mapping: Mapping, wl: Workload, plan: ExitPlan, counts: ItemCounts,
                      timing: CoreTiming, executed: np.ndarray) -> SimTrace:
    """``executed``: the items that run when every sample stops at its exit (the oracle); speculation
    adds to it (module docstring)."""
    g = wl.graph
    n, t_steps = wl.n_samples, wl.timesteps
    order = mapping.order
    li_of = {name: i for i, name in enumerate(order)}
    # an item's cycles with the off-chip channel to itself: spilled reads overlap compute
    dur = timing.held + np.maximum(timing.offchip - timing.compute, 0)
    occ = {e: occupancy_cycles(counts.edge_max_link_flits[e], hw) for e in mapping.routes}     # [N, T] cycles
    transfer = {e: np.zeros_like(occ[e]) if route.local else occ[e] + route.path_cycles
                for e, route in mapping.routes.items()}
    lead = {} if timing.step is None else {          # TTFS: [N] cycles a consumer may start after its producer
        (u, v): ttfs_lead(timing.step[:, li_of[u]], timing.step[:, li_of[v]], timing.t_max) for u, v in mapping.routes}
    load = image_load_cycles(hw, wl)
    decide = hw.controller.decision_cycles if plan.adaptive else 0
    look = lookahead(hw.controller.layers_ahead, g, order, plan.adaptive)
    sink = next(name for name in order if g.out_degree(name) == 0)

    latency, start_all = _longest_paths(g, order, li_of, plan, dur, transfer, lead, load, look, decide, sink)

    past = [li for li in range(len(order)) if look.past_exit(li) and li != li_of[sink]]
    if plan.adaptive and past:
        # [N, L', T]: how many timesteps each layer of each sample may run (archsim.timing.lookahead)
        t_end = np.stack([np.array([look.t_end(li, e, plan.max_t) for e in range(t_steps + 1)])[plan.exit_t]
                          for li in range(len(order))], axis=1)
        running_on = (start_all < latency[:, None, None]) & (np.arange(t_steps)[None, None, :] < t_end[:, :, None])
        keep = np.zeros(len(order), dtype=bool)
        keep[past] = True
        executed = executed | (running_on & keep[None, :, None])
    k = min(hw.pipeline.images_in_flight, n)       # no more images in flight than there are images
    # the waiting: replay REPLAY_IMAGES samples spread over the workload as the SimPy chip serves them
    s_n = min(n, REPLAY_IMAGES)
    pick = np.linspace(0, n - 1, s_n).round().astype(np.int64)
    edges = [Edge(li_of[u], li_of[v], [int(j) for j in route.link_ids] if not route.local else [],
                  occ[(u, v)][pick], route.path_cycles, lead[(u, v)][pick] if lead else None)
             for (u, v), route in mapping.routes.items()]
    rep = replay(timing.held[pick], timing.compute[pick], timing.offchip[pick],
                 [mapping.layers[name].group for name in order], edges,
                 [g.has_edge(lg.INPUT, name) and lg.INPUT not in li_of for name in order], li_of[sink],
                 plan.exit_t[pick], plan.max_t, k, load, decide, plan.adaptive, look, len(mapping.links))
    replayed = rep.finish - rep.admit
    latency = latency * float(replayed.sum() / latency[pick].sum())
    latency[pick] = replayed
    executed[pick] = rep.executed
    mean_latency = float(latency.mean())
    group_busy = np.zeros(len(mapping.groups))
    for li, name in enumerate(order):
        group_busy[mapping.layers[name].group] += float(np.where(executed[:, li], dur[:, li], 0).sum())
    offchip_busy = float(np.where(executed, timing.offchip, 0).sum()) + n * load
    controller_busy = float(counts.totals(executed)["decisions"] * hw.controller.decision_cycles)
    link_busy = counts.link_flits(mapping, executed) * link_cycles_per_flit(hw, mapping)
    blocks = [group_busy.max(initial=0.0), offchip_busy, controller_busy, float(link_busy.max(initial=0.0))]
    bottleneck = max(blocks)
    if s_n == n:                                   # every image replayed
        admit, finish = rep.admit, rep.finish
        makespan = max(rep.makespan, bottleneck)
    else:
        makespan = max(bottleneck - bottleneck / n + mean_latency, n * mean_latency / k, float(latency.max()))
        admit = np.arange(n) * (makespan - mean_latency) / max(n - 1, 1)
        finish = admit + latency
    decisions = int(counts.totals(executed)["decisions"])
    return SimTrace(executed=executed, admit=admit, finish=finish, makespan=float(makespan),
                    group_busy=group_busy, layer_stall=np.zeros(len(order)), link_busy=link_busy,
                    offchip_busy=offchip_busy, controller_busy=controller_busy, decisions=decisions,
                    spikes_sent=None, spikes_received=None, spikes_dropped=None)   # not tracked


def _longest_paths(g, order: list[str], li_of: dict[str, int], plan: ExitPlan, dur: np.ndarray, transfer: dict,
                   lead: dict, load: int, look: Lookahead, decide: int, sink: str) -> tuple[np.ndarray, np.ndarray]:
    """Contention-free schedule of every sample (module docstring): its latency [N] (cycles, up to its exit
    decision) and the start cycle of every item [N, L', T]."""
    n, _, t_steps = dur.shape
    finish_prev = np.zeros((len(order), n))
    start_now = np.zeros((len(order), n))
    start_all = np.zeros((n, len(order), t_steps))
    decision_end = np.zeros((t_steps, n))
    latency = np.zeros(n)
    for t in range(t_steps):
        finish_now = np.zeros((len(order), n))
        for li, name in enumerate(order):
            ready = finish_prev[li].copy() if t else np.zeros(n)
            if g.has_edge(lg.INPUT, name):
                ready = np.maximum(ready, load)
            if look.explicit[li] and t >= look.lag[li]:
                ready = np.maximum(ready, decision_end[t - look.lag[li]])
            for u in g.predecessors(name):
                if u == lg.INPUT:
                    continue
                ui = li_of[u]
                if lead:                          # TTFS: overlap with the producer's window
                    ready = np.maximum(ready, start_now[ui] + lead[(u, name)] + transfer[(u, name)][:, t])
                else:
                    ready = np.maximum(ready, finish_now[ui] + transfer[(u, name)][:, t])
            start_now[li] = ready
            start_all[:, li, t] = ready
            finish_now[li] = ready + dur[:, li, t]
        si = li_of[sink]
        decided_here = plan.adaptive and t < plan.max_t - 1
        decision_end[t] = finish_now[si] + (decide if decided_here else 0)
        ends = plan.exit_t == t + 1
        latency[ends] = decision_end[t][ends]
        finish_prev = finish_now
    return latency, start_all


def schedule(hw: HwConfig, wl: Workload, mapping: Mapping, plan: ExitPlan, counts: ItemCounts, timing: CoreTiming,
             *, progress: bool = False) -> SimTrace:
    """The timing-backend entry (archsim.timing): the analytic schedule, starting from the oracle's items.
    ``progress``: unused (no progress bar; the analytic mode takes seconds)."""
    return analytic_schedule(hw, mapping, wl, plan, counts, timing, oracle_mask(plan, len(mapping.order), wl.timesteps))

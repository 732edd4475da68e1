"""``--mode analytic``: the same counts and item cycles as the SimPy model, timed by formula.

For big sweeps. Differences from the SimPy run, by design:

- latency of a sample = the longest path through its (layer, timestep) grid with no contention:
  finish(l, t) = max(inputs of (l, t) delivered, finish(l, t-1), the controller's decision on t-1 for a
  first layer in wait mode, the image loaded) + the item's cycles; plus the last decision; then
  stretched by the waiting that the other images in flight cause on the core groups
  (:func:`loaded_latency`, a first-order queueing estimate);
- makespan = the larger of (a) the busiest block's total busy cycles (a core group, the off-chip
  channel, the controller, a mesh link) plus one image's latency minus one image's share of that block
  (pipeline fill and drain), (b) images x mean latency / images_in_flight (too few images in flight to
  keep the pipeline full), (c) the longest latency;
- no back-pressure stalls (the spike buffers never fill);
- speculation as the SimPy model does it: in ``speculate`` mode a sample's layers run on past its exit
  timestep until the controller stops it, so an item (l, t >= exit) whose inputs are ready before the
  sample leaves is executed (and its work wasted and counted); the output layer itself stops at the
  exit. Only contention differs from the SimPy run.

Known limit of the contention estimate (``benchmarks/analytic_vs_simpy.py``, results/analytic_vs_simpy.json):
within 5 % of SimPy on small_c10 and the synthetic VGG16 with buffers that never fill, but -20 % FPS on the
trained VGG16, whose conv1-conv3 core groups are busy 70-88 % of the time: there SimPy's two images in flight
fall into a staggered rhythm and wait 13 % over the contention-free latency, while random arrivals predict
41 %. Tried as replacements (FPS vs SimPy on small_c10 / synthetic VGG16 / trained VGG16): the closed-network
bound max(free, k x D_max) +9 / +29 / +12 %; mean-value analysis with half-residual service -4 / -12 / -28 %;
a phase-aware estimate (the other image offset by one period P = L / k, waiting = the overlap of the two
images' contention-free busy intervals per core group, iterated to a fixed point) +9 / +1 / +2 %: right for
the VGG16s, but small_c10's latencies vary too much between images (p95 2.4x p50) for a fixed offset.
"""
from __future__ import annotations

import numpy as np

from archsim import graph as lg
from archsim.config import HwConfig
from archsim.counts import ItemCounts
from archsim.exit_policy import ExitPlan
from archsim.cycles import CoreTiming, SimTrace, cycles_per_flit, image_load_cycles, occupancy_cycles, ttfs_lead
from archsim.mapping import Mapping
from archsim.workload import Workload


def loaded_latency(free: float, demand: np.ndarray, images: int) -> float:
    """Mean latency of an image when ``images`` share the chip, from its contention-free latency
    ``free`` and its busy cycles on each core group ``demand`` (cycles per image).

    An item of one image finds a group held by one of the other ``images - 1`` with probability
    (throughput per image) x (that group's demand), and then waits half a service on average (items of a
    group have similar lengths): waiting per image = (images - 1) X sum_i D_i^2 / (2 images), where
    X = images / L is the chip's throughput when the images-in-flight limit binds. So L = free + c / L
    with c = (images - 1) sum_i D_i^2 / 2, whose root is (free + sqrt(free^2 + 4c)) / 2."""
    c = (images - 1) * float(np.sum(np.square(demand))) / 2.0
    return (free + float(np.sqrt(free * free + 4.0 * c))) / 2.0


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
    start_all = np.zeros((n, len(order), t_steps))
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
            start_all[:, li, t] = ready
            finish_now[li] = ready + dur[:, li, t]
        si = li_of[sink]
        decided_here = plan.adaptive and t < plan.max_t - 1
        decision_end[t] = finish_now[si] + (decide if decided_here else 0)
        ends = plan.exit_t == t + 1
        latency[ends] = decision_end[t][ends]
        finish_prev = finish_now

    if plan.adaptive and hw.controller.mode == "speculate":
        running_on = (start_all < latency[:, None, None]) & (np.arange(t_steps) < plan.max_t)[None, None, :]
        running_on[:, li_of[sink], :] = False
        executed = executed | running_on
    mean_latency = float(latency.mean())
    group_busy = np.zeros(len(mapping.groups))
    for li, name in enumerate(order):
        group_busy[mapping.layers[name].group] += float(np.where(executed[:, li], dur[:, li], 0).sum())
    offchip_busy = float(np.where(executed, timing.offchip, 0).sum()) + n * load
    controller_busy = float(counts.totals(executed)["decisions"] * hw.controller.decision_cycles)
    link_busy = counts.link_flits(mapping, executed) * cycles_per_flit(hw)
    blocks = [group_busy.max(initial=0.0), offchip_busy, controller_busy, float(link_busy.max(initial=0.0))]
    bottleneck = max(blocks)
    k = min(hw.pipeline.images_in_flight, n)       # no more images in flight than there are images
    loaded = loaded_latency(mean_latency, group_busy / n, k)
    latency = latency * (loaded / mean_latency) if mean_latency > 0 else latency
    makespan = max(bottleneck - bottleneck / n + loaded, n * loaded / k, float(latency.max()))
    mean_latency = loaded
    admit = np.arange(n) * (makespan - mean_latency) / max(n - 1, 1)
    decisions = int(counts.totals(executed)["decisions"])
    return SimTrace(executed=executed, admit=admit, finish=admit + latency, makespan=float(makespan),
                    group_busy=group_busy, layer_stall=np.zeros(len(order)), link_busy=link_busy,
                    offchip_busy=offchip_busy, controller_busy=controller_busy, decisions=decisions,
                    spikes_sent=None, spikes_received=None, spikes_dropped=None)   # not tracked

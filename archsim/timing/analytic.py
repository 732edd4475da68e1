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
from archsim.counts import ItemCounts, link_flits, oracle_mask
from archsim.exit_policy import ExitPlan
from archsim.cycles import CoreTiming, SimTrace, image_load_cycles, link_cycles_per_flit, occupancy_cycles, ttfs_lead
from archsim.timing.chunks import one_block
from archsim.mapping import Mapping
from archsim.timing.lookahead import Lookahead, lookahead
from archsim.timing.replay import Edge, replay
from archsim.workload import Workload


REPLAY_IMAGES = 256      # images replayed first come first served to measure how long they wait (archsim.timing.replay)


class _Model:
    """What every plan of a run shares: the placement's order, edges, and per-item delays of a block."""

    def __init__(self, hw: HwConfig, wl: Workload, mapping: Mapping):
        self.hw, self.wl, self.mapping, self.g = hw, wl, mapping, wl.graph
        self.order = mapping.order
        self.li_of = {name: i for i, name in enumerate(self.order)}
        self.load = image_load_cycles(hw, wl)
        self.sink = next(name for name in self.order if self.g.out_degree(name) == 0)

    def delays(self, chunk, i: int) -> tuple:
        """Of a block's samples under plan i: item cycles with the off-chip channel to itself (spilled
        reads overlap compute) [n, L', T], link occupancy and transfer cycles per edge [n, T], and the
        TTFS leads per edge [n] (empty when not TTFS)."""
        timing, counts = chunk.timing, chunk.counts[i]
        dur = timing.held + np.maximum(timing.offchip - timing.compute, 0)
        occ = {e: occupancy_cycles(counts.edge_max_link_flits[e], self.hw) for e in self.mapping.routes}
        transfer = {e: np.zeros_like(occ[e]) if route.local else occ[e] + route.path_cycles
                    for e, route in self.mapping.routes.items()}
        lead = {} if timing.step is None else {
            (u, v): ttfs_lead(timing.step[:, self.li_of[u]], timing.step[:, self.li_of[v]], timing.t_max)
            for u, v in self.mapping.routes}
        return dur, occ, transfer, lead

    def contention_free(self, chunk, i: int, plan: ExitPlan, look: Lookahead) -> tuple:
        """A block's contention-free latencies [n] and item starts [n, L', T] (:func:`_longest_paths`), and
        its delays (:meth:`delays`)."""
        dur, occ, transfer, lead = self.delays(chunk, i)
        decide = self.hw.controller.decision_cycles if plan.adaptive else 0
        latency, start_all = _longest_paths(self.g, self.order, self.li_of, plan, dur, transfer, lead, self.load,
                                            look, decide, self.sink)
        return latency, start_all, dur, occ, lead


class _Plan:
    """One plan's analytic schedule, made block by block: the replayed sample first (:meth:`replay`), then
    every block (:meth:`add`), then the trace (:meth:`trace`)."""

    def __init__(self, model: _Model, plan: ExitPlan):
        self.m, self.plan = model, plan
        n, t_steps, n_layers = model.wl.n_samples, model.wl.timesteps, len(model.order)
        self.look = lookahead(model.hw.controller.layers_ahead, model.g, model.order, plan.adaptive)
        self.k = min(model.hw.pipeline.images_in_flight, n)      # no more images in flight than images
        self.latency = np.zeros(n)
        self.executed = np.zeros((n, n_layers, t_steps), dtype=bool)
        self.layer_busy = np.zeros(n_layers, dtype=np.int64)     # cycles of the items that ran, per layer
        self.offchip = 0                                         # cycles on the channel (spilled reads)
        self.decisions = 0
        self.sent: dict = {}                                     # ItemCounts.link_sent, summed
        self.fpp = 0                                             # flits per packet (the counts')

    def replay(self, pick: np.ndarray, picked, i: int) -> None:
        """Replay the samples ``pick`` (``picked``: their block, archsim.timing.chunks.ChunkSource.samples) as
        the SimPy chip serves them: their latencies, and the scale of every other sample's."""
        m, plan = self.m, self.plan
        free, _, _, occ, lead = m.contention_free(picked, i, plan.take(pick), self.look)
        edges = [Edge(m.li_of[u], m.li_of[v], [int(j) for j in route.link_ids] if not route.local else [],
                      occ[(u, v)], route.path_cycles, lead[(u, v)] if lead else None)
                 for (u, v), route in m.mapping.routes.items()]
        decide = m.hw.controller.decision_cycles if plan.adaptive else 0
        t = picked.timing
        self.rep = replay(t.held, t.compute, t.offchip, [m.mapping.layers[name].group for name in m.order], edges,
                          [m.g.has_edge(lg.INPUT, name) and lg.INPUT not in m.li_of for name in m.order],
                          m.li_of[m.sink], plan.exit_t[pick], plan.max_t, self.k, m.load, decide,
                          plan.adaptive, self.look, len(m.mapping.links))
        replayed = self.rep.finish - self.rep.admit
        self.pick, self.replayed = pick, replayed
        self.scale = float(replayed.sum() / free.sum())

    def add(self, chunk, i: int) -> np.ndarray:
        """Block ``chunk`` under this plan (the ``i``-th of the run): its items that run (bool [n, L', T])."""
        m, plan, lo, hi = self.m, self.plan, chunk.lo, chunk.hi
        sub = plan.take(slice(lo, hi))
        latency, start_all, dur, _, _ = m.contention_free(chunk, i, sub, self.look)
        executed = oracle_mask(sub, len(m.order), m.wl.timesteps)
        past = [li for li in range(len(m.order)) if self.look.past_exit(li) and li != m.li_of[m.sink]]
        if plan.adaptive and past:
            # [n, L', T]: how many timesteps each layer of each sample may run (archsim.timing.lookahead)
            t_end = np.stack([np.array([self.look.t_end(li, e, plan.max_t) for e in range(m.wl.timesteps + 1)])[sub.exit_t]
                              for li in range(len(m.order))], axis=1)
            running_on = (start_all < latency[:, None, None]) & (np.arange(m.wl.timesteps)[None, None, :] < t_end[:, :, None])
            keep = np.zeros(len(m.order), dtype=bool)
            keep[past] = True
            executed = executed | (running_on & keep[None, :, None])
        latency = latency * self.scale
        mine = (self.pick >= lo) & (self.pick < hi)               # replayed samples of this block
        latency[self.pick[mine] - lo] = self.replayed[mine]
        executed[self.pick[mine] - lo] = self.rep.executed[mine]
        self.latency[lo:hi], self.executed[lo:hi] = latency, executed
        self.layer_busy += np.where(executed, dur, 0).sum(axis=(0, 2))
        self.offchip += int(np.where(executed, chunk.timing.offchip, 0).sum())
        counts = chunk.counts[i]
        self.fpp = counts.fpp
        self.decisions += int(counts.actions["decisions"][executed].sum())
        for e, v in counts.link_sent(m.mapping, executed).items():
            self.sent[e] = self.sent[e] + v if e in self.sent else v
        return executed

    def trace(self) -> SimTrace:
        """The plan's trace once every block is in (module docstring: the makespan's three bounds)."""
        m, n = self.m, self.m.wl.n_samples
        group_busy = np.zeros(len(m.mapping.groups))
        for li, name in enumerate(m.order):
            group_busy[m.mapping.layers[name].group] += float(self.layer_busy[li])
        offchip_busy = float(self.offchip) + n * m.load
        controller_busy = float(self.decisions * m.hw.controller.decision_cycles)
        link_busy = link_flits(m.mapping, self.sent, fpp=self.fpp) * link_cycles_per_flit(m.hw, m.mapping)
        bottleneck = max([group_busy.max(initial=0.0), offchip_busy, controller_busy, float(link_busy.max(initial=0.0))])
        latency, mean_latency = self.latency, float(self.latency.mean())
        if len(self.pick) == n:                      # every image replayed
            admit, finish = self.rep.admit, self.rep.finish
            makespan = max(self.rep.makespan, bottleneck)
        else:
            makespan = max(bottleneck - bottleneck / n + mean_latency, n * mean_latency / self.k, float(latency.max()))
            admit = np.arange(n) * (makespan - mean_latency) / max(n - 1, 1)
            finish = admit + latency
        return SimTrace(executed=self.executed, admit=admit, finish=finish, makespan=float(makespan),
                        group_busy=group_busy, layer_stall=np.zeros(len(m.order)), link_busy=link_busy,
                        offchip_busy=offchip_busy, controller_busy=controller_busy, decisions=int(self.decisions),
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


def schedule_plans(hw: HwConfig, wl: Workload, mapping: Mapping, plans: list[ExitPlan], source, *,
                   progress: bool = False) -> list[SimTrace]:
    """The timing-backend entry (archsim.timing): the analytic schedule of each plan, starting from the
    oracle's items. ``progress``: unused (no progress bar; the analytic mode takes seconds)."""
    model = _Model(hw, wl, mapping)
    n = wl.n_samples
    pick = np.linspace(0, n - 1, min(n, REPLAY_IMAGES)).round().astype(np.int64)
    picked = source.samples(pick)
    runs = [_Plan(model, plan) for plan in plans]
    for i, run in enumerate(runs):
        run.replay(pick, picked, i)
    for k in range(len(source)):
        chunk = source.chunk(k)
        for i, run in enumerate(runs):
            source.done(k, i, run.add(chunk, i))
    return [run.trace() for run in runs]


def schedule(hw: HwConfig, wl: Workload, mapping: Mapping, plan: ExitPlan, counts: ItemCounts, timing: CoreTiming,
             *, progress: bool = False) -> SimTrace:
    """One plan, its counts and cycles of every sample given (archsim.timing.chunks.one_block)."""
    return one_block(schedule_plans, hw, wl, mapping, plan, counts, timing, progress)

"""The chip: the blocks assembled, and the stream of images through them.

Images enter in order while fewer than ``pipeline.images_in_flight`` are on chip (each needs its own
membrane potentials); the image DMA loads each over the off-chip channel. Every placed layer of an
admitted image is a process (archsim.timing.simpy.layer.Layer.run) that walks the timesteps; (l, t) waits for
(l-1, t) through the spikes delivered to it and for (l, t-1) by walking in order, so layers on different
cores form a wavefront and consecutive images overlap. An image leaves when the controller stops it (or
after its last timestep), freeing its slot for the next image. FPS = images / makespan.

SimPy events per item: one timeout, the cores' handover when it must wait for them, the buffer
reservation when it must wait, and the scheduled delivery of its spikes; no event per spike, link or bank.

Samples in blocks (archsim.timing.chunks): a chip reads a sample's cycles and spikes when it admits it;
:func:`schedule_plans` runs the chips of a run's plans (its own and its fixed-T baseline's) in step,
each up to the last sample of a block, so the blocks counted and held at any time are the one being
admitted and those whose samples are still on chip. A sample is *settled* when it has left and none of
its items is still running (no item of it can run after that: the layers that may run past the exit
check first); a block whose samples have all settled is reported to the source (its items are final).
"""
from __future__ import annotations

import gc
import sys

import numpy as np
import simpy
from tqdm import tqdm

from archsim import graph as lg
from archsim.hwconfig import HwConfig
from archsim.counts import ItemCounts
from archsim.cycles import CoreTiming, SimTrace, image_load_cycles
from archsim.timing.chunks import one_block
from archsim.exit_policy import ExitPlan
from archsim.timing.lookahead import lookahead
from archsim.timing.simpy.buffer import SpikeBuffer
from archsim.timing.simpy.controller import ExitController
from archsim.timing.simpy.kernel import Signal, fire, pause, run as run_events, start
from archsim.timing.simpy.core import CoreGroup
from archsim.timing.simpy.layer import Layer, Out, Sample, Services
from archsim.timing.simpy.offchip import OffChipChannel
from archsim.timing.simpy.router import LinkReservations
from archsim.timing.simpy.rows import SampleRows
from archsim.mapping import Mapping
from archsim.workload import Workload


class Chip:
    """One plan's chip: build it, then ``run(until)`` block by block and ``trace()`` at the end."""

    def __init__(self, hw: HwConfig, mapping: Mapping, wl: Workload, plan: ExitPlan, rows: SampleRows,
                 report=None):
        self.env = env = simpy.Environment()
        n, t_steps = wl.n_samples, wl.timesteps
        self.n_samples, self.t_steps = n, t_steps
        self.exit_t = plan.exit_t.tolist()
        useful_first = hw.controller.arbitration == "useful_first"
        self.groups = [CoreGroup(env, g.index, g.cores, useful_first) for g in mapping.groups]
        self.links = LinkReservations(env, hw, len(mapping.links),
                                      [[int(j) for j in r.link_ids] for r in mapping.routes.values()])
        self.offchip = OffChipChannel(env)
        self.controller = ExitController(env, hw.controller.decision_cycles)
        self.slots = simpy.Resource(env, capacity=hw.pipeline.images_in_flight)
        self.image_cycles = image_load_cycles(hw, wl)
        g = wl.graph
        look = lookahead(hw.controller.layers_ahead, g, mapping.order, plan.adaptive)
        self.speculate = any(look.past_exit(li) for li in range(len(mapping.order)))
        sv = Services(env, self.links, self.offchip, self.controller, self.retire, self.settle, look, look.gated,
                      plan.adaptive, plan.max_t)
        self.layers = [Layer(i, name, self.groups[mapping.layers[name].group], sv) for i, name in enumerate(mapping.order)]
        self.buffers = self._connect(hw, mapping, g, env)
        for lay in self.layers:
            lay.first = g.has_edge(lg.INPUT, lay.name) and lg.INPUT not in mapping.order
            lay.sink = g.out_degree(lay.name) == 0
            lay.spills = mapping.layers[lay.name].spill_fraction > 0 and hw.offchip is not None
            lay.ttfs = rows.ttfs
            lay.freeze()
        self.rows, self.report = rows, report
        self.n_edges = len(mapping.routes)
        self.samples: list[Sample | None] = [None] * n
        self.ran = [None] * n
        self.admit = np.zeros(n)
        self.finish = np.full(n, np.nan)
        self.slot_req: list = [None] * n
        self.gate = sv.gate
        self.unsettled = [hi - lo for lo, hi in rows.bounds]        # per block: samples not yet settled
        self.retired = 0
        self.admitted = -1                         # the last sample admitted
        self.pause_after = -1                      # run() stops once this sample is admitted
        self.on_retire = None                      # callable(): a sample left (the progress bar)
        start(env, [self._source()])

    def _connect(self, hw: HwConfig, mapping: Mapping, g, env) -> list[SpikeBuffer]:
        """The layers' edges: each mesh-crossing one with a spike buffer on its consumer's cores."""
        li_of = {name: i for i, name in enumerate(mapping.order)}
        entries = hw.core.spike_buffer.capacity_bits // hw.precision.spike_event_bits
        buffers = []
        for e, ((u, v), route) in enumerate(mapping.routes.items()):
            src, dst = self.layers[li_of[u]], self.layers[li_of[v]]
            buf = None
            if not route.local:
                in_degree = sum(1 for w in g.predecessors(v) if w in li_of)
                buf = SpikeBuffer(env, e, entries // max(1, in_degree))
                buffers.append(buf)
                dst.in_buffers.append((buf, e))
            src.outs.append(Out(e, buf, self.links.route_classes[e], route.path_cycles))
            dst.in_edges.append(e)
        return buffers

    # ------------------------------------------------------------------------------------------------
    def _source(self):
        env, t_steps = self.env, self.t_steps
        for n in range(self.n_samples):
            req = self.slots.request()
            yield req
            self.slot_req[n] = req
            self.admit[n] = env.now
            delivered = [[Signal() for _ in range(t_steps)] for _ in range(self.n_edges)]
            decided = [Signal() for _ in range(t_steps)] if self.gate else None
            ready = Signal()
            held, compute, offc, spikes, occupancy, lead = self.rows.get(n)
            s = self.samples[n] = Sample(n, self.exit_t[n], len(self.layers), delivered, decided, ready, spikes,
                                         occupancy, lead)
            self.ran[n] = s.ran
            start(env, [lay.run(s, held[li], compute[li], offc[li]) for li, lay in enumerate(self.layers)])
            fire(env, ready, self.offchip.reserve(self.image_cycles) - env.now if self.image_cycles else 0)
            self.admitted = n
            if n == self.pause_after:
                pause(env)

    def retire(self, s: Sample) -> None:
        """A sample leaves: its slot frees, and (when layers may run past the exit) its spikes still in
        buffers are dropped."""
        n = s.n
        s.exited = True
        self.finish[n] = self.env.now
        self.slots.release(self.slot_req[n])
        self.slot_req[n] = self.samples[n] = None       # its events live on only in its layers' processes
        if self.speculate:
            for buf in self.buffers:
                if s.pending[buf.e] or s.room[buf.e]:      # (else nothing of it waits there)
                    buf.drop(s)
        self.retired += 1
        if self.on_retire is not None:
            self.on_retire()
        if not s.live:
            self.settle(s)

    def settle(self, s: Sample) -> None:
        """Sample s has left and none of its items runs: nothing of it will run. Its processes still waiting
        (on spikes that will not come) are let go, and its block is reported once all of it has settled."""
        for events in s.delivered:
            for ev in events:
                if ev.callbacks:
                    ev.callbacks = []
        for ev in (s.decided or ()):
            if ev.callbacks:
                ev.callbacks = []
        k = self.rows.source.chunk_of(s.n)
        self.unsettled[k] -= 1
        if not self.unsettled[k] and self.report is not None:
            lo, hi = self.rows.bounds[k]
            self.report(k, self.executed(lo, hi))

    def executed(self, lo: int, hi: int) -> np.ndarray:
        """bool [hi - lo, L', T]: the items of samples lo..hi-1 that ran (each layer runs a prefix of the
        timesteps)."""
        ran = np.array([r if r is not None else [0] * len(self.layers) for r in self.ran[lo:hi]], dtype=np.int64)
        return np.arange(self.t_steps)[None, None, :] < ran.reshape(hi - lo, len(self.layers))[:, :, None]

    def run(self, until: int | None) -> None:
        """Process events until sample ``until`` has been admitted (None: until the end). Stopping between
        two events and going on later changes nothing: the queue keeps its order."""
        if until is not None and self.admitted >= until:
            return
        self.pause_after = -1 if until is None else until
        run_events(self.env)

    def trace(self) -> SimTrace:
        if self.retired != self.n_samples:
            raise RuntimeError(f"simulation stalled: {self.retired} of {self.n_samples} images finished")
        return SimTrace(
            executed=self.executed(0, self.n_samples), admit=self.admit, finish=self.finish,
            makespan=float(self.env.now), group_busy=np.array([grp.busy for grp in self.groups]),
            layer_stall=np.array([lay.stall for lay in self.layers]),
            link_busy=self.links.link_busy(), offchip_busy=self.offchip.busy,
            controller_busy=self.controller.busy, decisions=self.controller.decisions,
            spikes_sent=sum(b.sent for b in self.buffers), spikes_received=sum(b.received for b in self.buffers),
            spikes_dropped=sum(b.dropped for b in self.buffers))


def _label(plan: ExitPlan) -> str:
    return f"{plan.policy}" + (f" >= {plan.threshold:g}" if plan.adaptive else f", T={plan.max_t}")


def schedule_plans(hw: HwConfig, wl: Workload, mapping: Mapping, plans: list[ExitPlan], source, *,
                   progress: bool = False) -> list[SimTrace]:
    """The timing-backend entry (archsim.timing): one chip per plan, run in step block by block."""
    # A run allocates millions of small objects and frees them by reference counting (settle() breaks the
    # cycles of the processes left waiting): the cyclic garbage collector would only rescan them.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        rows = SampleRows(hw, mapping, source)
        chips = [Chip(hw, mapping, wl, plan, rows, lambda k, ex, i=i: source.done(k, i, ex))
                 for i, plan in enumerate(plans)]
        label = "simulating (" + "; ".join(_label(p) for p in plans) + ")"
        with tqdm(total=wl.n_samples * len(plans), unit="img", file=sys.stderr, disable=not progress,
                  mininterval=0.5, leave=False, desc=label) as bar:
            for chip in chips:
                chip.on_retire = lambda: bar.update(1)
            for _, hi in rows.bounds:
                for chip in chips:
                    chip.run(hi - 1)
            for chip in chips:
                chip.run(None)
        traces = [chip.trace() for chip in chips]
        for chip in chips:
            chip.layers = chip.buffers = chip.ran = None      # the chip's blocks refer to it: free them now
        return traces
    finally:
        if was_enabled:
            gc.enable()


def schedule(hw: HwConfig, wl: Workload, mapping: Mapping, plan: ExitPlan, counts: ItemCounts, timing: CoreTiming,
             *, progress: bool = False) -> SimTrace:
    """One plan, its counts and cycles of every sample given (archsim.timing.chunks.one_block)."""
    return one_block(schedule_plans, hw, wl, mapping, plan, counts, timing, progress)

"""The chip: the blocks assembled, and the stream of images through them.

Images enter in order while fewer than ``pipeline.images_in_flight`` are on chip (each needs its own
membrane potentials); the image DMA loads each over the off-chip channel. Every placed layer of an
admitted image is a process (archsim.timing.simpy.layer.Layer.run) that walks the timesteps; (l, t) waits for
(l-1, t) through the spikes delivered to it and for (l, t-1) by walking in order, so layers on different
cores form a wavefront and consecutive images overlap. An image leaves when the controller stops it (or
after its last timestep), freeing its slot for the next image. FPS = images / makespan.

SimPy events per item: the core request, one timeout, the buffer reservation when it must wait, and
the scheduled delivery of its spikes; no event per spike, link or bank.
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
from archsim.cycles import CoreTiming, SimTrace, image_load_cycles, occupancy_cycles, ttfs_lead
from archsim.exit_policy import ExitPlan
from archsim.timing.lookahead import lookahead
from archsim.timing.simpy.buffer import SpikeBuffer
from archsim.timing.simpy.controller import ExitController
from archsim.timing.simpy.core import CoreGroup
from archsim.timing.simpy.layer import Layer, Out, Sample, Services
from archsim.timing.simpy.offchip import OffChipChannel
from archsim.timing.simpy.router import LinkReservations
from archsim.timing.simpy.timeline import fire_at
from archsim.mapping import Mapping
from archsim.workload import Workload


class Chip:
    """Build with the precomputed counts and cycles, then ``run()`` once."""

    def __init__(self, hw: HwConfig, mapping: Mapping, wl: Workload, plan: ExitPlan, counts: ItemCounts,
                 timing: CoreTiming, progress: bool = False, label: str = "simulating"):
        self.env = env = simpy.Environment()
        n, t_steps = wl.n_samples, wl.timesteps
        self.n_samples, self.t_steps = n, t_steps
        self.exit_t = plan.exit_t.tolist()
        self.progress, self.label = progress, label
        useful_first = hw.controller.arbitration == "useful_first"
        self.groups = [CoreGroup(env, g.index, g.cores, useful_first) for g in mapping.groups]
        self.links = LinkReservations(env, hw, len(mapping.links))
        self.offchip = OffChipChannel(env)
        self.controller = ExitController(env, hw.controller.decision_cycles)
        self.slots = simpy.Resource(env, capacity=hw.pipeline.images_in_flight)
        self.image_cycles = image_load_cycles(hw, wl)
        self.exited = [False] * n                  # per sample, shared with the spike buffers
        g = wl.graph
        look = lookahead(hw.controller.layers_ahead, g, mapping.order, plan.adaptive)
        self.speculate = any(look.past_exit(li) for li in range(len(mapping.order)))
        sv = Services(env, self.links, self.offchip, self.controller, self.retire, look, look.gated,
                      plan.adaptive, plan.max_t)

        li_of = {name: i for i, name in enumerate(mapping.order)}
        self.layers = [Layer(i, name, self.groups[mapping.layers[name].group], sv, timing.held[:, i].tolist(),
                             timing.compute[:, i].tolist(), timing.offchip[:, i].tolist())
                       for i, name in enumerate(mapping.order)]
        entries = hw.core.spike_buffer.capacity_bits // hw.precision.spike_event_bits
        self.buffers: list[SpikeBuffer] = []
        ttfs = timing.step is not None
        for e, ((u, v), route) in enumerate(mapping.routes.items()):
            src, dst = self.layers[li_of[u]], self.layers[li_of[v]]
            spikes = counts.edge_spikes[(u, v)].tolist()
            buf = None
            if not route.local:
                in_degree = sum(1 for w in g.predecessors(v) if w in li_of)
                buf = SpikeBuffer(env, entries // max(1, in_degree), self.exited)
                self.buffers.append(buf)
                dst.in_buffers.append((buf, spikes))
            occ = occupancy_cycles(counts.edge_max_link_flits[(u, v)], hw).tolist()
            lead = None
            if ttfs:
                lead = ttfs_lead(timing.step[:, li_of[u]], timing.step[:, li_of[v]], timing.t_max).tolist()
            src.outs.append(Out(e, buf, spikes, occ, [int(j) for j in route.link_ids], route.path_cycles, lead))
            dst.in_edges.append(e)
        self.n_edges = len(mapping.routes)
        for lay in self.layers:
            lay.first = g.has_edge(lg.INPUT, lay.name) and lg.INPUT not in li_of
            lay.sink = g.out_degree(lay.name) == 0
            lay.spills = mapping.layers[lay.name].spill_fraction > 0 and hw.offchip is not None
            lay.ttfs = ttfs

        self.samples: list[Sample | None] = [None] * n
        self.ran = [None] * n
        self.admit = np.zeros(n)
        self.finish = np.full(n, np.nan)
        self.slot_req: list = [None] * n
        self.gate = sv.gate
        self._retired = 0
        self._bar = None

    # ------------------------------------------------------------------------------------------------
    def _source(self):
        env, t_steps = self.env, self.t_steps
        for n in range(self.n_samples):
            req = self.slots.request()
            yield req
            self.slot_req[n] = req
            self.admit[n] = env.now
            delivered = [[env.event() for _ in range(t_steps)] for _ in range(self.n_edges)]
            decided = [env.event() for _ in range(t_steps)] if self.gate else None
            ready = env.event()
            s = self.samples[n] = Sample(n, self.exit_t[n], len(self.layers), delivered, decided, ready)
            self.ran[n] = s.ran
            for lay in self.layers:
                env.process(lay.run(s))
            if self.image_cycles:
                fire_at(env, ready, self.offchip.reserve(self.image_cycles) - env.now)
            else:
                ready.succeed()

    def retire(self, s: Sample) -> None:
        """A sample leaves: its slot frees, and (when layers may run past the exit) its spikes still in
        buffers are dropped."""
        n = s.n
        s.exited = self.exited[n] = True
        self.finish[n] = self.env.now
        self.slots.release(self.slot_req[n])
        self.slot_req[n] = self.samples[n] = None       # its events live on only in its layers' processes
        if self.speculate:
            for buf in self.buffers:
                buf.drop(n)
        self._retired += 1
        if self._bar is not None and self._retired % 50 == 0:
            self._bar.update(50)

    def run(self) -> SimTrace:
        with tqdm(total=self.n_samples, unit="img", file=sys.stderr, disable=not self.progress,
                  mininterval=0.5, leave=False, desc=self.label) as bar:
            self._bar = bar
            self.env.process(self._source())
            self.env.run()
            bar.update(self._retired % 50)
        self._bar = None
        if self._retired != self.n_samples:
            raise RuntimeError(f"simulation stalled: {self._retired} of {self.n_samples} images finished")
        ran = np.array(self.ran, dtype=np.int64)
        executed = np.arange(self.t_steps)[None, None, :] < ran[:, :, None]
        return SimTrace(
            executed=executed, admit=self.admit, finish=self.finish, makespan=float(self.env.now),
            group_busy=np.array([grp.busy for grp in self.groups]),
            layer_stall=np.array([lay.stall for lay in self.layers]),
            link_busy=np.array(self.links.busy), offchip_busy=self.offchip.busy,
            controller_busy=self.controller.busy, decisions=self.controller.decisions,
            spikes_sent=sum(b.sent for b in self.buffers), spikes_received=sum(b.received for b in self.buffers),
            spikes_dropped=sum(b.dropped for b in self.buffers))


def schedule(hw: HwConfig, wl: Workload, mapping: Mapping, plan: ExitPlan, counts: ItemCounts, timing: CoreTiming,
             *, progress: bool = False) -> SimTrace:
    """The timing-backend entry (archsim.timing): build the chip for this plan and run it once."""
    # A run allocates millions of small objects and frees them all at the end: the cyclic garbage
    # collector would only rescan them (about a sixth of the run's time).
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        label = f"simulating ({plan.policy}" + (f" >= {plan.threshold:g})" if plan.adaptive else f", T={plan.max_t})")
        return Chip(hw, mapping, wl, plan, counts, timing, progress=progress, label=label).run()
    finally:
        if was_enabled:
            gc.enable()

"""The chip: the blocks assembled, and the stream of images through them.

Images enter in order while fewer than ``pipeline.images_in_flight`` are on chip (each needs its own
membrane potentials); the image DMA loads each over the off-chip channel. Every placed layer of an
admitted image is a process (core.CoreGroup.run) that walks the timesteps; (l, t) waits for (l-1, t)
through the spikes delivered to it and for (l, t-1) by walking in order, so layers on different cores
form a wavefront and consecutive images overlap. An image leaves when the controller stops it (or after
its last timestep), freeing its slot for the next image. FPS = images / makespan.

SimPy events per item: the core request, one timeout, the buffer reservation when it must wait, and
the scheduled delivery of its spikes; no event per spike, link or bank.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np
import simpy
from tqdm import tqdm

from archsim import graph as lg
from archsim.config import HwConfig
from archsim.counts import ItemCounts, words
from archsim.exit_policy import ExitPlan
from archsim.hw.buffer import SpikeBuffer
from archsim.hw.controller import ExitController
from archsim.hw.core import CoreGroup, CoreTiming, ttfs_lead
from archsim.hw.offchip import OffChipChannel, transfer_cycles
from archsim.hw.router import Mesh, occupancy_cycles
from archsim.hw.timeline import fire_at
from archsim.mapping import Mapping
from archsim.workload import Workload


def image_load_cycles(hw: HwConfig, wl: Workload) -> int:
    """Off-chip channel cycles to bring one image in (0 without off-chip memory or with spike input)."""
    src = wl.graph.nodes[lg.INPUT]
    if hw.offchip is None or src["spiking"]:
        return 0
    accesses = words(hw.precision.input_bits, src["neurons"], hw.offchip.access_bits)
    return int(transfer_cycles(np.array([accesses]), hw)[0])


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


class _Out:
    """One out-edge of a layer at run time."""
    __slots__ = ("e", "buffer", "spikes", "occupancy", "links", "max_hops", "lead")

    def __init__(self, e, buffer, spikes, occupancy, links, max_hops, lead):
        self.e, self.buffer, self.spikes, self.occupancy = e, buffer, spikes, occupancy
        self.links, self.max_hops, self.lead = links, max_hops, lead


class _Layer:
    """A placed layer at run time: its cores, its edges, and what it does with its outputs."""

    def __init__(self, li: int, name: str, group: CoreGroup):
        self.li, self.name, self.group = li, name, group
        self.first = self.sink = self.spills = False
        self.in_edges: list[int] = []
        self.in_buffers: list = []            # (SpikeBuffer, spikes [N][T]) of mesh-crossing in-edges
        self.outs: list[_Out] = []
        self.stall = 0.0

    def reserve(self, n: int, t: int) -> list | None:
        """Reserve room in every consumer's spike buffer; the events to wait for (a full buffer = a
        stall), or None when all had room."""
        waits = None
        for out in self.outs:
            if out.buffer is not None:
                ev = out.buffer.reserve(n, out.spikes[n][t])
                if ev is not None:
                    waits = [ev] if waits is None else waits + [ev]
        return waits

    def send(self, chip: "Chip", n: int, t: int, delivered, offset: float = 0.0) -> None:
        """The spikes of item (n, t) travel to the consumers; each consumer's delivery event fires when
        they have arrived (``offset``: cycles from now at which they start to leave)."""
        env, mesh = chip.env, chip.mesh
        for out in self.outs:
            delay = mesh.send(out.links, out.occupancy[n][t], out.max_hops) if out.links else 0.0
            fire_at(env, delivered[out.e][t], offset + delay)

    def emit(self, chip: "Chip", n: int, t: int, start: float, delivered):
        """TTFS: spikes flow during the window; consumers may start ``lead`` cycles after this start."""
        waits = self.reserve(n, t)
        if waits:
            t0 = chip.env.now
            for ev in waits:
                yield ev
            self.stall += chip.env.now - t0
        for out in self.outs:
            delay = chip.mesh.send(out.links, out.occupancy[n][t], out.max_hops) if out.links else 0.0
            lead = out.lead[n] - (chip.env.now - start)
            fire_at(chip.env, delivered[out.e][t], max(lead, 0.0) + delay)


class Chip:
    """Build with the precomputed counts and cycles, then ``run()`` once."""

    def __init__(self, hw: HwConfig, mapping: Mapping, wl: Workload, plan: ExitPlan, counts: ItemCounts,
                 timing: CoreTiming, progress: bool = False, label: str = "simulating"):
        self.env = env = simpy.Environment()
        self.hw, self.mapping, self.plan, self.timing = hw, mapping, plan, timing
        n, t_steps = wl.n_samples, wl.timesteps
        self.n_samples, self.t_steps = n, t_steps
        self.speculate = hw.controller.mode == "speculate"
        self.adaptive = plan.adaptive
        self.gate = self.adaptive and not self.speculate
        self.ttfs = timing.step is not None
        self.max_t = plan.max_t
        self.exit_t = plan.exit_t.tolist()
        self.held = timing.held.tolist()
        self.offchip_cycles = timing.offchip.tolist()
        self.progress, self.label = progress, label

        self.groups = [CoreGroup(env, g.index, g.cores) for g in mapping.groups]
        self.mesh = Mesh(env, hw, len(mapping.links))
        self.offchip = OffChipChannel(env)
        self.controller = ExitController(env, hw.controller.decision_cycles)
        self.slots = simpy.Resource(env, capacity=hw.pipeline.images_in_flight)
        self.image_cycles = image_load_cycles(hw, wl)
        self.exited = [False] * n

        g = wl.graph
        li_of = {name: i for i, name in enumerate(mapping.order)}
        self.layers = [_Layer(i, name, self.groups[mapping.layers[name].group]) for i, name in enumerate(mapping.order)]
        entries = hw.core.spike_buffer.capacity_bits // hw.precision.spike_event_bits
        self.buffers: list[SpikeBuffer] = []
        for e, ((u, v), route) in enumerate(mapping.routes.items()):
            src, dst = self.layers[li_of[u]], self.layers[li_of[v]]
            spikes = counts.edge_spikes[(u, v)].tolist()
            buf = None
            if not route.local:
                in_degree = sum(1 for w in g.predecessors(v) if w != lg.INPUT)
                buf = SpikeBuffer(env, entries // max(1, in_degree), self.exited)
                self.buffers.append(buf)
                dst.in_buffers.append((buf, spikes))
            occ = occupancy_cycles(counts.edge_max_link_flits[(u, v)], hw).tolist()
            lead = None
            if self.ttfs:
                lead = ttfs_lead(timing.step[:, li_of[u]], timing.step[:, li_of[v]], timing.t_max).tolist()
            src.outs.append(_Out(e, buf, spikes, occ, [int(j) for j in route.link_ids], route.max_hops, lead))
            dst.in_edges.append(e)
        self.n_edges = len(mapping.routes)
        for lay in self.layers:
            lay.first = g.has_edge(lg.INPUT, lay.name)
            lay.sink = g.out_degree(lay.name) == 0
            lay.spills = mapping.layers[lay.name].spill_fraction > 0 and hw.offchip is not None

        self.ran = [[0] * len(self.layers) for _ in range(n)]   # items run, per sample and layer (a prefix of t)
        self.admit = np.zeros(n)
        self.finish = np.full(n, np.nan)
        self.slot_req: list = [None] * n
        self.delivered: list = [None] * n
        self.decided: list = [None] * n
        self.image_ready: list = [None] * n
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
            self.delivered[n] = [[env.event() for _ in range(t_steps)] for _ in range(self.n_edges)]
            if self.gate:
                self.decided[n] = [env.event() for _ in range(t_steps)]
            ready = self.image_ready[n] = env.event()
            for lay in self.layers:
                env.process(lay.group.run(self, n, lay.li))
            if self.image_cycles:
                fire_at(env, ready, self.offchip.reserve(self.image_cycles) - env.now)
            else:
                ready.succeed()

    def retire(self, n: int) -> None:
        """Sample n leaves: its slot frees, and (speculate mode) its spikes still in buffers are dropped."""
        self.exited[n] = True
        self.finish[n] = self.env.now
        self.slots.release(self.slot_req[n])
        self.slot_req[n] = self.decided[n] = self.image_ready[n] = None
        self.delivered[n] = None
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
            link_busy=np.array(self.mesh.busy), offchip_busy=self.offchip.busy,
            controller_busy=self.controller.busy, decisions=self.controller.decisions,
            spikes_sent=sum(b.sent for b in self.buffers), spikes_received=sum(b.received for b in self.buffers),
            spikes_dropped=sum(b.dropped for b in self.buffers))

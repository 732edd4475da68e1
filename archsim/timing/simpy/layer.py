"""A placed layer at run time: its cores, its edges, and the SimPy process that runs it for a sample.

The process walks the timesteps of one sample: it waits for its inputs (the image, the producers'
spikes, and where archsim.timing.lookahead says so the controller's decision on an earlier timestep:
in ``wait`` mode the previous one), takes its cores,
computes for the item's cycles (archsim.cycles), reserves room in the consumers' spike buffers (stalling
while they are full), releases the cores and sends its spikes. The output layer asks the controller for
a decision after each timestep and retires the sample at its exit.

Everything a layer uses is handed to it when the chip is built (its cores, its edges, the shared
services) or when a sample is admitted (:class:`Sample`): it reads no other block's state.
"""
from __future__ import annotations

from dataclasses import dataclass

from archsim.timing.simpy.core import CoreGroup
from archsim.timing.simpy.timeline import fire_at


@dataclass
class Services:
    """The blocks and rules every layer shares (built once by the chip)."""
    env: object
    links: object               # LinkReservations: the mesh's links
    offchip: object
    controller: object
    retire: object               # callable(Sample): the sample leaves the chip
    look: object                 # archsim.timing.lookahead.Lookahead: which layers wait for which decision
    gate: bool                   # some layer waits for decisions (look.gated): the decision events exist
    adaptive: bool
    max_t: int


class Sample:
    """One admitted image: the events its layers wait on and what has run."""
    __slots__ = ("n", "exit_t", "ran", "delivered", "decided", "image_ready", "exited", "confirmed_at")

    def __init__(self, n: int, exit_t: int, n_layers: int, delivered, decided, image_ready):
        self.n, self.exit_t = n, exit_t
        self.ran = [0] * n_layers                 # items run per layer (a prefix of the timesteps)
        self.delivered, self.decided, self.image_ready = delivered, decided, image_ready
        self.exited = False
        self.confirmed_at: list[float] = []       # when each decision is known (one per finished timestep)


class Out:
    """One out-edge of a layer at run time."""
    __slots__ = ("e", "buffer", "spikes", "occupancy", "links", "path_cycles", "lead")

    def __init__(self, e, buffer, spikes, occupancy, links, path_cycles, lead):
        self.e, self.buffer, self.spikes, self.occupancy = e, buffer, spikes, occupancy
        self.links, self.path_cycles, self.lead = links, path_cycles, lead


class Layer:
    def __init__(self, li: int, name: str, group: CoreGroup, services: Services, held, compute, offchip):
        self.li, self.name, self.group, self.sv = li, name, group, services
        self.held, self.compute, self.offchip_cycles = held, compute, offchip   # [N][T] cycles
        self.first = self.sink = self.spills = self.ttfs = False
        self.in_edges: list[int] = []
        self.in_buffers: list = []            # (SpikeBuffer, spikes [N][T]) of mesh-crossing in-edges
        self.outs: list[Out] = []
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

    def send(self, s: Sample, t: int) -> None:
        """The spikes of item (s, t) travel to the consumers; each consumer's delivery event fires when
        they have arrived."""
        env, links = self.sv.env, self.sv.links
        for out in self.outs:
            delay = links.send(out.links, out.occupancy[s.n][t], out.path_cycles) if out.links else 0.0
            fire_at(env, s.delivered[out.e][t], delay)

    def emit(self, s: Sample, t: int, start: float):
        """TTFS: spikes flow during the window; consumers may start ``lead`` cycles after this start."""
        env, links = self.sv.env, self.sv.links
        waits = self.reserve(s.n, t)
        if waits:
            t0 = env.now
            for ev in waits:
                yield ev
            self.stall += env.now - t0
        for out in self.outs:
            delay = links.send(out.links, out.occupancy[s.n][t], out.path_cycles) if out.links else 0.0
            lead = out.lead[s.n] - (env.now - start)
            fire_at(env, s.delivered[out.e][t], max(lead, 0.0) + delay)

    def _depth(self, s: Sample, t: int) -> int:
        """Timesteps item t runs ahead of the decisions known now on its sample (0: it cannot be wasted)."""
        if not self.sv.adaptive:
            return 0
        now = self.sv.env.now
        known = sum(1 for at in s.confirmed_at if at <= now)
        return max(t - known, 0)

    def run(self, s: Sample):
        """Process: this layer's items of sample ``s``, one per timestep, until the sample stops."""
        sv, group = self.sv, self.group
        env, timeout = sv.env, sv.env.timeout
        n, held = s.n, self.held[s.n]
        offc = self.offchip_cycles[n] if self.spills else None
        delivered, decided = s.delivered, s.decided
        first, sink, ttfs = self.first, self.sink, self.ttfs
        in_edges, in_buffers, ran, li, look = self.in_edges, self.in_buffers, s.ran, self.li, sv.look
        lag = look.lag[li] if look.explicit[li] else 0     # waits itself for the decision on t - lag
        speculate = look.past_exit(li)                      # may run past the exit: stops when the sample leaves
        exit_t = s.exit_t
        t_end = look.t_end(li, exit_t, sv.max_t)
        arbitrate = group.useful_first
        for t in range(t_end):
            if first and t == 0:
                yield s.image_ready
            elif lag and t >= lag:
                yield decided[t - lag]
            for e in in_edges:
                yield delivered[e][t]
            if speculate and s.exited:
                return
            wait = group.acquire(self._depth(s, t) if arbitrate else 0)
            if wait is not None:
                yield wait
            if speculate and s.exited:
                group.release()
                return
            grant = env.now
            if ttfs:
                yield from self.emit(s, t, grant)
            if offc is not None and offc[t]:       # spilled weights stream in while the PEs work
                start, comp = env.now, int(self.compute[n][t])
                end = max(start + comp, sv.offchip.reserve(offc[t])) + held[t] - comp
                yield timeout(end - start)
            else:
                yield timeout(held[t])
            ran[li] = t + 1
            for buf, spikes in in_buffers:
                buf.consume(n, spikes[n][t])
            if not ttfs:
                waits = self.reserve(n, t)
                if waits:
                    t0 = env.now
                    for ev in waits:
                        yield ev
                    self.stall += env.now - t0
            group.release()
            group.busy += env.now - grant
            if not ttfs:
                self.send(s, t)
            if sink:
                known = env.now
                if sv.adaptive and t < sv.max_t - 1:
                    known = sv.controller.reserve()
                    s.confirmed_at.append(known)
                    if sv.gate:
                        fire_at(env, decided[t], known - env.now)
                if t + 1 == exit_t:
                    if known > env.now:
                        yield timeout(known - env.now)
                    sv.retire(s)
                    return

"""A placed layer at run time: its cores, its edges, and the SimPy process that runs it for a sample.

The process walks the timesteps of one sample: it waits for its inputs (the image, the producers'
spikes, and where archsim.timing.lookahead says so the controller's decision on an earlier timestep:
in ``wait`` mode the previous one), takes its cores,
computes for the item's cycles (archsim.cycles), reserves room in the consumers' spike buffers (stalling
while they are full), releases the cores and sends its spikes. The output layer asks the controller for
a decision after each timestep and retires the sample at its exit.

Everything a layer uses is handed to it when the chip is built (its cores, its edges, the shared
services) or when a sample is admitted (:class:`Sample`, with the sample's cycles and spikes): it reads
no other block's state.

The process is the hot loop of a run (one pass per work item), written for speed: events already
processed are not yielded (the process would go on at once), and waits are
archsim.timing.simpy.kernel.Signal entries pushed on SimPy's queue as ``simpy.Timeout`` would push them.
"""
from __future__ import annotations

from dataclasses import dataclass

from heapq import heappush

from archsim.cycles import reserve_links
from archsim.timing.simpy.core import CoreGroup
from archsim.timing.simpy.kernel import NORMAL, Signal


@dataclass
class Services:
    """The blocks and rules every layer shares (built once by the chip)."""
    env: object
    links: object               # LinkReservations: the mesh's links
    offchip: object
    controller: object
    retire: object               # callable(Sample): the sample leaves the chip
    settle: object               # callable(Sample): it has left and its last item has run
    look: object                 # archsim.timing.lookahead.Lookahead: which layers wait for which decision
    gate: bool                   # some layer waits for decisions (look.gated): the decision events exist
    adaptive: bool
    max_t: int


class Sample:
    """One admitted image: the events its layers wait on, what has run, its spikes per edge, and what
    it holds in each edge's spike buffer (archsim.timing.simpy.buffer)."""
    __slots__ = ("n", "exit_t", "ran", "delivered", "decided", "image_ready", "exited", "confirmed_at",
                 "spikes", "occupancy", "lead", "live", "pending", "room")

    def __init__(self, n: int, exit_t: int, n_layers: int, delivered, decided, image_ready, spikes, occupancy,
                 lead):
        self.n, self.exit_t = n, exit_t
        self.ran = [0] * n_layers                 # items run per layer (a prefix of the timesteps)
        self.delivered, self.decided, self.image_ready = delivered, decided, image_ready
        self.exited = False
        self.confirmed_at: list[float] = []       # when each decision is known (one per finished timestep)
        self.spikes = spikes                      # [E][T] spike events over each edge
        self.occupancy = occupancy                # [E][T] cycles the transfer holds its links
        self.lead = lead                          # TTFS: [E] cycles a consumer may start after its producer
        self.live = 0                             # items granted their cores and not yet done
        self.pending = [0] * len(spikes)          # [E] spikes sent and not yet used
        self.room = [0] * len(spikes)             # [E] buffer room reserved (granted or queued), not yet freed


class Out:
    """One out-edge of a layer at run time: its spike buffer (None: both layers on the same cores), the
    classes of links its route holds (archsim.timing.simpy.router) and the cycles from the end of a
    transfer to its arrival (archsim.mapping.Route.path_cycles)."""
    __slots__ = ("e", "buffer", "links", "path_cycles")

    def __init__(self, e, buffer, links, path_cycles):
        self.e, self.buffer, self.links, self.path_cycles = e, buffer, links, path_cycles


class Layer:
    def __init__(self, li: int, name: str, group: CoreGroup, services: Services):
        self.li, self.name, self.group, self.sv = li, name, group, services
        self.first = self.sink = self.spills = self.ttfs = False
        self.in_edges: list[int] = []
        self.in_buffers: list = []            # (SpikeBuffer, edge) of mesh-crossing in-edges
        self.outs: list[Out] = []
        self.stall = 0.0

    def freeze(self) -> None:
        """What every run of this layer reads (``run`` unpacks it once per sample), once the chip is
        built. ``lag``: the layer waits itself for the decision on t - lag (0: never); ``speculate``: it may
        run past the exit (it stops when the sample leaves); ``t_end[exit_t]``: the timesteps it runs at
        most (archsim.timing.lookahead)."""
        sv, li, look = self.sv, self.li, self.sv.look
        env = sv.env
        lag = look.lag[li] if look.explicit[li] else 0
        t_end = [look.t_end(li, e, sv.max_t) for e in range(sv.max_t + 1)]
        self.fixed = (sv, self.group, env, env._queue, env._eid, self.first, self.sink, self.ttfs, self.outs,
                      self.in_edges, self.in_buffers, li, lag, look.past_exit(li), self.group.useful_first, t_end)

    def reserve(self, s: Sample, t: int) -> list | None:
        """Reserve room in every consumer's spike buffer; the events to wait for (a full buffer = a
        stall), or None when all had room."""
        waits = None
        spikes = s.spikes
        for out in self.outs:
            if out.buffer is not None:
                ev = out.buffer.reserve(s, spikes[out.e][t])
                if ev is not None:
                    waits = [ev] if waits is None else waits + [ev]
        return waits

    def send(self, s: Sample, t: int, lead_from: float | None = None) -> None:
        """The spikes of item (s, t) travel to the consumers (archsim.timing.simpy.router's reservations,
        the rule of its ``send`` written out here: this runs once per item); each consumer's delivery event
        fires when they have arrived. TTFS (``lead_from``: the item's start): they flow during the window,
        and a consumer may start ``lead`` cycles after that start."""
        env, links = self.sv.env, self.sv.links
        now, queue, eid, free_at, busy = env._now, env._queue, env._eid, links.free_at, links.busy
        delivered, occupancy = s.delivered, s.occupancy
        for out in self.outs:
            e = out.e
            delay = 0.0
            if out.links:
                occ = occupancy[e][t]
                delay = reserve_links(free_at, busy, out.links, now, occ) + out.path_cycles - now if occ else out.path_cycles
            if lead_from is not None:
                delay += max(s.lead[e] - (now - lead_from), 0.0)
            heappush(queue, (now + delay, NORMAL, next(eid), delivered[e][t]))

    def emit(self, s: Sample, t: int, start: float):
        """TTFS: spikes flow during the window; consumers may start ``lead`` cycles after this start."""
        yield from self.stall_on(self.reserve(s, t))
        self.send(s, t, start)

    def stall_on(self, waits: list | None):
        """Wait for room in full spike buffers (``waits``: Layer.reserve's), holding the cores: stall cycles."""
        if waits:
            t0 = self.sv.env._now
            for ev in waits:
                if ev.callbacks is not None:
                    yield ev
            self.stall += self.sv.env._now - t0

    def _depth(self, s: Sample, t: int) -> int:
        """Timesteps item t runs ahead of the decisions known now on its sample (0: it cannot be wasted)."""
        if not self.sv.adaptive:
            return 0
        now = self.sv.env._now
        known = sum(1 for at in s.confirmed_at if at <= now)
        return max(t - known, 0)

    def _spill_hold(self, t: int, held, compute, offc) -> float:
        """Cycles item t holds the cores from now when its spilled weights stream in over the off-chip
        channel while the PEs work."""
        start, comp = self.sv.env._now, int(compute[t])
        end = max(start + comp, self.sv.offchip.reserve(offc[t])) + held[t] - comp
        return end - start

    def run(self, s: Sample, held, compute, offc):
        """Process: this layer's items of sample ``s``, one per timestep, until the sample stops.
        ``held``/``compute``/``offc`` [T]: the items' cycles (archsim.cycles.CoreTiming; ``offc`` None
        when the layer's weights do not spill)."""
        (sv, group, env, queue, eid, first, sink, ttfs, outs, in_edges, in_buffers, li, lag, speculate, arbitrate,
         t_end) = self.fixed
        if not self.spills:
            offc = None
        delivered, decided, spikes, ran = s.delivered, s.decided, s.spikes, s.ran
        plain = outs and not ttfs                          # spikes leave when the item ends
        for t in range(t_end[s.exit_t]):
            if speculate and s.exited:     # (a stalled item's tail may end after its sample left)
                return
            if first and t == 0:
                ev = s.image_ready
                if ev.callbacks is not None:
                    yield ev
            elif lag and t >= lag:
                ev = decided[t - lag]
                if ev.callbacks is not None:
                    yield ev
            for e in in_edges:
                ev = delivered[e][t]
                if ev.callbacks is not None:
                    yield ev
            if speculate and s.exited:
                return
            if group.taken:                                 # wait for the cores (CoreGroup.acquire)
                yield group.acquire(self._depth(s, t) if arbitrate else 0)
                if speculate and s.exited:
                    group.release()
                    return
            else:
                group.taken = True
            s.live += 1
            grant = env._now
            if ttfs:
                yield from self.emit(s, t, grant)
            ev = Signal()
            hold = held[t] if offc is None or not offc[t] else self._spill_hold(t, held, compute, offc)
            heappush(queue, (env._now + hold, NORMAL, next(eid), ev))
            yield ev
            ran[li] = t + 1
            s.live -= 1
            if s.exited and not s.live:
                sv.settle(s)
            for buf, e in in_buffers:
                buf.consume(s, spikes[e][t])
            if plain:
                waits = None
                for out in outs:
                    if out.buffer is not None:
                        ev = out.buffer.reserve(s, spikes[out.e][t])
                        if ev is not None:
                            waits = [ev] if waits is None else waits + [ev]
                if waits:
                    yield from self.stall_on(waits)
            if group.queue or group.ranked:                # (CoreGroup.release)
                group.release()
            else:
                group.taken = False
            group.busy += env._now - grant
            if plain:
                self.send(s, t)
            if sink and (yield from self._decide(s, t)):
                return

    def _decide(self, s: Sample, t: int):
        """After the output layer's timestep t: the controller's decision, and the sample's exit. True when
        the sample has left."""
        sv = self.sv
        env = sv.env
        known = env._now
        if sv.adaptive and t < sv.max_t - 1:
            known = sv.controller.reserve()
            s.confirmed_at.append(known)
            if sv.gate:
                heappush(env._queue, (env._now + (known - env._now), NORMAL, next(env._eid), s.decided[t]))
        if t + 1 == s.exit_t:
            if known > env._now:
                ev = Signal()
                heappush(env._queue, (env._now + (known - env._now), NORMAL, next(env._eid), ev))
                yield ev
            sv.retire(s)
            return True
        return False

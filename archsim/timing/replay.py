"""A replay of a few hundred images' work items as the SimPy chip serves them, without SimPy.

Why: the analytic mode must know how long images wait for each other on the shared blocks. No closed
formula we tried got within 5 % of the SimPy model on every workload (archsim.timing.analytic's docstring lists
them): the waiting depends on how the images in flight fall into step with each other. So the analytic
mode replays a spread-out sample of the images and scales the rest by the waiting measured there.

The replay is a minimal event loop: one heap of item requests, item completions and image exits, a
first-come-first-served queue per core group, and busy-until reservations for the mesh links, the
off-chip channel and the exit controller (archsim.cycles.reserve_links for the links, as the SimPy
mesh; the busy-until rule of archsim.timing.simpy.offchip and .controller for the other two).
It has no processes, buffers or per-spike bookkeeping, but it is still an event loop: an analytic run with
every sample replayed took 2.2 s against SimPy's 2.9 s on 10,000 small_c10 images, hence the sample.

Served as the SimPy chip serves them: images enter in order while fewer than ``images_in_flight`` are on
chip, each loaded over the off-chip channel; an item (image, layer, timestep) asks for its cores when its
inputs have arrived (producers' spikes delivered, or a TTFS producer's lead elapsed), its own previous
timestep is done and, where archsim.timing.lookahead says so (in ``wait`` mode: a first layer), the
controller has decided on an earlier timestep; a spilled layer's item streams its weights over the channel
while it computes; the output layer asks the controller after each timestep; an image leaves at its exit
decision, and the items of layers that may run past the exit (``speculate``) granted cores after that are
dropped (the output layer stops at the exit).
Not replayed: back-pressure (the spike buffers never fill) and ``useful_first`` arbitration.
"""
from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass
from itertools import count

import numpy as np

from archsim.cycles import reserve_links
from archsim.timing.lookahead import Lookahead


@dataclass
class Edge:
    """One edge between two placed layers, for the replayed samples."""
    src: int                          # producer layer
    dst: int                          # consumer layer
    links: list[int]                  # mesh links the transfer holds (empty: both layers on one core)
    occupancy: np.ndarray             # [S, T] cycles the transfer holds its links
    path_cycles: int                  # then until the spikes arrive (archsim.mapping.Route.path_cycles)
    lead: np.ndarray | None           # TTFS: [S] cycles after the producer's start the consumer may start


@dataclass
class Replay:
    admit: np.ndarray        # [S] cycle each image entered
    finish: np.ndarray       # [S] cycle each image left
    executed: np.ndarray     # [S, L', T] bool: items that ran
    makespan: float          # cycle of the last event (speculative work and deliveries after the last exit)


REQUEST, DONE, LEAVE = 0, 1, 2                     # the kinds of event on the replay's heap


def replay(held: np.ndarray, compute: np.ndarray, offchip: np.ndarray, group: list[int], edges: list[Edge],
           first: list[bool], sink: int, exit_t: np.ndarray, max_t: int, images_in_flight: int,
           load_cycles: int, decide_cycles: int, adaptive: bool, look: Lookahead,
           n_links: int) -> Replay:
    """Replay S images. ``held``/``compute``/``offchip`` [S, L', T]: cycles an item holds its cores, of
    them computing, and on the off-chip channel (spilled weights; 0 for layers that do not spill);
    ``group[l]``: layer l's core group; ``first[l]``: the layer reads the image; ``exit_t`` [S] 1-based;
    ``look``: which layers wait for which decision, and how far past the exit each may run."""
    loop = _Loop(held, compute, offchip, group, edges, first, sink, exit_t, max_t, load_cycles,
                 decide_cycles, adaptive, look, n_links)
    s_n = held.shape[0]
    for i in range(min(images_in_flight, s_n)):
        loop.enter(i, 0.0)
    next_image = min(images_in_flight, s_n)
    while loop.events:
        now, _, kind, i, v, t = heapq.heappop(loop.events)
        loop.last_event = max(loop.last_event, now)
        if kind == LEAVE:                          # image i leaves: the next one enters
            loop.left[i] = True
            if next_image < s_n:
                loop.enter(next_image, now)
                next_image += 1
        elif kind == REQUEST:
            if t >= look.t_end(v, loop.exit_l[i], max_t) or (v == sink and t >= loop.exit_l[i]) or loop.left[i]:
                continue                           # not run: stopped at the exit, or the image has left
            if loop.busy[group[v]]:
                loop.queue[group[v]].append((i, v, t))
            else:
                loop.grant(now, i, v, t)
        else:
            loop.done(now, i, v, t)
    return Replay(loop.admit, loop.finish, loop.executed, loop.last_event)



class _Loop:
    """The replay's state (cores, links, channel and controller busy-until, what each item waits for) and
    what happens at each event; :func:`replay` pops the events."""

    def __init__(self, held, compute, offchip, group, edges, first, sink, exit_t, max_t, load_cycles,
                 decide_cycles, adaptive, look, n_links):
        s_n, n_layers, t_steps = held.shape
        self.held_l, self.compute_l, self.offchip_l = held.tolist(), compute.tolist(), offchip.tolist()
        self.outs: list[list[tuple]] = [[] for _ in range(n_layers)]
        self.n_in = [0] * n_layers
        for e in edges:
            self.outs[e.src].append((e.dst, e.links, e.occupancy.tolist(), e.path_cycles,
                                     None if e.lead is None else e.lead.tolist()))
            self.n_in[e.dst] += 1
        self.group, self.first, self.sink, self.max_t = group, first, sink, max_t
        self.n_layers, self.t_steps = n_layers, t_steps
        self.load_cycles, self.decide_cycles, self.adaptive = load_cycles, decide_cycles, adaptive
        self.exit_l = [int(x) for x in exit_t]
        n_groups = max(group) + 1
        self.busy = [False] * n_groups
        self.queue: list[deque] = [deque() for _ in range(n_groups)]     # requests waiting for each core group
        self.link_free, self.link_busy = [0.0] * n_links, [0.0] * n_links
        self.channel_free = self.controller_free = self.last_event = 0.0
        self.ready = np.zeros((s_n, n_layers, t_steps)).tolist()
        # what each item waits for: its producers; then the image (t = 0) or its own previous timestep and,
        # where the layer waits for decisions itself, the decision on timestep t - lag
        self.waiters = [(f, look.lag[f]) for f in range(n_layers) if look.explicit[f]]
        waits = [[1 if look.explicit[v] and t >= look.lag[v] else 0 for t in range(t_steps)] for v in range(n_layers)]
        self.pending = [[[self.n_in[v] + (1 if t or first[v] else 0) + waits[v][t]
                          for t in range(t_steps)] for v in range(n_layers)] for _ in range(s_n)]
        self.executed = np.zeros((s_n, n_layers, t_steps), dtype=bool)
        self.admit = np.zeros(s_n)
        self.finish = np.full(s_n, np.nan)
        self.left = [False] * s_n
        self.events: list = []                 # (cycle, order, kind, image, layer, timestep)
        self.order = count()

    def resolve(self, i: int, v: int, t: int, at: float) -> None:
        """One input of item (i, v, t) is there at cycle ``at``; it asks for its cores once all are."""
        self.last_event = max(self.last_event, at)
        if at > self.ready[i][v][t]:
            self.ready[i][v][t] = at
        self.pending[i][v][t] -= 1
        if self.pending[i][v][t] == 0:
            heapq.heappush(self.events, (self.ready[i][v][t], next(self.order), REQUEST, i, v, t))

    def send(self, now: float, links: list[int], occupancy: int, hops: int) -> float:
        """Reserve a transfer's links from now (as archsim.timing.simpy.router.LinkReservations.send); when its
        spikes arrive."""
        if not links:
            return now
        if not occupancy:
            return now + hops
        return reserve_links(self.link_free, self.link_busy, links, now, occupancy) + hops

    def enter(self, i: int, now: float) -> None:
        self.admit[i] = now
        loaded = now
        if self.load_cycles:
            loaded = self.channel_free = max(now, self.channel_free) + self.load_cycles
        for v in range(self.n_layers):
            if self.first[v]:
                self.resolve(i, v, 0, loaded)
            elif self.n_in[v] == 0:                     # no inputs at all (input neurons on cores)
                heapq.heappush(self.events, (now, next(self.order), REQUEST, i, v, 0))

    def grant(self, now: float, i: int, v: int, t: int) -> None:
        self.busy[self.group[v]] = True
        self.executed[i, v, t] = True
        end = now + self.held_l[i][v][t]
        if self.offchip_l[i][v][t]:                     # spilled weights stream in while the PEs work
            self.channel_free = max(now, self.channel_free) + self.offchip_l[i][v][t]
            end = max(now + self.compute_l[i][v][t], self.channel_free) + self.held_l[i][v][t] - self.compute_l[i][v][t]
        heapq.heappush(self.events, (end, next(self.order), DONE, i, v, t))
        for c, links, occ, hops, lead in self.outs[v]:
            if lead is not None:                   # TTFS: spikes flow during the window
                self.resolve(i, c, t, self.send(now, links, occ[i][t], hops) + max(lead[i], 0))

    def done(self, now: float, i: int, v: int, t: int) -> None:
        """Item (i, v, t) releases its cores and sends its spikes; after the output layer, the decision."""
        g = self.group[v]
        self.busy[g] = False
        while self.queue[g] and not self.busy[g]:
            qi, qv, qt = self.queue[g].popleft()
            if not self.left[qi]:                   # granted after its image left: released at once
                self.grant(now, qi, qv, qt)
        if t + 1 < self.t_steps:
            self.resolve(i, v, t + 1, now)
        for c, links, occ, hops, lead in self.outs[v]:
            if lead is None:
                self.resolve(i, c, t, self.send(now, links, occ[i][t], hops))
        if v == self.sink:
            known = now
            if self.adaptive and t < self.max_t - 1:
                known = self.controller_free = max(now, self.controller_free) + self.decide_cycles
            for f, lag in self.waiters:
                if t + lag < self.t_steps:
                    self.resolve(i, f, t + lag, known)
            if t + 1 == self.exit_l[i]:
                self.finish[i] = known
                heapq.heappush(self.events, (known, next(self.order), LEAVE, i, v, t))

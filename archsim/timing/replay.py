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
    max_hops: int
    lead: np.ndarray | None           # TTFS: [S] cycles after the producer's start the consumer may start


@dataclass
class Replay:
    admit: np.ndarray        # [S] cycle each image entered
    finish: np.ndarray       # [S] cycle each image left
    executed: np.ndarray     # [S, L', T] bool: items that ran
    makespan: float          # cycle of the last event (speculative work and deliveries after the last exit)


def replay(held: np.ndarray, compute: np.ndarray, offchip: np.ndarray, group: list[int], edges: list[Edge],
           first: list[bool], sink: int, exit_t: np.ndarray, max_t: int, images_in_flight: int,
           load_cycles: int, hop_cycles: int, decide_cycles: int, adaptive: bool, look: Lookahead,
           n_links: int) -> Replay:
    """Replay S images. ``held``/``compute``/``offchip`` [S, L', T]: cycles an item holds its cores, of
    them computing, and on the off-chip channel (spilled weights; 0 for layers that do not spill);
    ``group[l]``: layer l's core group; ``first[l]``: the layer reads the image; ``exit_t`` [S] 1-based;
    ``look``: which layers wait for which decision, and how far past the exit each may run."""
    s_n, n_layers, t_steps = held.shape
    held_l, compute_l, offchip_l = held.tolist(), compute.tolist(), offchip.tolist()
    outs: list[list[tuple]] = [[] for _ in range(n_layers)]
    n_in = [0] * n_layers
    for e in edges:
        outs[e.src].append((e.dst, e.links, e.occupancy.tolist(), e.max_hops * hop_cycles,
                            None if e.lead is None else e.lead.tolist()))
        n_in[e.dst] += 1
    exit_l = [int(x) for x in exit_t]
    n_groups = max(group) + 1
    busy = [False] * n_groups
    queue: list[deque] = [deque() for _ in range(n_groups)]     # requests waiting for each core group
    link_free, link_busy = [0.0] * n_links, [0.0] * n_links
    channel_free = controller_free = last_event = 0.0
    ready = np.zeros((s_n, n_layers, t_steps)).tolist()
    # what each item waits for: its producers; then the image (t = 0) or its own previous timestep and,
    # where the layer waits for decisions itself, the decision on timestep t - lag
    waiters = [(f, look.lag[f]) for f in range(n_layers) if look.explicit[f]]
    waits = [[1 if look.explicit[v] and t >= look.lag[v] else 0 for t in range(t_steps)] for v in range(n_layers)]
    pending = [[[n_in[v] + (1 if t or first[v] else 0) + waits[v][t]
                 for t in range(t_steps)] for v in range(n_layers)] for _ in range(s_n)]
    executed = np.zeros((s_n, n_layers, t_steps), dtype=bool)
    admit = np.zeros(s_n)
    finish = np.full(s_n, np.nan)
    left = [False] * s_n
    events: list = []                 # (cycle, order, kind, image, layer, timestep)
    order = count()
    REQUEST, DONE, LEAVE = 0, 1, 2

    def resolve(i: int, v: int, t: int, at: float) -> None:
        """One input of item (i, v, t) is there at cycle ``at``; it asks for its cores once all are."""
        nonlocal last_event
        last_event = max(last_event, at)
        if at > ready[i][v][t]:
            ready[i][v][t] = at
        pending[i][v][t] -= 1
        if pending[i][v][t] == 0:
            heapq.heappush(events, (ready[i][v][t], next(order), REQUEST, i, v, t))

    def send(now: float, links: list[int], occupancy: int, hops: int) -> float:
        """Reserve a transfer's links from now (as archsim.timing.simpy.router.LinkReservations.send); when its spikes arrive."""
        if not links:
            return now
        if not occupancy:
            return now + hops
        return reserve_links(link_free, link_busy, links, now, occupancy) + hops

    def enter(i: int, now: float) -> None:
        nonlocal channel_free
        admit[i] = now
        loaded = now
        if load_cycles:
            loaded = channel_free = max(now, channel_free) + load_cycles
        for v in range(n_layers):
            if first[v]:
                resolve(i, v, 0, loaded)
            elif n_in[v] == 0:                     # no inputs at all (input neurons on cores)
                heapq.heappush(events, (now, next(order), REQUEST, i, v, 0))

    def grant(now: float, i: int, v: int, t: int) -> None:
        nonlocal channel_free
        busy[group[v]] = True
        executed[i, v, t] = True
        end = now + held_l[i][v][t]
        if offchip_l[i][v][t]:                     # spilled weights stream in while the PEs work
            channel_free = max(now, channel_free) + offchip_l[i][v][t]
            end = max(now + compute_l[i][v][t], channel_free) + held_l[i][v][t] - compute_l[i][v][t]
        heapq.heappush(events, (end, next(order), DONE, i, v, t))
        for c, links, occ, hops, lead in outs[v]:
            if lead is not None:                   # TTFS: spikes flow during the window
                resolve(i, c, t, send(now, links, occ[i][t], hops) + max(lead[i], 0))

    for i in range(min(images_in_flight, s_n)):
        enter(i, 0.0)
    next_image = min(images_in_flight, s_n)
    while events:
        now, _, kind, i, v, t = heapq.heappop(events)
        last_event = max(last_event, now)
        if kind == LEAVE:                          # image i leaves: the next one enters
            left[i] = True
            if next_image < s_n:
                enter(next_image, now)
                next_image += 1
        elif kind == REQUEST:
            if t >= look.t_end(v, exit_l[i], max_t) or (v == sink and t >= exit_l[i]) or left[i]:
                continue                           # not run: stopped at the exit, or the image has left
            if busy[group[v]]:
                queue[group[v]].append((i, v, t))
            else:
                grant(now, i, v, t)
        else:                                      # DONE: the item releases its cores, sends its spikes
            g = group[v]
            busy[g] = False
            while queue[g] and not busy[g]:
                qi, qv, qt = queue[g].popleft()
                if not left[qi]:                   # granted after its image left: released at once
                    grant(now, qi, qv, qt)
            if t + 1 < t_steps:
                resolve(i, v, t + 1, now)
            for c, links, occ, hops, lead in outs[v]:
                if lead is None:
                    resolve(i, c, t, send(now, links, occ[i][t], hops))
            if v == sink:
                known = now
                if adaptive and t < max_t - 1:
                    known = controller_free = max(now, controller_free) + decide_cycles
                for f, lag in waiters:
                    if t + lag < t_steps:
                        resolve(i, f, t + lag, known)
                if t + 1 == exit_l[i]:
                    finish[i] = known
                    heapq.heappush(events, (known, next(order), LEAVE, i, v, t))
    return Replay(admit, finish, executed, last_event)

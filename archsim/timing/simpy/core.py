"""A layer's cores: a first-come-first-served lock, with an optional arbitration that puts speculative
work behind useful work.

An item (sample n, layer l, timestep t) runs on all cores of l at once, so the group is a lock of
capacity 1 (how long an item holds it is archsim.cycles.core_timing's; the process that takes it is
archsim.timing.simpy.layer's). ``arbitration`` (hwconfig ``controller.arbitration``): ``fifo`` serves requests in
arrival order; ``useful_first`` serves waiting items by how far they run ahead of the exit controller's
decisions on their sample (0: confirmed work, which is never wasted; then 1, 2, ... timesteps of
speculation), arrival order among equals, so a new image's first timestep beats the last image's
speculative tail.

Why not ``simpy.Resource``: it schedules an event for every request and every release (three events and
~15 us of Python per item, a quarter of a VGG16 run); this lock schedules one only when an item must
wait for the cores, with the same order of service. A waiting item waits on a
archsim.timing.simpy.kernel.Signal, fired when the cores are handed to it.
"""
from __future__ import annotations

import heapq
from collections import deque
from itertools import count

import simpy

from archsim.timing.simpy.kernel import Signal, fire


class CoreGroup:
    def __init__(self, env: simpy.Environment, index: int, cores: tuple[int, ...], useful_first: bool = False):
        self.env, self.index, self.cores = env, index, cores
        self.taken = False
        self.queue: deque = deque()           # waiting items, fifo
        self.ranked: list = []                # waiting items, useful_first: (depth, arrival, event)
        self._arrival = count()
        self.useful_first = useful_first
        self.busy = 0.0          # cycles held (computing or stalled on a full downstream buffer)

    def acquire(self, depth: int = 0):
        """Take the cores: None when they were free (taken now), else an event that fires when they are
        handed over. ``depth``: timesteps the item runs ahead of its sample's last decision."""
        if not self.taken:
            self.taken = True
            return None
        ev = Signal()
        if self.useful_first:
            heapq.heappush(self.ranked, (depth, next(self._arrival), ev))
        else:
            self.queue.append(ev)
        return ev

    def release(self) -> None:
        if self.queue:
            fire(self.env, self.queue.popleft(), 0)     # handed straight to the next in line
        elif self.ranked:
            fire(self.env, heapq.heappop(self.ranked)[2], 0)
        else:
            self.taken = False

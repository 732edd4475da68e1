"""Spike buffers between cores: where back-pressure comes from.

One buffer per mesh-crossing edge (u -> v) on v's cores, holding the spike events that wait there. A
producer item reserves room for its spikes *before* it releases its cores, so a full buffer (the
consumer is behind) holds the producer: those cycles are its stall cycles. The consumer frees the room
when its item has used the spikes. Capacity = the spike buffer's entries (size_kib x 8192 /
spike_event_bits) shared equally by the layer's in-edges. An item with more spikes than the capacity
reserves the whole buffer and streams the rest while the consumer works (no extra stall is modelled for
the excess).

It behaves as a ``simpy.Container`` (first-come-first-served puts that wait for room) but schedules an
event only when a producer must actually wait: SimPy's Container schedules one for every put and every
get, which was a third of all events of a run. Waiting producers wait on a
archsim.timing.simpy.kernel.Signal, fired when their room is granted.

Tallies (spike events): ``sent`` by producers, ``received`` by consumer items, ``dropped`` when a
sample has exited (speculate mode) with spikes still waiting or still coming. sent == received + dropped.
"""
from __future__ import annotations

from collections import deque

import simpy

from archsim.timing.simpy.kernel import Signal, fire


class SpikeBuffer:
    def __init__(self, env: simpy.Environment, capacity_events: int, exited: list[bool]):
        self.env = env
        self.capacity = max(1, int(capacity_events))
        self.level = 0                        # events' room currently reserved
        self.queue: deque = deque()           # producers waiting for room: (amount, event)
        self.exited = exited                  # the chip's per-sample flag: its spikes are no longer wanted
        self.room: dict[int, int] = {}        # sample -> room reserved (granted or queued), not yet freed
        self.waiting: dict[int, int] = {}     # sample -> spikes sent and not yet used
        self.sent = self.received = self.dropped = 0

    def reserve(self, n: int, spikes: int):
        """Reserve room for ``spikes`` events (capped at the capacity) for sample n. Returns an event to
        wait on when the buffer is full, else None (the room is taken at once)."""
        self.sent += spikes
        if self.exited[n]:
            self.dropped += spikes
            return None
        amount = min(spikes, self.capacity)
        self.waiting[n] = self.waiting.get(n, 0) + spikes
        if not amount:
            return None
        self.room[n] = self.room.get(n, 0) + amount
        if not self.queue and self.level + amount <= self.capacity:
            self.level += amount
            return None
        ev = Signal()
        self.queue.append((amount, ev, n))
        return ev

    def _free(self, amount: int) -> None:
        self.level -= amount
        queue = self.queue
        while queue and self.level + queue[0][0] <= self.capacity:
            amt, ev, _ = queue.popleft()
            self.level += amt
            fire(self.env, ev, 0)

    def consume(self, n: int, spikes: int) -> None:
        """The consumer item of sample n has used ``spikes`` events: free their room."""
        if n not in self.waiting:
            return                            # sample exited: already dropped
        self.received += spikes
        self.waiting[n] -= spikes
        if not self.waiting[n]:
            del self.waiting[n]
        amount = min(spikes, self.capacity)
        if amount:
            self.room[n] -= amount
            if not self.room[n]:
                del self.room[n]
            self._free(amount)

    def drop(self, n: int) -> None:
        """Sample n has exited: what waits for it will never be used. Its queued reservations are let
        go (their producers continue), its granted room is freed."""
        self.dropped += self.waiting.pop(n, 0)
        amount = self.room.pop(n, 0)
        if any(entry[2] == n for entry in self.queue):
            keep = deque()
            for entry in self.queue:
                if entry[2] == n:
                    amount -= entry[0]
                    fire(self.env, entry[1], 0)
                else:
                    keep.append(entry)
            self.queue = keep
        if amount:
            self._free(amount)

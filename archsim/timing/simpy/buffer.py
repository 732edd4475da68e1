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
    """The buffer of edge ``e``. What each sample has sent and not yet used (``pending``) and the room
    it holds (``room``) live on the sample (archsim.timing.simpy.layer.Sample, one entry per edge), so
    they go with it."""

    def __init__(self, env: simpy.Environment, e: int, capacity_events: int):
        self.env, self.e = env, e
        self.capacity = max(1, int(capacity_events))
        self.level = 0                        # events' room currently reserved
        self.queue: deque = deque()           # producers waiting for room: (amount, event, sample)
        self.sent = self.received = self.dropped = 0

    def reserve(self, s, spikes: int):
        """Reserve room for ``spikes`` events (capped at the capacity) for sample s. Returns an event to
        wait on when the buffer is full, else None (the room is taken at once)."""
        self.sent += spikes
        if s.exited:
            self.dropped += spikes
            return None
        e, cap = self.e, self.capacity
        amount = spikes if spikes < cap else cap
        s.pending[e] += spikes
        if not amount:
            return None
        s.room[e] += amount
        if not self.queue and self.level + amount <= cap:
            self.level += amount
            return None
        ev = Signal()
        self.queue.append((amount, ev, s))
        return ev

    def _free(self, amount: int) -> None:
        self.level -= amount
        queue = self.queue
        while queue and self.level + queue[0][0] <= self.capacity:
            amt, ev, _ = queue.popleft()
            self.level += amt
            fire(self.env, ev, 0)

    def consume(self, s, spikes: int) -> None:
        """The consumer item of sample s has used ``spikes`` events: free their room."""
        e = self.e
        if not s.pending[e]:
            return                            # sample exited: already dropped (or nothing was sent)
        self.received += spikes
        s.pending[e] -= spikes
        amount = spikes if spikes < self.capacity else self.capacity
        if amount:
            s.room[e] -= amount
            self._free(amount)

    def drop(self, s) -> None:
        """Sample s has exited: what waits for it will never be used. Its queued reservations are let
        go (their producers continue), its granted room is freed."""
        e = self.e
        self.dropped += s.pending[e]
        amount = s.room[e]
        s.pending[e] = s.room[e] = 0
        if any(entry[2] is s for entry in self.queue):
            keep = deque()
            for entry in self.queue:
                if entry[2] is s:
                    amount -= entry[0]
                    fire(self.env, entry[1], 0)
                else:
                    keep.append(entry)
            self.queue = keep
        if amount:
            self._free(amount)

"""The off-chip memory channel, shared by every core, served first come, first served.

An item of a layer whose weights spill uses the channel for its spilled reads
(``ceil(accesses x access_bits / bits per cycle) + latency_cycles``) while its PE array works on the
on-chip part; the item ends when both are done. The image DMA uses it for each new image.

Why a reservation (busy-until) and not a ``simpy.Resource``: every user knows how long it needs the
channel when it asks, so "start = max(now, channel free), channel free = start + cycles" is exactly what
a FIFO Resource of capacity 1 would do, without the three SimPy events per use.
"""
from __future__ import annotations

import simpy

# The cycles of a transfer are archsim.cycles.transfer_cycles.


class OffChipChannel:
    def __init__(self, env: simpy.Environment):
        self.env = env
        self.free_at = 0.0
        self.busy = 0.0

    def reserve(self, cycles: int) -> float:
        """Book the channel for ``cycles`` from when it is free; returns the time the use ends."""
        start = max(self.env.now, self.free_at)
        self.free_at = start + cycles
        self.busy += cycles
        return self.free_at

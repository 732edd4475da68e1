"""The spike network: a 2D mesh with XY routing, one router per core.

Which links a spike crosses (and how many packets it becomes, unicast or multicast) is decided by the
mapping (archsim.mapping.Route); the flit counts are archsim.counts'. This module adds time.

Model: wormhole flow control with credits. A link moves one flit per cycle when a router's input buffer
covers the credit round trip (``buffer_depth_flits >= 2 x hop_latency_cycles + 1``), else
``buffer_depth / round trip`` flits per cycle: that is how ``buffer_depth_flits`` matters. A transfer
(the spikes one work item sends over one edge) holds every link of its route from a common start until
its busiest link has carried its flits; it reaches the destination ``path_cycles`` after that (the
slowest path's hops x hop_latency_cycles, chip-to-chip crossings at their own latency: the mapping's). Transfers that share a link are served in the order they ask (first come, first served).

Why a reservation table and not one ``simpy.Resource`` per link: a transfer would have to acquire up to
a dozen links one by one (several events each, and a global acquisition order to avoid deadlock); the
reservation gives the same first-come-first-served serialisation with no SimPy event at all, which is
what keeps a 10,000-image VGG16 run under a minute.
"""
from __future__ import annotations

from archsim.hwconfig import HwConfig
from archsim.cycles import reserve_links

# Link throughput, occupancy and the reservation rule are archsim.cycles' (cycles_per_flit,
# occupancy_cycles, reserve_links).


class LinkReservations:
    """Link reservations (busy-until per directed link) and flit tallies. (The mesh's geometry is
    archsim.mesh's; here a link is only an id.)"""

    def __init__(self, env, hw: HwConfig, n_links: int):
        self.env = env
        self.free_at = [0.0] * n_links
        self.busy = [0.0] * n_links

    def send(self, link_ids: list[int], occupancy: int, path_cycles: int) -> float:
        """Reserve the route's links; return the delay from now until the spikes have arrived."""
        now = self.env.now
        if not occupancy:
            return path_cycles if link_ids else 0.0
        end = reserve_links(self.free_at, self.busy, link_ids, now, occupancy)
        return end + path_cycles - now

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

Links reserved together: links that exactly the same routes cross are always reserved together, from
the same start for the same cycles, so they are always free at the same cycle and busy as long; the
reservations keep one busy-until per such *class* of links (a route of a dozen links is often one or
two classes), and each link's busy cycles are its class's.
"""
from __future__ import annotations

import numpy as np

from archsim.hwconfig import HwConfig

# Link throughput, occupancy and the reservation rule are archsim.cycles' (cycles_per_flit,
# occupancy_cycles, reserve_links).


def link_classes(routes: list[list[int]]) -> tuple[list[list[int]], dict[int, int]]:
    """The classes of the links of ``routes`` (module docstring): each route's classes, and each link's
    class. A route that lists a link twice (never made by archsim.mapping) keeps one class per link."""
    if any(len(set(ids)) != len(ids) for ids in routes):
        every = sorted({j for ids in routes for j in ids})
        return [list(ids) for ids in routes], {j: j for j in every}
    crossed: dict[int, list[int]] = {}
    for r, ids in enumerate(routes):
        for j in ids:
            crossed.setdefault(j, []).append(r)
    classes: dict[tuple, int] = {}
    class_of = {j: classes.setdefault(tuple(rs), len(classes)) for j, rs in sorted(crossed.items())}
    return [sorted({class_of[j] for j in ids}) for ids in routes], class_of


class LinkReservations:
    """Link reservations (busy-until per class of links) and busy tallies. (The mesh's geometry is
    archsim.mesh's; here a link is only an id.) ``routes``: the link ids of each edge's route."""

    def __init__(self, env, hw: HwConfig, n_links: int, routes: list[list[int]]):
        self.env = env
        self.n_links = n_links
        self.route_classes, self.class_of = link_classes(routes)
        n_classes = max(self.class_of.values(), default=-1) + 1
        self.free_at = [0.0] * n_classes
        self.busy = [0.0] * n_classes

    # A transfer's reservation (written out in archsim.timing.simpy.layer.Layer.send, once per item):
    # end = reserve_links(free_at, busy, classes, now, occupancy) when it carries flits; its spikes arrive
    # the route's ``path_cycles`` after the end, or after now when it carries none.

    def link_busy(self) -> np.ndarray:
        """Cycles each link was reserved (mapping.links order)."""
        out = np.zeros(self.n_links)
        for j, c in self.class_of.items():
            out[j] = self.busy[c]
        return out

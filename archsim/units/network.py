"""The mesh: one router per core and the links between them, XY routing.

Counts (on the *source* layer's items): ``flit_hops_<direction>`` = flits through a router moving that
way, ``flit_hops`` = flits over links (every hop crosses one), ``packet_hops`` and ``flits``
(unpriced totals), from the mapping's routes: flits per packet = ceil((header_bits + spike_event_bits) /
flit_bits). On a system of chips these are the on-chip hops; a hop from one chip to the next is the
chip_link unit's. The busiest link of each transfer (``busiest_link_flits``) is what the timing holds the
route for, at ``cycles_per_flit``. Static: routers stay on with the chip (one per core), links one each.
"""
from __future__ import annotations

import numpy as np

from archsim.units.base import DIRECTIONS, ActionRow, LayerContext, Spikes, edge_sum, round_half_up

NAME = "network"
ORDER = 70
ROWS = (
    *(ActionRow("router", f"hop_{d}", f"flit_hops_{d}", "hop", role="network",
                doc=f"one flit through one router, moving {d}") for d in DIRECTIONS),
    ActionRow("link", "flit", "flit_hops", "fixed", role="network", doc="one flit over one mesh link"),
)
UNPRICED = ("packet_hops", "flits")
STATIC = {"router": "router", "link": "link"}


def flits_per_packet(hw) -> int:
    return int(-(-(hw.router.header_bits + hw.precision.spike_event_bits) // hw.router.flit_bits))


def cycles_per_flit(hw) -> float:
    """A link moves one flit per cycle when a router's input buffer covers the credit round trip
    (``buffer_depth_flits >= 2 x hop_latency_cycles + 1``), else ``buffer_depth / round trip``."""
    round_trip = 2 * hw.router.hop_latency_cycles + 1
    return max(1.0, round_trip / hw.router.buffer_depth_flits)


def busiest_link_flits(route, sp: Spikes, fpp: int) -> np.ndarray:
    """Flits over the busiest link of an edge's transfer, int64 [N, T] (0 for an edge inside a core). A
    route over chip links weighs each link's flits by its ``link_flit_time`` (a chip link's cycles per
    flit over an on-chip link's): float64 then, in on-chip flit times."""
    n, t_steps = sp.total.shape
    if route.local:
        return np.zeros((n, t_steps), dtype=np.int64)
    link_load = sp.per_core @ route.link_uses.astype(np.int64)                 # [N, T, J]
    if not link_load.shape[-1]:
        return np.zeros((n, t_steps), np.int64)
    if route.link_flit_time is not None:
        return (link_load * route.link_flit_time).max(axis=-1) * fpp
    return link_load.max(axis=-1) * fpp


def count(ctx: LayerContext) -> dict[str, np.ndarray]:
    fpp = ctx.fpp
    out = {c: np.zeros(ctx.shape, dtype=np.int64) for c in ("packet_hops", "flit_hops")}
    out.update({f"flit_hops_{d}": np.zeros(ctx.shape, dtype=np.int64) for d in DIRECTIONS})
    for route, sp in ctx.routes_out:
        dirs = round_half_up(edge_sum(sp, ctx.samples, route, "hops_dir"))
        out["packet_hops"] += dirs.sum(axis=-1)
        out["flit_hops"] += dirs.sum(axis=-1) * fpp
        for d, direction in enumerate(DIRECTIONS):
            out[f"flit_hops_{direction}"] += dirs[..., d] * fpp
    out["flits"] = ctx.counts["packets"] * fpp
    return out

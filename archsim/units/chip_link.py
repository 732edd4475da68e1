"""Chip-to-chip links: the hops of a spike's XY route that go from one chip to the next (``mesh.chips``).

Counts (on the *source* layer's items, from the mapping's routes, like the network unit's hops):
``chip_link_crossings`` = packets crossing a chip boundary (one per link crossed; a multicast packet
crosses a link once however many cores it reaches beyond it), ``chip_link_flits`` = crossings x flits
per packet. Such a hop is not an on-chip hop: the network unit's router and link rows count the on-chip
hops only, and a crossing is priced whole (the boundary router's port and the lanes) per bit by the
chip-link table's row (hwconfig ``mesh.chips.link``, hwconfigs/energy/chip_links.yaml): one flit =
router.flit_bits x energy_pj_per_bit (archsim.energy).

Time (the timing backends, through the mapping's routes): a crossing takes :func:`latency_cycles`
instead of ``router.hop_latency_cycles``, and a chip link moves one flit per :func:`cycles_per_flit`
cycles. Static: ``static_mw`` per lane of every chip link. Present only on a system of several chips.
"""
from __future__ import annotations

import math

import numpy as np

from archsim.units.base import ActionRow, LayerContext, edge_sum, round_half_up
from archsim.units.network import cycles_per_flit as onchip_cycles_per_flit

NAME = "chip_link"
ORDER = 75
ROWS = (
    ActionRow("chip_link", "flit", "chip_link_flits", "chip_link", role="network",
              doc="one flit over one chip-to-chip link (priced per bit by the chip-link table)"),
)
UNPRICED = ("chip_link_crossings",)
STATIC = {"chip_link": "chip_link"}


def present(hw, table) -> bool:
    return hw.mesh.n_chips > 1


def latency_cycles(hw) -> int:
    """Clock cycles of one crossing (the row's latency_ns, rounded up)."""
    return int(math.ceil(hw.chip_link.latency_ns * hw.clock_mhz / 1e3 - 1e-9))


def cycles_per_flit(hw) -> float:
    """Cycles a chip link takes per flit: the slowest of an on-chip link (its boundary router feeds it),
    the lanes' bandwidth (router.flit_bits over bandwidth_gbps x lanes: 10^9 bytes/s x 8 bits / clock),
    and the credit round trip across the link (2 x latency + 1 cycles per buffer_depth_flits)."""
    lane_bits_per_cycle = hw.chip_link.bandwidth_gbps * hw.mesh.chips.lanes * 8e3 / hw.clock_mhz
    credits = (2 * latency_cycles(hw) + 1) / hw.router.buffer_depth_flits
    return max(onchip_cycles_per_flit(hw), hw.router.flit_bits / lane_bits_per_cycle, credits)


def count(ctx: LayerContext) -> dict[str, np.ndarray]:
    crossings = np.zeros(ctx.shape, dtype=np.int64)
    for route, sp in ctx.routes_out:
        crossings += round_half_up(edge_sum(sp, ctx.samples, route, "chip_hops"))
    return {"chip_link_crossings": crossings, "chip_link_flits": crossings * ctx.fpp}

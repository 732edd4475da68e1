"""The axon units: a core's axon-out turns a spike into packets for the cores that hold its targets
(SANA-FE: message out), a core's axon-in takes them (message in).

What leaves a core over an edge is decided here too (:func:`edge_events`): a spike each, or with
``dataflow.pooling: per_cell`` on a pooled edge one event per pooled cell that fired.

Counts: ``packets`` (on the *source* layer's items) = per event one packet per destination core that
holds its targets (unicast) or one (multicast), from the mapping's routes, exact per neuron where
recorded; ``packets_received`` (on the *destination* layer's items) = one per destination core a packet
reaches. Edges inside one core send nothing. Barrier: each core's packets out (neuron phase) and in
(message phase).
"""
from __future__ import annotations

import numpy as np

from archsim import graph as lg
from archsim import pooling
from archsim.units.base import ActionRow, LayerContext, Spikes, apportion, edge_sum, round_half_up

NAME = "axon"
ORDER = 60
ROWS = (
    ActionRow("axon_out", "packet", "packets", "fixed", required=False, role="network", barrier_phase="neuron",
              doc="a spike packet leaves its core (SANA-FE: message out)"),
    ActionRow("axon_in", "packet", "packets_received", "fixed", required=False, role="network",
              barrier_phase="message", doc="a spike packet arrives at a core (SANA-FE: message in)"),
)
STATIC = {"axon_out": "core", "axon_in": "core"}


def pooled_cell_events(hw, g, mapping, u: str, v: str, sp: Spikes, samples,
                       recorded: np.ndarray | None = None) -> Spikes:
    """What travels over edge u -> v: u's spikes, or with ``dataflow.pooling: per_cell`` and a pooled
    edge, one event per pooled cell that fired (its spikes summed into a multi-bit value). A cell's
    neurons share their targets, so a cell event is carried by the cell's first neuron. How many cells
    fired: archsim.pooling.cell_events (the workload's ``recorded`` count, else an estimate), exact per
    neuron where per-neuron records exist."""
    pool = int(g.edges[u, v].get("pool", 1))
    if pool == 1 or hw.dataflow.pooling == "per_spike":
        return sp
    c, h, w = (int(x) for x in lg.layer(g, u).shape)
    total = pooling.cell_events(sp.total, (c, h, w), pool, recorded)
    raster = None
    if sp.raster is not None:                                  # exact: which cells fired
        r = pooling.cell_raster(sp.raster, (c, h, w), pool)
        raster = np.zeros_like(sp.raster).reshape(sp.raster.shape[:2] + (c, h, w))
        raster[..., ::pool, ::pool] = r                        # carried by each cell's first neuron
        raster = raster.reshape(sp.raster.shape)
        total[samples] = np.rint(raster.sum(axis=-1)).astype(np.int64)
    per_core = apportion(total, mapping.emit_shares[u])
    if raster is not None:
        onehot = np.eye(len(mapping.layers[u].cores))[mapping.layers[u].core_of_neuron()]
        per_core[samples] = np.rint(raster @ onehot).astype(np.int64)
    return Spikes(total, per_core, raster)


def _received(ctx: LayerContext, route, sp: Spikes) -> np.ndarray:
    """Packets each of this layer's cores receives over one edge, float64 [N, T, K]."""
    return edge_sum(sp, ctx.samples, route, "received")


def count(ctx: LayerContext) -> dict[str, np.ndarray]:
    packets = np.zeros(ctx.shape, dtype=np.int64)
    received = np.zeros(ctx.shape, dtype=np.int64)
    for route, sp in ctx.routes_out:
        packets += round_half_up(edge_sum(sp, ctx.samples, route, "packets"))
    for route, sp in ctx.routes_in:
        received += round_half_up(_received(ctx, route, sp).sum(axis=-1))
    return {"packets": packets, "packets_received": received}


def core_load(ctx: LayerContext) -> dict[str, np.ndarray]:
    out, into = np.zeros(ctx.shape + (ctx.k,)), np.zeros(ctx.shape + (ctx.k,))
    for route, sp in ctx.routes_out:
        out += sp.per_core * route.packets_per_spike[None, None, :]
        if sp.raster is not None:
            onehot = np.eye(ctx.k)[ctx.place.core_of_neuron()]
            out[ctx.samples] = sp.raster @ (route.packets_per_neuron[:, None] * onehot)
    for route, sp in ctx.routes_in:
        into += _received(ctx, route, sp)
    return {"packets": out, "packets_received": into}

"""The PE array (the synapse unit): adds a weight into a target's potential per synaptic event, and
multiplies a real-valued input in.

Counts per item of layer l: ``accumulates`` = round(the synaptic events that reach l: per spike its
fan-out, exact per neuron where recorded, + the neuron record's ``extra_events``); ``macs`` = the
synapses of each dense (real-valued input) edge at each timestep that multiplies it in (only the first
with ``first_layer_reuse``). Which table component prices them is chosen per layer (hwconfig ``units``:
Loihi's conv and dense synapse units, say). Busy: accumulates / accumulates_per_cycle + MACs /
macs_per_cycle on the fullest core. Barrier: each core's synaptic events and MACs, message phase.
"""
from __future__ import annotations

import numpy as np

from archsim.units.base import ActionRow, CycleContext, LayerContext, ceil_div, edge_sum, round_half_up

NAME = "pe_array"
ORDER = 10
ROWS = (
    ActionRow("pe_array", "accumulate", "accumulates", "synapse", role="synapse", barrier_phase="message",
              doc="one synaptic event: a weight added into a target's potential"),
    ActionRow("pe_array", "mac", "macs", "fixed", role="synapse", barrier_phase="message", latency_optional=True,
              doc="one multiply-accumulate of a real-valued (dense) input"),
)
STATIC = {"pe_array": "core"}


def count(ctx: LayerContext) -> dict[str, np.ndarray]:
    macs = np.zeros(ctx.shape, dtype=np.int64)
    for e in ctx.in_edges:
        if e.dense:
            macs += np.where(ctx.dense_steps, int(e.attrs["synapses"]), 0)[None, :]
    return {"accumulates": round_half_up(ctx.events), "macs": macs}


def core_load(ctx: LayerContext) -> dict[str, np.ndarray]:
    """Each core's share: a dense or DMA input by its neurons, a routed edge exactly per destination core."""
    place = ctx.place
    per_core = np.array(place.neurons_per_core)[None, None, :]
    acc, macs = np.zeros(ctx.shape + (ctx.k,)), np.zeros(ctx.shape + (ctx.k,))
    for e in ctx.in_edges:
        if e.dense:
            macs += np.where(ctx.dense_steps, int(e.attrs["synapses"]), 0)[None, :, None] * per_core / place.neurons
        elif e.route is None:
            acc += (e.spikes * float(e.attrs["fan_out"]))[..., None] * per_core / place.neurons
        else:
            acc += edge_sum(e.events, ctx.samples, e.route, "events")
    return {"accumulates": acc, "macs": macs}


def busy_cycles(ctx: CycleContext) -> dict[str, np.ndarray]:
    pe = ctx.hw.core.pe_array
    a, top, n = ctx.counts, ctx.top, ctx.neurons
    return {"compute": ceil_div(a["accumulates"] * top, n * pe.accumulates_per_cycle)
            + ceil_div(a["macs"] * top, n * pe.macs_per_cycle)}

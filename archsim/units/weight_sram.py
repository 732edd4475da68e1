"""The weight SRAM: each synaptic event needs its weight, read a port-wide word at a time.

Counts per item of layer l (wb = weight_bits, pb = port_bits): ``weight_reads`` = per spike (or pooled
cell event) ceil(fan_out x wb / pb) (each event reads its weight block; exact per neuron where
recorded, else at the edge's mean fan-out), plus for a dense edge pixels x ceil(fan_out x wb / pb) at
each timestep that multiplies it in; under ``gather`` the weights of the inputs that fired, packed:
ceil(synaptic events x wb / pb). A layer whose weights do not all fit on chip (mapping.spill_fraction
of them off chip) gets them from off-chip memory: ``offchip.spill: per_timestep`` streams each core's
overflow once per item (``weight_spill_words`` = ceil(K x overflow bits / pb); the SRAM keeps the
on-chip fraction of the reads), ``per_spike`` fetches the spilled fraction of every block again
(``weight_spill_words`` = round(reads x spill)). ``weight_writes``: the initial load of the on-chip
weights, once per run (``setup``). Busy: the fullest core's reads over its banks, + the read latency.
"""
from __future__ import annotations

import numpy as np

from archsim.units.base import (ActionRow, CycleContext, LayerContext, Spikes, ceil_div, round_half_up, with_latency,
                                words)

NAME = "weight_sram"
ORDER = 30
ROWS = (
    ActionRow("weight_sram", "read", "weight_reads", "sram", doc="one port-wide weight read"),
    ActionRow("weight_sram", "write", "weight_writes", "sram", doc="one port-wide weight write (the initial load)"),
)
UNPRICED = ("weight_spill_words",)
STATIC = {"weight_sram": "sram"}


def _block(fan, wb: int, pb: int) -> np.ndarray:
    """Port words of one event's weight block."""
    return np.ceil(np.asarray(fan, dtype=np.float64) * wb / pb)


def _event_words(sp: Spikes, samples, route, s_u: np.ndarray, mean_fan: float,
                 wb: int, pb: int) -> np.ndarray:
    """Weight words the events of a routed edge read: exact per neuron where recorded, else at the
    layer's mean fan-out."""
    out = s_u * float(_block(mean_fan, wb, pb))
    if sp.raster is not None:
        out = out.astype(np.float64)
        out[samples] = sp.raster @ _block(route.fan_out_per_neuron, wb, pb)
    return out


def _words_read(ctx: LayerContext) -> np.ndarray:
    """All weight words an item needs, on chip or off (before the spill split), int64 [N, T]."""
    wb, pb = ctx.hw.precision.weight_bits, ctx.hw.core.weight_sram.port_bits
    dense_words = np.zeros(ctx.shape, dtype=np.float64)
    event_words = np.zeros(ctx.shape, dtype=np.float64)
    for e in ctx.in_edges:
        fan = e.attrs["fan_out"]
        if e.dense:
            dense_words += np.where(ctx.dense_steps, e.pixels * int(np.ceil(fan * wb / pb)), 0)[None, :]
        elif e.attrs["weights"] > 0 and e.route is None:          # the input, by DMA: layer-mean fan-out
            event_words += e.spikes * int(np.ceil(fan * wb / pb))
        elif e.attrs["weights"] > 0:
            event_words += _event_words(e.events, ctx.samples, e.route, e.spikes, fan, wb, pb)
    if ctx.gather and ctx.fan_in_bits:   # the weights of inputs that fired, packed
        extra = ctx.neurons * ctx.record["extra_events"]
        event_words = words(wb, np.clip(ctx.counts["accumulates"] - extra, 0, None), pb).astype(np.float64)
    return round_half_up(dense_words + event_words)


def count(ctx: LayerContext) -> dict[str, np.ndarray]:
    hw, place = ctx.hw, ctx.place
    all_words = _words_read(ctx)
    spill_fraction = place.spill_fraction          # 0 for a layer whose weights fit: nothing spills
    if hw.offchip is not None and hw.offchip.spill == "per_timestep":
        overflow = len(place.cores) * place.weight_bits * place.max_share * spill_fraction
        spill = np.full(all_words.shape, int(words(1, int(np.ceil(overflow)), hw.core.weight_sram.port_bits)))
        reads = all_words - round_half_up(all_words * spill_fraction)
    else:
        spill = round_half_up(all_words * spill_fraction)
        reads = all_words - spill
    return {"weight_reads": reads, "weight_spill_words": spill}


def setup(hw, onchip_weight_bits: int) -> dict[str, int]:
    return {"weight_writes": int(words(1, onchip_weight_bits, hw.core.weight_sram.port_bits))}


def busy_cycles(ctx: CycleContext) -> dict[str, np.ndarray]:
    sram = ctx.hw.core.weight_sram
    return {"compute": with_latency(ceil_div(ctx.counts["weight_reads"] * ctx.top, ctx.neurons * sram.banks),
                                    sram.read_latency_cycles)}

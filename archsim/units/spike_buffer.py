"""The spike buffer: holds the spike events a core reads, and the input a DMA writes in.

Counts per item of layer l (K = its cores, pb = port_bits): ``spike_buffer_writes`` = the spikes l
emits + the input delivered by DMA to a first layer (ceil(pixels x input_bits / pb) per core once per
image, or one per input spike per core); ``spike_buffer_reads`` = sum over spiking in-edges of their
events x K (every core of l reads every input event) + ceil(pixels x input_bits / pb) x K at each
timestep that multiplies a dense input in; under ``gather`` each neuron scans its receptive field's
bitmap instead (neurons x ceil(fan-in bits / pb)). Busy: every core reads it all, over its banks, +
the read latency.
"""
from __future__ import annotations

import numpy as np

from archsim.units.base import ActionRow, CycleContext, LayerContext, ceil_div, with_latency, words

NAME = "spike_buffer"
ORDER = 50
ROWS = (
    ActionRow("spike_buffer", "read", "spike_buffer_reads", "sram", doc="one spike event read"),
    ActionRow("spike_buffer", "write", "spike_buffer_writes", "sram", doc="one spike event written"),
)
STATIC = {"spike_buffer": "sram"}


def count(ctx: LayerContext) -> dict[str, np.ndarray]:
    pb, k = ctx.hw.core.spike_buffer.port_bits, ctx.k
    dense_reads = np.zeros(ctx.shape, dtype=np.int64)
    event_reads = np.zeros(ctx.shape, dtype=np.int64)
    writes = np.zeros(ctx.shape, dtype=np.int64)
    for e in ctx.in_edges:
        if e.dense:
            px_words = int(words(ctx.hw.precision.input_bits, e.pixels, pb))
            dense_reads += np.where(ctx.dense_steps, px_words * k, 0)[None, :]
            writes[:, 0] += px_words * k
            continue
        event_reads += e.spikes * k
        if e.by_dma:                     # spike-encoded input arrives by DMA
            writes += e.spikes * k
    if ctx.gather and ctx.fan_in_bits:   # every neuron scans its receptive field's bitmap
        event_reads = np.full_like(event_reads, ctx.neurons * int(np.ceil(ctx.fan_in_bits / pb)))
    return {"spike_buffer_reads": dense_reads + event_reads, "spike_buffer_writes": writes + ctx.out_spikes}


def busy_cycles(ctx: CycleContext) -> dict[str, np.ndarray]:
    sram = ctx.hw.core.spike_buffer
    return {"compute": with_latency(ceil_div(ctx.counts["spike_buffer_reads"], ctx.cores * sram.banks),
                                    sram.read_latency_cycles)}

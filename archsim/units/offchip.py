"""Off-chip memory (DRAM): spilled weights and the input image come from it, over one shared channel.

Counts per item of layer l (ab = offchip.access_bits): ``offchip_reads`` = the spilled weight words
(archsim.units.weight_sram) in ab-wide accesses, ceil(words x port_bits / ab), + on the first placed
layer that reads the input by DMA the input image, ceil(pixels x input_bits / ab) once per image (or
the input spikes at each timestep, spike_event_bits each); ``offchip_writes`` = 0;
``offchip_activations`` = ceil(bits moved / (row_bytes x 8)) (streams open a row per row_bytes). Once per
run (``setup``): the reads and activations that fetch the on-chip weights. None of it without off-chip
memory. Priced by the DRAM table of the hwconfig's standard (per bit, per activation). Busy: the
spilled reads on the shared channel at its bandwidth, + its latency.
"""
from __future__ import annotations

import numpy as np

from archsim.units.base import ActionRow, CycleContext, LayerContext, ceil_div, words

NAME = "offchip"
ORDER = 90
ROWS = (
    ActionRow("offchip", "read", "offchip_reads", "dram", role="memory",
              doc="one off-chip read of offchip.access_bits (priced per bit by the DRAM table)"),
    ActionRow("offchip", "write", "offchip_writes", "dram", role="memory", doc="one off-chip write, likewise"),
    ActionRow("offchip", "activate", "offchip_activations", "dram", role="memory",
              doc="one DRAM row activation (+ precharge): streams open a row per row_bytes moved"),
)
STATIC = {"offchip": "dram"}


def count(ctx: LayerContext) -> dict[str, np.ndarray]:
    hw, mem = ctx.hw, ctx.hw.offchip
    reads = np.zeros(ctx.shape, dtype=np.int64)
    if mem is None:
        return {}
    if ctx.place.spill_fraction > 0:
        reads += words(hw.core.weight_sram.port_bits, ctx.counts["weight_spill_words"], mem.access_bits)
    src = ctx.input
    if src.read_here:
        if src.spiking:
            reads += words(hw.precision.spike_event_bits, src.spikes, mem.access_bits)
        else:
            reads[:, 0] += int(words(hw.precision.input_bits, src.neurons, mem.access_bits))
    return {"offchip_reads": reads,
            "offchip_activations": ceil_div(reads * mem.access_bits, mem.dram.row_bytes * 8)}


def setup(hw, onchip_weight_bits: int) -> dict[str, int]:
    if hw.offchip is None:
        return {"offchip_reads": 0, "offchip_activations": 0}
    return {"offchip_reads": int(words(1, onchip_weight_bits, hw.offchip.access_bits)),
            "offchip_activations": int(ceil_div(onchip_weight_bits, hw.offchip.dram.row_bytes * 8))}


def channel_cycles(accesses: np.ndarray, hw, bits_per_cycle: float) -> np.ndarray:
    """Cycles to move ``accesses`` off-chip accesses at ``bits_per_cycle`` (0 for none, or when there is
    no off-chip memory)."""
    a = np.asarray(accesses, dtype=np.float64)
    if hw.offchip is None:
        return np.zeros(a.shape, dtype=np.int64)
    cyc = np.ceil(a * hw.offchip.access_bits / bits_per_cycle - 1e-9).astype(np.int64)
    return np.where(a > 0, cyc + hw.offchip.latency_cycles, 0)


def busy_cycles(ctx: CycleContext) -> dict[str, np.ndarray]:
    hw = ctx.hw
    if hw.offchip is None:
        return {"channel": np.zeros(ctx.counts["weight_spill_words"].shape, dtype=np.int64)}
    spilled = words(hw.core.weight_sram.port_bits, ctx.counts["weight_spill_words"], hw.offchip.access_bits)
    return {"channel": channel_cycles(spilled, hw, ctx.offchip_bits_per_cycle)}

"""The membrane-potential SRAM: the neuron unit reads and writes each neuron's state every update; under
the ``scatter`` dataflow every synaptic event also reads, adds into and writes back its target.

Counts per item of layer l (pb = port_bits): ``potential_reads`` = ``potential_writes`` = ceil(neurons x
potential_bits / pb) x state words x steps (one read and one write per neuron update); with
``first_layer_reuse`` a layer with a dense input also writes its input current at the first timestep
and reads it at each later one (one more sweep each); ``scatter`` adds ``potential_rmw`` =
ceil(accumulates x potential_bits / pb) to both (its own count, unpriced: it is already in them).
Busy: the read-modify-writes during compute, the sweep during the update, each over the fullest core's
banks plus the read and write latency.
"""
from __future__ import annotations

import numpy as np

from archsim.units.base import ActionRow, CycleContext, LayerContext, ceil_div, with_latency, words

NAME = "potential_sram"
ORDER = 40
ROWS = (
    ActionRow("potential_sram", "read", "potential_reads", "sram", doc="one port-wide potential read"),
    ActionRow("potential_sram", "write", "potential_writes", "sram", doc="one port-wide potential write"),
)
UNPRICED = ("potential_rmw",)   # of potential_reads (= of potential_writes): the scatter dataflow's share
STATIC = {"potential_sram": "sram"}


def count(ctx: LayerContext) -> dict[str, np.ndarray]:
    bits, pb = ctx.hw.precision.potential_bits, ctx.hw.core.potential_sram.port_bits
    sweep = int(words(bits, ctx.neurons, pb))
    reads = np.full(ctx.shape, sweep * ctx.state_words * ctx.steps, dtype=np.int64)
    writes = reads.copy()
    if ctx.hw.first_layer_reuse and any(e.dense for e in ctx.in_edges):
        writes[:, 0] += sweep
        reads[:, 1:] += sweep
    rmw = np.zeros(ctx.shape, dtype=np.int64)
    if not ctx.gather:   # scatter: every synaptic event reads, adds into and writes back its target's potential
        rmw = words(bits, ctx.counts["accumulates"], pb)
        reads += rmw
        writes += rmw
    return {"potential_reads": reads, "potential_writes": writes, "potential_rmw": rmw}


def busy_cycles(ctx: CycleContext) -> dict[str, np.ndarray]:
    sram, a = ctx.hw.core.potential_sram, ctx.counts
    latency = sram.read_latency_cycles + sram.write_latency_cycles
    rmw = with_latency(ceil_div(2 * a["potential_rmw"] * ctx.top, ctx.neurons * sram.banks), latency)
    swept = a["potential_reads"] + a["potential_writes"] - 2 * a["potential_rmw"]
    return {"compute": rmw, "update": with_latency(ceil_div(swept * ctx.top, ctx.neurons * sram.banks), latency)}

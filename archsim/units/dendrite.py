"""A dendrite accumulator: sums the synaptic currents that reach a neuron before its soma updates
(SANA-FE's ``dendrite`` unit, model ``accumulator``: one ``update``, priced ``energy_update``, per input
synaptic current; src/pipeline.cpp ``pipeline_process_dendrite`` in SANA-FE 2.x).

The chip has one when its energy table has a ``dendrite`` component, which must price ``update``
(and, for ``timing.mode: barrier``, give its ``latency_ns``); its ``static_mw`` is per core.

Counts per item of layer l: ``dendrite_updates`` = the synaptic events the PE array delivers
(``accumulates``: one update per event). Not counted: SANA-FE also updates the dendrite of a neuron it
processes once when no current arrived (Loihi's file prices that 0 pJ). Busy: it is pipelined behind
the PE array at one update per accumulate (an assumption: the PE array's ``accumulates_per_cycle``), so
it never sets the pace on its own. Barrier: each core's updates, message phase.
"""
from __future__ import annotations

import numpy as np

from archsim.units.base import ActionRow, CycleContext, LayerContext, ceil_div

NAME = "dendrite"
ORDER = 15            # after the synapse unit (it reads its accumulates), before the soma
ROWS = (ActionRow("dendrite", "update", "dendrite_updates", "fixed", role="dendrite", barrier_phase="message",
                  doc="one synaptic current added into a neuron's dendritic sum"),)
STATIC = {"dendrite": "core"}


def present(hw, table) -> bool:
    return NAME in table.components


def count(ctx: LayerContext) -> dict[str, np.ndarray]:
    return {"dendrite_updates": ctx.counts["accumulates"]}


def core_load(ctx: LayerContext) -> dict[str, np.ndarray]:
    return {"dendrite_updates": ctx.loads["accumulates"]}


def busy_cycles(ctx: CycleContext) -> dict[str, np.ndarray]:
    per_cycle = ctx.hw.core.pe_array.accumulates_per_cycle
    return {"compute": ceil_div(ctx.counts["dendrite_updates"] * ctx.top, ctx.neurons * per_cycle)}

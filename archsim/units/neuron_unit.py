"""The neuron unit (soma): visits each mapped neuron every step, updates it (leak, integrate, compare)
under its neuron record's rule, and fires.

Counts per item of layer l: ``neuron_accesses`` = neurons x steps; ``neuron_updates`` under the layer's
neuron record's ``update`` rule:

- ``every_step`` (time-driven): neurons x steps;
- ``on_event``: the neurons that received an event, estimated as neurons x (1 - exp(-events / neurons))
  (targets hit at random: an assumption);
- ``while_nonzero`` (SANA-FE's default LIF, ``loihi_lif`` without ``force_update``: a neuron is updated
  in a step where an event arrives or its potential is non-zero): a neuron is counted from the step of its
  first synaptic event until the step it fires, when the hard reset zeroes its potential; the next event
  starts it again. Per neuron for the samples with per-neuron spike records of the layer and of its
  sources (archsim.units.neuron_activity); the other samples get the ``on_event`` estimate (a lower
  bound). From spikes alone it over-counts: a potential that leaks or cancels to exactly zero before the
  neuron fires stops SANA-FE's updates early (measured +0.025 % on SANA-FE's DVS-gesture network,
  +0.3 % / +0.7 % on the leak-0.5 validation networks, docs/validation.md). Exact where the workload
  also records which neurons hold a non-zero potential (``neuron_nonzero``: ``archsim validate``
  replays SANA-FE's potentials from the network's weights, archsim.validate.lif).

An input population "updates" when it fires; ``spikes_out`` = the spikes l emits; ``spikes_in`` (unpriced) = the
spikes over its in-edges from spiking layers. Which table component prices them is chosen per layer
(hwconfig ``units``). Busy: updates / updates_per_cycle on the fullest core. Barrier: each core's
accesses, updates and spikes out, neuron phase.
"""
from __future__ import annotations

import numpy as np

from archsim.units.base import ActionRow, CycleContext, LayerContext, ceil_div, round_half_up
from archsim.units.neuron_activity import NeuronActivity

NAME = "neuron_unit"
ORDER = 20
ROWS = (
    ActionRow("neuron_unit", "access", "neuron_accesses", "neuron", required=False, role="soma",
              barrier_phase="neuron", doc="a mapped neuron's state read each timestep, whatever happens to it"),
    ActionRow("neuron_unit", "update", "neuron_updates", "neuron", role="soma", barrier_phase="neuron",
              doc="one neuron state update (leak, integrate, compare)"),
    ActionRow("neuron_unit", "spike_out", "spikes_out", "neuron", required=False, role="soma",
              barrier_phase="neuron", doc="a neuron fires"),
)
UNPRICED = ("spikes_in",)
STATIC = {"neuron_unit": "core"}


def while_nonzero(activity: NeuronActivity) -> np.ndarray:
    """bool [S, T, neurons]: updated in the step under the ``while_nonzero`` rule (module docstring): an
    event arrives, or its potential is non-zero, as recorded where the potentials are known, else from
    the spikes: one arrived since the neuron last fired."""
    received, fired = activity.received, activity.fired
    if activity.nonzero is not None:
        return received | activity.nonzero
    active = np.zeros(received.shape, dtype=bool)
    held = np.zeros(received[:, 0].shape, dtype=bool)       # potential non-zero entering the step
    for t in range(received.shape[1]):
        active[:, t] = received[:, t] | held
        held = active[:, t] & ~fired[:, t]
    return active


def updates(rec: dict, neurons: int, steps: int, out: np.ndarray, events: np.ndarray,
            activity: NeuronActivity | None = None, samples=None) -> np.ndarray:
    """Neuron updates of a layer's items under its neuron record's rule (module docstring)."""
    if rec["model"] == "input":
        return out
    if rec["update"] in ("on_event", "while_nonzero"):
        est = round_half_up(neurons * (1.0 - np.exp(-np.asarray(events, dtype=np.float64) / max(neurons, 1))))
        if rec["update"] == "while_nonzero" and activity is not None:
            est[samples] = while_nonzero(activity).sum(axis=-1)
        return est
    return np.full(out.shape, neurons * steps, dtype=np.int64)


def count(ctx: LayerContext) -> dict[str, np.ndarray]:
    spikes_in = np.zeros(ctx.shape, dtype=np.int64)
    for e in ctx.in_edges:
        if not e.dense:
            spikes_in += e.spikes
    return {"neuron_accesses": np.full(ctx.shape, ctx.neurons * ctx.steps, dtype=np.int64),
            "neuron_updates": updates(ctx.record, ctx.neurons, ctx.steps, ctx.out_spikes, ctx.events,
                                      ctx.activity, ctx.samples),
            "spikes_out": ctx.out_spikes, "spikes_in": spikes_in}


def core_load(ctx: LayerContext) -> dict[str, np.ndarray]:
    """Each core's share of the accesses and updates by its neurons (the ``while_nonzero`` rule: each
    core's own updated neurons, where recorded); its own spikes (an input population updates a neuron per
    spike)."""
    zeros = np.zeros(ctx.shape + (ctx.k,))
    share = np.array(ctx.place.neurons_per_core, dtype=np.float64) / ctx.neurons
    out = ctx.emitted.per_core if ctx.emitted is not None else np.zeros(ctx.shape + (ctx.k,))
    if ctx.record["model"] == "input":
        upd = zeros + out
    else:
        upd = zeros + ctx.counts["neuron_updates"][..., None] * share[None, None, :]
        if ctx.activity is not None and ctx.record["update"] == "while_nonzero":
            onehot = np.eye(ctx.k)[ctx.place.core_of_neuron()]
            upd[ctx.samples] = while_nonzero(ctx.activity).astype(np.float64) @ onehot
    return {"neuron_accesses": zeros + ctx.neurons * ctx.steps * share[None, None, :], "neuron_updates": upd,
            "spikes_out": zeros + out}


def busy_cycles(ctx: CycleContext) -> dict[str, np.ndarray]:
    per_cycle = ctx.hw.core.neuron_unit.updates_per_cycle
    return {"update": ceil_div(ctx.counts["neuron_updates"] * ctx.top, ctx.neurons * per_cycle)}

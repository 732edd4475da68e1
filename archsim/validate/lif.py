"""SANA-FE's LIF (``loihi_lif``) replayed on a validation network's weights: which neurons hold a
non-zero potential entering each step, the one thing archsim's ``while_nonzero`` rule cannot tell from
spikes alone.

Why: SANA-FE updates a neuron in a step where a synaptic event arrives, its bias is non-zero or its
potential is non-zero (sanafe models.cpp, ``LoihiLifModel::update``). From the spike records archsim
counts a neuron from its first event until it fires (archsim.units.neuron_unit); a potential that comes
back to exactly 0 without a spike (inputs that cancel in one step, a small potential that the leak and
SANA-FE's truncation to 1/64 take to 0) stops SANA-FE's updates, not archsim's. ``archsim validate`` has
what that takes: the weights, thresholds, leak, reset and bias, and SANA-FE's spike trace of every layer.
Each layer is replayed from its source layer's *recorded* spikes (a spike sent in step t is integrated in
step t + 1), so a layer whose replayed spikes equal SANA-FE's has SANA-FE's potentials, step by step.

One step of a neuron, as SANA-FE 2.2.9 runs it: potential x leak_decay, truncated to a multiple of 1/64,
plus bias plus the step's synaptic input; fire when above threshold, then the potential becomes ``reset``
(hard reset). Potentials, weights, thresholds and biases are in SANA-FE's units (the network's weights).
"""
from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np

from archsim import graph as lg
from archsim.validate.network import LayerSpec, NetworkSpec, synapses

FRACTION = 64          # SANA-FE keeps a leaked potential to a multiple of 1/64


@dataclass(frozen=True)
class LifReplay:
    """One layer's replay, bool [S, T, neurons] each, and the steps (neuron-steps, summed) at which a
    potential came back to exactly 0 without a spike."""
    fired: np.ndarray        # the neuron fires in the step
    received: np.ndarray     # a synaptic event arrives, or the bias is non-zero: an input in the step
    nonzero: np.ndarray      # the potential is non-zero entering the step (after the previous one)
    cancelled: int           # the step's inputs left the potential at exactly 0
    leaked: int              # no input; the leak and the truncation took the potential to 0

    @property
    def updated(self) -> np.ndarray:
        """bool [S, T, neurons]: SANA-FE updates the neuron in the step (module docstring)."""
        return self.received | self.nonzero


def lif_steps(current: np.ndarray, arrived: np.ndarray, neuron: dict, bias: np.ndarray) -> LifReplay:
    """Replay one layer: ``current`` float [S, T, neurons] (synaptic input per step, network units) and
    ``arrived`` bool [S, T, neurons] (at least one event, zero weight or not), ``neuron`` the layer's LIF
    attributes (threshold; leak_decay 1 and reset 0 when absent), ``bias`` one value per neuron."""
    th, leak, reset = neuron["threshold"], neuron.get("leak_decay", 1.0), neuron.get("reset", 0.0)
    bias = np.asarray(bias, dtype=np.float64)
    v = np.zeros((current.shape[0], current.shape[2]))
    fired, nonzero = np.zeros(current.shape, dtype=bool), np.zeros(current.shape, dtype=bool)
    cancelled = leaked = 0
    for t in range(current.shape[1]):
        nonzero[:, t] = v != 0
        v = np.trunc(v * leak * FRACTION) / FRACTION + bias + current[:, t]
        fired[:, t] = v > th
        at_zero = (v == 0) & ~fired[:, t]
        cancelled += int((at_zero & arrived[:, t]).sum())
        leaked += int((at_zero & nonzero[:, t] & ~arrived[:, t]).sum())
        v[fired[:, t]] = reset
    received = arrived | (bias != 0)
    return LifReplay(fired, received, nonzero, cancelled, leaked)


def layer_inputs(spec: NetworkSpec, g: nx.DiGraph, layer: LayerSpec, src: str,
                 sent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """float [S, T, n] synaptic input and bool [S, T, n] 'an event arrived' of ``layer`` (n neurons),
    from the spikes ``sent`` (bool [S, T, neurons of src]) over its synapses: a spike sent in step t is
    integrated in step t + 1, as in SANA-FE."""
    s_idx, t_idx, w = synapses(spec, g, layer, src)
    n = lg.layer(g, layer.name).neurons
    current, arrived = np.zeros(sent.shape[:2] + (n,)), np.zeros(sent.shape[:2] + (n,), dtype=bool)
    for si in range(sent.shape[0]):
        for t in range(1, sent.shape[1]):
            on = sent[si, t - 1][s_idx]                 # the synapses whose source fired in step t - 1
            current[si, t] = np.bincount(t_idx[on], weights=w[on], minlength=n)
            arrived[si, t] = np.bincount(t_idx[on], minlength=n) > 0
    return current, arrived


def replay_network(spec: NetworkSpec, rasters: dict[str, np.ndarray]) -> dict[str, LifReplay]:
    """Every LIF layer of ``spec`` replayed from SANA-FE's spike trace ``rasters`` (layer -> bool [S, T,
    neurons]): the bias-driven input (when the network has one) and each layer, from its source's
    recorded spikes. A spike-train input has no potential and is left out."""
    g = spec.graph()
    out = {}
    if spec.input_neuron is not None:
        zero = np.zeros(rasters[lg.INPUT].shape)
        out[lg.INPUT] = lif_steps(zero, zero.astype(bool), spec.input_neuron, spec.input_neuron["bias"])
    prev = lg.INPUT
    for ly in spec.layers:
        current, arrived = layer_inputs(spec, g, ly, prev, rasters[prev])
        out[ly.name] = lif_steps(current, arrived, spec.neuron_of(ly), np.zeros(current.shape[-1]))
        prev = ly.name
    return out


def exact_layers(replays: dict[str, LifReplay], rasters: dict[str, np.ndarray]) -> dict[str, bool]:
    """layer -> whether its replayed spikes equal SANA-FE's in every step of every sample: where they do,
    the replayed potentials are SANA-FE's."""
    return {name: bool(np.array_equal(r.fired, rasters[name])) for name, r in replays.items()}

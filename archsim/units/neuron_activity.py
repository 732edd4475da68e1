"""Which neurons of a layer receive a synaptic event at each step, and which fire: per neuron, for the
samples whose spikes the workload records. (A helper of the neuron unit, not a unit itself.)

Why: SANA-FE's default LIF (``loihi_lif`` without ``force_update``) updates a neuron only in a step in
which an event arrives or its potential is non-zero, so its update count depends on *which* neurons are
reached, not on how many events arrive (archsim.units.neuron_unit's ``while_nonzero`` rule). The per-core
synapse counts of archsim.connectivity do not say which neurons are reached; this does, from the
projection's geometry alone (weights are not known to archsim; every stored synapse delivers an event,
zero weight or not, as in SANA-FE).

Steps: in a workload whose spikes are in hardware steps (``meta.spike_timing: hardware``, a SANA-FE trace)
a spike sent in step t arrives in step t + 1; otherwise (algorithmic timesteps) in the same timestep.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import networkx as nx
import numpy as np

from archsim import graph as lg

if TYPE_CHECKING:   # types only: archsim.workload imports the registry
    from archsim.workload import Workload

RULES_NEEDING_ACTIVITY = ("while_nonzero",)


@dataclass(frozen=True)
class NeuronActivity:
    """One layer's recorded samples, per neuron: bool [S, T, neurons] each."""
    received: np.ndarray      # at least one synaptic event arrives in this step
    fired: np.ndarray         # the neuron fires in this step
    nonzero: np.ndarray | None = None   # its potential is non-zero entering the step, where the workload
    #                                     knows the potentials (Workload.neuron_nonzero); else None


def reached(edge: dict, src_shape: list[int], dst_shape: list[int], raster: np.ndarray) -> np.ndarray:
    """bool [S, T, neurons(dst)]: the targets of projection ``edge`` (a graph edge record: op, kernel,
    stride, padding, pool, groups) that at least one spike of ``raster`` (bool [S, T, neurons(src)],
    [C, H, W] order) reaches. A source neuron feeds its pooled cell, which reaches the cell's targets."""
    raster = np.asarray(raster, dtype=bool)
    s, t = raster.shape[:2]
    n_dst = int(np.prod(dst_shape))
    op = edge["op"]
    if op == "identity":
        return raster.copy()
    if op == "linear":
        return np.broadcast_to(raster.any(axis=-1)[..., None], (s, t, n_dst)).copy()
    if op != "conv":
        raise ValueError(f"cannot tell the targets of op {op!r}")
    c_in, h_in, w_in = (int(x) for x in src_shape)
    c_out, h_out, w_out = (int(x) for x in dst_shape)
    groups, pool = int(edge.get("groups", 1)), int(edge.get("pool", 1))
    k, stride, pad = int(edge["kernel"]), int(edge["stride"]), int(edge["padding"])
    hp, wp = h_in // pool, w_in // pool
    grid = raster.reshape(s, t, groups, c_in // groups, h_in, w_in)[..., :hp * pool, :wp * pool]
    cell = grid.reshape(s, t, groups, c_in // groups, hp, pool, wp, pool).any(axis=(3, 5, 7))  # [S,T,G,hp,wp]
    padded = np.zeros((s, t, groups, hp + 2 * pad + stride * h_out, wp + 2 * pad + stride * w_out), dtype=bool)
    padded[..., pad:pad + hp, pad:pad + wp] = cell
    hit = np.zeros((s, t, groups, h_out, w_out), dtype=bool)
    for ky in range(k):
        for kx in range(k):
            hit |= padded[..., ky:ky + stride * h_out:stride, kx:kx + stride * w_out:stride]
    per_group = np.broadcast_to(hit[:, :, :, None], (s, t, groups, c_out // groups, h_out, w_out))
    return per_group.reshape(s, t, n_dst).copy()


def layer_activity(g: nx.DiGraph, wl: "Workload", name: str) -> NeuronActivity | None:
    """Layer ``name``'s :class:`NeuronActivity`, when its neuron record's rule needs it and the workload
    records per-neuron spikes of the layer and of every layer that projects into it (else None: the
    neuron unit then estimates). Two of the record's ``params`` count here, as SANA-FE's LIF has them: a
    non-zero ``bias`` (a number, or one per neuron) is an input in every step; a non-zero ``reset`` value
    leaves the potential non-zero after the neuron fires. Where the workload records the layer's
    potentials (``neuron_nonzero``), they come along."""
    rec = lg.neuron_of(g, name)
    if rec.get("update") not in RULES_NEEDING_ACTIVITY or wl.neuron_samples is None:
        return None
    sources = list(g.predecessors(name))
    if any(x not in wl.neuron_spikes for x in sources + [name]):
        return None
    delay = 1 if wl.meta.get("spike_timing") == "hardware" else 0
    fired = wl.neuron_raster(name)
    params = rec.get("params") or {}
    got = np.zeros(fired.shape, dtype=bool)
    got |= np.broadcast_to(np.asarray(params.get("bias", 0.0), dtype=np.float64) != 0, fired.shape[-1:])
    if params.get("reset", 0.0) != 0:
        fired = np.zeros_like(fired)          # the reset leaves a non-zero potential: firing does not stop it
    for u in sources:
        sent = wl.neuron_raster(u)
        if delay:
            sent = np.concatenate([np.zeros_like(sent[:, :delay]), sent[:, :-delay]], axis=1)
        got |= reached(g.edges[u, name], list(lg.layer(g, u).shape), list(lg.layer(g, name).shape), sent)
    nonzero = wl.neuron_raster(name, "nonzero") if name in wl.neuron_nonzero else None
    return NeuronActivity(got, fired, nonzero)

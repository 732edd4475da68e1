"""Run a trained network over a data split and collect what evaluate / export / training logs need.

``collect(model, data, batch_size)`` -> ``Collected``: per-timestep outputs ``out [T, N, K]`` (float32, CPU),
labels, and -- with ``record=True`` -- the spikes each layer node of ``model.describe`` emitted per sample
and timestep ``spikes [N, L, T]`` (int32; 0 for a dense input and for the non-spiking output node) and the
mean spike count per channel per layer and timestep, and for a layer whose pooled out-edges share one factor
p, how many of its p x p cells held a spike ``pooled_cells [N, T]`` (archsim's ``per_cell`` pooling).

``synaptic_ops(graph, spikes)`` -> ``[N, T]`` accumulates per sample and timestep: every spike of a source
node reaches ``fan_out`` synapses of each outgoing projection; a dense (real-valued) input is counted as
one multiply-accumulate per synapse of its projection at every timestep (what hardware without the
compute-once trick does; it makes relative complexity conservative).
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

import networkx as nx
import numpy as np
import torch

from archsim import graph as ag
from archsim.pooling import pool_factor
from snn.data import DeviceData
from snn.models.base import record_spikes


@dataclass
class Collected:
    out: torch.Tensor                 # [T, N, K]
    labels: np.ndarray                # [N]
    spikes: np.ndarray | None = None  # [N, L, T] int32
    channel_spikes_mean: dict | None = None  # layer name -> [T, C] mean over samples
    neuron_spikes: dict | None = None   # layer name -> bool [S, T, neurons] for the first S samples
    pooled_cells: dict | None = None    # layer name -> int32 [N, T] pooled cells that fired (archsim.pooling)


def spiking_node_names(g: nx.DiGraph) -> list[str]:
    return [n for n in ag.layer_names(g) if n != ag.INPUT and ag.layer(g, n).spiking]


@torch.no_grad()
def collect(model, data: DeviceData, batch_size: int = 256, record: bool = False,
            max_samples: int | None = None, graph: nx.DiGraph | None = None, progress: bool = False,
            autocast_dtype: torch.dtype | None = None, neuron_samples: int = 0) -> Collected:
    """``neuron_samples``: with ``record``, also keep which neurons of each spiking node fired, per
    timestep, for the first that many samples (archsim's optional per-neuron records)."""
    model.eval()
    n = len(data) if max_samples is None else min(int(max_samples), len(data))
    outs, labels = [], []
    names = ag.layer_names(graph) if graph is not None else []
    spk_nodes = spiking_node_names(graph) if graph is not None else []
    spikes = np.zeros((n, len(names), model.timesteps), dtype=np.int32) if record else None
    pools = {k: (pool_factor(graph, k), ag.layer(graph, k).shape) for k in spk_nodes} if record else {}
    pools = {k: v for k, v in pools.items() if v[0] > 1 and len(v[1]) == 3}
    cells = {k: np.zeros((n, model.timesteps), dtype=np.int32) for k in pools}
    ch_sums: dict[str, torch.Tensor] = {}
    raw: dict[str, list] = {}
    done = 0
    it = data.batches(batch_size)
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=n, unit="img", desc="inference", leave=False)
    for xb, yb in it:
        if done >= n:
            break
        xb, yb = xb[: n - done], yb[: n - done]
        ctx = record_spikes(model) if record else contextlib.nullcontext()
        ac = torch.autocast(xb.device.type, dtype=autocast_dtype) if autocast_dtype else contextlib.nullcontext()
        with ctx as rec, ac:
            if record:
                for name, lif in zip(spk_nodes, rec.layers):
                    lif.record_raw = max(0, int(neuron_samples) - done)
                    lif.record_pool = pools.get(name)
            o = model(xb)
        outs.append(o.float().cpu())
        labels.append(yb.cpu().numpy())
        if record:
            if ag.layer(graph, ag.INPUT).spiking and xb.dim() == 5:  # event frames: every event is an input spike
                spikes[done:done + len(yb), 0, :] = xb.float().flatten(2).sum(2).round().cpu().numpy()
            totals, chans = rec.totals(), rec.channels()
            if len(totals) != len(spk_nodes):
                raise RuntimeError(f"{len(totals)} spiking layers recorded, graph has {len(spk_nodes)}")
            for name, r in zip(spk_nodes, rec.raws()):
                if r.numel():
                    raw.setdefault(name, []).append(r.numpy())
            if ag.layer(graph, ag.INPUT).spiking and xb.dim() == 5 and done < neuron_samples:
                raw.setdefault(ag.INPUT, []).append(
                    (xb[: neuron_samples - done].flatten(2) > 0).cpu().numpy())
            for name, c in zip(spk_nodes, rec.cells()):
                if name in cells:
                    cells[name][done:done + len(yb)] = c.transpose(0, 1).round().numpy().astype(np.int32)
            for name, tot, ch in zip(spk_nodes, totals, chans):
                spikes[done:done + len(yb), names.index(name), :] = tot.transpose(0, 1).round().numpy().astype(np.int32)
                s = ch.sum(1)  # [T, C]
                ch_sums[name] = ch_sums.get(name, 0) + s
        done += len(yb)
        if bar is not None:
            bar.update(len(yb))
    if bar is not None:
        bar.close()
    ch_mean = {k: (v / max(done, 1)).numpy().astype(np.float32) for k, v in ch_sums.items()} if record else None
    neurons = {k: np.concatenate(v, 0) for k, v in raw.items()} if raw else None
    return Collected(torch.cat(outs, 1), np.concatenate(labels), spikes, ch_mean, neurons, cells if record else None)


def synaptic_ops(g: nx.DiGraph, spikes: np.ndarray) -> np.ndarray:
    """Accumulates per sample and timestep ``[N, T]`` (see the module docstring)."""
    names = ag.layer_names(g)
    N, _, T = spikes.shape
    ops = np.zeros((N, T), dtype=np.float64)
    for u, v, e in g.edges(data=True):
        if u == ag.INPUT and not ag.layer(g, u).spiking:
            ops += float(e["synapses"])
        else:
            ops += spikes[:, names.index(u), :].astype(np.float64) * float(e["fan_out"])
    return ops


def relative_complexity(ops: np.ndarray, exits: np.ndarray) -> float:
    """Synaptic operations up to each sample's exit, relative to running all T timesteps."""
    cum = ops.cumsum(1)
    used = cum[np.arange(len(exits)), np.asarray(exits) - 1]
    return float(used.sum() / max(cum[:, -1].sum(), 1e-12))

"""Exact synapses of one projection, per source neuron and per destination core.

Why: a layer's *mean* fan-out is exact for its total only when spikes spread evenly; a spike at a border
reaches fewer targets, and when a layer is cut into neuron chunks (mapping ``split: neurons``) a spike
reaches only the cores that hold its targets. Given where the target layer's neurons live
(``core_of_target``), :func:`synapses_per_core` returns ``M [n_src, K]``: the synapses from each source
neuron (flattened [C, H, W] order) to the targets on each of the K cores. Its row sums are the exact
per-neuron fan-outs, ``M > 0`` the cores a spike must reach.

Pure numpy, no synapse list: a conv is counted tap by tap over the (pooled) input grid, through a
histogram of each output position's channels over the cores, so VGG16-sized layers take milliseconds.
Pooling (``pool``): a source neuron feeds its pooled cell, and every spike of a cell is processed on its
own (archsim.graph's convention), so it reaches the cell's targets.
"""
from __future__ import annotations

import networkx as nx
import numpy as np

from archsim import graph as lg
from archsim.errors import UserError


def synapses_per_core(g: nx.DiGraph, u: str, v: str, core_of_target: np.ndarray, n_cores: int) -> np.ndarray:
    """``M [neurons(u), n_cores]`` int64: synapses from each neuron of ``u`` to the neurons of ``v`` on
    each core (``core_of_target [neurons(v)]`` gives the core, 0..n_cores-1, of every target)."""
    e = g.edges[u, v]
    src_shape = [int(s) for s in lg.layer(g, u).shape]
    dst_shape = [int(s) for s in lg.layer(g, v).shape]
    core_of_target = np.asarray(core_of_target, dtype=np.int64)
    if core_of_target.shape != (int(np.prod(dst_shape)),):
        raise ValueError(f"core_of_target has {core_of_target.shape}, layer {v} has {int(np.prod(dst_shape))} neurons")
    op, pool = e["op"], int(e.get("pool", 1))
    if op == "identity":
        m = np.zeros((int(np.prod(src_shape)), n_cores), dtype=np.int64)
        m[np.arange(m.shape[0]), core_of_target] = 1
        return m
    if op == "linear":
        per_core = np.bincount(core_of_target, minlength=n_cores).astype(np.int64)
        return np.broadcast_to(per_core, (int(np.prod(src_shape)), n_cores)).copy()
    if op != "conv":
        raise UserError("graph", f"edges[{u}->{v}].op", f"cannot count synapses of op {op!r}")
    return _conv(src_shape, dst_shape, core_of_target, n_cores, int(e["kernel"]), int(e["stride"]),
                 int(e["padding"]), pool, int(e.get("groups", 1)))


def _conv(src_shape, dst_shape, core_of_target, n_cores, kernel, stride, padding, pool, groups) -> np.ndarray:
    c_in, h_in, w_in = src_shape
    hp, wp = h_in // pool, w_in // pool                       # the pooled grid the kernel reads
    c_out, h_out, w_out = dst_shape
    per_group = c_out // groups
    # hist[gi, yo, xo, k]: output channels of group gi at (yo, xo) held by core k
    cores = core_of_target.reshape(groups, per_group, h_out, w_out)
    hist = np.zeros((groups, h_out, w_out, n_cores), dtype=np.int64)
    gi, _, yo, xo = np.indices(cores.shape).reshape(4, -1)
    np.add.at(hist, (gi, yo, xo, cores.reshape(-1)), 1)
    # pooled[gi, yp, xp, k]: synapses from one input of group gi at pooled cell (yp, xp) to core k
    pooled = np.zeros((groups, hp, wp, n_cores), dtype=np.int64)
    yp, xp = np.arange(hp), np.arange(wp)
    for ky in range(kernel):
        ny = yp + padding - ky
        oky = (ny % stride == 0) & (ny >= 0) & (ny // stride < h_out)
        for kx in range(kernel):
            nx_ = xp + padding - kx
            okx = (nx_ % stride == 0) & (nx_ >= 0) & (nx_ // stride < w_out)
            if not oky.any() or not okx.any():
                continue
            ys, xs = yp[oky], xp[okx]
            pooled[:, ys[:, None], xs[None, :], :] += hist[:, (ny[oky] // stride)[:, None], (nx_[okx] // stride)[None, :], :]
    group_of_channel = np.arange(c_in) // (c_in // groups)
    # every source neuron (c, y, x) takes its pooled cell's row
    rows = pooled[group_of_channel][:, np.arange(h_in) // pool][:, :, np.arange(w_in) // pool]   # [C, H, W, K]
    return rows.reshape(c_in * h_in * w_in, n_cores)

"""Exact synapses of one projection, per source neuron and per destination core.

Why: a layer's *mean* fan-out is exact for its total only when spikes spread evenly; a spike at a border
reaches fewer targets, and when a layer is cut into neuron chunks (mapping ``split: neurons``) a spike
reaches only the cores that hold its targets. Given where the target layer's neurons live
(``core_of_target``), :func:`synapses_per_core` returns ``M [n_src, K]``: the synapses from each source
neuron (flattened [C, H, W] order) to the targets on each of the K cores. Its row sums are the exact
per-neuron fan-outs, ``M > 0`` the cores a spike must reach.

Pure numpy, no synapse list: a conv is counted tap by tap over the (pooled) input grid, through a
histogram of each output position's channels over the cores, so VGG16-sized layers take milliseconds.

Stored once per distinct row (:class:`SynapseRows`): source neurons of one group at one pooled cell share
their row, and on a big layer most cells share one with their neighbours, so a 224x224 VGG16 layer on
784 cores keeps a few thousand rows instead of 3.2 M x 784 numbers (18.8 GiB, issue 31). The conv is
swept in blocks of pooled rows (at most ``_BLOCK`` numbers at a time), so memory grows with the source
neurons (one row index each) and the distinct rows, not with neurons x cores.
Pooling (``pool``): a source neuron feeds its pooled cell, and every spike of a cell is processed on its
own (archsim.graph's convention), so it reaches the cell's targets.
"""
from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np

from archsim import graph as lg
from archsim.errors import UserError

_BLOCK = 1 << 22          # numbers of a [rows, cores] histogram block held at once (32 MiB of int64)


@dataclass(frozen=True)
class SynapseRows:
    """``M`` of one projection, compressed: ``M[i] = table[row_of_neuron[i]]``."""
    table: np.ndarray            # [D, n_cores] int64: the distinct rows (synapses to each destination core)
    row_of_neuron: np.ndarray    # [n_src] int64: each source neuron's row

    def dense(self) -> np.ndarray:
        """``M [n_src, n_cores]`` itself (small layers, tests)."""
        return self.table[self.row_of_neuron]


def synapses_per_core(g: nx.DiGraph, u: str, v: str, core_of_target: np.ndarray, n_cores: int) -> np.ndarray:
    """``M [neurons(u), n_cores]`` int64: synapses from each neuron of ``u`` to the neurons of ``v`` on
    each core (``core_of_target [neurons(v)]`` gives the core, 0..n_cores-1, of every target)."""
    return synapse_rows(g, u, v, core_of_target, n_cores).dense()


def synapse_rows(g: nx.DiGraph, u: str, v: str, core_of_target: np.ndarray, n_cores: int) -> SynapseRows:
    """The same as :func:`synapses_per_core`, one row per distinct kind of source neuron."""
    e = g.edges[u, v]
    src_shape = [int(s) for s in lg.layer(g, u).shape]
    dst_shape = [int(s) for s in lg.layer(g, v).shape]
    core_of_target = np.asarray(core_of_target, dtype=np.int64)
    if core_of_target.shape != (int(np.prod(dst_shape)),):
        raise ValueError(f"core_of_target has {core_of_target.shape}, layer {v} has {int(np.prod(dst_shape))} neurons")
    op, pool = e["op"], int(e.get("pool", 1))
    n_src = int(np.prod(src_shape))
    if op == "identity":
        return SynapseRows(np.eye(n_cores, dtype=np.int64), core_of_target.copy())
    if op == "linear":
        per_core = np.bincount(core_of_target, minlength=n_cores).astype(np.int64)
        return SynapseRows(per_core[None, :], np.zeros(n_src, dtype=np.int64))
    if op != "conv":
        raise UserError("graph", f"edges[{u}->{v}].op", f"cannot count synapses of op {op!r}")
    return _conv(src_shape, dst_shape, core_of_target, n_cores, int(e["kernel"]), int(e["stride"]),
                 int(e["padding"]), pool, int(e.get("groups", 1)))


def unique_rows(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of ``a [n, K]`` and each row's index among them (``np.unique(axis=0)``'s result up
    to the order of the rows), found through a random 64-bit hash of every row, checked exactly (the
    sort is the fallback on a collision): sorting rows of hundreds of cores byte by byte is slow."""
    if a.ndim != 2 or not len(a):
        uniq, inverse = np.unique(a, axis=0, return_inverse=True)
        return uniq, inverse.reshape(-1)
    weights = np.random.default_rng(31).integers(1, 1 << 62, a.shape[1], dtype=np.int64)
    with np.errstate(over="ignore"):
        h = a.astype(np.int64) @ weights                       # wraps around mod 2^64: still a hash
    _, first, inverse = np.unique(h, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    uniq = a[first]
    if not np.array_equal(uniq[inverse], a):
        uniq, inverse = np.unique(a, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
    return uniq, inverse


class _Distinct:
    """Distinct rows seen so far, in order of first sight."""

    def __init__(self) -> None:
        self.ids: dict[bytes, int] = {}
        self.rows: list[np.ndarray] = []

    def add(self, block: np.ndarray) -> np.ndarray:
        """Ids of the rows of ``block [n, K]`` (new rows get new ids)."""
        uniq, inverse = unique_rows(block)
        ids = np.empty(len(uniq), dtype=np.int64)
        for i, row in enumerate(uniq):
            key = row.tobytes()
            if key not in self.ids:
                self.ids[key] = len(self.rows)
                self.rows.append(row)
            ids[i] = self.ids[key]
        return ids[inverse]


def _taps(lo: int, hi: int, shift: int, stride: int, n_out: int) -> tuple[slice, slice] | None:
    """For pooled positions p in [lo, hi) read by one kernel tap (output o = (p + shift) / stride when
    that divides and 0 <= o < n_out): the slice of those p (relative to lo) and of their o, or None."""
    p = np.arange(lo, hi)
    n = p + shift
    ok = np.flatnonzero((n % stride == 0) & (n >= 0) & (n // stride < n_out))
    if not len(ok):
        return None
    first, count = int(ok[0]), len(ok)
    o_first = (lo + first + shift) // stride
    return slice(first, first + stride * (count - 1) + 1, stride), slice(o_first, o_first + count)


def _conv(src_shape, dst_shape, core_of_target, n_cores, kernel, stride, padding, pool, groups) -> SynapseRows:
    c_in, h_in, w_in = src_shape
    hp, wp = h_in // pool, w_in // pool                       # the pooled grid the kernel reads
    c_out, h_out, w_out = dst_shape
    per_group = c_out // groups
    cores = core_of_target.reshape(groups, per_group, h_out, w_out)
    cell_row = np.empty((groups, hp, wp), dtype=np.int64)     # each pooled cell's distinct row
    distinct = _Distinct()
    step = max(1, _BLOCK // max(1, groups * max(wp, w_out) * n_cores * max(1, kernel // stride)))
    for y0 in range(0, hp, step):
        y1 = min(hp, y0 + step)
        # the output rows these pooled rows reach, and hist[gi, yo - o0, xo, k]: output channels of group gi
        # at (yo, xo) held by core k
        o0 = max(0, -(-(y0 + padding - (kernel - 1)) // stride))
        o1 = max(o0, min(h_out, (y1 - 1 + padding) // stride + 1))
        block = cores[:, :, o0:o1, :]
        gi, _, yo, xo = np.indices(block.shape).reshape(4, -1)
        flat = ((gi * (o1 - o0) + yo) * w_out + xo) * n_cores + block.reshape(-1)
        hist = np.bincount(flat, minlength=groups * (o1 - o0) * w_out * n_cores).reshape(
            groups, o1 - o0, w_out, n_cores)
        # pooled[gi, yp - y0, xp, k]: synapses from one input of group gi at pooled cell (yp, xp) to core k
        pooled = np.zeros((groups, y1 - y0, wp, n_cores), dtype=np.int64)
        for ky in range(kernel):
            ys = _taps(y0, y1, padding - ky, stride, h_out)       # pooled rows this tap row reaches, strided
            for kx in range(kernel):
                xs = _taps(0, wp, padding - kx, stride, w_out)
                if ys is None or xs is None:
                    continue
                (yi, yo_), (xi, xo_) = ys, xs
                pooled[:, yi, xi, :] += hist[:, slice(yo_.start - o0, yo_.stop - o0), xo_, :]
        cell_row[:, y0:y1, :] = distinct.add(pooled.reshape(-1, n_cores)).reshape(groups, y1 - y0, wp)
    table = np.array(distinct.rows, dtype=np.int64).reshape(-1, n_cores)
    group_of_channel = np.arange(c_in) // (c_in // groups)
    # every source neuron (c, y, x) takes its pooled cell's row
    rows = cell_row[group_of_channel][:, np.arange(h_in) // pool][:, :, np.arange(w_in) // pool]   # [C, H, W]
    return SynapseRows(table, rows.reshape(-1))

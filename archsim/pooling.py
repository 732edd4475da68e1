"""Pooled cells: how many events an average-pooled edge carries under ``dataflow.pooling: per_cell``.

With ``per_cell`` a pooled cell (p x p neurons of one channel) sums its spikes first and sends one
multi-bit event if any of them fired: NeuroBench's effective-operations convention (pooling counts
nothing; the next layer sees a non-zero pooled input once). How many cells fired is:

- exact, where the workload records it (``pooled_cells_<layer>``, format 2.1, written by snn.export
  and the NIR importer) or where it records per-neuron spikes (archsim.counts reads those itself);
- else estimated as if the layer's S spikes fell independently on its n neurons: each of n / p^2 cells
  is empty with probability (1 - S / n)^(p^2). Spikes cluster (on small_c10, 2.35 spikes per non-empty
  cell into conv2), so the estimate counts too many cells (+60.3 % effective operations on 100 images);
  the report says where it was used.

Only numpy here: the workload loader (validation) and the counts both use these functions.
"""
from __future__ import annotations

from collections.abc import Collection

import networkx as nx
import numpy as np


def pool_factor(g: nx.DiGraph, layer: str) -> int:
    """The pooling factor of ``layer``'s pooled out-edges (1 when none is pooled, 0 when they differ:
    then one count per timestep cannot describe them)."""
    pools = {int(a.get("pool", 1)) for _, _, a in g.out_edges(layer, data=True)} - {1}
    return pools.pop() if len(pools) == 1 else (1 if not pools else 0)


def cell_raster(raster: np.ndarray, shape, pool: int) -> np.ndarray:
    """bool [S, T, C, H/p, W/p]: which pooled cells hold a spike, from a per-neuron raster [S, T, C*H*W]
    ([C, H, W] neuron order)."""
    c, h, w = (int(x) for x in shape)
    r = np.asarray(raster).reshape(raster.shape[:2] + (c, h // pool, pool, w // pool, pool))
    return r.any(axis=(4, 6))


def cell_events(spikes: np.ndarray, shape, pool: int, recorded: np.ndarray | None) -> np.ndarray:
    """int64 [N, T]: the pooled cells of a [C, H, W] layer that fired, per sample and timestep, from its
    spikes [N, T]: ``recorded`` (the workload's exported count) where present, else the estimate for
    independent spikes, n_cells (1 - (1 - S / n)^(p^2)) rounded half up."""
    if recorded is not None:
        return np.asarray(recorded, dtype=np.int64)
    c, h, w = (int(x) for x in shape)
    n, cells = c * h * w, c * (h // pool) * (w // pool)
    frac = np.clip(np.asarray(spikes, dtype=np.float64) / n, 0.0, 1.0)
    return np.floor(cells * (1.0 - (1.0 - frac) ** (pool * pool)) + 0.5).astype(np.int64)


def estimated_edges(g: nx.DiGraph, edges, recorded: Collection[str], neuron_samples, n_samples: int) -> list[str]:
    """The pooled edges ``u->v`` among ``edges`` whose cell events are estimated for some sample: the
    workload records neither u's pooled cells nor, for every sample, its per-neuron spikes."""
    all_neurons = neuron_samples is not None and len(neuron_samples) == n_samples
    return [f"{u}->{v}" for u, v in edges
            if int(g.edges[u, v].get("pool", 1)) > 1 and u not in recorded and not all_neurons]

"""The exporter's pooled-cell counts (workload format 2.1): what snn.inference.collect counts while the
network runs equals the cells that the per-neuron records of the same run fill, batch by batch."""
from __future__ import annotations

import numpy as np
import torch

from archsim import graph as ag
from archsim.workload import Workload
from snn.data import DeviceData
from snn.export import build_workload
from snn.inference import collect
from snn.models import build


def _run(arch: str, shape: tuple, n: int = 5, batch: int = 2):
    torch.manual_seed(0)
    m = build(arch, 3, 3, input_shape=shape).eval()
    for p in m.parameters():        # larger weights than the default init: every layer fires
        p.data.mul_(3)
    rng = np.random.default_rng(0)
    data = DeviceData(rng.integers(0, 256, (n, *shape), dtype=np.uint8), np.arange(n) % 3, (0.5,) * 3, (0.25,) * 3, "cpu")
    g = m.describe(shape)
    col = collect(m, data, batch, record=True, graph=g, neuron_samples=n)
    return g, col


def _cells(raster: np.ndarray, shape, p: int) -> np.ndarray:
    c, h, w = shape
    s, t = raster.shape[:2]
    return raster.reshape(s, t, c, h // p, p, w // p, p).any(axis=(4, 6)).sum(axis=(2, 3, 4))


def test_collect_counts_the_cells_the_records_fill():
    g, col = _run("small", (3, 16, 16))
    pooled = {u: int(a["pool"]) for u, _, a in g.edges(data=True) if a.get("pool", 1) > 1}
    assert set(col.pooled_cells) == set(pooled) == {"conv1", "conv2", "conv3"}
    names = ag.layer_names(g)
    for layer, p in pooled.items():
        cells = col.pooled_cells[layer]
        spikes = col.spikes[:, names.index(layer), :]
        assert cells.shape == spikes.shape and cells.sum() > 0
        assert np.array_equal(cells, _cells(col.neuron_spikes[layer], g.nodes[layer]["shape"], p))
        assert (cells < spikes).any()          # some cells hold several spikes: the count is not the spikes


def test_the_workload_carries_them():
    g, col = _run("tiny", (3, 16, 16))
    wl = build_workload(g, col, exit_policy="fixed", threshold=1.0, timesteps=3, meta={"kind": "direct"})
    assert isinstance(wl, Workload) and set(wl.pooled_cells) == {"conv1", "conv2"}
    assert np.array_equal(wl.pooled_cells["conv2"], col.pooled_cells["conv2"])

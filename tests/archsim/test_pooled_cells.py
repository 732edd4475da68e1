"""``dataflow.pooling: per_cell`` against a NeuroBench-style effective-operations count, by numpy.

NeuroBench 2.3.0 (SynapticOperations) counts, for every Conv2d/Linear call, the (non-zero input,
non-zero weight) pairs that feed each output; average pooling counts nothing, so the layer after it sees
a pooled cell once if any of its spikes fired. Here all weights are non-zero and the count is done on
the tiny graph of conftest.py (input [3, 8, 8] -> conv1 [4, 8, 8] -(pool 2)-> conv2 [8, 4, 4] -(pool 4)->
fc [4]) by sliding 3x3 windows over the padded, pooled spike rasters: no archsim code involved.

Spikes are clustered on purpose (whole channels fire, 1-4 neurons per 2x2 cell): the estimate for
independent spikes then counts too many cells; the exported pooled-cell counts give NeuroBench's figure.
Whole channels keep the fired cells' mean fan-out equal to the layer's, which is all a count without
per-neuron positions can know (border cells reach fewer targets).
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archsim.errors import UserError
from archsim.report import format_summary
from archsim.simulate import run_simulation
from archsim.workload import FORMAT_MINOR, Workload, load_workload, pack_neuron_spikes, save_workload

from .conftest import make_hw, make_workload

PER_CELL = {"dataflow": {"pooling": "per_cell"}}


def conv_pairs(x: np.ndarray, out_channels: int, k: int = 3, pad: int = 1) -> int:
    """(non-zero input, weight) pairs over all outputs of a k x k, stride-1 conv with all weights non-zero."""
    win = np.lib.stride_tricks.sliding_window_view(np.pad(x != 0, ((0, 0), (pad, pad), (pad, pad))), (k, k), axis=(1, 2))
    return int(win.sum()) * out_channels


def avg_pool(x: np.ndarray, p: int) -> np.ndarray:
    c, h, w = x.shape
    return x.reshape(c, h // p, p, w // p, p).mean(axis=(2, 4))


def neurobench_ops(conv1: np.ndarray, conv2: np.ndarray) -> int:
    """Effective ops of the tiny net for rasters conv1 [N, T, 4, 8, 8], conv2 [N, T, 8, 4, 4]: conv1 on the
    (non-zero) pixels once per image, conv2 on pooled conv1 and fc on pooled conv2 at every timestep."""
    n, t = conv1.shape[:2]
    total = n * conv_pairs(np.ones((3, 8, 8)), 4)
    for i in range(n):
        for s in range(t):
            total += conv_pairs(avg_pool(conv1[i, s], 2), 8)
            total += int((avg_pool(conv2[i, s], 4) != 0).sum()) * 4
    return total


def clustered(rng, n: int, t: int, shape: tuple, p: int) -> np.ndarray:
    """bool [N, T, C, H, W]: at each step some whole channels fire, 1 to p^2 neurons in each p x p cell."""
    c, h, w = shape
    out = np.zeros((n, t, c, h, w), dtype=bool)
    for i in range(n):
        for s in range(t):
            for ch in np.flatnonzero(rng.random(c) < 0.5):
                for y in range(0, h, p):
                    for x in range(0, w, p):
                        cell = np.zeros(p * p, dtype=bool)
                        cell[rng.choice(p * p, rng.integers(1, p * p + 1), replace=False)] = True
                        out[i, s, ch, y:y + p, x:x + p] = cell.reshape(p, p)
    return out


def filled_cells(raster: np.ndarray, p: int) -> np.ndarray:
    n, t, c, h, w = raster.shape
    return raster.reshape(n, t, c, h // p, p, w // p, p).any(axis=(4, 6)).sum(axis=(2, 3, 4)).astype(np.int32)


def workload(r1: np.ndarray, r2: np.ndarray, cells: bool = False, neurons: bool = False) -> Workload:
    """The tiny-graph workload of rasters r1 (conv1) and r2 (conv2); with their pooled-cell counts and/or
    per-neuron records."""
    n, t = r1.shape[:2]
    wl = make_workload(r1.sum(axis=(2, 3, 4)).tolist(), r2.sum(axis=(2, 3, 4)).tolist())
    if cells:
        wl.pooled_cells = {"conv1": filled_cells(r1, 2), "conv2": filled_cells(r2, 4)}
    if neurons:
        wl.neuron_samples = np.arange(n, dtype=np.int32)
        wl.neuron_spikes = {k: pack_neuron_spikes(r.reshape(n, t, -1)) for k, r in (("conv1", r1), ("conv2", r2))}
    return wl


def effective_ops(wl: Workload) -> tuple[int, dict]:
    s = run_simulation(make_hw(**PER_CELL), wl, exit_policy="fixed", mode="analytic", baseline=False).summary
    return int(s.counts["accumulates"] + s.counts["macs"]), s


@pytest.fixture(scope="module")
def rasters():
    rng = np.random.default_rng(7)
    return clustered(rng, 4, 3, (4, 8, 8), 2), clustered(rng, 4, 3, (8, 4, 4), 4)


def test_exported_cells_give_neurobench_count_and_the_estimate_overcounts(rasters):
    r1, r2 = rasters
    want = neurobench_ops(r1, r2)
    got, s = effective_ops(workload(r1, r2, cells=True))
    assert got == want and s.pooled_cells_estimated == []
    est, s_est = effective_ops(workload(r1, r2))
    assert est > want                                      # clustered spikes: fewer cells than independent ones
    assert s_est["pooled_cells_estimated"] == ["conv1->conv2", "conv2->fc"]
    assert effective_ops(workload(r1, r2, neurons=True))[0] == want   # per-neuron records: the same, exactly


def test_report_says_where_the_estimate_is_used(rasters):
    r1, r2 = rasters
    res = run_simulation(make_hw(**PER_CELL), workload(r1, r2), exit_policy="fixed", baseline=False)
    text = format_summary(res.summary, res.per_layer)
    assert "ESTIMATED" in text and "conv1->conv2, conv2->fc" in text
    exact = run_simulation(make_hw(**PER_CELL), workload(r1, r2, cells=True), exit_policy="fixed", baseline=False)
    assert "ESTIMATED" not in format_summary(exact.summary, exact.per_layer)
    spike = run_simulation(make_hw(), workload(r1, r2), exit_policy="fixed", baseline=False)   # per_spike
    assert spike.summary.pooled_cells_estimated is None and "pooled_cells_estimated" not in spike.summary.to_dict() and "ESTIMATED" not in format_summary(spike.summary)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(0.02, 0.6))
def test_counts_follow_the_recorded_cells_wherever_spikes_fall(seed, rate):
    """Any raster (not only whole channels): fc (a linear layer, every cell reaches all 4 outputs) counts 4
    per non-empty conv2 cell, conv2 50 (the mean fan-out) per non-empty conv1 cell, exactly."""
    rng = np.random.default_rng(seed)
    r1, r2 = rng.random((2, 2, 4, 8, 8)) < rate, rng.random((2, 2, 8, 4, 4)) < rate
    res = run_simulation(make_hw(**PER_CELL), workload(r1, r2, cells=True), exit_policy="fixed", mode="analytic",
                         baseline=False)
    layer = res.per_layer.set_index("layer")
    assert layer.loc["fc", "accumulates"] == 4 * filled_cells(r2, 4).sum()
    assert layer.loc["conv2", "accumulates"] == 50 * filled_cells(r1, 2).sum()


def test_pooled_cells_round_trip_and_old_files_still_load(rasters, tmp_path):
    r1, r2 = rasters
    wl = workload(r1, r2, cells=True)
    back = load_workload(save_workload(tmp_path / "w.npz", wl))
    assert set(back.pooled_cells) == {"conv1", "conv2"}
    assert np.array_equal(back.pooled_cells["conv1"], filled_cells(r1, 2))
    assert np.array_equal(back.subset(2).pooled_cells["conv2"], filled_cells(r2, 4)[:2])
    with np.load(tmp_path / "w.npz") as z:
        assert int(z["format_version"]) == 2 and int(z["format_minor"]) == FORMAT_MINOR == 1
        old = {k: z[k] for k in z.files if not k.startswith("pooled_cells_") and k != "format_minor"}
    np.savez_compressed(tmp_path / "old.npz", **old)            # a format 2.0 file
    prev = load_workload(tmp_path / "old.npz")
    assert prev.pooled_cells == {} and np.array_equal(prev.spikes, back.spikes)


def _bad(tmp_path, wl, **arrays):
    path = save_workload(tmp_path / "ok.npz", wl)
    with np.load(path) as z:
        data = {k: z[k] for k in z.files}
    data.update(arrays)
    np.savez_compressed(tmp_path / "bad.npz", **data)
    with pytest.raises(UserError) as err:
        load_workload(tmp_path / "bad.npz")
    return str(err.value)


def test_impossible_pooled_cells_are_refused(rasters, tmp_path):
    r1, r2 = rasters
    wl = workload(r1, r2, cells=True, neurons=True)
    good = filled_cells(r1, 2)
    spikes = r1.sum(axis=(2, 3, 4))
    assert "pooled_cells_conv1" in _bad(tmp_path, wl, pooled_cells_conv1=good[:2])              # shape
    assert "1 to 4" in _bad(tmp_path, wl, pooled_cells_conv1=spikes.astype(np.int32) + 1)       # more cells than spikes
    assert "1 to 4" in _bad(tmp_path, wl, pooled_cells_conv1=(spikes // 4 - 1).clip(0).astype(np.int32))
    slack = good - -(-spikes // 4)                  # cells above the fewest that could hold the spikes
    assert slack.max() > 0
    fewer = good.copy()
    fewer[np.unravel_index(np.argmax(slack), good.shape)] -= 1      # still possible, but not what fired
    assert "per-neuron records" in _bad(tmp_path, wl, pooled_cells_conv1=fewer)
    assert "non-spiking" in _bad(tmp_path, wl, pooled_cells_input=np.zeros_like(good))
    assert "unknown" in _bad(tmp_path, wl, pooled_cells_nope=good)
    assert "integers" in _bad(tmp_path, wl, pooled_cells_conv1=good.astype(np.float32))

"""Through the simulator: ``archsim run`` on a tiny synthetic workload, then ``compare-gpu`` on its summary,
and ``run --compare-gpu`` in one go."""
from __future__ import annotations

import json

import numpy as np
import pytest

from archsim.gpu.compare import load_summary
from archsim.synthetic import synthetic_workload
from archsim.workload import save_workload

from .conftest import REPO, nvsmi_lines, run_archsim, write

HW = REPO / "hwconfigs" / "default.yaml"


@pytest.fixture(scope="module")
def tiny_sim(tmp_path_factory):
    d = tmp_path_factory.mktemp("sim")
    wl = d / "synthetic_tiny.npz"
    save_workload(wl, synthetic_workload("tiny", n_samples=20, seed=0))
    r = run_archsim("run", HW, wl, "--out", d / "out")
    assert r.returncode == 0, r.stderr
    log = write(d / "gpu.csv", nvsmi_lines(np.round(np.arange(0, 101) * 0.1, 3), [100.0] * 101))
    return {"dir": d, "workload": wl, "summary": d / "out" / "summary.json", "log": log}


def test_compare_gpu_on_a_simulator_summary(tiny_sim):
    summary = load_summary(tiny_sim["summary"])                  # the simulator's summary passes the check
    r = run_archsim("compare-gpu", tiny_sim["summary"], tiny_sim["log"], "--idle", "keep", "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    a, g = res["accelerator"], res["gpu"]
    assert a["images"] == summary.images == 20 and a["energy_j"] == pytest.approx(summary.energy_j)
    assert a["fps"] == pytest.approx(summary.fps) and "(synthetic)" in a["workload"]
    assert g["energy_j"] == pytest.approx(1000.0) and g["fps"] == pytest.approx(2.0)   # 100 W x 10 s, 20 images
    assert res["comparison"]["energy_pct_of_gpu"] == pytest.approx(100 * summary.energy_per_image_j / 50.0)


def test_run_with_compare_gpu_in_one_go(tiny_sim):
    r = run_archsim("run", HW, tiny_sim["workload"], "--compare-gpu", tiny_sim["log"], "--idle", "keep")
    assert r.returncode == 0, r.stderr
    assert "GPU vs accelerator on the same test set" in r.stdout
    assert "kept: the GPU energy includes its idle draw" in r.stdout
    bad = run_archsim("run", HW, tiny_sim["workload"], "--compare-gpu", tiny_sim["dir"] / "missing.csv", "--json")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "missing.csv: file: no such file" in bad.stderr

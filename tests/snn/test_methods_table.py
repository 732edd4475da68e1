"""snn.methods_table: the Table 1/5 comparison read from workloads, checked by hand on four samples.

The workload (tests/archsim/test_accuracy_hand.py's): tiny graph, T = 3, labels 0..3,
predictions t1..t3 per sample [1 0 0], [1 1 0], [0 2 2], [3 3 3]; exported exits 2, 1, 3, 1.
Synaptic operations per timestep of sample n: input -> conv1 5,808 synapses (the input does not spike, so
every synapse works every step) + conv1 spikes 10 (n + 1) x fan-out 50 + conv2 spikes (n + 1) x fan-out 4
= 5,808 + 504 (n + 1): 6,312 / 6,816 / 7,320 / 7,824.
"""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from archsim.workload import save_workload
from snn.methods_table import main, method_row, parse_row
from tests.archsim.test_accuracy_hand import changing_workload


@pytest.fixture
def wl_path(tmp_path):
    wl = changing_workload()
    wl.exit_timestep = np.array([2, 1, 3, 1], np.int32)
    wl.meta.update({"exit_policy": "entropy", "threshold": 0.5, "loss": "mean"})
    return str(save_workload(tmp_path / "tiny.npz", wl))


def test_adaptive_row_by_hand(wl_path):
    r = method_row("DT-SNN", wl_path, fixed=False)
    assert r.accuracy_pct == pytest.approx(100.0)            # answers 0, 1, 2, 3 at exits 2, 1, 3, 1
    assert r.avg_timesteps == pytest.approx(7 / 4)
    # (2 x 6,312 + 6,816 + 3 x 7,320 + 7,824) / (3 x 28,272) = 49,224 / 84,816
    assert r.relative_complexity == pytest.approx(49224 / 84816)
    assert r.per_timestep_accuracy_pct == pytest.approx([50.0, 100.0, 75.0])
    assert (r.exit, r.loss, r.images) == ("entropy 0.5", "mean", 4)


def test_fixed_row_runs_every_timestep(wl_path):
    r = method_row("fixed-T", wl_path, fixed=True)
    assert (r.accuracy_pct, r.avg_timesteps, r.relative_complexity) == (75.0, 3.0, 1.0)
    assert r.exit == "fixed"


def test_cli_writes_json_and_markdown(wl_path, tmp_path):
    js, md = tmp_path / "t.json", tmp_path / "t.md"
    assert main(["--row", f"fixed-T={wl_path}:fixed", "--row", f"DT-SNN={wl_path}",
                 "--json", str(js), "--markdown", str(md)]) == 0
    rows = json.loads(js.read_text())["rows"]
    assert [r["label"] for r in rows] == ["fixed-T", "DT-SNN"]
    assert "| DT-SNN | mean | entropy 0.5 | 100.00 | 1.750 | 0.580 | 50.00 | 100.00 | 75.00 |" in md.read_text()


def test_parse_row():
    assert parse_row("a b=x/y.npz:fixed") == ("a b", "x/y.npz", True)
    assert parse_row("ATSNN=w.npz") == ("ATSNN", "w.npz", False)


@pytest.mark.parametrize("row, says", [("nolabel", "expected LABEL=WORKLOAD"), ("x=missing.npz", "missing.npz")])
def test_bad_rows_are_one_line_errors_and_write_nothing(row, says, tmp_path):
    out = tmp_path / "t.json"
    p = subprocess.run([sys.executable, "-m", "snn.methods_table", "--row", row, "--json", str(out)],
                       capture_output=True, text=True)
    assert p.returncode == 2 and says in p.stderr and len(p.stderr.strip().splitlines()) == 1
    assert not out.exists()

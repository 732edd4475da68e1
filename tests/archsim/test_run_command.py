"""The run command end to end: report, JSON, --out files, policies and modes."""
from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

from archsim import graph as lg
from archsim.cli import main
from archsim.simulate import run_simulation, simulate
from archsim.summary import Summary
from archsim.synthetic import synthetic_workload
from archsim.workload import Workload, load_workload, save_workload

from .conftest import ROOT, make_hw, make_workload

REQUIRED = ("images", "fps", "latency_us_mean", "cycles", "memory_accesses", "energy_j", "energy_per_image_j",
            "energy_breakdown_j", "avg_timesteps", "accuracy", "exit_policy", "threshold", "spikes_per_image",
            "synaptic_ops_per_image", "early_exit_savings", "area_proxy_sram_kib", "workload", "hwconfig", "mode")


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory):
    return save_workload(tmp_path_factory.mktemp("wl") / "synthetic_tiny.npz", synthetic_workload("tiny", 12, 4))


def check_summary_values(s: dict, path) -> None:
    """The summary's figures against what the workload file and the default hwconfig say, computed here:
    the exits of the workload's calibrated policy (entropy >= 0.9, first timestep whose score reaches it),
    the answer held at each exit, the spikes and synaptic operations up to the exits (conv1's 5808 MACs once
    per image, 50 accumulates per conv1 spike, 10 per conv2 spike), and the report's own identities."""
    assert all(k in s for k in REQUIRED)
    z = np.load(path)
    ent, pred, labels, spikes = z["score_entropy"], z["predictions"], z["labels"], z["spikes"].astype(np.int64)
    n, _, t = spikes.shape
    above = ent >= 0.9
    exits = np.where(above.any(1), above.argmax(1) + 1, t)
    ran = np.arange(t)[None, :] < exits[:, None]
    assert s["images"] == n == 12 and s["exit_policy"] == "entropy" and s["threshold"] == 0.9
    assert s["avg_timesteps"] == pytest.approx(exits.mean())
    assert s["accuracy"] == pytest.approx(float((pred[np.arange(n), exits - 1] == labels).mean()))
    assert s["counts_useful"]["spikes_out"] == int((spikes.sum(1) * ran).sum())
    useful_ops = n * 5808 + int(((50 * spikes[:, 1] + 10 * spikes[:, 2]) * ran).sum())
    assert s["synaptic_ops_per_image_useful"] == pytest.approx(useful_ops / n)
    assert s["spikes_per_image"] == pytest.approx(s["counts"]["spikes_out"] / n)
    assert s["synaptic_ops_per_image"] == pytest.approx((s["counts"]["accumulates"] + s["counts"]["macs"]) / n)
    assert s["seconds"] == pytest.approx(s["cycles"] / 200e6, abs=1 / 200e6)    # 200 MHz
    assert s["fps"] == pytest.approx(n / s["seconds"], rel=1e-6)
    assert s["energy_per_image_j"] == pytest.approx(s["energy_j"] / n)
    assert s["energy_j"] == pytest.approx(s["energy_dynamic_j"] + s["energy_static_j"])
    assert s["energy_j"] == pytest.approx(sum(s["energy_breakdown_j"].values()))
    assert s["area_proxy_sram_kib"] == (512 + 128 + 32) * 32
    c = s["counts"]
    assert s["memory_accesses"] == {
        "weight_sram": {"reads": c["weight_reads"], "writes": 0},
        "potential_sram": {"reads": c["potential_reads"], "writes": c["potential_writes"]},
        "spike_buffer": {"reads": c["spike_buffer_reads"], "writes": c["spike_buffer_writes"]},
        "offchip": {"reads": c["offchip_reads"], "writes": c["offchip_writes"]}}
    assert s["hwconfig"] == "default-32core" and s["workload"]["timesteps"] == t == 4
    e = s["early_exit_savings"]
    assert e["avg_timesteps_fixed"] == 4.0
    assert e["latency_saved_pct"] == pytest.approx(
        100 * (e["latency_us_mean_fixed"] - s["latency_us_mean"]) / e["latency_us_mean_fixed"], abs=2e-3)


def test_summary_keys_and_json(tiny_file, capsys):
    assert main(["run", str(ROOT / "hwconfigs/default.yaml"), str(tiny_file), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    check_summary_values(s, tiny_file)
    assert s["mode"] == "simpy"
    assert set(s["memory_accesses"]) == {"weight_sram", "potential_sram", "spike_buffer", "offchip"}
    assert s["workload"]["path"] == str(tiny_file) and s["workload"]["synthetic"] is True
    assert s["early_exit_savings"]["latency_us_mean_fixed"] > 0


def test_out_dir_written_whole(tiny_file, tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "stale.txt").write_text("old")
    assert main(["run", str(ROOT / "hwconfigs/default.yaml"), str(tiny_file), "--out", str(out),
                 "--mode", "analytic"]) == 0
    text = capsys.readouterr().out
    assert "FPS" in text and "Energy" in text and "Mapping" in text
    assert sorted(p.name for p in out.iterdir()) == ["config.yaml", "per_layer.csv", "per_layer.png",
                                                     "per_sample.csv", "summary.json"]
    s = json.loads((out / "summary.json").read_text())
    check_summary_values(s, tiny_file)
    assert s["mode"] == "analytic"
    assert len(pd.read_csv(out / "per_layer.csv")) == 3
    assert len(pd.read_csv(out / "per_sample.csv")) == 12
    cfg = yaml.safe_load((out / "config.yaml").read_text())
    assert cfg["workload_path"] == str(tiny_file)
    assert cfg["command"].startswith("python -m archsim run ") and "--mode analytic" in cfg["command"]
    assert cfg["hwconfig"]["name"] == "default-32core" and "components" in cfg["energy_table_loaded"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]      # no temporary left over


def test_fixed_policy_and_samples(tiny_file, capsys):
    assert main(["run", str(ROOT / "hwconfigs/default.yaml"), str(tiny_file), "--json", "--samples", "5",
                 "--exit-policy", "fixed", "--timesteps", "2"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["images"] == 5 and s["avg_timesteps"] == 2 and s["exit_policy"] == "fixed"
    assert s["early_exit_savings"]["latency_saved_pct"] > 0      # 2 of 4 timesteps vs the fixed T=4


def test_simulate_returns_the_typed_summary_and_its_json(tiny_file):
    s = simulate(make_hw(), load_workload(tiny_file).subset(4), exit_policy="confidence", threshold=0.7, mode="analytic")
    assert isinstance(s, Summary) and s.exit_policy == "confidence" and s.threshold == 0.7
    d = json.loads(s.to_json())
    # summary.json: every field in declaration order, the per_cell-only entry left out on a per_spike chip
    # and the chips entry on one chip
    assert list(d) == [f.name for f in dataclasses.fields(Summary) if f.name not in ("pooled_cells_estimated", "chips")]
    assert d["images"] == 4 and d["counts"] == s.counts and d["threshold_source"] == "command line"
    # the read-only dict access kept for code written against the dict
    assert s["fps"] == s.fps and "fps" in s and "pooled_cells_estimated" not in s
    with pytest.raises(KeyError):
        s["pooled_cells_estimated"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.fps = 1.0


def test_speculation_counts_wasted_work():
    wl = make_workload(conv1=[[50, 50, 50, 50]] * 3, conv2=[[20, 20, 20, 20]] * 3, exit_after=[1, 1, 1])
    wait = simulate(make_hw(**{"controller.mode": "wait"}), wl)
    spec = simulate(make_hw(**{"controller.mode": "speculate"}), wl)
    assert wait.speculation["wasted_items"] == 0
    assert spec.speculation["wasted_items"] > 0
    assert spec.counts_useful == wait.counts
    assert spec.latency_us_mean <= wait.latency_us_mean


def test_shipped_synthetic_vgg16_runs():
    path = ROOT / "workloads" / "synthetic_vgg16.npz"
    wl = load_workload(path)
    assert wl.n_samples == 10_000 and wl.timesteps == 4 and wl.meta["synthetic"]
    assert 2.0 < wl.exit_timestep.mean() < 2.4
    proc = subprocess.run([sys.executable, "-m", "archsim", "run", "hwconfigs/default.yaml", str(path),
                           "--samples", "40", "--json"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    s = json.loads(proc.stdout)
    assert s["images"] == 40 and s["fps"] > 0 and s["mapping"]["split"].startswith("per-channel")


def test_residual_edges_count_and_simulate():
    g = lg.new_graph((3, 8, 8))
    lg.add_conv(g, "c1", "input", out_channels=4)
    lg.add_conv(g, "c2", "c1", out_channels=4)
    lg.add_conv(g, "c3", "c2", out_channels=4)
    lg.add_residual(g, "c1", "c3")                      # identity shortcut: one accumulate per spike
    lg.add_linear(g, "fc", "c3", out_features=4, pool=8, spiking=False)
    spikes = np.zeros((2, 5, 2), dtype=np.int32)
    spikes[:, 1], spikes[:, 2], spikes[:, 3] = 20, 10, 5
    ones = np.ones((2, 2), dtype=np.float32)
    wl = Workload(g, spikes, np.zeros(2, np.int32), np.zeros((2, 2), np.int32), {"entropy": ones},
                  np.array([2, 2], np.int32), {"kind": "direct", "timesteps": 2})
    hw = make_hw(**{"mesh.cols": 4})
    fo = g.edges["c2", "c3"]["fan_out"]
    for mode in ("simpy", "analytic"):
        res = run_simulation(hw, wl, mode=mode, exit_policy="fixed", baseline=False)
        rows = res.per_layer.set_index("layer")
        assert rows.loc["c3", "accumulates"] == 4 * int(np.floor(10 * fo + 20 * 1 + 0.5))
        assert rows.loc["c3", "spikes_in"] == 4 * (10 + 20)
        if mode == "simpy":
            assert res.summary.spikes_sent == res.summary.spikes_received


def test_compare_gpu_branch(tiny_file, capsys):
    log = ROOT / "gpu_logs" / "SAMPLE_h100_vgg16_cifar10_b1_entropy.csv"
    pytest.importorskip("archsim.gpu.compare")
    if not log.exists():
        pytest.skip("no sample GPU log")
    args = ["run", str(ROOT / "hwconfigs/default.yaml"), str(tiny_file), "--json", "--mode", "analytic",
            "--compare-gpu", str(log)]
    # the sample GPU log ran VGG16 on CIFAR-10: refused before any simulation, unless allowed
    from archsim.errors import UserError
    with pytest.raises(UserError, match="network vgg16 on the GPU, tiny on the accelerator"):
        main(args)
    assert "simulating" not in capsys.readouterr().err
    assert main(args + ["--allow-mismatch"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert "gpu_comparison" in s and s["gpu_comparison"]["mismatch"]


# ---- issue 18, finding 1: the exit policy a workload was calibrated with is the one a run uses ---------

def _calibrated(policy="entropy", threshold=0.5):
    wl = make_workload(conv1=[[10, 20, 5], [0, 7, 3], [15, 0, 1]], conv2=[[3, 4, 5], [1, 0, 2], [6, 6, 6]],
                       exit_after=[1, 3, 2])
    wl.meta.update(exit_policy=policy, threshold=threshold)
    return wl


@pytest.mark.parametrize("hw_policy, hw_thr, cli, want", [
    ("from_workload", "from_workload", {}, ("entropy", 0.5, "workload", "workload")),
    ("confidence", 0.7, {}, ("confidence", 0.7, "hwconfig", "hwconfig")),
    ("from_workload", 0.3, {}, ("entropy", 0.3, "workload", "hwconfig")),
    ("confidence", "from_workload", {}, ("confidence", 0.9, "hwconfig", "default")),  # 0.5 was for entropy
    ("from_workload", "from_workload", {"exit_policy": "confidence", "threshold": 0.8},
     ("confidence", 0.8, "command line", "command line")),
    ("from_workload", "from_workload", {"exit_policy": "fixed"}, ("fixed", None, "command line", None)),
])
def test_policy_precedence(hw_policy, hw_thr, cli, want):
    hw = make_hw(**{"controller.policy": hw_policy, "controller.threshold": hw_thr})
    s = simulate(hw, _calibrated(), mode="analytic", **cli)
    assert (s.exit_policy, s.threshold, s.exit_policy_source, s.threshold_source) == want


def test_workload_without_a_record_falls_back_to_the_default():
    hw = make_hw(**{"controller.policy": "from_workload", "controller.threshold": "from_workload"})
    wl = _calibrated()
    del wl.meta["exit_policy"], wl.meta["threshold"]
    s = simulate(hw, wl, mode="analytic")
    assert (s.exit_policy, s.threshold, s.exit_policy_source) == ("entropy", 0.9, "default")


def test_omitted_controller_policy_means_from_workload():
    hw = make_hw()
    raw = hw.model_dump(mode="json")
    del raw["controller"]["policy"], raw["controller"]["threshold"]
    from archsim.hwconfig import config_from_dict
    hw2 = config_from_dict(raw, "omitted.yaml", ROOT / "hwconfigs")
    assert hw2.controller.policy == "from_workload" and hw2.controller.threshold == "from_workload"


def test_default_hwconfig_uses_the_exported_calibration(capsys):
    """`make run` on small_c10: the threshold snn.export calibrated (0.6), said in the report."""
    wl_path = ROOT / "workloads" / "small_c10.npz"
    meta = load_workload(wl_path).meta
    assert main(["run", str(ROOT / "hwconfigs/default.yaml"), str(wl_path), "--samples", "300",
                 "--mode", "analytic"]) == 0
    text = capsys.readouterr().out
    assert f"exit policy {meta['exit_policy']} >= {meta['threshold']:g} (the workload's calibrated one)" in text

"""``python -m snn.gpu_bench`` on the CPU: a tiny checkpoint made by snn.train, the documented JSON keys,
the exit bookkeeping, and the power path with a stand-in for NVML read back by compare-gpu."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from archsim.gpu.compare import compare_with_log
from archsim.gpu.formats import BENCH_KEYS, NVSMI_HEADER, read_power_log
from snn import exit_policy, gpu_bench
from snn.checkpoint import load_model
from snn.data import DeviceData, load_dataset
from snn.inference import collect

from .conftest import REPO, SUMMARY


class FakeNvml:
    """Stands in for NVML: constant 120 W, and an energy counter that counts 120 W x elapsed time."""

    name, index, watts = "FakeGPU (test)", 0, 120.0

    def __init__(self):
        self.t0 = time.perf_counter()
        self.closed = False

    def read(self):
        return self.watts, 37, 2048

    def energy_mj(self):
        return int(round(self.watts * (time.perf_counter() - self.t0) * 1000))

    def close(self):
        self.closed = True


def _offline(run, policy, threshold, n=None):
    """(accuracy, average timesteps) of the first ``n`` test images evaluated offline: the full [T, N, K]
    output, the exit policy applied to its scores, each image's prediction read at its exit."""
    model, _ = load_model(run["checkpoint"], "cpu")
    ds = load_dataset(run["data"], "imagefolder", image_size=16, cache_dir=run["cache"])
    n = n or len(ds.test_y)
    col = collect(model, DeviceData(ds.test_x[:n], ds.test_y[:n], ds.mean, ds.std, "cpu"), 8)
    exits = exit_policy.apply_policy({k: v.numpy() for k, v in exit_policy.scores(col.out).items()},
                                     policy, threshold, 4)
    return exit_policy.adaptive_accuracy(exit_policy.predictions(col.out).numpy(), col.labels, exits)


def _args(run, tmp_path, *extra):
    return gpu_bench.parser().parse_args([
        str(run["checkpoint"]), "--data-dir", str(run["data"]), "--cache-dir", str(run["cache"]),
        "--power-log", str(tmp_path / "gpu_logs" / "bench.csv"), "--device", "cpu", *map(str, extra)])


def test_cpu_run_writes_documented_json(tiny_run, tmp_path):
    log = tmp_path / "gpu_logs" / "tiny_cpu.csv"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    r = subprocess.run([sys.executable, "-m", "snn.gpu_bench", str(tiny_run["checkpoint"]), "--data-dir",
                        str(tiny_run["data"]), "--cache-dir", str(tiny_run["cache"]), "--batch-size", "4",
                        "--exit-policy", "entropy", "--threshold", "0.5", "--power-log", str(log),
                        "--device", "cpu", "--max-samples", "20", "--idle-seconds", "1"],
                       cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "no power figures (cpu)" in r.stdout
    rec = json.loads(log.with_suffix(".json").read_text())
    assert tuple(rec) == BENCH_KEYS
    assert not log.exists()                                     # no power log on the CPU
    assert rec["images"] == 20 and rec["batch_size"] == 4 and rec["exit_policy"] == "entropy"
    assert rec["threshold"] == 0.5 and rec["max_timesteps"] == 4 and rec["device"] == "cpu"
    assert rec["energy_j"] == {"integrated": None, "counter": None, "integrated_minus_idle": None}
    assert rec["idle_w"] is None and rec["gpu_name"] is None and rec["power_log"] is None
    acc, avg_t = _offline(tiny_run, "entropy", 0.5, 20)
    assert rec["accuracy"] == pytest.approx(acc) and rec["avg_timesteps"] == pytest.approx(avg_t)
    assert rec["fps"] == pytest.approx(20 / rec["wall_s"])
    assert rec["timesteps_computed"] >= rec["timesteps_needed"] == round(rec["avg_timesteps"] * 20)
    assert rec["command"].startswith("python -m snn.gpu_bench ")
    # compare-gpu refuses it with one line
    s = tmp_path / "summary.json"
    s.write_text(json.dumps(SUMMARY))
    r = subprocess.run([sys.executable, "-m", "archsim", "compare-gpu", str(s), str(log.with_suffix(".json"))],
                       cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "no power figures: gpu_bench ran on cpu" in r.stderr


@pytest.mark.parametrize("policy,threshold", [("entropy", 0.5), ("confidence", 0.8)])
def test_exits_match_the_offline_policy(tiny_run, tmp_path, policy, threshold):
    """Batch 1 stops every image at its exit: the same exits, accuracy and timesteps as evaluating the
    full [T, N, K] output with snn.exit_policy; batch 8 computes more than it needs, and says so."""
    one = gpu_bench.bench(_args(tiny_run, tmp_path, "--batch-size", 1, "--exit-policy", policy,
                                "--threshold", threshold, "--warmup-batches", 0))
    model, cfg = load_model(tiny_run["checkpoint"], "cpu")
    ds = load_dataset(tiny_run["data"], "imagefolder", image_size=16, cache_dir=tiny_run["cache"])
    col = collect(model, DeviceData(ds.test_x, ds.test_y, ds.mean, ds.std, "cpu"), 8)
    exits = exit_policy.apply_policy({k: v.numpy() for k, v in exit_policy.scores(col.out).items()},
                                     policy, threshold, 4)
    acc, avg_t = exit_policy.adaptive_accuracy(exit_policy.predictions(col.out).numpy(), col.labels, exits)
    assert one["accuracy"] == pytest.approx(acc) and one["avg_timesteps"] == pytest.approx(avg_t)
    assert one["timesteps_computed"] == one["timesteps_needed"] == int(exits.sum())
    assert "batch 1" in one["adaptive_exit"]
    eight = gpu_bench.bench(_args(tiny_run, tmp_path, "--batch-size", 8, "--exit-policy", policy,
                                  "--threshold", threshold))
    assert eight["timesteps_needed"] == one["timesteps_needed"] and eight["accuracy"] == one["accuracy"]
    # computed = per batch, the latest exit x the batch size
    per_batch = [int(exits[i:i + 8].max()) * len(exits[i:i + 8]) for i in range(0, len(exits), 8)]
    assert eight["timesteps_computed"] == sum(per_batch) >= eight["timesteps_needed"]
    assert "per batch" in eight["adaptive_exit"]


def test_fixed_policy_runs_all_timesteps(tiny_run, tmp_path):
    rec = gpu_bench.bench(_args(tiny_run, tmp_path, "--batch-size", 5, "--exit-policy", "fixed"))
    assert rec["avg_timesteps"] == 4 and rec["timesteps_computed"] == rec["timesteps_needed"] == 4 * 24
    assert rec["threshold"] is None
    assert rec["accuracy"] == pytest.approx(_offline(tiny_run, "fixed", 0.0)[0])     # predictions at T = 4


def test_power_path_read_back_by_compare_gpu(tiny_run, tmp_path):
    """The sampler writes nvidia-smi's CSV; the JSON's window and figures are what compare-gpu reads back."""
    fake = FakeNvml()
    rec = gpu_bench.bench(_args(tiny_run, tmp_path, "--batch-size", 4, "--exit-policy", "confidence",
                                "--threshold", 0.8, "--idle-seconds", 0.4, "--sample-hz", 50), power_source=fake)
    csv = tmp_path / "gpu_logs" / "bench.csv"
    lines = csv.read_text().splitlines()
    assert lines[0] == NVSMI_HEADER and lines[1].endswith(", 120.00 W, 37 %, 2048 MiB")
    assert fake.closed and rec["gpu_name"] == "FakeGPU (test)" and rec["power_log"] == "bench.csv"
    log = read_power_log(csv)
    assert log.format == "gpu_bench" and rec["samples"] == len(log.timeline)
    start, end = log.seconds(rec["window"]["start"]), log.seconds(rec["window"]["end"])
    # by hand: 120 W all along
    assert rec["idle_w"] == pytest.approx(120.0)
    assert rec["energy_j"]["integrated"] == pytest.approx(120.0 * (end - start))
    assert rec["energy_j"]["integrated_minus_idle"] == pytest.approx(0.0, abs=1e-9)
    assert rec["energy_j"]["counter"] == pytest.approx(120.0 * rec["wall_s"], abs=0.5)
    assert end - start == pytest.approx(rec["wall_s"], abs=0.01)
    # sampled at >= 10 Hz over the whole record
    t = log.timeline["time_s"].to_numpy()
    assert len(t) / (t[-1] - t[0]) >= 10.0
    res = compare_with_log(dict(SUMMARY, images=24), str(csv), "keep")
    g = res["gpu"]
    assert g["format"] == "gpu_bench" and g["window_from"] == "the run, from the gpu_bench JSON"
    assert g["images"] == 24 and g["fps"] == rec["fps"]
    assert g["energy_j"] == pytest.approx(rec["energy_j"]["integrated"])
    assert g["counter_energy_idle_kept_j"] == rec["energy_j"]["counter"]
    sub = compare_with_log(dict(SUMMARY, images=24), str(tmp_path / "gpu_logs" / "bench.json"), "subtract")
    assert sub["idle"]["idle_w"] == pytest.approx(120.0) and sub["gpu"]["energy_j"] == pytest.approx(0.0, abs=1e-9)
    assert sub["comparison"]["energy_pct_of_gpu"] is None


def test_bad_arguments_are_one_line(tiny_run, tmp_path):
    from archsim.errors import UserError
    with pytest.raises(UserError, match="threshold: a score in"):
        gpu_bench.bench(_args(tiny_run, tmp_path, "--exit-policy", "entropy", "--threshold", 2))
    with pytest.raises(UserError, match="sample-hz: must be >= 10"):
        gpu_bench.bench(_args(tiny_run, tmp_path, "--sample-hz", 2), power_source=FakeNvml())
    with pytest.raises(UserError, match="checkpoint: does not exist"):
        gpu_bench.bench(gpu_bench.parser().parse_args([str(tmp_path / "no.pt"), "--data-dir", ".",
                                                       "--power-log", str(tmp_path / "x.csv"), "--device", "cpu"]))


def test_a_bench_log_with_repeated_stamps_is_one_gpu(tmp_path):
    """gpu_bench samples one GPU; a starved sampler thread can stamp two rows within a millisecond (seen
    under load). Its CSV must read as that one GPU, not be refused as an unlabelled multi-GPU log."""
    from tests.gpu.conftest import nvsmi_time
    from archsim.gpu.formats.gpu_bench import BENCH_TOOL
    times = [0.0, 0.1, 0.2, 0.2, 0.3, 0.4, 0.4, 0.5, 0.6, 0.6, 0.7, 0.8]     # 3 repeats in 12 rows
    rows = [NVSMI_HEADER] + [f"{nvsmi_time(t)}, 100.00 W, 50 %, 1024 MiB" for t in times]
    (tmp_path / "bench.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "bench.json").write_text(json.dumps({"tool": BENCH_TOOL, "power_log": "bench.csv"}))
    log = read_power_log(tmp_path / "bench.csv")
    assert log.format == "gpu_bench" and log.timeline["gpu"].nunique() == 1
    assert len(log.timeline) == len(times)

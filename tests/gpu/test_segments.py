"""Logs that hold several runs or windows, several GPUs, and the like-for-like check (issue 18).

Every expected energy is computed here from the numbers the test writes, with numpy.trapezoid or plain
sums, never with archsim's own integrator.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from archsim.gpu.compare import compare_with_log
from archsim.gpu.formats import BENCH_KEYS, BENCH_TOOL, REGISTRY, read_power_log
from archsim.gpu.integrate import integrate_pieces, select

from .conftest import SUMMARY, nvsmi_lines, run_archsim, write

KWH = 3.6e6


def zeus_log(tmp_path, rows, gpus=1):
    head = "start_time,window_name,elapsed_time," + ",".join(f"gpu{g}_energy" for g in range(gpus))
    lines = [head] + [f"{s},{n},{e}," + ",".join(str(x) for x in j) for s, n, e, j in rows]
    return write(tmp_path / "zeus.csv", lines)


def test_registry_one_module_per_format():
    names = [m.NAME for m in REGISTRY]
    assert set(names) == {"nvidia-smi", "gpu_bench", "zeus-monitor", "zeus-windows", "codecarbon", "wide"}
    assert all(callable(m.sniff) and callable(m.read) for m in REGISTRY)
    assert names.index("gpu_bench") < names.index("nvidia-smi")   # the more specific sniffs first
    assert names.index("wide") < names.index("nvidia-smi")


def test_zeus_six_windows_whole_log(tmp_path):
    rng = np.random.default_rng(1)
    rows = [(1.7e9 + 100 * k, f"epoch_{k}", 60.0 + k, [float(rng.uniform(5e3, 2e4))]) for k in range(6)]
    log_path = zeus_log(tmp_path, rows)
    res = compare_with_log(dict(SUMMARY), str(log_path), "keep")
    total = sum(r[3][0] for r in rows)
    assert res["gpu"]["energy_idle_kept_j"] == pytest.approx(total, rel=1e-9)        # not the last 1/6
    assert res["gpu"]["duration_s"] == pytest.approx(sum(r[2] for r in rows))
    assert [s["name"] for s in res["gpu"]["segments"]] == [f"epoch_{k}" for k in range(6)]
    assert all(s["status"] == "counted" for s in res["gpu"]["segments"])
    one = compare_with_log(dict(SUMMARY), str(log_path), "keep", window_name="epoch_3")
    assert one["gpu"]["energy_idle_kept_j"] == pytest.approx(rows[3][3][0], rel=1e-9)


def test_zeus_steps_nested_in_an_epoch_count_once(tmp_path):
    t0 = 1.7e9
    steps = [(t0 + 1 + 3 * k, "step", 2.5, [250.0 * (k + 1)]) for k in range(5)]
    epoch = (t0, "epoch", 20.0, [9000.0])
    log_path = zeus_log(tmp_path, [*steps, epoch])      # ZeusMonitor writes a window when it ends
    log = read_power_log(log_path)
    whole = select(log)
    assert whole.segments == [5] and "inside another" in whole.how
    assert integrate_pieces(log, whole.pieces).energy_j == pytest.approx(9000.0)
    just_steps = integrate_pieces(log, select(log, window_name="step").pieces)
    assert just_steps.energy_j == pytest.approx(sum(s[3][0] for s in steps))
    assert just_steps.duration_s == pytest.approx(12.5)
    text = run_archsim("compare-gpu", _summary(tmp_path), log_path, "--idle", "keep").stdout
    assert "inside 'epoch': counted through it" in text and "runs/windows in the log (6" in text


def test_zeus_partly_overlapping_windows_refused(tmp_path):
    log_path = zeus_log(tmp_path, [(1.7e9, "a", 10.0, [1000.0]), (1.7e9 + 5, "b", 10.0, [1000.0])])
    r = run_archsim("compare-gpu", _summary(tmp_path), log_path, "--idle", "keep")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "overlap without one holding the other" in r.stderr
    ok = run_archsim("compare-gpu", _summary(tmp_path), log_path, "--idle", "keep", "--window-name", "b")
    assert ok.returncode == 0, ok.stderr


def test_codecarbon_two_runs_and_flushes(tmp_path):
    head = "timestamp,project_name,run_id,duration,emissions,gpu_energy,codecarbon_version"
    # run A: one row, 3000 J over 30 s; run B: three cumulative flushes, 1000 / 4000 / 10000 J
    lines = [head, f"2025-06-01T12:00:30,p,aaaa-1,30.0,0.1,{3000 / KWH},2.8.3",
             f"2025-06-01T13:00:10,p,bbbb-2,10.0,0.1,{1000 / KWH},2.8.3",
             f"2025-06-01T13:00:20,p,bbbb-2,20.0,0.1,{4000 / KWH},2.8.3",
             f"2025-06-01T13:00:40,p,bbbb-2,40.0,0.1,{10000 / KWH},2.8.3"]
    path = write(tmp_path / "emissions.csv", lines)
    res = compare_with_log(dict(SUMMARY), str(path), "keep")
    assert res["gpu"]["energy_idle_kept_j"] == pytest.approx(13000.0)       # 3000 + 10000, not 10000 alone
    assert res["gpu"]["duration_s"] == pytest.approx(70.0)
    assert compare_with_log(dict(SUMMARY), str(path), "keep", run="aaaa")["gpu"]["energy_idle_kept_j"] == \
        pytest.approx(3000.0)
    r = run_archsim("compare-gpu", _summary(tmp_path), path, "--idle", "keep", "--run", "cccc")
    assert r.returncode == 2 and "no run 'cccc'" in r.stderr and "aaaa-1, bbbb-2" in r.stderr


def test_two_gpus_each_over_its_own_span(tmp_path):
    t = np.round(np.arange(0, 61) * 0.1, 3)                 # 0 .. 6 s at 10 Hz
    w0 = np.round(100 + 50 * np.sin(t), 2)             # the log keeps 2 decimals
    keep1 = t >= 2.0                                        # GPU 1 starts logging 2 s late
    t1, w1 = t[keep1], 40 + 10 * t[keep1]
    times = np.concatenate([t, t1])
    watts = np.concatenate([w0, w1])
    idx = [0] * len(t) + [1] * len(t1)
    order = np.argsort(times, kind="stable")
    path = write(tmp_path / "two.csv", nvsmi_lines(times[order], watts[order], index=list(np.array(idx)[order])))
    res = compare_with_log(dict(SUMMARY), str(path), "keep")
    per = res["gpu"]["energy_per_gpu_idle_kept_j"]
    assert per["0"] == pytest.approx(np.trapezoid(w0, t), rel=1e-6)        # all 6 s, not cut to 2..6 s
    assert per["1"] == pytest.approx(np.trapezoid(w1, t1), rel=1e-6)
    assert res["gpu"]["duration_s"] == pytest.approx(6.0)


def _summary(tmp_path, **over):
    p = tmp_path / "summary.json"
    p.write_text(json.dumps(dict(SUMMARY, **over)))
    return p


def _bench(tmp_path, **meta):
    t = np.round(np.arange(0, 101) * 0.1, 3)
    csv = write(tmp_path / "b.csv", nvsmi_lines(t, [50.0 if x < 3 else 150.0 for x in t]))
    rec = dict.fromkeys(BENCH_KEYS)
    rec.update(tool=BENCH_TOOL, power_log="b.csv", idle_w=50.0, idle_s=2.0, fps=250.0,
               window={"start": "2025/06/01 12:00:04.000", "end": "2025/06/01 12:00:08.000"}, **meta)
    (tmp_path / "b.json").write_text(json.dumps(rec))
    return csv


def test_mismatch_refused_in_one_line_unless_allowed(tmp_path):
    csv = _bench(tmp_path, arch="vgg16", dataset="cifar10", images=10000, exit_policy="entropy", threshold=0.8)
    small = _summary(tmp_path, workload={"path": "workloads/small_c10.npz", "arch": "small", "dataset": "cifar10"},
                     exit_policy="entropy", threshold=0.9)
    r = run_archsim("compare-gpu", small, csv)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert "network vgg16 on the GPU, small on the accelerator" in r.stderr
    assert "threshold 0.8 on the GPU, 0.9 on the accelerator" in r.stderr
    ok = run_archsim("compare-gpu", small, csv, "--allow-mismatch")
    assert ok.returncode == 0, ok.stderr
    assert "[MISMATCH: not the same run, see notes]" in ok.stdout and "MISMATCH, compared anyway" in ok.stdout
    same = _summary(tmp_path, workload={"arch": "VGG16", "dataset": "CIFAR-10"}, exit_policy="entropy", threshold=0.8)
    good = run_archsim("compare-gpu", same, csv)
    assert good.returncode == 0, good.stderr
    assert "MISMATCH" not in good.stdout

"""Every supported format, read from the committed samples in tests/data/gpu (see its README)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from archsim.gpu.formats import BENCH_KEYS, KWH_TO_J, read_power_log
from archsim.gpu.integrate import default_window, integrate, integrate_pieces, select

from .conftest import DATA

NVSMI_VARIANTS = ["nvidia-smi_csv.csv", "nvidia-smi_noheader.csv", "nvidia-smi_nounits.csv",
                  "nvidia-smi_noheader_nounits.csv"]


def _raw_nvsmi() -> pd.DataFrame:
    """The --format=csv sample read independently of archsim (plain pandas), for cross-checks."""
    df = pd.read_csv(DATA / "nvidia-smi_csv.csv", skipinitialspace=True)
    df["t"] = pd.to_datetime(df["timestamp"], format="%Y/%m/%d %H:%M:%S.%f")
    df["w"] = df["power.draw [W]"].str.replace(" W", "").astype(float)
    return df


@pytest.mark.parametrize("name", NVSMI_VARIANTS)
def test_nvidia_smi_variants_read_the_same_timeline(name):
    log = read_power_log(DATA / name)
    raw = _raw_nvsmi()
    assert log.format == "nvidia-smi" and log.gpus == [0]
    assert len(log.timeline) == 32
    np.testing.assert_allclose(log.timeline["power_w"], raw["w"])
    np.testing.assert_allclose(log.timeline["time_s"], (raw["t"] - raw["t"][0]).dt.total_seconds())
    assert log.t0 == pd.Timestamp("2025-03-14 09:26:53.592")
    # the whole log, trapezoid by hand (numpy on the raw columns)
    s, e, how = default_window(log)
    t = (raw["t"] - raw["t"][0]).dt.total_seconds().to_numpy()
    w = raw["w"].to_numpy()
    assert how == "the whole log"
    assert integrate(log, s, e).energy_j == pytest.approx(float(np.sum(np.diff(t) * (w[1:] + w[:-1]) / 2)))


def test_nvidia_smi_na_cells_are_skipped():
    log = read_power_log(DATA / "nvidia-smi_na.csv")
    assert len(log.timeline) == 28
    assert any("4 of 32 power cells were [N/A]" in n for n in log.notes)
    raw = _raw_nvsmi().drop(index=[3, 11, 12, 27])
    np.testing.assert_allclose(log.timeline["power_w"], raw["w"])


def test_nvidia_smi_two_gpus_by_index():
    log = read_power_log(DATA / "nvidia-smi_two_gpus.csv")
    assert log.gpus == [0, 1]
    tl = log.timeline
    assert (tl.groupby("gpu").size() == 24).all()
    assert tl[tl.gpu == 0]["power_w"].iloc[0] == pytest.approx(62.20)
    assert tl[tl.gpu == 1]["power_w"].iloc[0] == pytest.approx(58.43)
    both = integrate(log, 0.5, 4.0)
    assert both.energy_j == pytest.approx(sum(integrate(log, 0.5, 4.0, [g]).energy_j for g in (0, 1)))


def test_zeus_monitor_sample_is_milliwatts_utc():
    log = read_power_log(DATA / "zeus_monitor.csv")
    assert log.format == "zeus-monitor" and log.gpus == [0] and len(log.timeline) == 40
    assert log.timeline["power_w"].iloc[0] == pytest.approx(70.312)
    assert log.t0 == pd.Timestamp("2025-03-14 08:12:05.120384511")


def test_zeus_window_log_sample():
    log = read_power_log(DATA / "zeus_windows.csv")
    assert log.format == "zeus-windows" and log.gpus == [0, 1]
    assert log.segment_names == {0: "warmup", 1: "epoch_1", 2: "epoch_2"}
    raw = pd.read_csv(DATA / "zeus_windows.csv")
    # the whole log by default: every window once, both GPUs
    sel = select(log)
    assert sel.segments == [0, 1, 2] and "3 windows, each once" in sel.how
    we = integrate_pieces(log, sel.pieces)
    assert we.energy_j == pytest.approx(float(raw["gpu0_energy"].sum() + raw["gpu1_energy"].sum()), rel=1e-9)
    assert we.duration_s == pytest.approx(float(raw["elapsed_time"].sum()), rel=1e-9)
    # one window by name
    one = integrate_pieces(log, select(log, window_name="epoch_2").pieces)
    assert one.energy_j == pytest.approx(17964.113999999987 + 17290.55700000001, rel=1e-9)


def test_codecarbon_sample_runs_and_cumulative_flushes():
    log = read_power_log(DATA / "codecarbon_emissions.csv")
    assert log.format == "codecarbon" and log.gpus == [0]
    assert sorted(log.segment_names) == [0, 1]
    raw = pd.read_csv(DATA / "codecarbon_emissions.csv")
    # whole log: each run once, a run's cumulative flush rows counted once (its last row holds its total)
    last = raw.groupby("run_id", sort=False).last()
    sel = select(log)
    assert "2 runs, each once" in sel.how
    we = integrate_pieces(log, sel.pieces)
    assert we.energy_j == pytest.approx(float(last["gpu_energy"].sum()) * KWH_TO_J)
    assert we.duration_s == pytest.approx(float(last["duration"].sum()))
    # one run, by a prefix of its id
    run2 = select(log, run="8d7f3c41")
    assert "8d7f3c41" in run2.how
    assert integrate_pieces(log, run2.pieces).energy_j == pytest.approx(raw["gpu_energy"].iloc[-1] * KWH_TO_J)
    # the first run alone (one row): its whole energy over its duration
    seg0 = log.timeline[log.timeline.segment == 0]
    e0 = integrate(log, seg0.time_s.min(), seg0.time_s.max()).energy_j
    assert e0 == pytest.approx(raw["gpu_energy"].iloc[0] * KWH_TO_J)


@pytest.mark.parametrize("name", ["gpu_bench_small.csv", "gpu_bench_small.json"])
def test_gpu_bench_sample_from_csv_or_json(name):
    log = read_power_log(DATA / name)
    meta = json.loads((DATA / "gpu_bench_small.json").read_text())
    assert log.format == "gpu_bench" and log.bench == meta
    assert tuple(meta) == BENCH_KEYS and meta["sample"] is True
    s, e, how = default_window(log)
    assert how == "the run, from the gpu_bench JSON"
    assert e - s == pytest.approx(meta["wall_s"], abs=1e-3)
    assert integrate(log, s, e).energy_j == pytest.approx(meta["energy_j"]["integrated"])


def test_committed_gpu_logs_sample_is_labelled():
    """gpu_logs/SAMPLE_*: synthetic, and says so wherever it shows up."""
    from .conftest import REPO
    csv = REPO / "gpu_logs" / "SAMPLE_h100_vgg16_cifar10_b1_entropy.csv"
    log = read_power_log(csv)
    assert log.format == "gpu_bench" and log.bench["sample"] is True
    assert log.bench["note"].startswith("SAMPLE") and "(SAMPLE)" in log.bench["gpu_name"]
    assert tuple(log.bench) == BENCH_KEYS
    s, e, _ = default_window(log)
    assert integrate(log, s, e).energy_j == pytest.approx(log.bench["energy_j"]["integrated"])

"""The 17 real GPU power logs of ../shared/gpu_logs_wild (third-party files, read in place; skipped when
absent), each read as ``archsim compare-gpu SUMMARY LOG --idle keep`` reads it, against an energy computed
here with a few lines of pandas/numpy from the layout SOURCES.md documents for that file (never through
archsim's readers): power traces by the trapezoid per GPU over its own samples, GPUs told apart the way
the file's writer lays them out; CodeCarbon as one row per run_id (its largest duration) x gpu_energy kWh;
Zeus windows as the sum of gpuN_energy. Files with no GPU energy must be refused in one short line naming
the file and the field."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from archsim.errors import UserError
from archsim.gpu.compare import compare_with_log
from archsim.gpu.formats import read_power_log

from .conftest import SUMMARY, run_archsim, shared_dir, write

WILD = shared_dir("gpu_logs_wild")
pytestmark = pytest.mark.skipif(WILD is None, reason="../shared/gpu_logs_wild is not here")
NVSMI_FMT = "%Y/%m/%d %H:%M:%S.%f"


def trapezoid_per_gpu(t: pd.Series, w: pd.Series, gpu) -> float:
    """J: each GPU's trapezoid over its own samples (t datetimes, w watts), summed."""
    sec = (t - t.min()).dt.total_seconds().to_numpy()
    w, gpu = np.asarray(w, float), np.asarray(gpu)
    return float(sum(np.trapezoid(w[gpu == g], sec[gpu == g]) for g in np.unique(gpu)))


def nvsmi_polled(path: Path, gpus: int) -> tuple[float, int]:
    """--query-gpu=timestamp,power.draw,... without index: row k of each poll of ``gpus`` rows is GPU k;
    a kill -9 leaves NUL bytes at the end."""
    df = pd.read_csv(io.BytesIO(path.read_bytes().rstrip(b"\0")), skipinitialspace=True)
    w = df["power.draw [W]"].str.removesuffix(" W").astype(float)
    t = pd.to_datetime(df["timestamp"], format=NVSMI_FMT)
    return trapezoid_per_gpu(t, w, np.arange(len(df)) % gpus), gpus


def nvsmi_one(path: Path, header: bool = True, time_col=0, power_col="power.draw [W]") -> tuple[float, int]:
    df = pd.read_csv(path, skipinitialspace=True, header=0 if header else None)
    w = df[power_col].astype(str).str.removesuffix(" W").astype(float)
    t = pd.to_datetime(df[df.columns[time_col]], format=NVSMI_FMT)
    return trapezoid_per_gpu(t, w, np.zeros(len(df))), 1


def iso_custom_header(path: Path) -> tuple[float, int]:
    """The GPU id is in ``gpu``; timestamps ISO 8601 with +08:00; power.draw in W without a unit."""
    df = pd.read_csv(path, skipinitialspace=True)
    return trapezoid_per_gpu(pd.to_datetime(df["timestamp"], utc=True), df["power.draw"], df["gpu"]), df["gpu"].nunique()


def nvml_wide(path: Path) -> tuple[float, int]:
    """Unix seconds, then one W column per GPU."""
    df = pd.read_csv(path)
    gpus = [c for c in df.columns if c.startswith("GPU")]
    return float(sum(np.trapezoid(df[c], df["timestamp"]) for c in gpus)), len(gpus)


def zeus_monitor(path: Path) -> tuple[float, int]:
    df = pd.read_csv(path)
    return trapezoid_per_gpu(pd.to_datetime(df["Time"]), df["Power"] / 1000.0, np.zeros(len(df))), 1


def zeus_windows(path: Path) -> tuple[float, int]:
    df = pd.read_csv(path)
    cols = [c for c in df.columns if c.endswith("_energy")]
    return float(df[cols].to_numpy().sum()), len(cols)


def codecarbon(path: Path) -> tuple[float, int]:
    """gpu_energy (kWh, all tracked GPUs together) of each run's last (largest-duration) row."""
    df = pd.read_csv(path)
    last = df.loc[df.groupby("run_id")["duration"].idxmax()]
    return float(last["gpu_energy"].sum()) * 3.6e6, 1


# file -> (reference energy J and GPU count) or the field its one-line refusal names
REFERENCE = {
    "nvsmi_titanx_2gpu_noindex_gpt125m_train.csv": lambda p: nvsmi_polled(p, 2),
    "nvsmi_titanx_2gpu_noindex_nul_tail.csv": lambda p: nvsmi_polled(p, 2),
    "nvsmi_8xh100_noindex_gpt_train_first5000rows.csv": lambda p: nvsmi_polled(p, 8),
    "nvsmi_a100_index_nounits_vllm_smoke.csv": nvsmi_one,
    "nvsmi_rtx4090_name_vlm.csv": nvsmi_one,
    "nvsmi_noheader_plato_5s.csv": lambda p: nvsmi_one(p, header=False, power_col=6),
    "nvsmi_8xh100_iso8601tz_customheader.csv": iso_custom_header,
    "nvsmi_power_only_no_timestamp.csv": "timestamp",
    "nvml_wide_2gpu_epoch.csv": nvml_wide,
    "zeus_monitor_sample_mW.csv": zeus_monitor,
    "zeus_windows_2xv100_resnet18_plo.csv": zeus_windows,
    "codecarbon_a100_lightspec_7runs.csv": codecarbon,
    "codecarbon_rtx3080ti_fedhenet_14runs.csv": codecarbon,
    "codecarbon_rtx3060_carla_segmentation_4runs.csv": codecarbon,
    "codecarbon_2gpu_nas_manyruns.csv": codecarbon,
    "codecarbon_gpu_energy_zero_rtx4080laptop.csv": "gpu_energy",
    "codecarbon_v1_no_gpu_energy_llama_pruning.csv": "gpu_energy",
}
READ = sorted(k for k, v in REFERENCE.items() if callable(v))
REFUSED = sorted(k for k, v in REFERENCE.items() if isinstance(v, str))
MAX_ERROR = 300


def test_every_file_in_the_folder_has_a_reference():
    assert sorted(p.name for p in WILD.glob("*.csv")) == sorted(REFERENCE)


@pytest.mark.parametrize("name", READ)
def test_whole_log_energy_matches_an_independent_reading(name):
    ref_j, ref_gpus = REFERENCE[name](WILD / name)
    res = compare_with_log(dict(SUMMARY), str(WILD / name), "keep")
    assert len(res["gpu"]["gpus"]) == ref_gpus
    assert res["gpu"]["energy_idle_kept_j"] == pytest.approx(ref_j, rel=0.005)
    assert res["gpu"]["energy_j"] == res["gpu"]["energy_idle_kept_j"]


@pytest.mark.parametrize("name", REFUSED)
def test_refused_in_one_short_line_naming_file_and_field(name):
    r = run_archsim("compare-gpu", "results/archsim/vgg16_c10_adaptive/summary.json", WILD / name, "--idle", "keep")
    assert r.returncode == 2 and r.stdout == "", (r.stdout, r.stderr)
    assert r.stderr.count("\n") == 1 and len(r.stderr) <= MAX_ERROR + len("error: \n")
    assert r.stderr.startswith(f"error: {WILD / name}: {REFERENCE[name]}: ") and "Traceback" not in r.stderr


def test_power_without_times_says_so():
    with pytest.raises(UserError, match="no time column .* cannot be integrated"):
        read_power_log(WILD / "nvsmi_power_only_no_timestamp.csv")


def test_titanx_first_polls_whose_stamps_never_coincide_are_two_gpus(tmp_path):
    """Issue 29: the first 11 rows (5.5 polls, no two stamps equal) were read as one GPU, 8.76 J for 15.79 J."""
    lines = (WILD / "nvsmi_titanx_2gpu_noindex_gpt125m_train.csv").read_text().splitlines()[:12]
    part = write(tmp_path / "first11.csv", lines)
    ts = [ln.split(",")[0] for ln in lines[1:]]
    assert len(set(ts)) == 11
    ref_j, _ = nvsmi_polled(part, 2)
    res = compare_with_log(dict(SUMMARY), str(part), "keep")
    assert res["gpu"]["gpus"] == [0, 1] and res["gpu"]["energy_idle_kept_j"] == pytest.approx(ref_j, rel=1e-9)
    assert ref_j == pytest.approx(15.79, abs=0.01)
    assert any("2 GPUs told apart by their order within each poll" in n for n in res["notes"])
    assert any("the last poll has 1 of 2 rows" in n for n in res["notes"])


def test_quirks_are_noted():
    notes = {name: read_power_log(WILD / name).notes for name in (
        "nvsmi_titanx_2gpu_noindex_nul_tail.csv", "nvsmi_8xh100_iso8601tz_customheader.csv",
        "nvsmi_8xh100_noindex_gpt_train_first5000rows.csv", "zeus_windows_2xv100_resnet18_plo.csv",
        "nvml_wide_2gpu_epoch.csv")}
    text = {k: " | ".join(v) for k, v in notes.items()}
    assert "ends in 2533 NUL bytes" in text["nvsmi_titanx_2gpu_noindex_nul_tail.csv"]
    custom = text["nvsmi_8xh100_iso8601tz_customheader.csv"]
    assert "UTC offset (+08:00)" in custom and "index column does not tell the GPUs apart" in custom
    assert "told apart by the gpu column (8 GPUs)" in custom
    assert "8 GPUs told apart by their order within each poll" in text["nvsmi_8xh100_noindex_gpt_train_first5000rows.csv"]
    assert "monotonic clock" in text["zeus_windows_2xv100_resnet18_plo.csv"] and "times UTC" not in \
        text["zeus_windows_2xv100_resnet18_plo.csv"]
    assert "Unix time" in text["nvml_wide_2gpu_epoch.csv"]


def test_iso_offsets_read_as_utc():
    log = read_power_log(WILD / "nvsmi_8xh100_iso8601tz_customheader.csv")
    assert log.t0 == pd.Timestamp("2025-09-08 09:26:50")           # 17:26:50+08:00
    assert log.timeline["time_s"].max() == pytest.approx(8.0)

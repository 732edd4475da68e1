"""GPU-log integration against an independent numpy computation, for every format and several windows
(issue 21). The reference reads each sample file with plain pandas/numpy (not archsim's readers) and
integrates with ``np.trapezoid`` over the window's edges (``np.interp``) and the samples inside it, or, for
the formats that log energy per window or run (Zeus windows, CodeCarbon), as power x overlap."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from archsim.gpu.formats import read_power_log
from archsim.gpu.integrate import (apply_idle, default_window, idle_power, integrate, integrate_pieces, segment_report,
                                   select)

from .conftest import DATA

FRACTIONS = [(0.0, 1.0), (0.13, 0.71), (0.402, 0.418), (0.5, 0.97)]


def trapezoid_ref(t: np.ndarray, w: np.ndarray, a: float, b: float) -> float:
    """Linear between samples, flat past the first/last one: the window's edges by np.interp."""
    inside = (t > a) & (t < b)
    grid = np.concatenate([[a], t[inside], [b]])
    return float(np.trapezoid(np.interp(grid, t, w), grid))


def nvsmi_raw(name: str) -> pd.DataFrame:
    df = pd.read_csv(DATA / name, skipinitialspace=True)
    df["t"] = pd.to_datetime(df["timestamp"], format="%Y/%m/%d %H:%M:%S.%f")
    col = next(c for c in df.columns if c.startswith("power.draw"))
    df["w"] = pd.to_numeric(df[col].astype(str).str.replace(" W", ""), errors="coerce")
    return df


def window(t: np.ndarray, frac) -> tuple[float, float]:
    return t[0] + frac[0] * (t[-1] - t[0]), t[0] + frac[1] * (t[-1] - t[0])


@pytest.mark.parametrize("frac", FRACTIONS)
@pytest.mark.parametrize("name", ["nvidia-smi_csv.csv", "nvidia-smi_noheader.csv", "nvidia-smi_nounits.csv",
                                  "nvidia-smi_noheader_nounits.csv", "nvidia-smi_na.csv"])
def test_nvidia_smi_windows_equal_numpy(name, frac):
    raw = nvsmi_raw("nvidia-smi_csv.csv")
    if name == "nvidia-smi_na.csv":
        raw = nvsmi_raw(name)
    raw = raw[raw["w"].notna()]
    t0 = nvsmi_raw("nvidia-smi_csv.csv")["t"].min()
    t = (raw["t"] - t0).dt.total_seconds().to_numpy()
    w = raw["w"].to_numpy()
    a, b = window(t, frac)
    log = read_power_log(DATA / name)
    assert integrate(log, a, b).energy_j == pytest.approx(trapezoid_ref(t, w, a, b), rel=1e-9)


@pytest.mark.parametrize("frac", FRACTIONS)
def test_two_gpus_each_equal_numpy(frac):
    raw = nvsmi_raw("nvidia-smi_two_gpus.csv")
    t0 = raw["t"].min()
    log = read_power_log(DATA / "nvidia-smi_two_gpus.csv")
    total = 0.0
    for g in (0, 1):
        one = raw[raw["index"] == g]
        t, w = (one["t"] - t0).dt.total_seconds().to_numpy(), one["w"].to_numpy()
        a, b = window(t, frac)
        want = trapezoid_ref(t, w, a, b)
        assert integrate(log, a, b, [g]).energy_j == pytest.approx(want, rel=1e-9)
        total += want
    both = integrate(log, a, b)
    assert both.energy_j == pytest.approx(total, rel=1e-9)
    assert both.duration_s == pytest.approx(b - a)


def test_two_gpus_whole_log_each_over_its_own_span():
    raw = nvsmi_raw("nvidia-smi_two_gpus.csv")
    t0 = raw["t"].min()
    log = read_power_log(DATA / "nvidia-smi_two_gpus.csv")
    we = integrate_pieces(log, select(log).pieces)
    want = 0.0
    for g in (0, 1):
        one = raw[raw["index"] == g]
        t, w = (one["t"] - t0).dt.total_seconds().to_numpy(), one["w"].to_numpy()
        want += float(np.trapezoid(w, t))
        assert we.per_gpu_j[g] == pytest.approx(float(np.trapezoid(w, t)), rel=1e-9)
    assert we.energy_j == pytest.approx(want, rel=1e-9)


def test_a_window_just_past_the_ends_holds_the_edge_samples():
    """Up to half a sampling interval past the first and last sample, power is held flat (np.interp's
    convention too); further out the window is refused."""
    raw = nvsmi_raw("nvidia-smi_csv.csv")
    t = (raw["t"] - raw["t"].min()).dt.total_seconds().to_numpy()
    w = raw["w"].to_numpy()
    half = 0.5 * float(np.median(np.diff(t)))
    a, b = t[0] - 0.8 * half, t[-1] + 0.8 * half
    log = read_power_log(DATA / "nvidia-smi_csv.csv")
    assert integrate(log, a, b).energy_j == pytest.approx(trapezoid_ref(t, w, a, b), rel=1e-9)
    assert trapezoid_ref(t, w, a, b) == pytest.approx(float(np.trapezoid(w, t)) + 0.8 * half * (w[0] + w[-1]))
    from archsim.errors import UserError
    with pytest.raises(UserError, match="does not cover"):
        integrate(log, t[0] - 1.5 * half, b)


@pytest.mark.parametrize("frac", FRACTIONS)
def test_zeus_monitor_equals_numpy(frac):
    raw = pd.read_csv(DATA / "zeus_monitor.csv")
    ts = pd.to_datetime(raw["Time"])
    t = (ts - ts.min()).dt.total_seconds().to_numpy()
    w = raw["Power"].to_numpy() / 1000.0                    # mW
    a, b = window(t, frac)
    log = read_power_log(DATA / "zeus_monitor.csv")
    assert integrate(log, a, b).energy_j == pytest.approx(trapezoid_ref(t, w, a, b), rel=1e-9)


def _zeus_windows():
    raw = pd.read_csv(DATA / "zeus_windows.csv")
    s = raw["start_time"].to_numpy() - raw["start_time"].min()
    e = s + raw["elapsed_time"].to_numpy()
    power = {g: raw[f"gpu{g}_energy"].to_numpy() / raw["elapsed_time"].to_numpy() for g in (0, 1)}
    return s, e, power


def overlap_energy(starts, ends, watts, a, b) -> float:
    return float(np.sum(watts * np.clip(np.minimum(ends, b) - np.maximum(starts, a), 0, None)))


@pytest.mark.parametrize("a, b", [(0.5, 1.5), (3.0, 40.0), (10.0, 100.0), (62.0, 124.0), (70.0, 70.25)])
def test_zeus_windows_equal_power_times_overlap(a, b):
    s, e, power = _zeus_windows()
    log = read_power_log(DATA / "zeus_windows.csv")
    we = integrate(log, a, b)
    for g in (0, 1):
        assert we.per_gpu_j[g] == pytest.approx(overlap_energy(s, e, power[g], a, b), rel=1e-9)


def _codecarbon():
    raw = pd.read_csv(DATA / "codecarbon_emissions.csv")
    ts = pd.to_datetime(raw["timestamp"])
    starts, ends, watts = [], [], []
    for _, run in raw.groupby("run_id", sort=False):
        d = run["duration"].to_numpy()
        joules = run["gpu_energy"].to_numpy() * 3.6e6
        begin = ts[run.index[-1]] - pd.Timedelta(seconds=float(d[-1]))
        prev_d, prev_j = 0.0, 0.0
        for dk, jk in zip(d, joules):
            starts.append(begin + pd.Timedelta(seconds=prev_d))
            ends.append(begin + pd.Timedelta(seconds=float(dk)))
            watts.append((jk - prev_j) / (dk - prev_d))
            prev_d, prev_j = float(dk), jk
    t0 = min(starts)
    sec = lambda xs: np.array([(x - t0).total_seconds() for x in xs])   # noqa: E731
    return sec(starts), sec(ends), np.array(watts)


@pytest.mark.parametrize("a, b", [(1.0, 45.0), (10.0, 20.0), (780.0, 800.0), (790.0, 812.0)])
def test_codecarbon_equals_power_times_overlap(a, b):
    s, e, w = _codecarbon()
    log = read_power_log(DATA / "codecarbon_emissions.csv")
    assert integrate(log, a, b).energy_j == pytest.approx(overlap_energy(s, e, w, a, b), rel=1e-9)


def test_codecarbon_runs_are_where_the_reference_puts_them():
    s, e, _ = _codecarbon()
    # run 1: 46.5125 s ending 10:02:41, so from 10:01:54.4875; run 2: 38.0205 s ending 10:15:30, so from
    # 10:14:51.9795 = 777.492 s later, flushed after 15.012 and 30.019 s
    assert s[0] == 0.0 and e[0] == pytest.approx(46.5125389)
    assert s[1:].tolist() == pytest.approx([777.492, 777.492 + 15.012, 777.492 + 30.019], abs=1e-3)
    assert e[-1] == pytest.approx(777.492 + 38.0205, abs=1e-3)
    log = read_power_log(DATA / "codecarbon_emissions.csv")
    sel = select(log)
    spans = sorted((pc.start_s, pc.end_s) for pc in sel.pieces)
    assert spans[0] == pytest.approx((s[0], e[0]))
    assert spans[1] == pytest.approx((s[1], e[-1]))


def test_gpu_bench_window_and_idle_equal_numpy():
    meta = json.loads((DATA / "gpu_bench_small.json").read_text())
    raw = nvsmi_raw("gpu_bench_small.csv")
    t0 = raw["t"].min()
    t, w = (raw["t"] - t0).dt.total_seconds().to_numpy(), raw["w"].to_numpy()
    sec = lambda s: (pd.Timestamp(s.replace("/", "-")) - t0).total_seconds()   # noqa: E731
    a, b = sec(meta["window"]["start"]), sec(meta["window"]["end"])
    want = trapezoid_ref(t, w, a, b)
    log = read_power_log(DATA / "gpu_bench_small.csv")
    s, e, how = default_window(log)
    assert (s, e) == pytest.approx((a, b)) and how == "the run, from the gpu_bench JSON"
    we = integrate(log, s, e)
    assert we.energy_j == pytest.approx(want, rel=1e-9)
    got, removed = apply_idle(log, we, "subtract", idle_power(log, s))
    assert removed == pytest.approx(meta["idle_w"] * (b - a))
    assert got == pytest.approx(want - meta["idle_w"] * (b - a), rel=1e-9)
    # the idle figure the log alone gives (no JSON): the median of the samples before the window
    from archsim.gpu.formats import nvidia_smi
    plain = nvidia_smi.read(DATA / "gpu_bench_small.csv", (DATA / "gpu_bench_small.csv").read_text())
    lead = w[t < a]
    assert idle_power(plain, a)[0] == pytest.approx(float(np.median(lead)))


# ---- what `make mutation` found unchecked in archsim.gpu.integrate (tests/MUTATION.md) ---------------

def _write(tmp_path, name, lines):
    p = tmp_path / name
    p.write_text("\n".join(lines) + "\n")
    return p


def _emissions(tmp_path, *rows):
    """A CodeCarbon emissions.csv from (timestamp, run_id, duration s, cumulative GPU energy J) rows."""
    kwh = 1 / 3.6e6
    return _write(tmp_path, "emissions.csv",
                  ["timestamp,project_name,run_id,duration,emissions,gpu_energy,codecarbon_version"]
                  + [f"{ts},p,{run},{dur},0.1,{joules * kwh},2.8.3" for ts, run, dur, joules in rows])


def test_a_window_across_two_runs_counts_each_runs_part(tmp_path):
    """CodeCarbon: run A 100 W for 10 s then 300 W for 10 s (two flushes: samples at 0, 10, 10, 20 s), run B
    50 W from 60 s to 80 s. The window 5 s .. 70 s: A from 5 s to its end (500 + 3000 J), the 40 s gap left
    out, B up to 70 s (500 J); samples strictly inside: A's two at 10 s."""
    path = _emissions(tmp_path, ("2025-06-01T12:00:10", "aaaa-1", 10.0, 1000), ("2025-06-01T12:00:20", "aaaa-1", 20.0, 4000),
                      ("2025-06-01T12:01:20", "bbbb-2", 20.0, 1000))
    log = read_power_log(path)
    sel = select(log, window=(5.0, 70.0))
    assert sel.how == "given on the command line" and sel.segments == [0, 1]
    assert sel.notes == ["the window spans 2 runs/windows of the log; the 40.000 s between them are not in the log "
                         "and not counted"]
    we = integrate_pieces(log, sel.pieces)
    assert we.energy_j == pytest.approx(500 + 3000 + 500) and we.duration_s == pytest.approx(25.0)
    assert we.samples == 2
    rows = {r["name"]: r["status"] for r in segment_report(log, [0], sel)}
    assert rows == {"aaaa-1": "counted (the part inside the window)", "bbbb-2": "counted (the part inside the window)"}
    one = select(log, run="bbbb")
    assert {r["name"]: r["status"] for r in segment_report(log, [0], one)} == {"aaaa-1": "not counted",
                                                                                "bbbb-2": "counted"}


def test_an_ambiguous_run_prefix_is_refused(tmp_path):
    path = _emissions(tmp_path, ("2025-06-01T12:00:10", "aaaa-1", 10.0, 1000), ("2025-06-01T12:01:10", "aaaa-2", 10.0, 1000))
    log = read_power_log(path)
    from archsim.errors import UserError
    with pytest.raises(UserError, match="is the start of 2 run ids"):
        select(log, run="aaaa")
    assert select(log, run="aaaa-2").segments == [1]


def test_how_the_whole_log_was_chosen(tmp_path):
    two = read_power_log(DATA / "nvidia-smi_two_gpus.csv")
    assert select(two).how == "the whole log, each GPU over its own span"
    assert select(two, [0]).how == "the whole log"
    assert segment_report(two, [0, 1], select(two)) == []                 # a plain log has no runs to list
    t0 = 1.7e9
    rows = [f"{t0 + 1 + 3 * k},step,2.5,{250.0 * (k + 1)}" for k in range(2)] + [f"{t0},epoch,20.0,9000.0"]
    log = read_power_log(_write(tmp_path, "zeus.csv", ["start_time,window_name,elapsed_time,gpu0_energy", *rows]))
    assert select(log).how == "the whole log: 1 window (2 inside another, counted through it); --run/--window-name picks one"
    assert select(log, window_name="step").how == "2 windows named 'step' (--window-name)"
    assert select(log, window_name="epoch").how == "1 window named 'epoch' (--window-name)"
    # listed in time order: the epoch (written last, id 2) started first
    assert [r["name"] for r in segment_report(log, [0], select(log))] == ["epoch", "step", "step"]


def test_overlapping_runs_are_refused_naming_the_flag(tmp_path):
    path = _emissions(tmp_path, ("2025-06-01T12:00:10", "aaaa-1", 10.0, 1000), ("2025-06-01T12:00:15", "bbbb-2", 10.0, 1000))
    from archsim.errors import UserError
    with pytest.raises(UserError, match=r"count 5.000 s twice; pick one with --run$"):
        select(read_power_log(path))


def test_a_negative_idle_power_is_refused():
    from archsim.errors import UserError
    log = read_power_log(DATA / "nvidia-smi_csv.csv")
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(UserError, match="idle-w"):
            idle_power(log, 1.0, idle_w=bad)
    assert idle_power(log, 1.0, idle_w=0.0) == (0.0, "given on the command line")


def test_samples_inside_a_window_are_counted():
    raw = nvsmi_raw("nvidia-smi_csv.csv")
    t = (raw["t"] - raw["t"].min()).dt.total_seconds().to_numpy()
    a, b = window(t, (0.13, 0.71))
    log = read_power_log(DATA / "nvidia-smi_csv.csv")
    assert integrate(log, a, b).samples == int(((t > a) & (t < b)).sum()) > 0


def test_asking_a_window_log_for_a_run_names_the_right_flag():
    from archsim.errors import UserError
    log = read_power_log(DATA / "zeus_windows.csv")
    with pytest.raises(UserError, match=r"has no runs \(use --window-name\)"):
        select(log, run="x")
    cc = read_power_log(DATA / "codecarbon_emissions.csv")
    with pytest.raises(UserError, match=r"has no windows \(use --run\)"):
        select(cc, window_name="x")

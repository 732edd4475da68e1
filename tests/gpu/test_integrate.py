"""Energy integration against hand computations, one log per format, written by the tests."""
from __future__ import annotations

import json
from datetime import timedelta

import numpy as np
import pytest

from archsim.errors import UserError
from archsim.gpu.formats import BENCH_KEYS, BENCH_TOOL, read_power_log
from archsim.gpu.integrate import apply_idle, idle_power, integrate, trapezoid_j
from archsim.gpu.sample import write_bench_sample

from .conftest import T0, nvsmi_lines, write

TEN_HZ = np.round(np.arange(0, 101) * 0.1, 3)  # 0.0 .. 10.0 s


def test_trapezoid_by_hand():
    t = np.array([0.0, 1.0, 2.0, 4.0])
    p = np.array([10.0, 30.0, 30.0, 10.0])
    # whole: (10+30)/2*1 + 30*1 + (30+10)/2*2 = 20 + 30 + 40
    assert trapezoid_j(t, p, 0.0, 4.0) == (90.0, 2)
    # [0.5, 3]: P(0.5)=20, P(3)=20 -> (20+30)/2*0.5 + 30 + (30+20)/2*1 = 12.5 + 30 + 25
    assert trapezoid_j(t, p, 0.5, 3.0)[0] == pytest.approx(67.5)
    # a step (two samples at t=1): 10 W before, 50 W after; [1, 2] sees only the 50 W side
    ts, ps = np.array([0.0, 1.0, 1.0, 2.0]), np.array([10.0, 10.0, 50.0, 50.0])
    assert trapezoid_j(ts, ps, 1.0, 2.0)[0] == pytest.approx(50.0)
    assert trapezoid_j(ts, ps, 0.0, 1.0)[0] == pytest.approx(10.0)


@pytest.mark.parametrize("header,units", [(True, True), (False, True), (True, False), (False, False)])
def test_nvidia_smi_constant_and_ramp(tmp_path, header, units):
    flat = read_power_log(write(tmp_path / "flat.csv", nvsmi_lines(TEN_HZ, [100.0] * 101, header, units)))
    assert integrate(flat, 2.0, 7.0).energy_j == pytest.approx(500.0)          # 100 W x 5 s
    ramp = read_power_log(write(tmp_path / "ramp.csv", nvsmi_lines(TEN_HZ, 10.0 * TEN_HZ, header, units)))
    assert integrate(ramp, 0.0, 10.0).energy_j == pytest.approx(500.0)         # int 10t dt, 0..10
    assert integrate(ramp, 2.5, 7.5).energy_j == pytest.approx(250.0)          # 5 (7.5^2 - 2.5^2)
    assert integrate(ramp, 2.55, 2.55 + 1.0).energy_j == pytest.approx(30.5)   # P(3.05) x 1 s


def test_nvidia_smi_na_and_two_gpus(tmp_path):
    watts = ["[N/A]" if k in (5, 6, 40) else 100.0 for k in range(101)]
    log = read_power_log(write(tmp_path / "na.csv", nvsmi_lines(TEN_HZ, watts)))
    assert integrate(log, 0.0, 10.0).energy_j == pytest.approx(1000.0)       # gaps bridged at 100 W
    times = np.repeat(TEN_HZ, 2)
    two = read_power_log(write(tmp_path / "two.csv",
                               nvsmi_lines(times, [100.0, 50.0] * 101, index=[0, 1] * 101)))
    e = integrate(two, 1.0, 3.0)
    assert e.per_gpu_j == {0: pytest.approx(200.0), 1: pytest.approx(100.0)} and e.energy_j == pytest.approx(300.0)
    assert integrate(two, 1.0, 3.0, [1]).energy_j == pytest.approx(100.0)
    # the same two GPUs without an index column: rows sharing a timestamp are GPU 0, 1 in order
    noidx = read_power_log(write(tmp_path / "noidx.csv", nvsmi_lines(times, [100.0, 50.0] * 101)))
    assert noidx.gpus == [0, 1] and integrate(noidx, 1.0, 3.0).energy_j == pytest.approx(300.0)


def test_zeus_monitor_by_hand(tmp_path):
    # 250 W (250000 mW) for 2 s then 50 W: samples every 0.05 s, UTC with nanoseconds
    lines = ["Time,Power"]
    for k in range(81):
        t = T0 + timedelta(seconds=k * 0.05)
        lines.append(f"{t:%Y-%m-%d %H:%M:%S}.{t.microsecond * 1000:09d},{250000 if k <= 40 else 50000}")
    log = read_power_log(write(tmp_path / "zeus.csv", lines))
    assert integrate(log, 0.0, 2.0).energy_j == pytest.approx(500.0)
    # 2.0 .. 2.05 is the ramp 250 -> 50 W: 7.5 J; 2.05 .. 4.0 at 50 W: 97.5 J
    assert integrate(log, 0.0, 4.0).energy_j == pytest.approx(500.0 + 7.5 + 97.5)


def test_zeus_windows_by_hand(tmp_path):
    log = read_power_log(write(tmp_path / "zw.csv", [
        "start_time,window_name,elapsed_time,gpu0_energy,gpu1_energy",
        "1700000000.0,a,10.0,1000.0,500.0",      # 100 W and 50 W for 10 s
        "1700000020.0,b,5.0,2000.0,1000.0"]))     # 400 W and 200 W for 5 s, after a gap
    assert integrate(log, 0.0, 10.0).energy_j == pytest.approx(1500.0)
    assert integrate(log, 2.5, 7.5, [0]).energy_j == pytest.approx(500.0)
    assert integrate(log, 21.0, 23.0).energy_j == pytest.approx(1200.0)     # (400 + 200) W x 2 s
    # a window across the gap: the parts the log covers, the gap left out (not bridged)
    across = integrate(log, 5.0, 22.0)
    assert across.energy_j == pytest.approx(150.0 * 5.0 + 600.0 * 2.0) and across.duration_s == pytest.approx(7.0)
    with pytest.raises(UserError, match="does not cover the run's window"):
        integrate(log, 5.0, 15.0)                                          # ends in the gap


def test_codecarbon_by_hand(tmp_path):
    # one run flushed once: 100 W for its first 10 s, then 200 W for 20 s (cumulative rows)
    kwh = lambda j: j / 3.6e6  # noqa: E731
    log = read_power_log(write(tmp_path / "emissions.csv", [
        "timestamp,project_name,run_id,duration,emissions,gpu_power,gpu_energy,energy_consumed,codecarbon_version",
        f"2025-06-01T12:00:10,p,r1,10.0,0.0001,100.0,{kwh(1000.0)},{kwh(1000.0)},2.8.3",
        f"2025-06-01T12:00:30,p,r1,30.0,0.0003,200.0,{kwh(5000.0)},{kwh(5000.0)},2.8.3"]))
    assert log.seconds("2025-06-01 12:00:00") == pytest.approx(0.0)
    assert integrate(log, 0.0, 30.0).energy_j == pytest.approx(5000.0)
    assert integrate(log, 0.0, 10.0).energy_j == pytest.approx(1000.0)
    assert integrate(log, 5.0, 20.0).energy_j == pytest.approx(500.0 + 2000.0)


def test_gpu_bench_pair_by_hand(tmp_path):
    """A gpu_bench CSV + JSON: the run's window and idle power come from the JSON."""
    csv = write(tmp_path / "b.csv", nvsmi_lines(TEN_HZ, [50.0 if t < 3.0 else 150.0 for t in TEN_HZ]))
    rec = dict.fromkeys(BENCH_KEYS)
    rec.update(tool=BENCH_TOOL, power_log="b.csv", idle_w=50.0, idle_s=2.0, images=1000, fps=250.0,
               window={"start": "2025/06/01 12:00:04.000", "end": "2025/06/01 12:00:08.000"})
    (tmp_path / "b.json").write_text(json.dumps(rec))
    log = read_power_log(csv)
    assert log.format == "gpu_bench"
    start, end = log.seconds(rec["window"]["start"]), log.seconds(rec["window"]["end"])
    we = integrate(log, start, end)
    assert we.energy_j == pytest.approx(600.0)                                 # 150 W x 4 s
    assert apply_idle(log, we, "subtract", idle_power(log, start)) == (pytest.approx(400.0), pytest.approx(200.0))
    assert apply_idle(log, we, "keep", idle_power(log, start)) == (pytest.approx(600.0), 0.0)


def test_idle_from_lead_in_or_refused(tmp_path):
    log = read_power_log(write(tmp_path / "l.csv", nvsmi_lines(TEN_HZ, [50.0 if t < 3.0 else 150.0 for t in TEN_HZ])))
    watts, how = idle_power(log, 4.0)
    assert watts == pytest.approx(50.0) and "before the window" in how
    assert idle_power(log, 4.0, idle_w=42.0) == (42.0, "given on the command line")
    assert idle_power(log, 0.5) is None                                         # under 1 s of lead-in
    with pytest.raises(UserError, match="cannot subtract idle power"):
        apply_idle(log, integrate(log, 0.5, 2.0), "subtract", None)


def test_synthetic_sample_energy_matches_its_profile(tmp_path):
    """The sample writer's JSON figures are the integrator's own, and close to the noise-free counter."""
    rec = write_bench_sample(tmp_path / "s.csv", run_s=4.0, idle_s=1.0, hz=20)
    assert rec["energy_j"]["integrated"] == pytest.approx(rec["energy_j"]["counter"], rel=0.02)
    assert rec["idle_w"] == pytest.approx(71.0, abs=0.5)

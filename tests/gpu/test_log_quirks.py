"""What real GPU logs do that our own fixtures did not (issue 29), each on a small log written here with
hand-checkable power: UTC offsets, index-less multi-GPU nvidia-smi logs (GPUs by their order within each
poll, ``--gpus N``), NUL tails and cut-off last lines, the wide one-column-per-GPU layout, GPU labels that
do not tell the GPUs apart, no time column, Zeus's monotonic clock, and errors of bounded length."""
from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest

from archsim.errors import UserError
from archsim.gpu.compare import compare_with_log
from archsim.gpu.formats import read_power_log
from archsim.gpu.integrate import integrate_pieces, select

from .conftest import SUMMARY, nvsmi_lines, nvsmi_time, run_archsim, write

HEAD = "timestamp, power.draw [W], utilization.gpu [%], memory.used [MiB]"


def whole_j(log) -> float:
    return integrate_pieces(log, select(log).pieces).energy_j


def polled(times_per_gpu, watts_per_gpu) -> list[str]:
    """An index-less nvidia-smi log: one row per GPU per poll, GPUs in order (times s per poll, per GPU)."""
    rows = [HEAD]
    for stamps in times_per_gpu:
        rows += [f"{nvsmi_time(t)}, {w:.2f} W, 0 %, 1 MiB" for t, w in zip(stamps, watts_per_gpu)]
    return rows


# --- time zones -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("zone,shift_h", [("+08:00", 8), ("Z", 0), ("-05:00", -5), ("+0530", 5.5)])
def test_iso_offsets_become_utc(tmp_path, zone, shift_h):
    local = datetime(2025, 9, 8, 17, 26, 50)
    lines = ["timestamp,power.draw [W]"] + [f"{(local + timedelta(seconds=k)).isoformat()}{zone},{100 + 10 * k}"
                                           for k in range(5)]
    log = read_power_log(write(tmp_path / "z.csv", lines))
    assert log.t0 == local - timedelta(hours=shift_h)
    assert whole_j(log) == pytest.approx(105 + 115 + 125 + 135)      # trapezoids of 100..140 W, 1 s apart
    assert any(f"UTC offset ({zone})" in n for n in log.notes)


def test_a_clock_change_inside_the_log_is_one_second(tmp_path):
    # 01:59:59+01:00 and 03:00:00+02:00 are one second apart (a daylight-saving change)
    lines = ["timestamp,power.draw [W]", "2025-03-30T01:59:58+01:00,100", "2025-03-30T01:59:59+01:00,100",
             "2025-03-30T03:00:00+02:00,100"]
    log = read_power_log(write(tmp_path / "dst.csv", lines))
    assert log.timeline["time_s"].tolist() == [0.0, 1.0, 2.0] and whole_j(log) == pytest.approx(200.0)


def test_offsets_on_some_rows_only_are_refused(tmp_path):
    lines = ["timestamp,power.draw [W]", "2025-03-30T01:59:58+01:00,100", "2025-03-30T01:59:59,100"]
    with pytest.raises(UserError, match=r"timestamp: .* at line 3 has no UTC offset, unlike line 2"):
        read_power_log(write(tmp_path / "mixed.csv", lines))


# --- GPUs without an index column -----------------------------------------------------------------------

def test_two_gpus_whose_stamps_never_coincide(tmp_path):
    # polls every 0.1 s; GPU 1 read 3 ms after GPU 0: no two stamps equal, still two GPUs
    polls = [(0.1 * k, 0.1 * k + 0.003) for k in range(21)]
    log = read_power_log(write(tmp_path / "two.csv", polled(polls, [100.0, 50.0])))
    assert log.gpus == [0, 1] and "order within each poll of 2 rows" in log.gpus_from
    assert whole_j(log) == pytest.approx(100.0 * 2.0 + 50.0 * 2.0)     # each GPU over its own 2.0 s
    assert any("2 GPUs told apart by their order within each poll" in n for n in log.notes)


def test_eight_gpus_with_a_stalled_read(tmp_path):
    # 8 GPUs read 1 ms apart, polls 0.1 s apart after the last read; GPU 5 stalls 0.4 s in poll 3
    polls, t = [], 0.0
    for k in range(10):
        stamps = []
        for g in range(8):
            t += 0.4 if (k, g) == (3, 5) else (0.001 if g else 0.0)
            stamps.append(t)
        polls.append(stamps)
        t += 0.1
    watts = [10.0 * (g + 1) for g in range(8)]
    log = read_power_log(write(tmp_path / "eight.csv", polled(polls, watts)))
    assert log.gpus == list(range(8))
    span = [polls[-1][g] - polls[0][g] for g in range(8)]
    assert whole_j(log) == pytest.approx(sum(w * s for w, s in zip(watts, span)), rel=1e-6)


def test_one_gpu_evenly_spaced_stays_one_gpu_without_a_note(tmp_path):
    log = read_power_log(write(tmp_path / "one.csv", nvsmi_lines(np.arange(30) * 0.1, [70.0] * 30)))
    assert log.gpus == [0] and log.notes == []
    # a stamp repeated once (two samples within 1 ms, as a sampler's last row after its last tick): still one
    once = read_power_log(write(tmp_path / "once.csv", nvsmi_lines(list(np.arange(30) * 0.1) + [2.9], [70.0] * 31)))
    assert once.gpus == [0] and whole_j(once) == pytest.approx(70.0 * 2.9)
    assert once.notes == ["1 of 31 rows share the timestamp of the row before: read as one GPU (--gpus N if the "
                          "log holds N GPUs)"]


def ambiguous(tmp_path):
    """Two GPUs polled every 10 ms, each read taking 5 ms, some reads sharing a stamp: the gaps cannot tell."""
    polls = [(0.01 * k, 0.01 * k + (0.0 if k % 3 == 0 else 0.005)) for k in range(30)]
    return write(tmp_path / "ambiguous.csv", polled(polls, [100.0, 50.0])), polls


def test_gpu_count_override_where_the_gaps_cannot_tell(tmp_path, summary_file):
    path, polls = ambiguous(tmp_path)
    with pytest.raises(UserError, match=r"timestamp: 10 rows repeat the stamp before them \(first at line 3\) "
                                        r"but form no regular polls: .* pass --gpus N"):
        read_power_log(path)
    log = read_power_log(path, gpu_count=2)
    assert log.gpus == [0, 1] and whole_j(log) == pytest.approx(100.0 * 0.29 + 50.0 * (polls[-1][1] - polls[0][1]))
    assert any("(--gpus 2)" in n for n in log.notes)
    r = run_archsim("compare-gpu", summary_file, path, "--idle", "keep", "--gpus", "2")
    assert r.returncode == 0, r.stderr
    assert "GPU 0, 1" in r.stdout and "told apart by their order within each poll of 2 rows (--gpus 2)" in r.stdout


def test_gpu_count_that_disagrees_with_the_log(tmp_path):
    two = write(tmp_path / "idx.csv", nvsmi_lines(np.repeat(np.arange(5) * 0.1, 2), [1.0] * 10, index=[0, 1] * 5))
    with pytest.raises(UserError, match="--gpus: idx.csv: its index column names 2 GPUs; --gpus 3 disagrees"):
        read_power_log(two, gpu_count=3)
    assert read_power_log(two, gpu_count=2).gpus == [0, 1]
    wide = write(tmp_path / "wide.csv", ["timestamp,GPU0,GPU1", "1.0,1,2", "2.0,1,2"])
    with pytest.raises(UserError, match=r"--gpus: wide.csv \(wide\) names its GPUs itself: 2"):
        read_power_log(wide, gpu_count=1)


# --- NUL bytes and cut-off lines ------------------------------------------------------------------------

def test_nul_tail_is_dropped_with_a_note(tmp_path):
    p = tmp_path / "killed.csv"
    p.write_bytes("\n".join(nvsmi_lines([0.0, 0.1, 0.2], [100.0] * 3)).encode() + b"\n" + b"\0" * 300)
    log = read_power_log(p)
    assert len(log.timeline) == 3 and whole_j(log) == pytest.approx(20.0)
    assert log.notes == ["the file ends in 300 NUL bytes (what a logger stopped mid-write, e.g. by kill -9, "
                         "leaves): dropped"]


def test_nul_bytes_before_the_end_or_in_the_first_line(tmp_path):
    mid = tmp_path / "mid.csv"
    mid.write_bytes(f"{HEAD}\n{nvsmi_time(0)}, 1 W, 0 %, 1 MiB\n".encode() + b"\0\0\n"
                    + f"{nvsmi_time(1)}, 1 W, 0 %, 1 MiB\n".encode())
    with pytest.raises(UserError, match="file: NUL bytes at line 3, before the end of the log"):
        read_power_log(mid)
    png = tmp_path / "plot.csv"
    png.write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + b"\1" * 50)
    with pytest.raises(UserError, match="format: a binary file"):
        read_power_log(png)
    only = tmp_path / "zeros.csv"
    only.write_bytes(b"\0" * 64)
    with pytest.raises(UserError, match="only 64 NUL bytes, no samples"):
        read_power_log(only)


def test_cut_off_last_line_is_dropped_with_a_note(tmp_path):
    lines = nvsmi_lines([0.0, 0.1, 0.2, 0.3], [100.0] * 4)
    cut = tmp_path / "cut.csv"
    cut.write_text("\n".join(lines[:-1]) + "\n" + lines[-1][:30])            # no newline, two cells
    log = read_power_log(cut)
    assert len(log.timeline) == 3 and whole_j(log) == pytest.approx(20.0)
    assert any("the last line is cut short (2 of 4 cells" in n for n in log.notes)
    whole = tmp_path / "whole.csv"
    whole.write_text("\n".join(lines))                                       # no newline, but complete
    assert len(read_power_log(whole).timeline) == 4


# --- the wide layout ------------------------------------------------------------------------------------

def test_wide_unix_seconds_one_column_per_gpu(tmp_path):
    lines = ["timestamp,GPU0,GPU1", "1763638585.0,200,100", "1763638586.0,220,100", "1763638588.0,220,,"]
    log = read_power_log(write(tmp_path / "w.csv", lines))
    assert log.format == "wide" and log.gpus == [0, 1] and log.gpus_from == "one column per GPU (GPU0, GPU1)"
    assert log.t0 == datetime(2025, 11, 20, 11, 36, 25)
    # GPU0: 210 + 440 over 3 s; GPU1: its empty last cell skipped, 100 W over 1 s
    assert whole_j(log) == pytest.approx(210 + 440 + 100)
    assert any("1 of 3 GPU1 cells were empty" in n for n in log.notes)


@pytest.mark.parametrize("head,rows,clock", [
    ("time,gpu_0 [mW],gpu_1 [mW]", ["1700000000,100000,50000", "1700000002.5,100000,50000"], "Unix time in s"),
    ("epoch,gpu0_power_w,gpu1_power_w", ["1700000000000,100,50", "1700000002500,100,50"], "Unix time in ms"),
    ("time_s,GPU0,GPU1", ["10.0,100,50", "12.5,100,50"], "logger's own clock"),
])
def test_wide_units_and_clocks(tmp_path, head, rows, clock):
    log = read_power_log(write(tmp_path / "w.csv", [head] + rows))
    assert log.gpus == [0, 1] and whole_j(log) == pytest.approx(150.0 * 2.5)    # 100 W + 50 W for 2.5 s
    assert any(clock in n for n in log.notes)


def test_wide_milliwatts_without_a_unit_are_refused(tmp_path):
    with pytest.raises(UserError, match=r"GPU0: 32402 W is no GPU's board power: .* name it GPU0 \[mW\]"):
        read_power_log(write(tmp_path / "mw.csv", ["timestamp,GPU0", "1.0,32402", "2.0,32402"]))


# --- GPU labels -----------------------------------------------------------------------------------------

def labelled(index_col: bool, gpu_col: bool) -> list[str]:
    head = "timestamp" + (",gpu" if gpu_col else "") + (",index" if index_col else "") + ",power.draw"
    rows = [head]
    for k in range(4):
        for g in range(3):
            rows.append(f"2025-09-08T17:26:5{k}+08:00" + (f",{g}" if gpu_col else "") + (", 0" if index_col else "")
                        + f", {10.0 * (g + 1):.2f}")
    return rows


def test_an_index_that_is_0_on_every_row_gives_way_to_the_gpu_column(tmp_path):
    log = read_power_log(write(tmp_path / "custom.csv", labelled(True, True)))
    assert log.gpus == [0, 1, 2] and whole_j(log) == pytest.approx((10 + 20 + 30) * 3.0)
    assert "gpu column (index does not tell them apart)" in log.gpus_from
    assert any("3 rows say index '0' at one timestamp, lines 2-4" in n for n in log.notes)


def test_labels_that_tell_nothing_are_refused_unless_gpus_given(tmp_path):
    path = write(tmp_path / "zeros.csv", labelled(True, False))
    with pytest.raises(UserError, match=r"index: the GPU labels do not tell the GPUs apart .* --gpus N"):
        read_power_log(path)
    log = read_power_log(path, gpu_count=3)
    assert log.gpus == [0, 1, 2] and whole_j(log) == pytest.approx((10 + 20 + 30) * 3.0)


# --- no time column, Zeus clocks, bounded errors ---------------------------------------------------------

@pytest.mark.parametrize("lines", [["power.draw [W]", "13.61 W", "13.61 W"], ["13.61 W", "14.09 W"],
                                   ["GPU0,GPU1", "100,200", "100,200"]])
def test_power_without_time_says_no_time_column(tmp_path, lines):
    with pytest.raises(UserError, match="timestamp: no time column .* cannot be integrated into energy"):
        read_power_log(write(tmp_path / "p.csv", lines))


@pytest.mark.parametrize("start,clock", [(526940.79, "monotonic clock (526,940.8 s"), (1.7e9, "Unix time")])
def test_zeus_window_clock_is_named(tmp_path, start, clock):
    lines = ["start_time,window_name,elapsed_time,gpu0_energy", f"{start},w,10.0,1000.0"]
    log = read_power_log(write(tmp_path / "zeus.csv", lines))
    assert clock in log.notes[0] and whole_j(log) == pytest.approx(1000.0)


def test_a_huge_junk_cell_gives_a_short_one_line_error(tmp_path, summary_file):
    junk = "x" * 10_000
    path = write(tmp_path / "junk.csv", nvsmi_lines([0.0, 0.1], [1.0, 1.0]) + [f"{junk}, 1 W, 0 %, 1 MiB"])
    with pytest.raises(UserError) as err:
        read_power_log(path)
    assert len(str(err.value)) <= 300 and "\n" not in str(err.value) and "(10000 chars)" in str(err.value)
    r = run_archsim("compare-gpu", summary_file, path)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and len(r.stderr) <= 310


def test_compare_result_says_how_gpus_were_told_apart(tmp_path):
    polls = [(0.1 * k, 0.1 * k + 0.002) for k in range(11)]
    res = compare_with_log(dict(SUMMARY), str(write(tmp_path / "two.csv", polled(polls, [100.0, 50.0]))), "keep")
    assert res["gpu"]["gpus_from"].startswith("order within each poll of 2 rows")
    assert res["gpu"]["energy_idle_kept_j"] == pytest.approx(150.0 * 1.0)

"""``python -m archsim compare-gpu``: the Table-3 comparison, --json, --plot, and one-line errors (exit 2)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from archsim.errors import UserError
from archsim.gpu.compare import compare_with_log, format_table, load_summary

from .conftest import DATA, SUMMARY, nvsmi_lines, run_archsim, write

TEN_HZ = np.round(np.arange(0, 101) * 0.1, 3)


def test_table_from_gpu_bench_sample(tmp_path):
    png = tmp_path / "cmp.png"
    summary_file = tmp_path / "summary.json"        # the same 512 images the sample GPU run had
    summary_file.write_text(json.dumps(dict(SUMMARY, images=512, energy_j=512 * SUMMARY["energy_per_image_j"])))
    r = run_archsim("compare-gpu", summary_file, DATA / "gpu_bench_small.csv", "--plot", png)
    assert r.returncode == 0, r.stderr
    meta = json.loads((DATA / "gpu_bench_small.json").read_text())
    out = r.stdout
    assert "[SAMPLE, not a measurement]" in out
    assert "the run, from the gpu_bench JSON" in out
    assert f"idle         subtracted: {meta['idle_w']:.1f} W" in out
    gpu_j = meta["energy_j"]["integrated"] - meta["idle_w"] * meta["wall_s"]
    pct = 100 * (SUMMARY["energy_per_image_j"]) / (gpu_j / meta["images"])
    assert f"{pct:.2f}%" in out
    assert png.stat().st_size > 10_000


def test_json_keep_idle_and_window(summary_file):
    args = ("compare-gpu", summary_file, DATA / "nvidia-smi_csv.csv", "--idle", "keep", "--window",
            "1.0", "2.0", "--gpu-images", "500", "--json")
    refused = run_archsim(*args)                      # 500 GPU images against 10000 simulated ones
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1
    assert "images 500 on the GPU, 10000 on the accelerator" in refused.stderr and "--allow-mismatch" in refused.stderr
    r = run_archsim(*args, "--allow-mismatch")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["mismatch"] == ["images 500 on the GPU, 10000 on the accelerator"]
    assert res["notes"][0].startswith("MISMATCH, compared anyway")
    g = res["gpu"]
    assert res["idle"]["mode"] == "keep" and res["idle"]["removed_j"] == 0.0
    assert g["window_s"] == [1.0, 2.0] and g["images"] == 500 and g["fps"] == pytest.approx(500.0)
    assert g["energy_j"] == g["energy_idle_kept_j"]
    assert res["comparison"]["energy_pct_of_gpu"] == pytest.approx(
        100 * SUMMARY["energy_per_image_j"] / (g["energy_j"] / 500))
    assert any("compared per image" in n for n in res["notes"])


def test_compare_with_log_api_and_idle_stated(tmp_path):
    """What the simulator's `run --compare-gpu LOG` calls: idle is always stated in the table."""
    log = write(tmp_path / "l.csv", nvsmi_lines(TEN_HZ, [50.0 if t < 3.0 else 150.0 for t in TEN_HZ]))
    res = compare_with_log(dict(SUMMARY), str(log), "subtract", (4.0, 8.0))
    assert res["gpu"]["energy_idle_kept_j"] == pytest.approx(600.0)
    assert res["gpu"]["energy_j"] == pytest.approx(400.0)           # 600 J - 50 W x 4 s
    assert res["gpu"]["fps"] == pytest.approx(10000 / 4.0)
    assert res["comparison"]["energy_pct_of_gpu"] == pytest.approx(100 * 537.6 / 400.0)
    text = format_table(res)
    assert "subtracted: 50.0 W x 4.000 s = 200.0 J" in text and "134.40%" in text
    kept = format_table(compare_with_log(dict(SUMMARY), str(log), "keep", (4.0, 8.0)))
    assert "kept: the GPU energy includes its idle draw" in kept


def _bad_logs(tmp_path):
    b = {}
    b["empty"] = (write(tmp_path / "empty.csv", []), "file is empty")
    b["backwards"] = (write(tmp_path / "back.csv", nvsmi_lines([0.0, 0.1, 0.2, 0.15, 0.3], [70.0] * 5)),
                      "timestamps go backwards at line 5")
    b["no power column"] = (write(tmp_path / "nopower.csv", [
        "timestamp, utilization.gpu [%], memory.used [MiB]",
        "2025/06/01 12:00:00.000, 0 %, 5 MiB", "2025/06/01 12:00:00.100, 0 %, 5 MiB"]), "no power column")
    b["unknown unit"] = (write(tmp_path / "hp.csv", nvsmi_lines([0.0, 0.1], ["0.1 hp", "0.1 hp"])),
                         "power in an unknown unit 'hp' (line 2)")
    b["unknown header unit"] = (write(tmp_path / "dbm.csv", [
        "timestamp, power.draw [dBm]", "2025/06/01 12:00:00.000, 20", "2025/06/01 12:00:00.100, 20"]),
        "power in an unknown unit 'dBm'")
    b["no format"] = (write(tmp_path / "other.csv", ["name,score", "alice,3", "bob,4"]),
                      "not a GPU power log in any known format")
    b["foreign json"] = (write(tmp_path / "other.json", ['{"loss": 0.1}']), "not a gpu_bench result")
    b["cpu bench json"] = (write(tmp_path / "cpu.json", [json.dumps({"tool": "snn.gpu_bench", "power_log": None,
                                                                     "device": "cpu"})]),
                           "no power figures: gpu_bench ran on cpu")
    return b


@pytest.mark.parametrize("case", ["empty", "backwards", "no power column", "unknown unit", "unknown header unit",
                                  "no format", "foreign json", "cpu bench json"])
def test_bad_log_is_one_line_exit_2(case, tmp_path, summary_file):
    path, what = _bad_logs(tmp_path)[case]
    r = run_archsim("compare-gpu", summary_file, path)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert r.stderr.count("\n") == 1 and r.stderr.startswith(f"error: {path}: "), r.stderr
    assert what in r.stderr


def test_log_not_covering_the_window(tmp_path, summary_file):
    log = write(tmp_path / "short.csv", nvsmi_lines(TEN_HZ, [100.0] * 101))
    r = run_archsim("compare-gpu", summary_file, log, "--window", "5", "30", "--idle", "keep")
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert r.stderr.startswith(f"error: {log}: window: the log does not cover the run's window 5.000..30.000 s")
    # a gpu_bench JSON whose run lies outside its CSV
    from archsim.gpu.formats import BENCH_KEYS, BENCH_TOOL
    rec = dict.fromkeys(BENCH_KEYS)
    rec.update(tool=BENCH_TOOL, power_log="short.csv", idle_w=70.0, images=SUMMARY["images"],
               window={"start": "2025/06/01 12:00:08.000", "end": "2025/06/01 12:00:12.000"})
    (tmp_path / "short.json").write_text(json.dumps(rec))
    r = run_archsim("compare-gpu", summary_file, log)
    assert r.returncode == 2 and "does not cover the run's window 8.000..12.000 s" in r.stderr


@pytest.mark.parametrize("content,what", [
    ('{"images": 10, "fps": 3}', "not an archsim summary (missing energy_j, energy_per_image_j"),
    ('[1, 2]', "not an archsim summary (a JSON list"),
    ('timestamp, power.draw [W]', "not an archsim summary (not JSON"),
    ('', "file is empty"),
])
def test_summary_that_is_not_archsims(tmp_path, content, what):
    s = tmp_path / "s.json"
    s.write_text(content)
    r = run_archsim("compare-gpu", s, DATA / "nvidia-smi_csv.csv")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and r.stderr.startswith(f"error: {s}: ")
    assert what in r.stderr


def test_summary_checks_in_process(tmp_path):
    bad = dict(SUMMARY, images=0)
    p = tmp_path / "s.json"
    p.write_text(json.dumps(bad))
    with pytest.raises(UserError, match="images: must be a number >= 1"):
        load_summary(p)
    with pytest.raises(UserError, match="no such file"):
        load_summary(tmp_path / "missing.json")


def test_idle_subtract_without_any_idle_figure(tmp_path, summary_file):
    r = run_archsim("compare-gpu", summary_file, DATA / "nvidia-smi_csv.csv")
    assert r.returncode == 2 and "cannot subtract idle power" in r.stderr and "--idle keep" in r.stderr
    r = run_archsim("compare-gpu", summary_file, DATA / "nvidia-smi_csv.csv", "--idle-w", "29.5")
    assert r.returncode == 0 and "29.5 W x 3.098 s" in r.stdout and "given on the command line" in r.stdout

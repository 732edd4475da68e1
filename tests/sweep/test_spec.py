"""The sweep file: bad files stop with one line naming the entry (exit 2, nothing started); good ones
expand to the points they describe, with stable hashes."""
from pathlib import Path

import pytest
import yaml

from archsim.sweep.spec import load_sweep
from tests.sweep.conftest import DEFAULT_HW, cli, write_sweep

BAD = [
    # (what is wrong, sweep body, text the one-line error must contain)
    ("unknown path", {"grid": {"mesh.colz": [4, 8]}}, "grid.mesh.colz: unknown parameter 'mesh.colz'"),
    ("unknown nested path", {"grid": {"core.weight_sram.size_kb": [64]}}, "did you mean 'size_kib'"),
    ("empty grid", {"grid": {}}, "grid: "),
    ("empty value list", {"grid": {"clock_mhz": []}}, "grid.clock_mhz: List should have at least 1 item"),
    ("wrong type, hw field", {"grid": {"clock_mhz": [100, "fast"]}}, "grid.clock_mhz: clock_mhz='fast'"),
    ("wrong type, run option", {"grid": {"exit.threshold": [0.5, "high"]}}, "grid.exit.threshold"),
    ("out-of-range threshold", {"grid": {"exit.threshold": [1.5]}}, "grid.exit.threshold"),
    ("unknown policy", {"list": [{"exit.policy": "sometimes"}]}, "list.exit.policy"),
    ("unknown mode", {"fixed": {"mode": "fast"}, "grid": {"clock_mhz": [100]}}, "fixed: mode='fast'"),
    ("too many samples", {"grid": {"samples": [10, 1000]}}, "grid.samples: samples=1000"),
    ("a scalar, not a list", {"grid": {"clock_mhz": 100}}, "grid.clock_mhz: Input should be a valid list"),
    ("two strategies", {"grid": {"clock_mhz": [1]}, "list": [{"clock_mhz": 2}]}, "give exactly one of"),
    ("bad range", {"random": {"count": 3, "parameters": {"clock_mhz": {"low": 9, "high": 1}}}},
     "random.parameters.clock_mhz: low (9.0) must not exceed high (1.0)"),
    ("unknown key", {"grid": {"clock_mhz": [1]}, "colour": "red"}, "colour: unknown key"),
    ("fixed and varied", {"fixed": {"clock_mhz": 100}, "grid": {"clock_mhz": [200]}}, "both fixed and varied"),
    ("bad objective", {"grid": {"clock_mhz": [100]}, "objectives": {"fps": "maximise"}}, "objectives.fps"),
    ("misspelt metric", {"grid": {"clock_mhz": [100]}, "objectives": {"energy_per_image": "minimize"}},
     "did you mean 'energy_per_image_j'"),
]


@pytest.mark.parametrize("what,body,expected", BAD, ids=[b[0] for b in BAD])
def test_bad_sweep_file_is_one_line_exit_2_and_nothing_starts(tmp_path, tiny_npz, capsys, what, body, expected):
    spec = write_sweep(tmp_path, tiny_npz, **body)
    out = tmp_path / "out"
    assert cli("sweep", spec, "--out", out) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: {spec}: "), err
    assert expected in err, err
    assert not out.exists()  # nothing written, so nothing started


def test_missing_workload_and_base(tmp_path, tiny_npz, capsys):
    spec = write_sweep(tmp_path, tmp_path / "nope.npz", grid={"clock_mhz": [100]})
    assert cli("sweep", spec, "--out", tmp_path / "o") == 2
    assert "workloads[0]: no such workload" in capsys.readouterr().err
    raw = yaml.safe_load(spec.read_text())
    spec.write_text(yaml.safe_dump({**raw, "base": "missing.yaml", "workloads": [str(tiny_npz)]}))
    assert cli("sweep", spec, "--out", tmp_path / "o") == 2
    assert "base: no such hwconfig 'missing.yaml'" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_grid_is_the_product_times_workloads(tmp_path, tiny_npz):
    plan = load_sweep(write_sweep(tmp_path, tiny_npz, fixed={"mode": "analytic", "samples": 8},
                                  grid={"mesh.cols": [2, 4, 8], "clock_mhz": [100, 400]}))
    assert len(plan.points) == 6
    assert plan.parameters == ["mode", "samples", "mesh.cols", "clock_mhz"]
    assert [(p.params["mesh.cols"], p.params["clock_mhz"]) for p in plan.points] == \
        [(2, 100), (2, 400), (4, 100), (4, 400), (8, 100), (8, 400)]
    assert all(p.hw.mesh.cols == p.params["mesh.cols"] for p in plan.points)
    assert all(p.options.samples == 8 and p.options.mode == "analytic" for p in plan.points)
    assert len({p.hash for p in plan.points}) == 6


def test_list_records_effective_values_of_unset_parameters(tmp_path, tiny_npz):
    plan = load_sweep(write_sweep(tmp_path, tiny_npz, list=[{"clock_mhz": 300}, {"mesh.rows": 2}]))
    assert [p.params for p in plan.points] == [{"clock_mhz": 300.0, "mesh.rows": 4},
                                               {"clock_mhz": 200.0, "mesh.rows": 2}]
    assert plan.points[0].options.samples == 40  # the whole workload


def test_random_is_seeded_and_in_range(tmp_path, tiny_npz):
    body = {"random": {"count": 12, "parameters": {
        "clock_mhz": {"low": 100, "high": 800, "log": True},
        "core.pe_array.accumulates_per_cycle": {"low": 4, "high": 32, "integer": True},
        "exit.threshold": [0.5, 0.9]}}}
    a = load_sweep(write_sweep(tmp_path, tiny_npz, seed=7, **body))
    b = load_sweep(write_sweep(tmp_path, tiny_npz, seed=7, **body))
    c = load_sweep(write_sweep(tmp_path, tiny_npz, seed=8, **body))
    assert [p.hash for p in a.points] == [p.hash for p in b.points] != [p.hash for p in c.points]
    for p in a.points:
        assert 100 <= p.params["clock_mhz"] <= 800
        assert isinstance(p.params["core.pe_array.accumulates_per_cycle"], int)
        assert p.params["exit.threshold"] in (0.5, 0.9)


def test_duplicate_points_run_once(tmp_path, tiny_npz):
    plan = load_sweep(write_sweep(tmp_path, tiny_npz, list=[{"clock_mhz": 200}, {"clock_mhz": 200.0}, {"mesh.rows": 4}]))
    assert len(plan.points) == 1 and plan.duplicates == 2  # 200 MHz and 4 rows are the defaults


def test_hash_follows_content_not_path(tmp_path, tiny_npz):
    copy = tmp_path / "elsewhere.npz"
    copy.write_bytes(tiny_npz.read_bytes())
    a = load_sweep(write_sweep(tmp_path, tiny_npz, grid={"clock_mhz": [100]}))
    b = load_sweep(write_sweep(tmp_path, copy, grid={"clock_mhz": [100]}))
    c = load_sweep(write_sweep(tmp_path, copy, grid={"clock_mhz": [101]}))
    assert a.points[0].hash == b.points[0].hash != c.points[0].hash


def test_resolved_spec_is_itself_a_sweep_file(tmp_path, tiny_npz):
    plan = load_sweep(write_sweep(tmp_path, tiny_npz, random={"count": 4, "parameters": {
        "clock_mhz": {"low": 100, "high": 400}}}))
    again = tmp_path / "sub" / "sweep.resolved.yaml"
    again.parent.mkdir()
    again.write_text(yaml.safe_dump(plan.resolved(), sort_keys=False))
    replay = load_sweep(again)
    assert [p.hash for p in replay.points] == [p.hash for p in plan.points]
    assert Path(plan.resolved()["base"]) == DEFAULT_HW

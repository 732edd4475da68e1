"""A sweep's own front per workload, its default output folder, and a resolved file without this machine's paths."""
from __future__ import annotations

import yaml

from archsim.sweep.store import read_results
from archsim.synthetic import synthetic_workload
from archsim.workload import save_workload
from tests.sweep.conftest import cli_subprocess, write_sweep


def test_one_front_per_workload_and_relative_paths(tmp_path, tiny_npz):
    other = save_workload(tmp_path / "synthetic_other.npz", synthetic_workload("tiny", 40, 4, seed=7))
    spec = write_sweep(tmp_path, tiny_npz, name="two", fixed={"mode": "analytic"},
                       grid={"clock_mhz": [100, 200, 400]},
                       objectives={"energy_per_image_j": "minimize", "fps": "maximize"})
    raw = yaml.safe_load(spec.read_text())
    raw["workloads"] = [str(tiny_npz), str(other)]
    spec.write_text(yaml.safe_dump(raw))
    run_dir = tmp_path / "cwd"
    run_dir.mkdir()
    r = cli_subprocess("sweep", spec, "--workers", 1, "--no-progress", cwd=run_dir)
    assert r.returncode == 0, r.stderr
    out = run_dir / "runs" / "sweeps" / "two"              # the default --out: under runs/ (git-ignored)
    df = read_results(out)
    assert len(df) == 6
    # one front per workload: each workload's fastest point is on its own front
    assert r.stdout.count("Pareto front:") == 2
    for w in df["workload"].unique():
        part = df[df["workload"] == w]
        assert f"workload {w}:" in r.stdout
        assert part.loc[part["fps"].idxmax(), "hash"] in r.stdout
    pngs = sorted(p.name for p in out.glob("pareto*.png"))
    assert pngs == ["pareto_synthetic_other.png", "pareto_synthetic_tiny.png"]
    text = (out / "sweep.resolved.yaml").read_text()
    assert str(tmp_path) not in text                       # nothing machine-specific
    # ... and it is itself a sweep file that re-runs the same points from where it lies
    again = cli_subprocess("sweep", out / "sweep.resolved.yaml", "--out", tmp_path / "again", "--workers", 1,
                           "--no-progress", cwd=run_dir)
    assert again.returncode == 0, again.stderr
    assert set(read_results(tmp_path / "again")["hash"]) == set(df["hash"])

"""A sweep on a real embedded Dask LocalCluster, end to end through the command line."""
import os
from pathlib import Path

import pytest
import yaml

from archsim.simulate import simulate
from archsim.sweep.spec import load_sweep
from archsim.sweep.store import read_results
from archsim.workload import load_workload
from tests.sweep.conftest import cli, write_sweep

METRICS = ("images", "fps", "latency_us_mean", "cycles", "energy_j", "energy_per_image_j", "avg_timesteps",
           "accuracy", "area_proxy_sram_kib", "memory_accesses.weight_sram.reads", "energy_breakdown_j.router")


@pytest.fixture(scope="module")
def local_run(tmp_path_factory, tiny_npz):
    """8 points on 2 worker processes; 4 of them cannot hold 100,000 images' potentials (infeasible)."""
    folder = tmp_path_factory.mktemp("local")
    spec = write_sweep(folder, tiny_npz, name="local", fixed={"mode": "simpy"},
                       grid={"mesh.cols": [2, 4], "clock_mhz": [100, 400],
                             "pipeline.images_in_flight": [2, 100000]},
                       objectives={"energy_per_image_j": "minimize", "fps": "maximize"})
    return spec, folder / "out"


def test_points_stream_into_the_table_with_every_parameter_and_metric(local_run, tiny_npz, capsys):
    spec, out = local_run
    assert cli("sweep", spec, "--workers", 2, "--out", out) == 0
    captured = capsys.readouterr()
    assert "ran 8 points on 2 workers" in captured.out
    assert "8/8" in captured.err and "pt/s" in captured.err  # the tqdm bar: done/total, rate
    df = read_results(out)
    plan = load_sweep(spec)
    assert len(df) == 8 and set(df["hash"]) == {p.hash for p in plan.points}
    assert list(df.columns[:9]) == ["hash", "seed", "index", "workload", "mode", "mesh.cols", "clock_mhz",
                                    "pipeline.images_in_flight", "status"]
    assert set(METRICS) <= set(df.columns)
    assert (df["seed"] == 0).all()
    feasible = df[df["status"] == "ok"]
    assert len(feasible) == 4 and (feasible["pipeline.images_in_flight"] == 2).all()
    infeasible = df[df["status"] == "infeasible"]
    assert infeasible["error"].str.contains("cannot fit").all() and infeasible["fps"].isna().all()
    # Every row is exactly what simulate() says for that point.
    wl = load_workload(tiny_npz)
    for p in plan.points:
        if p.params["pipeline.images_in_flight"] == 2:
            direct = simulate(p.hw, wl, mode="simpy")
            row = df[df["hash"] == p.hash].iloc[0]
            assert row["fps"] == direct.fps and row["energy_per_image_j"] == direct.energy_per_image_j
            assert row["memory_accesses.weight_sram.reads"] == direct.memory_accesses["weight_sram"]["reads"]
    # Paths in the table are seen from its folder, so a re-run in another checkout writes the same rows.
    assert (feasible["workload.path"] == os.path.relpath(tiny_npz, out)).all()
    assert ((out / feasible["workload.path"].iloc[0]).resolve() == Path(tiny_npz).resolve())
    # The resolved spec and the Pareto plot sit beside the table.
    resolved = yaml.safe_load((out / "sweep.resolved.yaml").read_text())
    assert resolved["resolved"]["points"] == 8 and resolved["objectives"]["fps"] == "maximize"
    assert (out / "pareto.png").stat().st_size > 10_000
    assert "Pareto front:" in captured.out


def test_rerun_needs_resume_and_resume_of_a_finished_sweep_runs_nothing(local_run, capsys):
    spec, out = local_run
    before = (out / "results.csv").read_text()
    assert cli("sweep", spec, "--out", out) == 2
    assert "pass --resume" in capsys.readouterr().err
    assert cli("sweep", spec, "--out", out, "--resume", "--no-progress") == 0
    assert "nothing to run" in capsys.readouterr().out
    assert (out / "results.csv").read_text() == before


def test_resume_refuses_another_sweeps_folder(local_run, tmp_path, tiny_npz, capsys):
    _, out = local_run
    other = write_sweep(tmp_path, tiny_npz, grid={"clock_mhz": [123]})
    assert cli("sweep", other, "--out", out, "--resume") == 2
    assert "points this sweep does not define" in capsys.readouterr().err


def test_pareto_command_prints_front_and_writes_plot(local_run, tmp_path, capsys):
    _, out = local_run
    png = tmp_path / "front.png"
    assert cli("pareto", out / "results.csv", "--x", "energy_per_image_j", "--y", "fps", "--plot", png,
               "--color", "clock_mhz") == 0
    text = capsys.readouterr().out
    assert text.startswith("Pareto front: ") and "of 4 feasible points" in text
    assert png.stat().st_size > 10_000
    df = read_results(out)
    ok = df[df["status"] == "ok"]
    best = ok.loc[ok["fps"].idxmax(), "hash"]
    assert best in text  # the fastest design is always on an energy/fps front
    # --minimize flips a sense; a bad column is one line and exit 2.
    assert cli("pareto", out, "--x", "energy_per_image_j", "--y", "fps", "--minimize", "fps") == 0
    assert cli("pareto", out, "--x", "nope", "--y", "fps") == 2
    assert "nope: no such column" in capsys.readouterr().err

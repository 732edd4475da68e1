"""``archsim sweep SWEEP.yaml`` and ``archsim pareto RESULTS``.

The order matters and is the point of this module: everything the user can get wrong (the sweep file,
the output folder, a resume into the wrong folder) is checked before a cluster starts or a file is
written; then the resolved spec goes to disk; then points run and stream into the table.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path

from archsim.errors import UserError

RESOLVED_NAME = "sweep.resolved.yaml"
# Where a sweep writes when --out is not given: under runs/, which git ignores, so a documented command
# works on a fresh clone and never touches the committed results/sweeps/<name>/ (written with --out).
DEFAULT_OUT = Path("runs") / "sweeps"


def register(subparsers) -> None:
    p = subparsers.add_parser("sweep", help="run a design-space sweep on Dask",
                              description="Run every point of SWEEP.yaml on Dask; stream results to OUT/results.csv.")
    p.add_argument("spec", metavar="SWEEP.yaml")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                   help="use this running Dask cluster instead of an embedded LocalCluster")
    p.add_argument("--workers", type=_positive_int, metavar="N",
                   help="LocalCluster: start N worker processes (default: one per core); "
                        "--scheduler: wait until N workers have joined")
    p.add_argument("--out", metavar="DIR", help=f"output folder (default: {DEFAULT_OUT.as_posix()}/<sweep name>)")
    p.add_argument("--resume", action="store_true", help="run only the points missing from DIR/results.csv")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=sweep_command)

    q = subparsers.add_parser("pareto", help="Pareto-optimal points of a sweep's results, and a plot",
                              description="Print the Pareto-optimal points of RESULTS (results.csv, a "
                                          ".parquet copy, or a sweep's output folder).")
    q.add_argument("results", metavar="RESULTS")
    q.add_argument("--x", help="objective on the x axis: a column, or a pandas expression over columns such "
                               "as 'energy_j / seconds' (default: the sweep's first objective)")
    q.add_argument("--y", help="objective on the y axis (default: the sweep's second objective)")
    q.add_argument("--minimize", nargs="+", default=[], metavar="COL", help="these columns: lower is better")
    q.add_argument("--maximize", nargs="+", default=[], metavar="COL", help="these columns: higher is better")
    q.add_argument("--workload", help="only rows of this workload (needed when the results hold several)")
    q.add_argument("--plot", metavar="FILE.png", help="write a scatter plot with the front highlighted")
    q.add_argument("--color", metavar="COL", help="colour the plot's points by this parameter")
    q.set_defaults(func=pareto_command)


def _positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return n


# ----------------------------------------------------------------------------------------- sweep

def sweep_command(args) -> int:
    import yaml

    from archsim.sweep import runner
    from archsim.sweep.spec import load_sweep
    from archsim.sweep.store import RESULTS_NAME, ResultsStore, done_hashes

    plan = load_sweep(args.spec)
    if plan.spec.objectives:
        _check_objectives(args.spec, plan, runner.probe_row(plan))
    out = Path(args.out) if args.out else DEFAULT_OUT / plan.name
    table = out / RESULTS_NAME
    if out.exists() and not out.is_dir():
        raise UserError(str(out), "--out", "exists and is not a folder")
    from archsim.report import check_out_dir
    check_out_dir(out)
    done = done_hashes(table)
    if done:
        if not args.resume:
            raise UserError(str(out), "--out", f"already holds {RESULTS_NAME}; pass --resume to finish that "
                                               "sweep, or choose another --out")
        stray = done - {p.hash for p in plan.points}
        if stray:
            raise UserError(str(out), "--resume", f"{RESULTS_NAME} holds {len(stray)} points this sweep does "
                                                  "not define: it is another sweep's folder")
    print(f"sweep {plan.name}: {_n(len(plan.points), 'point')} ({plan.spec.strategy}"
          + (f", {plan.duplicates} duplicates dropped" if plan.duplicates else "")
          + (f"), {len(done)} already in {table}" if done else ")") + f"; results -> {table}", flush=True)

    todo = len(plan.points) - len(done)
    try:
        # The cluster first: an unreachable --scheduler must not leave a half-made output folder behind.
        with runner.quiet_interrupt(), \
                (runner.dask_client(args.scheduler, args.workers) if todo else contextlib.nullcontext()) as client:
            out.mkdir(parents=True, exist_ok=True)
            _write_atomic(out / RESOLVED_NAME, yaml.safe_dump(plan.resolved(relative_to=out), sort_keys=False))
            with ResultsStore.open(table, [*runner.IDENTITY, *plan.parameters, *runner.STATUS]) as store:
                if todo:
                    summary = runner.run_plan(plan, store, client, skip=done, progress=not args.no_progress)
                    print(f"ran {_n(summary.ran, 'point')} on {_n(summary.workers, 'worker')} in "
                          f"{summary.seconds:.1f} s ({summary.points_per_minute:.1f} points/min); "
                          f"{summary.infeasible} infeasible", flush=True)
                else:
                    print("nothing to run: every point is already in the table")
    except KeyboardInterrupt:
        have = len(done_hashes(table))
        resume = f" --out {args.out}" if args.out else ""
        print(f"interrupted: {have} of {len(plan.points)} points are in {table}; to finish, run "
              f"archsim sweep {args.spec}{resume} --resume", file=sys.stderr, flush=True)
        return 130

    objectives = plan.spec.objectives
    if len(objectives) >= 2:
        from archsim.sweep.store import read_results
        df = read_results(table)
        x, y = list(objectives)[:2]
        workloads = list(dict.fromkeys(df["workload"])) if "workload" in df.columns else [None]
        for w in workloads:
            # Points of different workloads are different questions: one front (and plot) per workload.
            part = df if w is None else df[df["workload"] == w]
            name = "pareto.png" if len(workloads) == 1 else f"pareto_{_slug(w)}.png"
            if len(workloads) > 1:
                print(f"\nworkload {w}:")
            _report_front(part, dict(objectives), x, y, plan.varied, out / name,
                          color=plan.varied[0] if plan.varied else None,
                          title=_title(plan.name, part, w))
    return 0


def _slug(workload: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in Path(str(workload)).stem)


def _title(name: str, df, workload) -> str:
    wl = f", workload {Path(str(workload)).name}" if workload else ""
    return f"sweep {name}{wl}: {len(df)} points"


def _check_objectives(source, plan, probe: dict | None) -> None:
    """Each objective must name a metric (or an expression over metrics) of a real result row."""
    import pandas as pd

    from archsim.inputs import did_you_mean
    from archsim.sweep.pareto import with_columns

    if probe is None:
        return
    row = pd.DataFrame([probe])
    for name in plan.spec.objectives:
        try:
            with_columns(row, [name])
        except UserError:
            raise UserError(str(source), f"objectives.{name}", "not a metric the simulator reports"
                            + did_you_mean(name, list(probe))) from None


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


# ----------------------------------------------------------------------------------------- pareto

def pareto_command(args) -> int:
    import yaml

    from archsim.sweep.pareto import default_sense
    from archsim.sweep.store import RESULTS_NAME, read_results

    path = Path(args.results)
    if args.plot:
        from archsim.report import check_out_file
        check_out_file(args.plot, "--plot")
    if not path.exists():
        raise UserError(str(path), "RESULTS", "no such file or folder")
    folder = path if path.is_dir() else path.parent
    if path.is_dir() and not (path / RESULTS_NAME).exists():
        raise UserError(str(path), "RESULTS", f"folder has no {RESULTS_NAME}")
    resolved = yaml.safe_load((folder / RESOLVED_NAME).read_text()) if (folder / RESOLVED_NAME).exists() else {}
    spec_objectives = dict(resolved.get("objectives") or {})
    parameters = list((resolved.get("resolved") or {}).get("parameters") or [])
    varied = list((resolved.get("resolved") or {}).get("varied") or [])
    try:
        df = read_results(path)
    except Exception as err:  # pandas/pyarrow raise many types for a file that is not a table
        raise UserError(str(path), "RESULTS", f"not a readable results table ({err})") from None

    x = args.x or (list(spec_objectives)[0] if spec_objectives else None)
    y = args.y or (list(spec_objectives)[1] if len(spec_objectives) > 1 else None)
    if not x or not y:
        raise UserError("command line", "--x/--y", "name both axes (the results carry no sweep objectives)")
    both = set(args.minimize) & set(args.maximize)
    if both:
        raise UserError("command line", "--minimize/--maximize", f"{', '.join(sorted(both))} given in both")
    senses = {}
    for col in (x, y):
        senses[col] = ("minimize" if col in args.minimize else "maximize" if col in args.maximize
                       else spec_objectives.get(col) or default_sense(col))

    if "workload" in df.columns and df["workload"].nunique() > 1 or args.workload:
        if not args.workload:
            raise UserError("command line", "--workload",
                            f"the results hold {df['workload'].nunique()} workloads; choose one of "
                            + ", ".join(map(str, df["workload"].unique())))
        if args.workload not in set(df["workload"]):
            raise UserError("command line", "--workload", f"no rows for {args.workload!r}")
        df = df[df["workload"] == args.workload]
    _report_front(df, senses, x, y, varied or parameters, Path(args.plot) if args.plot else None,
                  color=args.color or (varied[0] if varied else None),
                  title=_title(resolved.get("name", path.stem), df,
                               args.workload or (df["workload"].iloc[0] if "workload" in df.columns and len(df) else None)))
    return 0


def _report_front(df, senses: dict, x: str, y: str, parameters: list[str], plot: Path | None,
                  color: str | None, title: str) -> None:
    import pandas as pd

    from archsim.sweep.pareto import front, plot_front, with_columns

    objectives = {x: senses[x], y: senses[y]}
    if color and color not in df.columns:
        raise UserError("command line", "--color", f"no column {color!r}")
    df = with_columns(df, objectives)
    mask = front(df, objectives)
    several = "workload" in df.columns and df["workload"].nunique() > 1
    shown = [c for c in ("hash", *(["workload"] if several else []), *parameters)
             if c in df.columns and c not in objectives] + [x, y]
    best = df.loc[mask, shown].sort_values(x)
    print(f"Pareto front: {len(best)} of {int(df['status'].eq('ok').sum()) if 'status' in df else len(df)} "
          f"feasible points ({x}: {senses[x]}, {y}: {senses[y]})")
    with pd.option_context("display.width", 200, "display.max_columns", 30, "display.max_rows", 200):
        print(best.to_string(index=False))
    if plot is not None:
        plot_front(df, mask, x, y, objectives, plot, color=color, title=title)
        print(f"plot -> {plot}")

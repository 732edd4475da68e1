"""Sweep throughput: points per minute of a 200-point sweep on 1,000 samples, with 1 and 2 workers.

    .venv/bin/python benchmarks/sweep_speed.py                   # analytic mode (the fast path)
    .venv/bin/python benchmarks/sweep_speed.py --mode simpy      # the discrete-event model
    .venv/bin/python benchmarks/sweep_speed.py --external        # dask scheduler + workers, via --scheduler

It drives the same code as ``archsim sweep`` (spec -> LocalCluster -> streamed results table), on a
random sweep over clock, PEs per core, weight SRAM and exit threshold. Two times are reported per
worker count: the cluster start, and the sweep itself (first submit to last row on disk, including
each worker's first import of the simulator); points per minute is over the sweep time. Also printed:
the CPU seconds the workers used (their sum over the sweep's wall time = how many cores they actually
got) and the machine's load average: on a shared machine scaling is bounded by the cores actually free.
Writes results/sweeps/sweep_speed.json.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archsim.sweep.runner import dask_client, run_plan  # noqa: E402
from archsim.sweep.spec import load_sweep  # noqa: E402
from archsim.sweep.store import ResultsStore, read_results  # noqa: E402


def default_workload() -> Path:
    trained = ROOT / "workloads" / "small_c10.npz"
    return trained if trained.exists() else ROOT / "workloads" / "synthetic_vgg16.npz"


@contextlib.contextmanager
def external_cluster(n_workers: int, tmp: Path):
    """A scheduler and n single-threaded workers started with the venv's `dask` command on 127.0.0.1."""
    dask = Path(sys.executable).parent / "dask"
    info = tmp / f"scheduler_{n_workers}.json"
    logs = open(tmp / f"cluster_{n_workers}.log", "w")
    procs = [subprocess.Popen([str(dask), "scheduler", "--host", "127.0.0.1", "--port", "0", "--dashboard-address",
                               "127.0.0.1:0", "--scheduler-file", str(info)], stdout=logs, stderr=logs,
                              start_new_session=True)]
    try:
        deadline = time.monotonic() + 60
        while not (info.exists() and info.read_text().strip()):
            if time.monotonic() > deadline or procs[0].poll() is not None:
                raise RuntimeError(f"dask scheduler did not start; see {logs.name}")
            time.sleep(0.1)
        address = json.loads(info.read_text())["address"]
        for i in range(n_workers):
            procs.append(subprocess.Popen([str(dask), "worker", address, "--nworkers", "1", "--nthreads", "1",
                                           "--host", "127.0.0.1", "--no-dashboard", "--name", f"bench{i}"],
                                          stdout=logs, stderr=logs, start_new_session=True))
        yield address
    finally:
        for p in procs[::-1]:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        logs.close()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workload", type=Path, default=default_workload())
    ap.add_argument("--hwconfig", type=Path, default=ROOT / "hwconfigs" / "default.yaml")
    ap.add_argument("--points", type=int, default=200)
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--mode", choices=("analytic", "simpy"), default="analytic")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--external", action="store_true",
                    help="run on a `dask scheduler` + N `dask worker` processes (each in its own session, as "
                         "on a real cluster) through --scheduler, instead of the embedded LocalCluster")
    ap.add_argument("--json", type=Path, default=ROOT / "results" / "sweeps" / "sweep_speed.json")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="sweep_speed_") as tmp:
        spec = Path(tmp) / "bench.yaml"
        spec.write_text(yaml.safe_dump({
            "name": "sweep_speed", "base": str(args.hwconfig.resolve()), "workloads": [str(args.workload.resolve())],
            "seed": 0, "fixed": {"mode": args.mode, "samples": args.samples},
            "random": {"count": args.points, "parameters": {
                "clock_mhz": {"low": 100, "high": 800, "log": True},
                "core.pe_array.accumulates_per_cycle": [8, 16, 32],
                "core.weight_sram.size_kib": [256, 512, 1024],
                "exit.threshold": {"low": 0.6, "high": 0.99}}}}))
        t = time.perf_counter()
        plan = load_sweep(spec)
        plan_s = time.perf_counter() - t
        print(f"workload {args.workload.name} ({args.samples} samples), {len(plan.points)} distinct points, "
              f"mode {args.mode}; planning (validating every point) took {plan_s:.1f} s")
        print(f"machine: {os.cpu_count()} cores, load average before: {os.getloadavg()[0]:.2f}")
        runs = []
        for n in args.workers:
            t = time.perf_counter()
            with external_cluster(n, Path(tmp)) if args.external else contextlib.nullcontext() as address, \
                    dask_client(address, n) as client:
                start_s = time.perf_counter() - t
                cpu0, own0 = client.run(time.process_time), time.process_time()
                with ResultsStore.open(Path(tmp) / f"results_{n}.csv", ["hash"]) as store:
                    summary = run_plan(plan, store, client, progress=False)
                cpu1, own1 = client.run(time.process_time), time.process_time()
            rows = len(read_results(Path(tmp) / f"results_{n}.csv"))
            # CPU seconds the workers got: (worker CPU / sweep wall) below n means they waited for a core.
            worker_cpu = sum(cpu1[w] - cpu0[w] for w in cpu1)
            run = {"workers": n, "cluster_start_s": round(start_s, 2), "sweep_s": round(summary.seconds, 2),
                   "points": summary.ran, "rows": rows, "infeasible": summary.infeasible,
                   "points_per_minute": round(summary.points_per_minute, 1),
                   "worker_cpu_s": round(worker_cpu, 1), "client_cpu_s": round(own1 - own0, 1),
                   "worker_cpu_s_per_point": round(worker_cpu / max(summary.ran, 1), 3),
                   "cores_busy": round(worker_cpu / summary.seconds, 2),
                   "load_average_after": round(os.getloadavg()[0], 2)}
            runs.append(run)
            print(f"{n} worker{'s' if n > 1 else ' '}: {run['points_per_minute']:7.1f} points/min "
                  f"({summary.ran} points in {summary.seconds:.1f} s; cluster start {start_s:.1f} s; "
                  f"workers got {run['cores_busy']:.2f} cores, {run['worker_cpu_s_per_point']:.3f} CPU s/point; "
                  f"client {run['client_cpu_s']:.1f} CPU s; load average after {run['load_average_after']})")
    base = runs[0]["points_per_minute"]
    for run in runs:
        run["speedup_vs_first"] = round(run["points_per_minute"] / base, 2)
    if len(runs) > 1:
        print("scaling: " + ", ".join(f"{r['workers']} workers x{r['speedup_vs_first']}" for r in runs[1:]))
    cluster = "external dask scheduler + workers (--scheduler)" if args.external else "embedded LocalCluster"
    report = {"workload": str(args.workload.relative_to(ROOT) if args.workload.is_relative_to(ROOT) else args.workload),
              "synthetic": "synthetic" in args.workload.name, "samples": args.samples, "mode": args.mode,
              "points": len(plan.points), "cluster": cluster, "cpu_count": os.cpu_count(), "runs": runs}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    # One file keeps a result per cluster kind, so both runs of the benchmark can be kept side by side.
    previous = json.loads(args.json.read_text()) if args.json.exists() else {}
    if "runs" in previous:  # a file from before results were keyed by cluster kind
        previous = {previous.get("cluster", "embedded LocalCluster"): previous}
    previous[cluster] = report
    args.json.write_text(json.dumps(previous, indent=2) + "\n")
    print(f"-> {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

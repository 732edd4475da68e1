"""Runs a sweep's points on Dask and streams each finished point into the results table.

Why Dask: the same code runs on an embedded ``LocalCluster`` (no set-up) and, with ``--scheduler``, on
any cluster a ``dask scheduler`` and ``dask worker`` processes form: laptops, a lab's machines, or SLURM
via dask-jobqueue. Workers are processes with one thread each because the simulator is pure Python.

What travels: each workload is scattered once and broadcast, so a worker holds it in memory and every
task on that worker reuses it (a point never reloads a file); each task carries only its validated
``HwConfig`` and run options. Workers therefore need ``archsim`` installed, but no files.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from archsim.errors import UserError
from archsim.sweep.spec import Point, SweepPlan, relative_path
from archsim.sweep.store import ResultsStore

IDENTITY = ("hash", "seed", "index", "workload")
STATUS = ("status", "error")


def evaluate_point(hw, workload, options: dict) -> dict:
    """Runs on a worker: simulate one point. A design the simulator refuses (a UserError, e.g. a network
    that does not fit) is a result, ``status='infeasible'``; any other exception is a bug and propagates."""
    from archsim.simulate import simulate

    samples = options.get("samples")
    wl = workload.subset(samples) if samples and samples < workload.n_samples else workload
    try:
        summary = simulate(hw, wl, exit_policy=options.get("exit_policy"), threshold=options.get("threshold"),
                           mode=options.get("mode", "simpy"), progress=False)
    except UserError as err:
        return {"status": "infeasible", "error": f"{err.field}: {err.message}"}
    return {"status": "ok", "error": "", **flatten(summary.to_dict())}


# Summary entries keyed by layer name (their columns would change with the network): one JSON cell each.
JSON_CELLS = ("mapping.layers", "mapping.spilled_layers", "workload.meta")


def flatten(summary: dict, prefix: str = "") -> dict[str, Any]:
    """Nested dicts become dotted columns (``energy_breakdown_j.router``); numpy scalars become Python
    numbers; lists and the JSON_CELLS become JSON text, so every metric fits one CSV cell."""
    out: dict[str, Any] = {}
    for key, value in summary.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and name in JSON_CELLS:
            out[name] = json.dumps(value, sort_keys=True, default=_plain)
        elif isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
        elif hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
            out[name] = value.item()
        elif isinstance(value, (list, tuple)) or hasattr(value, "tolist"):
            out[name] = json.dumps(value.tolist() if hasattr(value, "tolist") else list(value), default=_plain)
        else:
            out[name] = value
    return out


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else str(value)


# Result columns that hold a file's path: written relative to the results folder (spec.relative_path).
PATH_COLUMNS = ("workload.path", "hwconfig_path")


def row_for(plan: SweepPlan, point: Point, result: dict, folder: str | Path | None = None) -> dict[str, Any]:
    """One table row: identity, parameters, status, metrics (a metric never overwrites a parameter); the
    PATH_COLUMNS seen from ``folder`` (the results folder), so a re-run elsewhere writes the same row."""
    row: dict[str, Any] = {"hash": point.hash, "seed": plan.spec.seed, "index": point.index,
                           "workload": point.workload, **point.params}
    for key, value in result.items():
        if key in PATH_COLUMNS and isinstance(value, str) and folder is not None:
            value = relative_path(value, folder)
        row[key if key not in row else f"result.{key}"] = value
    return row


def probe_row(plan: SweepPlan) -> dict | None:
    """A results row for the first point on one sample in analytic mode (a fraction of a second): its
    columns let a misspelt objective fail before the sweep starts. None when that point is infeasible
    (then nothing is checked)."""
    point = plan.points[0]
    probe = {**point.options.model_dump(), "samples": 1, "mode": "analytic"}
    result = evaluate_point(point.hw, plan.workloads[point.workload], probe)
    return row_for(plan, point, result) if result["status"] == "ok" else None


@contextmanager
def dask_client(scheduler: str | None = None, workers: int | None = None) -> Iterator[Any]:
    """A Client on an existing cluster (``scheduler``) or on an embedded LocalCluster of ``workers``
    single-threaded processes (default: one per CPU core)."""
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as err:
            raise UserError("command line", "--scheduler", f"cannot reach {scheduler}: {err}") from None
        try:
            try:  # tasks would wait forever on a cluster without workers
                client.wait_for_workers(workers or 1, timeout=300)
            except TimeoutError:
                raise UserError("command line", "--scheduler", f"fewer than {workers or 1} workers joined "
                                f"{scheduler} within 300 s") from None
            yield client
        finally:
            client.close()
        return
    n = workers or os.cpu_count() or 1
    # Ctrl-C in a terminal goes to the whole process group: the worker processes would each die with a
    # traceback. They start with SIGINT ignored (a child inherits that); the client alone stops them.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if _main_thread() else None
    try:
        # Its HTTP server runs even without bokeh: on a free local port, not on a busy 8787. Its processes
        # log only what is critical: a worker that loses its scheduler while the cluster shuts down (a race
        # on a loaded machine) would print an ERROR traceback; a task's own error reaches the client anyway.
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0",
                               silence_logs=logging.CRITICAL)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    with cluster, Client(cluster) as client:
        try:
            yield client
        except KeyboardInterrupt:
            _quiet_shutdown()
            raise


def _main_thread() -> bool:
    import threading
    return threading.current_thread() is threading.main_thread()


def _quiet_shutdown() -> None:
    """After Ctrl-C: no second interrupt and no log noise while the cluster is taken down."""
    if _main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    for name in ("distributed", "tornado", "asyncio", "bokeh"):
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)


@contextmanager
def quiet_interrupt() -> Iterator[None]:
    """Ctrl-C inside: the default SIGINT behaviour comes back once the cluster is down."""
    previous = signal.getsignal(signal.SIGINT) if _main_thread() else None
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


@dataclass
class RunSummary:
    total: int
    already_done: int
    ran: int
    infeasible: int
    seconds: float
    workers: int

    @property
    def points_per_minute(self) -> float:
        return 60.0 * self.ran / self.seconds if self.seconds > 0 else float("nan")


def run_plan(plan: SweepPlan, store: ResultsStore, client, *, skip: set[str] = frozenset(),
             progress: bool = True) -> RunSummary:
    """Submit every point whose hash is not in ``skip``; append each result the moment it arrives."""
    from distributed import as_completed
    from tqdm import tqdm

    todo = [p for p in plan.points if p.hash not in skip]
    t0 = time.perf_counter()
    n_workers = len(client.scheduler_info(n_workers=-1)["workers"])
    scattered = {w: client.scatter(plan.workloads[w], broadcast=True, hash=False)
                 for w in dict.fromkeys(p.workload for p in todo)}
    futures = {client.submit(evaluate_point, p.hw, scattered[p.workload], p.options.model_dump(),
                             key=f"archsim-point-{p.hash}", pure=False): p for p in todo}
    infeasible = 0
    bar = tqdm(total=len(plan.points), initial=len(plan.points) - len(todo), unit="pt", desc=plan.name,
               disable=not progress, dynamic_ncols=True, smoothing=0.1)
    try:
        for fut in as_completed(futures):
            point = futures.pop(fut)
            result = fut.result()  # a simulator bug re-raises here, with the worker's traceback
            store.append(row_for(plan, point, result, store.path.parent))
            infeasible += result["status"] != "ok"
            bar.update(1)
            fut.release()
    finally:
        bar.close()
        if futures:  # stopped early (a bug, Ctrl-C): do not leave the cluster busy
            client.cancel(list(futures))
    return RunSummary(len(plan.points), len(plan.points) - len(todo), len(todo), infeasible,
                      time.perf_counter() - t0, n_workers)

"""The paper's Table 1/5 comparison (fixed-T SNN, DT-SNN, ATSNN), read from exported workloads only.

    python -m snn.methods_table --row "fixed-T SNN=workloads/vgg16_c10_dtsnn.npz:fixed" \
        --row "DT-SNN=workloads/vgg16_c10_dtsnn.npz" --row "ATSNN=workloads/vgg16_c10.npz" \
        --json results/vgg16_c10_methods.json --markdown results/vgg16_c10_methods.md

Each ``--row LABEL=WORKLOAD[:fixed]`` is one line of the table. Without ``:fixed`` the row uses the exits the
workload was exported with (its own policy and threshold, ``meta``); with ``:fixed`` every image runs all T
timesteps (the fixed-timestep SNN is the DT-SNN network without its exit: both are trained with the mean
output loss). Columns, as in the paper: accuracy (%), average timesteps, relative complexity (synaptic
operations up to each exit over those of all T timesteps, from the workload's spike counts x the layer
graph's fan-out: snn.inference.relative_complexity) and the accuracy after each timestep T1..T.

Nothing is re-measured: the predictions, labels and exits are the workload's. Why from workloads: they are
what archsim simulates, so the accuracy in this table and the energy archsim reports belong to the same
images and the same exits.
"""
from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from archsim.errors import UserError, run_cli
from archsim.workload import load_workload
from snn.cli import Parser, atomic_write_text, command_line
from snn.inference import relative_complexity, synaptic_ops


@dataclass(frozen=True)
class MethodRow:
    """One method: accuracies in %, timesteps are counts (1..T), complexity a fraction of fixed-T work."""
    label: str
    workload: str
    exit: str                   # "fixed" or "<policy> <threshold>" as exported
    loss: str                   # the training loss recorded in the workload's meta ("?" when absent)
    accuracy_pct: float
    avg_timesteps: float
    relative_complexity: float
    per_timestep_accuracy_pct: list[float]
    images: int


def parse_row(spec: str) -> tuple[str, str, bool]:
    """``LABEL=PATH[:fixed]`` -> (label, path, fixed)."""
    label, sep, rest = spec.partition("=")
    if not sep or not label.strip() or not rest:
        raise UserError("--row", "row", f"expected LABEL=WORKLOAD[:fixed], got {spec!r}")
    path, fixed = (rest[:-len(":fixed")], True) if rest.endswith(":fixed") else (rest, False)
    return label.strip(), path, fixed


def method_row(label: str, path: str, fixed: bool) -> MethodRow:
    wl = load_workload(path)
    n, T = wl.predictions.shape
    exits = np.full(n, T, dtype=np.int64) if fixed else wl.exit_timestep.astype(np.int64)
    correct = wl.predictions == wl.labels[:, None]                       # [N, T]
    ops = synaptic_ops(wl.graph, wl.spikes)
    exit_name = "fixed" if fixed else f"{wl.meta.get('exit_policy', '?')} {wl.meta.get('threshold', '?')}"
    return MethodRow(label=label, workload=path, exit=exit_name, loss=str(wl.meta.get("loss", "?")),
                     accuracy_pct=100.0 * float(correct[np.arange(n), exits - 1].mean()),
                     avg_timesteps=float(exits.mean()),
                     relative_complexity=relative_complexity(ops, exits),
                     per_timestep_accuracy_pct=[100.0 * float(a) for a in correct.mean(0)],
                     images=int(n))


def markdown(rows: list[MethodRow], command: str) -> str:
    T = max(len(r.per_timestep_accuracy_pct) for r in rows)
    head = ["method", "loss", "exit", "accuracy %", "avg timesteps", "relative complexity"] + \
        [f"T{t + 1} %" for t in range(T)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        ts = [f"{a:.2f}" for a in r.per_timestep_accuracy_pct] + ["-"] * (T - len(r.per_timestep_accuracy_pct))
        lines.append("| " + " | ".join([r.label, r.loss, r.exit, f"{r.accuracy_pct:.2f}", f"{r.avg_timesteps:.3f}",
                                        f"{r.relative_complexity:.3f}"] + ts) + " |")
    images = sorted({r.images for r in rows})
    lines += ["", f"Test images: {', '.join(f'{i:,}' for i in images)}. Made by `{command}`."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = Parser(prog="snn.methods_table", description="Fixed-T / DT-SNN / ATSNN comparison from workloads.")
    p.add_argument("--row", action="append", required=True, metavar="LABEL=WORKLOAD[:fixed]")
    p.add_argument("--json", help="write the rows as JSON here")
    p.add_argument("--markdown", help="write the table as markdown here")
    a = p.parse_args(argv)
    rows = [method_row(*parse_row(spec)) for spec in a.row]     # every workload read before anything is written
    command = command_line("snn.methods_table", argv)
    table = markdown(rows, command)
    if a.json:
        atomic_write_text(a.json, json.dumps({"command": command, "rows": [asdict(r) for r in rows]}, indent=1) + "\n")
    if a.markdown:
        atomic_write_text(a.markdown, table)
    print(table, end="")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))

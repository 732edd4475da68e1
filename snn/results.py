"""Assemble the record of a finished run (training results + evaluation + exported workload) in one JSON.

    python -m snn.results --run runs/small_c10 --eval runs/small_c10/eval/eval.json \
        --workload workloads/small_c10.npz --model models/small_c10.pt --out results/small_c10.json

Everything in it is read from files the commands wrote (nothing re-measured here): fixed-T accuracy,
adaptive accuracy and average timesteps at the default (calibrated) threshold, relative complexity,
per-timestep accuracy T1..T, epochs trained, wall time, seed and the exact commands.

A run started from another run's weights (``snn.train --init-from``) is one stage of a longer training:
the record follows ``init_from`` back through every earlier run whose folder still holds its
``config.json`` and ``results.json``, lists each stage (command, epochs, wall time, accuracy), and sums
the CPU hours of the whole chain (wall time x threads).
"""
from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

from archsim.errors import UserError, run_cli
from archsim.workload import load_workload
from snn.cli import Parser, atomic_write_text, command_line


def _read_json(path: str | Path, field: str) -> dict:
    p = Path(path)
    try:
        return json.loads(p.read_text())
    except FileNotFoundError:
        raise UserError(str(p), field, "does not exist") from None
    except json.JSONDecodeError as err:
        raise UserError(str(p), field, f"not JSON ({err})") from None


def training_stages(run: Path, cfg: dict, res: dict) -> list[dict]:
    """The stages that made this run, first to last: this run and each run it was initialised from
    (``init_from`` = ``<run folder>/model.pt``), as long as that folder still holds its records."""
    stages, seen = [], set()
    while True:
        stages.append({"run": str(run), "command": cfg["command"], "neuron": cfg.get("neuron", "lif"),
                       "timesteps": cfg["timesteps"], "epochs_trained": res["epochs_trained"],
                       "wall_s": res["wall_s"], "num_threads": cfg["num_threads"],
                       "cpu_hours": res["wall_s"] * cfg["num_threads"] / 3600.0,
                       "fixed_T_accuracy": res["fixed_T_accuracy"],
                       "init_from": cfg.get("init_from") or None})
        seen.add(run.resolve())
        parent = Path(stages[-1]["init_from"]).parent if stages[-1]["init_from"] else None
        if parent is None or parent.resolve() in seen or not (parent / "results.json").is_file() \
                or not (parent / "config.json").is_file():
            return stages[::-1]
        run, cfg, res = parent, _read_json(parent / "config.json", "config"), \
            _read_json(parent / "results.json", "results")


def main(argv: list[str] | None = None) -> int:
    p = Parser(prog="snn.results", description="Collect a run's measured results into one JSON.")
    p.add_argument("--run", required=True)
    p.add_argument("--eval", required=True)
    p.add_argument("--workload", required=True)
    p.add_argument("--model", default=None)
    p.add_argument("--out", required=True)
    p.add_argument("--note", default="")
    a = p.parse_args(argv)
    run = Path(a.run)
    res = _read_json(run / "results.json", "results")
    cfg = _read_json(run / "config.json", "config")
    ev = _read_json(a.eval, "eval")
    wl = load_workload(a.workload)
    with open(run / "log.csv") as f:
        log = list(csv.DictReader(f))
    ent = ev["default"]["entropy"]
    stages = training_stages(run, cfg, res)
    doc = {
        "what": f"{cfg['arch']} SNN, {cfg['dataset']} (JPEG copy), T={cfg['timesteps']}, {cfg['loss']} loss "
                f"({cfg['schedule']} schedule), trained on the CPU",
        "fixed_T_accuracy": ev["fixed_T_accuracy"],
        "per_timestep_accuracy": ev["per_timestep_accuracy"],
        "adaptive": {"policy": "entropy", "threshold": ent["threshold"], "accuracy": ent["accuracy"],
                     "avg_timesteps": ent["avg_timesteps"], "relative_complexity": ent["relative_complexity"],
                     "threshold_choice": ev.get("calibration")},
        "adaptive_confidence": ev["default"].get("confidence"),
        "accuracy_drop_points": 100 * (ev["fixed_T_accuracy"] - ent["accuracy"]),
        "test_images": ev["test_images"],
        "epochs_trained": res["epochs_trained"], "epochs_planned": res["epochs_planned"],
        "train_wall_s": res["wall_s"], "train_wall_min": res["wall_s"] / 60.0,
        "images_per_s_per_epoch": [float(r["images_per_s"]) for r in log],
        "training_stages": stages,
        "total_cpu_hours": sum(st["cpu_hours"] for st in stages),
        "seed": cfg["seed"], "num_threads": cfg["num_threads"], "device": cfg["device"],
        "torch_version": cfg.get("torch_version"),
        "synaptic_ops_per_image_fixed_T": ev["synaptic_ops_per_image_fixed_T"],
        "spikes_per_image_per_layer": ev["spikes_per_image_per_layer"],
        "workload": {"path": a.workload, "samples": wl.n_samples, "layers": wl.layers,
                     "exit_policy": wl.meta.get("exit_policy"), "threshold": wl.meta.get("threshold"),
                     "avg_timesteps": float(wl.exit_timestep.mean())},
        "model": a.model, "model_bytes": Path(a.model).stat().st_size if a.model else None,
        "commands": {"train": cfg["command"], "evaluate": ev["command"], "export": wl.meta.get("command"),
                     "results": command_line("snn.results", argv)},
        "note": a.note,
    }
    atomic_write_text(a.out, json.dumps(doc, indent=2))
    print(json.dumps({k: doc[k] for k in ("fixed_T_accuracy", "per_timestep_accuracy", "adaptive",
                                          "epochs_trained", "train_wall_min", "total_cpu_hours")}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))

"""The loss ablation: the same network and budget trained with each loss, compared on the test set.

    python -m snn.ablation --data-dir ../shared/datasets/cifar10-jpeg.tar.gz --epochs 2 --train-subset 20000 \
        --out runs/ablation --json results/small_c10_ablation.json --markdown results/small_c10_ablation.md

Variants (``--variants``, default all): ``mean`` (fixed-timestep SNN: CE of the mean output; with the
entropy exit it is the DT-SNN baseline), ``tet``, and the ATSNN loss with the ``uniform``,
``linear_decay`` and ``exp`` (gamma 0.7) schedules. Each variant is one ``python -m snn.train`` run then one
``python -m snn.evaluate`` run (subprocesses, one at a time), every option but the loss identical, same seed.
Writes a JSON with every variant's per-timestep accuracy, adaptive results at fixed entropy thresholds and
at the calibrated threshold, and a markdown table. A variant whose run directory already holds an
``eval/eval.json`` is not run again (the ablation can be resumed after an interruption).
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from archsim.errors import UserError, run_cli
from snn.cli import Parser, atomic_write_text, command_line, ensure_writable_dir

VARIANTS = {
    "mean": ["--loss", "mean"],
    "tet": ["--loss", "tet"],
    "atsnn-uniform": ["--loss", "atsnn", "--schedule", "uniform"],
    "atsnn-linear_decay": ["--loss", "atsnn", "--schedule", "linear_decay"],
    "atsnn-exp0.7": ["--loss", "atsnn", "--schedule", "exp", "--gamma", "0.7"],
}
FIXED_THRESHOLDS = (0.5, 0.7, 0.8, 0.9)


def parser() -> Parser:
    p = Parser(prog="snn.ablation", description="Loss ablation of the ATSNN trainer.")
    p.add_argument("--data-dir", required=True)
    p.add_argument("--arch", default="small")
    p.add_argument("--dataset", default="cifar10")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--train-subset", type=int, default=20000)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--timesteps", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--num-threads", type=int, default=1)
    p.add_argument("--compile", default="on", choices=["auto", "on", "off"])
    p.add_argument("--variants", nargs="+", default=list(VARIANTS))
    p.add_argument("--out", default="runs/ablation")
    p.add_argument("--json", default="results/small_c10_ablation.json")
    p.add_argument("--markdown", default="results/small_c10_ablation.md")
    return p


def _run(cmd: list[str], log: Path) -> None:
    with open(log, "a") as f:
        f.write("$ " + " ".join(cmd) + "\n")
        f.flush()
        r = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT)
    if r.returncode:
        raise UserError(str(log), "variant", f"command failed with status {r.returncode}: {' '.join(cmd)}")


def summary(name: str, ev: dict, res: dict) -> dict:
    sweep = [r for r in ev["sweep"] if r["policy"] == "entropy"]
    at = {f"{r['threshold']:g}": {k: r[k] for k in ("accuracy", "avg_timesteps", "relative_complexity")}
          for r in sweep if r["threshold"] in FIXED_THRESHOLDS}
    fixed = ev["fixed_T_accuracy"]
    within1 = min((r for r in sweep if r["accuracy"] >= fixed - 0.01), key=lambda r: r["avg_timesteps"])
    return {"variant": name, "loss": res["loss"], "schedule": res["schedule"] if res["loss"] == "atsnn" else None,
            "per_timestep_accuracy": ev["per_timestep_accuracy"], "fixed_T_accuracy": fixed,
            "calibrated_entropy": ev["default"]["entropy"], "entropy_at": at,
            "min_avg_timesteps_within_1pt": {k: within1[k] for k in ("threshold", "accuracy", "avg_timesteps",
                                                                      "relative_complexity")},
            "epochs_trained": res["epochs_trained"], "train_wall_s": res["wall_s"], "train_command": res["command"]}


def markdown(rows: list[dict], meta: dict) -> str:
    T = meta["timesteps"]
    head = ["variant"] + [f"T{t}" for t in range(1, T + 1)] + \
        ["entropy 0.8: acc / avg T", "calibrated: thr, acc / avg T / cplx", "fewest avg T within 1 pt"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        pt = [f"{100 * r['per_timestep_accuracy'][f'T{t}']:.2f}" for t in range(1, T + 1)]
        e8 = r["entropy_at"].get("0.8")
        c = r["calibrated_entropy"]
        w = r["min_avg_timesteps_within_1pt"]
        lines.append("| " + " | ".join([r["variant"]] + pt + [
            f"{100 * e8['accuracy']:.2f} / {e8['avg_timesteps']:.2f}" if e8 else "-",
            f"{c['threshold']:g}, {100 * c['accuracy']:.2f} / {c['avg_timesteps']:.2f} / "
            f"{c['relative_complexity']:.2f}",
            f"{100 * w['accuracy']:.2f} @ {w['avg_timesteps']:.2f} (thr {w['threshold']:g})"]) + " |")
    lines.append("")
    lines.append(f"{meta['arch']}, {meta['dataset']} (JPEG copy), T={T}, {meta['epochs']} epochs on a "
                 f"{meta['train_subset']}-image training subset each, batch {meta['batch_size']}, SGD lr "
                 f"{meta['lr']}, seed {meta['seed']}; test accuracy % on all 10,000 test images. "
                 "T1..T4: accuracy of the accumulated output after t timesteps. Calibrated threshold: fewest "
                 "average timesteps within 0.5 points of fixed-T accuracy on 5,000 training images. "
                 "'mean' with the entropy exit is the DT-SNN baseline.")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    a = parser().parse_args(argv)
    unknown = [v for v in a.variants if v not in VARIANTS]
    if unknown:
        raise UserError("command line", "variants", f"unknown {unknown}; choose from {list(VARIANTS)}")
    out = ensure_writable_dir(a.out)
    rows = []
    t_all = time.time()
    for name in a.variants:
        run = out / name
        ev_path = run / "eval" / "eval.json"
        if not ev_path.exists():
            run.mkdir(parents=True, exist_ok=True)
            log = run / "ablation.log"
            _run([sys.executable, "-m", "snn.train", "--arch", a.arch, "--dataset", a.dataset, "--data-dir",
                  a.data_dir, "--timesteps", str(a.timesteps), "--epochs", str(a.epochs), "--batch-size",
                  str(a.batch_size), "--lr", str(a.lr), "--train-subset", str(a.train_subset), "--seed",
                  str(a.seed), "--num-threads", str(a.num_threads), "--compile", a.compile, "--no-progress",
                  "--out", str(run)] + VARIANTS[name], log)
            _run([sys.executable, "-m", "snn.evaluate", str(run / "model.pt"), "--out", str(run / "eval"),
                  "--num-threads", str(a.num_threads)], log)
        ev = json.loads(ev_path.read_text())
        res = json.loads((run / "results.json").read_text())
        rows.append(summary(name, ev, res))
        print(f"{name}: " + " ".join(f"{k} {100 * v:.2f}" for k, v in rows[-1]["per_timestep_accuracy"].items()),
              flush=True)
    meta = {k: getattr(a, k) for k in ("arch", "dataset", "epochs", "train_subset", "batch_size", "lr",
                                        "timesteps", "seed")}
    doc = {"meta": meta, "variants": rows, "command": command_line("snn.ablation", argv),
           "wall_s": time.time() - t_all}
    for f in (a.json, a.markdown):
        ensure_writable_dir(Path(f).parent)
    atomic_write_text(a.json, json.dumps(doc, indent=2))
    atomic_write_text(a.markdown, markdown(rows, meta))
    print(markdown(rows, meta))
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))

"""Evaluate a trained checkpoint: fixed-T and adaptive-timestep accuracy, timesteps, complexity.

    python -m snn.evaluate models/small_c10.pt --data-dir ../shared/datasets/cifar10-jpeg.tar.gz --out DIR

Runs the test set once with spike recording, then, for a sweep of thresholds of both exit scores
(entropy, confidence): accuracy, average timesteps and relative complexity (synaptic operations up to the
exit, from the measured spike counts x fan-out of the layer graph, relative to running all T timesteps;
see snn.inference). Also the accuracy after each timestep T1..T (the fixed-timestep network at t).

The default threshold is either given (``--threshold``) or calibrated (``--calibrate N``, the default):
the threshold with the fewest average timesteps whose accuracy on N *training* images (no augmentation)
stays within ``--max-drop`` points of their fixed-T accuracy. The test set never picks it.

Writes ``DIR/eval.json``, ``DIR/sweep.csv`` and ``DIR/accuracy_vs_timesteps.png``; prints a table.
"""
from __future__ import annotations

import csv
import io
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from archsim.errors import UserError, run_cli
from archsim.graph import layer_names
from snn import exit_policy as xp
from snn.checkpoint import load_model
from snn.cli import EmptyDirGuard, Parser, atomic_save_figure, atomic_write_text, command_line, ensure_writable_dir, positive, resolve_device
from snn.data import DeviceData, test_indices, load_dataset
from snn.inference import collect, relative_complexity, synaptic_ops
from snn.models import ARCHS


def parser() -> Parser:
    p = Parser(prog="snn.evaluate", description="Evaluate an ATSNN checkpoint with adaptive timesteps.")
    p.add_argument("checkpoint")
    p.add_argument("--data-dir", default=None, help="default: the one the checkpoint was trained on")
    p.add_argument("--dataset", default=None)
    p.add_argument("--arch", default=None, help="refuse a checkpoint of any other architecture")
    p.add_argument("--cache-dir", default="data/cache")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--batch-size", type=int, default=500)
    p.add_argument("--max-samples", type=int, default=0, help="the first N test images of a seeded random order (0: all)")
    p.add_argument("--threshold", type=float, default=None, help="default-threshold override (both scores)")
    p.add_argument("--calibrate", type=int, default=5000, help="training images used to pick the threshold")
    p.add_argument("--max-drop", type=float, default=0.5, help="accuracy points the calibration may give up")
    p.add_argument("--device", default="auto")
    p.add_argument("--num-threads", type=int, default=0)
    return p


def load_for_checkpoint(a):
    """(model, cfg, dataset) for a checkpoint and the --data-dir/--dataset overrides."""
    if a.num_threads:
        torch.set_num_threads(a.num_threads)
    device = resolve_device(a.device)
    if a.arch is not None and a.arch not in ARCHS:
        raise UserError("command line", "arch", f"unknown architecture {a.arch!r}; choose one of {list(ARCHS)}")
    model, cfg = load_model(a.checkpoint, device=str(device), expect_arch=a.arch)
    data_dir = a.data_dir or cfg.get("data_dir")
    dataset = a.dataset or cfg.get("dataset", "cifar10")
    ds = load_dataset(data_dir, dataset, image_size=cfg.get("image_size", 32), timesteps=cfg["timesteps"],
                      cache_dir=a.cache_dir)
    if list(ds.input_shape) != list(cfg["input_shape"]):
        raise UserError(str(data_dir), "image size", f"data is {list(ds.input_shape)}, the checkpoint "
                        f"expects {list(cfg['input_shape'])}")
    if ds.num_classes != cfg["num_classes"]:
        raise UserError(str(data_dir), "classes", f"data has {ds.num_classes} classes, the checkpoint "
                        f"{cfg['num_classes']}")
    return model, cfg, ds, device


def sweep(out: torch.Tensor, labels: np.ndarray, ops: np.ndarray) -> list[dict]:
    sc = {k: v.numpy() for k, v in xp.scores(out).items()}
    preds = xp.predictions(out).numpy()
    rows = []
    for pol in ("entropy", "confidence"):
        for th in xp.THRESHOLD_GRID:
            exits = xp.exit_timestep(sc[pol], th)
            acc, avg_t = xp.adaptive_accuracy(preds, labels, exits)
            rows.append({"policy": pol, "threshold": th, "accuracy": acc, "avg_timesteps": avg_t,
                         "relative_complexity": relative_complexity(ops, exits)})
    T = out.shape[0]
    for t in range(1, T + 1):
        exits = xp.fixed_exit(len(labels), t)
        acc, avg_t = xp.adaptive_accuracy(preds, labels, exits)
        rows.append({"policy": "fixed", "threshold": None, "accuracy": acc, "avg_timesteps": avg_t,
                     "relative_complexity": relative_complexity(ops, exits)})
    return rows


def plot(rows: list[dict], defaults: dict, path: Path, title: str) -> None:
    """Accuracy against average timesteps for every threshold of both exit scores and the fixed-T
    network at 1..T; a star per chosen threshold, its label set apart (a box joined by an arrow) so that
    two stars close together keep readable labels."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    colors = {"entropy": "tab:blue", "confidence": "tab:orange", "fixed": "black"}
    for pol, mk in (("entropy", "o-"), ("confidence", "s-"), ("fixed", "^--")):
        r = sorted((x for x in rows if x["policy"] == pol), key=lambda x: x["avg_timesteps"])
        ax.plot([x["avg_timesteps"] for x in r], [100 * x["accuracy"] for x in r], mk, ms=3, color=colors[pol],
                label=f"{pol}, every threshold" if pol != "fixed" else "fixed T = 1..T")
    chosen = sorted(defaults.items(), key=lambda kv: kv[1]["avg_timesteps"])
    for k, (pol, d) in enumerate(chosen):
        x, y = d["avg_timesteps"], 100 * d["accuracy"]
        ax.plot([x], [y], "*", ms=14, color=colors.get(pol, "red"), markeredgecolor="black", zorder=5)
        ax.annotate(f"{pol} >= {d['threshold']:g}: {y:.2f} % at {x:.2f} timesteps", (x, y),
                    xytext=(0.97, 0.06 + 0.09 * k), textcoords="axes fraction", ha="right", fontsize=8,
                    bbox={"boxstyle": "round,pad=0.25", "fc": "white", "ec": colors.get(pol, "red")},
                    arrowprops={"arrowstyle": "->", "color": colors.get(pol, "red"), "lw": 0.8})
    ax.set_xlabel("average timesteps per image")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    atomic_save_figure(fig, path)


def evaluate(a) -> dict:
    out_dir = ensure_writable_dir(a.out)
    positive("batch-size", a.batch_size)
    model, cfg, ds, device = load_for_checkpoint(a)
    idx = test_indices(len(ds.test_y), a.max_samples)
    test = DeviceData(ds.test_x[idx], ds.test_y[idx], ds.mean, ds.std, device)
    g = model.describe(tuple(cfg["input_shape"]), "spikes" if ds.kind == "events" else "dense")
    t0 = time.time()
    col = collect(model, test, a.batch_size, record=True, graph=g, progress=sys.stderr.isatty())
    infer_s = time.time() - t0
    ops = synaptic_ops(g, col.spikes)
    rows = sweep(col.out, col.labels, ops)
    preds = xp.predictions(col.out).numpy()
    per_t = {f"T{t + 1}": float((preds[:, t] == col.labels).mean()) for t in range(preds.shape[1])}
    thresholds, calib = {}, None
    if a.threshold is not None:
        thresholds = {"entropy": a.threshold, "confidence": a.threshold}
    elif a.calibrate > 0:
        n = min(a.calibrate, len(ds.train_y))
        idx = np.random.RandomState(12345).permutation(len(ds.train_y))[:n]
        tr = DeviceData(ds.train_x[idx], ds.train_y[idx], ds.mean, ds.std, device)
        ccol = collect(model, tr, a.batch_size)
        csc = {k: v.numpy() for k, v in xp.scores(ccol.out).items()}
        cpred = xp.predictions(ccol.out).numpy()
        thresholds = {p: xp.calibrate_threshold(csc[p], cpred, ccol.labels, a.max_drop / 100.0)
                      for p in ("entropy", "confidence")}
        calib = {"train_images": n, "max_drop_points": a.max_drop, "seed": 12345,
                 "train_fixed_T_accuracy": float((cpred[:, -1] == ccol.labels).mean())}
    else:
        thresholds = dict(xp.THRESHOLD_BY_POLICY)
    sc = {k: v.numpy() for k, v in xp.scores(col.out).items()}
    defaults = {}
    for pol, th in thresholds.items():
        exits = xp.exit_timestep(sc[pol], th)
        acc, avg_t = xp.adaptive_accuracy(preds, col.labels, exits)
        defaults[pol] = {"threshold": th, "accuracy": acc, "avg_timesteps": avg_t,
                         "relative_complexity": relative_complexity(ops, exits)}
    spikes_per_layer = {name: float(col.spikes[:, i, :].sum(1).mean())
                        for i, name in enumerate(layer_names(g))}
    res = {"checkpoint": str(a.checkpoint), "arch": cfg["arch"], "dataset": cfg["dataset"],
           "timesteps": cfg["timesteps"], "test_images": int(len(col.labels)),
           "fixed_T_accuracy": per_t[f"T{cfg['timesteps']}"], "per_timestep_accuracy": per_t,
           "default": defaults, "calibration": calib,
           "synaptic_ops_per_image_fixed_T": float(ops.sum(1).mean()),
           "spikes_per_image_per_layer": spikes_per_layer, "inference_s": infer_s,
           "sweep": rows, "command": a.command}
    atomic_write_text(out_dir / "eval.json", json.dumps(res, indent=2))
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0].keys()))
    w.writeheader()
    w.writerows(rows)
    atomic_write_text(out_dir / "sweep.csv", buf.getvalue())
    plot(rows, defaults, out_dir / "accuracy_vs_timesteps.png",
         f"{cfg['arch']} on {cfg['dataset']} ({len(col.labels):,} test images), T={cfg['timesteps']}, "
         f"loss {cfg.get('loss')}: accuracy vs average timesteps")
    print(f"{cfg['arch']} on {len(col.labels)} test images, T={cfg['timesteps']}: fixed-T accuracy "
          f"{100 * res['fixed_T_accuracy']:.2f}%  per timestep "
          + " ".join(f"{k} {100 * v:.2f}%" for k, v in per_t.items()))
    for pol, d in defaults.items():
        print(f"  {pol:10s} threshold {d['threshold']:<6g} accuracy {100 * d['accuracy']:.2f}%  "
              f"avg timesteps {d['avg_timesteps']:.3f}  relative complexity {d['relative_complexity']:.3f}")
    print("  policy      thr    acc%   avgT  rel.cplx")
    for r in rows:
        if r["policy"] == "fixed" or r["threshold"] in (0.5, 0.7, 0.8, 0.9, 0.95, 0.99):
            th = "-" if r["threshold"] is None else f"{r['threshold']:g}"
            print(f"  {r['policy']:10s} {th:<6s} {100 * r['accuracy']:6.2f} {r['avg_timesteps']:6.3f}"
                  f"  {r['relative_complexity']:.3f}")
    return res


def main(argv: list[str] | None = None) -> int:
    a = parser().parse_args(argv)
    a.command = command_line("snn.evaluate", argv)
    with EmptyDirGuard(a.out):
        evaluate(a)
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))

"""Export the spike workload of a trained network on a test set, in archsim's format.

    python -m snn.export models/small_c10.pt --data-dir ../shared/datasets/cifar10-jpeg.tar.gz \
        --out workloads/small_c10.npz [--exit-policy entropy --threshold 0.8 --max-samples N]

Runs every test image through the network once (all T timesteps, spikes recorded per layer node of
``model.describe``) and writes, with ``archsim.workload.save_workload`` (the one writer): the layer graph,
spikes [N, L, T] emitted per layer and timestep, labels, per-timestep predictions and both exit scores,
the exit timestep under ``--exit-policy``/``--threshold``, per-channel mean spike counts, and meta (kind
'direct', arch, dataset, timesteps, policy, threshold, seed, command, checkpoint, accuracies).
Works on the GPU or the CPU (``--device``).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch

from archsim.errors import UserError, run_cli
from archsim.workload import Workload, save_workload
from snn import exit_policy as xp
from snn.cli import EmptyDirGuard, Parser, command_line, ensure_writable_file, positive
from snn.data import DeviceData, test_indices
from snn.evaluate import load_for_checkpoint
from snn.inference import collect


def parser() -> Parser:
    p = Parser(prog="snn.export", description="Export an ATSNN spike workload for archsim.")
    p.add_argument("checkpoint")
    p.add_argument("--data-dir", default=None, help="default: the one the checkpoint was trained on")
    p.add_argument("--dataset", default=None)
    p.add_argument("--arch", default=None, help="refuse a checkpoint of any other architecture")
    p.add_argument("--cache-dir", default="data/cache")
    p.add_argument("--out", required=True, help="workload file (.npz)")
    p.add_argument("--exit-policy", default="entropy", help="entropy | confidence | fixed")
    p.add_argument("--threshold", type=float, default=None,
                   help=f"exit threshold (default {xp.DEFAULT_THRESHOLD})")
    p.add_argument("--max-samples", type=int, default=0, help="the first N test images of a seeded random order (0: all)")
    p.add_argument("--batch-size", type=int, default=500)
    p.add_argument("--device", default="auto")
    p.add_argument("--num-threads", type=int, default=0)
    return p


def export(a) -> dict:
    if a.exit_policy not in xp.POLICIES:
        raise UserError("command line", "exit-policy",
                        f"unknown policy {a.exit_policy!r}; choose one of {list(xp.POLICIES)}")
    th = a.threshold if a.threshold is not None else xp.DEFAULT_THRESHOLD.get(a.exit_policy, 1.0)
    if not 0.0 <= th <= 1.0:
        raise UserError("command line", "threshold", f"must lie in [0, 1], got {th}")
    positive("batch-size", a.batch_size)
    if a.max_samples < 0:
        raise UserError("command line", "max-samples", f"must be >= 0, got {a.max_samples}")
    out = ensure_writable_file(a.out)
    model, cfg, ds, device = load_for_checkpoint(a)
    idx = test_indices(len(ds.test_y), a.max_samples)
    test = DeviceData(ds.test_x[idx], ds.test_y[idx], ds.mean, ds.std, device, channels_last=device.type == "cuda")
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    enc = "spikes" if ds.kind == "events" else "dense"
    g = model.describe(tuple(cfg["input_shape"]), enc)
    t0 = time.time()
    col = collect(model, test, a.batch_size, record=True, graph=g, progress=sys.stderr.isatty())
    infer_s = time.time() - t0
    sc = {k: v.numpy().astype(np.float32) for k, v in xp.scores(col.out).items()}
    preds = xp.predictions(col.out).numpy().astype(np.int32)
    exits = xp.apply_policy(sc, a.exit_policy, th, cfg["timesteps"])
    acc, avg_t = xp.adaptive_accuracy(preds, col.labels, exits)
    meta = {"kind": "direct", "arch": cfg["arch"], "dataset": cfg["dataset"], "timesteps": cfg["timesteps"],
            "exit_policy": a.exit_policy, "threshold": float(th) if a.exit_policy != "fixed" else None,
            "seed": cfg.get("seed"), "command": a.command, "checkpoint": str(a.checkpoint),
            "train_command": cfg.get("command"), "loss": cfg.get("loss"), "schedule": cfg.get("schedule"),
            "classes": cfg.get("classes"), "fixed_T_accuracy": float((preds[:, -1] == col.labels).mean()),
            "adaptive_accuracy": acc, "avg_timesteps": avg_t, "device": str(device),
            "export_inference_s": infer_s, "n_samples": int(len(col.labels)),
            "sample_order": "test set in the seeded random order snn.data.test_indices(N, seed=0)",
            "test_subset": "all" if len(idx) == len(ds.test_y) else f"first {len(idx)} of that order"}
    wl = Workload(graph=g, spikes=col.spikes, labels=col.labels.astype(np.int32), predictions=preds,
                  scores=sc, exit_timestep=exits.astype(np.int32), meta=meta,
                  channel_spikes_mean={k: np.ascontiguousarray(v.T) for k, v in col.channel_spikes_mean.items()})
    save_workload(out, wl)
    total_s = time.time() - t0
    print(f"wrote {out}: {len(col.labels)} images, T={cfg['timesteps']}, {g.number_of_nodes()} layers; "
          f"fixed-T accuracy {100 * meta['fixed_T_accuracy']:.2f}%, {a.exit_policy} {th}: accuracy "
          f"{100 * acc:.2f}% at {avg_t:.3f} timesteps; inference {infer_s:.1f} s, total {total_s:.1f} s "
          f"on {device}")
    return meta


def main(argv: list[str] | None = None) -> int:
    a = parser().parse_args(argv)
    a.command = command_line("snn.export", argv)
    with EmptyDirGuard(Path(a.out).parent):
        export(a)
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))

"""Export the spike workload of a trained network on a test set, in archsim's format.

    python -m snn.export models/small_c10.pt --data-dir ../shared/datasets/cifar10-jpeg.tar.gz \
        --out workloads/small_c10.npz [--exit-policy entropy --threshold 0.8 --max-samples N]

Runs every test image through the network once (all T timesteps, spikes recorded per layer node of
``model.describe``) and writes, with ``archsim.workload.save_workload`` (the one writer): the layer graph,
spikes [N, L, T] emitted per layer and timestep, labels, per-timestep predictions and both exit scores,
the exit timestep under ``--exit-policy``/``--threshold``, per-channel mean spike counts, the pooled cells
that fired per pooled layer (format 2.1, what ``dataflow.pooling: per_cell`` counts), and meta (kind
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
                   help=f"exit threshold (default {xp.THRESHOLD_BY_POLICY})")
    p.add_argument("--max-samples", type=int, default=0, help="the first N test images of a seeded random order (0: all)")
    p.add_argument("--neuron-samples", type=int, default=0,
                   help="also record which neurons fired, for the first N images (archsim's per-neuron records)")
    p.add_argument("--batch-size", type=int, default=500)
    p.add_argument("--device", default="auto")
    p.add_argument("--num-threads", type=int, default=0)
    return p


def exit_threshold(policy: str, threshold: float | None) -> float:
    """The threshold ``policy`` runs with (its default when none is given); a bad one is a UserError."""
    if policy not in xp.POLICIES:
        raise UserError("command line", "exit-policy",
                        f"unknown policy {policy!r}; choose one of {list(xp.POLICIES)}")
    th = threshold if threshold is not None else xp.THRESHOLD_BY_POLICY.get(policy, 1.0)
    if not 0.0 <= th <= 1.0:
        raise UserError("command line", "threshold", f"must lie in [0, 1], got {th}")
    return th


def export_split(ds, max_samples: int, device: torch.device) -> tuple[DeviceData, dict]:
    """The test images every exporter runs (a seeded random order, so any prefix is a fair sample) on
    ``device``, and the meta entries that say which they were."""
    idx = test_indices(len(ds.test_y), max_samples)
    test = DeviceData(ds.test_x[idx], ds.test_y[idx], ds.mean, ds.std, device, channels_last=device.type == "cuda")
    return test, {"sample_order": "test set in the seeded random order snn.data.test_indices(N, seed=0)",
                  "test_subset": "all" if len(idx) == len(ds.test_y) else f"first {len(idx)} of that order"}


def build_workload(g, col, *, exit_policy: str, threshold: float, timesteps: int, meta: dict) -> Workload:
    """The workload of one recorded run (``snn.inference.collect`` with ``record=True``): per-timestep
    predictions and both exit scores (snn.exit_policy), the exits under ``exit_policy``/``threshold``, and
    ``meta`` completed with the policy, the fixed-T and adaptive accuracies and the sample count."""
    sc = {k: v.numpy().astype(np.float32) for k, v in xp.scores(col.out).items()}
    preds = xp.predictions(col.out).numpy().astype(np.int32)
    exits = xp.apply_policy(sc, exit_policy, threshold, timesteps)
    acc, avg_t = xp.adaptive_accuracy(preds, col.labels, exits)
    meta = {**meta, "timesteps": timesteps, "exit_policy": exit_policy,
            "threshold": float(threshold) if exit_policy != "fixed" else None,
            "fixed_T_accuracy": float((preds[:, -1] == col.labels).mean()), "adaptive_accuracy": acc,
            "avg_timesteps": avg_t, "n_samples": int(len(col.labels))}
    neurons, samples = neuron_records(g, col)
    return Workload(graph=g, spikes=col.spikes, labels=col.labels.astype(np.int32), predictions=preds,
                    scores=sc, exit_timestep=exits.astype(np.int32), meta=meta,
                    channel_spikes_mean={k: np.ascontiguousarray(v.T) for k, v in col.channel_spikes_mean.items()},
                    neuron_spikes=neurons, neuron_samples=samples, pooled_cells=col.pooled_cells or {})


def neuron_records(g, col) -> tuple[dict, np.ndarray | None]:
    """The per-neuron spike records ``collect(..., neuron_samples=N)`` kept, packed for the workload, when
    they cover every spiking node and add up to its totals (an event input with several events per pixel
    and timestep cannot be a 0/1 record: then none are written)."""
    from archsim import graph as ag
    from archsim.workload import pack_neuron_spikes
    if not col.neuron_spikes:
        return {}, None
    names = ag.layer_names(g)
    spiking = [n for n in names if ag.layer(g, n).spiking]
    s = min(len(v) for v in col.neuron_spikes.values())
    if any(n not in col.neuron_spikes for n in spiking) or any(
            not np.array_equal(col.neuron_spikes[n][:s].sum(-1), col.spikes[:s, names.index(n), :]) for n in spiking):
        print("warning: per-neuron records do not match the spike totals (several events per input neuron?); "
              "written without them", file=sys.stderr)
        return {}, None
    return {n: pack_neuron_spikes(col.neuron_spikes[n][:s]) for n in spiking}, np.arange(s, dtype=np.int32)


def summary_line(out, wl: Workload, threshold: float, infer_s: float, total_s: float, device) -> str:
    """The one line an exporter prints when it has written ``out``."""
    m = wl.meta
    policy = f"{m['exit_policy']} {threshold}"
    return (f"wrote {out}: {wl.n_samples} images, T={wl.timesteps}, {wl.graph.number_of_nodes()} layers; "
            f"fixed-T accuracy {100 * m['fixed_T_accuracy']:.2f}%, {policy}: accuracy "
            f"{100 * m['adaptive_accuracy']:.2f}% at {m['avg_timesteps']:.3f} timesteps; inference {infer_s:.1f} s, "
            f"total {total_s:.1f} s on {device}")


def export(a) -> dict:
    th = exit_threshold(a.exit_policy, a.threshold)
    positive("batch-size", a.batch_size)
    positive("max-samples", a.max_samples, minimum=0)
    positive("neuron-samples", a.neuron_samples, minimum=0)
    out = ensure_writable_file(a.out)
    model, cfg, ds, device = load_for_checkpoint(a)
    test, subset = export_split(ds, a.max_samples, device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    enc = "spikes" if ds.kind == "events" else "dense"
    g = model.describe(tuple(cfg["input_shape"]), enc)
    t0 = time.time()
    col = collect(model, test, a.batch_size, record=True, graph=g, progress=sys.stderr.isatty(),
                  neuron_samples=a.neuron_samples)
    infer_s = time.time() - t0
    meta = {"kind": "direct", "arch": cfg["arch"], "dataset": cfg["dataset"],
            "seed": cfg.get("seed"), "command": a.command, "checkpoint": str(a.checkpoint),
            "train_command": cfg.get("command"), "loss": cfg.get("loss"), "schedule": cfg.get("schedule"),
            "classes": cfg.get("classes"), "device": str(device), "export_inference_s": infer_s, **subset}
    wl = build_workload(g, col, exit_policy=a.exit_policy, threshold=th, timesteps=cfg["timesteps"], meta=meta)
    save_workload(out, wl)
    print(summary_line(out, wl, th, infer_s, time.time() - t0, device))
    return wl.meta


def main(argv: list[str] | None = None) -> int:
    a = parser().parse_args(argv)
    a.command = command_line("snn.export", argv)
    with EmptyDirGuard(Path(a.out).parent):
        export(a)
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))

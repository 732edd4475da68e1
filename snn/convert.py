"""Convert a trained ReLU ANN to a spiking network (Quartz TTFS or rate coding) and measure it.

    python -m snn.convert models/small_c10_ann.pt --method quartz --t-max 8 16 32 \
        --data-dir ../shared/datasets/cifar10-jpeg.tar.gz --out results/small_c10_quartz \
        --json results/small_c10_quartz.json --workload-out workloads/small_c10_quartz.npz

Steps: read the checkpoint (an ATSNN checkpoint whose ``config['neuron']`` is 'relu', e.g. from
snn.conversion.train_ann), parse it into stages (BatchNorm fused, input normalisation folded), normalise
each stage by the ``--percentile`` of its activations on ``--norm-images`` training images, then run the
test set through the ANN and the converted network at every ``--t-max``. For rate coding ``t_max`` is
the number of steps (one run of the largest gives every smaller one too).

Writes into ``--out``: ``results.json`` (accuracy, synaptic operations, spikes per image per t_max, the
ANN's accuracy and MACs, Quartz's published figures for reference, the command) and
``accuracy_vs_tmax.png``; ``--json`` writes the same JSON to another path too; ``--workload-out`` writes
the archsim workload (kind 'ttfs' or 'rate') of ``--workload-t-max`` (default: the largest t_max).
Bad input is one line ``error: <where>: <field>: <what>`` and exit status 2.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from archsim.errors import UserError, run_cli
from archsim.workload import save_workload
from snn.checkpoint import load_checkpoint, load_weights, model_from_config
from snn.cli import (EmptyDirGuard, Parser, atomic_save_figure, atomic_write_text, command_line, ensure_writable_dir, ensure_writable_file,
                     positive, resolve_device)
from snn.conversion import evaluate as ev
from snn.conversion import export, quartz
from snn.conversion.normalise import activation_scales
from snn.conversion.stages import fold_input_normalisation, forward, read_stages, scale_stages, to
from snn.data import DATASETS, load_dataset

METHODS = ("quartz", "rate")
# Quartz (arXiv 2309.16795), simulation, CIFAR-10 VGG: accuracy % and operations per frame.
QUARTZ_PAPER = {"net": "VGG (CIFAR-10)", "ann_accuracy": 92.39, "ann_macs": 171.7e6,
                "accuracy": {"8": 83.31, "16": 91.36, "32": 92.15, "64": 92.26},
                "ops": {"8": 4.36e6, "16": 6.91e6, "32": 12.0e6, "64": 22.2e6}}


def parser() -> Parser:
    p = Parser(prog="snn.convert", description=__doc__.split("\n\n")[0])
    p.add_argument("checkpoint", help="ReLU ANN checkpoint (snn.conversion.train_ann)")
    p.add_argument("--method", required=True, help=f"one of {list(METHODS)}")
    p.add_argument("--t-max", type=int, nargs="+", default=[8, 16, 32],
                   help="Quartz t_max values (rate: numbers of steps)")
    p.add_argument("--data-dir", required=True)
    p.add_argument("--dataset", default="cifar10", help=f"one of {list(DATASETS)}")
    p.add_argument("--cache-dir", default="data/cache")
    p.add_argument("--out", required=True, help="directory for results.json and accuracy_vs_tmax.png")
    p.add_argument("--json", default=None, help="also write the results JSON to this file")
    p.add_argument("--workload-out", default=None, help="archsim workload .npz to write")
    p.add_argument("--workload-t-max", type=int, default=None, help="t_max of the workload (default: largest)")
    p.add_argument("--percentile", type=float, default=99.99, help="activation percentile for normalisation")
    p.add_argument("--norm-images", type=int, default=1000, help="training images for the percentiles")
    p.add_argument("--readout", default="spike", help=f"Quartz output readout, one of {list(quartz.READOUTS)}")
    p.add_argument("--bias-mode", default="weighted", help=f"one of {list(quartz.BIAS_MODES)}")
    p.add_argument("--engine", default="event", help=f"TTFS engine, one of {list(quartz.ENGINES)}")
    p.add_argument("--v-init", type=float, default=0.5, help="rate coding: initial membrane (x threshold)")
    p.add_argument("--test-subset", type=int, default=0, help="use N seeded-random test images (0: all)")
    p.add_argument("--batch-size", type=int, default=200)
    p.add_argument("--device", default="auto")
    p.add_argument("--num-threads", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true")
    return p


def check_args(a) -> None:
    """Every command-line check, before any long work."""
    if a.method not in METHODS:
        raise UserError("command line", "method", f"must be one of {list(METHODS)}, got {a.method!r}")
    for t in a.t_max:
        if t < 2:
            raise UserError("command line", "t-max", f"must be >= 2, got {t}")
    if a.workload_t_max is not None:
        if a.workload_t_max < 2:
            raise UserError("command line", "workload-t-max", f"must be >= 2, got {a.workload_t_max}")
        if a.method == "quartz" and a.workload_t_max not in a.t_max:
            raise UserError("command line", "workload-t-max", f"{a.workload_t_max} is not among --t-max")
        if a.method == "rate" and a.workload_t_max > max(a.t_max):
            raise UserError("command line", "workload-t-max", f"exceeds the largest --t-max {max(a.t_max)}")
    for name, val, opts in (("readout", a.readout, quartz.READOUTS), ("bias-mode", a.bias_mode, quartz.BIAS_MODES),
                            ("engine", a.engine, quartz.ENGINES)):
        if val not in opts:
            raise UserError("command line", name, f"must be one of {list(opts)}, got {val!r}")
    if not 0.0 < a.percentile <= 100.0:
        raise UserError("command line", "percentile", f"must lie in (0, 100], got {a.percentile}")
    positive("norm-images", a.norm_images)
    positive("batch-size", a.batch_size)
    positive("test-subset", a.test_subset, 0)


def load_ann(path: str):
    """(model, config) of a ReLU ANN checkpoint; anything else is a UserError naming the file."""
    ck = load_checkpoint(path)
    cfg = ck["config"]
    neuron = cfg.get("neuron", "lif")
    for key in ("arch", "num_classes", "input_shape"):
        if key not in cfg:
            raise UserError(path, f"config.{key}", "missing")
    try:
        model = model_from_config(dict(cfg, timesteps=cfg.get("timesteps", 1)), neuron=neuron)
    except UserError as err:
        raise UserError(path, err.field, err.message) from None
    load_weights(model, ck["state_dict"], path, cfg["arch"])
    return model.eval(), cfg


def convert_stages(model, cfg: dict, path: str, mean, std):
    """Stages of the ANN with the input normalisation folded in (not yet percentile-normalised)."""
    try:
        stages = read_stages(model, tuple(cfg["input_shape"]))
    except UserError as err:
        raise UserError(path, err.field, err.message) from None
    return fold_input_normalisation(stages, mean, std)


def plot(results: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = results["per_t_max"]
    ts = [r["t_max"] for r in rows]
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    ax.plot(ts, [r["accuracy"] * 100 for r in rows], marker="o",
            label=f"{results['method']} ({results['arch']}, ours)")
    ax.axhline(results["ann_accuracy"] * 100, color="k", ls="--", lw=1, label="ANN (ours)")
    if results["method"] == "quartz":
        pts = sorted((int(k), v) for k, v in QUARTZ_PAPER["accuracy"].items())
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="s", ls=":", color="gray",
                label="Quartz paper, VGG")
        ax.axhline(QUARTZ_PAPER["ann_accuracy"], color="gray", ls="--", lw=0.8, label="Quartz paper ANN")
    ax.set_xscale("log", base=2)
    ticks = sorted(set(ts) | ({int(k) for k in QUARTZ_PAPER["accuracy"]} if results["method"] == "quartz" else set()))
    ax.set_xticks(ticks)
    ax.set_xticklabels([str(t) for t in ticks])
    ax.set_xlabel("t_max" if results["method"] == "quartz" else "timesteps")
    ax.set_ylabel("test accuracy %")
    ax.set_title(f"{results['dataset']}: {results['method']} conversion")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    atomic_save_figure(fig, path)


def main(argv: list[str] | None = None) -> int:
    a = parser().parse_args(argv)
    check_args(a)
    with EmptyDirGuard(a.out):  # a bad checkpoint or data dir leaves no empty output folder behind
        return convert(a)


def convert(a) -> int:
    out = ensure_writable_dir(a.out)
    if a.json:
        ensure_writable_file(a.json, "json")
    if a.workload_out:
        ensure_writable_file(a.workload_out, "workload-out")
    device = resolve_device(a.device)
    if a.num_threads:
        torch.set_num_threads(a.num_threads)
    model, cfg = load_ann(a.checkpoint)
    ds = load_dataset(a.data_dir, a.dataset, cache_dir=a.cache_dir)
    if ds.kind != "image":
        raise UserError(a.data_dir, "data_dir", "conversion needs images, not event frames")
    if list(ds.input_shape) != list(cfg["input_shape"]) or ds.num_classes != cfg["num_classes"]:
        raise UserError(a.data_dir, "data_dir", f"images {list(ds.input_shape)} / {ds.num_classes} classes do not "
                        f"fit the checkpoint's {cfg['input_shape']} / {cfg['num_classes']}")
    mean, std = cfg.get("mean", ds.mean), cfg.get("std", ds.std)
    stages = convert_stages(model, cfg, a.checkpoint, mean, std)
    t0 = time.time()

    # Check the folding on a few test images: the stages must reproduce the checkpoint's ANN.
    x = torch.from_numpy(ds.test_x[:64]).float() / 255.0
    xn = (x - torch.tensor(mean).view(1, -1, 1, 1)) / torch.tensor(std).view(1, -1, 1, 1)
    with torch.no_grad():
        fold_err = float((forward(stages, x) - model(xn)).abs().max())

    rng = np.random.RandomState(a.seed)
    norm_idx = np.sort(rng.permutation(len(ds.train_y))[: a.norm_images])
    scales = activation_scales(stages, ev.pixel_batches(ds.train_x[norm_idx], a.batch_size, "cpu"), a.percentile)
    stages = to(scale_stages(stages, scales), device=device)
    tidx = np.arange(len(ds.test_y))
    if a.test_subset:
        tidx = np.sort(np.random.RandomState(a.seed + 1).permutation(len(ds.test_y))[: a.test_subset])
    images, labels = ds.test_x[tidx], ds.test_y[tidx]
    ann_out = ev.ann_outputs(stages, images, a.batch_size, device)
    ann_acc = float((ann_out.argmax(1) == labels).mean())
    print(f"ANN ({cfg['arch']}): {100 * ann_acc:.2f}% on {len(labels)} test images; fold error {fold_err:.2e}; "
          f"scales {[round(s, 3) for s in scales]}", file=sys.stderr, flush=True)

    rows, workload = [], None
    wl_t = a.workload_t_max or max(a.t_max)
    meta = dict(method=a.method, arch=cfg["arch"], dataset=a.dataset, checkpoint=str(a.checkpoint),
                percentile=a.percentile, ann_accuracy=ann_acc, n_test=int(len(labels)))
    if a.method == "quartz":
        for t in sorted(set(a.t_max)):
            t1 = time.time()
            r = ev.run_quartz(stages, images, t, batch_size=a.batch_size, device=device, engine=a.engine,
                              bias_mode=a.bias_mode, readout=a.readout, progress=not a.no_progress)
            pred = r["values"].argmax(1)
            n_neurons = [int(np.prod(st.out_shape)) for st in stages]
            row = {"t_max": t, "accuracy": float((pred == labels).mean()),
                   "synops_per_image": float(r["synops"].mean()),
                   "quartz_ops_per_image": float(r["quartz_ops"].mean()),
                   "spikes_per_image": float(r["spikes"].sum(1).mean()),
                   "spikes_per_layer": r["spikes"].mean(0).tolist(),
                   "early_spike_fraction_per_stage": (r["early"].mean(0) / np.array(n_neurons)).tolist(),
                   "forced_spike_fraction_per_stage": (r["forced"].mean(0) / np.array(n_neurons)).tolist(),
                   "first_output_step_mean": float(np.mean(r["first_output_step"][np.isfinite(r["first_output_step"])]))
                   if np.isfinite(r["first_output_step"]).any() else None,
                   "latency_steps": quartz.latency_steps(len(stages), t),
                   "output_ties": int(_ties(r["values"])), "wall_s": time.time() - t1}
            rows.append(row)
            print(f"quartz t_max={t}: {100 * row['accuracy']:.2f}% | synops/img {row['synops_per_image']:.4g} | "
                  f"quartz-ops/img {row['quartz_ops_per_image']:.4g} | spikes/img {row['spikes_per_image']:.0f} | "
                  f"early {100 * float(r['early'].sum(1).mean()) / sum(n_neurons):.3f}% | {row['wall_s']:.0f} s",
                  file=sys.stderr, flush=True)
            if t == wl_t and a.workload_out:
                workload = export.ttfs_workload(stages, r, labels, t, scales[-1],
                                                dict(meta, readout=a.readout, bias_mode=a.bias_mode,
                                                     accuracy=row["accuracy"]))
    else:
        T = max(a.t_max)
        t1 = time.time()
        r = ev.run_rate(stages, images, T, batch_size=a.batch_size, device=device, v_init=a.v_init,
                        progress=not a.no_progress)
        cum = np.cumsum(r["out"], 0)
        for t in sorted(set(a.t_max) | ({wl_t} if a.workload_out else set())):
            row = {"t_max": t, "accuracy": float((cum[t - 1].argmax(1) == labels).mean()),
                   "synops_per_image": float(r["synops"][:, :t].sum(1).mean()),
                   "input_macs_per_image": r["input_macs"] * t,
                   "spikes_per_image": float(r["spikes"][:, :, :t].sum((1, 2)).mean()),
                   "spikes_per_layer": r["spikes"][:, :, :t].sum(2).mean(0).tolist(),
                   "latency_steps": t}
            if t in a.t_max:
                rows.append(row)
            print(f"rate T={t}: {100 * row['accuracy']:.2f}% | synops/img {row['synops_per_image']:.4g} | "
                  f"spikes/img {row['spikes_per_image']:.0f}", file=sys.stderr, flush=True)
            if t == wl_t and a.workload_out:
                workload = export.rate_workload(stages, r, labels, t, scales[-1],
                                                dict(meta, v_init=a.v_init, accuracy=row["accuracy"]))
        for row in rows:
            row["wall_s_full_run"] = time.time() - t1

    results = {"method": a.method, "arch": cfg["arch"], "dataset": f"{a.dataset} ({Path(a.data_dir).name})",
               "checkpoint": str(a.checkpoint), "test_images": int(len(labels)), "ann_accuracy": ann_acc,
               "ann_macs_per_image": ev.dense_macs_per_image(stages), "percentile": a.percentile,
               "norm_images": a.norm_images, "scales": scales, "fold_max_abs_error": fold_err,
               "readout": a.readout if a.method == "quartz" else None,
               "bias_mode": a.bias_mode if a.method == "quartz" else None,
               "engine": a.engine if a.method == "quartz" else None,
               "v_init": a.v_init if a.method == "rate" else None,
               "per_t_max": rows, "quartz_paper": QUARTZ_PAPER, "device": str(device),
               "num_threads": torch.get_num_threads(), "wall_s": time.time() - t0,
               "command": command_line(),
               "torch_version": torch.__version__}
    text = json.dumps(results, indent=2)
    atomic_write_text(out / "results.json", text)
    if a.json:
        atomic_write_text(a.json, text)
    try:
        plot(results, out / "accuracy_vs_tmax.png")
    except Exception as err:  # noqa: BLE001 - a plotting failure must not lose the measurements
        print(f"warning: accuracy_vs_tmax.png not written ({err})", file=sys.stderr)
    if workload is not None:
        save_workload(a.workload_out, workload)
    for row in rows:
        print(f"{a.method} t_max={row['t_max']}: accuracy {100 * row['accuracy']:.2f}% "
              f"(ANN {100 * ann_acc:.2f}%), synops/image {row['synops_per_image']:.4g}")
    return 0


def _ties(values: np.ndarray) -> int:
    """Samples whose largest output is shared by two or more classes (argmax then picks the lower)."""
    top = values.max(1, keepdims=True)
    return int(((values == top).sum(1) > 1).sum())


if __name__ == "__main__":
    sys.exit(run_cli(main))

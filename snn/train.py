"""Train a spiking network with the ATSNN (or mean / TET) loss.

    python -m snn.train --arch small --dataset cifar10 \
        --data-dir ../shared/datasets/cifar10-jpeg.tar.gz --timesteps 4 --loss atsnn --schedule uniform \
        --epochs 5 --batch-size 64 --out runs/small_c10

Writes into ``--out``: ``config.json`` (the resolved configuration, seed and command), ``log.csv`` (one row
per epoch: train loss and accuracy, test accuracy after each timestep T1..T, lr, images/s, wall time),
``last.pt`` (model + optimizer + scheduler + RNG states, for ``--resume``), ``model.pt`` (weights and
config only: what snn.evaluate / snn.export read), ``results.json`` and ``curves.png``.

Recipe: SGD (momentum 0.9, nesterov) or AdamW, linear warmup then cosine decay to 0 per step; random crop
(pad 4) + horizontal flip done on the device. fp32 on the CPU; bf16 autocast + channels_last + the
compiled fused LIF loop on CUDA. ``--resume`` continues from ``last.pt`` and gives the same weights as an
uninterrupted run (the shuffling/augmentation generator and all RNG states are saved). ``--max-minutes``
stops after the epoch during which the budget ran out; the number of epochs trained is recorded.
``--distill-from TEACHER`` adds knowledge distillation (snn.losses.make_distill_loss): the loss becomes
``(1 - alpha) * task + alpha * KD``, the teacher (typically the ReLU twin) run on the same augmented batch.
"""
from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from archsim.errors import UserError, run_cli
from snn import exit_policy as xp
from snn.checkpoint import load_checkpoint, load_teacher, load_weights, save_checkpoint
from snn.cli import (EmptyDirGuard, Parser, atomic_save_figure, atomic_write_text, command_line, ensure_writable_dir, positive,
                     resolve_device)
from snn.data import DATASETS, DeviceData, load_dataset
from snn.inference import collect
from snn.losses import LOSSES, SCHEDULES, make_distill_loss, make_loss
from snn.models import ARCHS, build
from snn.models.common import NEURONS
from snn.surrogate import DEFAULT_ALPHA

NEW_KEY_DEFAULTS = {"distill_from": "", "distill_weight": 0.5, "distill_temperature": 2.0, "cutout": 0}


def parser() -> Parser:
    p = Parser(prog="snn.train", description="Train an ATSNN spiking network.")
    p.add_argument("--arch", default="small", help=f"one of {list(ARCHS)}")
    p.add_argument("--neuron", default="lif", choices=list(NEURONS),
                   help="lif: the spiking network; relu: its ANN twin (one pass, T=1), e.g. to --init-from")
    p.add_argument("--init-from", default="",
                   help="start from the weights of this checkpoint (same arch: an SNN, or its ReLU twin)")
    p.add_argument("--dataset", default="cifar10", help=f"one of {list(DATASETS)}")
    p.add_argument("--data-dir", required=True, help="tarball, ImageFolder tree, or cifar pickle folder")
    p.add_argument("--cache-dir", default="data/cache")
    p.add_argument("--image-size", type=int, default=32)
    p.add_argument("--timesteps", type=int, default=4)
    p.add_argument("--loss", default="atsnn", help=f"one of {list(LOSSES)}")
    p.add_argument("--schedule", default="uniform", help=f"ATSNN weight schedule, one of {list(SCHEDULES)}")
    p.add_argument("--gamma", type=float, default=0.7, help="ratio of the 'exp' schedule")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--eval-batch-size", type=int, default=500)
    p.add_argument("--optimizer", default="sgd", choices=["sgd", "adamw"])
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--warmup-epochs", type=float, default=0.5)
    p.add_argument("--label-smoothing", type=float, default=0.0)
    p.add_argument("--cutout", type=int, default=0, metavar="PX",
                   help="augmentation: zero one PX x PX square per training image (0: off)")
    p.add_argument("--distill-from", default="",
                   help="a trained teacher checkpoint (e.g. the ReLU twin): add a knowledge-distillation term")
    p.add_argument("--distill-weight", type=float, default=0.5,
                   help="alpha: loss = (1 - alpha) * task loss + alpha * distillation term")
    p.add_argument("--distill-temperature", type=float, default=2.0, help="softmax temperature of the term")
    p.add_argument("--tau", type=float, default=2.0)
    p.add_argument("--v-threshold", type=float, default=1.0)
    p.add_argument("--reset", default="hard", choices=["hard", "soft"])
    p.add_argument("--surrogate", default="sigmoid", help=f"one of {sorted(DEFAULT_ALPHA)}")
    p.add_argument("--charge", default="dtsnn", choices=["dtsnn", "spikingjelly"],
                   help="dtsnn: h = v - v/tau + x (tau 2: 0.5 v + x); spikingjelly: h = v + (x - v)/tau")
    p.add_argument("--eager", action="store_true", help="eager LIF loop instead of the fused one")
    p.add_argument("--compile", default="auto", choices=["auto", "on", "off"],
                   help="torch.compile the fused LIF loop (auto: on CUDA only)")
    p.add_argument("--device", default="auto")
    p.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"],
                   help="autocast dtype of the forward pass (auto: bf16 on CUDA, fp32 on the CPU); "
                        "bf16 also uses channels_last")
    p.add_argument("--num-threads", type=int, default=0, help="CPU threads (0: torch default)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--train-subset", type=int, default=0, help="train on the first N of a seeded shuffle")
    p.add_argument("--test-subset", type=int, default=0, help="evaluate on the first N test images")
    p.add_argument("--max-minutes", type=float, default=0.0, help="stop after the epoch that passes this")
    p.add_argument("--chunk-minutes", type=float, default=0.0,
                   help="pause this command (schedule unchanged) before an epoch that would end past this; "
                        "continue with --resume")
    p.add_argument("--stop-after", type=int, default=0, help=argparse_hidden())
    p.add_argument("--out", required=True)
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    p.add_argument("--no-progress", action="store_true")
    return p


def argparse_hidden():
    import argparse
    return argparse.SUPPRESS


def resolve_config(a) -> dict:
    positive("timesteps", a.timesteps)
    positive("epochs", a.epochs)
    positive("batch-size", a.batch_size)
    positive("eval-batch-size", a.eval_batch_size)
    if not (a.lr > 0 and math.isfinite(a.lr)):
        raise UserError("command line", "lr", f"must be > 0, got {a.lr}")
    if a.arch not in ARCHS:
        raise UserError("command line", "arch", f"unknown architecture {a.arch!r}; choose one of {list(ARCHS)}")
    if a.loss not in LOSSES:
        raise UserError("command line", "loss", f"unknown loss {a.loss!r}; choose one of {list(LOSSES)}")
    if a.schedule not in SCHEDULES:
        raise UserError("command line", "schedule",
                        f"unknown schedule {a.schedule!r}; choose one of {list(SCHEDULES)}")
    if a.dataset not in DATASETS:
        raise UserError("command line", "dataset", f"unknown dataset {a.dataset!r}; choose one of {list(DATASETS)}")
    if a.surrogate not in DEFAULT_ALPHA:
        raise UserError("command line", "surrogate",
                        f"unknown surrogate {a.surrogate!r}; choose one of {sorted(DEFAULT_ALPHA)}")
    if not 0 <= a.cutout <= a.image_size:
        raise UserError("command line", "cutout", f"must be in [0, image size {a.image_size}] pixels, got {a.cutout}")
    if not 0.0 <= a.distill_weight <= 1.0:
        raise UserError("command line", "distill-weight", f"must be in [0, 1], got {a.distill_weight}")
    if not (a.distill_temperature > 0 and math.isfinite(a.distill_temperature)):
        raise UserError("command line", "distill-temperature", f"must be > 0, got {a.distill_temperature}")
    device = resolve_device(a.device)
    compile_ = a.compile == "on" or (a.compile == "auto" and device.type == "cuda")
    if a.neuron == "relu" and a.timesteps != 1:
        raise UserError("command line", "timesteps", f"the ReLU twin runs one pass: use --timesteps 1, "
                        f"got {a.timesteps}")
    precision = a.precision if a.precision != "auto" else ("bf16" if device.type == "cuda" else "fp32")
    return dict(
        arch=a.arch, neuron=a.neuron, init_from=str(a.init_from), precision=precision, dataset=a.dataset, data_dir=str(a.data_dir), image_size=a.image_size,
        timesteps=a.timesteps, loss=a.loss, schedule=a.schedule, gamma=a.gamma, epochs=a.epochs,
        batch_size=a.batch_size, eval_batch_size=a.eval_batch_size, optimizer=a.optimizer, lr=a.lr,
        weight_decay=a.weight_decay, warmup_epochs=a.warmup_epochs, label_smoothing=a.label_smoothing,
        cutout=a.cutout, distill_from=str(a.distill_from), distill_weight=a.distill_weight,
        distill_temperature=a.distill_temperature,
        neuron_kwargs=dict(tau=a.tau, v_threshold=a.v_threshold, reset=a.reset, surrogate=a.surrogate,
                           decay_input=a.charge == "spikingjelly", fused=not a.eager, compile=compile_),
        device=str(device), num_threads=a.num_threads or torch.get_num_threads(), seed=a.seed,
        train_subset=a.train_subset, test_subset=a.test_subset, max_minutes=a.max_minutes,
        chunk_minutes=a.chunk_minutes, cache_dir=a.cache_dir, out=str(a.out), command=a.command,
        torch_version=torch.__version__,
    )


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def lr_factor(step: int, total: int, warmup: int) -> float:
    """Linear warmup from 0.01 to 1 over ``warmup`` steps, then cosine to 0 at ``total``."""
    if warmup > 0 and step < warmup:
        return 0.01 + 0.99 * step / warmup
    if total <= warmup:
        return 1.0
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, (step - warmup) / (total - warmup))))


def make_optimizer(model, cfg):
    decay, no_decay = [], []
    for n, p in model.named_parameters():
        (no_decay if p.dim() <= 1 else decay).append(p)
    groups = [{"params": decay, "weight_decay": cfg["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}]
    if cfg["optimizer"] == "sgd":
        return torch.optim.SGD(groups, lr=cfg["lr"], momentum=0.9, nesterov=True)
    return torch.optim.AdamW(groups, lr=cfg["lr"])


def per_timestep_accuracy(out: torch.Tensor, labels: np.ndarray) -> list[float]:
    preds = xp.predictions(out).numpy()
    return [float((preds[:, t] == labels).mean()) for t in range(preds.shape[1])]


def plot_curves(rows: list[dict], T: int, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ep = [r["epoch"] for r in rows]
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.5))
    ax[0].plot(ep, [r["train_loss"] for r in rows], marker="o")
    ax[0].set_xlabel("epoch"), ax[0].set_ylabel("train loss")
    for t in range(1, T + 1):
        ax[1].plot(ep, [100 * r[f"test_acc_T{t}"] for r in rows], marker="o", label=f"T{t}")
    ax[1].set_xlabel("epoch"), ax[1].set_ylabel("test accuracy %"), ax[1].legend()
    fig.tight_layout()
    atomic_save_figure(fig, path, dpi=100)


def train(cfg: dict, resume: bool = False, progress: bool = True, stop_after: int = 0) -> dict:
    with EmptyDirGuard(cfg["out"]):  # bad input found before anything was written leaves no empty run dir
        out = ensure_writable_dir(cfg["out"])
        return _train(cfg, out, resume, progress, stop_after)


def _train(cfg: dict, out: Path, resume: bool, progress: bool, stop_after: int) -> dict:
    if cfg["num_threads"]:
        torch.set_num_threads(int(cfg["num_threads"]))
    device = torch.device(cfg["device"])
    ds = load_dataset(cfg["data_dir"], cfg["dataset"], image_size=cfg["image_size"], timesteps=cfg["timesteps"],
                      cache_dir=cfg["cache_dir"])
    cfg["num_classes"], cfg["input_shape"] = ds.num_classes, list(ds.input_shape)
    cfg["classes"] = ds.classes
    cfg["mean"], cfg["std"] = list(ds.mean), list(ds.std)  # the input normalisation, for snn.convert
    if ds.kind == "events" and ds.train_x.shape[1] != cfg["timesteps"]:
        raise UserError(cfg["data_dir"], "timesteps", "event frames were binned for another T")
    state = None
    if resume:
        last = out / "last.pt"
        state = load_checkpoint(last, full=True)
        old = state["config"]
        for k in ("arch", "neuron", "dataset", "timesteps", "loss", "schedule", "epochs", "batch_size", "seed", "lr",
                  "optimizer", "train_subset", "cutout", "distill_from", "distill_weight", "distill_temperature"):
            was = old.get(k, NEW_KEY_DEFAULTS.get(k))  # runs saved before a key existed ran with its default
            if was != cfg.get(k):
                raise UserError(str(last), k, f"checkpoint has {was!r}, command line {cfg.get(k)!r}")
        for k in ("init_from", "init_from_config"):  # the weights it started from, whatever this command says
            if k in old:
                cfg[k] = old[k]
        cfg["resume_commands"] = list(old.get("resume_commands", [])) + [cfg["command"]]
        cfg["command"] = old["command"]  # the run's own command; the resumptions are listed beside it
    seed_everything(cfg["seed"])
    idx = np.random.RandomState(cfg["seed"]).permutation(len(ds.train_y))
    if cfg["train_subset"]:
        idx = np.sort(idx[: cfg["train_subset"]])
    else:
        idx = np.arange(len(ds.train_y))
    cuda = device.type == "cuda"
    bf16 = cfg.get("precision") == "bf16"
    channels_last = cuda or bf16
    train_data = DeviceData(ds.train_x[idx], ds.train_y[idx], ds.mean, ds.std, device, channels_last=channels_last)
    tidx = np.arange(len(ds.test_y))
    if cfg["test_subset"]:  # a seeded, class-balanced-in-expectation subset (the files are sorted by class)
        tidx = np.sort(np.random.RandomState(cfg["seed"] + 1).permutation(len(ds.test_y))[: cfg["test_subset"]])
    test_data = DeviceData(ds.test_x[tidx], ds.test_y[tidx], ds.mean, ds.std, device, channels_last=channels_last)

    model = build(cfg["arch"], cfg["num_classes"], cfg["timesteps"], neuron=cfg.get("neuron", "lif"),
                  input_shape=tuple(cfg["input_shape"]), **cfg["neuron_kwargs"])
    if cfg.get("init_from") and state is None:
        cfg["init_from_config"] = init_weights(model, cfg["init_from"], cfg)
    model = model.to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    net = model if cfg.get("neuron", "lif") == "lif" else TimeAxis(model)  # what forward/collect call
    opt = make_optimizer(model, cfg)
    steps_per_epoch = math.ceil(len(train_data) / cfg["batch_size"])
    total = steps_per_epoch * cfg["epochs"]
    warmup = int(cfg["warmup_epochs"] * steps_per_epoch)
    plan = {"total": total, "last_epoch": cfg["epochs"]}  # shrunk by --max-minutes re-planning only
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, plan["total"], warmup))
    loss_fn = make_loss(cfg["loss"], cfg["timesteps"], cfg["schedule"], cfg["gamma"])
    teacher, alpha = None, float(cfg.get("distill_weight", 0.0))
    if cfg.get("distill_from"):
        teacher = load_teacher(cfg["distill_from"], cfg["num_classes"], cfg["input_shape"], device)
        if channels_last:
            teacher = teacher.to(memory_format=torch.channels_last)
        kd_fn = make_distill_loss(cfg["loss"], cfg["timesteps"], cfg["schedule"], cfg["gamma"],
                                  cfg["distill_temperature"])
    gen = torch.Generator().manual_seed(cfg["seed"])
    rows: list[dict] = []
    start_epoch, wall_before = 0, 0.0
    if state is not None:
        model.load_state_dict(state["state_dict"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        gen.set_state(state["gen_state"])
        torch.set_rng_state(state["torch_rng"])
        np.random.set_state(state["numpy_rng"])
        random.setstate(state["python_rng"])
        rows = list(state["rows"])
        plan.update(state.get("plan", {}))
        start_epoch, wall_before = int(state["epoch"]), float(state["wall_s"])
    atomic_write_text(out / "config.json", json.dumps(cfg, indent=2))
    amp = torch.bfloat16 if bf16 else None  # autocast dtype of every forward pass
    autocast = torch.autocast(device.type, dtype=amp) if amp is not None else contextlib.nullcontext()
    T = cfg["timesteps"]
    t_start = time.time()
    stopped_early = False
    for epoch in range(start_epoch, cfg["epochs"]):
        if epoch >= plan["last_epoch"]:
            stopped_early = True
            break
        net.train()
        t0 = time.time()
        loss_sum, correct, seen = 0.0, 0, 0
        bar = None
        if progress:
            from tqdm import tqdm
            bar = tqdm(total=len(train_data), unit="img", desc=f"epoch {epoch + 1}/{cfg['epochs']}",
                       mininterval=1.0 if sys.stderr.isatty() else 60.0, file=sys.stderr)
        for xb, yb in train_data.batches(cfg["batch_size"], shuffle=True, augment=True, gen=gen,
                                          cutout_px=cfg.get("cutout", 0)):
            with autocast:
                o = net(xb)
            loss = loss_fn(o.float(), yb)
            if cfg["label_smoothing"]:
                loss = (1 - cfg["label_smoothing"]) * loss + cfg["label_smoothing"] * \
                    (-torch.log_softmax(o.float().mean(0), -1).mean(-1)).mean()
            if teacher is not None:
                with torch.no_grad(), autocast:
                    t_logits = teacher(xb)
                loss = (1 - alpha) * loss + alpha * kd_fn(o.float(), t_logits.float())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            with torch.no_grad():
                loss_sum += float(loss) * len(yb)
                correct += int((o.detach().float().sum(0).argmax(-1) == yb).sum())
                seen += len(yb)
            if bar is not None:
                bar.update(len(yb))
                bar.set_postfix(loss=f"{loss_sum / seen:.3f}", acc=f"{100 * correct / seen:.1f}", refresh=False)
        if bar is not None:
            bar.close()
        train_s = time.time() - t0
        col = collect(net, test_data, cfg["eval_batch_size"], autocast_dtype=amp)
        accs = per_timestep_accuracy(col.out, col.labels)
        row = {"epoch": epoch + 1, "train_loss": loss_sum / seen, "train_acc": correct / seen}
        row.update({f"test_acc_T{t + 1}": a for t, a in enumerate(accs)})
        row.update(lr=opt.param_groups[0]["lr"], images_per_s=seen / train_s, train_s=train_s,
                   epoch_s=time.time() - t0, wall_s=wall_before + time.time() - t_start)
        rows.append(row)
        print(f"epoch {epoch + 1}: loss {row['train_loss']:.4f} train {100 * row['train_acc']:.2f}% test "
              + " ".join(f"T{t + 1} {100 * a:.2f}%" for t, a in enumerate(accs))
              + f" | {row['images_per_s']:.1f} img/s, {row['epoch_s']:.0f} s", file=sys.stderr, flush=True)
        if cfg["max_minutes"]:
            _replan(plan, cfg, rows, epoch + 1, steps_per_epoch)
        row["planned_epochs"] = plan["last_epoch"]
        _write_csv(out / "log.csv", rows)
        extra = {"plan": dict(plan), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(), "gen_state": gen.get_state(),
                 "torch_rng": torch.get_rng_state(), "numpy_rng": np.random.get_state(),
                 "python_rng": random.getstate(), "rows": rows, "epoch": epoch + 1, "wall_s": row["wall_s"]}
        save_checkpoint(out / "last.pt", model, cfg, extra)
        save_checkpoint(out / "model.pt", model, cfg)
        try:
            plot_curves(rows, T, out / "curves.png")
        except Exception as err:  # noqa: BLE001 - a plotting failure must not lose a training run
            print(f"warning: curves.png not written ({err})", file=sys.stderr)
        if stop_after and epoch + 1 - start_epoch >= stop_after:
            break
        chunk_s = 60.0 * cfg.get("chunk_minutes", 0.0)
        if chunk_s and epoch + 1 < plan["last_epoch"] and time.time() - t_start + 1.1 * row["epoch_s"] > chunk_s:
            print(f"--chunk-minutes {cfg['chunk_minutes']}: paused after epoch {epoch + 1} of "
                  f"{plan['last_epoch']}; continue with the same command and --resume", file=sys.stderr, flush=True)
            return {"paused_after_epoch": epoch + 1}
    res = summarise(net, test_data, cfg, rows, stopped_early, amp)
    atomic_write_text(out / "results.json", json.dumps(res, indent=2))
    return res


class TimeAxis(nn.Module):
    """Gives the ReLU twin's ``[B, K]`` output the trainer's time axis, ``[1, B, K]``, so the losses, the
    per-timestep evaluation and the checkpoints treat an ANN as a one-timestep network."""

    timesteps = 1

    def __init__(self, ann: nn.Module):
        super().__init__()
        self.ann = ann

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ann(x).unsqueeze(0)


def init_weights(model: nn.Module, path: str, cfg: dict) -> dict:
    """``--init-from``: copy every weight of a checkpoint of the same architecture into ``model``.

    The SNN and its ReLU twin share their state_dict keys (snn.models), so a trained ANN can seed an SNN
    (hybrid ANN-to-SNN training: the LIF thresholds then meet pre-activations of the right scale after a
    short fine-tune), and an SNN trained at T=1 can seed one at T=4 (a timestep schedule made of runs).
    Returns the source checkpoint's config summary, recorded in this run's config."""
    ck = load_checkpoint(path)
    src = ck["config"]
    for k in ("arch", "num_classes"):
        if src.get(k) != cfg.get(k):
            raise UserError(str(path), k, f"checkpoint has {src.get(k)!r}, this run {cfg.get(k)!r}")
    load_weights(model, ck["state_dict"], path, cfg["arch"])
    return {k: src.get(k) for k in ("arch", "neuron", "timesteps", "loss", "command") if k in src}


def _replan(plan: dict, cfg: dict, rows: list[dict], done: int, steps_per_epoch: int) -> None:
    """--max-minutes: after each epoch, keep only as many further epochs as fit in the remaining time
    (at the latest epoch's pace + 10%) and shrink the cosine schedule so it still ends at lr 0 on
    the new last epoch. Without this a CPU shared with other jobs would stop mid-schedule at a high lr."""
    remaining = cfg["max_minutes"] * 60.0 - rows[-1]["wall_s"]
    ep_time = 1.1 * rows[-1]["epoch_s"]  # the latest epoch's pace, 10% margin
    fit = max(0, int(remaining // ep_time))
    last = min(plan["last_epoch"], done + fit)
    if last < plan["last_epoch"]:
        print(f"--max-minutes {cfg['max_minutes']}: {remaining / 60:.1f} min left at {ep_time:.0f} s/epoch, "
              f"training stops after epoch {last} (was {plan['last_epoch']})", file=sys.stderr, flush=True)
        plan["last_epoch"] = last
        plan["total"] = last * steps_per_epoch


def summarise(model, test_data, cfg, rows, stopped_early, amp: torch.dtype | None = None) -> dict:
    col = collect(model, test_data, cfg["eval_batch_size"], autocast_dtype=amp)
    accs = per_timestep_accuracy(col.out, col.labels)
    sc = {k: v.numpy() for k, v in xp.scores(col.out).items()}
    preds = xp.predictions(col.out).numpy()
    adaptive = {}
    for pol, th in xp.THRESHOLD_BY_POLICY.items():
        exits = xp.exit_timestep(sc[pol], th)
        acc, avg_t = xp.adaptive_accuracy(preds, col.labels, exits)
        adaptive[pol] = {"threshold": th, "accuracy": acc, "avg_timesteps": avg_t}
    return {"arch": cfg["arch"], "neuron": cfg.get("neuron", "lif"), "init_from": cfg.get("init_from", ""),
            "distill_from": cfg.get("distill_from", ""),
            "precision": cfg.get("precision", "fp32"), "dataset": cfg["dataset"], "timesteps": cfg["timesteps"], "loss": cfg["loss"],
            "schedule": cfg["schedule"], "epochs_planned": cfg["epochs"], "epochs_trained": len(rows),
            "stopped_early": stopped_early, "fixed_T_accuracy": accs[-1],
            "per_timestep_accuracy": {f"T{t + 1}": a for t, a in enumerate(accs)}, "adaptive": adaptive,
            "wall_s": rows[-1]["wall_s"] if rows else 0.0, "seed": cfg["seed"], "command": cfg["command"],
            "test_images": len(col.labels)}


def _write_csv(path: Path, rows: list[dict]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    a = parser().parse_args(argv)
    a.command = command_line("snn.train", argv)
    cfg = resolve_config(a)
    train(cfg, resume=a.resume, progress=not a.no_progress, stop_after=a.stop_after)
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))

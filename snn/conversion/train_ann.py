"""Train the ReLU ANN twin of a trainer architecture: what the Quartz and rate conversions start from.

    python -m snn.conversion.train_ann --arch small --data-dir ../shared/datasets/cifar10-jpeg.tar.gz \
        --epochs 6 --out models/small_c10_ann.pt

The network is ``snn.models.build(arch, neuron='relu')`` (Conv2d, BatchNorm2d, ReLU, AvgPool2d, Flatten,
Linear), trained with the trainer's recipe (SGD momentum 0.9 nesterov, linear warmup then cosine to 0,
weight decay 5e-4 on weights only, random crop pad 4 + horizontal flip on the device, cross-entropy).
The ANN needs one pass per image where the T=4 SNN needs four, so it trains about 4x faster.

Writes ``--out`` (an ATSNN checkpoint, snn.checkpoint, with ``config['neuron'] = 'relu'`` and the input
normalisation ``mean``/``std`` it was trained with) and ``<out>.json`` beside it (per-epoch log, test
accuracy, wall time, command).
"""
from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

from archsim.errors import UserError, run_cli
from snn.checkpoint import save_checkpoint
from snn.cli import Parser, atomic_write_text, command_line, ensure_writable_file, positive, resolve_device
from snn.data import DATASETS, DeviceData, load_dataset
from snn.models import ARCHS, build
from snn.train import lr_factor, make_optimizer, seed_everything


def parser() -> Parser:
    p = Parser(prog="snn.conversion.train_ann", description=__doc__.split("\n\n")[0])
    p.add_argument("--arch", default="small", help=f"one of {list(ARCHS)} (resnet19 trains but does not convert)")
    p.add_argument("--dataset", default="cifar10", help=f"one of {list(DATASETS)}")
    p.add_argument("--data-dir", required=True)
    p.add_argument("--cache-dir", default="data/cache")
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--warmup-epochs", type=float, default=0.5)
    p.add_argument("--train-subset", type=int, default=0, help="train on the first N of a seeded shuffle")
    p.add_argument("--test-subset", type=int, default=0, help="evaluate on the first N test images")
    p.add_argument("--device", default="auto")
    p.add_argument("--num-threads", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="checkpoint file to write, e.g. models/small_c10_ann.pt")
    return p


@torch.no_grad()
def accuracy(model, data: DeviceData, batch_size: int = 500) -> float:
    model.eval()
    correct = 0
    for xb, yb in data.batches(batch_size):
        correct += int((model(xb).argmax(-1) == yb).sum())
    return correct / len(data)


def train(cfg: dict) -> dict:
    if cfg["num_threads"]:
        torch.set_num_threads(int(cfg["num_threads"]))
    device = torch.device(cfg["device"])
    ds = load_dataset(cfg["data_dir"], cfg["dataset"], cache_dir=cfg["cache_dir"])
    if ds.kind != "image":
        raise UserError(cfg["data_dir"], "data_dir", "the ANN conversion needs images, not event frames")
    cfg.update(num_classes=ds.num_classes, input_shape=list(ds.input_shape), classes=ds.classes,
               mean=list(ds.mean), std=list(ds.std))
    seed_everything(cfg["seed"])
    idx = np.arange(len(ds.train_y))
    if cfg["train_subset"]:
        idx = np.sort(np.random.RandomState(cfg["seed"]).permutation(len(ds.train_y))[: cfg["train_subset"]])
    tidx = np.arange(len(ds.test_y))
    if cfg["test_subset"]:
        tidx = np.sort(np.random.RandomState(cfg["seed"] + 1).permutation(len(ds.test_y))[: cfg["test_subset"]])
    train_data = DeviceData(ds.train_x[idx], ds.train_y[idx], ds.mean, ds.std, device)
    test_data = DeviceData(ds.test_x[tidx], ds.test_y[tidx], ds.mean, ds.std, device)
    model = build(cfg["arch"], cfg["num_classes"], 1, neuron="relu", input_shape=tuple(cfg["input_shape"])).to(device)
    opt = make_optimizer(model, cfg)
    steps = math.ceil(len(train_data) / cfg["batch_size"])
    total, warmup = steps * cfg["epochs"], int(cfg["warmup_epochs"] * steps)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, total, warmup))
    gen = torch.Generator().manual_seed(cfg["seed"])
    loss_fn = torch.nn.CrossEntropyLoss()
    rows, t_start = [], time.time()
    for epoch in range(cfg["epochs"]):
        model.train()
        t0, loss_sum, correct, seen = time.time(), 0.0, 0, 0
        for xb, yb in train_data.batches(cfg["batch_size"], shuffle=True, augment=True, gen=gen):
            o = model(xb)
            loss = loss_fn(o, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += float(loss.detach()) * len(yb)
            correct += int((o.argmax(-1) == yb).sum())
            seen += len(yb)
        train_s = time.time() - t0
        acc = accuracy(model, test_data)
        rows.append({"epoch": epoch + 1, "train_loss": loss_sum / seen, "train_acc": correct / seen,
                     "test_acc": acc, "images_per_s": seen / train_s, "epoch_s": time.time() - t0,
                     "wall_s": time.time() - t_start})
        print(f"epoch {epoch + 1}: loss {loss_sum / seen:.4f} train {100 * correct / seen:.2f}% "
              f"test {100 * acc:.2f}% | {seen / train_s:.0f} img/s, {time.time() - t0:.0f} s",
              file=sys.stderr, flush=True)
        save_checkpoint(cfg["out"], model, cfg)
    res = {"arch": cfg["arch"], "dataset": cfg["dataset"], "epochs": cfg["epochs"], "test_accuracy": rows[-1]["test_acc"],
           "test_images": len(test_data), "train_images": len(train_data), "wall_s": time.time() - t_start,
           "log": rows, "command": cfg["command"], "torch_version": torch.__version__,
           "num_threads": torch.get_num_threads()}
    atomic_write_text(Path(cfg["out"]).with_suffix(".json"), json.dumps(res, indent=2))
    return res


def main(argv: list[str] | None = None) -> int:
    a = parser().parse_args(argv)
    positive("epochs", a.epochs)
    positive("batch-size", a.batch_size)
    if a.arch not in ARCHS:
        raise UserError("command line", "arch", f"unknown architecture {a.arch!r}; choose one of {list(ARCHS)}")
    if not (a.lr > 0 and math.isfinite(a.lr)):
        raise UserError("command line", "lr", f"must be > 0, got {a.lr}")
    ensure_writable_file(a.out)
    cfg = dict(arch=a.arch, dataset=a.dataset, data_dir=str(a.data_dir), cache_dir=a.cache_dir, neuron="relu",
               timesteps=1, neuron_kwargs={}, epochs=a.epochs, batch_size=a.batch_size, lr=a.lr,
               optimizer="sgd", weight_decay=a.weight_decay, warmup_epochs=a.warmup_epochs,
               train_subset=a.train_subset, test_subset=a.test_subset, device=str(resolve_device(a.device)),
               num_threads=a.num_threads, seed=a.seed, out=str(a.out),
               command="python -m snn.conversion.train_ann " + " ".join(command_line().split()[2:]))
    res = train(cfg)
    print(f"test accuracy {100 * res['test_accuracy']:.2f}% after {res['epochs']} epochs "
          f"({res['wall_s'] / 60:.1f} min) -> {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))

"""``python -m snn.gpu_bench CHECKPOINT --data-dir DIR --power-log gpu_logs/NAME.csv``: an SNN's FPS, accuracy
and energy on a GPU over the whole test set -- the GPU side of Table 3.

In order (every time on the host's local clock, as nvidia-smi writes it):

1. load the model and the test set onto the device;
2. start the power sampler (NVML via nvidia-ml-py, ``--sample-hz`` >= 10, background thread) writing
   ``--power-log`` exactly as ``nvidia-smi --query-gpu=timestamp,power.draw,utilization.gpu,memory.used
   --format=csv`` does (archsim.gpu.sampler);
3. idle: ``--idle-seconds`` with nothing running; ``idle_w`` = mean power over it (W);
4. warm-up: ``--warmup-batches`` batches (and one of the last batch's size), not counted (CUDA context,
   kernel choice, compilation);
5. the run: every test image (or ``--max-samples``) in batches of ``--batch-size`` under the exit policy;
   NVML's total-energy counter (mJ) is read at its start and end, after a device synchronise;
6. a JSON beside the CSV (same stem, ``.json``), with the keys ``archsim.gpu.formats.BENCH_KEYS``:
   images, wall_s, fps (images/s), energy_j {integrated: trapezoid of the log over the run, counter:
   NVML's counter, integrated_minus_idle}, energy_per_image_j, idle_w, idle_s, batch_size, exit_policy,
   threshold, max_timesteps, avg_timesteps, timesteps_needed, timesteps_computed, adaptive_exit, accuracy,
   gpu_name, command, window {idle_start, idle_end, start, end} (nvidia-smi timestamps), ...

Adaptive exit (``entropy``/``confidence``, snn.exit_policy's scores): a batch runs one timestep at a time
(``model.stream``); after each, every sample whose score reaches ``--threshold`` exits with the prediction
of its accumulated output; the batch stops once all its samples have exited (or at T). A sample that
exited early is still computed until its batch stops: ``timesteps_needed`` (sum of exit timesteps) vs
``timesteps_computed`` (sum over batches of steps run x batch size) says what that costs. With
``--batch-size 1`` every image really stops at its own exit. ``fixed`` runs all T in one multi-step forward.

With ``--device cpu`` no power is measured: no CSV, power figures null; the rest works (tests use it).
"""
from __future__ import annotations

import contextlib
import json
import sys
import time
from datetime import datetime
from pathlib import Path

import torch

from archsim.errors import UserError, run_cli
from archsim.gpu.formats import BENCH_KEYS, BENCH_TOOL, read_power_log
from archsim.gpu.integrate import integrate
from archsim.gpu.sampler import MIN_HZ, NvmlSource, PowerSampler, format_time
from snn import exit_policy
from snn.checkpoint import load_model
from snn.cli import Parser, atomic_write_text, command_line, ensure_writable_file, positive, resolve_device
from snn.data import DeviceData, load_dataset
from snn.models.base import lif_layers

THRESHOLD_OF = {**exit_policy.THRESHOLD_BY_POLICY, "fixed": None}   # the trainer's, and none for fixed


def parser() -> Parser:
    p = Parser(prog="snn.gpu_bench", description="FPS, accuracy and energy of an SNN on a GPU (Table 3).")
    p.add_argument("checkpoint", help="a model file written by snn.train")
    p.add_argument("--data-dir", required=True, help="the data set the model was trained on")
    p.add_argument("--cache-dir", default="data/cache")
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument("--exit-policy", default="fixed", choices=list(THRESHOLD_OF))
    p.add_argument("--threshold", type=float, default=None, help="exit score (default: entropy 0.8, confidence 0.9)")
    p.add_argument("--power-log", required=True, help="CSV to write (the JSON goes beside it)")
    p.add_argument("--device", default="cuda", help="cuda, cuda:N or cpu (cpu: no power figures)")
    p.add_argument("--precision", default="fp32", choices=["fp32", "bf16"], help="bf16: autocast on CUDA")
    p.add_argument("--max-samples", type=int, default=0, help="only the first N test images (0: all)")
    p.add_argument("--idle-seconds", type=float, default=3.0, help="idle power measured this long before the run")
    p.add_argument("--warmup-batches", type=int, default=1)
    p.add_argument("--sample-hz", type=float, default=20.0, help=f"power samples per second (>= {MIN_HZ:g})")
    return p


@torch.no_grad()
def infer_batch(model, xb: torch.Tensor, policy: str, threshold: float | None, T: int
                ) -> tuple[torch.Tensor, torch.Tensor, int]:
    """(predictions [B], exit timestep [B] 1-based, timesteps run for the batch)."""
    B = xb.shape[0]
    if policy == "fixed":
        out = model(xb)
        return out.float().sum(0).argmax(-1), torch.full((B,), T, dtype=torch.int32, device=xb.device), T
    exits = torch.zeros(B, dtype=torch.int32, device=xb.device)
    preds = torch.zeros(B, dtype=torch.long, device=xb.device)
    acc, t = None, 0
    steps = model.stream(xb)
    try:
        for t, o in enumerate(steps, start=1):
            acc = o.float() if acc is None else acc + o.float()
            score = exit_policy.scores((acc / t).unsqueeze(0))[policy][:, 0]  # same score as evaluate's
            new = (exits == 0) & ((score >= threshold) | (t == T))
            exits = torch.where(new, t, exits)
            preds = torch.where(new, acc.argmax(-1), preds)
            if t == T or bool((exits > 0).all()):   # a host sync per timestep: the price of exiting
                break
    finally:
        steps.close()
    return preds, exits, t


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def _adaptive_text(policy: str, batch_size: int, needed: int, computed: int) -> str:
    if policy == "fixed":
        return "fixed: every sample runs all T timesteps (one multi-step forward per batch)"
    if batch_size == 1:
        return "per sample: batch 1, each image stops at its own exit timestep (computed == needed)"
    extra = computed / needed - 1.0 if needed else 0.0
    return (f"per batch: a batch steps until all its samples have exited; samples that exited earlier are "
            f"computed until then (timesteps_computed is {extra:.1%} over timesteps_needed)")


def bench(a, power_source=None) -> dict:
    """Run the benchmark for parsed arguments ``a``; returns the JSON record (+ ``json_path``).

    ``power_source``: a stand-in for NVML (see archsim.gpu.sampler) so tests prove the power path on a CPU;
    when given, power is sampled from it whatever the device.
    """
    positive("batch-size", a.batch_size)
    if a.max_samples < 0:
        raise UserError("command line", "max-samples", f"must be >= 0, got {a.max_samples}")
    if a.idle_seconds < 0:
        raise UserError("command line", "idle-seconds", f"must be >= 0, got {a.idle_seconds}")
    threshold = a.threshold if a.threshold is not None else THRESHOLD_OF[a.exit_policy]
    if a.exit_policy != "fixed" and not 0.0 <= threshold <= 1.0:
        raise UserError("command line", "threshold", f"a score in [0, 1], got {threshold}")
    dev = resolve_device(a.device)
    csv_path = ensure_writable_file(a.power_log, "power-log")
    json_path = csv_path.with_suffix(".json")
    cuda = dev.type == "cuda"

    model, cfg = load_model(a.checkpoint, str(dev))
    if not cuda:
        for lif in lif_layers(model):
            lif.compile = False
    T = int(model.timesteps)
    ds = load_dataset(a.data_dir, cfg.get("dataset", "cifar10"), image_size=cfg.get("image_size", 32),
                      timesteps=T, cache_dir=a.cache_dir)
    n = len(ds.test_y) if not a.max_samples else min(a.max_samples, len(ds.test_y))
    data = DeviceData(ds.test_x[:n], ds.test_y[:n], ds.mean, ds.std, dev, channels_last=cuda)
    if cuda:
        model = model.to(memory_format=torch.channels_last)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if cuda and a.precision == "bf16" \
        else contextlib.nullcontext()

    source, sampler = power_source, None
    window: dict = {"idle_start": None, "idle_end": None, "start": None, "end": None}
    if source is None and cuda:
        index = dev.index if dev.index is not None else torch.cuda.current_device()
        uuid = getattr(torch.cuda.get_device_properties(index), "uuid", None)
        source = NvmlSource(index, f"GPU-{uuid}" if uuid else None)
    if source is not None:
        sampler = PowerSampler(source, csv_path, a.sample_hz).start()
    try:
        if sampler is not None:
            time.sleep(2 * sampler.period)
            window["idle_start"] = format_time(datetime.now())
            time.sleep(a.idle_seconds)
            window["idle_end"] = format_time(datetime.now())
        with autocast:  # warm-up, also at the last batch's size (a compiled LIF loop recompiles per shape)
            for i, (xb, _) in enumerate(data.batches(a.batch_size)):
                if i >= a.warmup_batches:
                    break
                infer_batch(model, xb, a.exit_policy, threshold, T)
                if n % a.batch_size and n > a.batch_size:
                    infer_batch(model, xb[: n % a.batch_size], a.exit_policy, threshold, T)
        _sync(dev)
        e0 = source.energy_mj() if source else None
        window["start"] = format_time(datetime.now())
        t0 = time.perf_counter()
        correct, needed, computed = 0, 0, 0
        with autocast:
            for xb, yb in data.batches(a.batch_size):
                preds, exits, steps = infer_batch(model, xb, a.exit_policy, threshold, T)
                correct += int((preds == yb).sum())
                needed += int(exits.sum())
                computed += steps * xb.shape[0]
        _sync(dev)
        wall = time.perf_counter() - t0
        window["end"] = format_time(datetime.now())
        e1 = source.energy_mj() if source else None
        if sampler is not None:
            time.sleep(2 * sampler.period + 0.3)
    finally:
        if sampler is not None:
            sampler.stop()
        if source is not None:
            source.close()

    energy = {"integrated": None, "counter": None, "integrated_minus_idle": None}
    per_image = {"integrated": None, "counter": None}
    idle_w = None
    if sampler is not None:
        log = read_power_log(csv_path)
        if a.idle_seconds > 0:
            idle_w = integrate(log, log.seconds(window["idle_start"]), log.seconds(window["idle_end"])).mean_power_w
        run = integrate(log, log.seconds(window["start"]), log.seconds(window["end"]))
        energy["integrated"] = run.energy_j
        if idle_w is not None:
            energy["integrated_minus_idle"] = run.energy_j - idle_w * run.duration_s
        if e0 is not None and e1 is not None:
            energy["counter"] = (e1 - e0) / 1000.0
        per_image = {k: (energy[k] / n if energy[k] is not None else None) for k in per_image}
    record = {
        "tool": BENCH_TOOL, "sample": False, "note": None, "command": command_line(),
        "created": datetime.now().isoformat(timespec="seconds"), "checkpoint": str(a.checkpoint),
        "arch": cfg.get("arch"), "dataset": cfg.get("dataset"), "device": str(dev),
        "gpu_name": source.name if source else None, "gpu_index": source.index if source else None,
        "precision": a.precision if cuda else "fp32", "images": n, "batch_size": a.batch_size,
        "exit_policy": a.exit_policy, "threshold": threshold if a.exit_policy != "fixed" else None,
        "max_timesteps": T, "avg_timesteps": needed / n, "timesteps_needed": needed,
        "timesteps_computed": computed, "adaptive_exit": _adaptive_text(a.exit_policy, a.batch_size, needed, computed),
        "accuracy": correct / n, "wall_s": wall, "fps": n / wall, "energy_j": energy,
        "energy_per_image_j": per_image, "idle_w": idle_w, "idle_s": a.idle_seconds if sampler else None,
        "power_log": csv_path.name if sampler else None, "sample_hz": a.sample_hz if sampler else None,
        "samples": sampler.samples if sampler else None, "window": window, "torch_version": torch.__version__,
    }
    assert tuple(record) == BENCH_KEYS, "keep BENCH_KEYS and this record in step"
    atomic_write_text(json_path, json.dumps(record, indent=2) + "\n")
    record["json_path"] = str(json_path)
    return record


def _fmt(x: float | None, unit: str) -> str:
    return f"{x:.1f} {unit}" if x is not None else f"- {unit}"


def main(argv: list[str] | None = None) -> int:
    r = bench(parser().parse_args(argv))
    e = r["energy_j"]
    power = (f"energy {_fmt(e['integrated'], 'J')} integrated, {_fmt(e['counter'], 'J')} by NVML's counter, "
             f"idle {_fmt(r['idle_w'], 'W')}" if e["integrated"] is not None else "no power figures (cpu)")
    print(f"{r['images']} images in {r['wall_s']:.2f} s = {r['fps']:.1f} FPS; accuracy {r['accuracy']:.4f}; "
          f"avg timesteps {r['avg_timesteps']:.3f} (computed {r['timesteps_computed'] / r['images']:.3f}); {power}")
    csv = Path(r["json_path"]).with_name(r["power_log"]) if r["power_log"] else None
    print(f"wrote {r['json_path']}" + (f" and {csv}" if csv else ""))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run_cli(main))

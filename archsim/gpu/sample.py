"""Synthetic power logs for the committed SAMPLE and for tests. Never a measurement.

``write_bench_sample(csv_path, ...)`` writes a gpu_bench-shaped pair -- the CSV in nvidia-smi's layout
(archsim.gpu.sampler.format_row) and the JSON beside it with every key of ``BENCH_KEYS``, ``"sample": true``
and a note saying so -- from a made-up power profile with the shape an H100 shows (../shared/GPU.md:
idle about 71 W; about 120 W just after work): flat idle with sensor noise, a short warm-up bump, a ramp
to a noisy busy plateau during the run, an exponential decay after it.

``python -m archsim.gpu.sample gpu_logs/SAMPLE_h100_vgg16_cifar10_b1_entropy.csv`` rewrites the committed sample.
"""
from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from archsim.gpu.formats import BENCH_KEYS, BENCH_TOOL, read_power_log
from archsim.gpu.integrate import integrate
from archsim.gpu.sampler import NVSMI_HEADER, format_row, format_time

SAMPLE_NOTE = ("SAMPLE: a synthetic power profile written by archsim.gpu.sample, not a measurement; "
               "replace it with a real log from python -m snn.gpu_bench on the GPU")


def profile_w(t: np.ndarray, run: tuple[float, float], warmup: tuple[float, float], idle_w: float,
              busy_w: float) -> np.ndarray:
    """Noise-free power (W) at times ``t`` (s): idle, warm-up bump, 0.3 s ramp to busy, then a fast and a
    slow (3 s) decay back towards idle."""
    p = np.full_like(t, idle_w, dtype=float)
    wu = (t >= warmup[0]) & (t < warmup[1])
    p[wu] = idle_w + 0.6 * (busy_w - idle_w)
    on = (t >= run[0]) & (t <= run[1])
    p[on] = idle_w + (busy_w - idle_w) * (1.0 - np.exp(-(t[on] - run[0]) / 0.3))
    after = t > run[1]
    dt = t[after] - run[1]
    p[after] = idle_w + 40.0 * np.exp(-dt / 3.0) + (busy_w - idle_w - 40.0) * np.exp(-dt / 0.3)
    return p


def write_bench_sample(csv_path: str | Path, *, start: datetime = datetime(2025, 6, 1, 12, 0, 0), hz: float = 10.0,
                       idle_s: float = 3.0, run_s: float = 25.0, tail_s: float = 2.0, idle_w: float = 71.0,
                       busy_w: float = 135.0, noise_w: float = 2.0, images: int = 10000, batch_size: int = 1,
                       exit_policy: str = "entropy", threshold: float | None = 0.8, avg_timesteps: float = 2.2,
                       accuracy: float = 0.9150, gpu_name: str = "NVIDIA H100 80GB HBM3 (SAMPLE)",
                       seed: int = 0, note: str = SAMPLE_NOTE) -> dict:
    """Write ``csv_path`` and its JSON (same stem); returns the JSON dict. Times are exact multiples of 1/hz."""
    csv_path = Path(csv_path)
    rng = np.random.default_rng(seed)
    idle = (0.2, 0.2 + idle_s)
    warmup = (idle[1] + 0.15, idle[1] + 0.45)
    run = (warmup[1] + 0.25, warmup[1] + 0.25 + run_s)
    t = np.arange(0.0, run[1] + tail_s + 1e-9, 1.0 / hz)
    p = profile_w(t, run, warmup, idle_w, busy_w) + rng.normal(0.0, noise_w, len(t)) * np.where(
        (t >= run[0]) & (t <= run[1]), 1.0, 0.15)
    util = np.where((t >= run[0]) & (t <= run[1]), 38, 0)
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    rows = [NVSMI_HEADER] + [format_row(start + timedelta(seconds=float(ti)), float(pi), int(ui), 1093 if ti > 0.5 else 512)
                             for ti, pi, ui in zip(t, p, util)]
    csv_path.write_text("\n".join(rows) + "\n")
    at = lambda s: format_time(start + timedelta(seconds=s))  # noqa: E731
    log = read_power_log(csv_path)
    kept = integrate(log, run[0], run[1]).energy_j
    idle_meas = integrate(log, idle[0], idle[1]).mean_power_w
    fine = np.linspace(run[0], run[1], 100001)  # what a continuous energy counter would see, noise-free
    counter = float(np.trapezoid(profile_w(fine, run, warmup, idle_w, busy_w), fine))
    T = 4
    needed = int(round(avg_timesteps * images))
    record = {
        "tool": BENCH_TOOL, "sample": True, "note": note,
        "command": f"python -m archsim.gpu.sample {csv_path.as_posix()}  (synthetic; not snn.gpu_bench)",
        "created": start.isoformat(timespec="seconds"), "checkpoint": None, "arch": "vgg16",
        "dataset": "cifar10", "device": "cuda:0 (SAMPLE)", "gpu_name": gpu_name, "gpu_index": 0,
        "precision": "fp32", "images": images, "batch_size": batch_size, "exit_policy": exit_policy,
        "threshold": threshold, "max_timesteps": T, "avg_timesteps": needed / images, "timesteps_needed": needed,
        "timesteps_computed": needed, "adaptive_exit": "per sample: batch 1, each image stops at its own exit "
        "timestep (computed == needed)", "accuracy": accuracy, "wall_s": run_s, "fps": images / run_s,
        "energy_j": {"integrated": kept, "counter": counter, "integrated_minus_idle": kept - idle_meas * run_s},
        "energy_per_image_j": {"integrated": kept / images, "counter": counter / images},
        "idle_w": idle_meas, "idle_s": idle_s, "power_log": csv_path.name, "sample_hz": hz, "samples": len(t),
        "window": {"idle_start": at(idle[0]), "idle_end": at(idle[1]), "start": at(run[0]), "end": at(run[1])},
        "torch_version": None,
    }
    assert tuple(record) == BENCH_KEYS
    csv_path.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    return record


if __name__ == "__main__":  # pragma: no cover
    out = write_bench_sample(sys.argv[1] if len(sys.argv) > 1 else "gpu_logs/SAMPLE_h100_vgg16_cifar10_b1_entropy.csv")
    print(f"wrote {out['power_log']} and its JSON: {out['images']} images, {out['fps']:.1f} FPS, "
          f"{out['energy_j']['integrated']:.1f} J integrated, idle {out['idle_w']:.2f} W")

"""Fixtures for the GPU power-log tests: log writers with hand-checkable power, an archsim summary written
by hand (only to test the parser), and a tiny trained checkpoint made with the trainer's own code."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data" / "gpu"


def shared_dir(name: str) -> Path | None:
    """``shared/NAME`` beside this checkout or a folder above it (../shared from the main checkout, ../../shared
    from a worktree under wt/), or None: third-party data that is read in place, never committed."""
    for parent in (REPO, *REPO.parents):
        if (parent / "shared" / name).is_dir():
            return parent / "shared" / name
    return None
T0 = datetime(2025, 6, 1, 12, 0, 0)


def nvsmi_time(s: float) -> str:
    return (T0 + timedelta(seconds=s)).strftime("%Y/%m/%d %H:%M:%S.%f")[:-3]


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def nvsmi_lines(times, watts, header=True, units=True, index=None) -> list[str]:
    """nvidia-smi --format=csv rows for (time s, power W); ``index``: GPU index column values."""
    head = "timestamp, " + ("index, " if index is not None else "") + \
        "power.draw [W], utilization.gpu [%], memory.used [MiB]"
    out = [head] if header else []
    for k, (t, w) in enumerate(zip(times, watts)):
        cell = w if isinstance(w, str) else (f"{w:.2f} W" if units else f"{w:.2f}")
        idx = f"{index[k]}, " if index is not None else ""
        out.append(f"{nvsmi_time(t)}, {idx}{cell}, {'50 %' if units else '50'}, {'100 MiB' if units else '100'}")
    return out


SUMMARY = {"images": 10000, "fps": 248.0, "energy_j": 537.6, "energy_per_image_j": 0.05376,
           "latency_us_mean": 4032.3, "hwconfig": "hwconfigs/default.yaml", "workload": "workloads/vgg16_c10.npz"}


@pytest.fixture
def summary_file(tmp_path) -> Path:
    """An archsim summary written by hand, only to test the parser (the simulator writes the real ones)."""
    p = tmp_path / "summary.json"
    p.write_text(json.dumps(SUMMARY))
    return p


def run_archsim(*args, cwd=REPO) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "archsim", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """A 2-class 16x16 ImageFolder data set and a tiny SNN trained on it for 2 epochs by snn.train."""
    from PIL import Image

    from snn import train
    root = tmp_path_factory.mktemp("tiny")
    data = root / "data"
    rng = np.random.default_rng(0)
    for split, n in (("train", 24), ("test", 12)):
        for c in range(2):
            d = data / split / f"class{c}"
            d.mkdir(parents=True)
            for i in range(n):
                img = rng.integers(0, 60, (16, 16, 3)).astype(np.uint8)
                img[:, :, c] += 150  # class 0 red, class 1 green: learnable in a few steps
                Image.fromarray(img).save(d / f"{i}.png")
    out = root / "run"
    train.main(["--arch", "tiny", "--dataset", "imagefolder", "--data-dir", str(data), "--image-size", "16",
                "--epochs", "2", "--batch-size", "8", "--eval-batch-size", "24", "--lr", "0.05", "--device", "cpu",
                "--eager", "--compile", "off", "--cache-dir", str(root / "cache"), "--out", str(out),
                "--no-progress", "--num-threads", "1"])
    return {"data": data, "checkpoint": out / "model.pt", "cache": root / "cache", "root": root}

"""python -m snn.convert end to end on a tiny generated image set, and its refusals: one line, exit 2."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from archsim.workload import load_workload
from snn.checkpoint import save_checkpoint
from snn.models import build

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    from PIL import Image
    root = tmp_path_factory.mktemp("imgs")
    rng = np.random.RandomState(0)
    for split, n in (("train", 6), ("test", 4)):
        for c in ("a", "b"):
            d = root / split / c
            d.mkdir(parents=True)
            for i in range(n):
                Image.fromarray(rng.randint(0, 256, (32, 32, 3), dtype=np.uint8)).save(d / f"{i}.png")
    return root


def _ckpt(path, arch="small", neuron="relu"):
    torch.manual_seed(0)
    model = build(arch, 2, 1, neuron=neuron or "lif")
    cfg = dict(arch=arch, num_classes=2, timesteps=1, input_shape=[3, 32, 32], neuron_kwargs={})
    if neuron is not None:
        cfg["neuron"] = neuron
    save_checkpoint(path, model, cfg)
    return path


def _run(args, tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "snn.convert", *map(str, args), "--num-threads", "1",
                           "--no-progress", "--cache-dir", str(tmp_path / "cache")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("method", ["quartz", "rate"])
def test_end_to_end(method, data_dir, tmp_path):
    ck = _ckpt(tmp_path / "ann.pt")
    out = tmp_path / "out"
    p = _run([ck, "--method", method, "--t-max", 2, 4, "--data-dir", data_dir, "--dataset", "imagefolder",
              "--out", out, "--json", tmp_path / "r.json", "--workload-out", tmp_path / "w.npz",
              "--norm-images", 8], tmp_path)
    assert p.returncode == 0, p.stderr
    res = json.loads((tmp_path / "r.json").read_text())
    assert [r["t_max"] for r in res["per_t_max"]] == [2, 4]
    assert (out / "accuracy_vs_tmax.png").stat().st_size > 0
    wl = load_workload(tmp_path / "w.npz")
    assert wl.kind == ("ttfs" if method == "quartz" else "rate")
    assert wl.layers == ["input", "conv1", "conv2", "conv3", "out"]
    if method == "quartz":
        assert wl.timesteps == 1 and wl.meta["t_max"] == 4 and wl.meta["window_steps"] == 12
        # every pixel and every hidden neuron spikes exactly once
        assert wl.spikes[:, :, 0].tolist() == [[3 * 32 * 32, 32 * 32 * 32, 64 * 16 * 16, 128 * 8 * 8, 0]] * 8
        assert wl.graph.nodes["input"]["spiking"]
    else:
        assert wl.timesteps == 4 and not wl.graph.nodes["input"]["spiking"]
        assert wl.spikes[:, 0].sum() == 0 and wl.spikes[:, -1].sum() == 0


@pytest.mark.parametrize("case,match", [
    ("t_max", "t-max: must be >= 2"),
    ("lif", "non-ReLU activation LIF"),
    ("resnet", "unsupported layer"),
])
def test_bad_input_is_one_line_and_exit_2(case, match, data_dir, tmp_path):
    ck = tmp_path / "m.pt"
    t_max = [8]
    if case == "t_max":
        _ckpt(ck)
        t_max = [8, 1]
    elif case == "lif":
        _ckpt(ck, "small", None)            # a trainer (SNN) checkpoint: LIF neurons
    else:
        _ckpt(ck, "resnet19", "relu")
    p = _run([ck, "--method", "quartz", "--t-max", *t_max, "--data-dir", data_dir, "--dataset", "imagefolder",
              "--out", tmp_path / "o"], tmp_path)
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and match in lines[0], p.stderr

"""Time ``snn.export`` of a network with random weights over the test set (default VGG16, all 10,000
CIFAR-10 test images) -- proof that a checkpoint trained on a GPU can be exported on any machine.

    python benchmarks/export_speed.py --arch vgg16 --data-dir ../shared/datasets/cifar10-jpeg.tar.gz \
        [--max-samples 10000] [--device cpu] [--num-threads 1] [--out runs/export_speed]

Writes a random-weight checkpoint (seeded) to OUT/model.pt, runs ``python -m snn.export`` on it as a
subprocess, and prints one JSON line with the wall time, images/s and the workload written. The random
network's BatchNorm scales are set so that every layer fires (a silent random network would not exercise
the spike recording); on the CPU the time is that of dense convolutions either way.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import torch  # noqa: E402
from torch import nn  # noqa: E402

from snn.checkpoint import save_checkpoint  # noqa: E402
from snn.models import build  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--arch", default="vgg16")
    p.add_argument("--data-dir", default=str(REPO.parent / "shared/datasets/cifar10-jpeg.tar.gz"))
    p.add_argument("--timesteps", type=int, default=4)
    p.add_argument("--max-samples", type=int, default=0, help="0: the whole test set")
    p.add_argument("--batch-size", type=int, default=200)
    p.add_argument("--device", default="cpu")
    p.add_argument("--num-threads", type=int, default=1)
    p.add_argument("--out", default="runs/export_speed")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(a.seed)
    model = build(a.arch, 10, a.timesteps, input_shape=(3, 32, 32))
    for m in model.modules():  # make a random network fire: BN output ~ N(0.3, 1) into a threshold of 1
        if isinstance(m, nn.BatchNorm2d):
            m.bias.data.fill_(0.3)
    model.eval()
    # running stats of a random net: estimate them on random inputs so BN normalises each layer
    model.train()
    with torch.no_grad():
        model(torch.randn(32, 3, 32, 32))
    cfg = {"arch": a.arch, "dataset": "cifar10", "data_dir": a.data_dir, "image_size": 32,
           "timesteps": a.timesteps, "num_classes": 10, "input_shape": [3, 32, 32], "seed": a.seed,
           "loss": "random-weights", "neuron_kwargs": {"decay_input": False},
           "command": "benchmarks/export_speed.py (random weights)"}
    ck = out / "model.pt"
    save_checkpoint(ck, model, cfg)
    wl = out / f"{a.arch}_random.npz"
    cmd = [sys.executable, "-m", "snn.export", str(ck), "--out", str(wl), "--device", a.device,
           "--num-threads", str(a.num_threads), "--batch-size", str(a.batch_size)]
    if a.max_samples:
        cmd += ["--max-samples", str(a.max_samples)]
    t0 = time.time()
    r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env=dict(os.environ))
    wall = time.time() - t0
    if r.returncode:
        print(r.stderr, file=sys.stderr)
        return r.returncode
    from archsim.workload import load_workload
    w = load_workload(wl)
    res = {"arch": a.arch, "timesteps": a.timesteps, "images": w.n_samples, "device": a.device,
           "threads": a.num_threads, "wall_s": round(wall, 1),
           "inference_s": round(w.meta["export_inference_s"], 1),
           "images_per_s": round(w.n_samples / w.meta["export_inference_s"], 1),
           "workload": str(wl), "workload_mb": round(wl.stat().st_size / 1e6, 2),
           "mean_spikes_per_image": int(w.spikes.sum((1, 2)).mean()), "command": " ".join(cmd),
           "export_stdout": r.stdout.strip()}
    print(json.dumps(res))
    (out / "export_speed.json").write_text(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

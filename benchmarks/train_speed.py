"""Training throughput (images/s) of an SNN on whatever device is present, on random data.

    python benchmarks/train_speed.py --arch small --timesteps 4 --batch-size 64 [--device cpu] [--fused|--eager]
    python benchmarks/train_speed.py --arch vgg16 --batch-size 64 --num-threads 1 --precision bf16   # the recipe's

Times full training steps (forward, ATSNN loss, backward, SGD step) after warm-up steps; prints one JSON
line. Like snn.train: bf16 autocast and channels_last on CUDA, and on the CPU with ``--precision bf16``.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from snn.losses import make_loss  # noqa: E402
from snn.models import build  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--arch", default="small")
    p.add_argument("--timesteps", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--device", default="auto")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--fused", dest="fused", action="store_true", default=True)
    g.add_argument("--eager", dest="fused", action="store_false")
    p.add_argument("--compile", action="store_true", help="torch.compile the fused LIF loop")
    p.add_argument("--channels-last", action="store_true", help="also on the CPU (always on CUDA)")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--num-threads", type=int, default=0)
    p.add_argument("--image-size", type=int, default=32)
    p.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"],
                   help="autocast dtype as in snn.train (auto: bf16 on CUDA, fp32 on the CPU)")
    a = p.parse_args()
    if a.num_threads:
        torch.set_num_threads(a.num_threads)
    dev = torch.device("cuda" if a.device == "auto" and torch.cuda.is_available() else
                       ("cpu" if a.device == "auto" else a.device))
    cuda = dev.type == "cuda"
    bf16 = a.precision == "bf16" or (a.precision == "auto" and cuda)
    shape = (3, a.image_size, a.image_size)
    model = build(a.arch, 10, a.timesteps, input_shape=shape, fused=a.fused,
                  compile=a.compile).to(dev).train()
    cl = cuda or bf16 or a.channels_last
    if cl:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = make_loss("atsnn", a.timesteps)
    x = torch.randn(a.batch_size, *shape, device=dev)
    if cl:
        x = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (a.batch_size,), device=dev)

    def step():
        if bf16:
            with torch.autocast(dev.type, dtype=torch.bfloat16):
                o = model(x)
        else:
            o = model(x)
        loss = loss_fn(o.float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(a.warmup):
        step()
    if cuda:
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        step()
    if cuda:
        torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    res = dict(arch=a.arch, timesteps=a.timesteps, batch_size=a.batch_size, device=str(dev),
               device_name=torch.cuda.get_device_name(dev) if cuda else "cpu",
               threads=torch.get_num_threads(), fused=a.fused, compile=a.compile, channels_last=cl,
               precision="bf16" if bf16 else "fp32",
               images_per_s=round(a.steps * a.batch_size / dt, 1), s_per_step=round(dt / a.steps, 4))
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())

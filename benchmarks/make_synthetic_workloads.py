"""Write the synthetic workloads shipped in workloads/ (reproducible: fixed seeds).

    .venv/bin/python benchmarks/make_synthetic_workloads.py

workloads/synthetic_vgg16.npz: VGG16 for CIFAR-10 shapes, 10,000 samples, T = 4, made-up spike counts
(about 0.1 spikes per neuron per timestep), exit scores scaled (difficulty_scale 0.339) so that the
default policy (entropy >= 0.9) exits after about 2.2 timesteps on average, like ATSNN's VGG16 on
CIFAR-10 (Table 4: 2.183). Per-channel spike means are added (a made-up, uneven spread over channels,
consistent with the per-layer totals) so the mapping can show load imbalance. It claims nothing about
accuracy: meta.synthetic is true and the name says so.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archsim import graph as lg  # noqa: E402
from archsim.synthetic import synthetic_workload  # noqa: E402
from archsim.workload import save_workload  # noqa: E402


def with_channel_means(wl, seed: int = 1):
    """Per-channel means over samples [C, T], spread unevenly (gamma-distributed channel weights)."""
    rng = np.random.default_rng(seed)
    g = wl.graph
    mean = wl.spikes.mean(axis=0)                     # [L, T]
    channels = {}
    for name in lg.layer_names(g):
        node = g.nodes[name]
        if name == lg.INPUT or not node["spiking"]:
            continue
        c = int(node["shape"][0])
        w = rng.gamma(2.0, 1.0, c)
        channels[name] = (w[:, None] / w.sum() * mean[node["index"]][None, :]).astype(np.float32)
    wl.channel_spikes_mean = channels
    wl.meta["channel_spikes_mean"] = "synthetic: gamma(2)-distributed channel weights x per-layer mean"
    return wl


def main() -> None:
    out = ROOT / "workloads"
    wl = with_channel_means(synthetic_workload("vgg16", n_samples=10_000, timesteps=4, seed=0, rate=0.1,
                                               difficulty_scale=0.339))
    wl.meta["command"] = "benchmarks/make_synthetic_workloads.py (" + wl.meta["command"] + " + channel means)"
    path = save_workload(out / "synthetic_vgg16.npz", wl)
    print(f"{path}: {wl.n_samples} samples, T={wl.timesteps}, avg exit {wl.exit_timestep.mean():.3f}, "
          f"{path.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()

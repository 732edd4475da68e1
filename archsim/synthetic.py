"""Synthetic workloads: the shape of a real network with made-up spike counts.

For tests, benchmarks and a first run before a trained network exists. Files written from these are
always named ``synthetic_*.npz`` and carry ``meta.synthetic = true``: they claim nothing about accuracy.
"""
from __future__ import annotations

import networkx as nx
import numpy as np

from archsim import graph as lg
from archsim.exit_policy import first_exit
from archsim.workload import Workload

# VGG16 for CIFAR (13 convs, average pooling after blocks 2, 4, 7, 10, 13, then a classifier).
VGG16_CFG = [64, 64, "P", 128, 128, "P", 256, 256, 256, "P", 512, 512, 512, "P", 512, 512, 512, "P"]


def tiny_graph(input_shape=(3, 8, 8), classes: int = 4) -> nx.DiGraph:
    """Two convs and a classifier: hand-countable."""
    g = lg.new_graph(input_shape)
    lg.add_conv(g, "conv1", "input", out_channels=4)
    lg.add_conv(g, "conv2", "conv1", out_channels=8, pool=2)
    lg.add_linear(g, "fc", "conv2", out_features=classes, pool=input_shape[1] // 2, spiking=False)
    return g


def vgg16_graph(input_shape=(3, 32, 32), classes: int = 10) -> nx.DiGraph:
    g = lg.new_graph(input_shape)
    src, pool, i = "input", 1, 0
    for item in VGG16_CFG:
        if item == "P":
            pool *= 2
            continue
        i += 1
        src = lg.add_conv(g, f"conv{i}", src, out_channels=item, pool=pool)
        pool = 1
    lg.add_linear(g, "fc", src, out_features=classes, pool=pool, spiking=False)
    return g


GRAPHS = {"tiny": tiny_graph, "vgg16": vgg16_graph}


def synthetic_workload(arch: str = "vgg16", n_samples: int = 100, timesteps: int = 4, seed: int = 0,
                       rate: float = 0.1, classes: int = 10, difficulty_scale: float = 1.0,
                       input_shape: tuple[int, int, int] | None = None) -> Workload:
    """Per-sample firing rates around ``rate`` (spikes per neuron per timestep), scores that grow
    with time, predictions that become right as the score rises. Seeded: same inputs, same file.
    ``difficulty_scale`` scales how hard samples are (lower: confident sooner, earlier exits).
    ``input_shape`` ([C, H, W]; default the architecture's CIFAR-sized one): e.g. (3, 224, 224) for an
    ImageNet-sized network (benchmarks/scale.py)."""
    rng = np.random.default_rng(seed)
    shape = {} if input_shape is None else {"input_shape": tuple(input_shape)}
    g = GRAPHS[arch](classes=classes, **shape)
    names = lg.layer_names(g)
    neurons = np.array([lg.layer(g, n).neurons for n in names])
    spiking = np.array([lg.layer(g, n).spiking for n in names])
    per_sample = rng.beta(2, 2 / rate - 2, size=(n_samples, 1, 1)) if 0 < rate < 1 else np.full((n_samples, 1, 1), rate)
    per_layer = rng.uniform(0.5, 1.5, size=(1, len(names), 1))
    per_step = rng.uniform(0.8, 1.2, size=(n_samples, len(names), timesteps))
    p = np.clip(per_sample * per_layer * per_step, 0, 1)
    spikes = rng.binomial(neurons[None, :, None].repeat(n_samples, 0).repeat(timesteps, 2), p)
    spikes[:, ~spiking, :] = 0
    labels = rng.integers(0, classes, n_samples)
    difficulty = rng.uniform(0, 1, n_samples) * difficulty_scale
    t = np.arange(1, timesteps + 1)
    confidence = np.clip(1 - difficulty[:, None] / (1 + t[None, :]), 0, 1).astype(np.float32)
    entropy = np.clip(confidence ** 1.5, 0, 1).astype(np.float32)
    correct = rng.uniform(0, 1, (n_samples, timesteps)) < confidence
    wrong = (labels[:, None] + 1 + rng.integers(0, classes - 1, (n_samples, timesteps))) % classes
    predictions = np.where(correct, labels[:, None], wrong)
    threshold = 0.9
    exit_t = first_exit(entropy, threshold)
    meta = dict(kind="direct", arch=arch, dataset="synthetic", timesteps=timesteps, synthetic=True,
                exit_policy="entropy", threshold=threshold, seed=seed, rate=rate,
                command=f"archsim.synthetic.synthetic_workload({arch!r}, {n_samples}, {timesteps}, {seed}, {rate}"
                        + (f", difficulty_scale={difficulty_scale}" if difficulty_scale != 1.0 else "")
                        + (f", input_shape={tuple(input_shape)}" if input_shape is not None else "") + ")")
    return Workload(g, spikes.astype(np.int32), labels, predictions, {"entropy": entropy, "confidence": confidence},
                    exit_t, meta)

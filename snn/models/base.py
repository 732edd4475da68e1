"""What every network here shares: the time handling, the per-timestep readout, spike recording.

A plain feed-forward network (tiny, small, vgg16) is one ``features`` nn.Sequential of Conv2d,
BatchNorm2d, a neuron (``LIF`` or ``nn.ReLU``), AvgPool2d, and a ``classifier`` nn.Sequential of Flatten,
Linear (+ neuron) ... Linear. With ``nn.ReLU`` it is an ordinary ANN (``SequentialANN``: ``[B, K]`` out),
with ``LIF`` a spiking network (``SequentialSNN``) with the same layers and state_dict keys:

- the layers before the first LIF see the real-valued image once (direct encoding, snn.layers) and their
  result is broadcast over the T timesteps;
- every other stateless layer runs on the T*B flattening (so BatchNorm statistics are shared over T*B);
- the last Linear has no neuron after it: it is the non-spiking integrator output layer, read out at every
  timestep. ``forward`` returns its per-timestep input current ``[T, B, K]`` (not accumulated: the
  integrator's membrane after t steps is ``out[:t].sum(0)``, whose argmax is the same as that of the mean).

``stream(x)`` runs the same network one timestep at a time (single-step mode, LIF state kept between
steps) and yields ``[B, K]`` per timestep, so a caller can stop after any timestep.

``record_spikes(model)`` collects, per spiking layer, the spike counts it emitted: ``[T, B]`` per sample
and ``[T, B, C]`` per channel (summed over space). ``describe(input_shape)`` gives the archsim layer graph
whose spiking nodes are, in order, the layers reported by ``record_spikes``.
"""
from __future__ import annotations

import contextlib
from typing import Iterator

import networkx as nx
import torch
from torch import nn

from archsim import graph as ag
from snn.layers import seq_apply
from snn.neurons import LIF


def lif_layers(model: nn.Module) -> list[LIF]:
    return [m for m in model.modules() if isinstance(m, LIF)]


class SpikeRecord:
    """Spike counts collected while ``record_spikes`` is active (one entry per LIF layer, in order).
    Stays readable after the ``with`` block ends."""

    def __init__(self, layers: list[LIF]):
        self.layers = layers
        self.lists: list[list[dict]] = [[] for _ in layers]

    def _cat(self, key: str) -> list[torch.Tensor]:
        return [torch.cat([r[key] for r in lst], 0) if lst else torch.empty(0) for lst in self.lists]

    def totals(self) -> list[torch.Tensor]:
        """Per layer: spikes emitted per timestep and sample, ``[T, B]`` (float, exact integers)."""
        return self._cat("total")

    def channels(self) -> list[torch.Tensor]:
        """Per layer: spikes per timestep, sample and channel, ``[T, B, C]``."""
        return self._cat("channel")

    def raws(self) -> list[torch.Tensor]:
        """Per layer: which neurons fired, ``[B', T, neurons]`` bool, for the samples kept (``record_raw``)."""
        return [torch.cat([r["raw"] for r in lst if "raw" in r], 1).transpose(0, 1)
                if any("raw" in r for r in lst) else torch.empty(0) for lst in self.lists]

    def cells(self) -> list[torch.Tensor]:
        """Per layer: pooled cells that fired, ``[T, B]``, for the layers counting them (``record_pool``)."""
        return [torch.cat([r["cells"] for r in lst], 0) if lst and "cells" in lst[0] else torch.empty(0)
                for lst in self.lists]

    def clear(self) -> None:
        for lst in self.lists:
            lst.clear()


@contextlib.contextmanager
def record_spikes(model: nn.Module) -> Iterator[SpikeRecord]:
    layers = lif_layers(model)
    rec = SpikeRecord(layers)
    for lif, lst in zip(layers, rec.lists):
        lif.recorder = lst
    try:
        yield rec
    finally:
        for lif in layers:
            lif.recorder = None


def _first_neuron(seq: nn.Sequential) -> int:
    for i, m in enumerate(seq):
        if isinstance(m, (LIF, nn.ReLU)):
            return i
    return len(seq)


class SequentialANN(nn.Module):
    """The ReLU twin of a SequentialSNN: ``features`` then ``classifier``; ``[B, C, H, W] -> [B, K]``."""

    def __init__(self, features: nn.Sequential, classifier: nn.Sequential, arch: str):
        super().__init__()
        self.features, self.classifier, self.arch = features, classifier, arch
        self.timesteps = 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


class SNNBase(nn.Module):
    """Interface of every spiking network: forward -> [T, B, K], stream, describe, reset_state."""

    arch = "?"
    timesteps = 1

    def reset_state(self) -> None:
        for lif in lif_layers(self):
            lif.reset_state()

    def set_fused(self, fused: bool, compile: bool = False) -> None:
        for lif in lif_layers(self):
            lif.fused, lif.compile = bool(fused), bool(compile)

    def describe(self, input_shape: tuple[int, ...], input_encoding: str = "dense") -> nx.DiGraph:
        raise NotImplementedError


class SequentialSNN(SNNBase):
    """A feed-forward spiking network (see the module docstring)."""

    def __init__(self, features: nn.Sequential, classifier: nn.Sequential, timesteps: int, arch: str):
        super().__init__()
        self.features, self.classifier = features, classifier
        self.timesteps, self.arch = int(timesteps), arch
        self._enc = _first_neuron(features)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Direct encoding: the layers before the first LIF, once per input. ``x [B, ...]`` or, for
        inputs that change over time (event frames), ``[B, T, ...]`` -> ``[T, B, ...]``."""
        enc = self.features[: self._enc]
        if x.dim() == 5:
            return seq_apply(enc, x.transpose(0, 1).contiguous())
        y = enc(x)
        return y.unsqueeze(0).expand(self.timesteps, *y.shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.encode(x)
        for m in list(self.features)[self._enc:] + list(self.classifier):
            h = m(h) if isinstance(m, LIF) else seq_apply(m, h)
        return h

    def stream(self, x: torch.Tensor) -> Iterator[torch.Tensor]:
        """Yield the output ``[B, K]`` of timestep 1, 2, ..., T (single-step mode)."""
        self.reset_state()
        e = self.encode(x)
        rest = list(self.features)[self._enc:] + list(self.classifier)
        try:
            for t in range(e.shape[0]):
                h = e[t]
                for m in rest:
                    h = m.step(h) if isinstance(m, LIF) else m(h)
                yield h
        finally:
            self.reset_state()

    def describe(self, input_shape: tuple[int, ...], input_encoding: str = "dense") -> nx.DiGraph:
        return describe_sequential(list(self.features) + list(self.classifier), input_shape, input_encoding)


def describe_sequential(modules: list[nn.Module], input_shape, input_encoding: str = "dense") -> nx.DiGraph:
    """archsim graph of a Conv/BN/LIF/AvgPool/Flatten/Linear sequence: one node per Conv2d or Linear
    (spiking when a neuron follows it before the next Conv2d/Linear), pooling folded into the next
    projection's ``pool``."""
    g = ag.new_graph(tuple(input_shape), input_encoding)
    src, pool, n_conv, n_fc = ag.INPUT, 1, 0, 0
    pending: list[tuple[str, nn.Module, int]] = []
    # First pass: find which projections are followed by a neuron.
    proj_idx = [i for i, m in enumerate(modules) if isinstance(m, (nn.Conv2d, nn.Linear))]
    spiking = {}
    for j, i in enumerate(proj_idx):
        end = proj_idx[j + 1] if j + 1 < len(proj_idx) else len(modules)
        spiking[i] = any(isinstance(m, (LIF, nn.ReLU)) for m in modules[i + 1:end])
    for i, m in enumerate(modules):
        if isinstance(m, nn.AvgPool2d):
            k = m.kernel_size if isinstance(m.kernel_size, int) else m.kernel_size[0]
            pool *= int(k)
        elif isinstance(m, nn.Conv2d):
            n_conv += 1
            src = ag.add_conv(g, f"conv{n_conv}", src, out_channels=m.out_channels, kernel=m.kernel_size[0],
                              stride=m.stride[0], padding=m.padding[0], pool=pool, spiking=spiking[i])
            pool = 1
        elif isinstance(m, nn.Linear):
            n_fc += 1
            name = f"fc{n_fc}" if spiking[i] else "out"
            src = ag.add_linear(g, name, src, out_features=m.out_features, pool=pool, spiking=spiking[i])
            pool = 1
    del pending
    return g

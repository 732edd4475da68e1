"""Layers that give ordinary (stateless) modules a time axis, SpikingJelly multi-step style.

Tensors in a spiking network are ``[T, B, ...]``. A stateless layer (conv, BatchNorm, pooling, linear)
does not care about time, so it runs once on the ``[T*B, ...]`` flattening (``seq_apply``,
``SeqToANN``): one big batch instead of T small ones. BatchNorm run this way normalises with statistics
shared over all T*B samples (threshold-dependent BN, "tdBN"), which is what ``TDBatchNorm2d`` is.

Direct encoding: the image is the same at every timestep, so the layers before the first spiking
neuron (the first conv + BN) give the same result at every timestep. ``DirectEncoder`` computes them once
on ``[B, ...]`` and broadcasts the result over T (a view, no copy) -- 1/T of the first layer's work.
"""
from __future__ import annotations

import torch
from torch import nn


def seq_apply(module: nn.Module, x_seq: torch.Tensor) -> torch.Tensor:
    """Apply a stateless ``module`` to ``[T, B, ...]`` by flattening T and B into one batch."""
    T, B = x_seq.shape[:2]
    y = module(x_seq.flatten(0, 1))
    return y.reshape(T, B, *y.shape[1:])


class SeqToANN(nn.Module):
    """Wrap a stateless module so it takes and returns ``[T, B, ...]``."""

    def __init__(self, module: nn.Module):
        super().__init__()
        self.module = module

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        return seq_apply(self.module, x_seq)


class TDBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm2d over the T*B batch: takes ``[T, B, C, H, W]`` (or a plain ``[N, C, H, W]``).

    Still a ``nn.BatchNorm2d`` (same parameters and state_dict keys), so BN folding and ANN code see an
    ordinary BatchNorm.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 5:
            T, B = x.shape[:2]
            y = super().forward(x.flatten(0, 1))
            return y.reshape(T, B, *y.shape[1:])
        return super().forward(x)


class DirectEncoder(nn.Module):
    """The stateless layers before the first spiking layer, computed once and broadcast over T.

    ``forward(x [B, ...]) -> [T, B, ...]``. If ``x`` already has a time axis (``[B, T, ...]``, e.g.
    binned event frames), every timestep is computed (there is nothing to share).
    """

    def __init__(self, layers: nn.Sequential, timesteps: int):
        super().__init__()
        self.layers = layers
        self.timesteps = int(timesteps)

    def forward(self, x: torch.Tensor, time_axis: bool = False) -> torch.Tensor:
        if time_axis:
            return seq_apply(self.layers, x.transpose(0, 1))
        y = self.layers(x)
        return y.unsqueeze(0).expand(self.timesteps, *y.shape)

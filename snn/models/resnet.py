"""``resnet19``: ResNet19 as in the tdBN / TET CIFAR literature (Zheng et al. 2021, Deng et al. 2022).

stem conv3x3(C->128) BN N | 3 basic blocks of 128 | 3 blocks of 256 (first stride 2) | 2 blocks of 512
(first stride 2) | global average pooling, flatten, linear(512->256) N, linear(256->K) (non-spiking
integrator output). A basic block: ``N( BN(conv3x3(N(BN(conv3x3(x))))) + shortcut(x) )``, the shortcut being
the identity or, where the shape changes, conv1x1(stride 2) + BN. In the SNN the shortcut carries the
block input's spikes and is added into the second neuron's membrane input, which is exactly an archsim
residual edge into the second conv's node.

With ``neuron='relu'`` the same modules form the ordinary ReLU ResNet19 (``forward -> [B, K]``).
"""
from __future__ import annotations

from typing import Iterator

import networkx as nx
import torch
from torch import nn

from archsim import graph as ag
from snn.layers import seq_apply
from snn.models.base import SNNBase
from snn.models.common import check_input, make_neuron
from snn.neurons import LIF

STAGES = ((128, 3, 1), (256, 3, 2), (512, 2, 2))


def _run(m: nn.Module, x: torch.Tensor, multi: bool) -> torch.Tensor:
    """Multi-step (``x [T, B, ...]``) or single-step application of one module."""
    if isinstance(m, LIF):
        return m(x) if multi else m.step(x)
    return seq_apply(m, x) if multi else m(x)


class BasicBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int, neuron: str, nk: dict):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.act1 = make_neuron(neuron, **nk)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Sequential()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))
        self.act2 = make_neuron(neuron, **nk)
        self.stride = stride

    def run(self, x: torch.Tensor, multi: bool) -> torch.Tensor:
        h = _run(self.act1, _run(self.bn1, _run(self.conv1, x, multi), multi), multi)
        h = _run(self.bn2, _run(self.conv2, h, multi), multi)
        sc = _run(self.shortcut, x, multi) if len(self.shortcut) else x
        return _run(self.act2, h + sc, multi)


class ResNet19(SNNBase):
    def __init__(self, num_classes: int = 10, timesteps: int = 4, neuron: str = "lif",
                 input_shape=(3, 32, 32), **nk):
        super().__init__()
        c, h, w = check_input("resnet19", input_shape, 4)
        self.arch, self.timesteps, self.neuron = "resnet19", int(timesteps), neuron
        self.pool = h // 4
        self.conv1 = nn.Conv2d(c, 128, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(128)
        self.act1 = make_neuron(neuron, **nk)
        blocks, c_in = [], 128
        for c_out, n, stride in STAGES:
            for i in range(n):
                blocks.append(BasicBlock(c_in, c_out, stride if i == 0 else 1, neuron, nk))
                c_in = c_out
        self.blocks = nn.ModuleList(blocks)
        self.avgpool = nn.AvgPool2d(self.pool) if h == w else nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(512 * (h // 4 // self.pool) * (w // 4 // self.pool), 256)
        self.act_fc = make_neuron(neuron, **nk)
        self.fc2 = nn.Linear(256, num_classes)

    def _body(self, h: torch.Tensor, multi: bool) -> torch.Tensor:
        h = _run(self.act1, h, multi)
        for b in self.blocks:
            h = b.run(h, multi)
        for m in (self.avgpool, self.flatten, self.fc1, self.act_fc, self.fc2):
            h = _run(m, h, multi)
        return h

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 5:
            return seq_apply(nn.Sequential(self.conv1, self.bn1), x.transpose(0, 1).contiguous())
        y = self.bn1(self.conv1(x))
        return y.unsqueeze(0).expand(self.timesteps, *y.shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.neuron == "relu":
            return self._body(self.bn1(self.conv1(x)), multi=False)
        return self._body(self.encode(x), multi=True)

    def stream(self, x: torch.Tensor) -> Iterator[torch.Tensor]:
        self.reset_state()
        e = self.encode(x)
        try:
            for t in range(e.shape[0]):
                yield self._body(e[t], multi=False)
        finally:
            self.reset_state()

    def describe(self, input_shape, input_encoding: str = "dense") -> nx.DiGraph:
        g = ag.new_graph(tuple(input_shape), input_encoding)
        src = ag.add_conv(g, "conv1", ag.INPUT, out_channels=128)
        for i, b in enumerate(self.blocks):
            a = ag.add_conv(g, f"block{i + 1}a", src, out_channels=b.conv1.out_channels, stride=b.stride)
            o = ag.add_conv(g, f"block{i + 1}b", a, out_channels=b.conv2.out_channels)
            ag.add_residual(g, src, o, op="conv" if len(b.shortcut) else "identity", stride=b.stride)
            src = o
        fc1 = ag.add_linear(g, "fc1", src, out_features=256, pool=self.pool)
        ag.add_linear(g, "out", fc1, out_features=self.fc2.out_features, spiking=False)
        return g

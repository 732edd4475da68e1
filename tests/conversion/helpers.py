"""Small networks and images for the conversion tests (float64 where engines must agree exactly)."""
from __future__ import annotations

import torch
from torch import nn

from snn.conversion.stages import read_stages, scale_stages, to
from snn.conversion.normalise import activation_scales


def small_convnet(seed: int = 0) -> nn.Sequential:
    """conv(3->4) BN ReLU pool2 | conv(4->6) ReLU pool2 | flatten linear(6*2*2 -> 5): on 3x8x8 images."""
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(), nn.AvgPool2d(2),
                        nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(),
                        nn.Linear(6 * 2 * 2, 5))
    with torch.no_grad():
        net[1].running_mean.uniform_(-0.3, 0.3)
        net[1].running_var.uniform_(0.5, 1.5)
        net[1].weight.uniform_(0.5, 1.5)
        net[1].bias.uniform_(-0.2, 0.2)
    return net.eval()


def normalised_stages(net: nn.Module, x: torch.Tensor, percentile: float = 99.0, dtype=torch.float64):
    st = read_stages(net, tuple(x.shape[1:]))
    return to(scale_stages(st, activation_scales(st, [x], percentile)), dtype=dtype)

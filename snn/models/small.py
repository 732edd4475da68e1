"""``small``: the network that trains on a 2-core CPU (three conv layers of 32/64/128 channels).

conv3x3(C->32) BN N avgpool2 | conv3x3(32->64) BN N avgpool2 | conv3x3(64->128) BN N avgpool2 |
flatten, linear(128*H/8*W/8 -> K) (non-spiking integrator output, read out at every timestep).
For CIFAR (32x32): about 0.88M + 4.7M + 4.7M + 20k multiply-accumulates per timestep, 114k weights.
N = LIF (SNN) or ReLU (ANN twin); ``features``/``classifier`` are plain nn.Sequentials.
"""
from __future__ import annotations

from torch import nn

from snn.models.common import check_input, conv_bn

WIDTHS = (32, 64, 128)


def layers(num_classes: int, input_shape=(3, 32, 32), neuron: str = "lif", **neuron_kwargs):
    c, h, w = check_input("small", input_shape, 8)
    mods: list[nn.Module] = []
    for c_out in WIDTHS:
        mods += conv_bn(c, c_out, neuron, neuron_kwargs) + [nn.AvgPool2d(2)]
        c = c_out
    classifier = nn.Sequential(nn.Flatten(), nn.Linear(c * (h // 8) * (w // 8), num_classes))
    return nn.Sequential(*mods), classifier

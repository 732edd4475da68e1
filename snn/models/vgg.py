"""``vgg16``: VGG16 for CIFAR as in the SNN literature (DT-SNN/SEENN): 13 conv3x3 layers, widths 64..512,
average pooling (not max: an average of spikes is what spiking hardware can add up), classifier on the
1x1x512 map.

cfg 64 64 A 128 128 A 256 256 256 A 512 512 512 A 512 512 512 A, each conv followed by BN and the
neuron; then flatten, linear(512*H/32*W/32 -> K) (non-spiking integrator output).
N = LIF (SNN) or ReLU (ANN twin); ``features``/``classifier`` are plain nn.Sequentials.
"""
from __future__ import annotations

from torch import nn

from snn.models.common import check_input, conv_bn

CFG = (64, 64, "A", 128, 128, "A", 256, 256, 256, "A", 512, 512, 512, "A", 512, 512, 512, "A")


def layers(num_classes: int, input_shape=(3, 32, 32), neuron: str = "lif", **neuron_kwargs):
    c, h, w = check_input("vgg16", input_shape, 32)
    mods: list[nn.Module] = []
    for v in CFG:
        if v == "A":
            mods.append(nn.AvgPool2d(2))
        else:
            mods += conv_bn(c, int(v), neuron, neuron_kwargs)
            c = int(v)
    classifier = nn.Sequential(nn.Flatten(), nn.Linear(c * (h // 32) * (w // 32), num_classes))
    return nn.Sequential(*mods), classifier

"""``tiny``: two conv layers (4 and 8 channels) for tests on 8x8 or 16x16 images.

conv3x3(C->4) BN N avgpool2 | conv3x3(4->8) BN N avgpool2 | flatten, linear(8*H/4*W/4 -> K) (non-spiking
output). N = LIF (SNN) or ReLU (ANN twin); ``features``/``classifier`` are plain nn.Sequentials.
"""
from __future__ import annotations

from torch import nn

from snn.models.common import check_input, conv_bn


def layers(num_classes: int, input_shape=(3, 16, 16), neuron: str = "lif", **neuron_kwargs):
    c, h, w = check_input("tiny", input_shape, 4)
    features = nn.Sequential(*conv_bn(c, 4, neuron, neuron_kwargs), nn.AvgPool2d(2),
                             *conv_bn(4, 8, neuron, neuron_kwargs), nn.AvgPool2d(2))
    classifier = nn.Sequential(nn.Flatten(), nn.Linear(8 * (h // 4) * (w // 4), num_classes))
    return features, classifier

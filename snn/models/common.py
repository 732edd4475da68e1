"""Building blocks shared by the network definitions: the neuron factory and conv+BN+neuron blocks."""
from __future__ import annotations

from torch import nn

from archsim.errors import UserError
from snn.neurons import LIF

NEURONS = ("lif", "relu")


def make_neuron(neuron: str, **neuron_kwargs) -> nn.Module:
    """``LIF(**neuron_kwargs)`` for the SNN, ``nn.ReLU()`` for the ANN twin."""
    if neuron == "lif":
        return LIF(**neuron_kwargs)
    if neuron == "relu":
        return nn.ReLU()
    raise UserError("model", "neuron", f"must be one of {NEURONS}, got {neuron!r}")


def conv_bn(c_in: int, c_out: int, neuron: str, neuron_kwargs: dict, stride: int = 1) -> list[nn.Module]:
    """3x3 conv (no bias: BN follows), BatchNorm2d (over T*B in the SNN), neuron."""
    return [nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(c_out),
            make_neuron(neuron, **neuron_kwargs)]


def check_input(arch: str, input_shape, divisor: int) -> tuple[int, int, int]:
    if len(input_shape) != 3:
        raise UserError("model", "input_shape", f"{arch} needs [C, H, W], got {list(input_shape)}")
    c, h, w = (int(s) for s in input_shape)
    if h % divisor or w % divisor or h < divisor:
        raise UserError("model", "input_shape",
                        f"{arch} needs H and W divisible by {divisor}, got {h}x{w}")
    return c, h, w

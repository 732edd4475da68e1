"""Network registry: ``build(arch, num_classes, timesteps, neuron='lif'|'relu', input_shape, **neuron_kwargs)``.

Architectures: ``tiny`` (tests), ``small`` (CPU training), ``vgg16``, ``resnet19``.

With ``neuron='lif'`` the result is a spiking network (snn.models.base.SNNBase): ``forward(x [B, C, H, W])
-> [T, B, K]`` per-timestep output of the non-spiking integrator layer, ``stream(x)`` yielding ``[B, K]``
per timestep, ``describe(input_shape)`` giving the archsim layer graph.

With ``neuron='relu'`` the same layer graph is an ordinary ReLU ANN (``forward -> [B, K]``). For tiny, small
and vgg16 it is ``model.features`` + ``model.classifier``, two nn.Sequentials holding only Conv2d,
BatchNorm2d, ReLU, AvgPool2d, Flatten and Linear modules (what the Quartz conversion reads). resnet19's ReLU
twin keeps its residual blocks.
"""
from __future__ import annotations

from torch import nn

from archsim.errors import UserError
from snn.models import small, tiny, vgg
from snn.models.base import SequentialANN, SequentialSNN, SNNBase, record_spikes  # noqa: F401
from snn.models.common import NEURONS

SEQUENTIAL = {"tiny": tiny.layers, "small": small.layers, "vgg16": vgg.layers}
ARCHS = ("tiny", "small", "vgg16", "resnet19")
DEFAULT_INPUT = {"tiny": (3, 16, 16)}


def build(arch: str, num_classes: int = 10, timesteps: int = 4, neuron: str = "lif",
          input_shape: tuple[int, int, int] | None = None, **neuron_kwargs) -> nn.Module:
    if arch not in ARCHS:
        raise UserError("model", "arch", f"unknown architecture {arch!r}; choose one of {list(ARCHS)}")
    if neuron not in NEURONS:
        raise UserError("model", "neuron", f"must be one of {list(NEURONS)}, got {neuron!r}")
    if int(timesteps) < 1:
        raise UserError("model", "timesteps", f"must be >= 1, got {timesteps}")
    if int(num_classes) < 2:
        raise UserError("model", "num_classes", f"must be >= 2, got {num_classes}")
    input_shape = tuple(input_shape or DEFAULT_INPUT.get(arch, (3, 32, 32)))
    if neuron == "relu":
        neuron_kwargs = {}
    if arch == "resnet19":
        from snn.models.resnet import ResNet19
        return ResNet19(num_classes, timesteps, neuron, input_shape, **neuron_kwargs)
    features, classifier = SEQUENTIAL[arch](num_classes, input_shape, neuron, **neuron_kwargs)
    if neuron == "relu":
        return SequentialANN(features, classifier, arch)
    return SequentialSNN(features, classifier, timesteps, arch)

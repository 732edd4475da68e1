"""A NIR graph as one of our spiking networks: ``forward(x) -> [T, B, K]``, spikes recorded like ours.

``nirtorch.nir_to_torch`` wires the graph into a ``torch.fx.GraphModule`` that runs ONE timestep,
``(x, state) -> (output, state)``, summing the inputs of nodes with several incoming edges (residual
sums). Every node is mapped by our own functions, not nirtorch's defaults (its Affine drops the bias):
Conv2d (stride, padding, dilation, groups, bias), Affine/Linear (flattening their input, as archsim's
linear projection does), AvgPool2d, SumPool2d (an average pool times the window), Flatten (NIR's
dimensions leave out the batch axis) and the neurons of snn.nir.neurons.

:class:`NIRNetwork` runs T such steps, carrying the state, on a direct-encoded image (the same input at
every step) or on event frames ``[B, T, P, H, W]`` (frame t at step t), flattened when the graph's
Input is one-dimensional (an MLP), and returns the Output's value per
step: the readout's input current for a projection readout (so the accumulated output is an integrator's
membrane, as in our networks), its spikes for a spiking readout, its potential for an LI readout. Its
spiking neurons are registered first, in the layer graph's index order, so that
snn.models.base.record_spikes -- hence snn.inference.collect -- reports them node by node.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from archsim.errors import UserError
from snn.nir.neurons import MODULES
from snn.nir.read import conv_padding, groups_of, input_name, pair, type_of


class Affine(nn.Module):
    """``W x + b`` on the flattened input (NIR Affine; NIR Linear without ``b``)."""

    def __init__(self, weight, bias=None):
        super().__init__()
        self.weight = nn.Parameter(torch.as_tensor(weight, dtype=torch.float32), requires_grad=False)
        self.bias = None if bias is None else nn.Parameter(torch.as_tensor(bias, dtype=torch.float32).reshape(-1),
                                                          requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x.flatten(1) if x.dim() > 2 else x, self.weight, self.bias)


class Flatten(nn.Module):
    """NIR's Flatten: ``start_dim``/``end_dim`` count the dimensions of one sample (no batch axis)."""

    def __init__(self, start_dim: int, end_dim: int):
        super().__init__()
        self.start_dim, self.end_dim = int(start_dim), int(end_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shift = lambda d: d + 1 if d >= 0 else d  # noqa: E731 - past the batch axis
        return x.flatten(shift(self.start_dim), shift(self.end_dim))


def _conv(node, name: str, src: str) -> nn.Conv2d:
    w = torch.as_tensor(node.weight, dtype=torch.float32)
    groups = groups_of(node)
    m = nn.Conv2d(w.shape[1] * groups, w.shape[0], tuple(w.shape[2:]), stride=pair(node.stride),
                  padding=conv_padding(node, name, src), dilation=pair(node.dilation), groups=groups, bias=True)
    with torch.no_grad():
        m.weight.copy_(w)
        m.bias.copy_(torch.as_tensor(node.bias, dtype=torch.float32).reshape(-1))
    return m.requires_grad_(False)


def _pool(node, sum_pool: bool) -> nn.AvgPool2d:
    k = pair(node.kernel_size)
    return nn.AvgPool2d(k, stride=pair(node.stride), padding=pair(node.padding),
                        divisor_override=1 if sum_pool else None)


def torch_module(name: str, node, shape, dt: float, src: str = "model.nir") -> nn.Module:
    """The torch module of one NIR node (``shape``: the node's output shape, for neuron parameters)."""
    kind = type_of(node)
    if kind in ("Input", "Output"):
        return nn.Identity()
    if kind == "Conv2d":
        return _conv(node, name, src)
    if kind == "Affine":
        return Affine(node.weight, node.bias)
    if kind == "Linear":
        return Affine(node.weight)
    if kind in ("AvgPool2d", "SumPool2d"):
        return _pool(node, kind == "SumPool2d")
    if kind == "Flatten":
        return Flatten(node.start_dim, node.end_dim)
    try:
        return MODULES[kind](node, shape, dt, name)
    except ValueError as err:  # a time constant shorter than dt: forward Euler would overshoot
        raise UserError(src, f"nodes.{name}", f"{kind} node {name}: {err}, the discretised neuron is unstable "
                        f"at dt={dt} (pass the exporting library's --dt)") from None


class NIRNetwork(nn.Module):
    """See the module docstring. ``spiking``: the NIR names of the spiking neurons, in layer-graph order."""

    arch = "nir"

    def __init__(self, graph, shapes: dict, spiking: list[str], timesteps: int, dt: float,
                 src: str = "model.nir", device="cpu"):
        super().__init__()
        from snn.nir import require
        _, nirtorch = require()
        made: dict[int, nn.Module] = {}
        names = {id(node): name for name, node in graph.nodes.items()}

        def mapper(node):
            name = names[id(node)]
            made[id(node)] = torch_module(name, node, shapes[name], dt, src)
            return made[id(node)]
        node_map = {cls: mapper for cls in {type(n) for n in graph.nodes.values()}}
        body = nirtorch.nir_to_torch(graph, node_map, default_map={}, device=device)
        by_name = {names[k]: m for k, m in made.items()}
        # registered before the body: record_spikes (model.modules() order) sees them in graph order
        self.recorded = nn.ModuleList([by_name[n] for n in spiking])
        self.body = body
        self.timesteps = int(timesteps)
        self.flat_input = len(shapes[input_name(graph)]) == 1   # an MLP on images reads them flattened

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x [B, ...]`` (the same input every step) or event frames ``[B, T, ...]`` -> ``[T, B, K]``."""
        frames = x.dim() == 5
        if frames and x.shape[1] != self.timesteps:
            raise UserError("data", "timesteps", f"{x.shape[1]} event frames for T={self.timesteps}")
        state, outs = None, []
        for t in range(self.timesteps):
            xt = x[:, t] if frames else x
            y, state = self.body(xt.flatten(1) if self.flat_input else xt, state)
            outs.append(y.flatten(1))
        return torch.stack(outs)

    def reset_state(self) -> None:
        """Each forward starts from the initial state (nirtorch's state=None)."""

"""Our trained spiking networks as NIR graphs, for any library with a NIR importer.

``to_nir(model, cfg, dt)`` writes tiny, small and vgg16 (``features`` + ``classifier``) and resnet19 as:

- Conv2d with BatchNorm folded into its weight and bias (the same folding as the ANN conversion,
  snn.conversion.stages), at the input shape it sees;
- LIF: NIR's ``tau dv/dt = (v_leak - v) + r I`` with ``tau = tau_steps * dt``, ``v_leak = v_reset`` and
  ``r = 1`` when the input decays with the potential (``decay_input``, SpikingJelly's LIFNode) or ``r =
  tau_steps`` when it does not (``h = v - (v - v_reset) / tau + x``), one value per neuron; hard reset
  only (NIR has no reset by subtraction);
- AvgPool2d, Flatten, and the readout as it is: the last Linear as an Affine straight into the Output
  (a non-spiking integrator: the Output's value per timestep is its input current);
- resnet19's shortcuts as a second edge into the block's second LIF (NIR sums the inputs of a node),
  straight from the block input's LIF or through a folded 1x1 Conv2d.

Node names follow ``model.describe`` (``conv1``, ..., ``block3b``, ``fc1``, ``out``) with ``_lif`` for
each neuron, so the imported layer graph has the same names as the direct export. The graph's metadata
records the architecture, timesteps, dt and the input normalisation the network expects.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from archsim.errors import UserError
from snn.conversion.stages import _fuse_bn
from snn.models.base import SequentialSNN
from snn.neurons import LIF


class _Builder:
    """Collects NIR nodes and edges while walking a network, tracking the current output shape."""

    def __init__(self, nir, input_shape, dt: float, src: str):
        self.nir, self.dt, self.src = nir, float(dt), src
        self.nodes = {"input": nir.Input(input_type={"input": np.array(input_shape)})}
        self.edges: list[tuple[str, str]] = []
        self.shape = {"input": tuple(int(s) for s in input_shape)}

    def add(self, name: str, node, srcs, shape) -> str:
        self.nodes[name] = node
        for s in ([srcs] if isinstance(srcs, str) else srcs):
            self.edges.append((s, name))
        self.shape[name] = tuple(int(v) for v in shape)
        return name

    def conv(self, name: str, src: str, conv: nn.Conv2d, bn: nn.Module | None) -> str:
        if conv.padding_mode != "zeros" or isinstance(conv.padding, str):
            raise UserError(self.src, name, "only zero-padded convolutions with integer padding export")
        w = conv.weight.detach()
        b = conv.bias.detach() if conv.bias is not None else torch.zeros(conv.out_channels)
        if bn is not None:
            w, b = _fuse_bn(w, b, bn)
        c, h, wd = self.shape[src]
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = conv.kernel_size, conv.stride, conv.padding, conv.dilation
        out = (conv.out_channels, (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1, (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1)
        node = self.nir.Conv2d(input_shape=(h, wd), weight=w.numpy().astype(np.float32), stride=(sh, sw),
                               padding=(ph, pw), dilation=(dh, dw), groups=conv.groups,
                               bias=b.numpy().astype(np.float32))
        return self.add(name, node, src, out)

    def lif(self, name: str, srcs, lif: LIF) -> str:
        kw = lif.kw
        if kw["reset"] != "hard":
            raise UserError(self.src, "neuron_kwargs.reset", f"{kw['reset']!r} reset (by subtraction) has no NIR "
                            "equivalent: NIR's LIF resets to v_reset")
        shape = self.shape[srcs if isinstance(srcs, str) else srcs[0]]
        full = lambda v: np.full(shape, v, dtype=np.float64)  # noqa: E731 - float64: tau / dt stays exact
        node = self.nir.LIF(tau=full(kw["tau"] * self.dt), r=full(1.0 if kw["decay_input"] else kw["tau"]),
                            v_leak=full(kw["v_reset"]), v_threshold=full(kw["v_threshold"]),
                            v_reset=full(kw["v_reset"]))
        return self.add(name, node, srcs, shape)

    def pool(self, name: str, src: str, m: nn.AvgPool2d) -> str:
        k = m.kernel_size if isinstance(m.kernel_size, int) else m.kernel_size[0]
        s = m.stride if isinstance(m.stride, int) else m.stride[0]
        p = m.padding if isinstance(m.padding, int) else m.padding[0]
        c, h, w = self.shape[src]
        node = self.nir.AvgPool2d(kernel_size=np.array([k, k]), stride=np.array([s, s]), padding=np.array([p, p]))
        return self.add(name, node, src, (c, (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1))

    def flatten(self, name: str, src: str) -> str:
        shape = self.shape[src]
        node = self.nir.Flatten(input_type={"input": np.array(shape)}, start_dim=0, end_dim=-1)
        return self.add(name, node, src, (int(np.prod(shape)),))

    def linear(self, name: str, src: str, m: nn.Linear) -> str:
        w = m.weight.detach().numpy().astype(np.float32)
        node = self.nir.Affine(weight=w, bias=m.bias.detach().numpy().astype(np.float32)) if m.bias is not None \
            else self.nir.Linear(weight=w)
        return self.add(name, node, src, (m.out_features,))

    def graph(self, last: str, metadata: dict):
        self.add("output", self.nir.Output(output_type={"output": np.array(self.shape[last])}), last,
                 self.shape[last])
        return self.nir.NIRGraph(nodes=self.nodes, edges=self.edges, metadata=metadata)


def _sequential(b: _Builder, modules: list[nn.Module]) -> str:
    """features + classifier of tiny/small/vgg16, named like describe_sequential."""
    src, n_conv, n_fc, n_pool = "input", 0, 0, 0
    proj = None
    for i, m in enumerate(modules):
        if isinstance(m, nn.Conv2d):
            n_conv += 1
            proj = f"conv{n_conv}"
            bn = modules[i + 1] if i + 1 < len(modules) and isinstance(modules[i + 1], nn.BatchNorm2d) else None
            src = b.conv(proj, src, m, bn)
        elif isinstance(m, nn.BatchNorm2d):
            continue                                  # folded into the conv before it
        elif isinstance(m, LIF):
            src = b.lif(f"{proj}_lif", src, m)
        elif isinstance(m, nn.AvgPool2d):
            n_pool += 1
            src = b.pool(f"pool{n_pool}", src, m)
        elif isinstance(m, nn.Flatten):
            src = b.flatten("flatten", src)
        elif isinstance(m, nn.Linear):
            n_fc += 1
            spiking = any(isinstance(x, LIF) for x in modules[i + 1:])
            proj = f"fc{n_fc}" if spiking else "out"
            src = b.linear(proj, src, m)
        elif not isinstance(m, (nn.Dropout, nn.Identity)):
            raise UserError(b.src, "model", f"layer {type(m).__name__} has no NIR export")
    return src


def _resnet19(b: _Builder, model) -> str:
    """resnet19, named like its describe()."""
    src = b.lif("conv1_lif", b.conv("conv1", "input", model.conv1, model.bn1), model.act1)
    for i, blk in enumerate(model.blocks, 1):
        a = b.lif(f"block{i}a_lif", b.conv(f"block{i}a", src, blk.conv1, blk.bn1), blk.act1)
        main = b.conv(f"block{i}b", a, blk.conv2, blk.bn2)
        short = b.conv(f"block{i}b_shortcut", src, blk.shortcut[0], blk.shortcut[1]) if len(blk.shortcut) else src
        src = b.lif(f"block{i}b_lif", [main, short], blk.act2)
    if not isinstance(model.avgpool, nn.AvgPool2d):
        raise UserError(b.src, "model", "resnet19 on non-square inputs (adaptive pooling) has no NIR export")
    src = b.flatten("flatten", b.pool("pool", src, model.avgpool))
    src = b.lif("fc1_lif", b.linear("fc1", src, model.fc1), model.act_fc)
    return b.linear("out", src, model.fc2)


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """Our sequential network with each BatchNorm folded into the conv before it, in place: the network
    a NIR file of it describes (NIR has no BatchNorm node). For comparing spikes with the imported graph."""
    feats = list(model.features)
    for i, m in enumerate(feats):
        if isinstance(m, nn.BatchNorm2d):
            conv = feats[i - 1]
            w, b = _fuse_bn(conv.weight.detach(), torch.zeros(conv.out_channels), m)
            conv.weight.data, conv.bias = w, nn.Parameter(b)
            feats[i] = nn.Identity()
    model.features = nn.Sequential(*feats)
    return model


def to_nir(model: nn.Module, cfg: dict, dt: float = 1e-4, src: str = "checkpoint", mean=None, std=None):
    """The ``nir.NIRGraph`` of one of our spiking networks (see the module docstring). ``mean``/``std``:
    the input normalisation it was trained with, recorded in the metadata."""
    from snn.nir import require
    nir, _ = require()
    b = _Builder(nir, cfg["input_shape"], dt, src)
    model = model.eval()
    with torch.no_grad():
        if isinstance(model, SequentialSNN):
            last = _sequential(b, list(model.features) + list(model.classifier))
        elif type(model).__name__ == "ResNet19":
            last = _resnet19(b, model)
        else:
            raise UserError(src, "arch", f"{type(model).__name__} has no NIR export")
    meta = {"source": "ATSNN-ArchSim snn.nir export", "arch": str(cfg.get("arch")),
            "dataset": str(cfg.get("dataset")), "timesteps": int(cfg["timesteps"]), "dt": float(dt),
            "readout": "the Output is the non-spiking integrator's input current per timestep; "
                       "accumulate it over timesteps"}
    if mean is not None and std is not None:
        meta["input_mean"] = np.asarray(mean, dtype=np.float64)
        meta["input_std"] = np.asarray(std, dtype=np.float64)
    if cfg.get("classes"):
        meta["classes"] = ",".join(str(c) for c in cfg["classes"])
    return b.graph(last, meta)

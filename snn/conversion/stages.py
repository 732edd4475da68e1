"""A ReLU ANN read as a chain of affine *stages*: what both conversions (TTFS and rate) simulate.

A stage is one Conv2d or Linear projection with everything that is linear around it folded in:
the BatchNorm after it (fused into weight and bias), the average pooling before it (applied to the
stage's *input*, which is what a spiking accelerator does: each pooled spike reaches the pooled cell's
targets with weight w/k^2), the Flatten, and, for the first stage, the input normalisation
``(x - mean) / std``. Then ``rectify`` says whether a ReLU follows (every hidden stage) or not (the
classifier output).

Folding the input normalisation into the first stage is exact, border included: zero padding of the
normalised image is padding the raw image with ``mean``, so the constant part becomes a *per-position*
bias ``[C, H, W]`` (``fold_input_normalisation``). The converted network therefore reads raw pixels in
[0, 1], which a TTFS input spike represents exactly (up to the t_max quantisation).

Pure functions on frozen dataclasses; torch only. Unsupported modules and non-ReLU activations are a
UserError naming the module (the command line turns it into one line and exit status 2).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

from archsim.errors import UserError

# Modules that are the identity at inference time.
_PASSTHROUGH = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Identity)


@dataclass(frozen=True)
class Stage:
    """One projection of the converted network.

    weight: ``[O, I, kh, kw]`` (conv) or ``[O, I]`` (linear); bias: broadcastable to one sample's output
    (``[O, 1, 1]``, ``[O, H, W]`` or ``[O]``); ``pool``: average-pooling factor applied to the input first;
    ``in_shape``: the shape of the *source* layer's output (before pooling); ``rectify``: a ReLU follows.
    """
    name: str
    kind: str
    weight: torch.Tensor
    bias: torch.Tensor
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    pool: int = 1
    rectify: bool = True

    @property
    def has_bias(self) -> bool:
        return bool((self.bias != 0).any())


def pool_input(stage: Stage, x: torch.Tensor) -> torch.Tensor:
    """Average pooling of the stage's input by ``stage.pool`` (a reshape-mean: the same numbers as
    avg_pool2d with stride = kernel, several times faster on the CPU)."""
    k = stage.pool
    if k == 1:
        return x
    B, C, H, W = x.shape
    return x.reshape(B, C, H // k, k, W // k, k).mean((3, 5))


def apply_weights(stage: Stage, pooled: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """The conv/linear map (no bias) on an already pooled input."""
    w = stage.weight if weight is None else weight
    if stage.kind == "conv":
        return F.conv2d(pooled, w, None, stage.stride, stage.padding)
    return F.linear(pooled.flatten(1), w)


def project(stage: Stage, x: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """The linear part of a stage (pool, flatten, conv/linear; no bias) on ``x [B, *in_shape]``.

    Linear, so it applies equally to real values and to one timestep's spike map.
    """
    return apply_weights(stage, pool_input(stage, x), weight)


def project_sparse(stage: Stage, idx: torch.Tensor, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``project`` of a map holding 1 at the few source positions ``idx [n, 1 + len(in_shape)]`` (sample
    first, as from ``nonzero()``) and 0 elsewhere, by scattering each spike's weights to its targets:
    cost ~ n x fan-out instead of a full conv. Returns (the projection ``[batch, *out_shape]``, the mask of
    output positions reached: ``[batch, H_out, W_out]`` for a conv, ``[batch]`` for a linear)."""
    W = stage.weight
    k = stage.pool
    dev = W.device
    if stage.kind == "linear":
        if len(stage.in_shape) == 3:   # pooled, then flattened channel-major
            c, h, w = idx[:, 1], idx[:, 2] // k, idx[:, 3] // k
            f = (c * (stage.in_shape[1] // k) + h) * (stage.in_shape[2] // k) + w
        else:
            f = idx[:, 1]
        out = torch.zeros(batch, W.shape[0], dtype=W.dtype, device=dev)
        out.index_add_(0, idx[:, 0], W[:, f].T / (k * k))
        hit = torch.zeros(batch, dtype=torch.bool, device=dev)
        hit[idx[:, 0]] = True
        return out, hit
    O, _, kh, kw = W.shape
    Ho, Wo = stage.out_shape[1:]
    b, c, h, w = idx[:, 0], idx[:, 1], idx[:, 2] // k, idx[:, 3] // k
    out = torch.zeros(batch * Ho * Wo, O, dtype=W.dtype, device=dev)
    hit = torch.zeros(batch * Ho * Wo, dtype=torch.bool, device=dev)
    for dh in range(kh):
        for dw in range(kw):
            nh, nw = h + stage.padding[0] - dh, w + stage.padding[1] - dw
            ho, wo = nh.div(stage.stride[0], rounding_mode="floor"), nw.div(stage.stride[1], rounding_mode="floor")
            ok = (nh >= 0) & (nw >= 0) & (nh % stage.stride[0] == 0) & (nw % stage.stride[1] == 0) & \
                (ho < Ho) & (wo < Wo)
            if not bool(ok.any()):
                continue
            flat = (b[ok] * Ho + ho[ok]) * Wo + wo[ok]
            out.index_add_(0, flat, W[:, c[ok], dh, dw].T / (k * k))
            hit[flat] = True
    return out.view(batch, Ho, Wo, O).permute(0, 3, 1, 2), hit.view(batch, Ho, Wo)


def affine(stage: Stage, x: torch.Tensor) -> torch.Tensor:
    """``project(x) + bias``: the stage's pre-activation."""
    return project(stage, x) + stage.bias


def forward(stages: list[Stage], x: torch.Tensor, record: bool = False):
    """The ANN the stages describe (ReLU after rectified stages). ``record=True`` also returns every
    stage's pre-activation (what percentile normalisation looks at)."""
    pre = []
    for st in stages:
        z = affine(st, x)
        pre.append(z)
        x = torch.relu(z) if st.rectify else z
    return (x, pre) if record else x


# ---- reading an nn.Module ------------------------------------------------------------------------

def _leaves(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The modules of a feed-forward chain, in order: ``features`` + ``classifier`` (snn.models' ANN
    twin) or any nested nn.Sequential."""
    if isinstance(getattr(model, "features", None), nn.Sequential) and \
            isinstance(getattr(model, "classifier", None), nn.Sequential):
        parts = [("features", model.features), ("classifier", model.classifier)]
    elif isinstance(model, nn.Sequential):
        parts = [("", model)]
    else:
        raise UserError("model", type(model).__name__,
                        "unsupported layer: only a feed-forward chain (nn.Sequential, or features + "
                        "classifier) converts; residual networks are not supported")
    out = []
    for prefix, seq in parts:
        for name, m in seq.named_children():
            q = f"{prefix}.{name}" if prefix else name
            if isinstance(m, nn.Sequential):
                out += [(f"{q}.{n}", mm) for n, mm in _leaves(m)]
            else:
                out.append((q, m))
    return out


def _is_activation(m: nn.Module) -> bool:
    from snn.neurons import LIF
    return isinstance(m, LIF) or type(m).__module__ == "torch.nn.modules.activation"


def _pair(v) -> tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _fuse_bn(w: torch.Tensor, b: torch.Tensor, bn: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """BatchNorm (running statistics) after a projection, folded into its weight and bias."""
    scale = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps) if bn.affine else \
        1.0 / torch.sqrt(bn.running_var + bn.eps)
    shift = bn.bias.detach() if bn.affine else torch.zeros_like(scale)
    w = w * scale.view(-1, *([1] * (w.dim() - 1)))
    b = (b - bn.running_mean) * scale + shift
    return w, b


def read_stages(model: nn.Module, input_shape: tuple[int, int, int]) -> list[Stage]:
    """Parse a ReLU ANN into stages (BatchNorm fused, pooling moved onto the next stage's input).

    Accepted: Conv2d (zero padding, no groups/dilation), Linear, BatchNorm2d/1d directly after a
    projection, ReLU, AvgPool2d (stride = kernel, no padding) after a ReLU, Flatten, Dropout/Identity.
    Every projection but the last must be followed by a ReLU. Anything else raises a UserError.
    """
    model = model.eval()
    stages: list[Stage] = []
    shape = tuple(int(s) for s in input_shape)   # shape of the current source layer's output
    pool = 1
    cur: dict | None = None                      # the stage being assembled
    n_conv = n_fc = 0

    def close():
        nonlocal cur
        if cur is not None:
            stages.append(Stage(**cur))
            cur = None

    with torch.no_grad():
        for qname, m in _leaves(model):
            if isinstance(m, nn.Conv2d):
                close()
                if m.groups != 1 or _pair(m.dilation) != (1, 1) or m.padding_mode != "zeros" \
                        or isinstance(m.padding, str):
                    raise UserError("model", qname, "unsupported layer: Conv2d with groups, dilation, string "
                                    "padding or non-zero padding mode")
                if len(shape) != 3:
                    raise UserError("model", qname, f"Conv2d after a flattened input {list(shape)}")
                in_shape = shape
                c, h, w = shape[0], shape[1] // pool, shape[2] // pool
                if c != m.in_channels:
                    raise UserError("model", qname, f"expects {m.in_channels} input channels, gets {c}")
                ks, st, pd = _pair(m.kernel_size), _pair(m.stride), _pair(m.padding)
                ho = (h + 2 * pd[0] - ks[0]) // st[0] + 1
                wo = (w + 2 * pd[1] - ks[1]) // st[1] + 1
                n_conv += 1
                b = m.bias.detach().clone() if m.bias is not None else torch.zeros(m.out_channels)
                cur = dict(name=f"conv{n_conv}", kind="conv", weight=m.weight.detach().clone(), bias=b,
                           in_shape=in_shape, out_shape=(m.out_channels, ho, wo), stride=st, padding=pd,
                           pool=pool, rectify=False)
                shape, pool = (m.out_channels, ho, wo), 1
            elif isinstance(m, nn.Linear):
                close()
                n_in = 1
                for s in shape:
                    n_in *= s
                n_in //= pool * pool
                if n_in != m.in_features:
                    raise UserError("model", qname, f"expects {m.in_features} inputs, gets {n_in}")
                n_fc += 1
                b = m.bias.detach().clone() if m.bias is not None else torch.zeros(m.out_features)
                cur = dict(name=f"fc{n_fc}", kind="linear", weight=m.weight.detach().clone(), bias=b,
                           in_shape=shape, out_shape=(m.out_features,), pool=pool, rectify=False)
                shape, pool = (m.out_features,), 1
            elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
                if cur is None or cur["rectify"] or m.num_features != cur["out_shape"][0]:
                    raise UserError("model", qname, "unsupported layer: BatchNorm must directly follow the "
                                    "Conv2d/Linear it normalises")
                cur["weight"], cur["bias"] = _fuse_bn(cur["weight"], cur["bias"], m)
            elif isinstance(m, nn.ReLU):
                if cur is None:
                    raise UserError("model", qname, "unsupported layer: ReLU before any Conv2d/Linear")
                cur["rectify"] = True
            elif isinstance(m, nn.AvgPool2d):
                k, s = _pair(m.kernel_size), _pair(m.stride if m.stride is not None else m.kernel_size)
                if k[0] != k[1] or k != s or _pair(m.padding) != (0, 0) or m.ceil_mode:
                    raise UserError("model", qname, "unsupported layer: AvgPool2d needs stride = kernel, "
                                    "square, no padding")
                if cur is not None and not cur["rectify"]:
                    raise UserError("model", qname, "unsupported layer: AvgPool2d must come after the ReLU")
                if len(shape) != 3 or shape[1] % (pool * k[0]) or shape[2] % (pool * k[0]):
                    raise UserError("model", qname, f"pooling by {k[0]} does not divide {list(shape)}")
                pool *= k[0]
            elif isinstance(m, nn.Flatten):
                continue
            elif isinstance(m, _PASSTHROUGH):
                continue
            elif _is_activation(m):
                raise UserError("model", qname, f"non-ReLU activation {type(m).__name__}: Quartz and rate "
                                "conversion need a ReLU ANN")
            else:
                raise UserError("model", qname, f"unsupported layer {type(m).__name__} (supported: Conv2d, "
                                "BatchNorm2d, ReLU, AvgPool2d, Flatten, Linear)")
        close()
    if not stages:
        raise UserError("model", "layers", "no Conv2d or Linear layer to convert")
    if pool != 1:
        raise UserError("model", "layers", "unsupported layer: AvgPool2d after the last projection")
    for st in stages[:-1]:
        if not st.rectify:
            raise UserError("model", st.name, "every hidden projection must be followed by a ReLU")
    last = stages[-1]
    stages[-1] = replace(last, name="out" if last.kind == "linear" and not last.rectify else last.name)
    return [_shape_bias(s) for s in stages]


def _shape_bias(st: Stage) -> Stage:
    """Bias shaped to broadcast over one sample's output."""
    if st.kind == "conv" and st.bias.dim() == 1:
        return replace(st, bias=st.bias.view(-1, 1, 1))
    return st


def fold_input_normalisation(stages: list[Stage], mean, std) -> list[Stage]:
    """Make the first stage read raw pixels in [0, 1] instead of ``(x - mean) / std``. Exact: the
    constant part, border effects of zero padding included, becomes a per-position bias."""
    st = stages[0]
    c = st.in_shape[0]
    m = torch.as_tensor(mean, dtype=st.weight.dtype).reshape(-1)
    s = torch.as_tensor(std, dtype=st.weight.dtype).reshape(-1)
    if m.numel() != c or s.numel() != c or (s <= 0).any():
        raise UserError("model", "normalisation", f"mean/std need {c} positive entries")
    if st.kind == "conv":
        w = st.weight / s.view(1, -1, 1, 1)
    else:  # Flatten -> Linear: one scale per input feature, channel-major as Flatten orders them
        shp = st.in_shape if len(st.in_shape) != 3 else \
            (st.in_shape[0], st.in_shape[1] // st.pool, st.in_shape[2] // st.pool)
        inv = (1.0 / s).view(-1, *([1] * (len(shp) - 1))).expand(shp).reshape(1, -1)
        w = st.weight * inv
    const = (-m).view(1, -1, *([1] * (len(st.in_shape) - 1))).expand(1, *st.in_shape)
    folded = replace(st, weight=w)
    bias = (project(folded, const.to(w.dtype))[0] + st.bias).detach()
    return [replace(folded, bias=bias)] + list(stages[1:])


def scale_stages(stages: list[Stage], scales: list[float]) -> list[Stage]:
    """Data-based normalisation: stage l's output is divided by ``scales[l]`` (its input arrives divided
    by ``scales[l-1]``): ``W_l <- W_l * s_{l-1} / s_l``, ``b_l <- b_l / s_l``. Same ANN decisions,
    activations now mostly in [0, 1]."""
    out, prev = [], 1.0
    for st, s in zip(stages, scales):
        out.append(replace(st, weight=st.weight * (prev / s), bias=st.bias / s))
        prev = s
    return out


def to(stages: list[Stage], device=None, dtype=None) -> list[Stage]:
    return [replace(s, weight=s.weight.to(device=device, dtype=dtype), bias=s.bias.to(device=device, dtype=dtype))
            for s in stages]

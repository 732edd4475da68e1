"""Spike functions: a Heaviside step forward, a smooth surrogate derivative backward.

Each function takes ``x = v - v_threshold`` (so the surrogate peaks at the threshold) and returns spikes
in {0., 1.} of the same dtype. ``spike >= 0`` fires, as in SpikingJelly. The derivatives are written out
in ``grad(name, x)`` so the fused LIF path (snn.neurons) can run its own backward pass with exactly the
same surrogate as the autograd path.

- ``sigmoid`` (alpha=4, SpikingJelly's default): d/dx = alpha * s * (1 - s), s = sigmoid(alpha x); peak
  alpha/4 = 1 at x = 0.
- ``atan`` (alpha=2): d/dx = (alpha/2) / (1 + (pi/2 * alpha * x)^2); peak alpha/2 = 1.
- ``triangle`` (width=1): d/dx = max(0, width - |x|) / width^2; peak 1/width, zero beyond +-width.
"""
from __future__ import annotations

import math

import torch

from archsim.errors import UserError

DEFAULT_ALPHA = {"sigmoid": 4.0, "atan": 2.0, "triangle": 1.0}


def grad(name: str, x: torch.Tensor, alpha: float | None = None) -> torch.Tensor:
    """The surrogate derivative d spike / d x of ``name`` at ``x`` (no autograd involved)."""
    a = DEFAULT_ALPHA[name] if alpha is None else float(alpha)
    if name == "sigmoid":
        s = torch.sigmoid(a * x)
        return a * s * (1.0 - s)
    if name == "atan":
        return (a / 2.0) / (1.0 + (math.pi / 2.0 * a * x) ** 2)
    if name == "triangle":
        return torch.clamp(a - x.abs(), min=0.0) / (a * a)
    raise UserError("surrogate", "name", f"unknown surrogate {name!r}; choose one of {sorted(DEFAULT_ALPHA)}")


class _SpikeFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, name, alpha):
        ctx.save_for_backward(x)
        ctx.name, ctx.alpha = name, alpha
        return (x >= 0).to(x.dtype)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * grad(ctx.name, x, ctx.alpha), None, None


class Surrogate:
    """A named spike function; calling it on ``v - v_threshold`` gives spikes with a surrogate gradient."""

    def __init__(self, name: str, alpha: float | None = None):
        if name not in DEFAULT_ALPHA:
            raise UserError("surrogate", "name",
                            f"unknown surrogate {name!r}; choose one of {sorted(DEFAULT_ALPHA)}")
        self.name = name
        self.alpha = DEFAULT_ALPHA[name] if alpha is None else float(alpha)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return _SpikeFn.apply(x, self.name, self.alpha)

    def grad(self, x: torch.Tensor) -> torch.Tensor:
        return grad(self.name, x, self.alpha)

    def __repr__(self) -> str:
        return f"Surrogate({self.name!r}, alpha={self.alpha})"


def get_surrogate(name: str | Surrogate, alpha: float | None = None) -> Surrogate:
    """Surrogate by name ('sigmoid', 'atan', 'triangle'); an unknown name is a UserError."""
    if isinstance(name, Surrogate):
        return name
    return Surrogate(str(name), alpha)

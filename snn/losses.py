"""Training losses on the per-timestep outputs ``out [T, B, K]`` of the integrator layer.

- ``mean``: cross entropy of the mean output over all T timesteps -- the ordinary fixed-timestep SNN.
- ``tet``: TET (Deng et al. 2022), the mean over t of CE(out[t], y) on each timestep's own output.
- ``atsnn``: the time-dependent loss of ATSNN as we define it (the paper gives no formula): the
  weighted sum over t of the cross entropy of the *accumulated* output up to t (what the adaptive exit
  actually scores),

      L = sum_{t=1..T} w_t * CE( (1/t) sum_{s<=t} out[s], y ),    sum_t w_t = 1.

  Weight schedules (``weights(schedule, T, gamma)``, normalised to sum 1):
    ``uniform``      w_t = 1/T: every exit point matters equally; since out[1] enters every term, early
                     timesteps get most of the gradient.
    ``linear_decay`` w_t proportional to T - t + 1: pushes harder on the earliest exits.
    ``exp``          w_t proportional to gamma^(t-1): gamma < 1 favours early, gamma > 1 late exits.
    ``last``         w = (0, ..., 0, 1): equals ``mean`` (a sanity anchor).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from archsim.errors import UserError

LOSSES = ("atsnn", "mean", "tet")
SCHEDULES = ("uniform", "linear_decay", "exp", "last")


def weights(schedule: str, timesteps: int, gamma: float = 0.7) -> torch.Tensor:
    """The ATSNN timestep weights ``w [T]`` (float32, sum 1)."""
    T = int(timesteps)
    t = torch.arange(1, T + 1, dtype=torch.float64)
    if schedule == "uniform":
        w = torch.ones(T, dtype=torch.float64)
    elif schedule == "linear_decay":
        w = T - t + 1
    elif schedule == "exp":
        if gamma <= 0:
            raise UserError("command line", "gamma", f"must be > 0, got {gamma}")
        w = float(gamma) ** (t - 1)
    elif schedule == "last":
        w = torch.zeros(T, dtype=torch.float64)
        w[-1] = 1
    else:
        raise UserError("command line", "schedule", f"unknown schedule {schedule!r}; choose one of {list(SCHEDULES)}")
    return (w / w.sum()).float()


def accumulated_mean(out: torch.Tensor) -> torch.Tensor:
    """``[T, B, K] -> [T, B, K]``: the mean output over timesteps 1..t, for every t."""
    T = out.shape[0]
    steps = torch.arange(1, T + 1, device=out.device, dtype=out.dtype).view(T, *([1] * (out.dim() - 1)))
    return out.cumsum(0) / steps


def mean_loss(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(out.mean(0), y)


def tet_loss(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    T = out.shape[0]
    return F.cross_entropy(out.flatten(0, 1), y.repeat(T))


def atsnn_loss(out: torch.Tensor, y: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    T, B = out.shape[:2]
    acc = accumulated_mean(out.float())
    per_t = F.cross_entropy(acc.flatten(0, 1), y.repeat(T), reduction="none").view(T, B).mean(1)
    return (per_t * w.to(per_t.device)).sum()


def make_loss(name: str, timesteps: int, schedule: str = "uniform", gamma: float = 0.7):
    """``loss(out [T, B, K], y [B]) -> scalar`` for ``name`` in atsnn | mean | tet."""
    if name == "mean":
        return mean_loss
    if name == "tet":
        return tet_loss
    if name == "atsnn":
        w = weights(schedule, timesteps, gamma)
        return lambda out, y: atsnn_loss(out, y, w)
    raise UserError("command line", "loss", f"unknown loss {name!r}; choose one of {list(LOSSES)}")

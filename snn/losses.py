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

Knowledge distillation (``make_distill_loss``): the same views of the output (the accumulated means for
``atsnn``, the mean for ``mean``, each timestep's own output for ``tet``) are pulled towards a teacher's
softened prediction (Hinton et al. 2015, "Distilling the knowledge in a neural network"):

      L_kd = sum_t w_t * tau^2 * KL( softmax(teacher / tau) || softmax(view_t / tau) ).

The tau^2 keeps the gradient's scale independent of tau. The teacher is typically the SNN's own ReLU twin:
a better model of the same layers, whose soft targets regularise a spiking net that overfits.
"""
from __future__ import annotations

import math

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


def distill_loss(views: torch.Tensor, teacher: torch.Tensor, w: torch.Tensor, temperature: float) -> torch.Tensor:
    """``views [T, B, K]`` (the student's logits as its loss sees them), ``teacher [B, K]`` logits,
    ``w [T]`` weights summing to 1 -> sum_t w_t tau^2 KL(teacher || view_t), batch mean."""
    tau = float(temperature)
    T = views.shape[0]
    log_p = F.log_softmax(views.float() / tau, -1)
    q = F.softmax(teacher.float() / tau, -1).expand_as(log_p)
    per_t = F.kl_div(log_p.flatten(0, 1), q.flatten(0, 1), reduction="none").sum(-1).view(T, -1).mean(1)
    return tau * tau * (per_t * w.to(per_t.device)).sum()


def make_distill_loss(name: str, timesteps: int, schedule: str = "uniform", gamma: float = 0.7,
                      temperature: float = 2.0):
    """``kd(out [T, B, K], teacher [B, K]) -> scalar``: the distillation term for loss ``name``."""
    if not (temperature > 0 and math.isfinite(temperature)):
        raise UserError("command line", "distill-temperature", f"must be > 0, got {temperature}")
    T = int(timesteps)
    if name == "mean":
        return lambda out, teacher: distill_loss(out.mean(0, keepdim=True), teacher, torch.ones(1), temperature)
    if name == "tet":
        return lambda out, teacher: distill_loss(out, teacher, torch.full((T,), 1.0 / T), temperature)
    if name == "atsnn":
        w = weights(schedule, T, gamma)
        return lambda out, teacher: distill_loss(accumulated_mean(out.float()), teacher, w, temperature)
    raise UserError("command line", "loss", f"unknown loss {name!r}; choose one of {list(LOSSES)}")


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

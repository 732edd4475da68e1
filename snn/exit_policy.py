"""Adaptive-timestep inference: score the accumulated output after every timestep, exit when confident.

Pure functions on arrays, used by training (per-timestep accuracy), evaluate and export alike.

- ``scores(out [T, N, K])`` -> ``{'entropy': [N, T], 'confidence': [N, T]}`` in [0, 1], computed on the
  softmax of the accumulated mean output up to t (= the integrator membrane / t):
  ``entropy`` = 1 - H(p) / log K (DT-SNN / SEENN), ``confidence`` = max_k p_k.
- ``exit_timestep(scores [N, T], threshold)`` -> ``[N]`` 1-based: the first t with score >= threshold,
  else T (the sample runs to the end). ``fixed_exit(N, T)`` is the fixed-timestep policy.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from archsim.errors import UserError
from archsim.exit_policy import POLICIES, THRESHOLD_BY_POLICY, first_exit  # noqa: F401 (the one home; re-exported)


def scores(out: torch.Tensor) -> dict[str, torch.Tensor]:
    T, N, K = out.shape
    steps = torch.arange(1, T + 1, dtype=torch.float32, device=out.device).view(T, 1, 1)
    p = torch.softmax(out.float().cumsum(0) / steps, dim=-1)
    ent = -(p * torch.log(p.clamp_min(1e-12))).sum(-1) / math.log(K)
    return {"entropy": (1.0 - ent).clamp(0, 1).T.contiguous(), "confidence": p.max(-1).values.T.contiguous()}


def predictions(out: torch.Tensor) -> torch.Tensor:
    """``[T, N, K] -> [N, T]``: argmax of the accumulated output after each timestep."""
    return out.float().cumsum(0).argmax(-1).T.contiguous()


def exit_timestep(score: np.ndarray | torch.Tensor, threshold: float) -> np.ndarray:
    s = np.asarray(score.cpu() if isinstance(score, torch.Tensor) else score)
    if s.ndim != 2 or s.shape[1] < 1:
        raise UserError("exit policy", "scores", f"need [N, T], got shape {list(s.shape)}")
    return first_exit(s, threshold).astype(np.int32)


def fixed_exit(n: int, timesteps: int) -> np.ndarray:
    return np.full(n, int(timesteps), dtype=np.int32)


def apply_policy(score_dict: dict, policy: str, threshold: float, timesteps: int) -> np.ndarray:
    if policy == "fixed":
        n = next(iter(score_dict.values())).shape[0]
        return fixed_exit(n, timesteps)
    if policy not in score_dict:
        raise UserError("command line", "exit-policy", f"unknown policy {policy!r}; choose one of {list(POLICIES)}")
    return exit_timestep(score_dict[policy], threshold)


def adaptive_accuracy(preds: np.ndarray, labels: np.ndarray, exits: np.ndarray) -> tuple[float, float]:
    """(accuracy, average timesteps) when each sample answers with its prediction at its exit timestep."""
    p = np.asarray(preds)[np.arange(len(exits)), np.asarray(exits) - 1]
    return float((p == np.asarray(labels)).mean()), float(np.mean(exits))


THRESHOLD_GRID = tuple(round(x, 3) for x in list(np.linspace(0.0, 0.9, 19)) +
                       [0.92, 0.94, 0.95, 0.96, 0.97, 0.98, 0.99, 0.995, 0.999, 1.0])


def calibrate_threshold(score: np.ndarray, preds: np.ndarray, labels: np.ndarray, max_drop: float = 0.005,
                        grid=THRESHOLD_GRID) -> float:
    """The threshold with the fewest average timesteps whose accuracy is within ``max_drop`` (a fraction)
    of the fixed-T accuracy, on the data given (use held-out or training data, never the test set)."""
    fixed = float((np.asarray(preds)[:, -1] == np.asarray(labels)).mean())
    best, best_t = 1.0, float(np.asarray(score).shape[1])
    for th in sorted(grid):
        acc, avg_t = adaptive_accuracy(preds, labels, exit_timestep(score, th))
        if acc >= fixed - max_drop and avg_t < best_t - 1e-9:
            best, best_t = float(th), avg_t
    return best

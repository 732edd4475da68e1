"""Exit policies, re-applied to the per-timestep scores a workload stores.

Why here and not in the trainer: the workload keeps every timestep's prediction and score, so the same
exported run can be replayed under another policy or threshold (a sweep over thresholds needs no GPU).

Policies: ``fixed`` (every sample runs ``timesteps`` steps, default the workload's T); ``entropy`` and
``confidence`` (a sample exits after the first timestep whose stored score reaches the threshold,
score >= threshold, else after the last timestep). Scores are in [0, 1], higher = more certain.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# re-exported: the one list of policy names and their defaults (defined in the leaf archsim.choices, which
# the hwconfig schema and the run command import without numpy), the home snn/ imports them from
from archsim.choices import DEFAULT_POLICY, DEFAULT_THRESHOLD, POLICIES, THRESHOLD_BY_POLICY  # noqa: F401
from archsim.errors import UserError
from archsim.workload import Workload


@dataclass(frozen=True)
class ExitPlan:
    """What the controller decides for each sample. ``exit_t[n]`` is 1-based (1..max_t);
    ``max_t`` is the timesteps a sample could run (T, or the fixed T)."""
    policy: str
    threshold: float | None
    exit_t: np.ndarray
    max_t: int

    @property
    def adaptive(self) -> bool:
        return self.policy != "fixed"

    @property
    def avg_timesteps(self) -> float:
        return float(self.exit_t.mean())

    def mask(self, n_timesteps: int) -> np.ndarray:
        """[N, T] bool: timestep t (0-based) runs for sample n."""
        return np.arange(n_timesteps)[None, :] < self.exit_t[:, None]

    def decisions(self) -> np.ndarray:
        """[N] controller decisions per sample: one after each executed timestep except the last
        possible one (after ``max_t`` the sample ends regardless); none under ``fixed``."""
        if not self.adaptive:
            return np.zeros_like(self.exit_t)
        return np.minimum(self.exit_t, self.max_t - 1)

    def take(self, index: slice | np.ndarray) -> "ExitPlan":
        """The plan of the samples ``index`` (as archsim.workload.Workload.take)."""
        return ExitPlan(self.policy, self.threshold, self.exit_t[index], self.max_t)


def first_exit(scores: np.ndarray, threshold: float) -> np.ndarray:
    """The exit rule, the one both the trainer and the simulator apply: per sample (rows of ``scores``
    [N, T]), the 1-based first timestep whose score is >= ``threshold``, else T (runs to the end)."""
    above = np.asarray(scores) >= float(threshold)
    return np.where(above.any(axis=1), above.argmax(axis=1) + 1, above.shape[1]).astype(np.int64)


def plan_exits(wl: Workload, policy: str, threshold: float | None = None,
               timesteps: int | None = None, source: str = "exit policy") -> ExitPlan:
    """The exit timestep of every sample under ``policy``."""
    if policy not in POLICIES:
        raise UserError(source, "exit_policy", f"must be one of {', '.join(POLICIES)}, got {policy!r}")
    t_all = wl.timesteps
    if policy == "fixed":
        t_fixed = t_all if timesteps is None else int(timesteps)
        if not 1 <= t_fixed <= t_all:
            raise UserError(source, "timesteps", f"must lie in 1..{t_all} (the workload's T), got {t_fixed}")
        return ExitPlan("fixed", None, np.full(wl.n_samples, t_fixed, dtype=np.int64), t_fixed)
    if timesteps is not None:
        raise UserError(source, "timesteps", "only the fixed policy takes a timestep count")
    if threshold is None or not 0.0 <= float(threshold) <= 1.0:
        raise UserError(source, "threshold", f"must lie in [0, 1], got {threshold!r}")
    if policy not in wl.scores:
        have = ", ".join(sorted(wl.scores)) or "none"
        raise UserError(source, "exit_policy", f"the workload stores no '{policy}' scores (it has: {have})")
    return ExitPlan(policy, float(threshold), first_exit(wl.scores[policy], threshold), t_all)


def accuracy(wl: Workload, plan: ExitPlan) -> float:
    """Accuracy of the prediction each sample holds when it exits."""
    pred = wl.predictions[np.arange(wl.n_samples), plan.exit_t - 1]
    return float((pred == wl.labels).mean())

"""Energy of a power timeline over a window: the trapezoid rule, idle power kept or subtracted.

``E = integral of P(t) dt`` over ``[start_s, end_s]`` (J = W x s), with P linear between samples and, at the
window's edges, interpolated between the two samples around the edge (held flat for at most half a
sampling interval past the first/last sample). Each GPU is integrated on its own; the energies add up.
A window must lie inside one segment of the log (see ``formats``): a gap is never bridged.

Idle: ``E_net = E - P_idle x (end_s - start_s)``, with ``P_idle`` the idle draw (W) of the counted GPUs
together. Where ``P_idle`` comes from, in order: given by the user, the gpu_bench JSON (measured before
the run), the median of at least 1 s of samples before the window; else subtracting is refused.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from archsim.errors import UserError
from archsim.gpu.formats import PowerLog

IDLE_MODES = ("subtract", "keep")
MIN_LEAD_IN_S = 1.0   # the least idle lead-in (s) that gives an idle estimate
MIN_LEAD_IN_SAMPLES = 3


@dataclass
class WindowEnergy:
    """Energy of some GPUs over ``[start_s, end_s]`` (s on the log's timeline), idle kept."""

    start_s: float
    end_s: float
    energy_j: float
    per_gpu_j: dict[int, float]
    samples: int   # samples strictly inside the window, all counted GPUs

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def mean_power_w(self) -> float:
        return self.energy_j / self.duration_s


def _value_at(t: np.ndarray, p: np.ndarray, x: float, side: str) -> float:
    """P at ``x`` by linear interpolation; at a step (two samples at one time) the value just after
    (``side='right'``) or just before (``'left'``) it."""
    if side == "right":
        i = int(np.searchsorted(t, x, side="right"))   # t[i-1] <= x < t[i]
        if i == 0:
            return float(p[0])
        if i == len(t):
            return float(p[-1])
    else:
        i = int(np.searchsorted(t, x, side="left"))    # t[i-1] < x <= t[i]
        if i == 0:
            return float(p[0])
        if i == len(t):
            return float(p[-1])
        if t[i] == x:
            return float(p[i])
    t0, t1, p0, p1 = t[i - 1], t[i], p[i - 1], p[i]
    return float(p0 + (p1 - p0) * (x - t0) / (t1 - t0)) if t1 > t0 else float(p1)


def trapezoid_j(t: np.ndarray, p: np.ndarray, start: float, end: float) -> tuple[float, int]:
    """Trapezoid energy (J) of one contiguous series (``t`` s non-decreasing, ``p`` W) over [start, end],
    and how many samples lie strictly inside. The caller checks that the series covers the window."""
    t, p = np.asarray(t, float), np.asarray(p, float)
    inside = (t > start) & (t < end)
    tt = np.concatenate([[start], t[inside], [end]])
    pp = np.concatenate([[_value_at(t, p, start, "right")], p[inside], [_value_at(t, p, end, "left")]])
    return float(np.sum((tt[1:] - tt[:-1]) * (pp[1:] + pp[:-1]) / 2.0)), int(inside.sum())


def _tolerance(t: np.ndarray) -> float:
    """How far past its first/last sample a series may be held flat: half its median interval (<= 1 s)."""
    dt = np.diff(t)
    dt = dt[dt > 0]
    return float(min(0.5 * np.median(dt), 1.0)) if len(dt) else 0.0


def _spans(tl: pd.DataFrame) -> str:
    parts = [f"{g['time_s'].min():.3f}..{g['time_s'].max():.3f} s" for _, g in tl.groupby("segment")]
    return ", ".join(parts)


def select_gpus(log: PowerLog, gpus: list[int] | None) -> list[int]:
    if not gpus:
        return log.gpus
    missing = [g for g in gpus if g not in log.gpus]
    if missing:
        raise UserError(log.path, "gpu", f"no GPU {missing[0]} in this log (it has {log.gpus})")
    return sorted(set(int(g) for g in gpus))


def integrate(log: PowerLog, start_s: float, end_s: float, gpus: list[int] | None = None) -> WindowEnergy:
    """Energy (J, idle kept) of ``gpus`` (default: all in the log) over ``[start_s, end_s]``."""
    if not (np.isfinite(start_s) and np.isfinite(end_s)) or end_s <= start_s:
        raise UserError(log.path, "window", f"the window must end after it starts (got {start_s} .. {end_s} s)")
    per_gpu, samples = {}, 0
    for g in select_gpus(log, gpus):
        tl = log.timeline[log.timeline["gpu"] == g]
        for _, seg in tl.groupby("segment"):
            t, p = seg["time_s"].to_numpy(), seg["power_w"].to_numpy()
            tol = _tolerance(t)
            if t[0] - tol <= start_s and end_s <= t[-1] + tol:
                e, n = trapezoid_j(t, p, start_s, end_s)
                per_gpu[g], samples = e, samples + n
                break
        else:
            raise UserError(log.path, "window", f"the log does not cover the run's window {start_s:.3f}..{end_s:.3f} s "
                            f"(GPU {g} has samples at {_spans(tl)})")
    return WindowEnergy(float(start_s), float(end_s), float(sum(per_gpu.values())), per_gpu, samples)


def default_window(log: PowerLog, gpus: list[int] | None = None) -> tuple[float, float, str]:
    """The window to integrate when none is given: (start_s, end_s, how it was chosen)."""
    gpus = select_gpus(log, gpus)
    b = log.bench
    if b and b.get("window") and b["window"].get("start") and b["window"].get("end"):
        return log.seconds(b["window"]["start"]), log.seconds(b["window"]["end"]), "the run, from the gpu_bench JSON"
    tl = log.timeline[log.timeline["gpu"].isin(gpus)]
    segs = tl.groupby("segment")["time_s"].agg(["min", "max"]).sort_values("min")
    seg = int(segs.index[-1])
    part = tl[tl["segment"] == seg].groupby("gpu")["time_s"].agg(["min", "max"])
    start, end = float(part["min"].max()), float(part["max"].min())
    if len(segs) == 1:
        return start, end, "the whole log"
    name = log.segment_names.get(seg, str(seg))
    return start, end, f"the last of {len(segs)} runs/windows in the log ({name}); --window picks another"


def idle_power(log: PowerLog, start_s: float, gpus: list[int] | None = None,
               idle_w: float | None = None) -> tuple[float, str] | None:
    """Idle draw (W, the counted GPUs together) and where it came from, or None if nothing tells."""
    if idle_w is not None:
        if not np.isfinite(idle_w) or idle_w < 0:
            raise UserError("command line", "idle-w", f"must be a power >= 0 W, got {idle_w}")
        return float(idle_w), "given on the command line"
    b = log.bench
    if b and b.get("idle_w") is not None:
        return float(b["idle_w"]), f"measured by gpu_bench for {b.get('idle_s', '?')} s before the run"
    total, spans = 0.0, []
    for g in select_gpus(log, gpus):
        tl = log.timeline[(log.timeline["gpu"] == g) & (log.timeline["time_s"] < start_s)]
        if len(tl) < MIN_LEAD_IN_SAMPLES or tl["time_s"].max() - tl["time_s"].min() < MIN_LEAD_IN_S:
            return None
        total += float(tl["power_w"].median())
        spans.append(float(tl["time_s"].max() - tl["time_s"].min()))
    return total, f"median of the {min(spans):.1f} s of samples before the window"


def apply_idle(log: PowerLog, we: WindowEnergy, mode: str, idle: tuple[float, str] | None) -> tuple[float, float]:
    """(energy J as reported, idle energy J removed) for ``mode`` 'subtract' or 'keep'."""
    if mode not in IDLE_MODES:
        raise UserError("command line", "idle", f"must be one of {list(IDLE_MODES)}, got {mode!r}")
    if mode == "keep":
        return we.energy_j, 0.0
    if idle is None:
        raise UserError(log.path, "idle", "cannot subtract idle power: the log gives no idle figure (no gpu_bench "
                        f"JSON, under {MIN_LEAD_IN_S:g} s of samples before the window); pass --idle keep or "
                        "--idle-w WATTS")
    removed = idle[0] * we.duration_s
    return we.energy_j - removed, removed

"""Energy of a power timeline: which stretches to integrate, and the trapezoid rule over them.

``E = integral of P(t) dt`` (J = W x s), with P linear between samples and, at a stretch's edges,
interpolated between the two samples around the edge (held flat for at most half a sampling interval past
the first/last sample). Each GPU is integrated on its own; the energies add up.

What is integrated (:func:`select`), first that applies:

- ``--window START END`` (seconds on the log's timeline): the parts of it the log covers. Its start and end
  must lie inside the log; gaps between runs/windows inside it are not in the log, so not counted (said).
- the run's window from a gpu_bench JSON;
- ``--run ID`` / ``--window-name NAME``: that CodeCarbon run (an id or a unique prefix) or every Zeus window
  of that name;
- else the whole log: every run and window once, each GPU over its own span (a GPU that started or stopped
  logging earlier is not cut to the others' span); a window inside another (a Zeus ``step`` inside its
  ``epoch``) is already in the outer one and not counted again; the cumulative rows CodeCarbon's
  ``flush()`` writes under one ``run_id`` are one run.

Idle: ``E_net = E - P_idle x duration``, with ``P_idle`` the idle draw (W) of the counted GPUs together and
the duration the wall-clock time the stretches cover. Where ``P_idle`` comes from, in order: given by the
user, the gpu_bench JSON (measured before the run), the median of at least 1 s of samples before the
window in the same run/window; else subtracting is refused.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from archsim.errors import UserError
from archsim.gpu.formats import PowerLog

IDLE_MODES = ("subtract", "keep")
MIN_LEAD_IN_S = 1.0   # the least idle lead-in (s) that gives an idle estimate
MIN_LEAD_IN_SAMPLES = 3


@dataclass(frozen=True)
class Piece:
    """One stretch to integrate: GPU ``gpu``, within segment ``segment``, over [start_s, end_s]."""

    gpu: int
    segment: int
    start_s: float
    end_s: float


@dataclass
class Selection:
    """What :func:`select` chose: the pieces, how it was chosen (for the report), the segments counted."""

    pieces: list[Piece]
    how: str
    segments: list[int]
    notes: list[str] = field(default_factory=list)


@dataclass
class WindowEnergy:
    """Energy of some GPUs over some stretches of the log's timeline (s), idle kept."""

    start_s: float
    end_s: float
    energy_j: float
    per_gpu_j: dict[int, float]
    samples: int   # samples strictly inside the stretches, all counted GPUs
    duration_s: float = None  # wall-clock seconds the stretches cover (their union)
    pieces: list[Piece] = field(default_factory=list)
    per_segment_j: dict[int, float] = field(default_factory=dict)

    def __post_init__(self):
        if self.duration_s is None:
            self.duration_s = self.end_s - self.start_s

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


def _series(log: PowerLog, gpu: int, segment: int) -> tuple[np.ndarray, np.ndarray]:
    tl = log.timeline
    seg = tl[(tl["gpu"] == gpu) & (tl["segment"] == segment)]
    return seg["time_s"].to_numpy(), seg["power_w"].to_numpy()


def spans(log: PowerLog, gpus: list[int] | None = None) -> pd.DataFrame:
    """First and last sample (s) of every (segment, gpu): columns segment, gpu, min, max."""
    tl = log.timeline[log.timeline["gpu"].isin(select_gpus(log, gpus))]
    return tl.groupby(["segment", "gpu"])["time_s"].agg(["min", "max"]).reset_index()


def _spans_text(log: PowerLog, gpu: int) -> str:
    sp = spans(log, [gpu]).sort_values("min")
    return ", ".join(f"{r['min']:.3f}..{r['max']:.3f} s" for _, r in sp.iterrows())


def select_gpus(log: PowerLog, gpus: list[int] | None) -> list[int]:
    if not gpus:
        return log.gpus
    missing = [g for g in gpus if g not in log.gpus]
    if missing:
        raise UserError(log.path, "gpu", f"no GPU {missing[0]} in this log (it has {log.gpus})")
    return sorted(set(int(g) for g in gpus))


def top_level(log: PowerLog, segments) -> list[int]:
    """The segments of ``segments`` that no other one of them holds (each counted once)."""
    chosen = set(segments)

    def held(s: int) -> bool:
        outer = log.segments[s].inside if s in log.segments else None
        while outer is not None:
            if outer in chosen:
                return True
            outer = log.segments[outer].inside if outer in log.segments else None
        return False

    return [s for s in segments if not held(s)]


def pieces_for_window(log: PowerLog, start_s: float, end_s: float, gpus: list[int] | None = None) -> list[Piece]:
    """The parts of [start_s, end_s] the log covers, per GPU. The window's two ends must each lie inside
    a run/window of every counted GPU; gaps between runs/windows within it are left out."""
    if not (np.isfinite(start_s) and np.isfinite(end_s)) or end_s <= start_s:
        raise UserError(log.path, "window", f"the window must end after it starts (got {start_s} .. {end_s} s)")
    counted = top_level(log, sorted(log.segments))
    pieces = []
    for g in select_gpus(log, gpus):
        got, has_start, has_end = [], False, False
        for seg in counted:
            t, _ = _series(log, g, seg)
            if len(t) == 0:
                continue
            tol = _tolerance(t)
            lo, hi = t[0] - tol, t[-1] + tol
            has_start |= lo <= start_s <= hi
            has_end |= lo <= end_s <= hi
            a, b = max(start_s, t[0] if start_s < lo else start_s), min(end_s, t[-1] if end_s > hi else end_s)
            if b > a:
                got.append(Piece(g, seg, float(a), float(b)))
        if not (has_start and has_end and got):
            raise UserError(log.path, "window", f"the log does not cover the run's window {start_s:.3f}..{end_s:.3f} s "
                            f"(GPU {g} has samples at {_spans_text(log, g)})")
        pieces += got
    return pieces


def integrate_pieces(log: PowerLog, pieces: list[Piece]) -> WindowEnergy:
    """Energy (J, idle kept) of the pieces, per GPU and per segment; the duration is their union."""
    if not pieces:
        raise UserError(log.path, "window", "nothing to integrate")
    per_gpu: dict[int, float] = {}
    per_seg: dict[int, float] = {}
    samples = 0
    for pc in pieces:
        t, p = _series(log, pc.gpu, pc.segment)
        e, n = trapezoid_j(t, p, pc.start_s, pc.end_s)
        per_gpu[pc.gpu] = per_gpu.get(pc.gpu, 0.0) + e
        per_seg[pc.segment] = per_seg.get(pc.segment, 0.0) + e
        samples += n
    return WindowEnergy(min(pc.start_s for pc in pieces), max(pc.end_s for pc in pieces),
                        float(sum(per_gpu.values())), per_gpu, samples, union_s(pieces), list(pieces), per_seg)


def union_s(pieces: list[Piece]) -> float:
    """Wall-clock seconds covered by at least one piece."""
    total, cur_a, cur_b = 0.0, None, None
    for a, b in sorted((pc.start_s, pc.end_s) for pc in pieces):
        if cur_b is None or a > cur_b:
            if cur_b is not None:
                total += cur_b - cur_a
            cur_a, cur_b = a, b
        else:
            cur_b = max(cur_b, b)
    return total + (cur_b - cur_a if cur_b is not None else 0.0)


def integrate(log: PowerLog, start_s: float, end_s: float, gpus: list[int] | None = None) -> WindowEnergy:
    """Energy (J, idle kept) of ``gpus`` (default: all in the log) over ``[start_s, end_s]``."""
    return integrate_pieces(log, pieces_for_window(log, start_s, end_s, gpus))


def _describe(log: PowerLog, seg: int) -> str:
    s = log.segments.get(seg)
    if s is None or s.kind == "log":
        return "the log"
    return f"{s.kind} {s.name!r}"


def _by_name(log: PowerLog, flag: str, kind: str, value: str) -> list[int]:
    """Segments of ``kind`` named ``value`` (a run id may be given by a unique prefix)."""
    of_kind = {i: s for i, s in log.segments.items() if s.kind == kind}
    if not of_kind:
        kinds = sorted({s.kind for s in log.segments.values()})
        other = {"run": "--run", "window": "--window-name"}
        hint = "; ".join(f"use {other[k]}" for k in kinds if k in other) or "it is one continuous log"
        raise UserError("command line", flag, f"{log.path} ({log.format}) has no {kind}s ({hint})")
    exact = [i for i, s in of_kind.items() if s.name == value]
    found = exact or ([i for i, s in of_kind.items() if s.name.startswith(value)] if kind == "run" else [])
    if kind == "run" and len({of_kind[i].name for i in found}) > 1:
        raise UserError("command line", flag, f"{value!r} is the start of {len(found)} run ids: give more of it")
    if not found:
        names = list(dict.fromkeys(s.name for s in of_kind.values()))
        raise UserError("command line", flag, f"no {kind} {value!r} in {log.path} (it has: {', '.join(names)})")
    return sorted(found)


def select(log: PowerLog, gpus: list[int] | None = None, window: tuple[float, float] | None = None,
           run: str | None = None, window_name: str | None = None) -> Selection:
    """What to integrate, and how it was chosen (see the module docstring for the order)."""
    gpus = select_gpus(log, gpus)
    if sum(x is not None for x in (window, run, window_name)) > 1:
        raise UserError("command line", "--window/--run/--window-name", "give at most one of them")
    if window is not None:
        pieces = pieces_for_window(log, float(window[0]), float(window[1]), gpus)
        segs = list(dict.fromkeys(pc.segment for pc in pieces))
        notes = []
        if len(segs) > 1:
            gap = (float(window[1]) - float(window[0])) - union_s(pieces)
            notes.append(f"the window spans {len(segs)} runs/windows of the log; the {gap:.3f} s between them "
                         "are not in the log and not counted")
        return Selection(pieces, "given on the command line", segs, notes)
    b = log.bench
    if b and b.get("window") and b["window"].get("start") and b["window"].get("end"):
        pieces = pieces_for_window(log, log.seconds(b["window"]["start"]), log.seconds(b["window"]["end"]), gpus)
        return Selection(pieces, "the run, from the gpu_bench JSON", [pc.segment for pc in pieces][:1])
    if run is not None:
        chosen, how = _by_name(log, "--run", "run", run), None
        how = f"run {log.segments[chosen[0]].name!r} (--run)"
    elif window_name is not None:
        chosen = _by_name(log, "--window-name", "window", window_name)
        how = f"{len(chosen)} window{'s' if len(chosen) > 1 else ''} named {window_name!r} (--window-name)"
    else:
        chosen, how = sorted(log.segments), None
    counted = top_level(log, chosen)
    sp = spans(log, gpus)
    pieces = []
    for seg in counted:
        for _, r in sp[sp["segment"] == seg].iterrows():
            if r["max"] > r["min"]:
                pieces.append(Piece(int(r["gpu"]), int(seg), float(r["min"]), float(r["max"])))
    if not pieces:
        raise UserError(log.path, "window", "no two samples of the chosen GPUs to integrate between")
    _refuse_partial_overlap(log, pieces)
    if how is None:
        n, nested = len(counted), len(chosen) - len(counted)
        if len(log.segments) == 1:
            how = "the whole log" + (", each GPU over its own span" if len(gpus) > 1 else "")
        else:
            kinds = sorted({log.segments[s].kind for s in counted})
            how = (f"the whole log: {n} {'/'.join(kinds)}{'s, each once' if n > 1 else ''}"
                   + (f" ({nested} inside another, counted through it)" if nested else "")
                   + "; --run/--window-name picks one")
    return Selection(pieces, how, counted)


def _refuse_partial_overlap(log: PowerLog, pieces: list[Piece]) -> None:
    """Two counted stretches of one GPU that overlap would count that time twice."""
    by_gpu: dict[int, list[Piece]] = {}
    for pc in pieces:
        by_gpu.setdefault(pc.gpu, []).append(pc)
    for g, ps in by_gpu.items():
        ps = sorted(ps, key=lambda pc: pc.start_s)
        for a, b in zip(ps, ps[1:]):
            if b.start_s < a.end_s - 1e-6:
                flag = "--window-name" if log.segments[a.segment].kind == "window" else "--run"
                raise UserError(log.path, "window", f"{_describe(log, a.segment)} and {_describe(log, b.segment)} "
                                f"overlap without one holding the other: adding them would count "
                                f"{a.end_s - b.start_s:.3f} s twice; pick one with {flag}")


def segment_report(log: PowerLog, gpus: list[int], selection: Selection) -> list[dict]:
    """Every run/window of the log (idle kept, the chosen GPUs over their own spans) and whether it is
    counted: [] for a plain log with one segment."""
    if len(log.segments) <= 1 and all(s.kind == "log" for s in log.segments.values()):
        return []
    sp = spans(log, gpus)
    counted = set(selection.segments)
    out = []
    for sid in sorted(log.segments, key=lambda s: float(sp[sp["segment"] == s]["min"].min())
                      if (sp["segment"] == s).any() else 0.0):
        seg, rows = log.segments[sid], sp[sp["segment"] == sid]
        if rows.empty:
            continue
        pieces = [Piece(int(r["gpu"]), sid, float(r["min"]), float(r["max"])) for _, r in rows.iterrows()
                  if r["max"] > r["min"]]
        energy = integrate_pieces(log, pieces).energy_j if pieces else 0.0
        if sid in counted:
            status = "counted" if selection.how != "given on the command line" else "counted (the part inside the window)"
        elif seg.inside is not None and any(o in counted for o in _outers(log, sid)):
            status = f"inside {log.segments[seg.inside].name!r}: counted through it"
        else:
            status = "not counted"
        out.append({"id": sid, "kind": seg.kind, "name": seg.name, "start_s": float(rows["min"].min()),
                    "end_s": float(rows["max"].max()), "energy_j": energy, "status": status})
    return out


def _outers(log: PowerLog, sid: int) -> list[int]:
    out, cur = [], log.segments[sid].inside
    while cur is not None:
        out.append(cur)
        cur = log.segments[cur].inside
    return out


def default_window(log: PowerLog, gpus: list[int] | None = None) -> tuple[float, float, str]:
    """(start_s, end_s, how) of :func:`select`'s default choice: its first to its last second."""
    sel = select(log, gpus)
    return min(pc.start_s for pc in sel.pieces), max(pc.end_s for pc in sel.pieces), sel.how


def idle_power(log: PowerLog, start_s: float, gpus: list[int] | None = None,
               idle_w: float | None = None) -> tuple[float, str] | None:
    """Idle draw (W, the counted GPUs together) and where it came from, or None if nothing tells. From the
    log: the median of the samples before ``start_s`` in the same run/window (another run's samples are
    not idle)."""
    if idle_w is not None:
        if not np.isfinite(idle_w) or idle_w < 0:
            raise UserError("command line", "idle-w", f"must be a power >= 0 W, got {idle_w}")
        return float(idle_w), "given on the command line"
    b = log.bench
    if b and b.get("idle_w") is not None:
        return float(b["idle_w"]), f"measured by gpu_bench for {b.get('idle_s', '?')} s before the run"
    total, lead = 0.0, []
    tl = log.timeline
    for g in select_gpus(log, gpus):
        mine = tl[tl["gpu"] == g]
        holds = mine.groupby("segment")["time_s"].agg(["min", "max"])
        holds = holds[(holds["min"] <= start_s) & (start_s <= holds["max"])]
        if holds.empty:
            return None
        before = mine[(mine["segment"] == holds.index[0]) & (mine["time_s"] < start_s)]
        if len(before) < MIN_LEAD_IN_SAMPLES or before["time_s"].max() - before["time_s"].min() < MIN_LEAD_IN_S:
            return None
        total += float(before["power_w"].median())
        lead.append(float(before["time_s"].max() - before["time_s"].min()))
    return total, f"median of the {min(lead):.1f} s of samples before the window"


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

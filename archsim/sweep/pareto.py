"""Pareto fronts over a results table, and the plot that shows one.

A point is on the front when no other point is at least as good on every objective and strictly better
on one. Equal points are all kept: neither dominates the other. Rows that are not ``status == 'ok'`` or
lack a value on an objective take no part.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from archsim.errors import UserError

# When neither the sweep file nor the command line says, these are better higher; all else lower.
HIGHER_IS_BETTER = ("fps", "accuracy", "images", "throughput")


def default_sense(column: str) -> str:
    return "maximize" if any(column == h or column.startswith(h + "_") for h in HIGHER_IS_BETTER) else "minimize"


def pareto_mask(values: np.ndarray, maximize: list[bool]) -> np.ndarray:
    """values: [n, k]. True where the row is not dominated. O(n^2 k), fine for sweeps up to ~10^4 rows."""
    v = np.asarray(values, dtype=float) * np.where(maximize, -1.0, 1.0)  # now lower is better everywhere
    n = len(v)
    on_front = np.ones(n, dtype=bool)
    for i in range(n):
        no_worse = (v <= v[i]).all(axis=1)
        better = (v < v[i]).any(axis=1)
        on_front[i] = not (no_worse & better).any()
    return on_front


def with_columns(df: pd.DataFrame, names, source: str = "pareto") -> pd.DataFrame:
    """An objective is a column or a pandas expression over columns, evaluated by ``DataFrame.eval``
    (``energy_j / seconds`` is the average power in W; dotted names need backticks). Adds the
    expressions as columns named by their text."""
    out = df
    for name in names:
        if name in out.columns:
            continue
        try:
            values = out.eval(name, engine="python")
        except Exception as err:  # eval raises whatever the expression provokes
            values, why = None, f"{type(err).__name__}: {err}"
        if not isinstance(values, pd.Series):
            why = why if values is None else "does not give one value per row"
            raise UserError(source, name, f"no such column, nor an expression over columns ({why})")
        out = out.copy() if out is df else out
        out[name] = values
    return out


def front(df: pd.DataFrame, objectives: Mapping[str, str]) -> pd.Series:
    """Boolean Series over ``df``: on the Pareto front of ``objectives`` ({column: minimize|maximize})."""
    df = with_columns(df, objectives)
    cols = list(objectives)
    usable = df[cols].apply(pd.to_numeric, errors="coerce").notna().all(axis=1)
    if "status" in df.columns:
        usable &= df["status"].eq("ok")
    mask = pd.Series(False, index=df.index)
    if usable.any():
        sub = df.loc[usable, cols].astype(float).to_numpy()
        mask.loc[usable] = pareto_mask(sub, [objectives[c] == "maximize" for c in cols])
    return mask


# metric -> (what it is, unit) for axis labels; energies are rescaled to a readable prefix.
_KNOWN_AXES = {
    "fps": ("throughput", "images/s"),
    "accuracy": ("accuracy", "%"),
    "avg_timesteps": ("average timesteps", ""),
    "area_proxy_sram_kib": ("on-chip SRAM (area proxy)", "KiB"),
    "seconds": ("simulated run time", "s"),
    "cycles": ("cycles", ""),
}


def axis(name: str, values: pd.Series) -> tuple[float, str]:
    """(scale, label) for a metric or expression: readable units (mJ/image, W, us, %) and what it is."""
    compact = name.replace(" ", "").replace("`", "")
    if compact in ("energy_j/seconds", "energy_j/result.seconds") or compact.endswith("_j/seconds"):
        return 1.0, f"average power (W)   [{name}]"
    if compact in _KNOWN_AXES:
        what, unit = _KNOWN_AXES[compact]
        scale = 100.0 if unit == "%" else 1.0
        return scale, f"{what} ({unit})" if unit else what
    if compact.endswith("_j") and "/" not in compact:
        finite = pd.to_numeric(values, errors="coerce").abs()
        top = float(finite.max()) if finite.notna().any() else 1.0
        scale, prefix = 1.0, ""
        for sc, pre in ((1.0, ""), (1e3, "m"), (1e6, "u"), (1e9, "n")):
            scale, prefix = sc, pre
            if top * sc >= 1.0:
                break
        per = "/image" if "per_image" in compact else ""
        return scale, f"{name.replace('_j', '').replace('_', ' ')} ({prefix}J{per})"
    if compact.startswith("latency_us"):
        return 1.0, f"{name.replace('_us', '').replace('_', ' ')} (us)"
    return 1.0, name


_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def plot_front(df: pd.DataFrame, on_front: pd.Series, x: str, y: str, senses: Mapping[str, str],
               path: str | Path, color: str | None = None, title: str | None = None) -> Path:
    """Scatter of every feasible point (coloured by ``color``), the front ringed and joined by its
    staircase (the edge of the region it dominates). Axes in readable units. Series drawn later get
    smaller, different markers, so a series that lands exactly on another stays visible inside it."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = df["status"].eq("ok") if "status" in df.columns else pd.Series(True, index=df.index)
    pts = df[ok]
    sx, x_label = axis(x, pts[x])
    sy, y_label = axis(y, pts[y])
    fig, ax = plt.subplots(figsize=(7.5, 5.2), dpi=120)
    if color and color in df.columns:
        values = pts[color]
        numeric = pd.api.types.is_numeric_dtype(values)
        if numeric and values.nunique() > 8:
            sc = ax.scatter(sx * pts[x], sy * pts[y], c=values, s=22, cmap="viridis", alpha=0.85)
            fig.colorbar(sc, ax=ax, label=color)
        else:
            levels = sorted(values.dropna().unique(), key=(float if numeric else str))
            n = len(levels)
            for i, level in enumerate(levels):
                sel = pts[values == level]
                shown = f"{level:g}" if numeric else level
                ax.scatter(sx * sel[x], sy * sel[y], s=120 - 95 * i / max(n - 1, 1), marker=_MARKERS[i % len(_MARKERS)],
                           color=plt.cm.tab10(i % 10), edgecolors="black", linewidths=0.4, alpha=0.9,
                           zorder=2 + i, label=f"{color}={shown} ({len(sel)})")
    else:
        ax.scatter(sx * pts[x], sy * pts[y], s=22, color="0.5", alpha=0.8, label="feasible points")
    # Best x first, each front point's y held until the next one: the edge of the dominated region.
    best = df[on_front].sort_values(x, ascending=senses[x] != "maximize")
    ax.step(sx * best[x], sy * best[y], where="post", color="crimson", lw=1.0, alpha=0.7)
    ax.scatter(sx * best[x], sy * best[y], s=260, facecolors="none", edgecolors="crimson", linewidths=1.6,
               zorder=20, label=f"Pareto front ({len(best)} of {len(pts)})")
    ax.set_xlabel(f"{x_label}, {'higher' if senses[x] == 'maximize' else 'lower'} is better")
    ax.set_ylabel(f"{y_label}, {'higher' if senses[y] == 'maximize' else 'lower'} is better")
    if title:
        ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(path)
    return path

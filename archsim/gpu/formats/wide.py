"""A wide log: one time column, then one power column per GPU (what hand-written NVML samplers write), e.g.
``timestamp,GPU0,GPU1`` with ``1763638585.215,199.975,256.513`` (``date +%s.%3N`` and
``nvmlDeviceGetPowerUsage``/1000).

The time column comes first, named ``timestamp``/``time``/``time_s``/``unix_time``/``epoch``: numbers are
seconds (Unix time if after ``UNIX_FROM_S``, else a clock of the logger's own; ms/us/ns epochs are told by
their size), text is a date (nvidia-smi's or ISO 8601). A GPU column is named ``GPU<k>``/``gpu_<k>``/
``gpu<k>_power``, its unit ``[W]``/``[mW]``/``_w``/``_mw`` in the name, else W. GPU k is column k: the GPUs are
told apart by their columns. Empty or ``N/A`` cells are skipped for that GPU. One segment.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from archsim.errors import UserError
from archsim.gpu.formats.common import (NVSMI_TIME_FORMAT, PowerLog, cells, check_forward, clip, finish,
                                        first_line, parse_power, parse_times, split_unit, table)

NAME = "wide"
ORDER = 45          # before nvidia-smi (its sniff is the most permissive), after CodeCarbon
DESCRIPTION = "wide CSV (timestamp,GPU0,GPU1,...)"
TIME_COLUMNS = ("timestamp", "time", "time_s", "unix_time", "epoch")
GPU_COLUMN = re.compile(r"^gpu[ _.-]?(\d+)(?:[ _.-]?power(?:[ _.]draw)?)?(?:_(w|mw))?$", re.IGNORECASE)
UNIX_FROM_S = 1e9            # 2001-09-09: smaller numbers are a clock of the logger's own, not Unix time
EPOCH_SCALE = ((1e17, 1e-9, "ns"), (1e14, 1e-6, "us"), (1e11, 1e-3, "ms"))  # (from, to s, unit)
MAX_BOARD_W = 3000.0         # no GPU board draws this much: a unitless column above it is not in W


def gpu_columns(head: list[str]) -> list[tuple[int, int, str | None]]:
    """(column, GPU number, unit or None) of every GPU power column of the header."""
    out = []
    for i, c in enumerate(head):
        name, unit = split_unit(c)
        m = GPU_COLUMN.match(name)
        if m:
            suffix = {"w": "W", "mw": "mW"}.get((m.group(2) or "").lower())
            out.append((i, int(m.group(1)), unit or suffix))
    return out


def sniff(path: Path, text: str) -> bool:
    head = cells(first_line(text))
    return split_unit(head[0])[0].lower() in TIME_COLUMNS and bool(gpu_columns(head))


def _times(p: Path, raw: pd.Series, lines: np.ndarray, name: str, notes: list[str]) -> pd.Series:
    """The time column as datetimes: numbers are seconds (or ms/us/ns epochs), text a date."""
    num = pd.to_numeric(raw.str.strip(), errors="coerce")
    if num.isna().all():
        return parse_times(raw, p, lines, name, NVSMI_TIME_FORMAT, notes)
    if num.isna().any():
        i = int(np.argmax(num.isna().to_numpy()))
        raise UserError(str(p), name, f"cannot read time {clip(raw.iloc[i])} at line {lines[i]}")
    scale, unit = next(((k, u) for lim, k, u in EPOCH_SCALE if num.abs().max() >= lim), (1.0, "s"))
    sec = num * scale
    if sec.min() >= UNIX_FROM_S:
        notes.append(f"{name} is Unix time in {unit} (UTC)")
    else:
        notes.append(f"{name} is in {unit} on the logger's own clock (not Unix time: the first is {sec.min():,.3f} s)")
    return pd.to_datetime(sec, unit="s")


def read(p: Path, text: str) -> PowerLog:
    head, df, lines = table(p, text, header=True)
    notes: list[str] = []
    gcols = gpu_columns(head)
    dup = [g for g in {g for _, g, _ in gcols} if sum(g == h for _, h, _ in gcols) > 1]
    if dup:
        raise UserError(str(p), f"GPU{dup[0]}", f"two columns for GPU {dup[0]}: cannot tell which is its power")
    t = _times(p, df[0].astype(str), lines, head[0], notes)
    ts, ws, gs = [], [], []
    for i, g, unit in gcols:
        watts = parse_power(df[i], unit, "W", p, lines, head[i])
        if unit is None and watts.max() > MAX_BOARD_W:
            raise UserError(str(p), head[i], f"{watts.max():.0f} W is no GPU's board power: if the column is in "
                            f"mW, name it {head[i]} [mW]")
        keep = watts.notna()
        if not keep.any():
            raise UserError(str(p), head[i], "no power readings (every cell empty or N/A)")
        if (~keep).any():
            notes.append(f"{int((~keep).sum())} of {len(keep)} {head[i]} cells were empty or N/A and are skipped")
        ts.append(t[keep])
        ws.append(watts[keep])
        gs.append(pd.Series(g, index=t.index)[keep])
    check_forward(t, pd.Series(0, index=t.index), p, lines, head[0])
    units = sorted({u or "W" for _, _, u in gcols})
    notes.append(f"one power column per GPU ({', '.join(head[i] for i, _, _ in gcols)}), in {'/'.join(units)}"
                 + ("" if any(u for _, _, u in gcols) else " (no unit in the header: W assumed)"))
    gpu = pd.concat(gs)
    return finish(p, NAME, pd.concat(ts), pd.concat(ws), gpu, gpu * 0, notes, t0=t.min(),
                  gpus_from=f"one column per GPU ({', '.join(head[i] for i, _, _ in gcols)})")

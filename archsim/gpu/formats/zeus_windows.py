"""``zeus.monitor.ZeusMonitor(log_file=...)``: ``start_time,window_name,elapsed_time,gpu0_energy,...``, one
row per ``end_window``: start (s), duration (s), energy (J) per GPU. Each window becomes one segment at
its average power. ``start_time`` is Unix time in some Zeus versions and a monotonic clock (seconds since
an arbitrary start, e.g. boot) in others (its tests/profile_data logs start at ~526,940 s): a start before
``UNIX_FROM_S`` is taken as such a clock, and the note says the times are relative, not dates. Windows may nest (``step`` windows inside an ``epoch`` window): a window held by
another is marked ``inside`` it, so the whole log counts its energy once, through the outer window.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from archsim.errors import UserError
from archsim.gpu.formats.common import PowerLog, Segment, cells, clip, finish, first_line, nest, table

NAME = "zeus-windows"
ORDER = 30
DESCRIPTION = "Zeus window log"
UNIX_FROM_S = 1e9   # 2001-09-09 as Unix time: an earlier start_time is a monotonic clock, not a date


def sniff(path: Path, text: str) -> bool:
    return [c.lower() for c in cells(first_line(text))][:3] == ["start_time", "window_name", "elapsed_time"]


def read(p: Path, text: str) -> PowerLog:
    head, df, lines = table(p, text, header=True)
    gcols = [(i, int(m.group(1))) for i, c in enumerate(head) if (m := re.fullmatch(r"gpu(\d+)_energy", c))]
    if not gcols:
        raise UserError(str(p), "gpu0_energy", "no power column (no gpuN_energy columns)")
    start = pd.to_numeric(df[0], errors="coerce")
    elapsed = pd.to_numeric(df[2], errors="coerce")
    bad = start.isna() | elapsed.isna() | (elapsed <= 0)
    if bad.any():
        i = int(np.argmax(bad.to_numpy()))
        raise UserError(str(p), "elapsed_time", f"cannot read window at line {lines[i]} (start_time "
                        f"{clip(df[0].iloc[i])}, elapsed_time {clip(df[2].iloc[i])})")
    rows = []
    for r in range(len(df)):
        for ci, g in gcols:
            e = pd.to_numeric(pd.Series([df[ci].iloc[r]]), errors="coerce").iloc[0]
            if pd.isna(e):
                raise UserError(str(p), head[ci], f"cannot read energy {clip(df[ci].iloc[r])} at line {lines[r]}")
            w = float(e) / float(elapsed.iloc[r])
            rows += [(start.iloc[r], w, g, r), (start.iloc[r] + elapsed.iloc[r], w, g, r)]
    tl = pd.DataFrame(rows, columns=["unix", "power_w", "gpu", "segment"])
    t = pd.to_datetime(tl["unix"], unit="s")
    inside = nest({r: (float(start.iloc[r]), float(start.iloc[r] + elapsed.iloc[r])) for r in range(len(df))})
    segments = {r: Segment(r, str(df[1].iloc[r]), "window", inside[r]) for r in range(len(df))}
    clock = ("times UTC (start_time is Unix time)" if float(start.min()) >= UNIX_FROM_S else
             f"start_time is a monotonic clock ({float(start.min()):,.1f} s at the first window: seconds since an "
             "arbitrary start such as boot, not Unix time), so times are relative and the dates meaningless")
    return finish(p, NAME, t, tl["power_w"], tl["gpu"], tl["segment"],
                  [f"Zeus window log: each window at its average power (energy / elapsed time); {clock}"],
                  segments=segments, gpus_from=f"the gpuN_energy columns ({len(gcols)})")

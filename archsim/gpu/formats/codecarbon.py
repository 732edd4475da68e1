"""CodeCarbon's ``emissions.csv`` (``EmissionsTracker``): ``timestamp`` (when the row was written, local time,
1 s resolution), ``run_id``, ``duration`` (s), ``gpu_energy`` (kWh, summed over the tracked GPUs). The rows
``flush()`` writes during one run repeat its ``run_id`` with cumulative ``duration`` and energies: each run
becomes one segment at piecewise-constant power (the increments between its rows), counted once, starting
``duration`` before its last row's timestamp.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from archsim.errors import UserError
from archsim.gpu.formats.common import KWH_TO_J, PowerLog, Segment, cells, check_forward, finish, first_line, parse_times, table

NAME = "codecarbon"
ORDER = 40
DESCRIPTION = "CodeCarbon emissions.csv"


def sniff(path: Path, text: str) -> bool:
    low = [c.lower() for c in cells(first_line(text))]
    return "codecarbon_version" in low or {"duration", "emissions", "timestamp"} <= set(low)


def read(p: Path, text: str) -> PowerLog:
    head, df, lines = table(p, text, header=True)
    cols = {c: i for i, c in enumerate(head)}
    for need in ("timestamp", "duration"):
        if need not in cols:
            raise UserError(str(p), need, f"CodeCarbon log without a {need} column")
    if "gpu_energy" not in cols:
        old = "" if "codecarbon_version" in cols else " (the CodeCarbon 1.x layout)"
        raise UserError(str(p), "gpu_energy", f"no GPU energy: this CodeCarbon log{old} has no gpu_energy column, "
                        "only energy_consumed (CPU, GPU and RAM together)")
    end = parse_times(df[cols["timestamp"]], p, lines, "timestamp", None)
    check_forward(end, pd.Series(0, index=end.index), p, lines, "timestamp")
    dur = pd.to_numeric(df[cols["duration"]], errors="coerce")
    kwh = pd.to_numeric(df[cols["gpu_energy"]], errors="coerce")
    bad = dur.isna() | kwh.isna() | (dur <= 0)
    if bad.any():
        i = int(np.argmax(bad.to_numpy()))
        raise UserError(str(p), "gpu_energy", f"cannot read duration/gpu_energy at line {lines[i]}")
    if float(kwh.abs().sum()) == 0.0:
        raise UserError(str(p), "gpu_energy", "CodeCarbon recorded no GPU energy (gpu_energy is 0 in every "
                        "row: no GPU was tracked)")
    run = df[cols["run_id"]] if "run_id" in cols else pd.Series(range(len(df))).astype(str)
    rows, segments = [], {}
    for seg, (rid, idx) in enumerate(run.groupby(run.to_numpy(), sort=False).groups.items()):
        idx = list(idx)
        d, e = dur[idx].to_numpy(float), kwh[idx].to_numpy(float) * KWH_TO_J
        if (np.diff(d) < 0).any():
            k = int(np.argmax(np.diff(d) < 0)) + 1
            raise UserError(str(p), "duration", f"timestamps go backwards at line {lines[idx[k]]}: run {rid} "
                            f"duration {d[k]} s after {d[k - 1]} s (its rows are cumulative)")
        start = end[idx[-1]] - pd.Timedelta(seconds=float(d[-1]))
        prev_d, prev_e = 0.0, 0.0
        for dk, ek in zip(d, e):
            if dk > prev_d:
                w = (ek - prev_e) / (dk - prev_d)
                rows += [(start + pd.Timedelta(seconds=prev_d), w, seg), (start + pd.Timedelta(seconds=dk), w, seg)]
            prev_d, prev_e = dk, ek
        segments[seg] = Segment(seg, str(rid), "run")
    tl = pd.DataFrame(rows, columns=["t", "power_w", "segment"])
    gcount = df[cols["gpu_count"]].iloc[-1] if "gpu_count" in cols else "?"
    gmodel = df[cols["gpu_model"]].iloc[-1] if "gpu_model" in cols else "?"
    notes = [f"CodeCarbon: gpu_energy sums every tracked GPU (gpu_count {gcount or '?'}, {gmodel or '?'}), "
             f"shown as GPU 0; power is constant between flushes; run start = last timestamp - duration (±1 s)"]
    return finish(p, NAME, tl["t"], tl["power_w"], pd.Series(0, index=tl.index), tl["segment"], notes,
                  segments=segments, gpus_from=f"one figure for all tracked GPUs (gpu_count {gcount or '?'})")

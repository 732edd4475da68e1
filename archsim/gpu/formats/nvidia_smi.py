"""``nvidia-smi --query-gpu=timestamp,[index,]power.draw,... --format=csv[,noheader][,nounits] -lms 100``.

Header ``timestamp, power.draw [W], ...``; cells ``71.23 W``, or ``71.23`` with ``nounits`` (the header
keeps ``[W]``). ``[N/A]`` cells are dropped. Several GPUs by the ``index`` column or, without one, by the
order of the rows that share a timestamp. Without a header the first column is the timestamp and power is
the column whose cells carry ``W`` (else the second column, the order of the query above). Timestamps
``YYYY/MM/DD HH:MM:SS.mmm``, local time. One segment: the whole log; each GPU spans its own samples.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from archsim.errors import UserError
from archsim.gpu.formats.common import (NUMBER_UNIT, NVSMI_TIME, NVSMI_TIME_FORMAT, POWER_FIELDS, UNITS_TO_W,
                                        PowerLog, cells, check_forward, finish, first_line, parse_power,
                                        parse_times, split_unit, table)

NAME = "nvidia-smi"
ORDER = 50          # last: the most permissive sniff
DESCRIPTION = "nvidia-smi CSV"


def sniff(path: Path, text: str) -> bool:
    first = cells(first_line(text))
    names = [split_unit(c)[0].lower() for c in first]
    return ("timestamp" in names and any(n.startswith("power.") for n in names)) or bool(NVSMI_TIME.match(first[0]))


def read(p: Path, text: str) -> PowerLog:
    first = cells(first_line(text))
    has_header = not NVSMI_TIME.match(first[0])
    head, df, lines = table(p, text, has_header)
    notes: list[str] = []
    if has_header:
        names = [split_unit(c)[0].lower() for c in head]
        units = [split_unit(c)[1] for c in head]
        if "timestamp" not in names:
            raise UserError(str(p), "timestamp", f"no timestamp column (columns: {', '.join(head)})")
        ti = names.index("timestamp")
        pi = next((names.index(f) for f in POWER_FIELDS if f in names), None)
        if pi is None:
            raise UserError(str(p), "power.draw", f"no power column (columns: {', '.join(head)}); "
                            f"query power.draw")
        pname, punit = head[pi], units[pi]
        gi = names.index("index") if "index" in names else None
    else:
        ti, gi, punit = 0, None, None
        if df.shape[1] < 2:
            raise UserError(str(p), "power.draw", "no power column (a headerless log with one column)")
        has_watts = [df[i].str.strip().str.extract(NUMBER_UNIT)[1].isin(list(UNITS_TO_W)).any()
                     for i in range(1, df.shape[1])]
        pi = has_watts.index(True) + 1 if any(has_watts) else None
        if pi is None:
            pi = 1
            notes.append("no header and no units: power read from the 2nd column "
                         "(--query-gpu=timestamp,power.draw,...)")
        pname = f"column {pi + 1}"
    t = parse_times(df[ti], p, lines, "timestamp", NVSMI_TIME_FORMAT)
    watts = parse_power(df[pi], punit, "W", p, lines, pname)
    if gi is not None:
        gpu = pd.to_numeric(df[gi].str.strip(), errors="coerce")
        if gpu.isna().any():
            i = int(np.argmax(gpu.isna().to_numpy()))
            raise UserError(str(p), "index", f"cannot read GPU index {df[gi].iloc[i]!r} at line {lines[i]}")
        gpu = gpu.astype(int)
    else:
        gpu = _gpu_from_repeats(t, p)
        if gpu.max() > 0:
            notes.append(f"no index column: {gpu.max() + 1} GPUs told apart by the order of rows sharing a "
                         f"timestamp")
    check_forward(t, gpu, p, lines, "timestamp")
    dropped = int(watts.isna().sum())
    if dropped == len(watts):
        raise UserError(str(p), pname, "no power readings (every power cell is [N/A] or empty)")
    if dropped:
        notes.append(f"{dropped} of {len(watts)} power cells were [N/A] and are skipped")
    keep = watts.notna()
    return finish(p, NAME, t[keep], watts[keep], gpu[keep], pd.Series(0, index=t.index)[keep], notes, t0=t.min())


def _gpu_from_repeats(t: pd.Series, p: Path) -> pd.Series:
    """nvidia-smi without an index column prints one row per GPU per poll, all with the poll's timestamp."""
    runs = (t != t.shift()).cumsum()
    sizes = t.groupby(runs.to_numpy()).size()
    if sizes.max() == 1:
        return pd.Series(0, index=t.index)
    body = sizes.iloc[:-1]  # the last poll may be cut short
    if body.nunique() > 1 or sizes.iloc[-1] > sizes.max():
        raise UserError(str(p), "index", "timestamps repeat irregularly: cannot tell the GPUs apart; "
                        "add index to --query-gpu")
    return t.groupby(runs.to_numpy()).cumcount()

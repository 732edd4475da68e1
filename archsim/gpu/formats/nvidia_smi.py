"""``nvidia-smi --query-gpu=timestamp,[index,]power.draw,... --format=csv[,noheader][,nounits] -lms 100``.

Header ``timestamp, power.draw [W], ...``; cells ``71.23 W``, or ``71.23`` with ``nounits`` (the header
keeps ``[W]``). ``[N/A]`` cells are dropped. Several GPUs by a label column that tells them apart
(``index``; a hand-written header's ``gpu``), or, without one, by their order within each poll
(``gpu_rows``). Without a header the first column is the timestamp and power is the column whose cells
carry ``W`` (else the second column, the order of the query above). Timestamps ``YYYY/MM/DD
HH:MM:SS.mmm``, local time, or ISO 8601 (with a UTC offset: converted to UTC). One segment: the whole log;
each GPU spans its own samples.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from archsim.errors import UserError
from archsim.gpu.formats import gpu_rows
from archsim.gpu.formats.common import (NUMBER_UNIT, NVSMI_TIME, NVSMI_TIME_FORMAT, POWER_FIELDS, UNITS_TO_W,
                                        PowerLog, cells, check_forward, columns, finish, first_line, parse_power,
                                        parse_times, split_unit, table)

NAME = "nvidia-smi"
ORDER = 50          # last: the most permissive sniff
DESCRIPTION = "nvidia-smi CSV"
TAKES_GPU_COUNT = True   # read(..., gpu_count=N): --gpus N, GPUs per poll where no label tells them apart


def sniff(path: Path, text: str) -> bool:
    first = cells(first_line(text))
    names = [split_unit(c)[0].lower() for c in first]
    return ("timestamp" in names and any(n.startswith("power.") for n in names)) or bool(NVSMI_TIME.match(first[0]))


def read(p: Path, text: str, gpu_count: int | None = None) -> PowerLog:
    first = cells(first_line(text))
    has_header = not NVSMI_TIME.match(first[0])
    head, df, lines = table(p, text, has_header)
    notes: list[str] = []
    if has_header:
        names = [split_unit(c)[0].lower() for c in head]
        units = [split_unit(c)[1] for c in head]
        if "timestamp" not in names:
            raise UserError(str(p), "timestamp", f"no timestamp column (columns: {columns(head)})")
        ti = names.index("timestamp")
        pi = next((names.index(f) for f in POWER_FIELDS if f in names), None)
        if pi is None:
            raise UserError(str(p), "power.draw", f"no power column (columns: {columns(head)}); "
                            f"query power.draw")
        pname, punit = head[pi], units[pi]
    else:
        ti, punit, names = 0, None, []
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
    t = parse_times(df[ti], p, lines, "timestamp", NVSMI_TIME_FORMAT, notes)
    watts = parse_power(df[pi], punit, "W", p, lines, pname)
    labelled = gpu_rows.from_labels(p, df, names, t, lines, gpu_count, notes)
    gpu, how = labelled if labelled is not None else gpu_rows.from_poll_order(p, t, lines, gpu_count, notes)
    check_forward(t, gpu, p, lines, "timestamp")
    dropped = int(watts.isna().sum())
    if dropped == len(watts):
        raise UserError(str(p), pname, "no power readings (every power cell is [N/A] or empty)")
    if dropped:
        notes.append(f"{dropped} of {len(watts)} power cells were [N/A] and are skipped")
    keep = watts.notna()
    return finish(p, NAME, t[keep], watts[keep], gpu[keep], pd.Series(0, index=t.index)[keep], notes, t0=t.min(),
                  gpus_from=how)

"""Zeus's power monitor ``zeus_monitor LOGFILE DURATION SLEEP_MS [GPU_IDX]`` (github ml-energy/zeus,
``zeus_monitor/``): header ``Time,Power``; ``Time`` UTC with nanoseconds, ``Power`` in mW (what
``nvmlDeviceGetPowerUsage`` returns). One GPU per file, one segment.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from archsim.errors import UserError
from archsim.gpu.formats.common import PowerLog, cells, check_forward, finish, first_line, parse_power, parse_times, table

NAME = "zeus-monitor"
ORDER = 20
DESCRIPTION = "Zeus monitor CSV"


def sniff(path: Path, text: str) -> bool:
    return [c.lower() for c in cells(first_line(text))][:2] == ["time", "power"]


def read(p: Path, text: str) -> PowerLog:
    head, df, lines = table(p, text, header=True)
    t = parse_times(df[0], p, lines, "Time", None)
    watts = parse_power(df[1], "mW", "mW", p, lines, "Power")
    gpu = pd.Series(0, index=t.index)
    check_forward(t, gpu, p, lines, "Time")
    keep = watts.notna()
    if not keep.any():
        raise UserError(str(p), "Power", "no power readings")
    notes = ["Zeus monitor: Power in mW, Time in UTC; one GPU per file (its GPU_IDX is not in the log)"]
    return finish(p, NAME, t[keep], watts[keep], gpu[keep], gpu[keep], notes, gpus_from="one GPU per file")

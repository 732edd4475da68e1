"""What every GPU-log reader shares: the ``PowerLog`` it returns, its runs/windows (``Segment``), and the
cell parsers (power with units, timestamps, CSV tables). A reader module imports from here only.

Timeline columns (a pandas DataFrame sorted by gpu, segment, time):

    time_s   float  seconds since ``PowerLog.t0`` (the earliest time in the log)
    power_w  float  board power draw, W
    gpu      int    GPU index (0 when the log names none)
    segment  int    a stretch of contiguous samples (a CodeCarbon run, a Zeus measurement window; one
                    segment for a plain sampled log). Energy is never integrated across a gap between two
                    segments: such logs say nothing about the gaps.

Every problem with a file is a ``UserError(path, field, what)``: one line, exit status 2.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from archsim.errors import UserError

# nvidia-smi --format=csv, as gpu_bench writes it too.
NVSMI_TIME_FORMAT = "%Y/%m/%d %H:%M:%S.%f"
NVSMI_HEADER = "timestamp, power.draw [W], utilization.gpu [%], memory.used [MiB]"
POWER_FIELDS = ("power.draw", "power.draw.instant", "power.draw.average")  # preferred first
UNITS_TO_W = {"W": 1.0, "mW": 1e-3, "kW": 1e3}
KWH_TO_J = 3.6e6

NUMBER_UNIT = re.compile(r"^([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-z%]*)$")
NVSMI_TIME = re.compile(r"^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}(\.\d+)?$")
_HEADER_UNIT = re.compile(r"^(.*?)\s*\[(.*)\]$")


@dataclass
class Segment:
    """One run or measurement window of a log. ``kind``: 'log' (a plain sampled log: one segment),
    'run' (CodeCarbon run_id) or 'window' (Zeus ``begin_window``/``end_window``). ``inside``: the id of
    the segment that holds this one (a Zeus ``step`` window inside its ``epoch`` window): its energy is
    already in that one, so the whole log counts it once, through the outer one."""

    id: int
    name: str
    kind: str = "log"
    inside: int | None = None


@dataclass
class PowerLog:
    """A power log read from ``path``: the tidy ``timeline`` (see the module docstring) and what goes with it."""

    path: str
    format: str
    timeline: pd.DataFrame
    t0: pd.Timestamp                      # wall-clock time of time_s == 0, as the log wrote it (naive)
    notes: list[str] = field(default_factory=list)
    bench: dict | None = None             # the gpu_bench JSON, when the log has one
    segments: dict[int, Segment] = field(default_factory=dict)

    def __post_init__(self):
        for sid in sorted(int(s) for s in self.timeline["segment"].unique()) if len(self.timeline) else []:
            self.segments.setdefault(sid, Segment(sid, "" if sid == 0 else str(sid)))

    @property
    def gpus(self) -> list[int]:
        return sorted(int(g) for g in self.timeline["gpu"].unique())

    @property
    def segment_names(self) -> dict[int, str]:
        return {i: s.name for i, s in self.segments.items()}

    def seconds(self, when) -> float:
        """A wall-clock time (string in the log's clock, or Timestamp) as seconds on the timeline."""
        return float((pd.Timestamp(when) - self.t0).total_seconds())


def read_text(p: Path, known: str) -> str:
    """The file as text; a missing, empty, binary file or a directory is a UserError."""
    if not p.exists():
        raise UserError(str(p), "file", "no such file")
    if p.is_dir():
        raise UserError(str(p), "file", "is a directory, expected a power log")
    data = p.read_bytes()
    if not data.strip():
        raise UserError(str(p), "file", "file is empty")
    if b"\x00" in data[:4096]:
        raise UserError(str(p), "format", f"a binary file, not a power log ({known})")
    return data.decode("utf-8", errors="replace").lstrip("\ufeff")


def first_line(text: str) -> str:
    return next(line for line in text.splitlines() if line.strip()).strip()


def cells(line: str) -> list[str]:
    return [c.strip() for c in line.split(",")]


def split_unit(header_cell: str) -> tuple[str, str | None]:
    """``'power.draw [W]'`` -> ``('power.draw', 'W')``; ``'timestamp'`` -> ``('timestamp', None)``."""
    m = _HEADER_UNIT.match(header_cell.strip())
    return (m.group(1).strip(), m.group(2).strip()) if m else (header_cell.strip(), None)


def is_missing(s: pd.Series) -> pd.Series:
    """nvidia-smi writes ``[N/A]``, ``[Not Supported]``, ``[Unknown Error]`` ... for values it has not."""
    s = s.str.strip()
    return (s == "") | (s.str.upper() == "N/A") | (s.str.startswith("[") & s.str.endswith("]"))


def parse_power(s: pd.Series, header_unit: str | None, default_unit: str, p: Path, lines: np.ndarray,
                name: str) -> pd.Series:
    """Cells like ``71.23 W``/``71.23``/``[N/A]`` -> float W (NaN where missing). Unknown unit: UserError."""
    s = s.astype(str).str.strip()
    missing = is_missing(s)
    m = s.str.extract(NUMBER_UNIT)
    bad = ~missing & m[0].isna()
    if bad.any():
        i = int(np.argmax(bad.to_numpy()))
        raise UserError(str(p), name, f"cannot read power {s.iloc[i]!r} at line {lines[i]}")
    cell_unit = m[1].fillna("")
    unit = cell_unit.where(cell_unit != "", header_unit or default_unit)
    unknown = ~missing & ~unit.isin(list(UNITS_TO_W))
    if unknown.any():
        i = int(np.argmax(unknown.to_numpy()))
        raise UserError(str(p), name, f"power in an unknown unit {unit.iloc[i]!r} (line {lines[i]}); "
                        f"expected one of {', '.join(UNITS_TO_W)}")
    if header_unit is not None:
        disagree = ~missing & (cell_unit != "") & (cell_unit != header_unit)
        if disagree.any():
            i = int(np.argmax(disagree.to_numpy()))
            raise UserError(str(p), name, f"unit {cell_unit.iloc[i]!r} at line {lines[i]} disagrees with "
                            f"the header's [{header_unit}]")
    watts = m[0].astype(float) * unit.map(UNITS_TO_W).astype(float)
    return watts.where(~missing)


def parse_times(s: pd.Series, p: Path, lines: np.ndarray, name: str, fmt: str | None) -> pd.Series:
    s = s.astype(str).str.strip()
    t = pd.to_datetime(s, format=fmt, errors="coerce") if fmt else pd.Series(pd.NaT, index=s.index)
    if t.isna().any():
        t = t.fillna(pd.to_datetime(s.where(t.isna()), format="ISO8601", errors="coerce"))
    if t.isna().any():
        i = int(np.argmax(t.isna().to_numpy()))
        raise UserError(str(p), name, f"cannot read timestamp {s.iloc[i]!r} at line {lines[i]}")
    if getattr(t.dt, "tz", None) is not None:
        t = t.dt.tz_convert("UTC").dt.tz_localize(None)
    return t.astype("datetime64[ns]")


def check_forward(times: pd.Series, groups: pd.Series, p: Path, lines: np.ndarray, name: str) -> None:
    """Timestamps must not go backwards within one GPU (in file order)."""
    t, g = times.to_numpy(), groups.to_numpy()
    worst = None
    for gid in np.unique(g):
        idx = np.flatnonzero(g == gid)
        back = np.diff(t[idx]) < np.timedelta64(0)
        if back.any():
            k = int(np.argmax(back)) + 1
            if worst is None or idx[k] < worst[0]:
                worst = (idx[k], idx[k - 1])
    if worst is not None:
        i, j = worst
        raise UserError(str(p), name, f"timestamps go backwards at line {lines[i]} "
                        f"({times.iloc[i]} after {times.iloc[j]} at line {lines[j]})")


def table(p: Path, text: str, header: bool) -> tuple[list[str] | None, pd.DataFrame, np.ndarray]:
    """Non-blank lines -> (header cells, data as strings, source line number of each data row)."""
    numbered = [(i + 1, line) for i, line in enumerate(text.splitlines()) if line.strip()]
    head = cells(numbered[0][1]) if header else None
    body = numbered[1:] if header else numbered
    if not body:
        raise UserError(str(p), "rows", "a header and no samples")
    width = max(len(head) if head else 0, max(len(cells(line)) for _, line in body))
    try:
        df = pd.read_csv(io.StringIO("\n".join(line for _, line in body)), header=None, names=range(width),
                         dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, ValueError) as err:
        raise UserError(str(p), "rows", f"not a CSV table ({str(err).splitlines()[0]})") from None
    return head, df, np.array([n for n, _ in body])


def finish(p: Path, fmt: str, t: pd.Series, watts: pd.Series, gpu: pd.Series, segment: pd.Series,
           notes: list[str], t0: pd.Timestamp | None = None,
           segments: dict[int, Segment] | None = None) -> PowerLog:
    """The PowerLog of parsed columns (times as datetimes), sorted by gpu, segment, time."""
    t0 = t.min() if t0 is None else t0
    tl = pd.DataFrame({"time_s": (t - t0).dt.total_seconds().to_numpy(), "power_w": watts.to_numpy(float),
                       "gpu": gpu.to_numpy(int), "segment": segment.to_numpy(int)})
    tl = tl.sort_values(["gpu", "segment", "time_s"], kind="stable").reset_index(drop=True)
    return PowerLog(str(p), fmt, tl, pd.Timestamp(t0), notes, segments=dict(segments or {}))


def nest(spans: dict[int, tuple[float, float]]) -> dict[int, int | None]:
    """For segments with wall-clock spans {id: (start, end)}: the id of the smallest other segment that
    holds each one, or None (two equal spans: the later holds the earlier)."""
    eps = 1e-6
    inside: dict[int, int | None] = {}
    for i, (s, e) in spans.items():
        holders = [(e2 - s2, j) for j, (s2, e2) in spans.items()
                   if j != i and s2 - eps <= s and e <= e2 + eps and (e2 - s2, j) > (e - s, i)]
        inside[i] = min(holders)[1] if holders else None
    return inside

"""What every GPU-log reader shares: the ``PowerLog`` it returns, its runs/windows (``Segment``), and the
cell parsers (power with units, timestamps, CSV tables). A reader module imports from here only.

Timeline columns (a pandas DataFrame sorted by gpu, segment, time):

    time_s   float  seconds since ``PowerLog.t0`` (the earliest time in the log)
    power_w  float  board power draw, W
    gpu      int    GPU index (0 when the log names none)
    segment  int    a stretch of contiguous samples (a CodeCarbon run, a Zeus measurement window; one
                    segment for a plain sampled log). Energy is never integrated across a gap between two
                    segments: such logs say nothing about the gaps.

Every problem with a file is a ``UserError(path, field, what)``: one line of at most ``MAX_ERROR_CHARS``
characters, exit status 2 (cells quoted in it are cut by ``clip``).
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
UTC_OFFSET = re.compile(r"(Z|[+-]\d{2}:?\d{2})$")   # ISO 8601: 2025-09-08T17:26:50+08:00, ...Z
MAX_ERROR_CHARS = 300   # the longest one-line error a reader raises (a log's cells can be anything)
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
    gpus_from: str = "one GPU"            # how the rows were assigned to GPUs (for reports)

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


def read_text(p: Path, known: str) -> tuple[str, list[str]]:
    """The file as text, and notes on what was dropped from its end. A logger killed mid-write (``kill -9``
    on ``nvidia-smi -lms``) leaves a tail of NUL bytes, or a last line cut short: both are dropped, with a
    note. A missing, empty or binary file (NUL bytes before its end), or a directory, is a UserError."""
    if not p.exists():
        raise UserError(str(p), "file", "no such file")
    if p.is_dir():
        raise UserError(str(p), "file", "is a directory, expected a power log")
    data = p.read_bytes()
    notes = []
    body = data.rstrip(b"\x00 \t\r\n")
    nul_tail = data[len(body):].count(b"\x00")
    if nul_tail:
        notes.append(f"the file ends in {nul_tail} NUL bytes (what a logger stopped mid-write, e.g. by kill -9, "
                     f"leaves): dropped")
    if not body.strip():
        raise UserError(str(p), "file", "file is empty" if not nul_tail else f"only {nul_tail} NUL bytes, no samples")
    if b"\x00" in body:
        before = body[:body.index(b"\x00")]
        line = before.count(b"\n") + 1
        if line == 1 or not _is_text(before):
            raise UserError(str(p), "format", f"a binary file, not a power log ({known})")
        raise UserError(str(p), "file", f"NUL bytes at line {line}, before the end of the log: a damaged file "
                        f"(only NUL bytes at the very end, as a killed logger leaves, are dropped)")
    text = body.decode("utf-8", errors="replace").lstrip("\ufeff")
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not data.rstrip(b"\x00").endswith(b"\n") and len(lines) > 2 \
            and len(cells(lines[-1])) < len(cells(lines[-2])):
        notes.append(f"the last line is cut short ({len(cells(lines[-1]))} of {len(cells(lines[-2]))} cells, "
                     f"no newline at the end): dropped")
        text = text[:text.rindex(lines[-1])]
    return text, notes


def _is_text(data: bytes) -> bool:
    """UTF-8 without control characters other than tab, CR, LF (a log before its NUL bytes is such text)."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return not any(b < 32 and b not in (9, 10, 13) for b in data)


def clip(value, n: int = 40) -> str:
    """A cell quoted for an error message, cut to about ``n`` characters (a cell can be a whole line of junk)."""
    s = str(value)
    return repr(s) if len(s) <= n else repr(s[:n]) + f"... ({len(s)} chars)"


def columns(head: list[str], n: int = 120) -> str:
    """A header's column names for an error message, cut to about ``n`` characters."""
    s = ", ".join(head)
    return s if len(s) <= n else s[:n] + f"... ({len(head)} columns)"


def bounded(err: UserError) -> UserError:
    """``err`` as one line of at most MAX_ERROR_CHARS characters (the last guard; readers clip their cells)."""
    text = str(err)
    if len(text) <= MAX_ERROR_CHARS and "\n" not in text and "\r" not in text:
        return err
    room = MAX_ERROR_CHARS - len(f"{err.source}: {err.field}: ") - 3
    return UserError(err.source, err.field, " ".join(err.message.split())[:max(room, 20)] + "...")


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
        raise UserError(str(p), name, f"cannot read power {clip(s.iloc[i])} at line {lines[i]}")
    cell_unit = m[1].fillna("")
    unit = cell_unit.where(cell_unit != "", header_unit or default_unit)
    unknown = ~missing & ~unit.isin(list(UNITS_TO_W))
    if unknown.any():
        i = int(np.argmax(unknown.to_numpy()))
        raise UserError(str(p), name, f"power in an unknown unit {clip(unit.iloc[i])} (line {lines[i]}); "
                        f"expected one of {', '.join(UNITS_TO_W)}")
    if header_unit is not None:
        disagree = ~missing & (cell_unit != "") & (cell_unit != header_unit)
        if disagree.any():
            i = int(np.argmax(disagree.to_numpy()))
            raise UserError(str(p), name, f"unit {clip(cell_unit.iloc[i])} at line {lines[i]} disagrees with "
                            f"the header's [{header_unit}]")
    watts = m[0].astype(float) * unit.map(UNITS_TO_W).astype(float)
    return watts.where(~missing)


def parse_times(s: pd.Series, p: Path, lines: np.ndarray, name: str, fmt: str | None,
                notes: list[str] | None = None) -> pd.Series:
    """Timestamp cells -> naive datetimes. ``fmt`` first (nvidia-smi's), else ISO 8601. Times with a UTC
    offset (``+08:00``, ``Z``) are converted to UTC (said in ``notes``); a log mixing times with and
    without one is refused (its clock is ambiguous)."""
    s = s.astype(str).str.strip()
    offset = s.str.extract(UTC_OFFSET)[0]
    zoned = offset.notna()
    if zoned.any() and not zoned.all():
        i = int(np.argmax((zoned != zoned.iloc[0]).to_numpy()))
        raise UserError(str(p), name, f"timestamp {clip(s.iloc[i])} at line {lines[i]} "
                        f"{'has' if zoned.iloc[i] else 'has no'} UTC offset, unlike line {lines[0]}: "
                        "one clock per log")
    if zoned.all():
        t = pd.to_datetime(s, format="ISO8601", errors="coerce", utc=True)
    else:
        t = pd.to_datetime(s, format=fmt, errors="coerce") if fmt else pd.Series(pd.NaT, index=s.index)
        if t.isna().any():
            t = t.fillna(pd.to_datetime(s.where(t.isna()), format="ISO8601", errors="coerce"))
    if t.isna().any():
        i = int(np.argmax(t.isna().to_numpy()))
        raise UserError(str(p), name, f"cannot read timestamp {clip(s.iloc[i])} at line {lines[i]}")
    if zoned.all():
        offsets = sorted(set(offset))
        if notes is not None:
            notes.append(f"timestamps carry a UTC offset ({', '.join(offsets[:4])}): converted to UTC")
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
           segments: dict[int, Segment] | None = None, gpus_from: str = "one GPU") -> PowerLog:
    """The PowerLog of parsed columns (times as datetimes), sorted by gpu, segment, time."""
    t0 = t.min() if t0 is None else t0
    tl = pd.DataFrame({"time_s": (t - t0).dt.total_seconds().to_numpy(), "power_w": watts.to_numpy(float),
                       "gpu": gpu.to_numpy(int), "segment": segment.to_numpy(int)})
    tl = tl.sort_values(["gpu", "segment", "time_s"], kind="stable").reset_index(drop=True)
    return PowerLog(str(p), fmt, tl, pd.Timestamp(t0), notes, segments=dict(segments or {}), gpus_from=gpus_from)


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

"""Readers of GPU power logs. Every format becomes one ``PowerLog``: a tidy timeline of power samples.

Timeline columns (a pandas DataFrame sorted by gpu, segment, time):

    time_s   float  seconds since ``PowerLog.t0`` (the earliest time in the log)
    power_w  float  board power draw, W
    gpu      int    GPU index (0 when the log names none)
    segment  int    a stretch of contiguous samples; energy is never integrated across two segments
                    (CodeCarbon runs, Zeus measurement windows: such logs say nothing about the gaps)

Formats, detected from the content, never from the file name:

``nvidia-smi``    ``nvidia-smi --query-gpu=timestamp,[index,]power.draw,... --format=csv[,noheader][,nounits]
                  -lms 100``. Header ``timestamp, power.draw [W], ...``; cells ``71.23 W``, or ``71.23`` with
                  ``nounits`` (the header keeps ``[W]``). ``[N/A]`` cells are dropped. Several GPUs by the
                  ``index`` column or, without one, by the order of the rows that share a timestamp. Without a
                  header the first column is the timestamp and power is the column whose cells carry ``W``
                  (else the second column, the order of the query above). Timestamps
                  ``YYYY/MM/DD HH:MM:SS.mmm``, local time.
``gpu_bench``     that same CSV written by ``python -m snn.gpu_bench``, with its JSON beside it (same stem,
                  ``.json``), or that JSON itself. The JSON gives the run window, idle power, images and FPS.
``zeus-monitor``  Zeus's power monitor ``zeus_monitor LOGFILE DURATION SLEEP_MS [GPU_IDX]`` (github
                  ml-energy/zeus, ``zeus_monitor/``): header ``Time,Power``; ``Time`` UTC with nanoseconds,
                  ``Power`` in mW (what ``nvmlDeviceGetPowerUsage`` returns).
``zeus-windows``  ``zeus.monitor.ZeusMonitor(log_file=...)``: ``start_time,window_name,elapsed_time,gpu0_energy,
                  ...``, one row per measurement window: Unix start (s), duration (s), energy (J) per GPU. Each
                  window becomes one segment at its average power.
``codecarbon``    CodeCarbon's ``emissions.csv`` (``EmissionsTracker``): ``timestamp`` (when the row was written,
                  local time, 1 s resolution), ``run_id``, ``duration`` (s), ``gpu_energy`` (kWh, summed over the
                  tracked GPUs, cumulative over the flushes of one run). Each run becomes one segment at
                  piecewise-constant power, starting ``duration`` before its last row's timestamp.

Every problem with a file is a ``UserError(path, field, what)``: one line, exit status 2.
"""
from __future__ import annotations

import io
import json
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
BENCH_TOOL = "snn.gpu_bench"  # the "tool" key of a gpu_bench JSON
# Every gpu_bench JSON has these keys (snn/gpu_bench.py documents them; null where not measured).
BENCH_KEYS = ("tool", "sample", "note", "command", "created", "checkpoint", "arch", "dataset", "device",
              "gpu_name", "gpu_index", "precision", "images", "batch_size", "exit_policy", "threshold",
              "max_timesteps", "avg_timesteps", "timesteps_needed", "timesteps_computed", "adaptive_exit",
              "accuracy", "wall_s", "fps", "energy_j", "energy_per_image_j", "idle_w", "idle_s", "power_log",
              "sample_hz", "samples", "window", "torch_version")

FORMATS = ("nvidia-smi", "gpu_bench", "zeus-monitor", "zeus-windows", "codecarbon")
KNOWN = "nvidia-smi CSV, gpu_bench CSV/JSON, Zeus monitor CSV, Zeus window log, CodeCarbon emissions.csv"

_NUMBER_UNIT = re.compile(r"^([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-z%]*)$")
_NVSMI_TIME = re.compile(r"^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}(\.\d+)?$")
_HEADER_UNIT = re.compile(r"^(.*?)\s*\[(.*)\]$")


@dataclass
class PowerLog:
    """A power log read from ``path``: the tidy ``timeline`` (see the module docstring) and what goes with it."""

    path: str
    format: str
    timeline: pd.DataFrame
    t0: pd.Timestamp                      # wall-clock time of time_s == 0, as the log wrote it (naive)
    notes: list[str] = field(default_factory=list)
    bench: dict | None = None             # the gpu_bench JSON, when the log has one
    segment_names: dict[int, str] = field(default_factory=dict)

    @property
    def gpus(self) -> list[int]:
        return sorted(int(g) for g in self.timeline["gpu"].unique())

    def seconds(self, when) -> float:
        """A wall-clock time (string in the log's clock, or Timestamp) as seconds on the timeline."""
        return float((pd.Timestamp(when) - self.t0).total_seconds())


# ---- entry point ---------------------------------------------------------------------------------

def read_power_log(path: str | Path) -> PowerLog:
    """Read any supported power log (format detected from the content)."""
    p = Path(path)
    text = _read_text(p)
    fmt = detect_format(p, text)
    if fmt == "json":
        return _read_bench_json(p, text)
    if fmt == "nvidia-smi":
        log = _read_nvidia_smi(p, text)
        bench = _bench_beside(p)
        if bench is not None:
            log.format, log.bench = "gpu_bench", bench
        return log
    return {"zeus-monitor": _read_zeus_monitor, "zeus-windows": _read_zeus_windows,
            "codecarbon": _read_codecarbon}[fmt](p, text)


def _read_text(p: Path) -> str:
    if not p.exists():
        raise UserError(str(p), "file", "no such file")
    if p.is_dir():
        raise UserError(str(p), "file", "is a directory, expected a power log")
    data = p.read_bytes()
    if not data.strip():
        raise UserError(str(p), "file", "file is empty")
    if b"\x00" in data[:4096]:
        raise UserError(str(p), "format", f"a binary file, not a power log ({KNOWN})")
    return data.decode("utf-8", errors="replace").lstrip("\ufeff")


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.split(",")]


def _split_unit(header_cell: str) -> tuple[str, str | None]:
    """``'power.draw [W]'`` -> ``('power.draw', 'W')``; ``'timestamp'`` -> ``('timestamp', None)``."""
    m = _HEADER_UNIT.match(header_cell.strip())
    return (m.group(1).strip(), m.group(2).strip()) if m else (header_cell.strip(), None)


def detect_format(p: Path, text: str) -> str:
    """``'json'`` (a gpu_bench JSON) or one of FORMATS except gpu_bench; a UserError for anything else."""
    first = next(line for line in text.splitlines() if line.strip()).strip()
    if first.startswith(("{", "[")):
        return "json"
    cells = _cells(first)
    low = [c.lower() for c in cells]
    names = [_split_unit(c)[0].lower() for c in cells]
    if low[:2] == ["time", "power"]:
        return "zeus-monitor"
    if low[:3] == ["start_time", "window_name", "elapsed_time"]:
        return "zeus-windows"
    if "codecarbon_version" in low or {"duration", "emissions", "timestamp"} <= set(low):
        return "codecarbon"
    if "timestamp" in names and any(n.startswith("power.") for n in names):
        return "nvidia-smi"
    if _NVSMI_TIME.match(cells[0]):
        return "nvidia-smi"
    if "timestamp" in names or "time" in low:
        raise UserError(str(p), "power", f"no power column (columns: {', '.join(cells)}); "
                        f"expected one of {', '.join(POWER_FIELDS)} (nvidia-smi) or Power (Zeus)")
    raise UserError(str(p), "format", f"not a GPU power log in any known format ({KNOWN})")


# ---- cell parsing --------------------------------------------------------------------------------

def _is_missing(s: pd.Series) -> pd.Series:
    """nvidia-smi writes ``[N/A]``, ``[Not Supported]``, ``[Unknown Error]`` ... for values it has not."""
    s = s.str.strip()
    return (s == "") | (s.str.upper() == "N/A") | (s.str.startswith("[") & s.str.endswith("]"))


def _parse_power(s: pd.Series, header_unit: str | None, default_unit: str, p: Path, lines: np.ndarray,
                 name: str) -> pd.Series:
    """Cells like ``71.23 W``/``71.23``/``[N/A]`` -> float W (NaN where missing). Unknown unit: UserError."""
    s = s.astype(str).str.strip()
    missing = _is_missing(s)
    m = s.str.extract(_NUMBER_UNIT)
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


def _parse_times(s: pd.Series, p: Path, lines: np.ndarray, name: str, fmt: str | None) -> pd.Series:
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


def _check_forward(times: pd.Series, groups: pd.Series, p: Path, lines: np.ndarray, name: str) -> None:
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


def _table(p: Path, text: str, header: bool) -> tuple[list[str] | None, pd.DataFrame, np.ndarray]:
    """Non-blank lines -> (header cells, data as strings, source line number of each data row)."""
    numbered = [(i + 1, line) for i, line in enumerate(text.splitlines()) if line.strip()]
    head = _cells(numbered[0][1]) if header else None
    body = numbered[1:] if header else numbered
    if not body:
        raise UserError(str(p), "rows", "a header and no samples")
    width = max(len(head) if head else 0, max(len(_cells(line)) for _, line in body))
    try:
        df = pd.read_csv(io.StringIO("\n".join(line for _, line in body)), header=None, names=range(width),
                         dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, ValueError) as err:
        raise UserError(str(p), "rows", f"not a CSV table ({str(err).splitlines()[0]})") from None
    return head, df, np.array([n for n, _ in body])


def _finish(p: Path, fmt: str, t: pd.Series, watts: pd.Series, gpu: pd.Series, segment: pd.Series,
            notes: list[str], t0: pd.Timestamp | None = None) -> PowerLog:
    t0 = t.min() if t0 is None else t0
    tl = pd.DataFrame({"time_s": (t - t0).dt.total_seconds().to_numpy(), "power_w": watts.to_numpy(float),
                       "gpu": gpu.to_numpy(int), "segment": segment.to_numpy(int)})
    tl = tl.sort_values(["gpu", "segment", "time_s"], kind="stable").reset_index(drop=True)
    return PowerLog(str(p), fmt, tl, pd.Timestamp(t0), notes)


# ---- nvidia-smi (and the gpu_bench CSV) ----------------------------------------------------------

def _read_nvidia_smi(p: Path, text: str) -> PowerLog:
    first = _cells(next(line for line in text.splitlines() if line.strip()))
    has_header = not _NVSMI_TIME.match(first[0])
    head, df, lines = _table(p, text, has_header)
    notes: list[str] = []
    if has_header:
        names = [_split_unit(c)[0].lower() for c in head]
        units = [_split_unit(c)[1] for c in head]
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
        has_watts = [df[i].str.strip().str.extract(_NUMBER_UNIT)[1].isin(list(UNITS_TO_W)).any()
                     for i in range(1, df.shape[1])]
        pi = has_watts.index(True) + 1 if any(has_watts) else None
        if pi is None:
            pi = 1
            notes.append("no header and no units: power read from the 2nd column "
                         "(--query-gpu=timestamp,power.draw,...)")
        pname = f"column {pi + 1}"
    t = _parse_times(df[ti], p, lines, "timestamp", NVSMI_TIME_FORMAT)
    watts = _parse_power(df[pi], punit, "W", p, lines, pname)
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
    _check_forward(t, gpu, p, lines, "timestamp")
    dropped = int(watts.isna().sum())
    if dropped == len(watts):
        raise UserError(str(p), pname, "no power readings (every power cell is [N/A] or empty)")
    if dropped:
        notes.append(f"{dropped} of {len(watts)} power cells were [N/A] and are skipped")
    keep = watts.notna()
    return _finish(p, "nvidia-smi", t[keep], watts[keep], gpu[keep], pd.Series(0, index=t.index)[keep], notes,
                   t0=t.min())


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


def _bench_beside(csv_path: Path) -> dict | None:
    """The gpu_bench JSON written beside this CSV, if there is one that names it."""
    js = csv_path.with_suffix(".json")
    if not js.is_file():
        return None
    try:
        meta = json.loads(js.read_text())
    except (OSError, ValueError):
        return None
    if isinstance(meta, dict) and meta.get("tool") == BENCH_TOOL and meta.get("power_log") == csv_path.name:
        return meta
    return None


def _read_bench_json(p: Path, text: str) -> PowerLog:
    try:
        meta = json.loads(text)
    except ValueError as err:
        raise UserError(str(p), "json", f"not valid JSON ({err})") from None
    if not isinstance(meta, dict) or meta.get("tool") != BENCH_TOOL:
        raise UserError(str(p), "format", f"a JSON file that is not a gpu_bench result (no \"tool\": "
                        f"\"{BENCH_TOOL}\"); power logs: {KNOWN}")
    if not meta.get("power_log"):
        raise UserError(str(p), "power_log", f"no power figures: gpu_bench ran on {meta.get('device', 'cpu')}")
    csv_path = p.parent / Path(meta["power_log"]).name
    if not csv_path.is_file():
        raise UserError(str(p), "power_log", f"its power log {csv_path} does not exist")
    log = _read_nvidia_smi(csv_path, _read_text(csv_path))
    log.format, log.bench = "gpu_bench", meta
    return log


# ---- Zeus ----------------------------------------------------------------------------------------

def _read_zeus_monitor(p: Path, text: str) -> PowerLog:
    head, df, lines = _table(p, text, header=True)
    t = _parse_times(df[0], p, lines, "Time", None)
    watts = _parse_power(df[1], "mW", "mW", p, lines, "Power")
    gpu = pd.Series(0, index=t.index)
    _check_forward(t, gpu, p, lines, "Time")
    keep = watts.notna()
    if not keep.any():
        raise UserError(str(p), "Power", "no power readings")
    notes = ["Zeus monitor: Power in mW, Time in UTC; one GPU per file (its GPU_IDX is not in the log)"]
    return _finish(p, "zeus-monitor", t[keep], watts[keep], gpu[keep], gpu[keep], notes)


def _read_zeus_windows(p: Path, text: str) -> PowerLog:
    head, df, lines = _table(p, text, header=True)
    gcols = [(i, int(m.group(1))) for i, c in enumerate(head) if (m := re.fullmatch(r"gpu(\d+)_energy", c))]
    if not gcols:
        raise UserError(str(p), "gpu0_energy", "no power column (no gpuN_energy columns)")
    start = pd.to_numeric(df[0], errors="coerce")
    elapsed = pd.to_numeric(df[2], errors="coerce")
    bad = start.isna() | elapsed.isna() | (elapsed <= 0)
    if bad.any():
        i = int(np.argmax(bad.to_numpy()))
        raise UserError(str(p), "elapsed_time", f"cannot read window at line {lines[i]} (start_time "
                        f"{df[0].iloc[i]!r}, elapsed_time {df[2].iloc[i]!r})")
    rows = []
    for r in range(len(df)):
        for ci, g in gcols:
            e = pd.to_numeric(pd.Series([df[ci].iloc[r]]), errors="coerce").iloc[0]
            if pd.isna(e):
                raise UserError(str(p), head[ci], f"cannot read energy {df[ci].iloc[r]!r} at line {lines[r]}")
            w = float(e) / float(elapsed.iloc[r])
            rows += [(start.iloc[r], w, g, r), (start.iloc[r] + elapsed.iloc[r], w, g, r)]
    tl = pd.DataFrame(rows, columns=["unix", "power_w", "gpu", "segment"])
    t = pd.to_datetime(tl["unix"], unit="s")
    log = _finish(p, "zeus-windows", t, tl["power_w"], tl["gpu"], tl["segment"],
                  ["Zeus window log: each window at its average power (energy / elapsed time); times UTC"])
    log.segment_names = {r: str(df[1].iloc[r]) for r in range(len(df))}
    return log


# ---- CodeCarbon ----------------------------------------------------------------------------------

def _read_codecarbon(p: Path, text: str) -> PowerLog:
    head, df, lines = _table(p, text, header=True)
    cols = {c: i for i, c in enumerate(head)}
    for need in ("timestamp", "duration"):
        if need not in cols:
            raise UserError(str(p), need, f"CodeCarbon log without a {need} column")
    if "gpu_energy" not in cols:
        raise UserError(str(p), "gpu_energy", "no power column: this CodeCarbon log has no gpu_energy")
    end = _parse_times(df[cols["timestamp"]], p, lines, "timestamp", None)
    _check_forward(end, pd.Series(0, index=end.index), p, lines, "timestamp")
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
    rows, names = [], {}
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
        names[seg] = str(rid)
    tl = pd.DataFrame(rows, columns=["t", "power_w", "segment"])
    gcount = df[cols["gpu_count"]].iloc[-1] if "gpu_count" in cols else "?"
    gmodel = df[cols["gpu_model"]].iloc[-1] if "gpu_model" in cols else "?"
    notes = [f"CodeCarbon: gpu_energy sums every tracked GPU (gpu_count {gcount or '?'}, {gmodel or '?'}), "
             f"shown as GPU 0; power is constant between flushes; run start = last timestamp - duration (±1 s)"]
    log = _finish(p, "codecarbon", tl["t"], tl["power_w"], pd.Series(0, index=tl.index), tl["segment"], notes)
    log.segment_names = names
    return log

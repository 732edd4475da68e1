"""Readers of GPU power logs, one module per format, found through one registry.

Every format becomes one ``PowerLog`` (``common``): a tidy timeline of power samples (``time_s, power_w,
gpu, segment``) plus the runs/windows it holds (``segments``). The format is detected from the content,
never from the file name: each module of this package that defines

    NAME         the format's name, as reports show it
    ORDER        sniffing order (lower first: the most specific formats first)
    DESCRIPTION  a few words for error messages
    sniff(path, text) -> bool    is this file mine?
    read(path, text) -> PowerLog

is a format (``REGISTRY``, discovered at import). A new format is one new module here; nothing else
changes. ``read_power_log(path)`` asks each in ``ORDER`` and reads with the first that says yes. A format
that tells GPUs apart by row order sets ``TAKES_GPU_COUNT`` and takes ``read(..., gpu_count=N)``
(``--gpus N``); for the others the count they read is checked against N.
"""
from __future__ import annotations

from pathlib import Path
from types import ModuleType

from archsim.errors import UserError
from archsim.registry import discover
from archsim.gpu.formats.common import (KWH_TO_J, NUMBER_UNIT, NVSMI_HEADER, NVSMI_TIME, NVSMI_TIME_FORMAT,  # noqa: F401
                                        POWER_FIELDS, UNITS_TO_W, PowerLog, Segment, bounded, cells, columns,
                                        first_line, read_text, split_unit)


REGISTRY: list[ModuleType] = discover(__name__, __path__, ("NAME", "ORDER", "sniff", "read"))
FORMATS = tuple(m.NAME for m in REGISTRY)
KNOWN = ", ".join(getattr(m, "DESCRIPTION", m.NAME) for m in REGISTRY)

from archsim.gpu.formats.gpu_bench import BENCH_KEYS, BENCH_TOOL  # noqa: E402,F401  (re-exported)
from archsim.gpu.formats.wide import gpu_columns  # noqa: E402


TIME_NAMES = ("timestamp", "time", "time_s", "unix_time", "epoch", "date")
POWER_NAMES = POWER_FIELDS + ("power", "power_w", "power [w]", "watts")


def detect(p: Path, text: str) -> ModuleType:
    """The reader module whose ``sniff`` accepts the file; a UserError for anything else."""
    for mod in REGISTRY:
        if mod.sniff(p, text):
            return mod
    first = cells(first_line(text))
    names = [split_unit(c)[0].lower() for c in first]
    has_time = any(n in TIME_NAMES for n in names)
    if has_time:
        raise UserError(str(p), "power", f"no power column (columns: {columns(first)}); "
                        f"expected one of {', '.join(POWER_FIELDS)} (nvidia-smi) or Power (Zeus)")
    unit = NUMBER_UNIT.match(first[0])
    if any(n in POWER_NAMES or n.startswith("power.") for n in names) or gpu_columns(first) \
            or (unit and unit.group(2) in UNITS_TO_W):
        raise UserError(str(p), "timestamp", f"no time column (columns: {columns(first)}): power readings "
                        "without times cannot be integrated into energy; log the time too "
                        "(nvidia-smi --query-gpu=timestamp,power.draw ...)")
    raise UserError(str(p), "format", f"not a GPU power log in any known format ({KNOWN})")


def read_power_log(path: str | Path, gpu_count: int | None = None) -> PowerLog:
    """Read any supported power log (format detected from the content). ``gpu_count``: how many GPUs a log
    that tells them apart only by row order holds (``--gpus N``); checked against the others."""
    p = Path(path)
    try:
        text, notes = read_text(p, KNOWN)
        mod = detect(p, text)
        if getattr(mod, "TAKES_GPU_COUNT", False):
            log = mod.read(p, text, gpu_count=gpu_count)
        else:
            log = mod.read(p, text)
            if gpu_count is not None and len(log.gpus) != gpu_count:
                raise UserError("command line", "--gpus", f"{p.name} ({log.format}) names its GPUs itself: "
                                f"{len(log.gpus)} ({log.gpus_from}); --gpus {gpu_count} disagrees")
    except UserError as err:
        raise bounded(err) from None
    log.notes = notes + log.notes
    return log

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
changes. ``read_power_log(path)`` asks each in ``ORDER`` and reads with the first that says yes.
"""
from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from types import ModuleType

from archsim.errors import UserError
from archsim.gpu.formats.common import (KWH_TO_J, NVSMI_HEADER, NVSMI_TIME, NVSMI_TIME_FORMAT, POWER_FIELDS,  # noqa: F401
                                        UNITS_TO_W, PowerLog, Segment, cells, first_line, read_text, split_unit)


def _discover() -> list[ModuleType]:
    mods = []
    for info in pkgutil.iter_modules(__path__):
        if info.name == "common":
            continue
        mod = importlib.import_module(f"{__name__}.{info.name}")
        if all(hasattr(mod, a) for a in ("NAME", "ORDER", "sniff", "read")):
            mods.append(mod)
    return sorted(mods, key=lambda m: (m.ORDER, m.NAME))


REGISTRY: list[ModuleType] = _discover()
FORMATS = tuple(m.NAME for m in REGISTRY)
KNOWN = ", ".join(getattr(m, "DESCRIPTION", m.NAME) for m in REGISTRY)

from archsim.gpu.formats.gpu_bench import BENCH_KEYS, BENCH_TOOL  # noqa: E402,F401  (re-exported)


def detect(p: Path, text: str) -> ModuleType:
    """The reader module whose ``sniff`` accepts the file; a UserError for anything else."""
    for mod in REGISTRY:
        if mod.sniff(p, text):
            return mod
    first = cells(first_line(text))
    names = [split_unit(c)[0].lower() for c in first]
    if "timestamp" in names or "time" in [c.lower() for c in first]:
        raise UserError(str(p), "power", f"no power column (columns: {', '.join(first)}); "
                        f"expected one of {', '.join(POWER_FIELDS)} (nvidia-smi) or Power (Zeus)")
    raise UserError(str(p), "format", f"not a GPU power log in any known format ({KNOWN})")


def read_power_log(path: str | Path) -> PowerLog:
    """Read any supported power log (format detected from the content)."""
    p = Path(path)
    text = read_text(p, KNOWN)
    return detect(p, text).read(p, text)

"""Which GPU each row of a long log belongs to (one row per GPU per sample, as nvidia-smi writes them).

Two ways, in order:

- a label column (``index``, or a hand-written header's ``gpu``, ``uuid``, ...) -- trusted only if it tells
  the GPUs apart: one GPU never has two rows at one timestamp. A label that fails (a header whose ``index``
  is 0 on every row while ``gpu`` holds the id) is passed over for the next one that works, with a note;
- else the order within each poll: ``nvidia-smi --query-gpu=timestamp,power.draw,...`` without ``index``
  writes, every poll, one row per GPU in index order, stamped when each GPU is read (a few ms apart,
  sometimes equal), then sleeps the interval (``-lms 100``: 100 ms). So the rows fall into polls of N rows
  where every gap between two polls is at least the sleep, and the gaps inside a poll are mostly ms. The
  smallest N whose every between-poll gap is ``SEPARATION`` times the median in-poll gap is the GPU count
  (a GPU that stalls mid-poll makes one large in-poll gap; the median does not care). No such N: one GPU,
  unless more than ``MAX_REPEATS`` of the rows repeat the stamp before them (then the gaps cannot tell, and
  the log is refused). ``--gpus N`` gives N where the gaps cannot tell (a poll interval as short as the reads).

Not a format (no NAME): the readers of long layouts import it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from archsim.errors import UserError
from archsim.gpu.formats.common import clip

LABEL_FIELDS = ("index", "gpu", "gpu_index", "gpu_id", "device", "uuid", "pci.bus_id", "serial")
MAX_GPUS = 64          # polls of more rows than this are not looked for
SEPARATION = 3.0       # a between-poll gap is at least this many times the median in-poll gap ...
MIN_GAP_S = 0.001      # ... taken as at least 1 ms (nvidia-smi's timestamp resolution)
MAX_REPEATS = 0.05     # one GPU may repeat a stamp now and then (two samples within its resolution); more
                       # often, with no polls found, the rows are several GPUs the gaps cannot tell apart


def from_labels(p: Path, df: pd.DataFrame, names: list[str], t: pd.Series, lines: np.ndarray,
                gpu_count: int | None, notes: list[str]) -> tuple[pd.Series, str] | None:
    """(GPU of each row, how) from the first label column that tells the GPUs apart; None if the log has
    no label column (or none that works and ``gpu_count`` says to go by poll order). Labels that are all
    integers are the GPU numbers; others are numbered in order of first appearance."""
    failed = None
    for name in (f for f in LABEL_FIELDS if f in names):
        raw = df[names.index(name)].astype(str).str.strip()
        num = pd.to_numeric(raw, errors="coerce")
        gpu = num.astype(int) if num.notna().all() and (num == num.round()).all() else \
            pd.Series(pd.factorize(raw)[0], index=raw.index)
        clash = pd.DataFrame({"g": gpu.to_numpy(), "t": t.to_numpy()}).duplicated(keep="first").to_numpy()
        if not clash.any():
            how = f"the {name} column"
            if failed is not None:
                notes.append(f"the {failed[0]} column does not tell the GPUs apart ({failed[1]}): "
                             f"GPUs told apart by the {name} column ({gpu.nunique()} GPUs)")
                how += f" ({failed[0]} does not tell them apart)"
            if gpu_count is not None and gpu.nunique() != gpu_count:
                raise UserError("command line", "--gpus", f"{p.name}: its {name} column names {gpu.nunique()} "
                                f"GPUs; --gpus {gpu_count} disagrees")
            return gpu, how
        if failed is None:
            i = int(np.argmax(clash))
            same = np.flatnonzero((gpu.to_numpy() == gpu.iloc[i]) & (t.to_numpy() == t.to_numpy()[i]))
            failed = (name, f"{len(same)} rows say {name} {clip(raw.iloc[i], 20)} at one timestamp, lines "
                            f"{lines[same[0]]}-{lines[same[-1]]}")
    if failed is None:
        return None
    if gpu_count is not None:
        notes.append(f"the {failed[0]} column does not tell the GPUs apart ({failed[1]}): ignored")
        return None
    raise UserError(str(p), failed[0], f"the GPU labels do not tell the GPUs apart ({failed[1]}) and no other "
                    f"column does; --gpus N tells them apart by their order within each poll")


def _gaps(t: pd.Series) -> np.ndarray:
    """Seconds between consecutive rows (file order)."""
    return np.diff((t - t.iloc[0]).dt.total_seconds().to_numpy())


def poll_size(t: pd.Series) -> int | None:
    """The smallest N > 1 for which the rows fall into polls of N (see the module docstring), or None.
    At least two polls (2N rows) are needed."""
    gaps = _gaps(t)
    if (gaps < 0).any():
        return None         # time runs backwards somewhere: no poll structure (check_forward says where)
    pos = np.arange(len(gaps))
    for n in range(2, min(MAX_GPUS, len(t) // 2) + 1):
        brk = pos % n == n - 1
        between, within = gaps[brk], gaps[~brk]
        if len(between) and between.min() >= SEPARATION * max(float(np.median(within)), MIN_GAP_S):
            return n
    return None


def from_poll_order(p: Path, t: pd.Series, lines: np.ndarray, gpu_count: int | None,
                    notes: list[str]) -> tuple[pd.Series, str]:
    """(GPU of each row, how) for a log without labels: row k of each poll of N rows is GPU k."""
    if gpu_count is not None and gpu_count < 1:
        raise UserError("command line", "--gpus", f"must be >= 1, got {gpu_count}")
    found = poll_size(t)
    gaps = _gaps(t)
    if gpu_count is not None:
        n = int(gpu_count)
        how = f"order within each poll of {n} rows (--gpus {n})"
        if n > 1 or found:
            notes.append(f"{n} GPUs told apart by their order within each poll of {n} rows (--gpus {n})"
                         + (f"; the gaps between rows suggest {found}" if found and found != n else ""))
    elif found:
        n = found
        how = f"order within each poll of {n} rows (from the gaps between rows)"
        brk = np.arange(len(gaps)) % n == n - 1
        notes.append(f"no GPU label: {n} GPUs told apart by their order within each poll (nvidia-smi writes "
                     f"one row per GPU per poll, in index order): every gap between polls >= "
                     f"{1e3 * gaps[brk].min():.0f} ms, median gap within a poll {1e3 * np.median(gaps[~brk]):.0f} ms; "
                     f"--gpus N overrides")
    elif (gaps == 0).sum() > max(1.0, MAX_REPEATS * len(gaps)):
        i = int(np.argmax(gaps == 0)) + 1
        raise UserError(str(p), "timestamp", f"{int((gaps == 0).sum())} rows repeat the stamp before them (first at "
                        f"line {lines[i]}) but form no regular polls: cannot tell the GPUs apart; pass --gpus N "
                        f"(GPUs per poll) or log the index column")
    else:
        if (gaps == 0).any():
            notes.append(f"{int((gaps == 0).sum())} of {len(t)} rows share the timestamp of the row before: read "
                         f"as one GPU (--gpus N if the log holds N GPUs)")
        return pd.Series(0, index=t.index), "one GPU (no label, no polls of several rows)"
    if len(t) % n:
        notes.append(f"the last poll has {len(t) % n} of {n} rows (the log stops mid-poll)")
    return pd.Series(np.arange(len(t)) % n, index=t.index), how

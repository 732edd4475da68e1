"""The results table on disk: one CSV row per finished point, written and flushed as it finishes.

Why CSV and not Parquet: a Parquet file is only readable once its footer is written, so a sweep killed
half-way would leave nothing. A CSV row is one ``write`` followed by ``flush`` + ``fsync``; after a
SIGKILL (or a power cut) every finished point is on disk, and at worst the last line is cut short, which
``open`` drops so that point simply runs again. ``pandas.read_csv`` reads the table back; convert to
Parquet afterwards if you like (``pd.read_csv(p).to_parquet(...)``).

Columns: ``hash, seed, index, workload``, the parameters, ``status, error``, then the metrics in the
order the simulator reports them. Floats are written with ``repr`` so they read back bit-identical.
If a row brings a column the header lacks (the first feasible point after some infeasible ones), the
file is rewritten once with the wider header, atomically (temp file + rename).
"""
from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

RESULTS_NAME = "results.csv"


class ResultsStore:
    """Append-only results table keyed by point hash."""

    def __init__(self, path: str | Path, columns: Iterable[str]):
        self.path = Path(path)
        self.columns = list(columns)
        self._file = None

    # -- opening
    @classmethod
    def open(cls, path: str | Path, columns: Iterable[str]) -> "ResultsStore":
        """Open for appending; an existing table keeps its header, its cut-short last line is dropped."""
        store = cls(path, columns)
        if store.path.exists():
            _drop_partial_last_line(store.path)
        if store.path.exists() and store.path.stat().st_size > 0:
            with open(store.path, newline="") as f:
                header = next(csv.reader(f), None) or []
            store.columns = header + [c for c in store.columns if c not in header]
            if store.columns != header:
                store._rewrite(store.columns)
        else:
            store._write_header()
        store._file = open(store.path, "a", newline="")
        return store

    def done_hashes(self) -> set[str]:
        """Hashes of the points already in the table (what --resume skips)."""
        return done_hashes(self.path)

    # -- writing
    def append(self, row: dict[str, Any]) -> None:
        new = [k for k in row if k not in self.columns]
        if new:
            self._file.close()
            self._rewrite(self.columns + new)
            self._file = open(self.path, "a", newline="")
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow([_cell(row.get(c)) for c in self.columns])
        self._file.write(buf.getvalue())  # one write per row
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- internals
    def _write_header(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "w", newline="") as f:
            csv.writer(f, lineterminator="\n").writerow(self.columns)
            f.flush()
            os.fsync(f.fileno())

    def _rewrite(self, columns: list[str]) -> None:
        with open(self.path, newline="") as f:
            rows = list(csv.DictReader(f))
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        with open(tmp, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=columns, lineterminator="\n", restval="")
            w.writeheader()
            w.writerows(rows)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        self.columns = list(columns)


def read_results(path: str | Path) -> pd.DataFrame:
    """The table as a DataFrame; ``path`` may be the CSV, a Parquet copy, or the sweep's output folder."""
    p = Path(path)
    if p.is_dir():
        p = p / RESULTS_NAME
    if p.suffix == ".parquet":
        return pd.read_parquet(p)
    return pd.read_csv(p, dtype={"hash": str, "error": str}, keep_default_na=True)


def done_hashes(path: str | Path) -> set[str]:
    """Hashes of the complete rows (a line cut short by a kill does not count: that point runs again)."""
    p = Path(path)
    if not p.exists():
        return set()
    with open(p, newline="") as f:
        text = f.read()
    text = text[: text.rfind("\n") + 1]
    return {r["hash"] for r in csv.DictReader(io.StringIO(text, newline="")) if r.get("hash")}


def _cell(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, str):
        return v.replace("\r", " ").replace("\n", " ")
    return v


def _drop_partial_last_line(path: Path) -> None:
    """A process killed inside ``write`` can leave half a row: cut the file back to its last newline."""
    with open(path, "rb+") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        if size == 0:
            return
        f.seek(size - 1)
        if f.read(1) == b"\n":
            return
        # Walk back to the last newline; tables are small enough to read the tail in one go.
        chunk = min(size, 1 << 20)
        f.seek(size - chunk)
        tail = f.read(chunk)
        cut = tail.rfind(b"\n")
        f.truncate(size - chunk + cut + 1 if cut >= 0 else 0)

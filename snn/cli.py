"""Command-line plumbing shared by snn.train / evaluate / export: one-line errors, writable outputs.

argparse's own errors become UserErrors too, so every bad input reads ``error: <where>: <field>: <what>``
on one line with exit status 2 (archsim.errors.run_cli).
"""
from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

import torch

from archsim.errors import UserError


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # noqa: D401 - argparse hook
        raise UserError("command line", self.prog, message)


def command_line(module: str | None = None, argv: list[str] | None = None) -> str:
    """The command as typed, in ``python -m`` form, for the records. ``module``: e.g. 'snn.train'
    (default: guessed from sys.argv[0]); ``argv``: the arguments given to ``main`` (None: this process's
    own command line)."""
    args = sys.argv[1:] if argv is None else list(argv)
    if module is None:
        prog = Path(sys.argv[0])
        module = f"snn.{prog.stem}" if prog.parent.name == "snn" else str(prog)
        if not module.startswith("snn."):
            return " ".join(["python", module] + [shlex.quote(str(a)) for a in args])
    return " ".join(["python", "-m", module] + [shlex.quote(str(a)) for a in args])


def ensure_writable_dir(path: str | os.PathLike, field: str = "out") -> Path:
    """Create ``path`` if needed and prove it is writable, before any long work starts."""
    p = Path(path)
    try:
        p.mkdir(parents=True, exist_ok=True)
        probe = p / f".write-test-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as err:
        raise UserError(str(p), field, f"output directory is not writable ({err.strerror or err})") from None
    return p


def ensure_writable_file(path: str | os.PathLike, field: str = "out") -> Path:
    p = Path(path)
    ensure_writable_dir(p.parent if str(p.parent) else Path("."), field)
    if p.exists() and p.is_dir():
        raise UserError(str(p), field, "is a directory, expected a file name")
    return p


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise UserError("command line", "device", f"unknown device {name!r}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise UserError("command line", "device", "CUDA requested but no GPU is available")
    return dev


def positive(name: str, value, minimum=1):
    if value is None or value < minimum:
        raise UserError("command line", name, f"must be >= {minimum}, got {value}")
    return value


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    p = Path(path)
    tmp = p.with_name(f".{p.name}.tmp{os.getpid()}")
    try:
        tmp.write_text(text)
        os.replace(tmp, p)
    except OSError as err:
        raise UserError(str(p), "out", f"cannot write ({err.strerror or err})") from None


def atomic_save_figure(fig, path: str | os.PathLike, dpi: int = 110) -> None:
    """Save a matplotlib figure as PNG through a temp file (a killed run leaves no half PNG), then close it."""
    import matplotlib.pyplot as plt
    p = Path(path)
    tmp = p.with_name(f".{p.name}.tmp.png")
    fig.savefig(tmp, dpi=dpi)
    plt.close(fig)
    os.replace(tmp, p)


class EmptyDirGuard:
    """``with EmptyDirGuard(path):`` -- if the block fails and ``path`` did not exist before and is still
    empty, remove it again (bad input leaves nothing behind, not even an empty folder)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.existed = self.path.exists()

    def __enter__(self):
        return self.path

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None and not self.existed:
            try:
                if self.path.is_dir() and not any(self.path.iterdir()):
                    self.path.rmdir()
            except OSError:
                pass
        return False

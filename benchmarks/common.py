"""What the benchmark scripts share."""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run(cmd: list[str]) -> str:
    """Run one of the project's commands from the repository root, echoing it; stop the script on failure."""
    print("$", " ".join(cmd), flush=True)
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    if r.returncode != 0:
        sys.exit(f"failed ({r.returncode}): {r.stderr.strip()[-400:]}")
    return r.stdout.strip()


def use_checkout(ap: argparse.ArgumentParser, root: str, needs: tuple[str, ...] = (),
                 on_path: tuple[str, ...] = ()) -> Path:
    """``--root``: the archsim checkout whose code a script times or profiles (e.g. a worktree of the code
    before a change), put first on ``sys.path`` (its ``on_path`` folders before it); a one-line error (exit
    2) when it is not an archsim checkout or lacks one of the files or folders ``needs``."""
    path = Path(root).resolve()
    for part in ("archsim", *needs):
        if not (path / part).exists():
            ap.error(f"--root: {path} is not an archsim checkout (no {part})")
    sys.path[:0] = [str(path / part) for part in on_path] + [str(path)]
    return path

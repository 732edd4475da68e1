"""What the benchmark scripts share."""
from __future__ import annotations

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

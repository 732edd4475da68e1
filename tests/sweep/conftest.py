"""Shared pieces for the sweep tests: a tiny synthetic workload, the project's default hwconfig, and
helpers that write a sweep file and run the real command line (in this process, or as a subprocess).

Everything here runs the real simulator (archsim.simulate) on a real Dask cluster; workloads are small
synthetic ones written to tmp_path so the whole suite stays well under three minutes on two cores.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from archsim.cli import main
from archsim.errors import run_cli
from archsim.synthetic import synthetic_workload
from archsim.workload import save_workload

REPO = Path(__file__).resolve().parents[2]
DEFAULT_HW = REPO / "hwconfigs" / "default.yaml"


@pytest.fixture(scope="session")
def tiny_npz(tmp_path_factory) -> Path:
    """A two-conv network, 40 samples x 4 timesteps: each point simulates in a few milliseconds."""
    return save_workload(tmp_path_factory.mktemp("wl") / "synthetic_tiny.npz",
                         synthetic_workload("tiny", 40, 4, seed=1))


@pytest.fixture(scope="session")
def vgg_npz(tmp_path_factory) -> Path:
    """VGG16-shaped, 32 samples: slow enough (~0.15 s per point in simpy mode) to kill a sweep mid-way."""
    return save_workload(tmp_path_factory.mktemp("wl") / "synthetic_vgg16.npz",
                         synthetic_workload("vgg16", 32, 4, seed=2))


def write_sweep(folder: Path, workload: Path, **body) -> Path:
    """A sweep file on the default hwconfig; ``body`` supplies grid/list/random/fixed/objectives."""
    spec = {"name": body.pop("name", "t"), "base": str(DEFAULT_HW), "workloads": [str(workload)], **body}
    path = folder / "sweep.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def cli(*argv: str) -> int:
    """The command line in this process, errors turned into exit codes as `python -m archsim` does."""
    return run_cli(main, [str(a) for a in argv])


def cli_subprocess(*argv: str, timeout: float = 120, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, "-m", "archsim", *map(str, argv)], capture_output=True, text=True,
                          timeout=timeout, env=env, **kw)

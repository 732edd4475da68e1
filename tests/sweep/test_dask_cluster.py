"""The same sweep through `--scheduler` on a real cluster: a `dask scheduler` and two `dask worker`
processes on 127.0.0.1, started from the venv's `dask` executable and always stopped afterwards.
The rows must be identical to those of an embedded LocalCluster run."""
import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from archsim.sweep.store import read_results
from tests.sweep.conftest import cli, cli_subprocess, write_sweep

DASK = Path(sys.executable).parent / "dask"


def _start(argv, log: Path) -> subprocess.Popen:
    return subprocess.Popen([str(DASK), *argv], stdout=open(log, "w"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def _stop(procs) -> None:
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=15)


@pytest.fixture
def dask_cluster(tmp_path):
    """Scheduler on a free port (port 0; the address is read from its scheduler file) and two workers."""
    info = tmp_path / "scheduler.json"
    procs = [_start(["scheduler", "--host", "127.0.0.1", "--port", "0", "--dashboard-address", "127.0.0.1:0",
                     "--scheduler-file", str(info)], tmp_path / "scheduler.log")]
    try:
        deadline = time.monotonic() + 60
        while not info.exists() or not info.read_text().strip():
            assert procs[0].poll() is None, (tmp_path / "scheduler.log").read_text()
            assert time.monotonic() < deadline, "scheduler did not start within 60 s"
            time.sleep(0.1)
        address = json.loads(info.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        for i in range(2):
            procs.append(_start(["worker", address, "--nworkers", "1", "--nthreads", "1", "--host", "127.0.0.1",
                                 "--no-dashboard", "--name", f"w{i}", "--death-timeout", "60"],
                                tmp_path / f"worker{i}.log"))
        yield address
        from distributed import Client
        with Client(address, timeout="10s") as client:
            client.shutdown()  # scheduler and workers close at once; _stop is the fallback
    finally:
        _stop(procs[::-1])


def test_sweep_on_scheduler_and_two_workers_matches_local_run(tmp_path, tiny_npz, dask_cluster):
    spec = write_sweep(tmp_path, tiny_npz, name="remote", fixed={"mode": "simpy"},
                       grid={"mesh.cols": [2, 4, 8], "exit.threshold": [0.6, 0.8, 0.95]})
    r = cli_subprocess("sweep", spec, "--scheduler", dask_cluster, "--workers", 2, "--out", tmp_path / "remote",
                       "--no-progress", timeout=180)
    assert r.returncode == 0, r.stderr
    assert "ran 9 points on 2 workers" in r.stdout
    assert cli("sweep", spec, "--workers", 2, "--out", tmp_path / "local", "--no-progress") == 0

    remote = read_results(tmp_path / "remote").sort_values("hash").reset_index(drop=True)
    local = read_results(tmp_path / "local").sort_values("hash").reset_index(drop=True)
    assert len(remote) == 9 and remote["hash"].is_unique
    pd.testing.assert_frame_equal(remote, local, check_exact=True)

"""SIGKILL a sweep mid-way, then --resume: no finished point is lost and none runs twice."""
import os
import signal
import subprocess
import sys
import time

from archsim.sweep.spec import load_sweep
from archsim.sweep.store import done_hashes, read_results
from tests.sweep.conftest import cli_subprocess, write_sweep

N = 40


def _rows(path) -> int:
    return len(done_hashes(path)) if path.exists() else 0


def test_sigkill_then_resume_runs_exactly_the_missing_points(tmp_path, vgg_npz):
    spec = write_sweep(tmp_path, vgg_npz, name="killed", fixed={"mode": "simpy"},
                       grid={"clock_mhz": list(range(100, 100 + 10 * N, 10))})
    out, table = tmp_path / "out", tmp_path / "out" / "results.csv"
    proc = subprocess.Popen([sys.executable, "-m", "archsim", "sweep", str(spec), "--workers", "1", "--out", str(out),
                             "--no-progress"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while _rows(table) < 5:
            assert proc.poll() is None, proc.stdout.read().decode()
            assert time.monotonic() < deadline, "no rows within 120 s"
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)  # the sweep process itself, as a crash or an OOM kill would
        proc.wait(timeout=30)
    finally:
        try:  # then its LocalCluster's worker processes (same process group), which nobody will stop
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert proc.returncode == -signal.SIGKILL
    text_before = table.read_text()
    kept = text_before[: text_before.rfind("\n") + 1]  # the complete rows at the moment of the kill
    before = done_hashes(table)
    assert 5 <= len(before) < N, f"killed too late to test anything: {len(before)} of {N} done"

    r = cli_subprocess("sweep", spec, "--workers", 1, "--out", out, "--resume", "--no-progress", timeout=180)
    assert r.returncode == 0, r.stderr
    assert f"{len(before)} already in" in r.stdout and f"ran {N - len(before)} points" in r.stdout

    print(f"SIGKILL after {len(before)} of {N} points were on disk; --resume ran {N - len(before)}")
    after = read_results(table)
    assert len(after) == N and after["hash"].is_unique  # none twice
    assert set(after["hash"]) == {p.hash for p in load_sweep(spec).points}  # none lost
    assert table.read_text().startswith(kept)  # rows written before the kill are untouched
    assert (after["status"] == "ok").all()


def test_ctrl_c_is_one_line_and_resume_finishes(tmp_path, vgg_npz):
    """Ctrl-C in a terminal sends SIGINT to the whole process group: the sweep and its Dask workers."""
    spec = write_sweep(tmp_path, vgg_npz, name="interrupted", fixed={"mode": "simpy"},
                       grid={"clock_mhz": list(range(100, 100 + 10 * N, 10))})
    out, table = tmp_path / "out", tmp_path / "out" / "results.csv"
    proc = subprocess.Popen([sys.executable, "-m", "archsim", "sweep", str(spec), "--workers", "2", "--out", str(out),
                             "--no-progress"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 120
        while _rows(table) < 3:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no rows within 120 s"
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert proc.returncode == 130, (stdout, stderr)
    assert "Traceback" not in stderr and len(stderr.strip().splitlines()) == 1, stderr
    assert stderr.startswith("interrupted: ") and "--resume" in stderr
    done = len(done_hashes(table))
    assert done < N, "finished before the interrupt: nothing tested"
    r = cli_subprocess("sweep", spec, "--workers", 1, "--out", out, "--resume", "--no-progress", timeout=180)
    assert r.returncode == 0, r.stderr
    after = read_results(table)
    assert len(after) == N and after["hash"].is_unique

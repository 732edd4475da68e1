"""archsim.timing: the timing backends in one table, each behind the same ``schedule(...)``."""
from __future__ import annotations

import gc
import importlib
import inspect
import subprocess
import sys
from types import SimpleNamespace

import pytest

from archsim import timing
from archsim.choices import MODES
from archsim.counts import item_counts
from archsim.cycles import core_timing
from archsim.exit_policy import plan_exits
from archsim.mapping import map_network

from .conftest import ROOT, make_hw, make_workload


def _inputs():
    hw = make_hw()
    wl = make_workload([[3, 1], [2, 0], [4, 4]], [[1, 1], [0, 2], [3, 0]], exit_after=[1, 2, 2])
    mapping, plan = map_network(hw, wl), plan_exits(wl, "entropy", 0.5)
    counts = item_counts(hw, mapping, wl, plan)
    return hw, wl, mapping, plan, counts, core_timing(hw, mapping, counts, wl)


def test_every_mode_a_user_can_name_is_a_backend():
    assert set(MODES) <= set(timing.BACKENDS) and "barrier" in timing.BACKENDS


def test_every_backend_has_the_same_schedule():
    params = {name: [(p.name, p.kind, p.default) for p in inspect.signature(
        importlib.import_module(module).schedule).parameters.values()] for name, module in timing.BACKENDS.items()}
    assert [p[0] for p in params["simpy"]] == ["hw", "wl", "mapping", "plan", "counts", "timing", "progress"]
    assert all(p == params["simpy"] for p in params.values())


@pytest.mark.parametrize("mode", MODES)
def test_a_barrier_chip_is_timed_by_the_barrier_backend_whatever_the_mode(mode):
    def hw(timing_mode):
        return SimpleNamespace(timing=SimpleNamespace(mode=timing_mode))
    assert timing.backend_name(hw("pipelined"), mode) == mode
    assert timing.backend_name(hw("barrier"), mode) == "barrier"


def test_the_table_runs_the_backend_it_names():
    """Through the table, SimPy and the analytic mode give their own traces; on three images, all
    replayed, with spike buffers that never fill, they agree item for item (archsim.timing.analytic)."""
    args = _inputs()
    traces = {name: timing.schedule(name, *args) for name in MODES}
    assert traces["simpy"].spikes_sent is not None and traces["analytic"].spikes_sent is None   # tallied by SimPy only
    assert (traces["simpy"].executed == traces["analytic"].executed).all()
    assert traces["simpy"].makespan == traces["analytic"].makespan > 0


@pytest.mark.parametrize("enabled", [True, False])
def test_the_simpy_backend_leaves_the_garbage_collector_as_it_found_it(enabled):
    args = _inputs()
    try:
        gc.enable() if enabled else gc.disable()
        timing.schedule("simpy", *args)
        assert gc.isenabled() == enabled
    finally:
        gc.enable()


@pytest.mark.parametrize("mode, loaded", [("analytic", False), ("simpy", True)])
def test_simpy_is_imported_only_for_a_simpy_run(mode, loaded):
    code = ("import sys\nfrom archsim.simulate import run_simulation\nfrom tests.archsim.conftest import make_hw, make_workload\n"
            "run_simulation(make_hw(), make_workload([[3, 1]], [[1, 1]]), mode=%r)\nprint('simpy' in sys.modules)" % mode)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(loaded)

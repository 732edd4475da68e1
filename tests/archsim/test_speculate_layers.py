"""controller.speculate_layers (bounded speculation, archsim.timing.lookahead): its two ends are the old
modes exactly, what it lets run past an exit is bounded, and bad values are one-line errors."""
from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from archsim.counts import oracle_mask
from archsim.errors import UserError
from archsim.hwconfig import config_from_dict
from archsim.simulate import run_simulation
from archsim.synthetic import tiny_graph
from archsim.timing.lookahead import lookahead

from .conftest import ROOT, TINY_RAW, make_hw, make_workload, set_dotted
from .test_properties import SETTINGS, workloads

# two images in flight on a 2 x 2 mesh without multicast: contention, buffers and exits all play a part
CHIP = {"mesh.rows": 2, "mesh.cols": 2, "router.multicast": False, "pipeline.images_in_flight": 2}
WL = dict(conv1=[[40, 90, 10, 60], [5, 200, 30, 0], [120, 3, 70, 9]],
          conv2=[[10, 30, 2, 40], [60, 1, 20, 5], [7, 90, 0, 33]], exit_after=[1, 3, 2])


def _summary(mode, **over):
    res = run_simulation(make_hw(**{**CHIP, **over}), make_workload(**WL), mode=mode)
    s = {k: v for k, v in res.summary.to_dict().items() if k not in ("controller_mode", "wall_s")}
    return s, res.trace


@pytest.mark.parametrize("mode", ["simpy", "analytic"])
def test_zero_layers_is_wait_and_unbounded_is_speculate(mode):
    """Whole summaries (counts, cycles, energy, early-exit savings against the fixed baseline) equal."""
    wait, tw = _summary(mode, **{"controller.mode": "wait"})
    zero, tz = _summary(mode, **{"controller.mode": "speculate", "controller.speculate_layers": 0})
    spec, ts = _summary(mode, **{"controller.mode": "speculate"})
    unbounded, tu = _summary(mode, **{"controller.mode": "speculate", "controller.speculate_layers": None})
    assert zero == wait and (tz.executed == tw.executed).all() and tz.finish.tolist() == tw.finish.tolist()
    assert unbounded == spec and (tu.executed == ts.executed).all()
    assert spec["speculation"]["wasted_items"] > 0 == wait["speculation"]["wasted_items"]   # the case tells them apart


@SETTINGS
@given(workloads(), st.integers(0, 4), st.integers(1, 3), st.sampled_from(["simpy", "analytic"]))
def test_only_the_first_k_layers_run_and_only_one_timestep_past_the_exit(wl_spec, k, in_flight, mode):
    wl = make_workload(*wl_spec)
    hw = make_hw(**{"controller.mode": "speculate", "controller.speculate_layers": k,
                    "pipeline.images_in_flight": in_flight})
    res = run_simulation(hw, wl, mode=mode, baseline=False)
    oracle = oracle_mask(res.plan, len(res.mapping.order), wl.timesteps)
    extra = res.trace.executed & ~oracle
    assert (res.trace.executed & oracle).sum() == oracle.sum()          # useful work all ran
    n, li, t = np.nonzero(extra)
    assert (li < k).all() and (t == res.plan.exit_t[n]).all()            # 0-based t == the 1-based exit
    assert res.summary["speculation"]["wasted_items"] == len(n) <= k * wl.n_samples


def test_which_layers_wait_for_which_decision():
    """On the tiny chain input -> conv1 -> conv2 -> fc: the first K layers lag 2, the rest 1; a layer waits
    itself only where its input does not imply it (conv1 reads the image; the first lag-1 layer reads a
    lag-2 one). A fixed-T run (not adaptive) waits on nothing; unbounded lags nothing."""
    g, order = tiny_graph(classes=4), ["conv1", "conv2", "fc"]
    assert lookahead(0, g, order, True).lag == [1, 1, 1]
    assert lookahead(0, g, order, True).explicit == [True, False, False]
    one = lookahead(1, g, order, True)
    assert one.lag == [2, 1, 1] and one.explicit == [True, True, False]
    assert [one.t_end(li, 2, 4) for li in range(3)] == [3, 2, 2]
    assert lookahead(5, g, order, True).explicit == [True, False, False]
    assert lookahead(1, g, order, False).explicit == [False, False, False]
    unbounded = lookahead(None, g, order, True)
    assert unbounded.lag == [None] * 3 and not any(unbounded.explicit) and unbounded.t_end(0, 1, 4) == 4


def _load(**over):
    raw = copy.deepcopy(TINY_RAW)
    for path, value in over.items():
        set_dotted(raw, path, value)
    return config_from_dict(raw, "x.yaml", ROOT / "hwconfigs")


@pytest.mark.parametrize("bad", [-1, 1.5, "two", True, [1]])
def test_bad_values_are_one_line_errors(bad):
    with pytest.raises(UserError) as e:
        _load(**{"controller.mode": "speculate", "controller.speculate_layers": bad})
    assert e.value.field == "controller.speculate_layers"
    assert e.value.message.startswith("must be a whole number of layers >= 0") and "\n" not in str(e.value)


def test_wait_mode_takes_no_speculate_layers():
    with pytest.raises(UserError) as e:
        _load(**{"controller.mode": "wait", "controller.speculate_layers": 2})
    assert e.value.field == "controller.speculate_layers" and e.value.message.startswith("needs mode 'speculate'")


def test_unbounded_leaves_the_dump_as_before():
    """Configs that never set it dump (config.yaml, sweep point hashes) exactly as before the field."""
    assert "speculate_layers" not in _load(**{"controller.mode": "speculate"}).model_dump()["controller"]
    assert _load(**{"controller.mode": "speculate", "controller.speculate_layers": 2}).model_dump()[
        "controller"]["speculate_layers"] == 2
    assert _load(**{"controller.mode": "speculate", "controller.speculate_layers": 2}).controller.layers_ahead == 2
    assert _load().controller.layers_ahead == 0


def test_the_benchmarks_rule_picks_the_least_energy_within_the_fps_tolerance():
    """benchmarks/controller_speculation.py's rule on made-up rows: K=2 is 4 % below the best FPS and
    cheapest among those within 5 %; wait is cheaper still but 10 % slower; a tie goes to fewer layers."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("cs", ROOT / "benchmarks" / "controller_speculation.py")
    cs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cs)
    rows = [{"setting": "wait", "fps": 90.0, "mj_per_image": 5.0}, {"setting": "K=2", "fps": 96.0, "mj_per_image": 6.0},
            {"setting": "K=4", "fps": 100.0, "mj_per_image": 6.5}, {"setting": "unbounded", "fps": 99.0, "mj_per_image": 9.0}]
    assert cs.pick(rows, 0.05)[0]["setting"] == "K=2"
    assert cs.pick(rows, 0.02)[0]["setting"] == "K=4"
    assert cs.pick(rows, 0.2)[0]["setting"] == "wait"
    rows[2]["mj_per_image"] = 6.0
    assert cs.pick(rows, 0.05)[0]["setting"] == "K=2"


@pytest.mark.parametrize("over, says", [
    ({"controller.mode": "wait"}, "controller wait,"),
    ({"controller.mode": "speculate"}, "controller speculate (unbounded),"),
    ({"controller.mode": "speculate", "controller.speculate_layers": 1}, "controller speculate (1 layer ahead),"),
    ({"controller.mode": "speculate", "controller.speculate_layers": 5}, "controller speculate (5 layers ahead),"),
])
def test_report_names_the_bound(over, says):
    """The report's second line says how far the wavefront may run ahead: it decides the wasted work."""
    from archsim.report import format_summary
    res = run_simulation(make_hw(**{**CHIP, **over}), make_workload(**WL), mode="analytic", baseline=False)
    assert says in format_summary(res.summary).splitlines()[1]
    assert res.summary.speculation["layers_ahead"] == {"wait": 0, "speculate": over.get("controller.speculate_layers")}[
        over["controller.mode"]]

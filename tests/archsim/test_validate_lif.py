"""SANA-FE's LIF replayed on the network's weights (archsim.validate.lif): the neurons whose potential comes
back to exactly 0 without a spike, counted by hand, through archsim's counts (exact with the replayed
potentials, one update per such neuron-step too many from the spikes alone) and against SANA-FE."""
from __future__ import annotations

import numpy as np
import pytest

from archsim.hwconfig import load_config
from archsim.simulate import run_simulation
from archsim.validate.compare import validate, workload_from_trace
from archsim.validate.lif import exact_layers, lif_steps, replay_network
from archsim.validate.network import LayerSpec, NetworkSpec

from .conftest import ROOT

# input [1, 1, 2] (two spike-train neurons) -> fc, 3 LIF neurons, threshold 3, leak 0.5:
#   fc0 weights (1, -1): both inputs at once cancel to exactly 0;
#   fc1 weights (1, 1): 2, below threshold, halved by the leak each step (2, 1, 0.5, ...);
#   fc2 weights (1/64, 0): 1/64, which the leak and SANA-FE's truncation to 1/64 take to 0 in one step.
WEIGHTS = np.array([[1.0, -1.0], [1.0, 1.0], [1 / 64, 0.0]])
STEPS = 4                               # 3 input steps + 1 for the spikes to reach fc


def _spec() -> NetworkSpec:
    return NetworkSpec("hand_lif", (1, 1, 2), [LayerSpec("fc", "linear", 3)],
                       {"threshold": 3.0, "leak_decay": 0.5}, weights={"fc": WEIGHTS})


def _rasters() -> dict[str, np.ndarray]:
    """Both inputs fire in step 0 (they reach fc in step 1); fc never fires."""
    r_in = np.zeros((1, STEPS, 2), dtype=bool)
    r_in[0, 0] = True
    return {"input": r_in, "fc": np.zeros((1, STEPS, 3), dtype=bool)}


# Updated, by hand, steps 0-3 (an event arrives, or the potential entering the step is non-zero):
#   fc0: step 1 (events; 1 - 1 = 0 exactly), then at 0 and no input: 1 update
#   fc1: step 1 (events, v = 2), 2 (v = 2 -> 1), 3 (v = 1 -> 0.5): 3 updates
#   fc2: step 1 (events, v = 1/64), 2 (v = 1/64 -> trunc(0.5) / 64 = 0), 3 (v = 0, no input): 2 updates
# From the spikes alone every fc neuron is updated from step 1 on (none fires): 3 x 3 = 9.
HAND_FC = [1, 3, 2]


def test_replay_counts_the_potentials_that_come_back_to_zero_by_hand():
    r = replay_network(_spec(), _rasters())
    assert list(r) == ["fc"]                                   # a spike-train input has no potential
    fc = r["fc"]
    np.testing.assert_array_equal(fc.updated[0].sum(axis=0), HAND_FC)
    np.testing.assert_array_equal(fc.nonzero[0, :, 0], [0, 0, 0, 0])
    np.testing.assert_array_equal(fc.nonzero[0, :, 2], [0, 0, 1, 0])
    assert (fc.cancelled, fc.leaked) == (1, 1)                # fc0 in step 1; fc2 in step 2
    assert exact_layers(r, _rasters()) == {"fc": True}
    assert exact_layers(r, {"fc": np.ones((1, STEPS, 3), dtype=bool)}) == {"fc": False}


def test_lif_steps_fires_resets_and_a_bias_updates_every_step():
    """One neuron, threshold 2, no leak: inputs 1.5, 1 (v = 2.5 > 2: fires, reset to 0), nothing, -0.25."""
    current = np.array([[[1.5], [1.0], [0.0], [-0.25]]])
    arrived = current != 0
    r = lif_steps(current, arrived, {"threshold": 2.0}, np.zeros(1))
    np.testing.assert_array_equal(r.fired[0, :, 0], [0, 1, 0, 0])
    np.testing.assert_array_equal(r.updated[0, :, 0], [1, 1, 0, 1])      # idle after the reset
    r = lif_steps(current, arrived, {"threshold": 2.0, "reset": 0.5}, np.zeros(1))
    np.testing.assert_array_equal(r.updated[0, :, 0], [1, 1, 1, 1])      # a reset of 0.5 keeps it updated
    r = lif_steps(np.zeros((1, 3, 1)), np.zeros((1, 3, 1), dtype=bool), {"threshold": 2.0}, np.array([1.0]))
    np.testing.assert_array_equal(r.fired[0, :, 0], [0, 0, 1])          # bias 1: v = 1, 2, 3 > 2
    np.testing.assert_array_equal(r.updated[0, :, 0], [1, 1, 1])


@pytest.mark.parametrize("with_potentials,want_fc", [(True, sum(HAND_FC)), (False, 9)])
def test_archsim_counts_the_updates_exactly_with_the_potentials(with_potentials, want_fc):
    spec, rasters = _spec(), _rasters()
    nonzero = {"fc": replay_network(spec, rasters)["fc"].nonzero} if with_potentials else None
    wl = workload_from_trace(spec, rasters, STEPS, nonzero=nonzero)
    res = run_simulation(load_config(ROOT / "hwconfigs" / "loihi.yaml"), wl, exit_policy="fixed",
                         mode="analytic", baseline=False)
    assert res.summary["counts"]["neuron_updates"] == 2 + want_fc          # input neurons: one per spike


def test_sanafe_updates_the_hand_counted_neurons():
    pytest.importorskip("sanafe")
    inputs = np.zeros((1, STEPS - 1, 2), dtype=bool)
    inputs[0, 0] = True
    res = validate(_spec(), load_config(ROOT / "hwconfigs" / "loihi.yaml"), inputs)
    row = next(r for r in res["rows"] if r["quantity"] == "neurons updated (all samples)")
    assert row["sanafe"] == row["archsim"] == 2 + sum(HAND_FC)
    assert res["potentials_replayed"] == {"fc": True}

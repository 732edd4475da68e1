"""The ``while_nonzero`` neuron update rule (SANA-FE's default LIF): which neurons an edge's spikes reach,
the rule's scan, and its counts through the whole counting path, by hand."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archsim import graph as lg
from archsim.errors import UserError
from archsim.connectivity import synapses_per_core
from archsim.hwconfig import load_config
from archsim.simulate import run_simulation
from archsim.units.neuron_activity import NeuronActivity, reached
from archsim.units.neuron_unit import while_nonzero
from archsim.workload import Workload, pack_neuron_spikes

from .conftest import ROOT


def _adjacency(g, u, v) -> np.ndarray:
    """bool [n_u, n_v]: the synapses of edge u -> v, from archsim.connectivity (one 'core' per target)."""
    n_v = int(g.nodes[v]["neurons"])
    return synapses_per_core(g, u, v, np.arange(n_v), n_v) > 0


@settings(max_examples=40, deadline=None)
@given(c_in=st.integers(1, 4), side=st.integers(2, 9), pool=st.sampled_from([1, 2]), kernel=st.integers(1, 4),
       stride=st.integers(1, 3), padding=st.integers(0, 2), groups=st.sampled_from([1, 2]),
       out_per_group=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_reached_equals_the_synapse_adjacency_of_a_conv(c_in, side, pool, kernel, stride, padding, groups,
                                                        out_per_group, seed):
    side *= pool
    c_in *= groups
    g = lg.new_graph((c_in, side, side), "spikes")
    try:
        lg.add_conv(g, "c", lg.INPUT, out_channels=out_per_group * groups, kernel=kernel, stride=stride,
                    padding=padding, pool=pool, groups=groups)
    except UserError:
        return                                          # geometry with an empty output: nothing to check
    raster = np.random.default_rng(seed).random((2, 3, int(g.nodes[lg.INPUT]["neurons"]))) < 0.1
    want = (raster.astype(np.int64) @ _adjacency(g, lg.INPUT, "c").astype(np.int64)) > 0
    got = reached(g.edges[lg.INPUT, "c"], g.nodes[lg.INPUT]["shape"], g.nodes["c"]["shape"], raster)
    np.testing.assert_array_equal(got, want)


def test_reached_linear_and_identity():
    g = lg.new_graph((2, 2, 2), "spikes")
    lg.add_linear(g, "fc", lg.INPUT, out_features=3, pool=2)
    raster = np.zeros((1, 2, 8), dtype=bool)
    raster[0, 1, 5] = True
    got = reached(g.edges[lg.INPUT, "fc"], [2, 2, 2], [3], raster)
    np.testing.assert_array_equal(got, [[[False] * 3, [True] * 3]])
    np.testing.assert_array_equal(reached({"op": "identity"}, [8], [8], raster), raster)


def test_while_nonzero_by_hand():
    # one neuron, 6 steps: input at 1, fires at 2 (reset), input at 4, never fires again
    received = np.array([[[0], [1], [0], [0], [1], [0]]], dtype=bool)
    fired = np.array([[[0], [0], [1], [0], [0], [0]]], dtype=bool)
    got = while_nonzero(NeuronActivity(received, fired))[0, :, 0]
    np.testing.assert_array_equal(got, [0, 1, 1, 0, 1, 1])


def _workload(timing: str, recorded) -> Workload:
    """input [1, 2, 2] -> fc [2] (while_nonzero), 2 samples x 4 steps; input neuron 0 fires at step 0 and
    neuron 3 at step 2; fc neuron 1 fires at step 0 (sample 0) and step 1 (sample 1)."""
    g = lg.new_graph((1, 2, 2), "spikes")
    lg.add_linear(g, "fc", lg.INPUT, out_features=2, neuron=lg.neuron_record("lif", update="while_nonzero"))
    g.nodes[lg.INPUT]["neuron"] = lg.neuron_record("input", state_words=0)
    r_in = np.zeros((2, 4, 4), dtype=bool)
    r_in[:, 0, 0] = r_in[:, 2, 3] = True
    r_fc = np.zeros((2, 4, 2), dtype=bool)
    r_fc[0, 0, 1] = r_fc[1, 1, 1] = True
    spikes = np.stack([r_in.sum(-1), r_fc.sum(-1)], axis=1).astype(np.int32)
    meta = {"kind": "direct", "timesteps": 4, "spike_timing": timing, "exit_policy": "fixed"}
    keep = np.asarray(recorded, dtype=np.int32)
    return Workload(g, spikes, np.zeros(2, np.int32), np.zeros((2, 4), np.int32), {}, np.full(2, 4, np.int32),
                    meta, neuron_spikes={"input": pack_neuron_spikes(r_in[keep]), "fc": pack_neuron_spikes(r_fc[keep])},
                    neuron_samples=keep)


@pytest.mark.parametrize("timing,want", [
    # algorithmic steps: fc hears the input at steps 0 and 2.
    #   sample 0: n0 updated 0,1,2,3 (4); n1 fires at 0, idle at 1, updated 2,3 (3)        -> 7
    #   sample 1: n0 4; n1 updated 0, fires at 1, updated 2,3 (4)                          -> 8
    ("algorithmic", 2 + 7 + 2 + 8),
    # hardware steps (a SANA-FE trace): fc hears them one step later, at 1 and 3.
    #   sample 0: n0 updated 1,2,3 (3); n1 fires at 0 unheard (not updated), 1,2,3 (3)     -> 6
    #   sample 1: n0 3; n1 updated 1 (fires), 3 (2)                                         -> 5
    ("hardware", 2 + 6 + 2 + 5),
])
def test_while_nonzero_counts_by_hand(timing, want):
    hw = load_config(ROOT / "hwconfigs" / "loihi.yaml")
    res = run_simulation(hw, _workload(timing, [0, 1]), exit_policy="fixed", mode="analytic", baseline=False)
    assert res.summary["counts"]["neuron_updates"] == want       # input neurons: one update per spike


def test_samples_without_records_get_the_on_event_estimate():
    hw = load_config(ROOT / "hwconfigs" / "loihi.yaml")
    res = run_simulation(hw, _workload("algorithmic", [0]), exit_policy="fixed", mode="analytic", baseline=False)
    # sample 1 unrecorded: each step with an input spike sends 2 events into 2 neurons:
    # round(2 x (1 - e^-1)) = 1 update at steps 0 and 2
    assert res.summary["counts"]["neuron_updates"] == 2 + 7 + 2 + 2

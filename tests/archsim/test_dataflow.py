"""Dataflows and pooling conventions (hwconfig ``dataflow``), by hand on the tiny graph of conftest.py.

conv1 [4, 8, 8] -(pool 2, 3x3 conv pad 1)-> conv2 [8, 4, 4] -(pool 4, linear)-> fc [4]. conv1 -> conv2:
on the pooled 4x4 grid a 3-tap kernel with padding 1 lands 10 taps inside per axis, so 4 x 8 x 10 x 10 =
3,200 cell-to-neuron synapses, 12,800 neuron-to-neuron (each of a cell's 4 neurons reaches them), fan-out
50 per spike (= per cell), fan-in 100 per conv2 neuron. Items that run (hand_workload): conv1 spikes 10;
0, 7, 3; 15, 0 (6 items), conv2 spikes 3; 1, 0, 2; 6, 6.
"""
from __future__ import annotations

import numpy as np
import pytest

from archsim.simulate import run_simulation

from .conftest import make_hw

CONV1 = [10, 0, 7, 3, 15, 0]
CONV2 = [3, 1, 0, 2, 6, 6]


def _layer(res, name):
    return res.per_layer.set_index("layer").loc[name]


def test_scatter_reads_and_writes_a_potential_word_per_four_accumulates(hand_workload):
    res = run_simulation(make_hw(), hand_workload, baseline=False)
    conv2 = _layer(res, "conv2")
    assert conv2["accumulates"] == 50 * sum(CONV1)
    assert conv2["potential_rmw"] == sum(-(-50 * s * 16 // 64) for s in CONV1)       # 16-bit in 64-bit words
    assert conv2["potential_reads"] == 32 * 6 + conv2["potential_rmw"]                # + the per-step sweep


def test_gather_reads_only_fired_weights_and_scans_every_receptive_field(hand_workload):
    res = run_simulation(make_hw(**{"dataflow": {"layers": {"conv2": "gather"}}}), hand_workload, baseline=False)
    conv2 = _layer(res, "conv2")
    assert conv2["accumulates"] == 50 * sum(CONV1)                                  # the same synaptic events
    assert conv2["potential_rmw"] == 0 and conv2["potential_reads"] == 32 * 6        # the sweep only
    assert conv2["weight_reads"] == sum(-(-50 * s * 8 // 64) for s in CONV1)         # packed 8-bit weights
    assert conv2["spike_buffer_reads"] == 6 * 128 * 2      # 128 neurons x ceil(100 fan-in bits / 64), every item
    # the other layers keep the scatter dataflow
    assert _layer(res, "fc")["potential_rmw"] > 0


def test_per_cell_pooling_sends_one_event_per_pooled_cell(hand_workload):
    spike = run_simulation(make_hw(), hand_workload, baseline=False)
    cell = run_simulation(make_hw(**{"dataflow": {"pooling": "per_cell"}}), hand_workload, baseline=False)

    def cells(s, n, k):   # expected fired cells when s of n neurons fire at random, k neurons per cell
        return int(np.floor(n / k * (1 - (1 - s / n) ** k) + 0.5))
    assert _layer(cell, "conv2")["accumulates"] == 50 * sum(cells(s, 256, 4) for s in CONV1)
    assert _layer(cell, "fc")["accumulates"] == 4 * sum(cells(s, 128, 16) for s in CONV2)
    assert _layer(cell, "conv1")["spikes_out"] == _layer(spike, "conv1")["spikes_out"]   # neurons fire the same
    assert cell.summary.counts["accumulates"] < spike.summary.counts["accumulates"]


@pytest.mark.parametrize("flow", ["scatter", "gather"])
def test_both_dataflows_run_in_both_modes(hand_workload, flow):
    hw = make_hw(**{"dataflow": {"default": flow}})
    sim = run_simulation(hw, hand_workload, mode="simpy", baseline=False)
    ana = run_simulation(hw, hand_workload, mode="analytic", baseline=False)
    assert sim.summary.counts_useful == ana.summary.counts_useful
    assert sim.summary.fps > 0 and ana.summary.fps > 0

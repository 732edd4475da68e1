"""The trainer's side of early exit on outputs whose prediction changes over time (issue 21): accuracy at
each sample's exit, average timesteps and relative complexity, by hand."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from archsim import graph as ag
from snn import exit_policy as xp
from snn.inference import relative_complexity, synaptic_ops


def test_predictions_scores_and_exits_of_a_changing_output_by_hand():
    # T = 3, two samples, K = 2. Sample 0: outputs (0, 1), (3, 0), (3, 0) -> accumulated means (0, 1),
    # (1.5, 0.5), (2, 1/3): predicts 1, then 0, 0. Sample 1: (2, 0), (-3, 0), (-3, 0) -> means (2, 0),
    # (-0.5, 0), (-4/3, 0): predicts 0, then 1, 1.
    out = torch.tensor([[[0.0, 1.0], [2.0, 0.0]], [[3.0, 0.0], [-3.0, 0.0]], [[3.0, 0.0], [-3.0, 0.0]]])
    preds = xp.predictions(out).numpy()
    assert preds.tolist() == [[1, 0, 0], [0, 1, 1]]
    conf = xp.scores(out)["confidence"].numpy()
    sig = lambda d: 1 / (1 + np.exp(-d))   # noqa: E731 - max softmax of two logits d apart
    assert conf[0] == pytest.approx([sig(1.0), sig(1.0), sig(5 / 3)], rel=1e-5)
    assert conf[1] == pytest.approx([sig(2.0), sig(0.5), sig(4 / 3)], rel=1e-5)
    labels = np.array([0, 0])
    # confidence >= 0.75: sample 0 exits at t = 3 (0.731, 0.731, 0.841), sample 1 at t = 1 (0.881)
    exits = xp.apply_policy({"confidence": conf}, "confidence", 0.75, 3)
    assert exits.tolist() == [3, 1]
    acc, avg = xp.adaptive_accuracy(preds, labels, exits)
    assert (acc, avg) == (1.0, 2.0)                      # answers 0 and 0; the last timestep's: 0 and 1
    assert xp.adaptive_accuracy(preds, labels, xp.fixed_exit(2, 3)) == (0.5, 3.0)
    assert xp.adaptive_accuracy(preds, labels, xp.fixed_exit(2, 1)) == (0.5, 1.0)


def test_relative_complexity_by_hand():
    ops = np.array([[10.0, 20.0, 30.0], [5.0, 5.0, 5.0], [1.0, 0.0, 3.0]])
    # used up to the exits 2, 1, 3: 30 + 5 + 4 = 39 of 60 + 15 + 4 = 79
    assert relative_complexity(ops, np.array([2, 1, 3])) == pytest.approx(39 / 79)
    assert relative_complexity(ops, np.array([3, 3, 3])) == pytest.approx(1.0)
    assert relative_complexity(ops, np.array([1, 1, 1])) == pytest.approx(16 / 79)


def test_synaptic_ops_by_hand():
    """input [3, 8, 8] (dense) -> conv1 4 -> (pool 2) conv2 8 -> (pool 4) fc 4: the dense edge counts its
    5808 synapses every timestep; a spiking edge its fan-out (50 and 4) per spike."""
    from archsim.synthetic import tiny_graph
    g = tiny_graph(classes=4)
    spikes = np.zeros((2, 4, 2), dtype=np.int64)
    spikes[0, ag.layer_names(g).index("conv1")] = [10, 0]
    spikes[0, ag.layer_names(g).index("conv2")] = [3, 1]
    spikes[1, ag.layer_names(g).index("conv1")] = [2, 4]
    ops = synaptic_ops(g, spikes)
    assert ops.tolist() == [[5808 + 500 + 12, 5808 + 0 + 4], [5808 + 100, 5808 + 200]]

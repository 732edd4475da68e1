"""Accuracy and work under a re-applied exit policy, on a workload whose predictions CHANGE over time
(issue 21): the answer a sample gives is the prediction it holds at its exit timestep, not at the last one.

Four samples of the tiny graph (conftest.py), T = 3, labels 0, 1, 2, 3:

    sample  predictions t1 t2 t3   entropy score t1 t2 t3   confidence t1 t2 t3
      0          1  0  0               0.30 0.60 0.90           0.40 0.45 0.95
      1          1  1  0               0.70 0.80 0.95           0.90 0.92 0.99
      2          0  2  2               0.20 0.40 0.60           0.50 0.70 0.80
      3          3  3  3               0.55 0.90 0.99           0.20 0.30 0.40

Spikes (conv1 / conv2 per timestep): sample n emits conv1 10 (n + 1) and conv2 n + 1 at every timestep.
"""
from __future__ import annotations

import numpy as np
import pytest

from archsim.exit_policy import accuracy, plan_exits
from archsim.simulate import run_simulation
from archsim.synthetic import tiny_graph
from archsim.workload import Workload

from .conftest import make_hw

PRED = [[1, 0, 0], [1, 1, 0], [0, 2, 2], [3, 3, 3]]
ENTROPY = [[0.30, 0.60, 0.90], [0.70, 0.80, 0.95], [0.20, 0.40, 0.60], [0.55, 0.90, 0.99]]
CONFIDENCE = [[0.40, 0.45, 0.95], [0.90, 0.92, 0.99], [0.50, 0.70, 0.80], [0.20, 0.30, 0.40]]


def changing_workload() -> Workload:
    g = tiny_graph(classes=4)
    n, t = 4, 3
    spikes = np.zeros((n, 4, t), dtype=np.int32)
    spikes[:, 1] = (10 * (np.arange(n) + 1))[:, None]
    spikes[:, 2] = (np.arange(n) + 1)[:, None]
    return Workload(g, spikes, np.arange(n, dtype=np.int32), np.array(PRED, dtype=np.int32),
                    {"entropy": np.array(ENTROPY, np.float32), "confidence": np.array(CONFIDENCE, np.float32)},
                    np.full(n, t, np.int32), {"kind": "direct", "timesteps": t, "arch": "tiny"})


@pytest.mark.parametrize("policy, threshold, timesteps, exits, acc", [
    # entropy >= 0.5: exits 2, 1, 3, 1 -> answers 0, 1, 2, 3: all right (the last timestep's would miss sample 1)
    ("entropy", 0.5, None, [2, 1, 3, 1], 1.0),
    # entropy >= 0.85: exits 3, 3, 3 (never reached), 2 -> answers 0, 0, 2, 3: sample 1 wrong
    ("entropy", 0.85, None, [3, 3, 3, 2], 0.75),
    # entropy >= 0.25: exits 1, 1, 2, 1 -> answers 1, 1, 2, 3: sample 0 wrong
    ("entropy", 0.25, None, [1, 1, 2, 1], 0.75),
    # confidence >= 0.9: exits 3, 1, 3, 3 -> answers 0, 1, 2, 3
    ("confidence", 0.9, None, [3, 1, 3, 3], 1.0),
    # confidence >= 0.5: exits 3, 1, 1, 3 -> answers 0, 1, 0, 3: sample 2 wrong
    ("confidence", 0.5, None, [3, 1, 1, 3], 0.75),
    # fixed T = 3: the last predictions 0, 0, 2, 3
    ("fixed", None, None, [3, 3, 3, 3], 0.75),
    # fixed T = 1: the first predictions 1, 1, 0, 3
    ("fixed", None, 1, [1, 1, 1, 1], 0.5),
])
def test_accuracy_is_read_at_each_samples_exit(policy, threshold, timesteps, exits, acc):
    wl = changing_workload()
    plan = plan_exits(wl, policy, threshold, timesteps)
    assert plan.exit_t.tolist() == exits
    assert accuracy(wl, plan) == acc
    assert plan.avg_timesteps == pytest.approx(sum(exits) / 4)
    res = run_simulation(make_hw(**{"controller.mode": "wait"}), wl, exit_policy=policy, threshold=threshold,
                         timesteps=timesteps, mode="analytic", baseline=False)
    assert res.summary.accuracy == acc
    assert res.summary.avg_timesteps == pytest.approx(sum(exits) / 4)
    ps = res.per_sample
    assert ps["exit_timestep"].tolist() == exits
    assert ps["prediction"].tolist() == [PRED[n][e - 1] for n, e in enumerate(exits)]
    assert ps["correct"].tolist() == [PRED[n][e - 1] == n for n, e in enumerate(exits)]


def test_decisions_follow_the_reapplied_policy():
    """One decision after each executed timestep but the last possible one (T = 3): entropy >= 0.5 exits
    2, 1, 3, 1 -> 2 + 1 + 2 + 1 = 6 decisions; fixed: none."""
    wl = changing_workload()
    assert plan_exits(wl, "entropy", 0.5).decisions().tolist() == [2, 1, 2, 1]
    s = run_simulation(make_hw(**{"controller.mode": "wait"}), wl, exit_policy="entropy", threshold=0.5,
                       mode="analytic").summary
    assert s.counts["decisions"] == 6
    assert run_simulation(make_hw(), wl, exit_policy="fixed", mode="analytic", baseline=False).summary \
        .counts["decisions"] == 0


def test_useful_work_and_its_saving_by_hand():
    """entropy >= 0.5 (exits 2, 1, 3, 1), wait mode: synaptic ops per sample = conv1's 5808 MACs once
    (first layer reuse) + 50 per conv1 spike + 4 per conv2 spike, over the timesteps it runs:
    sample 0: 5808 + 2 x (50 x 10 + 4 x 1) = 6816; 1: 5808 + 1 x (1000 + 8) = 6816; 2: 5808 + 3 x (1500 + 12)
    = 10344; 3: 5808 + 1 x (2000 + 16) = 7824; total 31,800. Fixed T = 3: 4 x 5808 + 3 x (5000 + 40) =
    38,352. Saved: 1 - 31,800 / 38,352 = 17.08 %."""
    wl = changing_workload()
    s = run_simulation(make_hw(**{"controller.mode": "wait"}), wl, exit_policy="entropy", threshold=0.5,
                       mode="analytic").summary
    assert s.synaptic_ops_per_image == pytest.approx(31_800 / 4)
    assert s.synaptic_ops_per_image_useful == pytest.approx(31_800 / 4)
    assert s.early_exit_savings["synaptic_ops_saved_pct"] == pytest.approx(round(100 * (1 - 31_800 / 38_352), 3))
    res = run_simulation(make_hw(**{"controller.mode": "wait"}), wl, exit_policy="entropy", threshold=0.5,
                         mode="simpy", baseline=False)
    assert res.per_sample["synaptic_ops"].tolist() == [6816, 6816, 10344, 7824]

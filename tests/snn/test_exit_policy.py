import math

import numpy as np
import pytest
import torch

from snn import exit_policy as xp


def test_scores_by_hand():
    # T=2, N=1, K=2: after t=1 accumulated mean (0, 0) -> uniform; after t=2 mean (log 3, 0) -> p = (3/4, 1/4)
    out = torch.tensor([[[0.0, 0.0]], [[2 * math.log(3), 0.0]]])
    s = xp.scores(out)
    assert s["entropy"].shape == (1, 2)
    assert s["entropy"][0, 0].item() == pytest.approx(0.0, abs=1e-6)
    h = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25)) / math.log(2)
    assert s["entropy"][0, 1].item() == pytest.approx(1 - h, rel=1e-5)
    assert s["confidence"][0].tolist() == pytest.approx([0.5, 0.75], rel=1e-5)
    assert xp.predictions(out).tolist() == [[0, 0]]


def test_exit_rule():
    s = np.array([[0.1, 0.5, 0.95, 0.99], [0.9, 0.2, 0.1, 0.0], [0.1, 0.1, 0.1, 0.1], [0.3, 0.8, 0.8, 0.8]])
    assert xp.exit_timestep(s, 0.8).tolist() == [3, 1, 4, 2]
    assert xp.exit_timestep(s, 0.9).tolist() == [3, 1, 4, 4]   # score >= threshold exits
    assert xp.exit_timestep(s, 0.0).tolist() == [1, 1, 1, 1]
    assert xp.exit_timestep(s, 1.01).tolist() == [4, 4, 4, 4]
    assert xp.fixed_exit(3, 4).tolist() == [4, 4, 4]


def test_adaptive_accuracy_and_calibration():
    preds = np.array([[0, 1, 1, 1], [2, 2, 2, 2], [0, 0, 3, 3]])
    labels = np.array([1, 2, 3])
    acc, avg = xp.adaptive_accuracy(preds, labels, np.array([2, 1, 3]))
    assert acc == 1.0 and avg == pytest.approx(2.0)
    acc, _ = xp.adaptive_accuracy(preds, labels, np.array([1, 1, 1]))
    assert acc == pytest.approx(1 / 3)
    score = np.array([[0.1, 0.9, 0.9, 0.9], [0.95, 1, 1, 1], [0.1, 0.2, 0.85, 0.9]])
    th = xp.calibrate_threshold(score, preds, labels, 0.0)
    assert xp.adaptive_accuracy(preds, labels, xp.exit_timestep(score, th))[0] == 1.0
    assert xp.exit_timestep(score, th).mean() == pytest.approx(2.0)


def test_the_trainer_and_the_simulator_share_one_home_for_policy_names_and_defaults():
    import ast
    from pathlib import Path

    import archsim.exit_policy as axp
    from archsim.choices import POLICIES
    assert xp.POLICIES is axp.POLICIES is POLICIES
    assert xp.THRESHOLD_BY_POLICY is axp.THRESHOLD_BY_POLICY
    assert set(xp.THRESHOLD_BY_POLICY) == set(POLICIES) - {"fixed"}
    # no module of snn/ or archsim/ but archsim/choices.py assigns a policy list or a default threshold
    root = Path(__file__).resolve().parents[2]
    names = {"POLICIES", "DEFAULT_THRESHOLD", "DEFAULT_POLICY", "THRESHOLD_BY_POLICY"}
    where = []
    for path in sorted([*(root / "snn").rglob("*.py"), *(root / "archsim").rglob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id in names for t in node.targets):
                where.append(str(path.relative_to(root)))
    assert sorted(set(where)) == ["archsim/choices.py"]

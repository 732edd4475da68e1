"""The losses at batch size > 1 with mixed labels, against a plain-Python cross entropy per (timestep,
sample) (issue 21): a loss that pairs an output with another sample's label, or averages over the wrong
axis, fails here (at batch size 1 every pairing is the right one)."""
from __future__ import annotations

import math

import pytest
import torch

from snn.losses import accumulated_mean, atsnn_loss, make_loss, mean_loss, tet_loss, weights

# T = 3 timesteps, B = 3 samples, K = 3 classes; labels 2, 0, 1
OUT = [[[2.0, 0.0, -1.0], [0.5, 1.5, 0.0], [0.0, 0.0, 3.0]],
       [[-1.0, 1.0, 2.0], [3.0, -2.0, 0.5], [1.0, 2.0, 0.0]],
       [[0.0, 4.0, 1.0], [0.0, 0.0, 0.0], [-2.0, 1.0, 1.0]]]
Y = [2, 0, 1]


def ce(logits, label):
    return -math.log(math.exp(logits[label]) / sum(math.exp(v) for v in logits))


def mean_over(ts, b):
    return [sum(OUT[t][b][k] for t in ts) / len(ts) for k in range(3)]


def test_tet_pairs_each_output_with_its_own_label():
    want = sum(ce(OUT[t][b], Y[b]) for t in range(3) for b in range(3)) / 9
    got = tet_loss(torch.tensor(OUT), torch.tensor(Y)).item()
    assert got == pytest.approx(want, rel=1e-6)
    # a misaligned pairing (every timestep of sample b with label y[(b + t) % B]) gives another value
    wrong = sum(ce(OUT[t][b], Y[(b + t) % 3]) for t in range(3) for b in range(3)) / 9
    assert abs(want - wrong) > 0.1


def test_mean_loss_by_hand():
    want = sum(ce(mean_over(range(3), b), Y[b]) for b in range(3)) / 3
    assert mean_loss(torch.tensor(OUT), torch.tensor(Y)).item() == pytest.approx(want, rel=1e-6)


@pytest.mark.parametrize("schedule, w", [("uniform", (1 / 3, 1 / 3, 1 / 3)), ("linear_decay", (3 / 6, 2 / 6, 1 / 6)),
                                         ("last", (0.0, 0.0, 1.0))])
def test_atsnn_loss_by_hand(schedule, w):
    per_t = [sum(ce(mean_over(range(t + 1), b), Y[b]) for b in range(3)) / 3 for t in range(3)]
    want = sum(wt * lt for wt, lt in zip(w, per_t))
    got = make_loss("atsnn", 3, schedule)(torch.tensor(OUT), torch.tensor(Y)).item()
    assert got == pytest.approx(want, rel=1e-6)
    assert atsnn_loss(torch.tensor(OUT), torch.tensor(Y), weights(schedule, 3)).item() == pytest.approx(want, rel=1e-6)


def test_exp_schedule_weights_by_hand():
    # gamma 2: 1, 2, 4 over 7
    assert weights("exp", 3, gamma=2.0).tolist() == pytest.approx([1 / 7, 2 / 7, 4 / 7])
    with pytest.raises(Exception):
        weights("exp", 3, gamma=0.0)


def test_accumulated_mean_by_hand_per_sample():
    acc = accumulated_mean(torch.tensor(OUT))
    for t in range(3):
        for b in range(3):
            assert acc[t, b].tolist() == pytest.approx(mean_over(range(t + 1), b))


def test_gradients_of_tet_reach_each_sample_through_its_own_label():
    """d TET / d out[t, b, k] = (softmax(out[t, b])_k - [k == y_b]) / (T B)."""
    out = torch.tensor(OUT, requires_grad=True)
    tet_loss(out, torch.tensor(Y)).backward()
    for t in range(3):
        for b in range(3):
            z = [math.exp(v) for v in OUT[t][b]]
            p = [v / sum(z) for v in z]
            want = [(p[k] - (1.0 if k == Y[b] else 0.0)) / 9 for k in range(3)]
            assert out.grad[t, b].tolist() == pytest.approx(want, rel=1e-5, abs=1e-7)


def test_make_loss_returns_each_loss():
    out, y = torch.tensor(OUT), torch.tensor(Y)
    assert make_loss("mean", 3)(out, y).item() == pytest.approx(mean_loss(out, y).item())
    assert make_loss("tet", 3)(out, y).item() == pytest.approx(tet_loss(out, y).item())
    # the exp schedule's default gamma is 0.7: weights 1, 0.7, 0.49 over 2.19
    per_t = [sum(ce(mean_over(range(t + 1), b), Y[b]) for b in range(3)) / 3 for t in range(3)]
    want = sum(w * lt for w, lt in zip((1 / 2.19, 0.7 / 2.19, 0.49 / 2.19), per_t))
    assert make_loss("atsnn", 3, "exp")(out, y).item() == pytest.approx(want, rel=1e-6)

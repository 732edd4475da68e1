import math

import pytest
import torch
import torch.nn.functional as F

from archsim.errors import UserError
from snn.losses import accumulated_mean, atsnn_loss, make_loss, mean_loss, tet_loss, weights


def ce(logits, label):
    return -math.log(math.exp(logits[label]) / sum(math.exp(v) for v in logits))


def test_weight_schedules():
    assert weights("uniform", 4).tolist() == pytest.approx([0.25] * 4)
    assert weights("linear_decay", 4).tolist() == pytest.approx([0.4, 0.3, 0.2, 0.1])
    w = weights("exp", 3, gamma=0.5)
    assert w.tolist() == pytest.approx([4 / 7, 2 / 7, 1 / 7])
    assert weights("last", 3).tolist() == [0, 0, 1]
    for s in ("uniform", "linear_decay", "exp", "last"):
        assert float(weights(s, 5).sum()) == pytest.approx(1.0)
    with pytest.raises(UserError, match="schedule"):
        weights("cubic", 4)


def test_atsnn_loss_two_timesteps_by_hand():
    # one sample, K = 2, label 0; out[1] = (2, 0), out[2] = (0, 2)
    out = torch.tensor([[[2.0, 0.0]], [[0.0, 2.0]]])
    y = torch.tensor([0])
    l1 = ce([2.0, 0.0], 0)          # accumulated mean after t=1: (2, 0)
    l2 = ce([1.0, 1.0], 0)          # after t=2: (1, 1) -> log 2
    for sched, w in (("uniform", (0.5, 0.5)), ("linear_decay", (2 / 3, 1 / 3)), ("last", (0, 1))):
        got = make_loss("atsnn", 2, sched)(out, y).item()
        assert got == pytest.approx(w[0] * l1 + w[1] * l2, rel=1e-6)
    assert make_loss("atsnn", 2, "exp", gamma=0.25)(out, y).item() == pytest.approx(0.8 * l1 + 0.2 * l2, rel=1e-6)
    assert mean_loss(out, y).item() == pytest.approx(l2)
    assert tet_loss(out, y).item() == pytest.approx(0.5 * ce([2.0, 0.0], 0) + 0.5 * ce([0.0, 2.0], 0))


def test_atsnn_last_equals_mean_loss():
    torch.manual_seed(0)
    out, y = torch.randn(4, 8, 5), torch.randint(0, 5, (8,))
    assert atsnn_loss(out, y, weights("last", 4)).item() == pytest.approx(mean_loss(out, y).item(), rel=1e-6)


def test_accumulated_mean():
    out = torch.tensor([[[1.0]], [[3.0]], [[5.0]]])
    assert accumulated_mean(out).flatten().tolist() == [1.0, 2.0, 3.0]


def test_batch_mean_and_gradient():
    torch.manual_seed(1)
    out = torch.randn(3, 6, 4, requires_grad=True)
    y = torch.randint(0, 4, (6,))
    loss = make_loss("atsnn", 3, "uniform")(out, y)
    want = sum(F.cross_entropy(out[:t + 1].mean(0), y) for t in range(3)) / 3
    assert loss.item() == pytest.approx(want.item(), rel=1e-6)
    loss.backward()
    # the first timestep enters every accumulated term, so it gets the largest gradient
    norms = out.grad.flatten(1).norm(dim=1)
    assert norms[0] > norms[1] > norms[2]


def test_unknown_loss():
    with pytest.raises(UserError, match="loss"):
        make_loss("hinge", 4)


def test_distill_loss_by_hand():
    """tau^2 KL(teacher || student) at tau 1 and 2, K = 2: teacher logits (0, 0) -> q = (1/2, 1/2)."""
    from snn.losses import distill_loss
    v, t = torch.tensor([[[2.0, 0.0]]]), torch.tensor([[0.0, 0.0]])

    def kl_half(z):  # KL((1/2, 1/2) || softmax(z, 0))
        p0 = math.exp(z) / (math.exp(z) + 1)
        return 0.5 * math.log(0.5 / p0) + 0.5 * math.log(0.5 / (1 - p0))
    assert distill_loss(v, t, torch.ones(1), 1.0).item() == pytest.approx(kl_half(2.0), rel=1e-6)
    assert distill_loss(v, t, torch.ones(1), 2.0).item() == pytest.approx(4 * kl_half(1.0), rel=1e-6)
    assert distill_loss(torch.zeros(1, 1, 2), t, torch.ones(1), 2.0).item() == pytest.approx(0.0, abs=1e-7)


def test_distill_term_follows_the_task_loss_views():
    """atsnn: the accumulated means weighted by the schedule; mean: the mean output; tet: each timestep."""
    from snn.losses import distill_loss, make_distill_loss
    torch.manual_seed(2)
    out, teacher = torch.randn(3, 5, 4), torch.randn(5, 4)
    w = weights("linear_decay", 3)
    want = sum(w[t] * distill_loss(out[:t + 1].mean(0, keepdim=True), teacher, torch.ones(1), 2.0)
               for t in range(3))
    assert make_distill_loss("atsnn", 3, "linear_decay", temperature=2.0)(out, teacher).item() == \
        pytest.approx(want.item(), rel=1e-5)
    assert make_distill_loss("mean", 3)(out, teacher).item() == \
        pytest.approx(distill_loss(out.mean(0, keepdim=True), teacher, torch.ones(1), 2.0).item(), rel=1e-6)
    tet = sum(distill_loss(out[t:t + 1], teacher, torch.ones(1), 2.0) for t in range(3)) / 3
    assert make_distill_loss("tet", 3)(out, teacher).item() == pytest.approx(tet.item(), rel=1e-5)
    # a student that already predicts the teacher's distribution at every exit has nothing to learn
    same = teacher.expand(3, 5, 4).clone()
    assert make_distill_loss("atsnn", 3)(same, teacher).item() == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(UserError, match="distill-temperature"):
        make_distill_loss("atsnn", 3, temperature=0.0)

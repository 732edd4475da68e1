"""LIF neurons against hand values where the other tests compare two implementations with each other
(written to kill mutants of snn/neurons.py that `make mutation` left alive; tests/MUTATION.md)."""
from __future__ import annotations

import math

import pytest
import torch

from snn.neurons import LIF, lif_multistep, lif_multistep_fused, lif_step

from .test_neurons import hand_lif   # the one hand-computed LIF reference


def sg_sigmoid(x: float, alpha: float = 4.0) -> float:
    """d/dx of the sigmoid surrogate: alpha s (1 - s), s = sigmoid(alpha x)."""
    s = 1.0 / (1.0 + math.exp(-alpha * x))
    return alpha * s * (1.0 - s)


@pytest.mark.parametrize("reset", ["hard", "soft"])
@pytest.mark.parametrize("decay_input", [True, False])
def test_non_zero_reset_threshold_and_tau_by_hand(reset, decay_input):
    xs = [1.5, 0.2, 2.5, -0.4, 3.0, 0.65, 1.2]
    kw = dict(tau=3.0, v_threshold=0.7, v_reset=-0.2, reset=reset, decay_input=decay_input)
    want_s, want_v = hand_lif(xs, 3.0, 0.7, -0.2, reset, decay_input)
    assert 0 < sum(want_s) < len(xs)
    v = torch.tensor([-0.2], dtype=torch.float64)
    for x, ws, wv in zip(xs, want_s, want_v):
        s, v = lif_step(torch.tensor([x], dtype=torch.float64), v, **kw)
        assert (s.item(), v.item()) == (ws, pytest.approx(wv))
    seq = torch.tensor(xs, dtype=torch.float64).view(-1, 1)
    assert lif_multistep(seq, **kw).flatten().tolist() == want_s
    assert lif_multistep_fused(seq, **kw).flatten().tolist() == want_s


@pytest.mark.parametrize("fused", [False, True])
@pytest.mark.parametrize("decay_input, k_in", [(True, 0.5), (False, 1.0)])
def test_one_step_gradient_by_hand(fused, decay_input, k_in):
    """T = 1, tau 2, v starts at 0: h = k_in x; d s / d x = sg'(h - 1) x k_in."""
    x = torch.tensor([[1.5]], dtype=torch.float64, requires_grad=True)
    f = lif_multistep_fused if fused else lif_multistep
    f(x, decay_input=decay_input).sum().backward()
    assert x.grad.item() == pytest.approx(sg_sigmoid(k_in * 1.5 - 1.0) * k_in, rel=1e-9)


@pytest.mark.parametrize("fused", [False, True])
@pytest.mark.parametrize("reset, detach", [("hard", False), ("hard", True), ("soft", False), ("soft", True)])
def test_two_step_gradient_through_the_reset_by_hand(fused, reset, detach):
    """x = (2.4, 1.0), tau 2, threshold 1, v_reset 0 (SpikingJelly form): h1 = 1.2 fires; loss = s2.
    d s2 / d x1 = sg'(h2 - 1) x (1 - 1/tau) x dv1/dh1 x 1/tau, with dv1/dh1 =
    hard: (1 - s1) + (v_reset - h1) sg'(h1 - 1)  [detached: 1 - s1];  soft: 1 - sg'(h1 - 1)  [detached: 1]."""
    x = torch.tensor([[2.4], [1.0]], dtype=torch.float64, requires_grad=True)
    kw = dict(reset=reset, detach_reset=detach)
    s = (lif_multistep_fused if fused else lif_multistep)(x, **kw)
    s[1].sum().backward()
    h1 = 1.2
    v1 = 0.0 if reset == "hard" else h1 - 1.0
    h2 = v1 + (1.0 - v1) / 2
    if reset == "hard":
        dv = 0.0 if detach else (0.0 - h1) * sg_sigmoid(h1 - 1.0)
    else:
        dv = 1.0 if detach else 1.0 - sg_sigmoid(h1 - 1.0)
    want_x1 = sg_sigmoid(h2 - 1.0) * 0.5 * dv * 0.5
    assert x.grad[0].item() == pytest.approx(want_x1, rel=1e-9, abs=1e-15)
    assert x.grad[1].item() == pytest.approx(sg_sigmoid(h2 - 1.0) * 0.5, rel=1e-9)


def test_module_keeps_its_parameters_and_says_them():
    lif = LIF(tau=3.0, v_threshold=0.7, v_reset=-0.2, reset="soft", surrogate="atan", decay_input=False,
              detach_reset=True, fused=False)
    assert lif.extra_repr() == ("tau=3.0, v_threshold=0.7, v_reset=-0.2, reset=soft, surrogate=atan, "
                                "decay_input=False, detach_reset=True, fused=False")
    assert LIF().extra_repr() == ("tau=2.0, v_threshold=1.0, v_reset=0.0, reset=hard, surrogate=sigmoid, "
                                  "decay_input=True, detach_reset=False, fused=True")
    xs = [1.5, 0.2, 2.5, -0.4]
    want, _ = hand_lif(xs, 3.0, 0.7, -0.2, "soft", False)
    assert lif(torch.tensor(xs).view(-1, 1)).flatten().tolist() == want
    # single steps keep the potential between calls, starting at v_reset
    assert [lif.step(torch.tensor([x])).item() for x in xs] == want
    assert lif.v.item() == pytest.approx(hand_lif(xs, 3.0, 0.7, -0.2, "soft", False)[1][-1])
    lif.reset_state()
    assert lif.v is None


def test_recorder_counts_spikes_per_sample_and_channel():
    """x [T=2, B=2, C=3, 2, 2]: a neuron fires when its input is >= 2 (h = x / 2 from rest)."""
    x = torch.zeros(2, 2, 3, 2, 2)
    x[0, 0, 0] = 2.5                  # sample 0, channel 0: 4 neurons at t = 0
    x[1, 1, 2, 0, 0] = 3.0            # sample 1, channel 2: 1 neuron at t = 1
    x[1, 1, 1, 1] = 2.2               # sample 1, channel 1: 2 neurons at t = 1
    lif = LIF()
    lif.recorder, lif.record_raw = [], 1
    lif(x)
    rec = lif.recorder[0]
    assert rec["total"].tolist() == [[4.0, 0.0], [0.0, 3.0]]
    assert rec["channel"].tolist() == [[[4, 0, 0], [0, 0, 0]], [[0, 0, 0], [0, 2, 1]]]
    assert rec["raw"].shape == (2, 1, 12) and rec["raw"][0, 0].tolist() == [True] * 4 + [False] * 8
    lif.recorder = None
    lif(x)                            # not recording: nothing kept
    assert lif.recorder is None


@pytest.mark.parametrize("fused", [False, True])
def test_a_surrogate_with_its_own_alpha_by_hand(fused):
    """sigmoid surrogate with alpha 2: d s / d x = 2 s (1 - s) / tau at h - 1 = 0.75 - 1 (x = 1.5, tau 2)."""
    from snn.surrogate import Surrogate
    x = torch.tensor([[1.5]], dtype=torch.float64, requires_grad=True)
    f = lif_multistep_fused if fused else lif_multistep
    f(x, surrogate=Surrogate("sigmoid", alpha=2.0)).sum().backward()
    assert x.grad.item() == pytest.approx(sg_sigmoid(-0.25, alpha=2.0) * 0.5, rel=1e-9)


def test_lif_step_defaults_are_the_spikingjelly_neuron():
    """tau 2, threshold 1, reset to 0 (hard), decay_input: x = 2.4 -> h = 1.2 fires, v = 0."""
    s, v = lif_step(torch.tensor([2.4]), torch.tensor([0.0]))
    assert (s.item(), v.item()) == (1.0, 0.0)
    s, v = lif_step(torch.tensor([1.0]), torch.tensor([0.6]))          # h = 0.6 + 0.4 / 2 = 0.8
    assert (s.item(), v.item()) == (0.0, pytest.approx(0.8))


def test_recorder_of_a_layer_without_channels():
    """x [T=2, B=3] (no feature axis): per sample and timestep, the spikes themselves."""
    lif = LIF()
    lif.recorder = []
    s = lif(torch.tensor([[2.5, 0.0, 3.0], [0.0, 2.2, 0.0]]))
    assert lif.recorder[0]["total"].tolist() == s.tolist() == [[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]

import math
import os

import pytest
import torch

from archsim.errors import UserError
from snn import neurons
from snn.neurons import LIF, lif_multistep, lif_multistep_fused, lif_step
from snn.surrogate import get_surrogate


def hand_lif(xs, tau, th, vr, reset, decay_input):
    v, out, vs = vr, [], []
    for x in xs:
        h = v + (x - (v - vr)) / tau if decay_input else v - (v - vr) / tau + x
        s = 1.0 if h >= th else 0.0
        if reset == "hard":
            v = vr if s else h
        else:
            v = h - th * s
        out.append(s)
        vs.append(v)
    return out, vs


@pytest.mark.parametrize("reset", ["hard", "soft"])
@pytest.mark.parametrize("decay_input", [True, False])
def test_lif_matches_hand_computation(reset, decay_input):
    xs = [1.5, 0.9, 2.5, 0.0, 3.0, -1.0, 1.2]
    want_s, want_v = hand_lif(xs, 2.0, 1.0, 0.0, reset, decay_input)
    v = torch.tensor([0.0])
    for x, ws, wv in zip(xs, want_s, want_v):
        s, v = lif_step(torch.tensor([x]), v, tau=2.0, reset=reset, decay_input=decay_input)
        assert s.item() == ws
        assert v.item() == pytest.approx(wv)
    seq = lif_multistep(torch.tensor(xs).view(-1, 1), reset=reset, decay_input=decay_input)
    assert seq.flatten().tolist() == want_s


def test_lif_hand_values_spikingjelly_form():
    # tau 2, threshold 1: h1 = 0.5*2.4 = 1.2 -> spike, hard reset to 0; h2 = 0.5*1.0 = 0.5; h3 = 0.25+0.5*1.6=1.05
    s = lif_multistep(torch.tensor([[2.4], [1.0], [1.6]]))
    assert s.flatten().tolist() == [1.0, 0.0, 1.0]
    # soft reset keeps the surplus 0.2: h2 = 0.2 + 0.5*(1.0-0.2) = 0.6
    _, v = lif_step(torch.tensor([2.4]), torch.tensor([0.0]), reset="soft")
    assert v.item() == pytest.approx(0.2)


@pytest.mark.parametrize("name,peak", [("sigmoid", 1.0), ("atan", 1.0), ("triangle", 1.0)])
def test_surrogate_gradient_shape(name, peak):
    sg = get_surrogate(name)
    x = torch.linspace(-3, 3, 601, requires_grad=True)
    s = sg(x)
    assert set(s.detach().unique().tolist()) == {0.0, 1.0}
    assert s[300].item() == 1.0  # x = 0 fires
    s.sum().backward()
    g = x.grad
    assert g.argmax().item() == 300  # peak at the threshold
    assert g[300].item() == pytest.approx(peak, rel=1e-5)
    assert torch.allclose(g, g.flip(0), atol=1e-6)  # symmetric
    assert (g[:300].diff() >= -1e-7).all()  # increasing towards the threshold
    assert g[0].item() < 0.1 * peak


def test_surrogate_values():
    x = torch.tensor([0.5])
    s = torch.sigmoid(torch.tensor(2.0))
    assert get_surrogate("sigmoid").grad(x).item() == pytest.approx(4 * s.item() * (1 - s.item()))
    assert get_surrogate("atan").grad(x).item() == pytest.approx(1.0 / (1 + (math.pi / 2) ** 2))
    assert get_surrogate("triangle").grad(x).item() == pytest.approx(0.5)
    assert get_surrogate("triangle").grad(torch.tensor([1.5])).item() == 0.0


def test_unknown_surrogate_is_user_error():
    with pytest.raises(UserError, match="surrogate"):
        get_surrogate("relu")


@pytest.mark.parametrize("surrogate", ["sigmoid", "atan", "triangle"])
@pytest.mark.parametrize("reset", ["hard", "soft"])
@pytest.mark.parametrize("decay_input", [True, False])
@pytest.mark.parametrize("detach_reset", [False, True])
def test_fused_equals_eager(surrogate, reset, decay_input, detach_reset):
    torch.manual_seed(0)
    x = (torch.randn(5, 3, 4, 6) * 1.5 + 0.6).double()
    kw = dict(tau=2.0, v_threshold=1.0, v_reset=0.0, reset=reset, surrogate=surrogate,
              decay_input=decay_input, detach_reset=detach_reset)
    xa = x.clone().requires_grad_(True)
    xb = x.clone().requires_grad_(True)
    sa = lif_multistep(xa, **kw)
    sb = lif_multistep_fused(xb, **kw)
    assert torch.equal(sa, sb)
    w = torch.randn_like(sa)
    (sa * w).sum().backward()
    (sb * w).sum().backward()
    assert torch.allclose(xa.grad, xb.grad, atol=1e-10)


def test_fused_nonzero_reset_and_tau():
    torch.manual_seed(1)
    x = torch.randn(6, 10).double().requires_grad_(True)
    kw = dict(tau=3.0, v_threshold=0.7, v_reset=-0.2, reset="hard")
    a = lif_multistep(x, **kw)
    ga, = torch.autograd.grad(a.sum() + (a * x).sum(), x)
    b = lif_multistep_fused(x, **kw)
    gb, = torch.autograd.grad(b.sum() + (b * x).sum(), x)
    assert torch.equal(a, b) and torch.allclose(ga, gb)


def _channels_last_seq(T=3, B=2, C=4, H=5, W=5):
    """A ``[T, B, C, H, W]`` view of a channels_last ``[T*B, C, H, W]`` batch, as tdBN's output is."""
    flat = (torch.randn(T * B, C, H, W) + 0.7).contiguous(memory_format=torch.channels_last)
    return flat.reshape(T, B, C, H, W)


def test_fused_keeps_the_input_layout():
    """Spikes and the input gradient come back laid out like the input: a channels_last batch stays
    channels_last for the next conv, and BatchNorm's backward gets its gradient in its own layout (the
    mixed-layout backward was 8-10x slower on the CPU and 31 % of a VGG16 T=4 training step)."""
    leaf = _channels_last_seq().requires_grad_(True)
    x = leaf * 1.0                          # not a leaf: autograd hands its gradient on as the LIF made it
    grads = []
    x.register_hook(grads.append)
    s = lif_multistep_fused(x)
    assert s.stride() == x.stride()
    assert s.flatten(0, 1).is_contiguous(memory_format=torch.channels_last)
    s.backward(torch.randn(s.shape))        # a contiguous gradient, as a loss would hand back
    assert grads[0].stride() == x.stride()
    assert torch.equal(s, lif_multistep(x.detach()))


def test_compile_failure_falls_back_to_eager(monkeypatch):
    def broken(*a, **k):
        raise RuntimeError("no compiler here")
    monkeypatch.setattr(neurons, "_COMPILED", {})
    monkeypatch.setattr(neurons, "_COMPILE_BROKEN", False)
    monkeypatch.setattr(torch, "compile", broken)
    x = torch.randn(3, 8).requires_grad_(True)
    with pytest.warns(UserWarning, match="eagerly"):
        s = lif_multistep_fused(x, compile=True)
    assert torch.equal(s, lif_multistep(x))
    s.sum().backward()
    assert x.grad is not None


def test_module_single_step_equals_multistep():
    torch.manual_seed(2)
    x = torch.randn(4, 2, 5) + 0.8
    lif = LIF()
    multi = lif(x)
    single = torch.stack([lif.step(x[t]) for t in range(4)])
    assert torch.equal(multi, single)
    lif.reset_state()
    assert lif.v is None


def test_bad_neuron_parameters():
    with pytest.raises(UserError):
        LIF(reset="sideways")
    with pytest.raises(UserError):
        LIF(tau=0.5)


@pytest.mark.skipif(os.environ.get("SNN_TEST_COMPILE") != "1",
                    reason="torch.compile takes ~30 s of CPU; set SNN_TEST_COMPILE=1")
def test_compiled_fused_equals_eager():
    """The torch.compile'd fused loops (the training default on CUDA) against the eager loop."""
    torch.manual_seed(3)
    for x in (torch.randn(4, 8, 3, 5, 5) + 0.7, _channels_last_seq(4, 8, 3, 5, 5)):
        xa, xb = x.detach().clone().requires_grad_(True), x.detach().clone().requires_grad_(True)
        sa = lif_multistep(xa, decay_input=False)
        sb = lif_multistep_fused(xb, decay_input=False, compile=True)
        assert not neurons._COMPILE_BROKEN
        assert torch.equal(sa, sb) and sb.stride() == x.stride()
        w = torch.randn_like(sa)
        (sa * w).sum().backward()
        (sb * w).sum().backward()
        assert torch.allclose(xa.grad, xb.grad, atol=1e-5)

import pytest
import torch
from torch import nn

from archsim import graph as ag
from archsim.errors import UserError
from snn.models import build, record_spikes
from snn.neurons import LIF

PLAIN = (nn.Conv2d, nn.BatchNorm2d, nn.ReLU, nn.AvgPool2d, nn.Flatten, nn.Linear)


@pytest.mark.parametrize("arch,shape", [("tiny", (3, 16, 16)), ("tiny", (2, 8, 8)), ("small", (3, 16, 16))])
def test_stream_equals_forward(arch, shape):
    torch.manual_seed(0)
    m = build(arch, 5, 4, input_shape=shape).eval()
    # make the network fire: larger weights than the default init
    for p in m.parameters():
        p.data.mul_(3)
    x = torch.randn(3, *shape)
    with torch.no_grad():
        out = m(x)
        steps = list(m.stream(x))
    assert out.shape == (4, 3, 5)
    assert len(steps) == 4
    assert torch.allclose(torch.stack(steps), out, atol=1e-5)


def test_stream_can_stop_early():
    m = build("tiny", 3, 4).eval()
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        it = m.stream(x)
        first = next(it)
        it.close()
        assert torch.allclose(first, m(x)[0], atol=1e-6)


def test_resnet19_stream_and_graph():
    torch.manual_seed(0)
    m = build("resnet19", 10, 2, input_shape=(3, 8, 8)).eval()
    x = torch.randn(1, 3, 8, 8)
    with torch.no_grad(), record_spikes(m) as rec:
        out = m(x)
    with torch.no_grad():
        st = torch.stack(list(m.stream(x)))
    assert out.shape == (2, 1, 10) and torch.allclose(out, st, atol=1e-4)
    g = m.describe((3, 8, 8))
    spiking = [n for n in ag.layer_names(g) if n != "input" and g.nodes[n]["spiking"]]
    assert len(spiking) == len(rec.totals()) == 18
    assert sum(1 for _, _, e in g.edges(data=True) if e["kind"] == "residual") == 8
    assert not g.nodes["out"]["spiking"]


@pytest.mark.parametrize("arch,shape", [("tiny", (3, 16, 16)), ("small", (3, 32, 32)), ("vgg16", (3, 32, 32))])
def test_relu_twin_is_plain_sequence(arch, shape):
    ann = build(arch, 10, 4, neuron="relu", input_shape=shape)
    mods = list(ann.features) + list(ann.classifier)
    assert all(isinstance(m, PLAIN) for m in mods)
    assert ann(torch.randn(2, *shape)).shape == (2, 10)
    snn = build(arch, 10, 4, input_shape=shape)
    assert set(ann.state_dict()) == set(snn.state_dict())


def test_vgg16_has_13_convs():
    m = build("vgg16", 10, 4, neuron="relu")
    assert sum(isinstance(x, nn.Conv2d) for x in m.modules()) == 13
    assert sum(isinstance(x, nn.AvgPool2d) for x in m.modules()) == 5


def test_spike_records_match_graph():
    torch.manual_seed(0)
    m = build("small", 10, 3, input_shape=(3, 16, 16)).eval()
    x = torch.randn(4, 3, 16, 16) * 3
    with torch.no_grad(), record_spikes(m) as rec:
        m(x)
    g = m.describe((3, 16, 16))
    assert ag.layer_names(g) == ["input", "conv1", "conv2", "conv3", "out"]
    assert g.nodes["conv2"]["pool"] == 2 and g.nodes["out"]["pool"] == 2
    tot, ch = rec.totals(), rec.channels()
    assert [t.shape for t in tot] == [(3, 4)] * 3
    assert ch[0].shape == (3, 4, 32)
    for t, c, name in zip(tot, ch, ["conv1", "conv2", "conv3"]):
        assert torch.equal(t, c.sum(-1))
        assert (t <= g.nodes[name]["neurons"]).all()


def test_event_input_time_axis():
    m = build("tiny", 2, 3, input_shape=(2, 8, 8)).eval()
    x = torch.rand(2, 3, 2, 8, 8)  # [B, T, C, H, W]
    with torch.no_grad():
        assert torch.allclose(m(x), torch.stack(list(m.stream(x))), atol=1e-6)


def test_fused_and_eager_models_agree():
    torch.manual_seed(0)
    m = build("tiny", 3, 4).train()
    x, y = torch.randn(4, 3, 16, 16) * 2, torch.randint(0, 3, (4,))
    outs, grads = [], []
    for fused in (True, False):
        m.set_fused(fused)
        m.zero_grad()
        o = m(x)
        torch.nn.functional.cross_entropy(o.mean(0), y).backward()
        outs.append(o.detach())
        grads.append(m.features[0].weight.grad.clone())
    assert torch.allclose(outs[0], outs[1], atol=1e-6)
    assert torch.allclose(grads[0], grads[1], atol=1e-5)


def test_build_errors():
    with pytest.raises(UserError, match="arch"):
        build("alexnet")
    with pytest.raises(UserError, match="timesteps"):
        build("tiny", 10, 0)
    with pytest.raises(UserError, match="input_shape"):
        build("small", 10, 4, input_shape=(3, 12, 12))
    with pytest.raises(UserError, match="neuron"):
        build("tiny", neuron="tanh")
    assert isinstance(build("tiny", 10, 2).features[2], LIF)

"""The TTFS simulation: the fast event engine equals the literal step engine, a converted network equals
the ANN up to the t_max quantisation, and no neuron ever spikes twice."""
import itertools
import math

import pytest
import torch
from torch import nn

from snn.conversion import quartz
from snn.conversion.stages import affine, forward, read_stages, scale_stages, to

from .helpers import normalised_stages, small_convnet


@pytest.mark.parametrize("t_max,bias_mode,readout", list(itertools.product(
    (2, 3, 8, 16), ("weighted", "timed"), ("spike", "membrane"))))
def test_event_engine_equals_step_engine(t_max, bias_mode, readout):
    net = small_convnet(1)
    x = torch.rand(6, 3, 8, 8, generator=torch.Generator().manual_seed(t_max))
    # 99th percentile: some activations exceed 1, so early spikes and saturation are exercised too
    st = normalised_stages(net, x.float(), 90.0)
    a = quartz.run_network(st, x.double(), t_max, engine="step", bias_mode=bias_mode, readout=readout)
    b = quartz.run_network(st, x.double(), t_max, engine="event", bias_mode=bias_mode, readout=readout)
    for ra, rb in zip(a.runs, b.runs):
        assert torch.equal(ra.out_times, rb.out_times)
        assert torch.equal(ra.quartz_ops, rb.quartz_ops)
        assert torch.equal(ra.early, rb.early) and torch.equal(ra.forced, rb.forced)
    assert torch.allclose(a.values, b.values, atol=1e-9)


def test_early_spikes_are_exercised_by_the_engine_test():
    net = small_convnet(1)
    x = torch.rand(6, 3, 8, 8, generator=torch.Generator().manual_seed(8))
    st = normalised_stages(net, x.float(), 90.0)
    r = quartz.run_network(st, x.double(), 8, engine="event")
    assert int(sum(sr.early.sum() for sr in r.runs)) > 0


def _two_layer(seed=0, n_in=12, n_hidden=16, n_out=4):
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(n_in, n_hidden), nn.ReLU(), nn.Linear(n_hidden, n_out)).double().eval()
    return net


@pytest.mark.parametrize("t_max", [4, 8, 32])
def test_two_layer_network_equals_the_quantised_ann(t_max):
    """Hidden values are round((T-1) y)/(T-1), clipped to [0, 1], of the pre-activation y of the quantised
    inputs (for every neuron that did not fire early); the membrane readout is the exact output affine map
    of those values; the spike readout is that output rounded to the grid."""
    net = _two_layer(t_max)
    x = torch.rand(64, 12, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    st = read_stages(net, (12,))
    st = to(scale_stages(st, [1.5, 1.0]), dtype=torch.float64)   # hidden values mostly in [0, 1]
    T = t_max
    xq = quartz.quantise(x, T).double()
    y1 = affine(st[0], xq)
    hid_expected = torch.clamp(torch.floor((T - 1) * y1 + 0.5), 0, T - 1) / (T - 1)
    mem = quartz.run_network(st, x, T, readout="membrane")
    hid_times = mem.runs[0].out_times
    hid = quartz.decode_emitted(hid_times, T, torch.float64)
    regular = hid_times >= quartz.timing(T).readout          # fired at or after the readout: no early spike
    assert regular.float().mean() > 0.9
    assert torch.equal(hid[regular], hid_expected[regular])
    y2 = affine(st[1], hid)
    assert torch.allclose(mem.values, y2, atol=1e-9)
    spk = quartz.run_network(st, x, T, readout="spike")
    fired = spk.runs[1].out_times < quartz.timing(T).window
    assert torch.equal(spk.values[fired], (torch.floor((T - 1) * y2 + 0.5) / (T - 1))[fired])
    # and against the float ANN: within the quantisation the t_max implies
    ann = forward(st, x)
    w1 = st[1].weight.abs().sum(1).max().item()
    early_free = regular.all(1)
    bound = 0.5 / (T - 1) * (1 + w1) + w1 * 0.5 / (T - 1) * st[0].weight.abs().sum(1).max().item()
    assert (mem.values[early_free] - ann[early_free]).abs().max() <= bound


def test_never_more_than_one_spike_per_neuron():
    """Step by step, with inputs that keep driving neurons past the threshold after they fired: every
    hidden neuron spikes exactly once (forced if need be), the output neurons at most once."""
    net = small_convnet(3)
    x = torch.rand(5, 3, 8, 8, generator=torch.Generator().manual_seed(3))
    st = normalised_stages(net, x.float(), 50.0)   # a low percentile: strong drive, many early spikes
    st = [s.__class__(**{**s.__dict__, "weight": s.weight * 3}) for s in st]
    times = quartz.encode(x.double(), 8)
    for i, s in enumerate(st):
        r = quartz.simulate_stage_steps(s, times, 8, s.rectify, record=True)
        per_neuron = r.raster.sum(0)
        assert per_neuron.max() <= 1
        if s.rectify:
            assert (per_neuron == 1).all()
        times = r.out_times - (8 - 1)


def test_first_output_step_and_latency():
    g = torch.Generator().manual_seed(0)
    st = normalised_stages(small_convnet(), torch.rand(4, 3, 8, 8, generator=g), 99.0)
    r = quartz.run_network(st, torch.rand(4, 3, 8, 8, generator=g).double(), 8)
    first = quartz.first_output_step(r, 8)
    # three stages: the output stage's window opens 2 x (T - 1) = 14 steps after the input's. Every image's
    # largest output sits at the top of the grid (value 1), which fires at the readout step 2 (T - 1) = 14 of
    # its window, before any smaller value: the first output spike comes at 14 + 14 = 28.
    assert r.values.max(1).values.tolist() == [1.0] * 4
    assert first.tolist() == [28.0] * 4
    assert quartz.latency_steps(3, 8) == 2 * 7 + 28
    # an output stage that never fires (its window closed): no decision possible, inf
    r.runs[-1].out_times.fill_(quartz.timing(8).window)
    assert math.isinf(quartz.first_output_step(r, 8).max())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_gives_the_cpu_spikes():
    net = small_convnet(5)
    x = torch.rand(4, 3, 8, 8, generator=torch.Generator().manual_seed(5)).double()
    st = normalised_stages(net, x.float(), 99.0)
    cpu = quartz.run_network(st, x, 8)
    gpu = quartz.run_network(to(st, device="cuda"), x.cuda(), 8)
    for a, b in zip(cpu.runs, gpu.runs):
        assert torch.equal(a.out_times, b.out_times.cpu())
        assert torch.equal(a.quartz_ops, b.quartz_ops.cpu())

"""Synaptic operations on hand-sized cases: fan-out maps, TTFS synops and Quartz's op count, rate synops."""
import torch
from torch import nn

from snn.conversion import evaluate as ev
from snn.conversion import quartz, rate
from snn.conversion.counting import fanout_map, synops
from snn.conversion.export import layer_graph
from snn.conversion.stages import read_stages


def test_conv_fanout_by_hand():
    # 1 -> 2 channels, 3x3, padding 1, on 4x4: a corner pixel reaches 2x2 output positions, an edge pixel
    # 2x3, an inner pixel 3x3; times 2 output channels.
    st = read_stages(nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU()), (1, 4, 4))[0]
    f = fanout_map(st)[0]
    expected = torch.tensor([[4, 6, 6, 4], [6, 9, 9, 6], [6, 9, 9, 6], [4, 6, 6, 4]], dtype=torch.float64) * 2
    assert torch.equal(f, expected)
    assert f.sum() == 2 * (4 * 3 - 2) ** 2 == 200


def test_pooled_fanout_counts_each_source_spike_and_matches_archsim():
    net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2),
                        nn.Conv2d(2, 3, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(3 * 2 * 2, 4))
    st = read_stages(net, (1, 8, 8))
    f = fanout_map(st[1])
    # the 4 neurons of a pooled cell each reach that cell's targets: the 4x4 pooled corner cell reaches 2x2
    # positions x 3 channels
    assert f[0, 0, 0] == f[0, 1, 1] == 4 * 3
    assert fanout_map(st[2]).unique().tolist() == [4.0]            # linear: every output
    g = layer_graph(st, "spikes")
    for s in st:
        assert float(fanout_map(s).sum()) == g.nodes[s.name]["synapses"]


def test_ttfs_synops_and_quartz_ops_by_hand():
    # Linear 2 -> 1 (bias 0.25) then nothing: one stage, not rectified (the output).
    lin = nn.Linear(2, 1)
    with torch.no_grad():
        lin.weight[:] = torch.tensor([[0.5, -0.25]])
        lin.bias[:] = 0.25
    st = read_stages(nn.Sequential(lin), (2,))
    T = 3                                      # x=1 -> t=2, x=0.5 -> t=3, readout R=4
    x = torch.tensor([[1.0, 0.5]])
    r = quartz.run_network(st, x, T, readout="spike")
    # input events at t=2 (x=1 and the weighted bias spike), t=3 (x=0.5) and the counter at R=4
    assert r.runs[0].quartz_ops.tolist() == [3]
    res = ev.run_quartz(st, (x * 255).round().to(torch.uint8).numpy().reshape(1, 2), T)
    # 2 input spikes x fan-out 1, plus the counter-input and the bias spike of the one neuron
    assert res["synops"].tolist() == [2 + 1 + 1]
    # y = 0.5 - 0.125 + 0.25 = 0.625 -> round(2 * 0.625) / 2 = 0.5 (grid of 1/(T-1))
    assert res["values"].tolist() == [[0.5]]


def test_hidden_layer_synops_by_hand():
    # conv 1->2 (3x3 pad 1) + ReLU on 1x4x4, then linear 2*4*4 -> 3: every pixel and every hidden neuron
    # spikes once, so synops = all synapses + per neuron (counter, rectification, bias).
    net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(32, 3))
    st = read_stages(net, (1, 4, 4))
    img = (torch.rand(3, 1, 4, 4) * 255).to(torch.uint8).numpy()
    res = ev.run_quartz(st, img, 4)
    synapses = 200 + 32 * 3
    extra = 32 * (1 + 1 + 1) + 3 * (1 + 0 + 1)
    assert res["synops"].tolist() == [synapses + extra] * 3
    assert res["spikes"].tolist() == [[16, 32, 0]] * 3        # input, hidden (all), output node (non-spiking)


def test_rate_if_neuron_by_hand():
    # one IF neuron driven by a constant 0.3: with v_init 0 it fires at steps 4, 7, 10 (reset by
    # subtraction keeps the surplus); with v_init 0.5 at steps 2, 5, 9 -- 3 spikes in 10 steps either way.
    lin = nn.Linear(1, 1)
    out = nn.Linear(1, 1)
    with torch.no_grad():
        lin.weight[:] = 0.3
        lin.bias[:] = 0.0
        out.weight[:] = 1.0
        out.bias[:] = 0.0
    st = read_stages(nn.Sequential(lin, nn.ReLU(), out), (1,))
    fo = [fanout_map(s) for s in st]
    for v0, steps in ((0.0, [4, 7, 10]), (0.5, [2, 5, 9])):
        r = rate.run_network(st, torch.ones(1, 1), 10, fo, v_init=v0)
        fired = (r.spikes[0][:, 0] > 0).nonzero().flatten().add(1).tolist()
        assert fired == steps
        assert r.synops.sum().item() == 3          # 3 spikes x fan-out 1
        assert synops(torch.ones(1, 1), fo[1]).item() == 1


def test_ann_macs_count_pooled_inputs_once():
    net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(2 * 2 * 2, 3))
    st = read_stages(net, (1, 4, 4))
    # conv: 200 (see above); linear on the pooled 2x2x2 map: 8 x 3 -- while each of the 32 spiking conv
    # neurons reaches 3 targets (96 synaptic events)
    assert ev.dense_macs_per_image(st) == 200 + 24
    assert float(fanout_map(st[1]).sum()) == 96

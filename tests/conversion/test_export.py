"""The converted network's archsim graph is the trained SNN's graph (same nodes, synapses, pooling), so
archsim compares the two codings on the same layers."""
import numpy as np
import torch

from archsim.workload import Workload, validate
from snn.conversion import evaluate as ev
from snn.conversion.export import layer_graph, rate_workload, ttfs_workload
from snn.conversion.stages import read_stages
from snn.models import build

from .helpers import normalised_stages, small_convnet


def test_graph_matches_the_snn_describe():
    st = read_stages(build("small", 10, 1, neuron="relu"), (3, 32, 32))
    ours = layer_graph(st, "dense")
    snn = build("small", 10, 4).describe((3, 32, 32))
    assert list(ours.nodes) == list(snn.nodes)
    for n in ours.nodes:
        for k in ("neurons", "synapses", "weights", "pool", "spiking", "shape"):
            assert ours.nodes[n][k] == snn.nodes[n][k], (n, k)


def test_workloads_validate():
    net = small_convnet(6)
    x = torch.rand(16, 3, 8, 8)
    st = normalised_stages(net, x, 99.0, torch.float32)
    imgs = (x * 255).round().to(torch.uint8).numpy()
    labels = np.arange(16) % 5
    q = ev.run_quartz(st, imgs, 8)
    wl = ttfs_workload(st, q, labels, 8, 3.0, {"arch": "test"})
    validate(wl)
    assert isinstance(wl, Workload) and wl.meta["window_steps"] == 28 and wl.timesteps == 1
    assert wl.channel_spikes_mean["conv1"][:, 0].tolist() == [64.0] * 4     # each neuron once: 8x8
    r = ev.run_rate(st, imgs, 6)
    wr = rate_workload(st, r, labels, 4, 3.0, {"arch": "test"})
    validate(wr)
    assert wr.timesteps == 4 and wr.spikes.shape == (16, 4, 4)
    assert (wr.predictions[:, -1] == np.cumsum(r["out"][:4], 0)[-1].argmax(1)).all()

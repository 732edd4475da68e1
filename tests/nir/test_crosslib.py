"""Networks built in other libraries, exported with their own NIR exporters, import and simulate.

snnTorch 1.0.0 (the test extra; pure Python, it cannot replace torch): its exporter works with nir 1.0.8
for an MLP whose Leaky neurons have one beta and threshold per neuron (with scalar ones nir's type check
fails: "type mismatch ... 1.input: []"; convolutional nets fail in nir's shape inference). SpikingJelly
2.0.0 (skipped unless installed; installing it with its dependencies replaces torch, see the README):
a Conv2d-LIF-AvgPool2d-Flatten-Linear-LIF net. Both are compared spike for spike with the library's own
run of the same inputs, then simulated by archsim.
"""
from pathlib import Path

import numpy as np
import pytest
import torch

nir = pytest.importorskip("nir")
pytest.importorskip("nirtorch")

from archsim.hwconfig import load_config  # noqa: E402
from archsim.errors import run_cli  # noqa: E402
from archsim.simulate import run_simulation  # noqa: E402
from archsim.workload import load_workload  # noqa: E402
from snn import data as sd  # noqa: E402
from snn.nir.__main__ import main  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
T = 4


def importer_inputs(data, tmp_path, normalise: bool):
    """The test images in the order the importer runs them, scaled as it scales them."""
    d = sd.load_dataset(data, "imagefolder", image_size=None, cache_dir=tmp_path / "cache")
    idx = sd.test_indices(len(d.test_y))
    mean, std = (d.mean, d.std) if normalise else ((0.0,) * 3, (1.0,) * 3)
    x, _ = next(sd.DeviceData(d.test_x[idx], d.test_y[idx], mean, std, "cpu").batches(len(idx)))
    return x


def import_and_simulate(model, data, tmp_path, *extra):
    out = tmp_path / "w.npz"
    assert run_cli(main, ["import", str(model), "--data-dir", str(data), "--dataset", "imagefolder",
                          "--timesteps", str(T), "--out", str(out), "--cache-dir", str(tmp_path / "cache"),
                          *extra]) == 0
    wl = load_workload(out)
    summary = run_simulation(load_config(REPO / "hwconfigs" / "default.yaml"), wl, mode="analytic").summary
    assert summary.fps > 0 and summary.energy_per_image_j > 0
    return wl


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # nirtorch.extract_nir_graph, called by snnTorch
def test_snntorch_mlp(images16, tmp_path):
    snn = pytest.importorskip("snntorch")
    from snntorch.export_nir import export_to_nir
    torch.manual_seed(0)
    leaky = dict(init_hidden=True, reset_mechanism="zero")
    net = torch.nn.Sequential(torch.nn.Linear(768, 16), snn.Leaky(beta=torch.full((16,), 0.5),
                                                                  threshold=torch.full((16,), 0.5), **leaky),
                              torch.nn.Linear(16, 2), snn.Leaky(beta=torch.full((2,), 0.5), threshold=torch.ones(2),
                                                                output=True, **leaky))
    nir.write(tmp_path / "snntorch.nir", export_to_nir(net, torch.rand(768)))
    wl = import_and_simulate(tmp_path / "snntorch.nir", images16, tmp_path, "--normalise", "unit")
    assert wl.layers == ["input", "0", "2"] and [wl.graph.nodes[n]["neuron"]["model"] for n in ("0", "2")] == ["lif"] * 2
    # snnTorch's own run of the same images
    x = importer_inputs(images16, tmp_path, normalise=False).flatten(1)
    from snntorch import utils
    utils.reset(net)
    hidden, outs = [], []
    net[1].register_forward_hook(lambda _m, _i, o: hidden.append(o.sum(1)))
    with torch.no_grad():
        for _ in range(T):
            spk, _mem = net(x)
            outs.append(spk)
    assert np.array_equal(wl.spikes[:, 1], torch.stack(hidden).T.numpy())
    assert np.array_equal(wl.spikes[:, 2], torch.stack(outs).sum(-1).T.numpy())
    assert wl.spikes[:, 1].sum() > 0


def test_spikingjelly_conv_net(images16, tmp_path):
    sj = pytest.importorskip("spikingjelly.activation_based.nir_exchange")
    from spikingjelly.activation_based import functional, layer, neuron
    torch.manual_seed(0)
    net = torch.nn.Sequential(layer.Conv2d(3, 8, 3, padding=1), neuron.LIFNode(tau=2.0), layer.AvgPool2d(2),
                              layer.Flatten(), layer.Linear(8 * 8 * 8, 2), neuron.LIFNode(tau=2.0))
    functional.set_step_mode(net, "m")
    with torch.no_grad():
        net[0].weight.mul_(3.0)                     # enough input to spike on every layer
    sj.export_to_nir(net, torch.rand(T, 1, 3, 16, 16), str(tmp_path / "sj.nir"))
    wl = import_and_simulate(tmp_path / "sj.nir", images16, tmp_path)
    assert [wl.graph.nodes[n]["op"] for n in wl.layers] == ["input", "conv", "linear"]
    assert wl.graph.nodes[wl.layers[2]]["pool"] == 2 and wl.graph.nodes[wl.layers[2]]["spiking"]
    # SpikingJelly's own multi-step run of the same images
    x = importer_inputs(images16, tmp_path, normalise=True)
    functional.reset_net(net)
    counts = []
    net[1].register_forward_hook(lambda _m, _i, o: counts.append(o.flatten(2).sum(2)))
    with torch.no_grad():
        out = net(x.unsqueeze(0).repeat(T, 1, 1, 1, 1))
    assert np.array_equal(wl.spikes[:, 1], counts[0].T.numpy()) and wl.spikes[:, 1].sum() > 0
    assert np.array_equal(wl.spikes[:, 2], out.sum(-1).T.numpy())
    assert np.array_equal(wl.predictions, out.cumsum(0).argmax(-1).T.numpy())

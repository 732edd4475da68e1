"""Our networks -> NIR -> back: the same spikes, predictions and layer graph as the direct export.

BatchNorm folding changes the float rounding of a layer's input current (conv then BN vs one conv with
folded weights), so a neuron sitting on its threshold can flip. The exact checks therefore use either
BatchNorm whose folding is exact in floating point (running mean 0, shift 0, scale a power of two) or
our own network with the same folded weights; with arbitrary BatchNorm the direct export agrees up to
those rare flips.
"""
import numpy as np
import pytest
import torch
from torch import nn

nir = pytest.importorskip("nir")
pytest.importorskip("nirtorch")

from archsim.errors import run_cli  # noqa: E402
from archsim.workload import load_workload  # noqa: E402
from snn import export as direct  # noqa: E402
from snn.checkpoint import save_checkpoint  # noqa: E402
from snn.models import build, record_spikes  # noqa: E402
from snn.nir.__main__ import main as nir_main  # noqa: E402
from snn.nir.export import fold_batchnorm, to_nir  # noqa: E402
from snn.nir.graph import layer_plan  # noqa: E402
from snn.nir.network import NIRNetwork  # noqa: E402
from snn.nir.read import check_graph, infer_shapes  # noqa: E402

NK = {"tau": 2.0, "v_threshold": 1.0, "v_reset": 0.0, "reset": "hard", "decay_input": False}
RECORD_KEYS = ("model", "state_words", "update", "extra_events", "window_steps")


def set_batchnorm(model: nn.Module, exact: bool, seed: int = 0) -> nn.Module:
    """BatchNorm statistics a trained network might have; ``exact``: folding is exact in floating point."""
    rng = np.random.RandomState(seed)
    for bn in (m for m in model.modules() if isinstance(m, nn.BatchNorm2d)):
        c = bn.num_features
        with torch.no_grad():
            if exact:   # 1 / sqrt(var + eps) = 1/2, weight a signed power of two, no shift
                bn.running_mean.zero_()
                bn.running_var.fill_(4.0 - bn.eps)
                bn.weight.copy_(torch.tensor(rng.choice([-1.0, 1.0], c, p=[0.2, 0.8]) * 2.0 ** rng.randint(1, 4, c)))
                bn.bias.zero_()
            else:
                bn.running_mean.copy_(torch.tensor(rng.randn(c) * 0.3))
                bn.running_var.copy_(torch.tensor(rng.uniform(0.5, 2.0, c)))
                bn.weight.copy_(torch.tensor(rng.uniform(0.5, 2.5, c)))
                bn.bias.copy_(torch.tensor(rng.randn(c) * 0.3))
    return model.eval()


def checkpoint(path, data, exact: bool, arch: str = "small"):
    torch.manual_seed(0)
    m = set_batchnorm(build(arch, 2, 3, input_shape=(3, 16, 16), **NK), exact)
    cfg = {"arch": arch, "num_classes": 2, "timesteps": 3, "input_shape": [3, 16, 16], "neuron_kwargs": NK,
           "dataset": "imagefolder", "data_dir": str(data), "image_size": 16, "classes": ["a", "b"], "seed": 0}
    save_checkpoint(path, m, cfg)
    return path


def both_workloads(tmp_path, data, exact: bool):
    ck = checkpoint(tmp_path / "m.pt", data, exact)
    cache = str(tmp_path / "cache")
    assert run_cli(direct.main, [str(ck), "--out", str(tmp_path / "direct.npz"), "--cache-dir", cache]) == 0
    assert run_cli(nir_main, ["export", str(ck), "--out", str(tmp_path / "m.nir")]) == 0
    nir.read(tmp_path / "m.nir")              # a valid NIR file, with nir's own type check on
    assert run_cli(nir_main, ["import", str(tmp_path / "m.nir"), "--data-dir", str(data), "--dataset",
                              "imagefolder", "--timesteps", "3", "--out", str(tmp_path / "nir.npz"),
                              "--cache-dir", cache]) == 0
    return load_workload(tmp_path / "direct.npz"), load_workload(tmp_path / "nir.npz")


def test_small_round_trip_gives_the_direct_export(images16, tmp_path):
    a, b = both_workloads(tmp_path, images16, exact=True)
    assert a.spikes.sum() > 0 and (a.spikes[:, 1:4] > 0).any(axis=(0, 2)).all()   # every layer spikes
    assert np.array_equal(a.spikes, b.spikes)
    assert np.array_equal(a.predictions, b.predictions) and np.array_equal(a.labels, b.labels)
    assert np.array_equal(a.exit_timestep, b.exit_timestep)
    for k in a.scores:
        assert np.array_equal(a.scores[k], b.scores[k])
    assert set(a.channel_spikes_mean) == set(b.channel_spikes_mean)
    for k in a.channel_spikes_mean:
        assert np.array_equal(a.channel_spikes_mean[k], b.channel_spikes_mean[k])
    assert set(a.pooled_cells) == set(b.pooled_cells) == {"conv1", "conv2", "conv3"}    # format 2.1
    for k in a.pooled_cells:
        assert np.array_equal(a.pooled_cells[k], b.pooled_cells[k]) and 0 < a.pooled_cells[k].sum()
    # the same layer graph, sizes and neuron records (the NIR side adds the neuron parameters)
    assert a.layers == b.layers == ["input", "conv1", "conv2", "conv3", "out"]
    for n in a.layers:
        na, nb = a.graph.nodes[n], b.graph.nodes[n]
        for key in ("op", "shape", "neurons", "spiking", "weights", "synapses", "kernel", "stride", "padding", "pool"):
            assert na[key] == nb[key], (n, key)
        assert {k: na["neuron"][k] for k in RECORD_KEYS} == {k: nb["neuron"][k] for k in RECORD_KEYS}
    assert b.graph.nodes["conv1"]["neuron"]["params"]["tau_steps"] == 2.0
    assert sorted(a.graph.edges(data=True)) == sorted(b.graph.edges(data=True))
    with np.load(tmp_path / "direct.npz") as za, np.load(tmp_path / "nir.npz") as zb:
        assert int(za["format_version"]) == int(zb["format_version"])
    assert b.meta["kind"] == "direct" and b.meta["timesteps"] == 3 and "snn.nir import" in b.meta["command"]
    assert b.meta["nir_metadata"]["arch"] == "small"


def test_arbitrary_batchnorm_agrees_up_to_threshold_ties(images16, tmp_path):
    a, b = both_workloads(tmp_path, images16, exact=False)
    assert np.array_equal(a.predictions, b.predictions)
    assert np.abs(a.spikes - b.spikes).sum() <= 1e-3 * a.spikes.sum()


def imported(model, cfg, timesteps):
    g = to_nir(model, cfg)
    check_graph(g)
    shapes = infer_shapes(g)
    plan = layer_plan(g, shapes)
    return NIRNetwork(g, shapes, plan.spiking, timesteps, 1e-4), plan


def test_nir_network_equals_ours_with_the_same_folded_weights():
    torch.manual_seed(1)
    m = set_batchnorm(build("small", 2, 3, input_shape=(3, 16, 16), decay_input=True), exact=False)
    net, _ = imported(m, {"input_shape": [3, 16, 16], "timesteps": 3}, 3)
    x = torch.randn(5, 3, 16, 16)
    with torch.no_grad(), record_spikes(net) as got:
        out = net(x)
        f = fold_batchnorm(m)
        with record_spikes(f) as want:
            ref = f(x)
    assert torch.equal(out, ref)
    for g_, w_ in zip(got.totals(), want.totals()):
        assert torch.equal(g_, w_)


def test_resnet19_shortcuts_survive_the_round_trip():
    torch.manual_seed(2)
    m = set_batchnorm(build("resnet19", 3, 2, input_shape=(3, 8, 8), **NK), exact=True)
    net, plan = imported(m, {"input_shape": [3, 8, 8], "timesteps": 2}, 2)
    want_g = m.describe((3, 8, 8))
    assert sorted(plan.graph.nodes) == sorted(want_g.nodes)
    for u, v, e in want_g.edges(data=True):
        assert plan.graph.edges[u, v] == e, (u, v)
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad(), record_spikes(net) as got, record_spikes(m) as want:
        out = net(x)
        assert torch.equal(out, m(x))
    assert all(torch.equal(a, b) for a, b in zip(got.totals(), want.totals()))
    assert sum(float(t.sum()) for t in got.totals()) > 0


def test_vgg16_exports_its_layer_graph():
    m = build("vgg16", 10, 2, input_shape=(3, 32, 32), **NK)
    g = to_nir(m, {"input_shape": [3, 32, 32], "timesteps": 2, "arch": "vgg16"})
    check_graph(g)
    plan = layer_plan(g, infer_shapes(g))
    want = m.describe((3, 32, 32))
    assert [n for n in sorted(plan.graph, key=lambda n: plan.graph.nodes[n]["index"])] == \
        [n for n in sorted(want, key=lambda n: want.nodes[n]["index"])]
    for u, v, e in want.edges(data=True):
        assert plan.graph.edges[u, v] == e


def test_soft_reset_has_no_nir_form(tmp_path, images16, capsys):
    m = build("tiny", 2, 2, input_shape=(3, 16, 16), reset="soft")
    cfg = {"arch": "tiny", "num_classes": 2, "timesteps": 2, "input_shape": [3, 16, 16],
           "neuron_kwargs": {"reset": "soft"}}
    save_checkpoint(tmp_path / "soft.pt", m, cfg)
    assert run_cli(nir_main, ["export", str(tmp_path / "soft.pt"), "--out", str(tmp_path / "o" / "m.nir")]) == 2
    assert "reset" in capsys.readouterr().err and not (tmp_path / "o").exists()


def test_spikingjelly_reads_our_export_and_spikes_the_same(tmp_path):
    sj = pytest.importorskip("spikingjelly.activation_based.nir_exchange")
    from spikingjelly.activation_based import neuron
    torch.manual_seed(3)
    m = set_batchnorm(build("small", 2, 3, input_shape=(3, 16, 16), **NK), exact=True)
    cfg = {"input_shape": [3, 16, 16], "timesteps": 3}
    nir.write(tmp_path / "m.nir", to_nir(m, cfg))
    theirs = sj.import_from_nir(str(tmp_path / "m.nir"), dt=1e-4)
    spikes: dict[str, list] = {}
    for name, mod in theirs.named_modules():
        if isinstance(getattr(mod, "module", None), neuron.LIFNode):
            mod.register_forward_hook(lambda _m, _i, o, name=name: spikes.setdefault(name, []).append(
                o[0].flatten(1).sum(1)))
    x = torch.randn(4, 3, 16, 16)
    state, outs = None, []
    with torch.no_grad(), record_spikes(m) as ours:
        for _ in range(3):
            y, state = theirs(x, state)
            outs.append(y)
        ref = m(x)
    assert torch.equal(torch.stack(outs), ref)
    assert len(spikes) == 3
    for s, t in zip(spikes.values(), ours.totals()):
        assert torch.equal(torch.stack(s), t)

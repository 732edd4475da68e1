"""The layer graph's sizes, hand-computed, and the workload file: round trip and every refusal."""
import json
import zipfile

import numpy as np
import pytest

from archsim import graph as lg
from archsim.errors import UserError
from archsim.synthetic import synthetic_workload, tiny_graph, vgg16_graph
from archsim.workload import load_workload, save_workload


def test_tiny_graph_sizes_by_hand():
    g = tiny_graph()  # 3x8x8 -> conv 4 (3x3, pad 1) -> pool 2, conv 8 -> global pool, fc 4
    # Along one 8-wide axis a 3-tap kernel with padding 1 lands 8*3 - 2 = 22 taps inside the image.
    assert g.nodes["conv1"]["synapses"] == 3 * 4 * 22 * 22
    assert g.nodes["conv1"]["weights"] == 3 * 4 * 9
    assert g.edges["input", "conv1"]["fan_out"] == pytest.approx(3 * 4 * 22 * 22 / (3 * 8 * 8))
    # conv2 reads the 4x4 map pooled from conv1: 4*3 - 2 = 10 taps per axis; each of the 4 source
    # spikes of a pooled cell is processed on its own, so the pairs count 4 times.
    assert g.edges["conv1", "conv2"]["fan_out"] == pytest.approx(4 * 8 * 10 * 10 / (4 * 4 * 4))
    assert g.nodes["conv2"]["synapses"] == 4 * 8 * 10 * 10 * 4
    assert g.nodes["conv2"]["shape"] == [8, 4, 4]
    assert g.edges["conv2", "fc"]["fan_out"] == 4.0
    assert g.nodes["fc"]["spiking"] is False
    assert lg.layer_names(g) == ["input", "conv1", "conv2", "fc"]



def test_layer_record_reads_the_node_typed():
    g = tiny_graph()
    c2 = lg.layer(g, "conv2")
    # conv2: 8 channels of the 4x4 map pooled by 2 from conv1's 4x8x8, 3x3 kernel, padding 1
    assert (c2.name, c2.index, c2.op, c2.shape, c2.in_shape) == ("conv2", 2, "conv", (8, 4, 4), (4, 4, 4))
    assert (c2.neurons, c2.weights, c2.synapses) == (8 * 4 * 4, 4 * 8 * 9, 4 * 8 * 10 * 10 * 4)
    assert (c2.kernel, c2.stride, c2.padding, c2.pool, c2.spiking) == (3, 1, 1, 2, True)
    assert c2.fan_in == pytest.approx(4 * 8 * 10 * 10 * 4 / (8 * 4 * 4))
    assert lg.layer(g, "fc").spiking is False and lg.layer(g, "input").op == "input"
    with pytest.raises(AttributeError):
        c2.neurons = 1                                 # a snapshot: the node attributes stay the storage
    assert g.nodes["conv2"]["neurons"] == 128
    # a shortcut adds to the node's sums; a fresh record sees them
    g2 = lg.new_graph((2, 4, 4), "spikes")
    lg.add_conv(g2, "a", lg.INPUT, out_channels=2, kernel=1, padding=0)
    lg.add_conv(g2, "b", "a", out_channels=2, kernel=1, padding=0)
    before = lg.layer(g2, "b").synapses
    lg.add_residual(g2, lg.INPUT, "b")
    assert lg.layer(g2, "b").synapses == before + 2 * 4 * 4 and lg.layer(g2, "input").spiking
    lg.set_neuron(g2, "b", lg.neuron_record("if"))
    assert lg.layer(g2, "b").neuron["model"] == "if" and lg.neuron_of(g2, "b") is g2.nodes["b"]["neuron"]

def test_vgg16_graph_weights_match_the_network():
    g = vgg16_graph()
    widths = [3, 64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]
    conv_weights = sum(a * b * 9 for a, b in zip(widths[:-1], widths[1:]))
    assert sum(g.nodes[n]["weights"] for n in g) == conv_weights + 512 * 10
    assert g.nodes["conv13"]["shape"] == [512, 2, 2]


def test_residual_edges_add_into_the_target():
    g = lg.new_graph((4, 8, 8))
    lg.add_conv(g, "a", "input", out_channels=4)
    lg.add_conv(g, "b", "a", out_channels=4)
    before = g.nodes["b"]["synapses"]
    with pytest.raises(UserError, match="one edge per pair"):
        lg.add_residual(g, "a", "b")
    assert g.edges["a", "b"]["kind"] == "forward" and g.nodes["b"]["synapses"] == before
    lg.add_conv(g, "c", "b", out_channels=4)
    lg.add_residual(g, "a", "c")  # identity: one add per source spike
    assert g.edges["a", "c"]["kind"] == "residual"
    assert g.nodes["c"]["synapses"] == before + 4 * 8 * 8
    lg.add_conv(g, "d", "c", out_channels=8, stride=2)
    lg.add_conv(g, "e", "d", out_channels=8)
    lg.add_residual(g, "c", "e", op="conv", stride=2)  # the 1x1 stride-2 downsampling shortcut
    assert g.edges["c", "e"]["synapses"] == 4 * 8 * 4 * 4
    with pytest.raises(UserError, match="equal shapes"):
        lg.add_residual(g, "input", "e")


def test_round_trip(tmp_path):
    wl = synthetic_workload("tiny", n_samples=5, timesteps=3, seed=1)
    path = save_workload(tmp_path / "w.npz", wl)
    assert path.stat().st_mode & 0o044 == 0o044  # readable by others, not mkstemp's 0600
    back = load_workload(path)
    assert back.layers == wl.layers
    np.testing.assert_array_equal(back.spikes, wl.spikes)
    np.testing.assert_array_equal(back.exit_timestep, wl.exit_timestep)
    np.testing.assert_allclose(back.scores["entropy"], wl.scores["entropy"])
    assert back.meta["kind"] == "direct" and back.meta["synthetic"] is True
    assert dict(back.graph.nodes["conv2"]) == dict(wl.graph.nodes["conv2"])


def _write(tmp_path, **override):
    wl = synthetic_workload("tiny", n_samples=4, timesteps=2, seed=0)
    path = save_workload(tmp_path / "ok.npz", wl)
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    arrays.update(override)
    out = tmp_path / "bad.npz"
    np.savez(out, **arrays)
    return out, arrays


@pytest.mark.parametrize("field, make, message", [
    ("spikes", lambda a: a["spikes"] * -1 - 1, "negative"),
    ("spikes", lambda a: a["spikes"][:, :2], "layers"),
    ("spikes", lambda a: a["spikes"] + 10_000, "more spikes"),
    ("score_entropy", lambda a: np.full_like(a["score_entropy"], np.nan), "NaN"),
    ("exit_timestep", lambda a: a["exit_timestep"] + 5, "1..2"),
    ("meta_json", lambda a: np.array(json.dumps({"kind": "direct"})), "timesteps"),
    ("meta_json", lambda a: np.array(json.dumps({"kind": "wavelet", "timesteps": 2})), "kind"),
    ("graph_json", lambda a: np.array("{not json"), "node-link"),
])
def test_refusals_name_the_field(tmp_path, field, make, message):
    _, arrays = _write(tmp_path)
    path, _ = _write(tmp_path, **{field: make(arrays)})
    with pytest.raises(UserError, match=message) as err:
        load_workload(path)
    assert err.value.field.startswith(field.split("_")[0]) and str(path) in str(err.value)


def test_refuses_pickle_truncation_and_missing(tmp_path):
    obj = tmp_path / "obj.npz"
    np.savez(obj, spikes=np.array([{"a": 1}], dtype=object))
    with pytest.raises(UserError, match="pickle"):
        load_workload(obj)
    good, _ = _write(tmp_path)
    cut = tmp_path / "cut.npz"
    cut.write_bytes(good.read_bytes()[:200])
    with pytest.raises(UserError, match="not an .npz"):
        load_workload(cut)
    with pytest.raises(UserError, match="no such"):
        load_workload(tmp_path / "absent.npz")
    assert zipfile.is_zipfile(good)


def test_writer_refuses_invalid_and_leaves_nothing(tmp_path):
    wl = synthetic_workload("tiny", n_samples=3, timesteps=2)
    wl.spikes[0, 1, 0] = -1
    with pytest.raises(UserError):
        save_workload(tmp_path / "w.npz", wl)
    assert list(tmp_path.iterdir()) == []

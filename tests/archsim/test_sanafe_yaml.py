"""SANA-FE's own network format read as a validation network (archsim/validate/sanafe_yaml.py): the
neuron order and kernel layout by hand, against SANA-FE's own loader where it is installed, the
committed DVS-gesture file, and one error line per bad field."""
from __future__ import annotations

import copy
import subprocess
import sys

import numpy as np
import pytest
import yaml

from archsim import graph as lg
from archsim.errors import UserError
from archsim.validate.network import synapses
from archsim.validate.sanafe_yaml import is_sanafe_network, load_any

from .conftest import ROOT

# input 2 channels x 5 rows x 4 columns -> conv 3x3, 3 kernels (3 x 3 x 2 output) -> dense 4
CONV_W = list(range(1, 3 * 3 * 2 * 3 + 1))              # [y][x][C_in][C_out]: the list index + 1
DENSE_W = list(range(1, 18 * 4 + 1))                    # [source][target]
NET = {
    "network": {
        "name": "tiny",
        "groups": [
            {"name": "in", "attributes": [{"threshold": 2.0}, {"reset": 0.0}, {"log_spikes": True}],
             "neurons": [{"0..2": {}}, {3: {"bias": 1.5}}, {"4..6": {}}, {7: {"bias": 0.5}}, {"8..39": {}}]},
            {"name": "c", "attributes": {"soma": {"threshold": 3.0}, "leak_decay": 0.5,
                                         "synapse_hw_name": "loihi_conv_synapse"}, "neurons": [{"0..17": {}}]},
            {"name": "d", "attributes": {"threshold": 1.0, "synapse_hw_name": "loihi_dense_synapse"},
             "neurons": [{"0..3": {"log_potential": True}}]},
        ],
        "edges": [
            {"in -> c": {"type": "conv2d", "input_width": 4, "input_height": 5, "input_channels": 2,
                         "kernel_width": 3, "kernel_height": 3, "kernel_count": 3, "weight": CONV_W}},
            {"c -> d": [{"type": "dense"}, {"w": DENSE_W}]},
        ],
    },
    "mappings": [{"in": {"core": "0.0"}}, {"c.0..8": [{"core": 0.1}]}, {"c.9..17": {"core": "0.2"}},
                 {"d.0..3": {"core": "0.3"}}],
}


def _write(tmp_path, net=NET):
    path = tmp_path / "tiny_sanafe.yaml"
    path.write_text(yaml.safe_dump(net, sort_keys=False))
    return path


def test_reads_groups_hyperedges_and_mappings_by_hand(tmp_path):
    spec = load_any(_write(tmp_path))
    assert spec.name == "tiny" and spec.input_shape == (2, 5, 4) and spec.sanafe_file
    conv, dense = spec.layers
    assert (conv.name, conv.op, conv.out, conv.kernel, conv.stride) == ("c", "conv", 3, 3, 1)
    assert (dense.name, dense.op, dense.out) == ("d", "linear", 4)
    assert spec.neuron_of(conv) == {"threshold": 3.0, "leak_decay": 0.5} and conv.synapse_unit == "loihi_conv_synapse"
    # archsim's conv weight [o, c, y, x] is SANA-FE's list entry ((y * 3 + x) * 2 + c) * 3 + o
    w = spec.weights["c"]
    for o, c, y, x in [(0, 0, 0, 0), (2, 1, 0, 0), (0, 1, 2, 1), (1, 0, 1, 2)]:
        assert w[o, c, y, x] == CONV_W[((y * 3 + x) * 2 + c) * 3 + o]
    assert spec.weights["d"][3, 17] == DENSE_W[17 * 4 + 3] and spec.weights["d"].shape == (4, 18)
    assert spec.input_neuron["threshold"] == 2.0 and spec.input_neuron["reset"] == 0.0
    assert spec.input_neuron["bias"][3] == 1.5 and spec.input_neuron["bias"][7] == 0.5
    assert sum(spec.input_neuron["bias"]) == 2.0
    assert spec.placement == {lg.INPUT: (40,), "c": (9, 9), "d": (4,)}


def test_a_group_without_a_synapse_unit_takes_sanafes_default(tmp_path):
    net = copy.deepcopy(NET)
    del net["network"]["groups"][1]["attributes"]["synapse_hw_name"]
    spec = load_any(_write(tmp_path, net))
    assert spec.layers[0].synapse_unit == "loihi_dense_synapse"     # the first synapse unit of SANA-FE's Loihi


def test_archsims_own_format_still_loads():
    spec = load_any(ROOT / "workloads" / "validation" / "conv_valid.yaml")
    assert spec.sanafe_file is None and [ly.name for ly in spec.layers] == ["conv1", "conv2", "fc"]
    assert not is_sanafe_network({"network": {}, "layers": []}) and is_sanafe_network({"network": {}})


def test_the_same_synapses_as_sanafes_own_loader(tmp_path):
    """SANA-FE reads the file itself (sanafe.load_net): every synapse it makes, with its weight, is one
    archsim's reading gives SANA-FE through the validation harness."""
    sanafe = pytest.importorskip("sanafe")
    path = _write(tmp_path)
    spec = load_any(path)
    net = sanafe.load_net(str(path), sanafe.load_loihi())
    g = spec.graph()
    prev = lg.INPUT
    for ly, (src_name, dst_name) in zip(spec.layers, [("in", "c"), ("c", "d")]):
        s, t, w = synapses(spec, g, ly, prev)
        ours = sorted(zip(s.tolist(), t.tolist(), w.tolist()))
        theirs = sorted((i, int(e.post_neuron.neuron_offset), float(e.synapse_attributes.get("weight", e.synapse_attributes.get("w"))))
                        for i, n in enumerate(net.groups[src_name].neurons) for e in n.edges_out
                        if e.post_neuron.group_name == dst_name)
        assert ours == theirs, ly.name
        prev = ly.name


def test_the_committed_dvs_gesture_file():
    spec = load_any(ROOT / "workloads" / "validation" / "dvs_gesture.yaml")
    assert spec.input_shape == (1, 32, 32) and [ly.name for ly in spec.layers] == ["conv1", "conv2", "conv3", "conv4",
                                                                                    "dense1"]
    assert [(ly.out, ly.stride) for ly in spec.layers] == [(16, 2), (32, 1), (64, 1), (11, 1), (11, 1)]
    assert [spec.neuron_of(ly)["threshold"] for ly in spec.layers] == [420, 351, 276, 371, 341]
    assert spec.input_neuron["threshold"] == 255 and len(spec.input_neuron["bias"]) == 1024
    assert {spec.neuron_of(ly)["leak_decay"] for ly in spec.layers} == {4095 / 4096}
    assert [len(spec.placement[n]) for n in [lg.INPUT] + [ly.name for ly in spec.layers]] == [1, 4, 16, 16, 4, 1]
    assert spec.placement["conv4"] == (222, 222, 222, 225)          # the tutorial: the remainder on the last core
    assert [ly.synapse_unit for ly in spec.layers] == ["loihi_conv_synapse"] * 4 + ["loihi_dense_synapse"]


def _edit(path, value):
    net = copy.deepcopy(NET)
    node = net
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return net


BAD = [
    (("network", "edges", 1), {"c.0 -> d.0": {"weight": 1.0}}, "network.edges[1]", "per-neuron edges"),
    (("network", "edges", 1), {"c -> d": {"type": "sparse", "weight": [1.0]}}, "network.edges[1].type", "sparse"),
    (("network", "edges", 0, "in -> c", "weight"), CONV_W[:-1], "network.edges[0].weight", "54 numbers"),
    (("network", "edges", 0, "in -> c", "input_width"), 5, "network.edges[0]", "input group's 40 neurons"),
    (("network", "edges", 0, "in -> c", "kernel_height"), 2, "network.edges[0]", "square kernel"),
    (("network", "edges", 1), {"in -> d": {"type": "dense", "weight": [1.0]}}, "network.edges[1]", "feeds two groups"),
    (("network", "edges"), [{"c -> d": {"type": "dense", "weight": DENSE_W}}], "network.edges", "exactly one input"),
    (("network", "groups", 1, "attributes", "reset_mode"), "soft", "network.groups[1].attributes.reset_mode",
     "not read"),
    (("network", "groups", 2, "attributes", "threshold"), "high", "network.groups[2].attributes.threshold",
     "finite number"),
    (("network", "groups", 1, "attributes", "synapse_hw_name"), "loihi_sparse_synapse",
     "network.groups[1].attributes.synapse_hw_name", "prices"),
    (("network", "groups", 1, "neurons"), [{"0..16": {}}], "network.edges[0]", "group c has 17"),
    (("network", "groups", 0, "neurons", 1), {3: {"spikes": [1, 0]}}, "network.groups[0].neurons.3.spikes",
     "--spikes"),
    (("mappings", 2), {"c.9..17": {"core": "1.0"}}, "mappings", "consecutive cores"),
    (("mappings", 3), {"d.0..3": {"core": "0.7"}}, "mappings[3].core", "TILE.CORE"),
    (("mappings", 3), {"d.0..2": {"core": "0.3"}}, "mappings", "d.3 is not mapped"),
    (("mappings", 0), {"x": {"core": "0.0"}}, "mappings[0]", "no group"),
    (("network", "groups", 2, "neurons"), [{"0..99999999999": {}}], "network.groups[2].neurons[0]", "< 1,000,000"),
]


@pytest.mark.parametrize("path,value,field,reason", BAD, ids=[b[2] + ":" + b[3] for b in BAD])
def test_bad_fields_are_refused_in_the_reader(tmp_path, path, value, field, reason):
    with pytest.raises(UserError) as err:
        load_any(_write(tmp_path, _edit(path, value)))
    assert err.value.field == field and reason in err.value.message, (err.value.field, err.value.message)


def test_a_bad_file_is_one_line_and_exit_2_from_the_command(tmp_path):
    path = _write(tmp_path, _edit(("network", "edges", 1), {"c -> d": {"type": "sparse", "weight": [1.0]}}))
    proc = subprocess.run([sys.executable, "-m", "archsim", "validate", "sanafe", str(path)], capture_output=True,
                          text=True, cwd=tmp_path)
    if "SANA-FE is not installed" in proc.stderr:
        pytest.skip("sanafe is not installed: the command stops before reading the file")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert lines == [f"error: {path}: network.edges[1].type: 'sparse': archsim reads conv2d and dense hyperedges"]

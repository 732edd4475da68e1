"""The validation network format's SANA-FE-style fields: per-layer neuron attributes, a bias-driven input
and an explicit placement; checked in the loader, in the mapping, and against SANA-FE on a tiny network."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import yaml

from archsim import graph as lg
from archsim.errors import UserError
from archsim.hwconfig import load_config
from archsim.mapping import map_network
from archsim.validate.compare import _placeholder, validate
from archsim.validate.network import load_network

from .conftest import ROOT

NET = {"name": "tiny_bias", "input": [1, 8, 8],
       "input_neuron": {"threshold": 4, "bias": {"file": "frame.npz", "key": "inputs"}},
       "layers": [{"name": "conv1", "op": "conv", "out_channels": 4, "kernel": 3, "stride": 2,
                   "neuron": {"threshold": 1.5}},
                  {"name": "fc", "op": "linear", "out_features": 5, "neuron": {"threshold": 0.8, "leak_decay": 0.9}}],
       "neuron": {"threshold": 1.0, "leak_decay": 4095 / 4096}, "weights": {"seed": 2, "std": 3.0},
       "placement": {"input": 1, "conv1": 5, "fc": [3, 2]}}


def _write(tmp_path, net=NET, bias=None):
    rng = np.random.default_rng(0)
    if bias is None:
        bias = np.where(rng.random(64) < 0.5, 0.0, rng.integers(1, 6, 64).astype(float))
    np.savez(tmp_path / "frame.npz", inputs=bias)
    (tmp_path / "net.yaml").write_text(yaml.safe_dump(net))
    return tmp_path / "net.yaml"


def test_loader_reads_layer_neurons_bias_and_placement(tmp_path):
    spec = load_network(_write(tmp_path, bias=np.arange(64.0)))
    assert spec.neuron_of(spec.layers[0]) == {"threshold": 1.5, "leak_decay": 4095 / 4096}
    assert spec.neuron_of(spec.layers[1]) == {"threshold": 0.8, "leak_decay": 0.9}
    assert spec.input_neuron["bias"] == list(np.arange(64.0)) and spec.input_neuron["threshold"] == 4
    # conv1: 4 x 3 x 3 = 36 neurons on 5 cores: 7 each, the remainder on the last (SANA-FE's tutorial)
    assert spec.placement == {"input": (64,), "conv1": (7, 7, 7, 7, 8), "fc": (3, 2)}
    g = spec.graph()
    assert g.nodes["input"]["neuron"]["model"] == "lif" and g.nodes["conv1"]["neuron"]["update"] == "while_nonzero"
    assert spec.graph(force_update=True).nodes["fc"]["neuron"]["update"] == "every_step"


def test_explicit_placement_reaches_the_mapping():
    hw = load_config(ROOT / "hwconfigs" / "loihi.yaml")
    spec_chunks = {"input": (64,), "conv1": (7, 7, 7, 7, 8), "fc": (3, 2)}
    g = lg.new_graph((1, 8, 8), "spikes")
    lg.add_conv(g, "conv1", lg.INPUT, out_channels=4, kernel=3, stride=2, padding=0)
    lg.add_linear(g, "fc", "conv1", out_features=5)
    m = map_network(hw, _placeholder(g, 4), spec_chunks)
    assert [m.layers[n].cores for n in ("input", "conv1", "fc")] == [(0,), (1, 2, 3, 4, 5), (6, 7)]
    assert m.layers["conv1"].neurons_per_core == (7, 7, 7, 7, 8)
    with pytest.raises(UserError, match="1 to 1024 neurons"):
        map_network(hw, _placeholder(g, 4), {"conv1": (30, 6, 0)})


@pytest.mark.parametrize("patch,field", [
    ({"layers": [{**NET["layers"][0], "neuron": {"treshold": 1}}, NET["layers"][1]]}, "layers[0].neuron.treshold"),
    ({"neuron": {"threshold": "high"}}, "neuron.threshold"),
    ({"placement": {"conv9": 2}}, "placement.conv9"),
    ({"placement": {"fc": [3, 3]}}, "placement.fc"),
    ({"placement": {"fc": 0}}, "placement.fc"),
    ({"input_neuron": {"bias": {"file": "frame.npz", "key": "nothing"}}}, "input_neuron.bias"),
    ({"input_neuron": {"bias": {"file": "missing.npz", "key": "inputs"}}}, "input_neuron.bias"),
])
def test_bad_fields_are_one_line_naming_the_field(tmp_path, patch, field):
    path = _write(tmp_path, {**NET, **patch})
    proc = subprocess.run([sys.executable, "-m", "archsim", "validate", "sanafe", str(path)],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and f": {field}:" in lines[0], proc.stderr


def test_bias_of_the_wrong_length_is_refused(tmp_path):
    with pytest.raises(UserError, match="needs 64 finite values"):
        load_network(_write(tmp_path, bias=np.ones(10)))


@pytest.mark.parametrize("force_update", [False, True])
def test_bias_driven_network_with_its_placement_matches_sanafe(tmp_path, force_update):
    spec = load_network(_write(tmp_path))
    hw = load_config(ROOT / "hwconfigs" / "loihi.yaml")
    res = validate(spec, hw, np.zeros((1, 8, 64), dtype=bool), force_update=force_update)
    assert res["cores_used"] == 8
    rows = {r["quantity"]: r for r in res["rows"]}
    assert rows["neurons fired (all samples)"]["sanafe"] > 0       # the biases drive the input
    for label in ("synaptic events", "packets", "hops", "neurons updated", "neurons fired"):
        assert rows[f"{label} (all samples)"]["archsim"] == rows[f"{label} (all samples)"]["sanafe"], label
    for part in ("synapse", "soma", "network", "total"):
        assert abs(rows[f"energy {part} (uJ/sample)"]["diff_pct"]) < 2, part
    assert abs(rows["latency (us/sample) vs SANA-FE simple"]["diff_pct"]) < 2

"""``archsim validate sanafe NETWORK.yaml``: every integer field of the network YAML checked before anything
is built (issue 29: ``kernel: -3`` ended in numpy's ``negative dimensions are not allowed``), each bad
value one line naming the field; sizes bounded so that a typo of a few zeros is an error, not an
out-of-memory kill."""
from __future__ import annotations

import copy
import subprocess
import sys

import numpy as np
import pytest
import yaml

from archsim.errors import UserError
from archsim.validate.network import MAX_NEURONS, MAX_SIDE, MAX_SYNAPSES, load_network

from .conftest import ROOT

NET = {"name": "tiny_valid", "input": [2, 6, 6],
       "layers": [{"name": "conv1", "op": "conv", "out_channels": 3, "kernel": 3, "padding": 1},
                  {"name": "fc", "op": "linear", "out_features": 4, "pool": 2}],
       "neuron": {"threshold": 1.0, "leak_decay": 0.5}, "weights": {"seed": 3, "std": 2.5}}

# (path into NET, lowest valid value, highest valid value)
INT_FIELDS = [(("input", 0), 1, MAX_NEURONS), (("input", 1), 1, MAX_SIDE), (("input", 2), 1, MAX_SIDE),
              (("layers", 0, "out_channels"), 1, MAX_NEURONS), (("layers", 0, "kernel"), 1, MAX_SIDE),
              (("layers", 0, "stride"), 1, MAX_SIDE), (("layers", 0, "padding"), 0, MAX_SIDE),
              (("layers", 0, "pool"), 1, MAX_SIDE), (("layers", 1, "out_features"), 1, MAX_NEURONS),
              (("layers", 1, "pool"), 1, MAX_SIDE), (("weights", "seed"), 0, 2**32 - 1)]


def field_name(path) -> str:
    """How the error names a field: layers[0].kernel, input[2], weights.seed."""
    out = str(path[0])
    for k in path[1:]:
        out += f"[{k}]" if isinstance(k, int) else f".{k}"
    return out


def with_value(tmp_path, path, value):
    net = copy.deepcopy(NET)
    node = net
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    p = tmp_path / "net.yaml"
    p.write_text(yaml.safe_dump(net))
    return p


@pytest.mark.parametrize("path,low,high", INT_FIELDS, ids=[field_name(f[0]) for f in INT_FIELDS])
def test_every_integer_field_refuses_what_is_not_an_integer_in_range(tmp_path, path, low, high):
    for bad in (low - 1, -3, high + 1, 2.5, "3", True, None, [3]):
        with pytest.raises(UserError) as err:
            load_network(with_value(tmp_path, path, bad))
        assert err.value.field == field_name(path), (bad, str(err.value))
        assert f"must be an integer from {low} to {high:,}, got {bad!r}" in err.value.message


def test_kernel_minus_3_is_one_line_and_exit_2(tmp_path):
    p = with_value(tmp_path, ("layers", 0, "kernel"), -3)
    proc = subprocess.run([sys.executable, "-m", "archsim", "validate", "sanafe", str(p)], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr == f"error: {p}: layers[0].kernel: must be an integer from 1 to 1,024, got -3\n"


def test_sizes_past_the_bounds_are_refused_before_anything_is_allocated(tmp_path):
    # each value passes its own field's check; the population or the network is too large
    cases = [(("input",), [MAX_NEURONS, 1024, 1024], "input", "1,048,576,000,000 neurons"),
             (("layers", 0, "padding"), 1024, "layers.conv1", "12,632,112 neurons ([3, 2052, 2052])"),
             (("layers", 1, "out_features"), MAX_NEURONS, "layers", f"synapses in all: a validation network has "
                                                                    f"at most {MAX_SYNAPSES:,}")]
    for path, value, field, words in cases:
        with pytest.raises(UserError) as err:
            load_network(with_value(tmp_path, path, value))
        assert err.value.field == field and words in err.value.message, str(err.value)


def test_the_graph_errors_name_the_yaml(tmp_path):
    with pytest.raises(UserError) as err:
        load_network(with_value(tmp_path, ("layers", 0, "kernel"), 9))          # 6 + 2 - 9 + 1 = 0 rows
    assert err.value.source.endswith("net.yaml") and err.value.field == "layers.conv1"
    assert "output shape [3, 0, 0] is empty" in err.value.message


@pytest.mark.parametrize("value,words", [(-1, "-1"), (float("nan"), "nan"), ("x", "'x'"), (True, "True")])
def test_weights_std_is_a_finite_number(tmp_path, value, words):
    with pytest.raises(UserError, match=f"weights.std: must be a finite number >= 0, got {words}"):
        load_network(with_value(tmp_path, ("weights", "std"), value))


def test_weights_file_that_is_not_npz(tmp_path):
    with pytest.raises(UserError, match="weights.file: must be a file name, got 5"):
        load_network(with_value(tmp_path, ("weights", "file"), 5))
    (tmp_path / "w.npz").write_text("not a zip")
    with pytest.raises(UserError, match="weights.file: .*w.npz is not a .npz of weight arrays"):
        load_network(with_value(tmp_path, ("weights", "file"), "w.npz"))


def test_the_edges_of_each_range_still_load(tmp_path):
    """The lowest valid values, and the committed validation networks, load as before."""
    spec = load_network(with_value(tmp_path, ("layers", 0, "padding"), 0))
    assert spec.layers[0].padding == 0 and spec.weights["conv1"].shape == (3, 2, 3, 3)
    spec = load_network(with_value(tmp_path, ("weights", "seed"), 0))
    assert np.isfinite(spec.weights["fc"]).all()
    for name in ("conv_valid", "conv_pad_pool", "small_c10_head"):
        spec = load_network(ROOT / "workloads" / "validation" / f"{name}.yaml")
        assert spec.name == name and spec.layers

"""archsim against SANA-FE (pip ``sanafe``, in the dev extra) on a tiny network: the agreement the README's
validation table claims, asserted on every run of the suite (a few seconds)."""
from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from archsim.hwconfig import load_config
from archsim.validate.compare import input_spikes, validate
from archsim.validate.network import load_network

from .conftest import ROOT

TINY_NET = {"name": "tiny_valid", "input": [2, 6, 6],
            "layers": [{"name": "conv1", "op": "conv", "out_channels": 3, "kernel": 3, "padding": 1},
                       {"name": "fc", "op": "linear", "out_features": 4, "pool": 2}],
            "neuron": {"threshold": 1.0, "leak_decay": 0.5}, "weights": {"seed": 3, "std": 2.5}}


@pytest.mark.parametrize("force_update", [True, False])
def test_archsim_matches_sanafe_on_a_tiny_network(tmp_path, force_update):
    """Every count equal, with forced updates and with SANA-FE's default rule (archsim's ``while_nonzero``
    on the potentials replayed from the weights: it sees those that leak to exactly zero)."""
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY_NET))
    spec = load_network(path)
    inputs = input_spikes(spec, 3, 3, 0.3, seed=0)
    res = validate(spec, load_config(ROOT / "hwconfigs" / "loihi.yaml"), inputs, force_update=force_update)
    rows = {r["quantity"]: r for r in res["rows"]}
    for label in ("synaptic events", "packets", "hops", "neurons updated", "neurons fired"):
        row = rows[f"{label} (all samples)"]
        assert row["archsim"] == row["sanafe"], label
    assert rows["synaptic events (all samples)"]["sanafe"] > 0 and rows["neurons fired (all samples)"]["sanafe"] > 0
    updated = rows["neurons updated (all samples)"]["sanafe"]
    # conv1 and fc neurons every step of every sample; an input neuron is updated when it fires
    every_step = (108 + 4) * res["steps_per_sample"] * 3 + int(inputs.sum())
    assert (updated == every_step) == force_update           # the default rule updates fewer
    assert abs(rows["energy soma (uJ/sample)"]["diff_pct"]) < 2
    for part in ("synapse", "soma", "network"):
        assert abs(rows[f"energy {part} (uJ/sample)"]["diff_pct"]) < 5, part
    assert abs(rows["energy total (uJ/sample)"]["diff_pct"]) < 2
    assert abs(rows["latency (us/sample) vs SANA-FE simple"]["diff_pct"]) < 2
    assert abs(rows["latency (us/sample) vs SANA-FE detailed"]["diff_pct"]) < 10


@pytest.mark.parametrize("network,extra,field", [
    ("missing.yaml", [], "path"),
    ("bad_op.yaml", [], "layers[0]"),
    ("ok.yaml", ["--rate", "2"], "--rate"),
    ("ok.yaml", ["--spikes", "nothing.npz"], "file"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, network, extra, field):
    (tmp_path / "bad_op.yaml").write_text(yaml.safe_dump({**TINY_NET, "layers": [{"name": "x", "op": "pool"}]}))
    (tmp_path / "ok.yaml").write_text(yaml.safe_dump(TINY_NET))
    proc = subprocess.run([sys.executable, "-m", "archsim", "validate", "sanafe", str(tmp_path / network), *extra],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and field in lines[0], proc.stderr

"""SANA-FE's DVS-gesture network, reduced to a 16x16 window of its frame and 8 input steps (13 in all),
through both simulators as results/validation/dvs_gesture runs the whole one: the tutorial's placement,
per-layer thresholds, leak 4095/4096, SANA-FE's default neuron update rule. Within 2 % in every energy
component and the simple-model latency, every count equal; SANA-FE's run of the file itself equals
the run built from archsim's reading of it. About 15 s; skipped without sanafe."""
from __future__ import annotations

import copy
import subprocess
import sys

import numpy as np
import pytest

from archsim.hwconfig import load_config
from archsim.validate.compare import validate
from archsim.validate.sanafe_yaml import load_any

from .conftest import ROOT
from .test_sanafe_yaml import NET, _write

pytest.importorskip("sanafe")


def _rows(res: dict) -> dict:
    return {r["quantity"]: r for r in res["rows"]}


def test_reduced_dvs_gesture_agrees_with_sanafe(tmp_path):
    path = tmp_path / "dvs16.yaml"
    subprocess.run([sys.executable, str(ROOT / "workloads" / "validation" / "make_dvs_gesture.py"), "--crop", "16",
                    "--out", str(path)], check=True, capture_output=True)
    spec = load_any(path)
    assert spec.input_shape == (1, 16, 16) and [len(spec.placement[n]) for n in spec.placement] == [1, 4, 16, 16, 4, 1]
    res = validate(spec, load_config(ROOT / "hwconfigs" / "loihi.yaml"), np.zeros((1, 8, 256), dtype=bool))
    rows = _rows(res)
    assert rows["neurons fired (all samples)"]["sanafe"] > 500          # the frame drives every layer
    for part in ("synapse", "soma", "network", "total"):
        assert abs(rows[f"energy {part} (uJ/sample)"]["diff_pct"]) < 2, part
    assert abs(rows["latency (us/sample) vs SANA-FE simple"]["diff_pct"]) < 2
    # neurons updated too: the replayed potentials see those that inputs cancel or the leak takes to 0
    for label in ("synaptic events", "packets", "hops", "neurons updated", "neurons fired"):
        assert rows[f"{label} (all samples)"]["archsim"] == rows[f"{label} (all samples)"]["sanafe"], label
    assert all(res["potentials_replayed"].values())
    assert res["sanafe_on_the_file"]["equal_to_the_run_from_archsims_reading"]
    assert res["synaptic_memory"]["overfull"] == []                    # 36 conv3 neurons per core fit


def test_a_conv_group_on_sanafes_default_unit_is_priced_as_a_dense_synapse(tmp_path):
    """A conv group that names no synapse unit runs on SANA-FE's default, the dense synapse (35.5 pJ);
    archsim prices it so too (validate's hwconfig names that unit for the layer)."""
    net = copy.deepcopy(NET)
    del net["network"]["groups"][1]["attributes"]["synapse_hw_name"]
    spec = load_any(_write(tmp_path, net))
    res = validate(spec, load_config(ROOT / "hwconfigs" / "loihi.yaml"), np.zeros((1, 6, 40), dtype=bool))
    rows = _rows(res)
    events = rows["synaptic events (all samples)"]["sanafe"]
    assert events > 0 and rows["synaptic events (all samples)"]["archsim"] == events
    assert rows["energy synapse (uJ/sample)"]["archsim"] == pytest.approx(events * 35.5e-6, rel=1e-9)
    assert rows["energy synapse (uJ/sample)"]["sanafe"] == pytest.approx(events * 35.5e-6, rel=1e-9)
    assert res["sanafe_on_the_file"]["equal_to_the_run_from_archsims_reading"]

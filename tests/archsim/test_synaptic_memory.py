"""Synapse storage as a hardware property (core.weight_sram.storage): ``per_synapse`` holds every synapse
on its target's core and refuses a core that overfills its weight SRAM; ``shared_kernel`` (the default)
changes nothing. Counts by hand on small layers, and the DVS-gesture network on hwconfigs/loihi.yaml."""
from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from archsim import graph as lg
from archsim.errors import UserError
from archsim.hwconfig import config_from_dict, load_config
from archsim.mapping import map_network
from archsim.validate.compare import _placeholder
from archsim.validate.sanafe_yaml import load_any

from .conftest import ROOT

LOIHI = ROOT / "hwconfigs" / "loihi.yaml"


def _loihi(**weight_sram):
    raw = yaml.safe_load(LOIHI.read_text())
    raw["core"]["weight_sram"].update(weight_sram)
    return config_from_dict(raw, "loihi_test.yaml", ROOT / "hwconfigs")


def _padded_graph():
    """1x6x6 spikes -> conv 3x3 pad 1, 2 channels (2x6x6) -> dense 3."""
    g = lg.new_graph((1, 6, 6), "spikes")
    lg.add_conv(g, "conv1", lg.INPUT, out_channels=2, kernel=3, stride=1, padding=1)
    lg.add_linear(g, "fc", "conv1", out_features=3)
    return g


def _held(m) -> list[int]:
    """Synapses per core of the layers' cores, in core order."""
    mem = m.synaptic_memory
    return [mem["per_core"][c] for c in range(m.cores_used)]


def test_synapses_per_core_by_hand():
    # A 6x6 plane under a padded 3x3 kernel: 4 corners x 4 + 16 edge neurons x 6 + 16 inside x 9 = 256
    # synapses per channel. Chunks [30, 42]: the first 30 neurons are rows 0-4 of channel 0: row 0 has
    # 2 corners and 4 edges (8 + 24 = 32), rows 1-4 2 edges and 4 inside each (12 + 36 = 48): 32 + 4 x 48
    # = 224; the second chunk holds the other 2 x 256 - 224 = 288. fc: 72 inputs x 3 neurons = 216.
    hw = _loihi(size_kib=1)
    m = map_network(hw, _placeholder(_padded_graph(), 4), {"conv1": (30, 42)})
    assert _held(m) == [0, 224, 288, 216]
    assert m.synaptic_memory["max_synapses_per_core"] == 288
    assert m.synaptic_memory["overfull"] == []
    assert m.layers["conv1"].weight_bits == 512 * 8        # per_synapse: every synapse stored, 8 bits each


def test_an_overfull_core_is_refused_naming_it():
    # 0.25 KiB = 2,048 bits = 256 synapses of 8 bits: the 288 of core 2 do not fit, core 1's 224 do
    hw = _loihi(size_kib=0.25)
    with pytest.raises(UserError) as err:
        map_network(hw, _placeholder(_padded_graph(), 4), {"conv1": (30, 42)})
    assert err.value.field == "mapping"
    assert err.value.message == "core 2 (conv1) holds 288 synapses x 8 bits = 0.3 KiB > 0.25 KiB synaptic memory"
    m = map_network(hw, _placeholder(_padded_graph(), 4), {"conv1": (30, 42)}, refuse_overfull=False)
    assert m.synaptic_memory["overfull"] == [{"core": 2, "layers": ["conv1"], "synapses": 288, "kib": 0.281}]
    assert any("synaptic memory overfull on 1 cores" in n for n in m.notes)


def test_bits_per_synapse_scale_the_need():
    # 0.25 KiB = 2,048 bits. 9 bits: 224 x 9 = 2,016 and 216 x 9 = 1,944 fit, 288 x 9 = 2,592 does not;
    # 10 bits: 2,240, 2,880 and 2,160: none fits
    m = map_network(_loihi(size_kib=0.25, bits_per_synapse=9), _placeholder(_padded_graph(), 4), {"conv1": (30, 42)},
                    refuse_overfull=False)
    assert [o["core"] for o in m.synaptic_memory["overfull"]] == [2]
    m = map_network(_loihi(size_kib=0.25, bits_per_synapse=10), _placeholder(_padded_graph(), 4),
                    {"conv1": (30, 42)}, refuse_overfull=False)
    assert [o["core"] for o in m.synaptic_memory["overfull"]] == [1, 2, 3]


def test_shared_kernel_is_the_default_and_checks_nothing():
    raw = yaml.safe_load(LOIHI.read_text())
    for key in ("storage", "bits_per_synapse"):
        raw["core"]["weight_sram"].pop(key)
    hw = config_from_dict(raw, "loihi_kernel.yaml", ROOT / "hwconfigs")
    assert hw.core.weight_sram.storage == "shared_kernel"
    assert "storage" not in hw.model_dump()["core"]["weight_sram"]     # sweep point hashes as before
    raw["core"]["weight_sram"]["size_kib"] = 0.25   # 2,048 bits: kernel 144, fc 1,728 fit; 288 synapses (2,304) would not
    hw = config_from_dict(raw, "loihi_kernel.yaml", ROOT / "hwconfigs")
    m = map_network(hw, _placeholder(_padded_graph(), 4), {"conv1": (30, 42)})
    assert m.synaptic_memory is None
    assert m.layers["conv1"].weight_bits == 18 * 8           # the kernel: 2 x 1 x 3 x 3 weights


@pytest.mark.parametrize("fields,message", [
    ({"storage": "per_synapse", "bits_per_synapse": None}, "needs bits_per_synapse"),
    ({"storage": "shared_kernel", "bits_per_synapse": 8}, "applies to storage 'per_synapse' only"),
    ({"storage": "per_neuron"}, "core.weight_sram.storage"),
])
def test_storage_fields_are_checked(fields, message):
    with pytest.raises(UserError, match=message):
        _loihi(**fields)


def test_dvs_gesture_on_loihi_default_packing_is_refused():
    """archsim's own packing (1,024 neurons per core) puts all 891 conv4 neurons on one core: 891 x 64 x 9
    = 513,216 synapses, 501.2 KiB at 8 bits."""
    spec = load_any(ROOT / "workloads" / "validation" / "dvs_gesture.yaml")
    hw = load_config(LOIHI)
    with pytest.raises(UserError, match=r"core 19 \(conv4\) holds 513,216 synapses x 8 bits = 501.2 KiB > 128 KiB "
                                        r"synaptic memory \(and 13 more cores\)"):
        map_network(hw, _placeholder(spec.graph(), 4))


def test_dvs_gesture_tutorial_placement_overfills_the_conv3_cores():
    """The tutorial's [1, 4, 16, 16, 4, 1] cores: 7,744 / 16 = 484 conv3 neurons per core, 32 x 9 = 288
    synapses each: 139,392 synapses = 136.1 KiB; conv4's last core holds 225 x 576 = 129,600 = 126.6 KiB
    and fits."""
    spec = load_any(ROOT / "workloads" / "validation" / "dvs_gesture.yaml")
    m = map_network(load_config(LOIHI), _placeholder(spec.graph(), 4), spec.placement, refuse_overfull=False)
    over = m.synaptic_memory["overfull"]
    assert [o["core"] for o in over] == list(range(21, 37))
    assert {(o["synapses"], o["kib"]) for o in over} == {(139_392, 136.125)}
    assert m.synaptic_memory["per_core"][40] == 225 * 576


def test_run_command_refuses_a_network_loihi_cannot_hold():
    proc = subprocess.run([sys.executable, "-m", "archsim", "run", str(LOIHI), str(ROOT / "workloads" / "small_c10_quartz.npz"),
                           "--samples", "1"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and ": mapping: core " in lines[0] and "synaptic memory" in lines[0], proc.stderr

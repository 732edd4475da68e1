"""Static energy under power gating (hwconfig ``power``), against a hand computation from the 45 nm YAML
(read here, not through archsim.energy) and the run's own mapping and busy times."""
from __future__ import annotations

import numpy as np
import pytest
import yaml

from archsim.simulate import run_simulation

from .conftest import ENERGY_45, ROOT, make_hw


def _per_core_mw(hw):
    t = yaml.safe_load(open(ENERGY_45))["components"]
    logic = t["pe_array"]["static_mw"] + t["neuron_unit"]["static_mw"]
    kib = {m: getattr(hw.core, m).size_kib for m in ("weight_sram", "potential_sram", "spike_buffer")}
    return logic, t["router"]["static_mw"], {m: k * t["sram"]["static_mw_per_kib"] for m, k in kib.items()}, t


@pytest.mark.parametrize("retention", [False, True])
def test_gated_unused_cores_and_retention_by_hand(hand_workload, retention):
    over = {"mesh.cols": 20, "power.gate_unused_cores": True, "power.residual_off": 0.1,
            "power.idle_sram": "retention" if retention else "on", "power.residual_retention": 0.15}
    hw = make_hw(**over)
    res = run_simulation(hw, hand_workload, mode="simpy", baseline=False)
    s, sec = res.summary, res.summary.seconds
    used = sorted(c for g in res.mapping.groups for c in g.cores)
    unused = hw.n_cores - len(used)
    assert unused > 0
    logic, router, sram, t = _per_core_mw(hw)
    busy = np.zeros(hw.n_cores)
    for g in res.mapping.groups:
        busy[list(g.cores)] = res.trace.group_busy[g.index] / (hw.clock_mhz * 1e6)
    idle = 0.15 if retention else 1.0
    live = sum(busy[c] + (sec - busy[c]) * idle for c in used) + unused * sec * 0.1
    dram = yaml.safe_load(open(ROOT / "hwconfigs" / "energy" / "dram.yaml"))["standards"]["ddr4_2400"]
    expected_mw_s = (logic * (len(used) * sec + unused * sec * 0.1) + router * hw.n_cores * sec
                     + sum(sram.values()) * live
                     + (t["link"]["static_mw"] * len(res.mapping.links) + t["controller"]["static_mw"]
                        + dram["background_mw"]) * sec)
    assert s.energy_static_j == pytest.approx(expected_mw_s * 1e-3, rel=1e-9)


def test_empty_banks_are_gated(hand_workload):
    """conv1's 864 weight bits sit in one of the two 32 KiB weight banks of its core: the other is off."""
    on = run_simulation(make_hw(), hand_workload, baseline=False).summary
    gated = run_simulation(make_hw(**{"power.gate_empty_banks": True, "power.residual_off": 0.0}),
                           hand_workload, baseline=False).summary
    assert on.seconds == gated.seconds
    w_on = on.energy_detail_j["weight_sram"]["static"]
    # every core holds a few weights in one of its 2 banks and fewer potentials than one bank: half of each
    assert gated.energy_detail_j["weight_sram"]["static"] == pytest.approx(w_on / 2)
    assert gated.energy_detail_j["potential_sram"]["static"] == pytest.approx(
        on.energy_detail_j["potential_sram"]["static"] / 2)


def test_leakage_scale_scales_on_chip_static_only(hand_workload):
    base = run_simulation(make_hw(), hand_workload, baseline=False).summary
    ten = run_simulation(make_hw(**{"power.leakage_scale": 10.0}), hand_workload, baseline=False).summary
    dram = base.energy_detail_j["offchip"]["static"]
    assert ten.energy_detail_j["offchip"]["static"] == pytest.approx(dram)      # DRAM background is not leakage
    assert ten.energy_static_j - dram == pytest.approx(10 * (base.energy_static_j - dram))
    assert ten.energy_dynamic_j == pytest.approx(base.energy_dynamic_j)

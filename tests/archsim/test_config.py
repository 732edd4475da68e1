"""The hwconfig and energy-table models: what they accept, and the one-line errors they give."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from archsim.hwconfig import load_energy_table, REQUIRED_ACTIONS, config_from_dict, load_config
from archsim.inputs import read_yaml
from archsim.errors import UserError

from .conftest import ROOT, TINY_RAW, make_hw, set_dotted


def _raw(**overrides):
    raw = copy.deepcopy(TINY_RAW)
    for k, v in overrides.items():
        set_dotted(raw, k, v)
    return raw


@pytest.mark.parametrize("path", sorted((ROOT / "hwconfigs").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_hwconfigs_load(path):
    hw = load_config(path)
    assert hw.n_cores >= 1 and hw.energy is not None


@pytest.mark.parametrize("table", sorted(p for p in (ROOT / "hwconfigs" / "energy").glob("*.yaml")
                                          if p.name not in ("dram.yaml", "chip_links.yaml")), ids=lambda p: p.name)
def test_shipped_energy_tables_price_every_action(table):
    raw = yaml.safe_load(table.read_text())
    for comp, actions in REQUIRED_ACTIONS.items():
        for a in actions:
            have = raw["components"][comp]["actions"]
            if comp == "router" and a == "hop":         # or one price per direction
                assert "hop" in have or all(f"hop_{d}" in have for d in ("east", "west", "north", "south"))
            else:
                assert a in have
    # every number in a shipped table says where it comes from
    for line in table.read_text().splitlines():
        if "energy_pj:" in line and not line.strip().startswith("- {"):
            assert "#" in line, f"{table.name}: no source comment on: {line.strip()}"
    load_energy_table(table)


def test_dotted_path_in_errors():
    with pytest.raises(UserError) as e:
        config_from_dict(_raw(**{"router.hop_latency_cycles": 0}), "x.yaml", ROOT / "hwconfigs")
    assert e.value.field == "router.hop_latency_cycles"
    with pytest.raises(UserError) as e:
        config_from_dict(_raw(**{"core.pe_array.adds_per_cycle": 3}), "x.yaml", ROOT / "hwconfigs")
    assert e.value.field == "core.pe_array.adds_per_cycle" and e.value.message.startswith("unknown key 'adds_per_cycle'")
    with pytest.raises(UserError) as e:
        config_from_dict(_raw(**{"mesh.core_positions": [[0, 0], [0, 0]]}), "x.yaml", ROOT / "hwconfigs")
    assert "two cores on one mesh position" in str(e.value)


def test_missing_energy_table_file():
    with pytest.raises(UserError) as e:
        config_from_dict(_raw(energy_table="energy/none.yaml"), "x.yaml", ROOT / "hwconfigs")
    assert e.value.field == "energy_table"


def test_bank_larger_than_every_table_row():
    with pytest.raises(UserError) as e:
        config_from_dict(_raw(**{"core.weight_sram.size_kib": 4096, "core.weight_sram.banks": 1}), "x.yaml",
                         ROOT / "hwconfigs")
    assert "no row for the 4096 KiB banks of core.weight_sram" in str(e.value)


def test_read_yaml_rejects_a_list(tmp_path):
    p = tmp_path / "list.yaml"
    p.write_text("- 1\n- 2\n")
    with pytest.raises(UserError, match="mapping"):
        read_yaml(p)


def test_snake_order_and_explicit_positions():
    hw = make_hw(**{"mesh.rows": 2, "mesh.cols": 3})
    assert hw.mesh.positions() == [(0, 0), (0, 1), (0, 2), (1, 2), (1, 1), (1, 0)]
    hw = make_hw(**{"mesh.rows": 2, "mesh.cols": 3, "mesh.core_positions": [[1, 2], [0, 0]]})
    assert hw.n_cores == 2 and hw.mesh.positions() == [(1, 2), (0, 0)]


def test_resolved_config_inlines_the_energy_table():
    hw = make_hw()
    r = hw.resolved()
    assert r["hwconfig"]["name"] == "tiny-test" and r["energy_table_loaded"]["name"] == "horowitz-45nm"


def test_sweep_style_override_round_trip():
    """The sweep edits the raw dict by dotted paths and calls config_from_dict."""
    raw = read_yaml(ROOT / "hwconfigs" / "default.yaml")
    raw["core"]["pe_array"]["accumulates_per_cycle"] = 32
    hw = config_from_dict(raw, "default.yaml", Path(ROOT / "hwconfigs"))
    assert hw.core.pe_array.accumulates_per_cycle == 32


def test_dram_table_cites_every_number():
    """hwconfigs/energy/dram.yaml: every standard prices reads, writes, activations and background, and each
    number says where it comes from."""
    from archsim.hwconfig import DramTable
    path = ROOT / "hwconfigs" / "energy" / "dram.yaml"
    table = DramTable.model_validate(yaml.safe_load(path.read_text()))
    assert {"ddr3_1600", "ddr4_2400", "lpddr4_3200", "hbm2"} <= set(table.standards)
    for line in path.read_text().splitlines():
        if any(k in line for k in ("_pj_per_bit:", "activate_pj:", "background_mw:", "bandwidth_gbps:")):
            assert "#" in line, f"no source comment on: {line.strip()}"

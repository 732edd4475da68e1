"""archsim.units: every stage loops over the registered hardware units, and a new block is one module.

The energy table here is test_energy_widths' custom one (a distinct price for every action, leakage
everywhere, axon units included) plus a dendrite accumulator (archsim/units/dendrite.py, present because
the table prices it) and a conv synapse unit the hwconfig names for conv layers. Prices are read from the
table written here, never through archsim.energy or archsim.hwconfig's price helpers.
"""
from __future__ import annotations

import copy

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archsim import units
from archsim.timing.barrier import layer_core_ns
from archsim.hwconfig import config_from_dict
from archsim.counts import item_counts
from archsim.energy import dynamic_j
from archsim.errors import UserError
from archsim.exit_policy import plan_exits
from archsim.mapping import map_network
from archsim.simulate import run_simulation
from archsim.synthetic import synthetic_workload
from archsim.workload import save_workload

from .conftest import ROOT, TINY_RAW, make_hw, make_workload, set_dotted
from .test_energy_widths import CUSTOM, DRAM, flit_pj, pj, sram_pj
from .test_errors import assert_one_line_error, run_cli

DENDRITE_PJ, DENDRITE_MW = 0.37, 0.009
TABLE = copy.deepcopy(CUSTOM)
TABLE["components"].update({
    "dendrite": {"static_mw": DENDRITE_MW, "actions": {"update": {"energy_pj": DENDRITE_PJ}}},
    "conv_syn": {"static_mw": 0.006, "actions": {"accumulate": {"energy_pj": 0.19}}},
})
NAMED = {"units.synapse": {"default": "pe_array", "by_op": {"conv": "conv_syn"}}}
CHIPS = {"mesh.chips": {"rows": 1, "cols": 2}}                # two chips: the chip-to-chip link unit is there
CHIP_LINK = yaml.safe_load((ROOT / "hwconfigs" / "energy" / "chip_links.yaml").read_text())["standards"]
OPS = {"conv1": "conv", "conv2": "conv", "fc": "linear"}      # the tiny graph's placed layers
GRAPH = make_workload([[1]], [[1]]).graph                      # with its neuron records


def _write(tmp_path_factory, name: str, table: dict):
    path = tmp_path_factory.mktemp("units") / name
    path.write_text(yaml.safe_dump(table))
    return path


@pytest.fixture(scope="module")
def table_path(tmp_path_factory):
    return _write(tmp_path_factory, "with_dendrite.yaml", TABLE)


@pytest.fixture(scope="module")
def plain_path(tmp_path_factory):
    plain = copy.deepcopy(TABLE)
    del plain["components"]["dendrite"]
    return _write(tmp_path_factory, "no_dendrite.yaml", plain)


def row_pj(hw, row, layer: str) -> float:
    """Picojoules of one count of ``row`` on ``layer``, from the table written here."""
    t = TABLE["components"]
    if row.pricing == "sram":
        mem = getattr(hw.core, row.component)
        return sram_pj(t, row.action, mem.size_kib, mem.banks, mem.port_bits)
    if row.pricing == "hop":
        return flit_pj(t, "router", row.action if row.action in t["router"]["actions"] else "hop", hw.router.flit_bits)
    if row.pricing == "chip_link":
        return CHIP_LINK[hw.mesh.chips.link]["energy_pj_per_bit"] * hw.router.flit_bits
    if row.pricing == "dram":
        d = DRAM[hw.offchip.standard]
        return {"read": d["read_pj_per_bit"] * hw.offchip.access_bits, "activate": d["activate_pj"],
                "write": d["write_pj_per_bit"] * hw.offchip.access_bits}[row.action]
    comp = {"synapse": "conv_syn" if OPS[layer] == "conv" else "pe_array", "neuron": "neuron_unit"}.get(
        row.pricing, row.component)
    return flit_pj(t, comp, row.action, hw.router.flit_bits) if comp == "link" else pj(t, comp, row.action)


def test_the_table_prices_every_row_of_every_registered_unit(table_path):
    """So that the property below exercises every unit: all are on this system, every row costs something."""
    hw = make_hw(energy_table=str(table_path), **NAMED, **CHIPS)
    assert [u.NAME for u in units.present(hw)] == [u.NAME for u in units.REGISTRY]
    for row in units.rows():
        assert all(row_pj(hw, row, layer) > 0 for layer in OPS), row


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(st.data())
def test_dynamic_energy_is_counts_times_table_over_the_registry(table_path, data):
    hw = make_hw(energy_table=str(table_path), **NAMED, **CHIPS)
    layers = list(OPS)
    counts = {c: np.array(data.draw(st.lists(st.integers(0, 10**6), min_size=3, max_size=3)), dtype=np.float64)
              for c in units.count_names()}
    want = sum(counts[row.count][i] * row_pj(hw, row, layer) for row in units.rows() for i, layer in enumerate(layers))
    assert float(dynamic_j(hw, GRAPH, layers, counts).sum()) == pytest.approx(want * 1e-12, rel=1e-12)


@pytest.mark.parametrize("mode", ["analytic", "simpy"])
def test_dendrite_counts_and_energy_by_hand(hand_workload, table_path, plain_path, mode):
    """One dendrite update per synaptic event: conv2 50 per executed conv1 spike (35), fc 4 per conv2 spike
    (18); conv1 multiplies its pixels in (no synaptic events). The unit adds its own energy and nothing
    else: counts, timing and every other component are those of the chip without it."""
    res = run_simulation(make_hw(energy_table=str(table_path), **NAMED), hand_workload, mode=mode, baseline=False)
    base = run_simulation(make_hw(energy_table=str(plain_path), **NAMED), hand_workload, mode=mode, baseline=False)
    s, b = res.summary, base.summary
    updates = 50 * 35 + 4 * 18
    assert s.counts["dendrite_updates"] == updates == s.counts["accumulates"]
    assert list(res.per_layer["dendrite_updates"]) == [0, 50 * 35, 4 * 18]
    assert {k: v for k, v in s.counts.items() if k != "dendrite_updates"} == b.counts
    assert "dendrite_updates" not in b.counts and "dendrite" not in b.energy_breakdown_j
    assert "dendrite" not in b.energy_by_role_j
    np.testing.assert_array_equal(res.timing.held, base.timing.held)     # it never sets the pace
    assert s.seconds == b.seconds
    assert res.mapping.cores_used == 3 and make_hw().n_cores == 3        # every core on: no gating
    dyn, static = updates * DENDRITE_PJ * 1e-12, DENDRITE_MW * 1e-3 * 3 * s.seconds
    assert s.energy_detail_j["dendrite"] == pytest.approx({"dendrite_updates": dyn, "static": static}, rel=1e-12)
    assert s.energy_by_role_j["dendrite"] == pytest.approx(dyn, rel=1e-12)
    assert s.energy_j - b.energy_j == pytest.approx(dyn + static, rel=1e-9)
    for comp, j in b.energy_breakdown_j.items():
        assert s.energy_breakdown_j[comp] == pytest.approx(j, rel=1e-12), comp


def test_per_timestep_spill_streams_the_fullest_cores_overflow_by_hand(hand_workload):
    """conv2 (2,304 weight bits) cut into 2 cores of 64 neurons (max_share 1/2) with 576-bit weight SRAMs:
    each core needs 1,152 bits, half spill. Per item the two cores stream 2 x 576 = 1,152 bits = 18 words;
    the SRAM serves the other half of conv2's 7 words per conv1 spike (10 | 0, 7, 3 | 15, 0 spikes run):
    70 - 35, 0, 49 - 25, 21 - 11, 105 - 53, 0 (halves rounded up off chip)."""
    hw = make_hw(**{"mesh.cols": 7, "core.weight_sram.size_kib": 576 / 8192, "core.weight_sram.banks": 1,
                    "mapping.split": "neurons", "mapping.max_neurons_per_core": 64})
    res = run_simulation(hw, hand_workload, mode="analytic", baseline=False)
    conv2 = res.mapping.layers["conv2"]
    assert conv2.neurons_per_core == (64, 64) and conv2.spill_fraction == 0.5
    rows = res.per_layer.set_index("layer")
    assert rows.loc["conv2", "weight_spill_words"] == 18 * 6
    assert rows.loc["conv2", "weight_reads"] == 35 + 0 + 24 + 10 + 52 + 0
    assert res.summary.counts["offchip_reads"] == 24 * 3 + 18 * 6      # the images + the stream


def _timed(table: dict) -> dict:
    """The table with a latency on every event the barrier mode times (ns: distinct per event)."""
    timed = copy.deepcopy(table)
    lat = {("pe_array", "accumulate"): 3.0, ("conv_syn", "accumulate"): 5.0, ("neuron_unit", "access"): 7.0,
           ("neuron_unit", "update"): 11.0, ("neuron_unit", "spike_out"): 13.0, ("axon_out", "packet"): 17.0,
           ("axon_in", "packet"): 19.0, ("dendrite", "update"): 23.0}
    for (comp, action), ns in lat.items():
        if comp in timed["components"]:
            timed["components"][comp]["actions"][action]["latency_ns"] = ns
    return timed


def test_barrier_times_the_dendrite_in_the_message_phase(tmp_path):
    path = tmp_path / "timed.yaml"
    path.write_text(yaml.safe_dump(_timed(TABLE)))
    hw = make_hw(energy_table=str(path), **NAMED, **{"timing.mode": "barrier"})
    load = {"neuron_accesses": 2.0, "neuron_updates": 3.0, "spikes_out": 5.0, "packets": 7.0,
            "packets_received": 11.0, "accumulates": 13.0, "macs": 17.0, "dendrite_updates": 13.0}
    neuron, message = layer_core_ns(hw, GRAPH, "conv2", {k: np.array([[[v]]]) for k, v in load.items()})
    assert float(neuron[0, 0, 0]) == pytest.approx(2 * 7 + 3 * 11 + 5 * 13 + 7 * 17)
    # conv2's synaptic events by the conv synapse unit (5 ns), MACs untimed (no latency: 0), the dendrite 23 ns
    assert float(message[0, 0, 0]) == pytest.approx(11 * 19 + 13 * 5 + 13 * 23)


def test_dendrite_core_load_is_each_cores_synaptic_events(hand_workload, tmp_path):
    """What the barrier timing charges the dendrite per core: the synaptic events each core receives,
    conv2's 50 per conv1 spike (61 over all items) and fc's 4 per conv2 spike (33)."""
    path = tmp_path / "timed.yaml"
    path.write_text(yaml.safe_dump(_timed(TABLE)))
    hw = make_hw(energy_table=str(path), **NAMED, **{"timing.mode": "barrier"})
    mapping = map_network(hw, hand_workload)
    load = item_counts(hw, mapping, hand_workload, plan_exits(hand_workload, "fixed")).core_load
    for name in mapping.order:
        np.testing.assert_array_equal(load[name]["dendrite_updates"], load[name]["accumulates"])
    assert load["conv2"]["dendrite_updates"].sum() == pytest.approx(50 * 61)
    assert load["fc"]["dendrite_updates"].sum() == pytest.approx(4 * 33)


def test_a_mac_bound_first_layer_is_paced_by_the_pe_array(hand_workload):
    """conv1 multiplies its 192 pixels in at t1 only (first_layer_reuse): 5,808 MACs at 1 per cycle on
    its one core, more than its 768 weight words over 2 banks (384 + 1) or 24 spike-buffer words."""
    res = run_simulation(make_hw(**{"core.pe_array.macs_per_cycle": 1}), hand_workload, mode="analytic",
                         baseline=False)
    li = res.mapping.order.index("conv1")
    assert res.mapping.layers["conv1"].cores == (0,)
    assert (res.timing.compute[:, li, 0] == 5808).all()


def test_barrier_refuses_a_dendrite_without_latency(tmp_path):
    timed = _timed(TABLE)
    del timed["components"]["dendrite"]["actions"]["update"]["latency_ns"]
    path = tmp_path / "untimed_dendrite.yaml"
    path.write_text(yaml.safe_dump(timed))
    with pytest.raises(UserError) as err:
        make_hw(energy_table=str(path), **NAMED, **{"timing.mode": "barrier"})
    assert err.value.source == str(path) and err.value.field == "components.dendrite.actions.update.latency_ns"


def test_a_unit_missing_its_table_row_is_refused_in_one_line(tmp_path):
    bad = copy.deepcopy(TABLE)
    bad["components"]["dendrite"]["actions"] = {"updates": {"energy_pj": DENDRITE_PJ}}     # misspelt
    table = tmp_path / "bad_dendrite.yaml"
    table.write_text(yaml.safe_dump(bad))
    hw = tmp_path / "hw.yaml"
    hw.write_text(yaml.safe_dump(set_dotted(copy.deepcopy(TINY_RAW), "energy_table", str(table))))
    wl = save_workload(tmp_path / "tiny.npz", synthetic_workload("tiny", 2, 2, classes=4))
    proc = run_cli(hw, wl, "--mode", "analytic", "--out", tmp_path / "out")
    assert_one_line_error(proc, str(table), "components.dendrite.actions.update", "'dendrite'")
    assert not (tmp_path / "out").exists()


def test_report_static_split_equals_the_energy_static_by_scope(hand_workload, table_path):
    """Every per-core component's leakage (axon units, the dendrite and the hwconfig-named conv synapse
    included) is split over the layers; links, the controller and the DRAM are the rest."""
    res = run_simulation(make_hw(energy_table=str(table_path), **NAMED), hand_workload, mode="simpy", baseline=False)
    s, detail = res.summary, res.summary.energy_detail_j
    layer_j, rest = res.energy.static_layer_j, res.energy.static_rest_j
    per_core = ("pe_array", "conv_syn", "dendrite", "neuron_unit", "weight_sram", "potential_sram", "spike_buffer",
                "axon_out", "axon_in", "router")
    assert all(detail[c]["static"] > 0 for c in per_core)
    assert sorted(res.per_layer["cores"]) == [1, 1, 1] and res.mapping.cores_used == 3    # one layer per core
    np.testing.assert_allclose(layer_j, sum(detail[c]["static"] for c in per_core) / 3, rtol=1e-12)
    assert rest == pytest.approx(sum(detail[c]["static"] for c in ("link", "controller", "offchip")), rel=1e-9)
    assert layer_j.sum() + rest == pytest.approx(s.energy_static_j, rel=1e-12)



def test_static_split_shares_a_core_among_the_layers_it_holds():
    from archsim.energy import static_split
    # 4 cores leak 8 J of PE-array static (2 J each); links 2 J, no layer's. Layer a on core 0, layer b on
    # cores 0 and 1: core 0's 2 J is halved, core 1's goes to b; cores 2 and 3 (unused) are the rest.
    detail = {"pe_array": {"accumulates": 5.0, "static": 8.0}, "link": {"static": 2.0}, "controller": {"decisions": 1.0}}
    layer_j, rest = static_split(detail, 10.0, [(0,), (0, 1)], 4)
    np.testing.assert_allclose(layer_j, [1.0, 3.0])
    assert rest == pytest.approx(6.0)

def test_static_scope_of_each_leaking_component_is_its_units(table_path):
    hw = make_hw(energy_table=str(table_path), **NAMED)
    comps = units.static_components(hw)
    assert {c: units.static_scope(c) for c, _ in comps} == dict(comps)
    assert dict(comps)["conv_syn"] == dict(comps)["pe_array"] == "core"


def test_a_unit_may_only_make_its_own_counts(hand_workload, monkeypatch):
    from archsim.units import dendrite, spike_buffer
    real = spike_buffer.count
    monkeypatch.setattr(spike_buffer, "count", lambda ctx: {**real(ctx), "dendrite_updates": ctx.out_spikes})
    assert dendrite.NAME not in {u.NAME for u in units.present(make_hw())}
    with pytest.raises(RuntimeError, match="spike_buffer made counts it does not declare"):
        run_simulation(make_hw(), hand_workload, mode="analytic", baseline=False)


def test_required_table_is_what_the_units_every_chip_has_require(tmp_path):
    """The dendrite is optional (present when priced); the others' required rows make the table's floor."""
    req = units.required_table()
    assert "dendrite" not in req and req["sram"] == ("read", "write") and req["router"] == ("hop",)
    raw = yaml.safe_load((ROOT / "hwconfigs" / "energy" / "45nm.yaml").read_text())
    del raw["components"]["controller"]
    (tmp_path / "no_controller.yaml").write_text(yaml.safe_dump(raw))
    with pytest.raises(UserError) as err:
        config_from_dict({**copy.deepcopy(TINY_RAW), "energy_table": str(tmp_path / "no_controller.yaml")}, "hw.yaml", ROOT)
    assert err.value.field == "components.controller"


def test_flits_and_the_initial_weight_load_by_hand():
    """Found untested by the mutation sample (the suite's chips all had one flit per packet): with 8-bit flits
    a packet of 16 header + 16 event bits is 4 flits, so flits = 4 x packets and flit-hops = 4 x packet-hops.
    The tiny network's 108 + 288 + 32 = 428 weights of 8 bits (3,424 bits) load once from DRAM in 64-bit
    accesses: 54 reads (and 54 port-wide weight writes), one 8 KiB DRAM row."""
    wl = make_workload([[40, 90, 10], [5, 200, 30]], [[10, 30, 2], [60, 1, 20]])
    s = run_simulation(make_hw(**{"router.flit_bits": 8}), wl, mode="analytic", baseline=False).summary
    c = s.counts
    assert c["packets"] > 0 and c["packet_hops"] > 0
    assert c["flits"] == 4 * c["packets"] and c["flit_hops"] == 4 * c["packet_hops"]
    assert s.counts_setup == {"weight_writes": 54, "offchip_reads": 54, "offchip_activations": 1}

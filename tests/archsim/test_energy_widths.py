"""energy = counts x table + static power x time, over every port and flit width, every energy table
(45 nm, 28 nm and a custom one written here with a price for every action, distinct read and write prices,
per-direction hops and non-zero link leakage), and off-chip accesses of other widths than the ports
(issue 21). The prices are read from the YAML files here, never through archsim.energy or archsim.hwconfig's
price helpers."""
from __future__ import annotations

import numpy as np
import pytest
import yaml

from archsim.counts import item_counts
from archsim.energy import Activity, dynamic_j, energy_report, static_j
from archsim.exit_policy import plan_exits
from archsim.mapping import map_network
from archsim.simulate import run_simulation

from .conftest import ROOT, make_hw

ENERGY = ROOT / "hwconfigs" / "energy"
DRAM = yaml.safe_load((ENERGY / "dram.yaml").read_text())["standards"]

# A table that prices every action (optional ones too) at a distinct value, memories per 32 bits,
# writes dearer than reads, hops per direction, and leakage everywhere, links included.
CUSTOM = {
    "name": "custom-test", "technology_nm": 22, "source": "made up for the tests",
    "components": {
        "pe_array": {"static_mw": 0.07, "actions": {"accumulate": {"energy_pj": 0.11}, "mac": {"energy_pj": 0.23}}},
        "neuron_unit": {"static_mw": 0.05, "actions": {"access": {"energy_pj": 0.013}, "update": {"energy_pj": 0.17},
                                                       "spike_out": {"energy_pj": 0.29}}},
        "sram": {"static_mw_per_kib": 0.031, "access_bits": 32, "actions": {
            "read": {"by_bank_kib": [{"up_to_kib": 4, "energy_pj": 3.0}, {"up_to_kib": 16, "energy_pj": 5.0},
                                     {"up_to_kib": 64, "energy_pj": 9.0}, {"up_to_kib": 1024, "energy_pj": 40.0}]},
            "write": {"by_bank_kib": [{"up_to_kib": 4, "energy_pj": 4.5}, {"up_to_kib": 16, "energy_pj": 7.0},
                                      {"up_to_kib": 64, "energy_pj": 13.0}, {"up_to_kib": 1024, "energy_pj": 55.0}]}}},
        "router": {"static_mw": 0.4, "access_bits": 32, "actions": {
            "hop_east": {"energy_pj": 1.1}, "hop_west": {"energy_pj": 1.3}, "hop_north": {"energy_pj": 1.7},
            "hop_south": {"energy_pj": 1.9}}},
        "link": {"static_mw": 0.021, "access_bits": 32, "actions": {"flit": {"energy_pj": 0.7}}},
        "controller": {"static_mw": 0.02, "actions": {"decision": {"energy_pj": 77.0}}},
        "axon_out": {"static_mw": 0.003, "actions": {"packet": {"energy_pj": 2.2}}},
        "axon_in": {"static_mw": 0.004, "actions": {"packet": {"energy_pj": 3.3}}},
    },
}
DIRS = ("east", "west", "north", "south")
MEMS = {"weight_sram": ("weight_reads", "weight_writes"), "potential_sram": ("potential_reads", "potential_writes"),
        "spike_buffer": ("spike_buffer_reads", "spike_buffer_writes")}


@pytest.fixture(scope="module")
def custom_table(tmp_path_factory):
    path = tmp_path_factory.mktemp("energy") / "custom.yaml"
    path.write_text(yaml.safe_dump(CUSTOM))
    return path


def table_of(name, custom_path):
    path = custom_path if name == "custom" else ENERGY / f"{name}.yaml"
    return str(path), yaml.safe_load(open(path))["components"]


def pj(t, comp, action):
    """A flat price, 0 when the table does not price the action (optional actions)."""
    return t.get(comp, {}).get("actions", {}).get(action, {}).get("energy_pj", 0.0)


def sram_pj(t, action, size_kib, banks, port_bits):
    bank = size_kib / banks
    row = next(r for r in t["sram"]["actions"][action]["by_bank_kib"] if bank <= r["up_to_kib"])
    return row["energy_pj"] * port_bits / t["sram"]["access_bits"]


def flit_pj(t, comp, action, flit_bits):
    return pj(t, comp, action) * (flit_bits / t[comp]["access_bits"] if t[comp].get("access_bits") else 1.0)


def dynamic_pj(t, w, counts, setup, dram):
    """Picojoules of ``counts`` (+ the one-off ``setup``) with table ``t`` and the widths ``w``."""
    c = counts
    e = (c["accumulates"] * pj(t, "pe_array", "accumulate") + c["macs"] * pj(t, "pe_array", "mac")
         + c["neuron_accesses"] * pj(t, "neuron_unit", "access") + c["neuron_updates"] * pj(t, "neuron_unit", "update")
         + c["spikes_out"] * pj(t, "neuron_unit", "spike_out")
         + c["packets"] * pj(t, "axon_out", "packet") + c["packets_received"] * pj(t, "axon_in", "packet")
         + c["flit_hops"] * flit_pj(t, "link", "flit", w["flit"])
         + c["decisions"] * pj(t, "controller", "decision"))
    for d in DIRS:
        action = f"hop_{d}" if f"hop_{d}" in t["router"]["actions"] else "hop"
        e += c[f"flit_hops_{d}"] * flit_pj(t, "router", action, w["flit"])
    for mem, (reads, writes) in MEMS.items():
        size, banks, port = w[mem]
        e += c[reads] * sram_pj(t, "read", size, banks, port) + c[writes] * sram_pj(t, "write", size, banks, port)
    e += setup["weight_writes"] * sram_pj(t, "write", *w["weight_sram"])
    e += (c["offchip_reads"] + setup["offchip_reads"]) * dram["read_pj_per_bit"] * w["offchip"]
    e += c["offchip_writes"] * dram["write_pj_per_bit"] * w["offchip"]
    e += (c["offchip_activations"] + setup["offchip_activations"]) * dram["activate_pj"]
    return e


def static_mw(t, w, n_cores, n_links, dram):
    per_core = sum(t.get(c, {}).get("static_mw", 0.0) for c in ("pe_array", "neuron_unit", "router", "axon_out", "axon_in"))
    kib = sum(w[m][0] for m in MEMS)
    return (n_cores * (per_core + t["sram"]["static_mw_per_kib"] * kib) + n_links * t["link"]["static_mw"]
            + t["controller"]["static_mw"] + dram["background_mw"])


WIDTHS = {   # weight, potential, spike-buffer port bits; flit bits; off-chip access bits
    "32": (32, 32, 32, 32, 32),
    "64": (64, 64, 64, 64, 64),
    "128": (128, 128, 128, 128, 128),
    "mixed": (32, 128, 64, 128, 512),
}


def widths_hw(table_path, key, spill=False, **extra):
    wp, pp, sp, flit, acc = WIDTHS[key]
    over = {"mesh.rows": 2, "mesh.cols": 2, "core.pe_array.accumulates_per_cycle": 1,
            "core.pe_array.macs_per_cycle": 64, "router.flit_bits": flit, "offchip.access_bits": acc,
            "core.weight_sram.port_bits": wp, "core.potential_sram.port_bits": pp,
            "core.spike_buffer.port_bits": sp, "energy_table": table_path, "controller.mode": "speculate"}
    if spill:
        over.update({"core.weight_sram.size_kib": 0.125, "core.weight_sram.banks": 1, "mesh.rows": 1,
                     "mesh.cols": 3})
    over.update(extra)
    hw = make_hw(**over)
    c = hw.core
    w = {m: (getattr(c, m).size_kib, getattr(c, m).banks, getattr(c, m).port_bits) for m in MEMS}
    w.update(flit=flit, offchip=acc)
    return hw, w


@pytest.mark.parametrize("table", ["45nm", "28nm", "custom"])
@pytest.mark.parametrize("key", sorted(WIDTHS))
@pytest.mark.parametrize("spill", [False, True])
def test_energy_is_counts_times_table_at_every_width(hand_workload, custom_table, table, key, spill):
    path, t = table_of(table, custom_table)
    hw, w = widths_hw(path, key, spill)
    res = run_simulation(hw, hand_workload, mode="simpy", baseline=False)
    s = res.summary
    dram = DRAM["ddr4_2400"]
    rows, cols = (1, 3) if spill else (2, 2)
    n_links = 2 * (rows * (cols - 1) + cols * (rows - 1))
    assert len(res.mapping.links) == n_links
    want_dyn = dynamic_pj(t, w, s.counts, s.counts_setup, dram) * 1e-12
    want_static = static_mw(t, w, rows * cols, n_links, dram) * 1e-3 * s.seconds
    assert s.energy_dynamic_j == pytest.approx(want_dyn, rel=1e-9)
    assert s.energy_static_j == pytest.approx(want_static, rel=1e-9)
    assert s.energy_j == pytest.approx(want_dyn + want_static, rel=1e-9)
    # the link leaks per link, not per core (custom table: 0.021 mW x links)
    assert s.energy_detail_j["link"]["static"] == pytest.approx(t["link"]["static_mw"] * n_links * 1e-3 * s.seconds)
    if spill:
        assert s.counts["weight_spill_words"] > 0 and s.counts["offchip_reads"] > 0


@pytest.mark.parametrize("table", ["45nm", "28nm", "custom"])
def test_every_price_row_by_hand(custom_table, table):
    """dynamic_j prices any counts: one of every count on every layer, each priced alone, off-chip writes
    included (no workload makes them, so only this test prices them)."""
    from archsim.actions import COUNTS
    path, t = table_of(table, custom_table)
    hw, w = widths_hw(path, "mixed")
    from .conftest import make_workload
    wl = make_workload([[1]], [[1]])
    layers = ["conv1", "conv2", "fc"]
    zero = {a: np.zeros(3) for a in COUNTS}
    dram = DRAM["ddr4_2400"]
    no_setup = {"weight_writes": 0, "offchip_reads": 0, "offchip_activations": 0}
    for a in COUNTS:
        got = float(np.sum(dynamic_j(hw, wl.graph, layers, {**zero, a: np.array([1.0, 2.0, 4.0])})))
        one = dynamic_pj(t, w, {**{k: 0 for k in COUNTS}, a: 1}, no_setup, dram) * 1e-12
        assert got == pytest.approx(7 * one, rel=1e-12, abs=1e-30), a
    # off-chip: 512-bit accesses at the DDR4 per-bit prices, writes dearer than reads
    write = float(np.sum(dynamic_j(hw, wl.graph, layers, {**zero, "offchip_writes": np.array([1.0, 0, 0])})))
    read = float(np.sum(dynamic_j(hw, wl.graph, layers, {**zero, "offchip_reads": np.array([1.0, 0, 0])})))
    assert write == pytest.approx(16.65 * 512 * 1e-12) and read == pytest.approx(10.51 * 512 * 1e-12)


def test_custom_table_read_and_write_prices_by_hand(custom_table):
    """Hand numbers for the mixed widths on the custom table: weight SRAM 64 KiB / 2 banks = 32 KiB banks ->
    the 64 KiB row (9.0 / 13.0 pJ per 32 bits), 32-bit port: 9.0 and 13.0 pJ; potential 16 / 2 = 8 KiB ->
    the 16 KiB row (5.0 / 7.0), 128-bit port: 20.0 and 28.0 pJ; spike buffer 4 KiB -> the 4 KiB row (3.0 /
    4.5), 64-bit port: 6.0 and 9.0 pJ; a hop east with 128-bit flits 1.1 x 4 = 4.4 pJ, north 6.8 pJ; a
    link flit 0.7 x 4 = 2.8 pJ."""
    hw, w = widths_hw(str(custom_table), "mixed")
    from .conftest import make_workload
    g = make_workload([[1]], [[1]]).graph
    one = {"conv1": 0, "conv2": 1, "fc": 2}

    def price(count):
        v = np.zeros(3)
        v[one["conv2"]] = 1
        return float(np.sum(dynamic_j(hw, g, list(one), {count: v}))) * 1e12

    for count, want in (("weight_reads", 9.0), ("weight_writes", 13.0), ("potential_reads", 20.0),
                        ("potential_writes", 28.0), ("spike_buffer_reads", 6.0), ("spike_buffer_writes", 9.0),
                        ("flit_hops_east", 4.4), ("flit_hops_west", 5.2), ("flit_hops_north", 6.8),
                        ("flit_hops_south", 7.6), ("flit_hops", 2.8), ("packets", 2.2), ("packets_received", 3.3),
                        ("neuron_accesses", 0.013), ("spikes_out", 0.29), ("offchip_activations", 11818.0)):
        assert price(count) == pytest.approx(want), count


def test_static_energy_by_component_by_hand(custom_table):
    """2 x 2 mesh, 4 cores, 8 directed links, 1 s, no gating, on the custom table:
    per core 0.07 + 0.05 + 0.4 + 0.003 + 0.004 mW; SRAM 0.031 mW/KiB x (64 + 16 + 4) KiB; links 8 x 0.021 mW;
    controller 0.02 mW; DDR4 background 163.2 mW. leakage_scale 3 triples the on-chip part only."""
    for scale in (1.0, 3.0):
        hw, _ = widths_hw(str(custom_table), "64", **{"power.leakage_scale": scale})
        act = Activity(1.0, np.ones(4, bool), np.full(4, 0.5), None)
        got = static_j(hw, 8, act)
        mj = lambda mw: mw * 1e-3     # noqa: E731 - over 1 s
        assert got["pe_array"] == pytest.approx(mj(4 * 0.07 * scale))
        assert got["router"] == pytest.approx(mj(4 * 0.4 * scale))
        assert got["axon_out"] == pytest.approx(mj(4 * 0.003 * scale))
        assert got["axon_in"] == pytest.approx(mj(4 * 0.004 * scale))
        assert got["weight_sram"] == pytest.approx(mj(4 * 0.031 * 64 * scale))
        assert got["potential_sram"] == pytest.approx(mj(4 * 0.031 * 16 * scale))
        assert got["spike_buffer"] == pytest.approx(mj(4 * 0.031 * 4 * scale))
        assert got["link"] == pytest.approx(mj(8 * 0.021 * scale))
        assert got["controller"] == pytest.approx(mj(0.02 * scale))
        assert got["offchip"] == pytest.approx(mj(163.2))


def test_static_energy_with_gating_by_hand(custom_table):
    """Cores 0, 1 hold layers (busy 0.25 s and 0.5 s of a 1 s run), cores 2, 3 hold none: gated to
    residual_off 0.1. Used cores' SRAM in retention (0.15) while idle; empty banks: core 0's weight SRAM
    holds data in 1 of 2 banks (the other is off, at 0.1), the others hold none.
    logic (pe_array): 0.07 x (1 + 1 + 0.1 + 0.1); routers stay on: 0.4 x 4.
    live SRAM seconds: core 0 0.25 + 0.75 x 0.15 = 0.3625, core 1 0.5 + 0.5 x 0.15 = 0.575, cores 2, 3 0.1.
    weight SRAM (0.031 x 64 mW per core): core 0 0.5 x 0.3625 + 0.5 x 0.1; cores 1-3: all banks empty: 0.1."""
    hw, _ = widths_hw(str(custom_table), "64", **{"power.gate_unused_cores": True, "power.gate_empty_banks": True,
                                                   "power.idle_sram": "retention"})
    used = np.array([True, True, False, False])
    banks = {"weight_sram": np.array([0.5, 0.0, 0.0, 0.0]), "potential_sram": np.array([1.0, 1.0, 0.0, 0.0]),
             "spike_buffer": np.array([1.0, 1.0, 0.0, 0.0])}
    got = static_j(hw, 8, Activity(1.0, used, np.array([0.25, 0.5, 0.0, 0.0]), banks))
    assert got["pe_array"] == pytest.approx(0.07 * 2.2 * 1e-3)
    assert got["router"] == pytest.approx(0.4 * 4 * 1e-3)
    w = 0.031 * 64
    assert got["weight_sram"] == pytest.approx(w * (0.5 * 0.3625 + 0.5 * 0.1 + 3 * 0.1) * 1e-3)
    p = 0.031 * 16
    assert got["potential_sram"] == pytest.approx(p * (0.3625 + 0.575 + 0.1 + 0.1) * 1e-3)
    assert got["link"] == pytest.approx(8 * 0.021 * 1e-3)


@pytest.mark.parametrize("port, access, want", [
    # conv2's spilled words per item (per_spike: round(block x S1 x 5/9), block = ceil(50 x 8 / port)),
    # over the 6 items that run (conv1 spikes 10 | 0, 7, 3 | 15, 0); each item's words become
    # ceil(words x port / access) off-chip accesses; + the image, ceil(192 x 8 / access) per image, x 3.
    # port 32, block 13: words 72, 0, 51, 22, 108, 0 -> accesses of 128 bits 18, 0, 13, 6, 27, 0 = 64; image 12
    (32, 128, 64 + 3 * 12),
    # port 128, block 4: words round(22.2) = 22, 0, 16, 7, 33, 0 -> of 64 bits 44, 0, 32, 14, 66, 0 = 156; image 24
    (128, 64, 156 + 3 * 24),
    # port 64, block 7: words 39, 0, 27, 12, 58, 0 = 136 -> of 512 bits 5, 0, 4, 2, 8, 0 = 19; image 3
    (64, 512, 19 + 3 * 3),
])
def test_spilled_words_become_off_chip_accesses_of_the_channels_width(hand_workload, port, access, want):
    hw = make_hw(**{"core.weight_sram.size_kib": 0.125, "core.weight_sram.banks": 1, "offchip.spill": "per_spike",
                    "core.weight_sram.port_bits": port, "offchip.access_bits": access})
    c = run_simulation(hw, hand_workload, mode="analytic", baseline=False).summary.counts
    assert c["offchip_reads"] == want
    # one 8 KiB row activation per item that touches the DRAM: 3 images + 4 conv2 items with spikes
    assert c["offchip_activations"] == 3 + 4


def test_setup_energy_is_the_initial_weight_load_by_hand(custom_table):
    """The one-off weight load of the tiny graph (864 + 2304 + 256 = 3424 bits): 3424 / 32 = 107 writes of
    the 32-bit weight port (13.0 pJ each on the custom table) and ceil(3424 / 512) = 7 DDR4 reads of 512 bits
    (10.51 pJ/bit) in ceil(3424 / 65536) = 1 row activation (11,818 pJ)."""
    hw, _ = widths_hw(str(custom_table), "mixed")
    from .conftest import make_workload
    wl = make_workload([[0]], [[0]])
    m = map_network(hw, wl)
    counts = item_counts(hw, m, wl, plan_exits(wl, "fixed"))
    assert counts.setup == {"weight_writes": 107, "offchip_reads": 7, "offchip_activations": 1}
    zero = {a: np.zeros(len(m.order)) for a in counts.actions}
    rep = energy_report(hw, wl.graph, m.order, zero, Activity(0.0, np.zeros(4, bool), np.zeros(4)), len(m.links),
                        counts.setup)
    want = (107 * 13.0 + 7 * 10.51 * 512 + 11818.0) * 1e-12
    assert rep.dynamic_j == pytest.approx(want)
    assert rep.detail_j["weight_sram"]["weight_writes_setup"] == pytest.approx(107 * 13.0e-12)
    assert rep.detail_j["offchip"]["offchip_reads_setup"] == pytest.approx(7 * 10.51 * 512e-12)

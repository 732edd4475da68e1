"""A system of chips (hwconfig ``mesh.chips``): hops on chip and chip-to-chip crossings counted apart, by
hand, on a 2x2 grid of chips of 2x2 cores; their energy as counts x the tables (read from the YAML files
here, never through archsim.energy); a system whose chip links are as fast as its on-chip hops simulates
exactly as one big mesh; one chip is the old model; bad input is one line and exit status 2.

The hand system (router.hop_latency_cycles 1, 100 MHz, buffers of 4 flits): chips in snake order, the
cores of each chip in snake order, so on the 4x4 grid of tiles (row, col)

    chip 0 (0, 0): core 0 (0,0), 1 (0,1), 2 (1,1), 3 (1,0)      chip 1 (0, 1): core 4 (0,2), 5 (0,3), 6 (1,3), 7 (1,2)
    chip 3 (1, 0): core 12 (2,0), 13 (2,1), 14 (3,1), 15 (3,0)  chip 2 (1, 1): core 8 (2,2), 9 (2,3), ...

The network: 8 input spikes (by DMA) -> fc1 (20 neurons) -> fc2 (8 outputs), cut into chunks of at most 4
neurons: fc1 on cores 0-4, fc2 on cores 5 and 6. Every fc1 spike reaches both fc2 cores, (0,3) and (1,3);
a chip boundary lies between columns 1 and 2. XY routes (column first), multicast trees:

    core 0 (0,0): E (0,0)-(0,1), chip (0,1)-(0,2), E (0,2)-(0,3), N (0,3)-(1,3)      3 on chip, 1 crossing
    core 1 (0,1): chip (0,1)-(0,2), E (0,2)-(0,3), N (0,3)-(1,3)                       2, 1
    core 2 (1,1): chip (1,1)-(1,2), E (1,2)-(1,3), S (1,3)-(0,3)                       2, 1
    core 3 (1,0): E (1,0)-(1,1), chip (1,1)-(1,2), E (1,2)-(1,3), S (1,3)-(0,3)        3, 1
    core 4 (0,2): E (0,2)-(0,3), N (0,3)-(1,3)                                         2, 0

so 5 spikes of fc1 (one per core: an even split of 5 over 5 equal chunks) make 5 packets, 12 on-chip
hops (E 7, N 3, S 2) and 4 crossings. Unicast, one packet per destination core, the paths to (0,3) and
(1,3) each: cores 0..4 take 5, 3, 3, 5, 3 on-chip hops and 2, 2, 2, 2, 0 crossings: 19 and 8, 10 packets.
A packet is one flit (16-bit header + 16-bit event in a 64-bit flit).
"""
from __future__ import annotations

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from archsim import graph as lg
from archsim.mapping import map_network
from archsim.mesh import chip_links, link_grid
from archsim.simulate import run_simulation
from archsim.synthetic import synthetic_workload
from archsim.workload import Workload, save_workload

from .conftest import ROOT, make_hw
from .test_errors import assert_one_line_error, run_cli, write_hw

ENERGY = ROOT / "hwconfigs" / "energy"
LINKS = yaml.safe_load((ENERGY / "chip_links.yaml").read_text())["standards"]
TABLE_45 = yaml.safe_load((ENERGY / "45nm.yaml").read_text())["components"]
HAND = {"mesh.rows": 2, "mesh.cols": 2, "mesh.chips": {"rows": 2, "cols": 2}, "mapping.split": "neurons",
        "mapping.max_neurons_per_core": 4}
FC1_CORE_SPIKES = 5          # fc1 spikes per item: one per core


def hand_workload(n: int = 2, t: int = 2) -> Workload:
    g = lg.new_graph((8,), "spikes")
    lg.add_linear(g, "fc1", "input", out_features=20)
    lg.add_linear(g, "fc2", "fc1", out_features=8, spiking=False)
    spikes = np.zeros((n, 3, t), dtype=np.int32)
    spikes[:, 0], spikes[:, 1] = 3, FC1_CORE_SPIKES
    labels = np.arange(n, dtype=np.int32) % 8
    scores = np.full((n, t), 0.2, dtype=np.float32)
    return Workload(g, spikes, labels, np.repeat(labels[:, None], t, axis=1), {"entropy": scores, "confidence": scores},
                    np.full(n, t, dtype=np.int32), {"kind": "rate", "timesteps": t, "arch": "hand-fc"})


def test_every_chip_link_figure_says_where_it_comes_from():
    for line in (ENERGY / "chip_links.yaml").read_text().splitlines():
        key = line.strip().split(":")[0]
        if key in ("energy_pj_per_bit", "bandwidth_gbps", "latency_ns", "static_mw"):
            assert "#" in line, f"no source or 'assumption' on: {line.strip()}"
    assert all(row["latency_ns"] > 0 for row in LINKS.values())


def test_the_hand_systems_cores_sit_chip_by_chip():
    hw = make_hw(**HAND)
    assert hw.n_cores == 16 and hw.mesh.cores_per_chip == 4 and hw.mesh.grid == (4, 4)
    assert hw.mesh.positions()[:8] == [(0, 0), (0, 1), (1, 1), (1, 0), (0, 2), (0, 3), (1, 3), (1, 2)]
    assert hw.mesh.positions()[8:] == [(2, 2), (2, 3), (3, 3), (3, 2), (2, 0), (2, 1), (3, 1), (3, 0)]
    assert hw.mesh.chip_positions() == [(0, 0), (0, 1), (1, 1), (1, 0)]
    # 16 directed chip links: 4 rows x 1 vertical boundary + 4 columns x 1 horizontal boundary, both ways
    assert hw.mesh.n_chip_links == 16 == int(chip_links(link_grid(4, 4), 2, 2).sum())
    m = map_network(hw, hand_workload())
    assert m.layers["fc1"].cores == (0, 1, 2, 3, 4) and m.layers["fc2"].cores == (5, 6)
    assert int(m.chip_links.sum()) == 16 and len(m.links) == 48


@pytest.mark.parametrize("multicast,packets,on_chip,crossings", [(True, 5, 12, 4), (False, 10, 19, 8)])
@pytest.mark.parametrize("mode", ["analytic", "simpy"])
def test_on_chip_hops_and_crossings_by_hand(multicast, packets, on_chip, crossings, mode):
    wl = hand_workload()
    res = run_simulation(make_hw(**HAND, **{"router.multicast": multicast}), wl, exit_policy="fixed", mode=mode)
    items = wl.n_samples * wl.timesteps
    c = res.summary.counts
    assert c["packets"] == packets * items
    assert c["flit_hops"] == c["packet_hops"] == on_chip * items                # one flit per packet
    assert c["chip_link_crossings"] == c["chip_link_flits"] == crossings * items
    if multicast:
        assert [c[f"flit_hops_{d}"] for d in ("east", "west", "north", "south")] == [7 * items, 0, 3 * items, 2 * items]


def test_link_energy_is_counts_times_the_tables_by_hand():
    """4 crossings x 4 items (2 samples x 2 timesteps) x 64 bits x 1.17 pJ/bit (the chip-link table's
    grs_pcb_25g row) = 1.198 nJ; the 12 x 4 on-chip hops at 45 nm: a router hop 25.6 pJ and a link flit
    12.8 pJ per 64-bit flit."""
    res = run_simulation(make_hw(**HAND), hand_workload(), exit_policy="fixed", mode="analytic")
    d = res.summary.energy_detail_j
    per_bit = LINKS["grs_pcb_25g"]["energy_pj_per_bit"]
    assert per_bit == 1.17
    assert d["chip_link"]["chip_link_flits"] == pytest.approx(4 * 4 * 64 * per_bit * 1e-12, rel=1e-12)
    assert d["chip_link"]["chip_link_flits"] == pytest.approx(1.19808e-9, rel=1e-12)
    hop = TABLE_45["router"]["actions"]["hop"]["energy_pj"] * 64 / TABLE_45["router"]["access_bits"]
    link = TABLE_45["link"]["actions"]["flit"]["energy_pj"] * 64 / TABLE_45["link"]["access_bits"]
    assert sum(v for k, v in d["router"].items() if k.startswith("flit_hops_")) == pytest.approx(12 * 4 * hop * 1e-12)
    assert d["link"]["flit_hops"] == pytest.approx(12 * 4 * link * 1e-12)
    assert d["chip_link"]["static"] == 0.0                                    # lanes sleep between transfers
    chips = res.summary.chips
    assert chips["links"]["energy_j"] == pytest.approx(d["chip_link"]["chip_link_flits"])
    assert chips["links"]["energy_share"] == pytest.approx(chips["links"]["energy_j"] / res.summary.energy_j)


def test_always_on_lanes_leak_per_lane_by_hand():
    """The always-on row: 29.25 mW per lane, 2 lanes, 16 directed links, over the run; nothing per bit."""
    hw = make_hw(**{**HAND, "mesh.chips": {"rows": 2, "cols": 2, "link": "grs_pcb_25g_always_on", "lanes": 2}})
    s = run_simulation(hw, hand_workload(), exit_policy="fixed", mode="analytic").summary
    assert s.energy_detail_j["chip_link"]["static"] == pytest.approx(29.25e-3 * 2 * 16 * s.seconds, rel=1e-12)
    assert s.energy_detail_j["chip_link"]["chip_link_flits"] == 0.0


def test_a_crossing_is_timed_by_the_chip_link():
    """20 ns at 100 MHz = 2 cycles per crossing against 1 per hop: the slowest path, core 0 -> (1,3) or core
    3 -> (0,3), is 3 hops + 1 crossing = 5 cycles (4 links). A chip link's flit: the lanes carry 3.125 GB/s
    = 250 bits per cycle (0.256 cycles per 64-bit flit), but the credit round trip across it, 2 x 2 + 1
    cycles for 4 flits of buffer, makes 1.25 cycles per flit; on chip 1."""
    wl = hand_workload()
    res = run_simulation(make_hw(**HAND), wl, exit_policy="fixed", mode="analytic")
    route = res.mapping.routes[("fc1", "fc2")]
    assert route.max_hops == 4 and route.path_cycles == 5
    chip = res.mapping.chip_links[route.link_ids]
    assert route.link_flit_time.tolist() == np.where(chip, 1.25, 1.0).tolist()
    links = res.summary.chips["links"]
    assert links["latency_cycles"] == 2 and links["cycles_per_flit"] == 1.25
    # analytic link busy: the chip link (0,1)-(0,2) carries cores 0 and 1's crossings, (1,1)-(1,2) those of
    # 2 and 3: 2 flits per item each, 4 items, 1.25 cycles a flit
    assert links["busy_cycles"] == 2 * 2 * 4 * 1.25 and links["busiest_link_busy_cycles"] == 2 * 4 * 1.25


def test_per_chip_and_link_figures_add_up():
    res = run_simulation(make_hw(**HAND), hand_workload(), exit_policy="fixed", mode="simpy")
    chips = res.summary.chips
    assert [c["cores_used"] for c in chips["per_chip"]] == [4, 3, 0, 0]
    assert chips["chips_used"] == 2 and chips["cores_per_chip"] == 4 and chips["grid"] == [2, 2]
    assert [c["layers"] for c in chips["per_chip"]] == ["fc1", "fc1 fc2", "", ""]
    total = sum(c["energy_j"] for c in chips["per_chip"]) + chips["links"]["energy_j"] + chips["energy_elsewhere_j"]
    assert total == pytest.approx(res.summary.energy_j, rel=1e-12)
    assert chips["energy_elsewhere_j"] >= 0
    # every core's dynamic energy: the layers' counted actions (chip links apart), split by neurons
    per_core = res.per_core
    assert per_core["energy_dynamic_j"].sum() == pytest.approx(
        res.summary.energy_dynamic_j - chips["links"]["energy_dynamic_j"] - _setup_j(res), rel=1e-9)
    assert per_core.loc[0:3, "energy_dynamic_j"].nunique() == 1                # fc1's equal chunks
    busiest = per_core.loc[per_core["chip"] == 0, "busy_cycles"].idxmax()
    assert chips["per_chip"][0]["busiest_core"] == busiest


def _setup_j(res) -> float:
    """The initial weight load (counted once per run, no layer's): in the detail as *_setup."""
    return sum(v for comp in res.summary.energy_detail_j.values() for k, v in comp.items() if k.endswith("_setup"))


def test_one_chip_is_the_old_model(tmp_path):
    """``chips: {rows: 1, cols: 1}`` changes nothing: the same summary, the same tables; config.yaml and
    the sweep's hashes see no ``chips`` key without it."""
    wl = synthetic_workload("tiny", 6, 3, classes=4)
    old = run_simulation(make_hw(), wl, mode="simpy")
    one = run_simulation(make_hw(**{"mesh.chips": {"rows": 1, "cols": 1}}), wl, mode="simpy")
    assert one.summary.to_dict() == old.summary.to_dict()
    assert one.per_layer.equals(old.per_layer) and one.per_sample.equals(old.per_sample)
    assert one.per_chip is None and "chips" not in old.summary.to_dict()
    assert "chips" not in make_hw().model_dump()["mesh"]


def _flat_positions_hw(hw_chips, over):
    """One chip of the same global grid, its cores at the positions the chips put them."""
    rows, cols = hw_chips.mesh.grid
    return make_hw(**over, **{"mesh.rows": rows, "mesh.cols": cols,
                              "mesh.core_positions": [list(p) for p in hw_chips.mesh.positions()]})


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chip_rows=st.integers(1, 2), chip_cols=st.integers(1, 3), rows=st.integers(1, 2), cols=st.integers(2, 3),
       multicast=st.booleans(), mode=st.sampled_from(["analytic", "simpy"]), seed=st.integers(0, 3))
def test_chip_links_as_fast_as_hops_simulate_as_one_mesh(tmp_path_factory, chip_rows, chip_cols, rows, cols,
                                                         multicast, mode, seed):
    """Chip links with an on-chip hop's latency (10 ns = 1 cycle) and rate: every figure of time equals
    one mesh's with the cores at the same places, and its hops are the on-chip hops + the crossings."""
    table = tmp_path_factory.mktemp("links") / "fast.yaml"
    table.write_text(yaml.safe_dump({"name": "fast", "standards": {"fast": {
        "energy_pj_per_bit": 0.5, "bandwidth_gbps": 1000.0, "latency_ns": 10.0}}}))
    assume(chip_rows * chip_cols * rows * cols >= 4)           # conv1 in 2 chunks, conv2 and fc in one each
    over = {"router.multicast": multicast, "mapping.split": "neurons", "mapping.max_neurons_per_core": 128}
    hw = make_hw(**over, **{"mesh.rows": rows, "mesh.cols": cols, "mesh.chips": {
        "rows": chip_rows, "cols": chip_cols, "link": "fast", "link_table": str(table)}})
    flat = _flat_positions_hw(hw, over)
    wl = synthetic_workload("tiny", 5, 3, seed=seed, classes=4)
    a, b = (run_simulation(h, wl, mode=mode).summary for h in (hw, flat))
    assert (a.cycles, a.latency_us_mean, a.fps) == (b.cycles, b.latency_us_mean, b.fps)
    ca, cb = a.counts, b.counts
    assert ca["packets"] == cb["packets"]
    assert ca["flit_hops"] + ca.get("chip_link_flits", 0) == cb["flit_hops"]
    if hw.mesh.n_chips == 1:
        assert "chip_link_flits" not in ca


# ---------------------------------------------------------------------------------------- bad input
@pytest.fixture(scope="module")
def cli_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("chips")
    wl = save_workload(d / "tiny.npz", synthetic_workload("tiny", 3, 2, classes=4))

    return d, wl, lambda name, **over: write_hw(d, name, **over)


def test_the_cli_runs_a_system_of_chips_and_writes_its_tables(cli_files, tmp_path):
    d, wl, hwfile = cli_files
    hw = hwfile("two.yaml", **{"mesh.rows": 1, "mesh.cols": 2, "mesh.chips": {"rows": 1, "cols": 2}})
    proc = run_cli(hw, wl, "--mode", "analytic", "--out", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    assert "Chips: 1x2 of 2 cores" in proc.stdout and "chip links (grs_pcb_25g" in proc.stdout
    per_chip = (tmp_path / "out" / "per_chip.csv").read_text().splitlines()
    assert per_chip[0].startswith("chip,chip_row,chip_col,cores,cores_used") and len(per_chip) == 3
    assert len((tmp_path / "out" / "per_core.csv").read_text().splitlines()) == 5
    config = yaml.safe_load((tmp_path / "out" / "config.yaml").read_text())
    assert config["hwconfig"]["mesh"]["chips"]["link"] == "grs_pcb_25g"
    assert config["chip_link_loaded"]["energy_pj_per_bit"] == 1.17


@pytest.mark.parametrize("chips,needles", [
    ({"rows": 0, "cols": 2}, ["mesh.chips.rows", "greater than 0"]),                 # zero chips
    ({"rows": 2, "cols": 2, "link": "serdes9000"}, ["mesh.chips.link", "'serdes9000' is not in",
                                                    "grs_pcb_25g"]),                 # a link with no price
    ({"rows": 2, "cols": 2, "link_table": "nowhere.yaml"}, ["mesh.chips.link_table", "no such table"]),
    ({"rows": 2, "cols": 2, "lanes": 0}, ["mesh.chips.lanes"]),
    ({"rows": 2, "cols": 2, "wires": 4}, ["unknown key 'wires'"]),
])
def test_bad_chips_are_one_line(cli_files, chips, needles):
    d, wl, hwfile = cli_files
    assert_one_line_error(run_cli(hwfile("bad.yaml", **{"mesh.chips": chips}), wl), *needles)


def test_a_chip_link_row_without_a_price_is_one_line(cli_files):
    d, wl, hwfile = cli_files
    table = d / "unpriced.yaml"
    table.write_text(yaml.safe_dump({"name": "x", "standards": {"mine": {"bandwidth_gbps": 1.0, "latency_ns": 5}}}))
    hw = hwfile("unpriced_hw.yaml", **{"mesh.chips": {"rows": 1, "cols": 2, "link": "mine", "link_table": str(table)}})
    assert_one_line_error(run_cli(hw, wl), "unpriced.yaml", "standards.mine.energy_pj_per_bit", "missing")


def test_a_chip_grid_that_does_not_fit_is_one_line(cli_files):
    """The tiny network in chunks of at most 64 neurons needs 4 + 2 + 1 = 7 cores; 2x2 chips of 1 core hold 4."""
    d, wl, hwfile = cli_files
    hw = hwfile("small.yaml", **{"mesh.rows": 1, "mesh.cols": 1, "mesh.chips": {"rows": 2, "cols": 2},
                                 "mapping.split": "neurons", "mapping.max_neurons_per_core": 64})
    assert_one_line_error(run_cli(hw, wl), "mesh.chips", "the network cannot fit", "need 7 cores",
                          "2x2 chips of 1 cores")

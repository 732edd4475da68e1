"""Small checks written to kill mutants that survived `make mutation` (tests/MUTATION.md lists them): each
test says which behaviour the surviving change broke. Hand values throughout."""
from __future__ import annotations

import numpy as np
import pytest

from archsim.errors import UserError
from archsim.exit_policy import first_exit, plan_exits

from .conftest import make_workload


# ---- archsim.exit_policy -----------------------------------------------------------------------------

def test_a_score_equal_to_the_threshold_exits():
    s = np.array([[0.2, 0.5, 0.9], [0.5, 0.5, 0.5], [0.1, 0.2, 0.3]])
    assert first_exit(s, 0.5).tolist() == [2, 1, 3]          # >=, and the last timestep when never reached
    assert first_exit(s, 0.5).dtype == np.int64


def test_thresholds_at_the_ends_of_the_range_are_accepted():
    wl = make_workload([[1, 1, 1]] * 2, [[1, 1, 1]] * 2, exit_after=[2, 3])
    # make_workload's scores are 0.2 before the exit and 0.8 from it on
    assert plan_exits(wl, "entropy", 0.0).exit_t.tolist() == [1, 1]
    assert plan_exits(wl, "entropy", 1.0).exit_t.tolist() == [3, 3]
    assert plan_exits(wl, "entropy", 0.8).exit_t.tolist() == [2, 3]
    for bad in (None, -0.01, 1.01, 1.5):
        with pytest.raises(UserError) as e:
            plan_exits(wl, "entropy", bad)
        assert e.value.field == "threshold"


def test_plans_say_what_they_are():
    wl = make_workload([[1, 1, 1]], [[1, 1, 1]], exit_after=[2])
    p = plan_exits(wl, "confidence", 0.5)
    assert (p.policy, p.threshold, p.max_t, p.adaptive) == ("confidence", 0.5, 3, True)
    f = plan_exits(wl, "fixed", timesteps=2)
    assert (f.policy, f.threshold, f.max_t, f.adaptive) == ("fixed", None, 2, False)
    assert f.exit_t.tolist() == [2] and f.exit_t.dtype == np.int64
    assert f.decisions().tolist() == [0] and p.decisions().tolist() == [2]
    assert plan_exits(wl, "fixed").max_t == 3


def test_a_missing_score_names_the_ones_the_workload_has():
    wl = make_workload([[1]], [[1]])
    del wl.scores["confidence"]
    with pytest.raises(UserError, match=r"stores no 'confidence' scores \(it has: entropy\)"):
        plan_exits(wl, "confidence", 0.5)
    wl.scores.clear()
    with pytest.raises(UserError, match=r"\(it has: none\)"):
        plan_exits(wl, "entropy", 0.5)
    with pytest.raises(UserError) as e:
        plan_exits(wl, "fixed", timesteps=0)
    assert e.value.source == "exit policy"


# ---- archsim.energy -----------------------------------------------------------------------------------

def _custom_table(tmp_path, **extra_components):
    import yaml

    from .test_energy_widths import CUSTOM
    table = {**CUSTOM, "components": {**CUSTOM["components"], **extra_components}}
    path = tmp_path / "table.yaml"
    path.write_text(yaml.safe_dump(table))
    return str(path)


def test_per_layer_synapse_units_by_name_op_and_model(tmp_path):
    """units.synapse: conv2 by name -> 'conv_syn' (0.5 pJ per accumulate), linear layers by op ->
    'dense_syn' (0.7 pJ), the rest the default pe_array (0.11 pJ). One accumulate on each layer."""
    from archsim.energy import dynamic_j, unit_for
    path = _custom_table(tmp_path, conv_syn={"actions": {"accumulate": {"energy_pj": 0.5}}},
                         dense_syn={"actions": {"accumulate": {"energy_pj": 0.7}}})
    from .conftest import make_hw
    hw = make_hw(**{"energy_table": path, "units": {"synapse": {"default": "pe_array", "by_op": {"linear": "dense_syn"},
                                                                "layers": {"conv2": "conv_syn"}}}})
    g = make_workload([[1]], [[1]]).graph
    assert [unit_for(hw, g, n, "synapse") for n in ("conv1", "conv2", "fc")] == ["pe_array", "conv_syn", "dense_syn"]
    got = dynamic_j(hw, g, ["conv1", "conv2", "fc"], {"accumulates": np.ones(3)})
    assert got.tolist() == pytest.approx([0.11e-12, 0.5e-12, 0.7e-12])


def test_pe_array_leaks_on_every_core_whatever_unit_prices_the_synapses(tmp_path):
    from archsim.energy import Activity, static_j
    path = _custom_table(tmp_path, conv_syn={"static_mw": 0.009, "actions": {"accumulate": {"energy_pj": 0.5}}})
    from .conftest import make_hw
    hw = make_hw(**{"energy_table": path, "units": {"synapse": {"default": "conv_syn"}}})
    got = static_j(hw, 4, Activity(1.0, np.ones(3, bool), np.ones(3), None))
    assert got["pe_array"] == pytest.approx(3 * 0.07e-3) and got["conv_syn"] == pytest.approx(3 * 0.009e-3)
    assert got["axon_out"] == pytest.approx(3 * 0.003e-3)


def test_unused_cores_leak_fully_without_gating(tmp_path):
    """1 x 3 mesh, cores 0 and 1 hold layers, core 2 none, no gating: every core leaks for the whole 2 s."""
    from archsim.energy import Activity, static_j
    from .conftest import make_hw
    hw = make_hw(**{"energy_table": _custom_table(tmp_path)})
    got = static_j(hw, 4, Activity(2.0, np.array([True, True, False]), np.array([0.5, 1.0, 0.0]), None))
    assert got["pe_array"] == pytest.approx(3 * 0.07 * 2.0e-3)
    assert got["weight_sram"] == pytest.approx(3 * 0.031 * 64 * 2.0e-3)
    assert got["link"] == pytest.approx(4 * 0.021 * 2.0e-3)


def test_missing_counts_cost_nothing():
    from archsim.energy import Activity, energy_report
    from .conftest import make_hw
    hw = make_hw()
    g = make_workload([[1]], [[1]]).graph
    rep = energy_report(hw, g, ["conv1", "conv2", "fc"], {"macs": np.array([2.0, 0.0, 0.0])},
                        Activity(0.0, np.ones(3, bool), np.zeros(3)), 4)
    assert rep.dynamic_j == pytest.approx(2 * 0.25e-12)            # 45 nm: a MAC 0.25 pJ
    assert rep.role_j["synapse"] == pytest.approx(2 * 0.25e-12) and rep.static_j == 0.0


# ---- archsim.cycles and archsim.timing.analytic -----------------------------------------------------------

def test_cycle_helpers_by_hand():
    from archsim.cycles import bank_cycles, image_load_cycles, transfer_cycles, ttfs_lead, with_latency
    from .conftest import make_hw
    hw = make_hw()
    assert with_latency(np.array([0, 1, 5]), 3).tolist() == [0, 4, 8]
    assert bank_cycles(np.array([0, 1, 2, 3, 64]), hw.core.weight_sram).tolist() == [0, 1, 1, 2, 32]   # 2 banks
    assert bank_cycles(np.array([7]), hw.core.weight_sram).dtype == np.int64
    # 1.6 GB/s at 100 MHz = 128 bits per cycle; 64-bit accesses; 10 cycles latency
    assert transfer_cycles(np.array([0, 1, 2, 3, 24]), hw).tolist() == [0, 11, 11, 12, 22]
    assert image_load_cycles(hw, make_workload([[1]], [[1]])) == 22
    assert image_load_cycles(make_hw(offchip=None), make_workload([[1]], [[1]])) == 0
    wl = make_workload([[1]], [[1]])
    wl.graph.nodes["input"]["spiking"] = True          # spike input: no image to load
    assert image_load_cycles(hw, wl) == 0
    # t_max 4 (d = 3): max(2 d 10 - d 4, 3 d 10 - 2 d 4, 0) = max(48, 66) = 66; a slow consumer needs no lead
    assert ttfs_lead(np.array([10, 4]), np.array([4, 30]), 4).tolist() == [66, 0]


def test_slow_links_by_hand():
    """hop latency 2 with 4-flit buffers: the credit round trip 2 x 2 + 1 = 5 > 4, so a link moves 4/5 flit
    per cycle (1.25 cycles per flit) and a transfer of S spikes takes ceil(1.25 S) + 2 cycles (one hop).
    One image of test_timing_hand's ONE (fixed T = 3), items as there:
      conv1 22 -> 601 -> 795 -> 989
      conv2 601 + 13 + 2 = 616 -> 934; max(934, 795 + 25 + 2) -> 1502; max(1502, 989 + 7 + 2) -> 1696
      fc    934 + 4 + 2 = 940 -> 952; max(952, 1502 + 5 + 2) = 1509 -> 1523; max(1523, 1696 + 7 + 2) = 1705 -> 1721"""
    from archsim.cycles import cycles_per_flit, occupancy_cycles
    from archsim.simulate import run_simulation
    from .test_timing_hand import ONE, hw_with
    hw = hw_with(**{"router.hop_latency_cycles": 2})
    assert cycles_per_flit(hw) == 1.25
    assert occupancy_cycles(np.array([0, 1, 3, 4, 10]), hw).tolist() == [0, 2, 4, 5, 13]
    for mode in ("simpy", "analytic"):
        res = run_simulation(hw, make_workload(**ONE), mode=mode, exit_policy="fixed", baseline=False)
        assert res.trace.finish.tolist() == [1721], mode


@pytest.mark.parametrize("mode", ["simpy", "analytic"])
def test_exit_after_the_first_timestep_by_hand(mode):
    """wait mode, exit after t = 1: fc t0 934 -> 946, one decision -> 949, the image leaves."""
    from archsim.simulate import run_simulation
    from .test_timing_hand import ONE, hw_with
    res = run_simulation(hw_with(**{"controller.mode": "wait"}), make_workload(**ONE, exit_after=[1]), mode=mode,
                         baseline=False)
    assert res.trace.finish.tolist() == [949]
    assert res.trace.decisions == 1 and res.summary.counts["decisions"] == 1
    assert res.trace.executed.sum() == 3


def test_spike_buffer_banks_pace_a_gather_layer_by_hand():
    """conv2 gather (output-stationary): every item scans its 128 neurons' input bitmaps, ceil(100 fan-in
    bits / 64) = 2 words each = 256 spike-buffer words, over 2 banks: 128 + 1 = 129 cycles; PE ceil(50 x 10
    / 4) = 125; weight SRAM ceil(ceil(500 x 8 / 64) / 2) + 1 = 33: compute 129. Update: sweep 32, potential
    (32 + 32) / 2 + 2 = 34. held 163."""
    from archsim.simulate import run_simulation
    from .conftest import make_hw
    hw = make_hw(**{"dataflow": {"layers": {"conv2": "gather"}}, "core.spike_buffer.banks": 2})
    res = run_simulation(hw, make_workload([[10]], [[3]]), mode="analytic", exit_policy="fixed", baseline=False)
    assert res.timing.compute[0, 1, 0] == 129 and res.timing.held[0, 1, 0] == 163


# ---- archsim.counts -----------------------------------------------------------------------------------

def _pooled_net(records_for=(1,), fc_update="every_step", seed=0):
    """input [2, 8, 8] (spikes, by DMA) -> conv 4 (3x3, pad 1, LIF updated on events) -> (pool 2) fc 5 (an
    integrator). Two samples, T = 2; per-neuron records for the samples ``records_for`` only."""
    from archsim import graph as lg
    from archsim.workload import Workload, pack_neuron_spikes
    g = lg.new_graph((2, 8, 8), "spikes")
    lg.add_conv(g, "conv", lg.INPUT, out_channels=4, neuron=lg.neuron_record("lif", update="on_event"))
    lg.add_linear(g, "fc", "conv", out_features=5, pool=2, spiking=False,
                  neuron=lg.neuron_record("integrator", update=fc_update))
    g.nodes[lg.INPUT]["neuron"] = lg.neuron_record("input", state_words=0)
    rng = np.random.default_rng(seed)
    rin = rng.random((2, 2, 128)) < 0.2
    rconv = rng.random((2, 2, 256)) < 0.1
    spikes = np.stack([rin.sum(-1), rconv.sum(-1), np.zeros((2, 2), int)], axis=1).astype(np.int32)
    keep = np.array(records_for)
    wl = Workload(g, spikes, np.zeros(2, np.int32), np.zeros((2, 2), np.int32), {}, np.full(2, 2, np.int32),
                  {"kind": "direct", "timesteps": 2, "exit_policy": "fixed"},
                  neuron_spikes={lg.INPUT: pack_neuron_spikes(rin[keep]), "conv": pack_neuron_spikes(rconv[keep])},
                  neuron_samples=keep.astype(np.int32))
    return wl, rin, rconv


def test_per_cell_pooling_from_per_neuron_records_by_hand():
    """per_cell pooling: a pooled 2x2 cell of conv sends one event when any of its 4 neurons fired. Sample 1
    has per-neuron records: its events are the cells that fired (numpy max-pool of its raster); sample 0 only
    totals: the expected cells 64 (1 - (1 - S / 256)^4), rounded half up. Each event reaches fc's 5 neurons
    (5 accumulates) and reads ceil(5 x 8 / 64) = 1 weight word."""
    from archsim.counts import item_counts
    from archsim.exit_policy import plan_exits
    from archsim.mapping import map_network
    from .conftest import make_hw
    wl, _, rconv = _pooled_net()
    hw = make_hw(**{"dataflow": {"pooling": "per_cell"}})
    c = item_counts(hw, map_network(hw, wl), wl, plan_exits(wl, "fixed"))
    fc = c.layers.index("fc")
    cells1 = rconv[1].reshape(2, 4, 4, 2, 4, 2).max(axis=(3, 5)).sum(axis=(1, 2, 3))
    s0 = rconv[0].sum(-1)
    cells0 = np.floor(64 * (1 - (1 - s0 / 256) ** 4) + 0.5)
    assert c.actions["accumulates"][1, fc].tolist() == (5 * cells1).tolist()
    assert c.actions["accumulates"][0, fc].tolist() == (5 * cells0).tolist()
    assert c.actions["weight_reads"][:, fc].tolist() == [cells0.tolist(), cells1.tolist()]


def test_neurons_updated_on_events_by_hand():
    """conv's LIF neurons are updated only when an event arrives: 256 (1 - exp(-events / 256)) of them, with
    events = input spikes x the input->conv fan-out (2 x 4 x 22 x 22 / 128 = 30.25); fc updates every step."""
    from archsim.counts import item_counts
    from archsim.exit_policy import plan_exits
    from archsim.mapping import map_network
    from .conftest import make_hw
    wl, rin, _ = _pooled_net(records_for=(0, 1))
    hw = make_hw()
    c = item_counts(hw, map_network(hw, wl), wl, plan_exits(wl, "fixed"))
    events = rin.sum(-1) * 30.25
    want = np.floor(256 * (1 - np.exp(-events / 256)) + 0.5)
    assert c.actions["neuron_updates"][:, c.layers.index("conv")].tolist() == want.tolist()
    assert c.actions["neuron_updates"][:, c.layers.index("fc")].tolist() == [[5, 5], [5, 5]]


def test_a_source_with_two_out_edges_sends_on_both_by_hand():
    """c1 -> c2 -> c3 with an identity shortcut c1 -> c3, fc reads c3; one layer per core on a 1 x 4 mesh.
    Each c1 spike is a packet to c2 (1 hop) and one to c3 (2 hops): 2 S1 packets, 3 S1 hops from c1."""
    from archsim import graph as lg
    from archsim.simulate import run_simulation
    from archsim.workload import Workload
    from .conftest import make_hw
    g = lg.new_graph((3, 8, 8))
    for name, src in (("c1", "input"), ("c2", "c1"), ("c3", "c2")):
        lg.add_conv(g, name, src, out_channels=4)
    lg.add_residual(g, "c1", "c3")
    lg.add_linear(g, "fc", "c3", out_features=4, pool=8, spiking=False)
    spikes = np.zeros((1, 5, 1), dtype=np.int32)
    spikes[0, 1:4, 0] = [20, 10, 5]
    wl = Workload(g, spikes, np.zeros(1, np.int32), np.zeros((1, 1), np.int32), {}, np.ones(1, np.int32),
                  {"kind": "direct", "timesteps": 1})
    res = run_simulation(make_hw(**{"mesh.cols": 4}), wl, exit_policy="fixed", mode="analytic", baseline=False)
    assert [list(p.cores) for p in res.mapping.layers.values()] == [[0], [1], [2], [3]]
    rows = res.per_layer.set_index("layer")
    assert (rows.loc["c1", "packets"], rows.loc["c1", "packet_hops"], rows.loc["c1", "flit_hops"]) == (40, 60, 60)
    assert rows.loc["c1", "flit_hops_east"] == 60
    assert res.summary.counts["packets"] == 40 + 10 + 5 and res.summary.counts["packet_hops"] == 60 + 10 + 5


def test_first_layer_without_reuse_multiplies_every_timestep():
    """first_layer_reuse off: conv1's 5808 MACs, 768 weight words and 24 pixel words every timestep; no
    stored input current (potentials 64 read + 64 written per item)."""
    from archsim.simulate import run_simulation
    from .conftest import make_hw
    res = run_simulation(make_hw(**{"first_layer_reuse": False}), make_workload([[1, 2, 3]], [[0, 0, 0]]),
                         exit_policy="fixed", mode="analytic", baseline=False)
    conv1 = res.per_layer.set_index("layer").loc["conv1"]
    assert conv1["macs"] == 3 * 5808 and conv1["weight_reads"] == 3 * 768
    assert conv1["spike_buffer_reads"] == 3 * 24 and conv1["spike_buffer_writes"] == 24 + 6
    assert conv1["potential_reads"] == 3 * 64 and conv1["potential_writes"] == 3 * 64


def test_setup_loads_only_the_weights_that_stay_on_chip():
    """conv2 keeps 4/9 of its 2304 weight bits on a 1024-bit weight SRAM: 864 + 1024 + 256 = 2144 bits to
    load = ceil(2144 / 64) = 34 words; from DDR4 in ceil(2144 / 64) = 34 accesses, one row."""
    from archsim.simulate import run_simulation
    from .conftest import make_hw
    hw = make_hw(**{"core.weight_sram.size_kib": 0.125, "core.weight_sram.banks": 1})
    s = run_simulation(hw, make_workload([[1]], [[1]]), exit_policy="fixed", mode="analytic", baseline=False).summary
    assert s.counts_setup == {"weight_writes": 34, "offchip_reads": 34, "offchip_activations": 1}


def test_an_exit_controller_needs_one_output_layer():
    from archsim import graph as lg
    from archsim.counts import item_counts
    from archsim.exit_policy import plan_exits
    from archsim.mapping import map_network
    from archsim.workload import Workload
    from .conftest import make_hw
    g = lg.new_graph((3, 8, 8))
    lg.add_conv(g, "c1", "input", out_channels=4)
    lg.add_linear(g, "a", "c1", out_features=4, pool=8, spiking=False)
    lg.add_linear(g, "b", "c1", out_features=4, pool=8, spiking=False)
    spikes = np.zeros((1, 4, 2), dtype=np.int32)
    wl = Workload(g, spikes, np.zeros(1, np.int32), np.zeros((1, 2), np.int32),
                  {"entropy": np.full((1, 2), 0.9, np.float32)}, np.ones(1, np.int32), {"kind": "direct", "timesteps": 2})
    hw = make_hw(**{"mesh.cols": 4})
    m = map_network(hw, wl)
    item_counts(hw, m, wl, plan_exits(wl, "fixed"))            # fixed: no controller, fine
    for source, want in ((None, "workload"), ("w.npz", "w.npz")):
        wl.source = source
        with pytest.raises(UserError, match="needs one output layer, the graph has 2: a, b") as e:
            item_counts(hw, m, wl, plan_exits(wl, "entropy", 0.5))
        assert e.value.source == want


# ---- second round (tests/MUTATION.md) -------------------------------------------------------------------

def test_every_count_is_an_integer():
    """counts.py's promise: integer counts, so totals compare exactly (and the CSVs show whole numbers)."""
    from archsim.counts import item_counts
    from archsim.exit_policy import plan_exits
    from archsim.mapping import map_network
    from .conftest import make_hw
    wl = make_workload([[10, 20, 5]], [[3, 4, 5]])
    hw = make_hw()
    c = item_counts(hw, map_network(hw, wl), wl, plan_exits(wl, "fixed"))
    assert {a: v.dtype for a, v in c.actions.items()} == {a: np.dtype(np.int64) for a in c.actions}


def _barrier_hw(tmp_path, **over):
    """The tiny chip timed like SANA-FE (timing.mode barrier) with the custom table plus latencies."""
    import copy

    import yaml

    from .conftest import make_hw
    from .test_energy_widths import CUSTOM
    t = copy.deepcopy(CUSTOM)
    for comp, action in (("pe_array", "accumulate"), ("pe_array", "mac"), ("neuron_unit", "access"),
                         ("neuron_unit", "update"), ("neuron_unit", "spike_out"), ("axon_out", "packet"),
                         ("axon_in", "packet")):
        t["components"][comp]["actions"][action]["latency_ns"] = 1.0
    path = tmp_path / "barrier.yaml"
    path.write_text(yaml.safe_dump(t))
    return make_hw(**{"energy_table": str(path), "timing.mode": "barrier", **over})


def test_barrier_core_loads_of_a_dense_first_layer_by_hand(tmp_path):
    """Barrier timing counts each core's events: conv1 (dense input, computed once per image) has 5808 MACs at
    t = 0 and none after; 256 neuron accesses every step."""
    from archsim.counts import item_counts
    from archsim.exit_policy import plan_exits
    from archsim.mapping import map_network
    hw = _barrier_hw(tmp_path)
    wl = make_workload([[10, 20]], [[3, 4]])
    c = item_counts(hw, map_network(hw, wl), wl, plan_exits(wl, "fixed"))
    assert c.core_load["conv1"]["macs"][0, :, 0].tolist() == [5808, 0]
    assert c.core_load["conv1"]["neuron_accesses"][0, :, 0].tolist() == [256, 256]
    assert c.core_load["conv2"]["accumulates"][0, :, 0].tolist() == [500, 1000]


def test_barrier_core_loads_of_spike_input_by_hand(tmp_path):
    """Spike input by DMA: conv's events are input spikes x the input->conv fan-out 30.25. Input neurons
    on cores (mapping.input cores): they "update" when they fire. Layers sharing a core (a 1 x 1 mesh)."""
    from archsim.counts import item_counts
    from archsim.exit_policy import plan_exits
    from archsim.mapping import map_network
    wl, rin, rconv = _pooled_net(records_for=(0, 1))
    hw = _barrier_hw(tmp_path)
    c = item_counts(hw, map_network(hw, wl), wl, plan_exits(wl, "fixed"))
    assert c.core_load["conv"]["accumulates"].sum(-1).tolist() == (rin.sum(-1) * 30.25).tolist()
    hw = _barrier_hw(tmp_path, **{"mapping.input": "cores", "mesh.cols": 4})
    c = item_counts(hw, map_network(hw, wl), wl, plan_exits(wl, "fixed"))
    assert c.core_load["input"]["neuron_updates"].sum(-1).tolist() == rin.sum(-1).tolist()
    assert c.core_load["input"]["spikes_out"].sum(-1).tolist() == rin.sum(-1).tolist()
    # conv and fc share the one core of a 1 x 1 mesh: no packets between them, but fc's synaptic events (5 per
    # conv spike, its accumulates) are still the core's work, exactly as on a core of its own
    apart = item_counts(hw, map_network(hw, wl), wl, plan_exits(wl, "fixed"))
    hw = _barrier_hw(tmp_path, **{"mesh.cols": 1})
    c = item_counts(hw, map_network(hw, wl), wl, plan_exits(wl, "fixed"))
    assert c.core_load["fc"]["neuron_accesses"].sum(-1).tolist() == [[5, 5], [5, 5]]
    fc = c.layers.index("fc")
    assert c.core_load["fc"]["accumulates"].sum(-1).tolist() == c.actions["accumulates"][:, fc].tolist()
    assert c.core_load["fc"]["accumulates"].sum(-1).tolist() == (5 * rconv.sum(-1)).tolist()
    assert c.core_load["fc"]["accumulates"].sum(-1).tolist() == apart.core_load["fc"]["accumulates"].sum(-1).tolist()
    assert c.actions["packets"].sum() == 0


def test_no_off_chip_memory_prices_off_chip_actions_at_nothing():
    from archsim.energy import dynamic_j
    from .conftest import make_hw
    hw = make_hw(offchip=None)
    g = make_workload([[1]], [[1]]).graph
    for count in ("offchip_reads", "offchip_writes", "offchip_activations"):
        assert dynamic_j(hw, g, ["conv1", "conv2", "fc"], {count: np.ones(3)}).tolist() == [0.0, 0.0, 0.0]


def test_energy_by_role_by_hand(tmp_path):
    """The one-off weight load (test_energy_widths: 107 x 13.0 pJ + 7 x 10.51 x 512 pJ + 11,818 pJ) is memory
    energy; static energy is its own role; 3 MACs are synapse energy (custom table: 0.23 pJ)."""
    from archsim.counts import item_counts
    from archsim.energy import Activity, energy_report
    from archsim.exit_policy import plan_exits
    from archsim.mapping import map_network
    from .test_energy_widths import widths_hw
    hw, _ = widths_hw(_custom_table(tmp_path), "mixed")
    wl = make_workload([[0]], [[0]])
    m = map_network(hw, wl)
    counts = item_counts(hw, m, wl, plan_exits(wl, "fixed"))
    per_layer = {a: np.zeros(len(m.order)) for a in counts.actions}
    per_layer["macs"] = np.array([3.0, 0.0, 0.0])
    act = Activity(1.0, np.ones(4, bool), np.ones(4))
    rep = energy_report(hw, wl.graph, m.order, per_layer, act, len(m.links), counts.setup)
    assert rep.role_j["memory"] == pytest.approx((107 * 13.0 + 7 * 10.51 * 512 + 11818.0) * 1e-12)
    assert rep.role_j["synapse"] == pytest.approx(3 * 0.23e-12)
    assert rep.role_j["static"] == pytest.approx(rep.static_j) and rep.static_j > 0
    assert sum(rep.role_j.values()) == pytest.approx(rep.total_j)


def test_a_missing_score_lists_every_score_the_workload_has():
    wl = make_workload([[1]], [[1]])
    wl.scores = {"entropy": wl.scores["entropy"], "margin": wl.scores["entropy"].copy()}
    with pytest.raises(UserError, match=r"\(it has: entropy, margin\)"):
        plan_exits(wl, "confidence", 0.5)


@pytest.mark.parametrize("mode", ["simpy", "analytic"])
def test_three_images_one_at_a_time_by_hand(mode):
    """images_in_flight 1: three images of test_timing_hand's ONE enter at 0, 1714 and 3428."""
    from archsim.simulate import run_simulation
    from .test_timing_hand import FIXED_LATENCY, hw_with
    wl = make_workload(conv1=[[10, 20, 5]] * 3, conv2=[[3, 4, 5]] * 3)
    res = run_simulation(hw_with(**{"pipeline.images_in_flight": 1}), wl, mode=mode, exit_policy="fixed",
                         baseline=False)
    assert res.trace.admit.tolist() == [0, FIXED_LATENCY, 2 * FIXED_LATENCY]
    assert res.trace.finish.tolist() == [FIXED_LATENCY, 2 * FIXED_LATENCY, 3 * FIXED_LATENCY]

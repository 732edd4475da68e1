"""The event-complete model (issue 16): exact connectivity, neuron chunks, tiles, per-neuron spike records,
per-layer units, directional hops, and the barrier timing -- each against a hand count or a brute force."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from archsim import graph as lg
from archsim.hwconfig import load_config
from archsim.connectivity import synapses_per_core
from archsim.errors import UserError
from archsim.simulate import run_simulation
from archsim.workload import Workload, load_workload, pack_neuron_spikes, save_workload

from .conftest import ROOT

LOIHI = ROOT / "hwconfigs" / "loihi.yaml"


def brute_synapses(c_in, h, w, c_out, k, s, p, pool, groups, core_of):
    """Synapses from each source neuron to each core, by looping over every (source, target) pair."""
    hp, wp = h // pool, w // pool
    ho, wo = (hp + 2 * p - k) // s + 1, (wp + 2 * p - k) // s + 1
    m = np.zeros((c_in * h * w, core_of.max() + 1), dtype=int)
    for c, y, x in itertools.product(range(c_in), range(h), range(w)):
        grp = c // (c_in // groups)
        for o in range(grp * (c_out // groups), (grp + 1) * (c_out // groups)):
            for yo, xo in itertools.product(range(ho), range(wo)):
                ky, kx = y // pool - (yo * s - p), x // pool - (xo * s - p)
                if 0 <= ky < k and 0 <= kx < k:
                    m[c * h * w + y * w + x, core_of[o * ho * wo + yo * wo + xo]] += 1
    return m


@pytest.mark.parametrize("c_in,h,w,c_out,k,s,p,pool,groups", [
    (2, 6, 6, 4, 3, 1, 1, 1, 1), (2, 8, 8, 4, 3, 2, 1, 2, 2), (3, 5, 7, 6, 3, 1, 0, 1, 3), (4, 8, 8, 2, 1, 2, 0, 1, 1)])
def test_conv_synapses_per_core_equal_brute_force(c_in, h, w, c_out, k, s, p, pool, groups):
    g = lg.new_graph((c_in, h, w), "spikes")
    lg.add_conv(g, "c", "input", out_channels=c_out, kernel=k, stride=s, padding=p, pool=pool, groups=groups)
    core_of = np.random.default_rng(0).integers(0, 3, g.nodes["c"]["neurons"])
    core_of[:3] = [0, 1, 2]
    m = synapses_per_core(g, "input", "c", core_of, 3)
    assert np.array_equal(m, brute_synapses(c_in, h, w, c_out, k, s, p, pool, groups, core_of))
    assert m.sum() == g.edges["input", "c"]["synapses"]            # the graph's total, border effects included


def test_explicit_synapse_list_agrees_with_the_per_core_counts(tmp_path):
    """The SANA-FE side builds every synapse one by one (validate.network.synapses); its per-source counts
    equal archsim's connectivity, computed another way."""
    import yaml

    from archsim.validate.network import load_network, synapses
    path = tmp_path / "n.yaml"
    path.write_text(yaml.safe_dump({"name": "t", "input": [3, 8, 8], "layers": [
        {"name": "c1", "op": "conv", "out_channels": 4, "kernel": 3, "padding": 1},
        {"name": "c2", "op": "conv", "out_channels": 6, "kernel": 3, "padding": 1, "stride": 2, "pool": 2},
        {"name": "fc", "op": "linear", "out_features": 5, "pool": 2}]}))
    spec = load_network(path)
    g, prev = spec.graph(), lg.INPUT
    for ly in spec.layers:
        src, dst, _ = synapses(spec, g, ly, prev)
        per_neuron = synapses_per_core(g, prev, ly.name, np.zeros(g.nodes[ly.name]["neurons"], int), 1)[:, 0]
        assert len(set(zip(src.tolist(), dst.tolist()))) == len(src)          # no synapse twice
        assert np.array_equal(np.bincount(src, minlength=g.nodes[prev]["neurons"]), per_neuron)
        prev = ly.name


def test_loihi_mesh_numbering_and_tiles():
    hw = load_config(LOIHI)
    assert hw.n_cores == 128
    pos = hw.mesh.positions()
    # SANA-FE: tile id -> x = id // height, y = id % height; 4 cores per tile
    assert pos[0] == pos[3] == (0, 0) and pos[4] == (1, 0) and pos[16] == (0, 1) and pos[127] == (3, 7)
    assert hw.tile_of(5) == 1 and hw.timing.sync_ns(3) == 1000.0 and hw.timing.sync_ns(100) == 1800.0


def _two_layer_workload(input_raster, fc_raster, timing="hardware"):
    """input [4] -> fc [3] (linear), every neuron's spikes given, in hardware timesteps."""
    g = lg.new_graph((4,), "spikes")
    lg.add_linear(g, "fc", lg.INPUT, out_features=3, neuron=lg.neuron_record("lif"))
    g.nodes[lg.INPUT]["neuron"] = lg.neuron_record("input", state_words=0)
    rin, rfc = np.array(input_raster, bool)[None], np.array(fc_raster, bool)[None]     # [1, T, n]
    t = rin.shape[1]
    spikes = np.stack([rin.sum(-1), rfc.sum(-1)], axis=1).astype(np.int32)
    return Workload(g, spikes, np.zeros(1, np.int32), np.zeros((1, t), np.int32), {}, np.full(1, t, np.int32),
                    {"kind": "direct", "timesteps": t, "spike_timing": timing, "exit_policy": "fixed"},
                    neuron_spikes={lg.INPUT: pack_neuron_spikes(rin), "fc": pack_neuron_spikes(rfc)},
                    neuron_samples=np.array([0], np.int32))


@pytest.mark.parametrize("mode", ["analytic", "simpy"])
def test_loihi_energy_and_barrier_latency_by_hand(mode):
    """Two input spikes at step 1 reach 3 LIF neurons (one core, same tile); one of them fires at step 2.
    Prices from hwconfigs/energy/loihi.yaml (SANA-FE's Loihi): by hand."""
    wl = _two_layer_workload([[1, 1, 0, 0], [0, 0, 0, 0]], [[0, 0, 0], [1, 0, 0]])
    res = run_simulation(load_config(LOIHI), wl, mode=mode, baseline=False)
    c = res.summary.counts
    assert (c["accumulates"], c["packets"], c["packet_hops"], c["packets_received"]) == (6, 2, 0, 2)
    assert c["neuron_updates"] == 3 * 2 + 2            # LIF every step; an input neuron "updates" when it fires
    assert c["spikes_out"] == 3
    roles = res.summary.energy_by_role_j
    assert roles["synapse"] == pytest.approx(6 * 35.5e-12)                                  # dense synapse unit
    assert roles["soma"] == pytest.approx((3 * 2 * 51.2 + 6 * 21.6 + 69.3) * 1e-12)       # access, update, fire
    assert roles["network"] == pytest.approx(2 * 111.0e-12)                                 # message out, no hop
    assert res.summary.energy_j == pytest.approx((213 + 307.2 + 129.6 + 69.3 + 222) * 1e-12)
    # step 1: fc's core receives 2 messages (16 ns each) with 3 synapses each (3.8 ns): 54.8 ns, more than its
    # neurons' 3 x (6 + 3.7) = 29.1 ns; step 2: 3 x 9.7 + 30 (spike out) = 59.1 ns; + 600 ns sync each (1 tile)
    assert res.per_sample["latency_us"][0] == pytest.approx((54.8 + 600 + 59.1 + 600) / 1000)


def test_algorithm_time_workloads_take_a_step_per_layer_on_a_barrier_chip():
    """Without spike_timing 'hardware', layer l's timestep t runs in hardware step t + depth(l): T + depth
    steps; the counts and energy do not change."""
    hw = load_config(LOIHI)
    hard = run_simulation(hw, _two_layer_workload([[1, 1, 0, 0], [0, 0, 0, 0]], [[0, 0, 0], [1, 0, 0]]),
                          baseline=False)
    algo = run_simulation(hw, _two_layer_workload([[1, 1, 0, 0], [0, 0, 0, 0]], [[0, 0, 0], [1, 0, 0]],
                                                  timing="algorithm"), baseline=False)
    assert algo.summary.energy_j == pytest.approx(hard.summary.energy_j)
    # three steps: the inputs send (2 x 5.1 ns) while fc's core takes the messages (54.8 ns); fc updates
    # (29.1 ns); fc updates and fires (59.1 ns); 600 ns sync each
    assert algo.per_sample["latency_us"][0] == pytest.approx((54.8 + 29.1 + 59.1 + 3 * 600) / 1000)


def test_neuron_chunks_reach_only_the_cores_holding_targets():
    """A 1x1 conv on a 1x8x8 input cut into chunks of 16 neurons: each input spike reaches exactly one core,
    so packets = spikes (with a channel split every core of the layer would get one)."""
    g = lg.new_graph((1, 8, 8), "spikes")
    lg.add_conv(g, "c", lg.INPUT, out_channels=1, kernel=1, padding=0)
    raster = np.zeros((1, 1, 64), bool)
    raster[0, 0, [0, 17, 40]] = True
    craster = np.zeros((1, 1, 64), bool)
    wl = Workload(g, np.array([[[3], [0]]], np.int32), np.zeros(1, np.int32), np.zeros((1, 1), np.int32), {},
                  np.ones(1, np.int32), {"kind": "direct", "timesteps": 1, "spike_timing": "hardware"},
                  neuron_spikes={lg.INPUT: pack_neuron_spikes(raster), "c": pack_neuron_spikes(craster)},
                  neuron_samples=np.array([0], np.int32))
    hw = load_config(LOIHI)
    import copy
    raw = copy.deepcopy(hw.model_dump(mode="json"))
    raw["mapping"]["max_neurons_per_core"] = 16
    raw["energy_table"] = str(ROOT / "hwconfigs" / "energy" / "loihi.yaml")
    from archsim.hwconfig import config_from_dict
    hw16 = config_from_dict(raw, "loihi16.yaml", ROOT / "hwconfigs")
    res = run_simulation(hw16, wl, exit_policy="fixed", baseline=False)
    assert res.mapping.layers["c"].neurons_per_core == (16, 16, 16, 16)
    assert res.summary.counts["packets"] == 3 and res.summary.counts["accumulates"] == 3
    # input core 0 (tile 0) -> c's cores 4..7 (tile 1, one hop north): every packet crosses one link
    assert res.summary.counts["packet_hops"] == 3 and res.summary.counts["flit_hops_north"] == 3


def test_per_neuron_records_round_trip_and_must_add_up(tmp_path):
    wl = _two_layer_workload([[1, 1, 0, 0], [0, 0, 0, 0]], [[0, 0, 0], [1, 0, 0]])
    path = save_workload(tmp_path / "w.npz", wl)
    back = load_workload(path)
    assert np.array_equal(back.neuron_raster("fc"), wl.neuron_raster("fc"))
    assert back.graph.nodes["fc"]["neuron"]["model"] == "lif"
    wl.spikes[0, 1, 1] = 2                              # the totals now disagree with the per-neuron record
    with pytest.raises(UserError) as e:
        save_workload(tmp_path / "bad.npz", wl)
    assert e.value.field == "neurons_fc"
    assert not (tmp_path / "bad.npz").exists()


def test_version_1_files_still_load():
    wl = load_workload(ROOT / "workloads" / "small_c10.npz")
    assert wl.neuron_samples is None
    assert lg.neuron_of(wl.graph, "conv1")["model"] == "lif"
    assert lg.neuron_of(wl.graph, "out")["model"] == "integrator"


def test_a_barrier_config_without_latencies_is_refused(tmp_path):
    import yaml
    table = yaml.safe_load((ROOT / "hwconfigs" / "energy" / "loihi.yaml").read_text())
    del table["components"]["axon_in"]["actions"]["packet"]["latency_ns"]
    (tmp_path / "energy").mkdir()
    (tmp_path / "energy" / "loihi.yaml").write_text(yaml.safe_dump(table))
    (tmp_path / "loihi.yaml").write_text((ROOT / "hwconfigs" / "loihi.yaml").read_text())
    with pytest.raises(UserError) as e:
        load_config(tmp_path / "loihi.yaml")
    assert e.value.field == "components.axon_in.actions.packet.latency_ns"


try:
    from hypothesis import given, settings
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover - hypothesis is in the dev extra
    given = None


def _random_net_workload(seed: int, rate: float) -> Workload:
    """input [2, 8, 8] -> conv 4 (pad 1) -> pool 2, linear 5; random per-neuron spikes, hardware timing."""
    rng = np.random.default_rng(seed)
    g = lg.new_graph((2, 8, 8), "spikes")
    lg.add_conv(g, "conv", lg.INPUT, out_channels=4, neuron=lg.neuron_record("lif"))
    lg.add_linear(g, "fc", "conv", out_features=5, pool=2, neuron=lg.neuron_record("lif"))
    g.nodes[lg.INPUT]["neuron"] = lg.neuron_record("input", state_words=0)
    t = 3
    rasters = {name: rng.random((2, t, g.nodes[name]["neurons"])) < rate for name in lg.layer_names(g)}
    spikes = np.stack([rasters[nm].sum(-1) for nm in lg.layer_names(g)], axis=1).astype(np.int32)
    return Workload(g, spikes, np.zeros(2, np.int32), np.zeros((2, t), np.int32), {}, np.full(2, t, np.int32),
                    {"kind": "direct", "timesteps": t, "spike_timing": "hardware", "exit_policy": "fixed"},
                    neuron_spikes={k: pack_neuron_spikes(v) for k, v in rasters.items()},
                    neuron_samples=np.arange(2, dtype=np.int32))


if given is not None:
    @settings(max_examples=15, deadline=None)
    @given(seed=st.integers(0, 10_000), rate=st.floats(0.0, 0.6))
    def test_loihi_energy_is_counts_times_the_yaml_prices(seed, rate):
        """Energy from the raw numbers of hwconfigs/energy/loihi.yaml and the per-layer counts, computed here
        without archsim.energy: conv layers at the conv synapse price, the rest at the dense one; input
        neurons free; hops at their direction's price. Also: every packet sent is received."""
        import yaml
        table = yaml.safe_load((ROOT / "hwconfigs" / "energy" / "loihi.yaml").read_text())["components"]
        pj = lambda comp, act: table[comp]["actions"][act]["energy_pj"]        # noqa: E731
        res = run_simulation(load_config(LOIHI), _random_net_workload(seed, rate), baseline=False)
        rows = res.per_layer.set_index("layer")
        want = 0.0
        for layer, r in rows.iterrows():
            want += r["accumulates"] * (pj("conv_synapse", "accumulate") if layer == "conv" else pj("pe_array", "accumulate"))
            if layer != lg.INPUT:
                want += (r["neuron_accesses"] * pj("neuron_unit", "access") + r["neuron_updates"] * pj("neuron_unit", "update")
                         + r["spikes_out"] * pj("neuron_unit", "spike_out"))
            want += r["packets"] * pj("axon_out", "packet") + r["packets_received"] * pj("axon_in", "packet")
            want += sum(r[f"flit_hops_{d}"] * pj("router", f"hop_{d}") for d in ("east", "west", "north", "south"))
        assert res.summary.energy_j == pytest.approx(want * 1e-12, rel=1e-9, abs=1e-18)
        c = res.summary.counts
        assert c["packets"] == c["packets_received"]

    @settings(max_examples=10, deadline=None)
    @given(seed=st.integers(0, 10_000), rate=st.floats(0.05, 0.4))
    def test_more_spikes_never_cost_less_on_loihi(seed, rate):
        """Adding spikes (the same ones plus more) never lowers energy or latency."""
        low = _random_net_workload(seed, rate)
        high = _random_net_workload(seed, rate)
        extra = np.random.default_rng(seed + 1)
        for name in high.neuron_spikes:
            r = high.neuron_raster(name) | (extra.random(high.neuron_raster(name).shape) < 0.1)
            high.neuron_spikes[name] = pack_neuron_spikes(r)
            high.spikes[:, lg.layer_names(high.graph).index(name), :] = r.sum(-1)
        hw = load_config(LOIHI)
        a, b = run_simulation(hw, low, baseline=False), run_simulation(hw, high, baseline=False)
        assert b.summary.energy_j >= a.summary.energy_j - 1e-18
        assert b.summary.latency_us_mean >= a.summary.latency_us_mean - 1e-9

"""Checks of the hardware units (archsim/units/) that the mutation sample of issue 32 asked for: each test
states a behaviour a surviving mutant broke (tests/MUTATION.md lists them), by hand on a network small
enough to count on paper, or as a property any correct count must keep."""
from __future__ import annotations

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from archsim import graph as lg
from archsim.counts import item_counts
from archsim.exit_policy import plan_exits
from archsim.hwconfig import config_from_dict
from archsim.mapping import map_network
from archsim.simulate import run_simulation
from archsim.units.base import apportion, round_half_up
from archsim.units.neuron_activity import NeuronActivity
from archsim.units.neuron_unit import while_nonzero
from archsim.workload import Workload

from .conftest import ROOT, make_hw, make_workload
from .test_mutation_kills import _barrier_hw
from .test_neuron_update_rule import _workload as _while_nonzero_workload
from .test_ttfs import ttfs_workload


def _counts(hw, wl):
    return item_counts(hw, map_network(hw, wl), wl, plan_exits(wl, "fixed"))


def _loihi(**over):
    """hwconfigs/loihi.yaml (barrier timing, neuron chunks) with dotted-path overrides."""
    raw = yaml.safe_load((ROOT / "hwconfigs" / "loihi.yaml").read_text())
    for path, value in over.items():
        *keys, last = path.split(".")
        node = raw
        for k in keys:
            node = node[k]
        node[last] = value
    return config_from_dict(raw, "loihi.yaml", ROOT / "hwconfigs")


# ---- archsim.units.neuron_unit ---------------------------------------------------------------------------

def test_while_nonzero_of_a_single_timestep_is_the_neurons_that_received():
    """With one step there is no earlier potential to hold: updated = received, whatever fires."""
    received = np.array([[[1, 0, 1, 0]]], dtype=bool)          # [S=1, T=1, 4 neurons]
    fired = np.array([[[1, 0, 0, 1]]], dtype=bool)
    np.testing.assert_array_equal(while_nonzero(NeuronActivity(received, fired)), received)


def test_a_ttfs_layer_reads_every_neuron_at_every_window_step():
    """neuron_accesses = neurons x the window's steps (12 for t_max 4): (256 + 128 + 4) x 12."""
    c = run_simulation(make_hw(), ttfs_workload(), mode="analytic", exit_policy="fixed",
                       baseline=False).summary.counts
    assert c["neuron_accesses"] == (256 + 128 + 4) * 12


def test_barrier_neuron_updates_are_each_cores_own_updated_neurons():
    """while_nonzero with per-neuron records, fc's two neurons on two cores (one neuron per core): each core
    is charged its own neuron's updates (test_neuron_update_rule's hand case, algorithmic steps), not half of
    the layer's. Neuron 0 is updated at every step of both samples; neuron 1 fires at step 0 of sample 0 and
    idles at step 1 (no event, potential reset), and is updated throughout sample 1."""
    hw = _loihi(**{"mapping.max_neurons_per_core": 1})
    wl = _while_nonzero_workload("algorithmic", [0, 1])
    mapping = map_network(hw, wl)
    assert mapping.layers["fc"].neurons_per_core == (1, 1)
    load = item_counts(hw, mapping, wl, plan_exits(wl, "fixed")).core_load["fc"]["neuron_updates"]
    assert load[:, :, 0].tolist() == [[1, 1, 1, 1], [1, 1, 1, 1]]
    assert load[:, :, 1].tolist() == [[1, 0, 1, 1], [1, 1, 1, 1]]


# ---- archsim.units.pe_array ------------------------------------------------------------------------------

def _branching(dma_first: bool, encoding: str = "spikes", shortcut: str = "identity"):
    """input [1, 2, 2] (by DMA: spikes, or ``dense`` pixels) -> c1 conv 1 (3x3, pad 1) and a layer c2
    [1, 2, 2] fed by both: the input and c1 (routed), as a conv and a ``shortcut`` (identity, or a 1x1
    conv). ``dma_first``: c2's conv reads the input and the shortcut comes from c1, else the other way round
    (so each edge is once the later one). Every neuron of a 2 x 2 map with a 3 x 3 kernel reaches all 4 of
    the next: conv fan-out 4; a shortcut's 1. Two samples, T = 2."""
    g = lg.new_graph((1, 2, 2), encoding)
    lg.add_conv(g, "c1", lg.INPUT, out_channels=1)
    lg.add_conv(g, "c2", lg.INPUT if dma_first else "c1", out_channels=1)
    lg.add_residual(g, "c1" if dma_first else lg.INPUT, "c2", op=shortcut)
    spikes = np.zeros((2, 3, 2), dtype=np.int32)
    if encoding == "spikes":
        spikes[:, 0] = [[3, 1], [0, 2]]      # input spikes per sample and step
    spikes[:, 1] = [[2, 0], [4, 1]]          # c1
    wl = Workload(g, spikes, np.zeros(2, np.int32), np.zeros((2, 2), np.int32), {}, np.full(2, 2, np.int32),
                  {"kind": "direct", "timesteps": 2})
    return wl, spikes[:, 0], spikes[:, 1]


@pytest.mark.parametrize("dma_first", [True, False])
def test_barrier_synaptic_load_of_a_layer_with_two_inputs_by_hand(tmp_path, dma_first):
    """c2's cores are charged the events of both in-edges, whichever comes first: input spikes x its fan-out
    plus c1 spikes x its fan-out (conv 4, identity 1), as the layer's accumulate count."""
    wl, s_in, s_c1 = _branching(dma_first)
    c = _counts(_barrier_hw(tmp_path, **{"mesh.cols": 2}), wl)
    want = (4 * s_in + 1 * s_c1) if dma_first else (1 * s_in + 4 * s_c1)
    assert c.core_load["c2"]["accumulates"].sum(-1).tolist() == want.tolist()
    assert c.actions["accumulates"][:, c.layers.index("c2")].tolist() == want.tolist()


# ---- every unit: the protocol's contract (archsim/units/base.py, docs/adding_a_unit.md) -------------------

def _chips(tmp_path):
    """(chip, workload) pairs that between them take every branch of the count formulas: dense and spike
    input, scatter and gather, per-cell pooling with and without records, spilled weights both ways, the
    barrier timing's per-core loads, a chip without off-chip memory, neuron chunks with input cores, layers
    sharing a core."""
    from .conftest import make_workload
    from .test_mutation_kills import _pooled_net
    hand = make_workload([[10, 20, 5], [0, 7, 3]], [[3, 4, 5], [1, 0, 2]], exit_after=[1, 3])
    pooled, _, _ = _pooled_net()
    small = {"core.weight_sram.size_kib": 0.125, "core.weight_sram.banks": 1}
    return [
        (make_hw(), hand),
        (make_hw(**{"mesh.cols": 1}), hand),                  # every layer on one core: local edges
        (make_hw(**{"dataflow.default": "gather"}), hand),
        (make_hw(**{"dataflow.default": "gather", "dataflow.pooling": "per_cell"}), pooled),
        (make_hw(**small), hand),
        (make_hw(**small, **{"offchip.spill": "per_spike"}), hand),
        (_barrier_hw(tmp_path, **{"mapping.input": "cores", "mesh.cols": 4}), pooled),
        (_loihi(**{"mapping.max_neurons_per_core": 1}), _while_nonzero_workload("hardware", [1])),
    ]


def test_every_unit_returns_int64_counts_and_float_loads_of_an_items_shape(tmp_path, monkeypatch):
    """What archsim/units/base.py promises of each unit (and what a new unit's author relies on when reading
    the counts of the units before it): every layer is counted in its own context, in mapping order;
    ``count`` gives int64 [N, T] arrays of whole, non-negative numbers, ``core_load`` float [N, T, K] (K the
    layer's cores) of non-negative loads, ``setup`` plain ints of counts the unit declares (with or without
    off-chip memory); per layer, the synaptic, neuron and packet loads over the cores add up to the layer's
    counts (within 0.5: the counts are rounded half up); the busiest link's flits are whole."""
    from archsim import units
    made: list[tuple[str, str, int, dict]] = []      # (unit, hook, the layer's cores, what it returned)
    seen: list[tuple[str, str]] = []                  # (the context's layer name, its placement's)

    def recording(real, name: str, hook: str):
        def hooked(ctx):
            out = real(ctx)
            made.append((name, hook, ctx.k, out))
            seen.append((ctx.name, ctx.place.name))
            return out
        return hooked

    for unit in units.REGISTRY:
        for hook in ("count", "core_load"):
            if hasattr(unit, hook):
                monkeypatch.setattr(unit, hook, recording(getattr(unit, hook), unit.NAME, hook))
    declared = {u.NAME: {r.count for r in u.ROWS} | set(getattr(u, "UNPRICED", ())) for u in units.REGISTRY}
    for hw, wl in _chips(tmp_path):
        made.clear()
        seen.clear()
        c = _counts(hw, wl)
        n, t = wl.n_samples, wl.timesteps
        assert made, "no unit counted"
        assert list(dict.fromkeys(seen)) == [(layer, layer) for layer in c.layers]   # each layer's own context
        for name, hook, k, out in made:
            for count, v in out.items():
                where = f"{name}.{hook}: {count}"
                if hook == "count":
                    assert v.dtype == np.int64 and v.shape == (n, t), where
                    assert (v >= 0).all(), where
                else:
                    assert v.dtype == np.float64 and v.shape == (n, t, k), where
                    assert (v >= 0).all(), where
        assert all(isinstance(v, int) and v >= 0 for v in c.setup.values())
        for unit in units.present(hw):                       # once-per-run counts are the unit's own counts
            if hasattr(unit, "setup"):
                assert set(unit.setup(hw, 1000)) <= declared[unit.NAME], unit.NAME
        for uv, flits in c.edge_max_link_flits.items():       # the busiest link's flits: whole, 0 inside a core
            assert flits.dtype == np.int64 and flits.shape == (n, t), uv
        for li, layer in enumerate(c.layers if c.core_load else ()):
            for count in ("accumulates", "neuron_updates", "neuron_accesses", "spikes_out", "packets",
                          "packets_received"):
                per_core = c.core_load[layer][count].sum(-1)
                np.testing.assert_allclose(per_core, c.actions[count][:, li], atol=0.5, err_msg=f"{layer} {count}")


def test_weight_reads_of_a_layer_fed_by_a_routed_layer_then_the_input_by_hand():
    """c2 reads one 64-bit word of weights per c1 spike (fan-out 4 x 8 bits) and one per input spike over
    its 1x1 conv shortcut (fan-out 1): both edges' words, the routed one listed first."""
    wl, s_in, s_c1 = _branching(False, shortcut="conv")
    assert [u for u, _ in wl.graph.in_edges("c2")] == ["c1", lg.INPUT]
    c = _counts(make_hw(), wl)
    assert c.actions["weight_reads"][:, c.layers.index("c2")].tolist() == (s_c1 + s_in).tolist()


def test_spike_buffer_reads_of_a_layer_fed_by_pixels_and_spikes_by_hand():
    """c2 multiplies the input's 4 pixels in (8 bits each: one 64-bit word per core, at t = 0 only with
    first_layer_reuse) and reads every c1 spike over its 1x1 shortcut: per core, words + c1 spikes."""
    wl, _, s_c1 = _branching(True, "dense", shortcut="conv")
    res = run_simulation(make_hw(), wl, mode="analytic", exit_policy="fixed", baseline=False)
    k = len(res.mapping.layers["c2"].cores)
    li = res.mapping.order.index("c2")
    assert res.counts.actions["spike_buffer_reads"][:, li].tolist() == (k * (s_c1 + [[1, 0]])).tolist()


def test_the_initial_weight_load_opens_a_dram_row_per_8_kib_by_hand():
    """input [1, 10, 10] -> fc 88: 8,800 weights of 8 bits = 70,400 bits, all on chip. They load once from
    DDR in 64-bit accesses (1,100 reads, 1,100 port-wide weight writes) over ceil(70,400 / 65,536) = 2 rows
    of 8 KiB; a chip without off-chip memory loads them without any DRAM count."""
    g = lg.new_graph((1, 10, 10))
    lg.add_linear(g, "fc", lg.INPUT, out_features=88, spiking=False)
    wl = Workload(g, np.zeros((1, 2, 1), np.int32), np.zeros(1, np.int32), np.zeros((1, 1), np.int32), {},
                  np.ones(1, np.int32), {"kind": "direct", "timesteps": 1})
    want = {"weight_writes": 1100, "offchip_reads": 1100, "offchip_activations": 2}
    assert _counts(make_hw(), wl).setup == want
    assert _counts(make_hw(offchip=None), wl).setup == {**want, "offchip_reads": 0, "offchip_activations": 0}


# ---- archsim.units.axon ----------------------------------------------------------------------------------

def test_per_cell_events_reach_each_cells_own_targets_by_hand():
    """dataflow.pooling per_cell, a recorded sample: input [1, 8, 8] (spikes, by DMA) -> a conv 1 -> (pool 2)
    b conv 1 (3x3, pad 1) on the 4 x 4 pooled map. At t = 0 a fires at (0, 0), (1, 1) (one cell, a corner)
    and (7, 7) (the opposite corner): 2 cell events, each reaching the 2 x 2 targets a corner cell has (8
    synaptic events, not 2 x the map's mean 6.25); at t = 1 at (3, 4): one inner cell, 3 x 3 = 9. b's one
    core reads each cell event once from its spike buffer."""
    from archsim.workload import pack_neuron_spikes
    g = lg.new_graph((1, 8, 8), "spikes")
    lg.add_conv(g, "a", lg.INPUT, out_channels=1)
    lg.add_conv(g, "b", "a", out_channels=1, pool=2, spiking=False)
    raster = np.zeros((1, 2, 1, 8, 8), dtype=bool)
    raster[0, 0, 0, [0, 1, 7], [0, 1, 7]] = True
    raster[0, 1, 0, 3, 4] = True
    raster = raster.reshape(1, 2, 64)
    spikes = np.zeros((1, 3, 2), np.int32)
    spikes[0, 1] = raster.sum(-1)[0]
    wl = Workload(g, spikes, np.zeros(1, np.int32), np.zeros((1, 2), np.int32), {}, np.full(1, 2, np.int32),
                  {"kind": "direct", "timesteps": 2}, neuron_spikes={"a": pack_neuron_spikes(raster)},
                  neuron_samples=np.array([0], np.int32))
    c = _counts(make_hw(**{"dataflow.pooling": "per_cell"}), wl)
    b = c.layers.index("b")
    assert c.edge_spikes[("a", "b")].tolist() == [[2, 1]]
    assert c.actions["accumulates"][0, b].tolist() == [8, 9]
    assert c.actions["spike_buffer_reads"][0, b].tolist() == [2, 1]



# ---- archsim.units.base ----------------------------------------------------------------------------------

def test_apportion_gives_the_remainder_to_the_largest_fractions_by_hand():
    """3 spikes over cores holding 3/4 and 1/4: 2.25 and 0.75, floors 2 and 0; the one left goes to the
    larger fraction (0.75), not the larger share. 6 over 2/8, 2/8, 2/8, 1/8, 1/8: 1.5, 1.5, 1.5, 0.75, 0.75;
    three left: the two 0.75s, then of the tied 0.5s the lowest core."""
    assert apportion(np.array([[3]]), np.array([[0.75, 0.25]])).tolist() == [[[2, 1]]]
    shares = np.array([[2, 2, 2, 1, 1]]) / 8
    assert apportion(np.array([[6]]), shares).tolist() == [[[2, 1, 1, 1, 1]]]


def test_round_half_up_is_exact_whatever_the_input_type():
    """Halves go up and whole numbers stay, in float64 whatever a unit hands in: above 2^23 a float32 has no
    halves, so 8,388,609 + 0.5 computed in float32 would be 8,388,610."""
    assert round_half_up(np.array([0.49, 0.5, 1.5, 2.5, 7])).tolist() == [0, 1, 2, 3, 7]
    assert round_half_up(np.array([8388609, 8388610], dtype=np.float32)).tolist() == [8388609, 8388610]
    assert round_half_up(np.array([3, 8388609], dtype=np.int32)).tolist() == [3, 8388609]
    assert round_half_up(np.array([1.5])).dtype == np.int64


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 8), min_size=1, max_size=6), st.integers(0, 500))
def test_apportion_is_largest_remainder(weights, total):
    """The rule apportion states: each core gets the floor of its exact share, and the cores given one more
    are those with the largest fractional parts, ties to the lower core (Hamilton's method). Shares are
    multiples of 1/64 here, so every product and fraction is exact in floating point and a tie is a tie."""
    weights.append(64 - sum(weights) % 64)          # the last core takes the rest: the shares sum to 64/64
    k = len(weights)
    shares = np.array(weights, dtype=np.float64)[None, :] / sum(weights)
    parts = apportion(np.array([[total]]), shares)[0, 0]
    raw = total * shares[0]
    extra = parts - np.floor(raw)
    assert set(extra.tolist()) <= {0, 1} and parts.sum() == total
    by_fraction = sorted(range(k), key=lambda i: (np.floor(raw[i]) - raw[i], i))   # largest first, then lower core
    assert sorted(np.flatnonzero(extra).tolist()) == sorted(by_fraction[:int(extra.sum())])


# ---- archsim.units.neuron_activity -----------------------------------------------------------------------

@pytest.mark.parametrize("params,fc_updates", [
    ({}, 7 + 8),                      # test_neuron_update_rule's hand case: neuron 1 idles at step 1 of sample 0
    ({"bias": 0.5}, 8 + 8),           # a bias is an input every step: both neurons updated at every step
    ({"reset": -1.0}, 8 + 8),         # firing leaves a non-zero potential: neuron 1 stays updated
    ({"bias": 0.0, "reset": 0.0}, 7 + 8),
])
def test_while_nonzero_reads_the_bias_and_reset_of_the_neuron_record(params, fc_updates):
    """SANA-FE's LIF keeps a neuron updated while its potential is non-zero: a non-zero bias or reset value
    keeps it so (archsim.units.neuron_activity.layer_activity). Input neurons add one update per spike (2 x 2)."""
    wl = _while_nonzero_workload("algorithmic", [0, 1])
    lg.set_neuron(wl.graph, "fc", lg.neuron_record("lif", update="while_nonzero", **params))
    res = run_simulation(_loihi(), wl, exit_policy="fixed", mode="analytic", baseline=False)
    assert res.summary.counts["neuron_updates"] == 2 * 2 + fc_updates


# ---- archsim.units (the registry's loops) and archsim.registry -------------------------------------------

def test_the_energy_tables_floor_by_hand():
    """What every energy table must price, from the required rows of the units every chip has (the
    dendrite is optional; the neuron unit's access and spike_out, the axon units and the DRAM's rows are not
    required or are priced by the DRAM table): the PE array's accumulate and mac, the neuron unit's update,
    the memories' read and write (one ``sram`` entry for all three), the router's hop (every direction
    priced as ``hop`` unless the table splits it), the link's flit, the controller's decision. The
    hwconfig loader checks tables against exactly this."""
    from archsim import actions, units
    want = {"pe_array": ("accumulate", "mac"), "neuron_unit": ("update",), "sram": ("read", "write"),
            "router": ("hop",), "link": ("flit",), "controller": ("decision",)}
    assert units.required_table() == want == actions.REQUIRED_TABLE


def test_a_present_unit_without_its_required_row_is_refused(tmp_path):
    """In-process (test_units checks the CLI's one line): a table that has a dendrite but does not price
    its update."""
    import copy

    from archsim.errors import UserError

    from .test_units import TABLE
    bad = copy.deepcopy(TABLE)
    bad["components"]["dendrite"]["actions"] = {"updates": {"energy_pj": 0.1}}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad))
    with pytest.raises(UserError) as err:
        make_hw(energy_table=str(path))
    assert (err.value.source, err.value.field) == (str(path), "components.dendrite.actions.update")


@pytest.mark.parametrize("choice,field", [
    ({"default": "nosuch"}, "units.synapse.default"),
    ({"default": "pe_array", "by_op": {"conv": "nosuch"}}, "units.synapse.by_op.conv"),
    ({"default": "pe_array", "layers": {"conv2": "nosuch"}}, "units.synapse.layers.conv2"),
])
def test_a_named_unit_the_table_lacks_is_refused_at_its_field(choice, field):
    from archsim.errors import UserError
    with pytest.raises(UserError) as err:
        make_hw(**{"units.synapse": choice})
    assert (err.value.source, err.value.field) == ("tiny-test.yaml", field)


def test_static_components_in_scope_then_pipeline_order():
    """static_components' order (the order energy.py adds leakage up): by scope as SCOPES lists them, and
    within a scope by the units' pipeline order."""
    from archsim import units
    comps = units.static_components(make_hw())
    owner = {c: i for i, u in enumerate(units.REGISTRY) for c in getattr(u, "STATIC", {})}
    keys = [(units.SCOPES.index(scope), owner[comp]) for comp, scope in comps]
    assert keys == sorted(keys) and len(comps) == 11
    assert [c for c, s in comps if s == "sram"] == ["weight_sram", "potential_sram", "spike_buffer"]


def _plugin_package(root, modules: dict[str, str]):
    """A package ``plugins_<n>`` under ``root`` with the given module sources."""
    name = f"plugins_{len(list(root.iterdir()))}"
    pkg = root / name
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for mod, src in modules.items():
        (pkg / f"{mod}.py").write_text(src)
    return name, [str(pkg)]


def test_discover_keeps_the_modules_that_declare_everything_by_order_then_name(tmp_path, monkeypatch):
    """archsim.registry.discover: modules that define every required name, sorted by (ORDER, NAME); a
    helper without them is imported but left out. File names sort the other way round on purpose."""
    from archsim.registry import discover
    monkeypatch.syspath_prepend(str(tmp_path))
    name, path = _plugin_package(tmp_path, {
        "a_last": "NAME = 'z'\nORDER = 30\nROWS = ()\n",
        "b_helper": "ORDER = 0\nNAME = 'helper'\n",              # no ROWS: a shared helper
        "c_tie_b": "NAME = 'b'\nORDER = 10\nROWS = ()\n",
        "d_tie_a": "NAME = 'a'\nORDER = 10\nROWS = ()\n",
        "e_first": "NAME = 'first'\nORDER = 5\nROWS = ()\n",
    })
    found = discover(name, path, ("NAME", "ORDER", "ROWS"))
    assert [m.__name__.split(".")[-1] for m in found] == ["e_first", "d_tie_a", "c_tie_b", "a_last"]
    assert [m.NAME for m in discover(name, path, ("NAME", "ORDER"))] == ["helper", "first", "a", "b", "z"]
    assert discover(name, path, ("NAME", "ORDER", "ROWS", "MISSING")) == []


def test_the_two_registries_are_what_discover_finds():
    """The hardware units and the GPU-log formats are discovered, not listed: every unit module but the
    helpers (base, neuron_activity), in pipeline order."""
    from archsim import units
    from archsim.gpu import formats
    from archsim.registry import discover
    assert discover("archsim.units", units.__path__, ("NAME", "ORDER", "ROWS")) == units.REGISTRY
    assert discover("archsim.gpu.formats", formats.__path__, ("NAME", "ORDER", "sniff", "read")) == formats.REGISTRY
    assert [u.NAME for u in units.REGISTRY] == ["pe_array", "dendrite", "neuron_unit", "weight_sram",
                                                "potential_sram", "spike_buffer", "axon", "network",
                                                "chip_link", "controller", "offchip"]


# ---- archsim.counts (what it builds for the units) --------------------------------------------------------

@pytest.mark.parametrize("pooling,conv2_words,fc_words", [
    # conv2 reads conv1 [4, 8, 8] pooled by 2 into [4, 4, 4] with a 3x3 kernel (pad 1): 4 channels x 2.5 x 2.5
    # valid taps on average = 25 pooled inputs per neuron, 100 source neurons; fc reads conv2 pooled by 4:
    # 8 pooled inputs, 128 source neurons. Bitmaps in 8-bit words: ceil(bits / 8).
    ("per_spike", 13, 16),          # a bit per source neuron: 100 and 128 bits
    ("per_cell", 4, 1),             # a bit per pooled cell: 25 and 8 bits
])
def test_gather_scans_a_bit_per_pooled_cell_under_per_cell_pooling(pooling, conv2_words, fc_words):
    """Under gather each neuron scans its receptive field's spike bitmap every item: conv2's 128 neurons and
    fc's 4, whatever spiked."""
    hw = make_hw(**{"dataflow.default": "gather", "dataflow.pooling": pooling, "core.spike_buffer.port_bits": 8})
    wl = make_workload([[10, 20, 5]], [[3, 4, 5]])
    c = _counts(hw, wl)
    reads = c.actions["spike_buffer_reads"]
    assert reads[0, c.layers.index("conv2")].tolist() == [128 * conv2_words] * 3
    assert reads[0, c.layers.index("fc")].tolist() == [4 * fc_words] * 3


def test_a_spike_input_is_written_into_every_core_of_its_layer_by_dma():
    """The input's spikes arrive by DMA into the spike buffer of each core of the layer that reads them (as
    the dense image does, test_timing_hand), plus the layer's own spikes."""
    from .test_mutation_kills import _pooled_net
    wl, rin, rconv = _pooled_net(records_for=(0, 1))
    hw = make_hw(**{"mesh.cols": 4})
    mapping = map_network(hw, wl)
    k = len(mapping.layers["conv"].cores)
    c = item_counts(hw, mapping, wl, plan_exits(wl, "fixed"))
    assert k == 3
    assert c.actions["spike_buffer_writes"][:, c.layers.index("conv")].tolist() == \
        (k * rin.sum(-1) + rconv.sum(-1)).tolist()


def test_per_sample_dynamic_energy_adds_up_to_the_runs_when_prices_differ_per_layer(hand_workload, tmp_path):
    """Each sample's dynamic energy is its own executed items priced per layer (conv layers' synaptic events
    by the conv synapse unit): over the samples, the run's dynamic energy but the initial weight load's
    (once per run, no sample's)."""
    from .test_units import NAMED, TABLE
    path = tmp_path / "named.yaml"
    path.write_text(yaml.safe_dump(TABLE))
    res = run_simulation(make_hw(energy_table=str(path), **NAMED), hand_workload, mode="analytic", baseline=False)
    per = res.per_sample["energy_dynamic_j"].to_numpy()
    assert (per > 0).all()
    detail = res.summary.energy_detail_j
    setup = sum(j for comp in detail.values() for count, j in comp.items() if count.endswith("_setup"))
    assert setup > 0
    assert per.sum() + setup == pytest.approx(res.summary.energy_dynamic_j, rel=1e-12)


@pytest.mark.parametrize("mesh", [{"mesh.cols": 3}, {"mesh.rows": 2, "mesh.cols": 2}])
def test_every_flit_hop_crosses_one_link(hand_workload, mesh):
    """Whole flits per link, adding up to the flit-hops the network unit counts (channel split: every
    neuron of a core reaches the same cores, so no per-core mean is fractional)."""
    from archsim.counts import oracle_mask
    hw = make_hw(**mesh)
    mapping = map_network(hw, hand_workload)
    plan = plan_exits(hand_workload, "entropy", 0.5)
    c = item_counts(hw, mapping, hand_workload, plan)
    mask = oracle_mask(plan, len(mapping.order), hand_workload.timesteps)
    flits = c.link_flits(mapping, mask)
    assert flits.dtype == np.int64 and flits.sum() > 0
    assert flits.sum() == c.totals(mask)["flit_hops"]

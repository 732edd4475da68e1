"""Placement rules of archsim.mapping, and the apportioning of spikes to cores."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archsim.counts import apportion
from archsim.errors import UserError
from archsim.mapping import map_network, split_channels
from archsim.mesh import xy_path

from .conftest import make_hw, make_workload


def _wl():
    return make_workload(conv1=[[10, 20], [5, 5]], conv2=[[3, 4], [1, 1]])


def test_one_layer_per_group_in_core_order():
    m = map_network(make_hw(), _wl())
    assert [g.layers for g in m.groups] == [("conv1",), ("conv2",), ("fc",)]
    assert [g.cores for g in m.groups] == [(0,), (1,), (2,)]
    assert m.routes[("conv1", "conv2")].hops_per_spike.tolist() == [1.0]


def test_more_layers_than_cores_share_cores_contiguously():
    m = map_network(make_hw(**{"mesh.cols": 2}), _wl())
    assert len(m.groups) == 2
    flat = [name for g in m.groups for name in g.layers]
    assert flat == ["conv1", "conv2", "fc"]
    assert m.summary()["shared_cores"]
    local = [r.local for r in m.routes.values()]
    assert any(local)                       # the two layers on one core exchange spikes locally


def test_one_core_holds_everything():
    m = map_network(make_hw(**{"mesh.cols": 1}), _wl())
    assert m.groups[0].layers == ("conv1", "conv2", "fc")
    assert all(r.local for r in m.routes.values())


def test_potentials_that_do_not_fit_anywhere():
    with pytest.raises(UserError, match="cannot fit"):
        map_network(make_hw(**{"core.potential_sram.size_kib": 0.25, "core.potential_sram.banks": 1}), _wl())


def test_more_images_in_flight_need_more_cores_for_potentials():
    # conv1: 256 neurons x 16 bits x (1 + reuse copy) x images: 16,384 bits (2 KiB) for 2 images fits one
    # 2 KiB core; conv2 128 x 16 x 2 = 4,096 and fc 4 x 16 x 2 = 128 bits fit one core each: 3 cores, the
    # whole 1 x 3 mesh (no spare core to hand out).
    pot = {"core.potential_sram.size_kib": 2, "core.potential_sram.banks": 1}
    m = map_network(make_hw(**pot, **{"mesh.cols": 3, "pipeline.images_in_flight": 2}), _wl())
    assert m.layers["conv1"].potential_bits == 16_384 and m.layers["conv1"].cores == (0,)
    # 4 images: conv1 needs 32,768 bits = 2 cores (channels 2 + 2), conv2 8,192 and fc 256 bits one each
    m = map_network(make_hw(**pot, **{"mesh.cols": 4, "pipeline.images_in_flight": 4}), _wl())
    assert m.layers["conv1"].potential_bits == 32_768
    assert {n: p.cores for n, p in m.layers.items()} == {"conv1": (0, 1), "conv2": (2,), "fc": (3,)}
    assert m.layers["conv1"].channels_per_core == (2, 2)
    # ... which a 1 x 3 mesh cannot hold
    with pytest.raises(UserError, match="membrane potentials need 4 cores, the mesh has 3"):
        map_network(make_hw(**pot, **{"mesh.cols": 3, "pipeline.images_in_flight": 4}), _wl())


def test_channel_counts_drive_the_split():
    wl = _wl()
    wl.channel_spikes_mean = {"conv2": np.array([[1, 1]] * 2 + [[0, 0]] * 6, dtype=np.float32)}
    hw = make_hw(**{"mesh.rows": 2, "mesh.cols": 2, "core.pe_array.accumulates_per_cycle": 1,
                    "core.pe_array.macs_per_cycle": 64})
    m = map_network(hw, wl)
    assert m.layers["conv2"].split == "channels" and m.layers["conv1"].split == "even"
    # all conv2 spikes come from channels 0-1, on conv2's first core
    assert m.emit_shares["conv2"].tolist() == [[1.0, 0.0], [1.0, 0.0]]


def test_channel_count_mismatch_is_an_error():
    wl = _wl()
    wl.channel_spikes_mean = {"conv2": np.ones((3, 2), dtype=np.float32)}
    with pytest.raises(UserError, match="channels"):
        map_network(make_hw(), wl)


def test_split_channels():
    assert split_channels(8, 3) == (3, 3, 2)
    assert split_channels(4, 4) == (1, 1, 1, 1)


@given(st.tuples(st.integers(0, 4), st.integers(0, 4)), st.tuples(st.integers(0, 4), st.integers(0, 4)))
def test_xy_path_is_manhattan_and_column_first(a, b):
    path = xy_path(a, b)
    assert len(path) == abs(a[0] - b[0]) + abs(a[1] - b[1])
    if path:
        assert path[0][0] == a and path[-1][1] == b
        horizontal = [link for link in path if link[0][0] == link[1][0]]
        assert all(link[0][0] == a[0] for link in horizontal)     # columns first, in a's row
        assert path[:len(horizontal)] == horizontal


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 6), st.integers(1, 3), st.data())
def test_apportion_sums_exactly_and_stays_within_one(k, t, data):
    shares = np.array([data.draw(st.lists(st.floats(0.01, 1), min_size=k, max_size=k)) for _ in range(t)])
    shares /= shares.sum(axis=1, keepdims=True)
    total = np.array([data.draw(st.lists(st.integers(0, 10_000), min_size=t, max_size=t)) for _ in range(3)])
    parts = apportion(total, shares)
    assert (parts.sum(axis=-1) == total).all()
    assert (np.abs(parts - total[..., None] * shares[None]) < 1 + 1e-9).all()


# ---- what `make mutation` found unchecked in archsim.mapping (tests/MUTATION.md) -------------------------

@pytest.mark.parametrize("over", [
    # conv1's 5808 MACs (2904 per item with reuse over T = 2) at 2 per cycle: 1452 cycles, the slowest layer
    {"core.weight_sram.banks": 8},
    # conv1's 768 weight words (384 per item) over 1 bank: 384 + 64 (sweep) > conv2's 125 + 32
    {"core.pe_array.macs_per_cycle": 64, "core.weight_sram.banks": 1},
])
def test_the_spare_core_goes_to_the_slowest_layer_by_hand(over):
    m = map_network(make_hw(**{"mesh.cols": 4, **over}), _wl())
    assert {n: p.cores for n, p in m.layers.items()} == {"conv1": (0, 1), "conv2": (2,), "fc": (3,)}


def test_a_neuron_chunk_whose_potentials_do_not_fit_is_refused():
    hw = make_hw(**{"mapping.split": "neurons", "mapping.max_neurons_per_core": 256,
                    "core.potential_sram.size_kib": 0.125, "core.potential_sram.banks": 1})
    with pytest.raises(UserError, match="256-neuron chunk of layer conv1 needs 2.0 KiB"):
        map_network(hw, _wl())


def test_mapping_summary_by_hand():
    wl = _wl()
    wl.channel_spikes_mean = {"conv1": np.ones((4, 2), np.float32), "conv2": np.ones((8, 2), np.float32)}
    s = map_network(make_hw(), wl).summary()
    assert s == {
        "cores_total": 3, "cores_used": 3,
        "layers": {"conv1": {"cores": [0], "channels_per_core": [4], "weights_kib": round(864 / 8192, 2),
                             "potentials_kib": 2.0, "spill_fraction": 0.0, "split": "channels"},
                   "conv2": {"cores": [1], "channels_per_core": [8], "weights_kib": round(2304 / 8192, 2),
                             "potentials_kib": 0.5, "spill_fraction": 0.0, "split": "channels"},
                   "fc": {"cores": [2], "channels_per_core": [4], "weights_kib": round(256 / 8192, 2),
                          "potentials_kib": round(4 * 16 * 2 / 8192, 2), "spill_fraction": 0.0, "split": "n/a"}},
        "spilled_layers": {}, "split": "per-channel counts", "shared_cores": False, "images_in_flight": 2,
        "notes": []}
    assert map_network(make_hw(), _wl()).summary()["split"] == "even"
    wl.channel_spikes_mean = {"conv2": np.ones((8, 2), np.float32)}
    assert map_network(make_hw(), wl).summary()["split"] == "per-channel counts where present, else even"


def test_neuron_chunks_with_a_partial_last_chunk():
    """conv1's 256 neurons in chunks of at most 100: 100, 100 and 56 (channels touched: 2, 2, 1 of 4 x 64)."""
    hw = make_hw(**{"mapping.split": "neurons", "mapping.max_neurons_per_core": 100, "mesh.cols": 6})
    m = map_network(hw, _wl())
    assert m.layers["conv1"].neurons_per_core == (100, 100, 56)
    assert m.layers["conv1"].channels_per_core == (2, 2, 1)
    assert m.layers["conv2"].neurons_per_core == (100, 28) and m.layers["fc"].neurons_per_core == (4,)


def test_layers_sharing_a_core_that_holds_their_weights_do_not_spill():
    """1 x 2 mesh: two of the three layers share a core; 864 + 2304 + 256 weight bits fit any 64 KiB SRAM."""
    from archsim.simulate import run_simulation
    res = run_simulation(make_hw(**{"mesh.cols": 2}), _wl(), exit_policy="fixed", mode="analytic", baseline=False)
    assert res.summary.mapping["shared_cores"]
    assert [p.spill_fraction for p in res.mapping.layers.values()] == [0.0, 0.0, 0.0]
    assert res.summary.mapping["spilled_layers"] == {} and res.mapping.notes[-1].startswith("3 layers on 2 cores")
    assert res.summary.counts_setup["weight_writes"] == -(-(864 + 2304 + 256) // 64)


def test_spilled_weights_are_reported():
    """conv2's 2304 weight bits on a 1024-bit weight SRAM: 1 - 1024 / 2304 = 5/9 = 0.5556 spills."""
    m = map_network(make_hw(**{"core.weight_sram.size_kib": 0.125, "core.weight_sram.banks": 1}), _wl())
    assert m.summary()["spilled_layers"] == {"conv2": 0.5556}
    assert m.summary()["layers"]["conv2"]["spill_fraction"] == 0.5556
    assert m.notes == ["weights spill off chip: conv2 56%"]
    with pytest.raises(UserError, match="layer conv2 needs 0 KiB of weights on 1 core.s. holding 0 KiB, and there is no "
                                        "off-chip memory"):
        map_network(make_hw(**{"core.weight_sram.size_kib": 0.125, "core.weight_sram.banks": 1, "offchip": None}), _wl())

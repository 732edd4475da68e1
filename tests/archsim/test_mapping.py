"""Placement rules of archsim.mapping, and the apportioning of spikes to cores."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archsim.counts import apportion
from archsim.errors import UserError
from archsim.mapping import map_network, split_channels, xy_path

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
    # conv1: 256 neurons x 16 bits x (1 + reuse copy) x images; 2 KiB for 2 images fits one 2 KiB core
    hw = make_hw(**{"core.potential_sram.size_kib": 2, "core.potential_sram.banks": 1, "mesh.cols": 4,
                    "pipeline.images_in_flight": 2})
    assert len(map_network(hw, _wl()).layers["conv1"].cores) >= 1
    hw = make_hw(**{"core.potential_sram.size_kib": 2, "core.potential_sram.banks": 1, "mesh.cols": 4,
                    "pipeline.images_in_flight": 4})
    assert len(map_network(hw, _wl()).layers["conv1"].cores) >= 2


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

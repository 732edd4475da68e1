"""The compressed routes (issue 31: per (core, connectivity row) pair and per pattern, never neurons x
cores) equal, number for number, the per-neuron computation they replaced, kept here as the reference:
one dense [n_src, K_dst] synapse matrix, one XY path walked per (pattern, destination)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archsim import graph as lg
from archsim.connectivity import synapse_rows, synapses_per_core
from archsim.mapping import map_network
from archsim.mesh import direction_counts, link_grid, link_index, xy_links_by_set, xy_path
from archsim.synthetic import synthetic_workload
from tests.archsim.conftest import make_hw


def reference_route(g, src, dst, positions, links, link_id, multicast):
    """The per-neuron route of archsim before issue 31 (mapping._route at commit bd8070c)."""
    k_src, k_dst = len(src.cores), len(dst.cores)
    events = synapses_per_core(g, src.name, dst.name, dst.core_of_neuron(), k_dst)
    core_of = src.core_of_neuron()
    per_core_n = np.bincount(core_of, minlength=k_src).astype(np.float64)

    def mean(x):
        flat = x.reshape(len(x), -1).astype(np.float64)
        out = np.zeros((k_src, flat.shape[1]))
        np.add.at(out, core_of, flat)
        return (out / per_core_n[:, None]).reshape((k_src,) + x.shape[1:])

    fan = events.sum(axis=1)
    if set(src.cores) == set(dst.cores):
        return dict(local=True, fan_out_per_spike=mean(fan), events_per_spike=mean(events), fan_out_per_neuron=fan,
                    events_per_neuron=events, received_per_neuron=np.zeros_like(events),
                    packets_per_neuron=np.zeros(len(fan)), hops_dir_per_neuron=np.zeros((len(fan), 4)))
    reach = events > 0
    patterns, inverse = np.unique(np.concatenate([core_of[:, None], reach], axis=1), axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    pat_packets, pat_dirs, pat_links, max_hops = np.zeros(len(patterns)), np.zeros((len(patterns), 4)), [], 0
    for pi, row in enumerate(patterns):
        a = positions[src.cores[row[0]]]
        uses = {}
        for d in np.nonzero(row[1:])[0]:
            b = positions[dst.cores[d]]
            path = xy_path(a, b)
            max_hops = max(max_hops, len(path))
            for link in path:
                uses[link_id[link]] = uses.get(link_id[link], 0) + 1
            if not multicast:
                pat_dirs[pi] += direction_counts(a, b)
        if multicast:
            uses = {j: 1 for j in uses}
            for j in uses:
                pat_dirs[pi] += direction_counts(*links[j])
            pat_packets[pi] = 1.0 if row[1:].any() else 0.0
        else:
            pat_packets[pi] = float(row[1:].sum())
        pat_links.append(uses)
    ids = np.array(sorted({j for u in pat_links for j in u}), dtype=np.int64)
    pat_uses = np.zeros((len(patterns), len(ids)))
    for pi, u in enumerate(pat_links):
        for j, n in u.items():
            pat_uses[pi, list(ids).index(j)] = n
    dirs_n = pat_dirs[inverse]
    return dict(local=False, packets_per_spike=mean(pat_packets[inverse]), hops_per_spike=mean(dirs_n.sum(axis=1)),
                link_ids=ids, link_uses=mean(pat_uses[inverse]) if len(ids) else np.zeros((k_src, 0)),
                max_hops=max_hops, hops_dir_per_spike=mean(dirs_n), fan_out_per_spike=mean(fan),
                events_per_spike=mean(events), received_per_spike=mean(reach.astype(np.int64)),
                fan_out_per_neuron=fan, packets_per_neuron=pat_packets[inverse], hops_dir_per_neuron=dirs_n,
                events_per_neuron=events, received_per_neuron=reach.astype(np.int64))


CASES = [
    ("tiny", None, {}),                                                          # channel split, multicast
    ("tiny", None, {"router.multicast": False}),
    ("tiny", None, {"mesh.cols": 2}),                                            # layers share a core
    ("tiny", None, {"mesh.rows": 3, "mesh.cols": 4, "mapping.split": "neurons", "mapping.max_neurons_per_core": 40,
                    "mesh.cores_per_tile": 2, "router.multicast": False}),
    ("vgg16", (3, 32, 32), {"mesh.rows": 16, "mesh.cols": 16, "mapping.split": "neurons",
                            "mapping.max_neurons_per_core": 2000}),
    ("vgg16", (3, 32, 32), {"mesh.rows": 16, "mesh.cols": 16, "mapping.split": "neurons",
                            "mapping.max_neurons_per_core": 2000, "router.multicast": False,
                            "mesh.numbering": "column_major"}),
]


@pytest.mark.parametrize("arch,shape,over", CASES)
def test_routes_equal_the_per_neuron_reference(arch, shape, over):
    check_routes(arch, shape, over)


@pytest.mark.parametrize("arch,shape,over", [CASES[1], CASES[4]])
def test_routes_in_tiny_blocks_equal_the_reference(arch, shape, over, monkeypatch):
    """The block sizes (how much is expanded at once) change nothing, even when a block holds one row."""
    from archsim import connectivity, mapping, mesh
    for module, name in ((connectivity, "_BLOCK"), (mesh, "_BLOCK"), (mapping, "_SUM_BLOCK")):
        monkeypatch.setattr(module, name, 7)
    check_routes(arch, shape, over)


def check_routes(arch, shape, over):
    hw = make_hw(**over)
    wl = synthetic_workload(arch, 3, 2, classes=4, input_shape=shape)
    m = map_network(hw, wl)
    positions, (links, link_id) = m.positions, link_index(hw.mesh.rows, hw.mesh.cols)
    assert m.routes
    for (u, v), route in m.routes.items():
        ref = reference_route(wl.graph, m.layers[u], m.layers[v], positions, links, link_id, hw.router.multicast)
        assert route.local == ref.pop("local")
        for name, want in ref.items():
            got = getattr(route, name)
            assert np.shape(got) == np.shape(want), (u, v, name)
            assert np.array_equal(got, want), (u, v, name)      # exact: sums of integers, in any order


def test_synapse_rows_are_few_on_a_big_layer_and_expand_to_the_matrix():
    """A 64x64 conv on 64 channels, neuron split into 4,096-neuron chunks: 262,144 source neurons share
    far fewer rows, and the rows expand to the dense matrix."""
    g = lg.new_graph((64, 64, 64), "spikes")
    lg.add_conv(g, "c", "input", out_channels=64)
    core_of = np.arange(64 * 64 * 64) // 4096
    rows = synapse_rows(g, "input", "c", core_of, 64)
    assert len(rows.table) < 64 * 64 // 4
    assert rows.row_of_neuron.shape == (64 * 64 * 64,)
    small = lg.new_graph((4, 6, 6), "spikes")
    lg.add_conv(small, "c", "input", out_channels=5, stride=2, pool=1)
    core_of = np.arange(5 * 3 * 3) % 4
    assert np.array_equal(synapse_rows(small, "input", "c", core_of, 4).dense(),
                          synapses_per_core(small, "input", "c", core_of, 4))


def test_xy_links_count_the_xy_paths_by_hand():
    """From (1, 1) on a 3x3 mesh to (1, 1) itself, (0, 2) and (2, 2): the paths east (1,1)->(1,2) twice,
    then south (1,2)->(0,2) and north (1,2)->(2,2)."""
    grid = link_grid(3, 3)
    links, link_id = link_index(3, 3)
    src, dest = np.array([[1, 1]] * 3 + [[0, 0]]), np.array([[1, 1], [0, 2], [2, 2], [0, 2]])
    sets, ids, uses = xy_links_by_set(np.array([0, 0, 0, 1]), src, dest, grid, 2)
    got = {(int(s), links[i]): int(n) for s, i, n in zip(sets, ids, uses)}
    assert got == {(0, ((1, 1), (1, 2))): 2, (0, ((1, 2), (0, 2))): 1, (0, ((1, 2), (2, 2))): 1,
                   (1, ((0, 0), (0, 1))): 1, (1, ((0, 1), (0, 2))): 1}      # set 1: (0, 0) -> (0, 2)
    assert all(grid[r, c, d] == link_id.get(((r, c), (r + dr, c + dc)), -1)
               for r in range(3) for c in range(3) for d, (dr, dc) in enumerate(((0, 1), (0, -1), (1, 0), (-1, 0))))


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_xy_links_are_the_xy_paths_counted(data):
    """Per set, every link of its XY paths once, crossed by as many paths as walk it (xy_path), whether a
    set's routes share one source (a spike's destinations, as the mapping makes them) or not."""
    rows, cols = data.draw(st.integers(1, 7)), data.draw(st.integers(1, 7))
    n_sets = data.draw(st.integers(1, 6))
    tile = st.tuples(st.integers(0, rows - 1), st.integers(0, cols - 1))
    sources = data.draw(st.lists(tile, min_size=n_sets, max_size=n_sets))
    one_source = data.draw(st.booleans())
    pairs = sorted(data.draw(st.lists(st.tuples(st.integers(0, n_sets - 1), tile, tile), min_size=1, max_size=40)))
    sets = np.array([p for p, _, _ in pairs])
    src = np.array([sources[p] if one_source else s for p, s, _ in pairs])
    dest = np.array([d for _, _, d in pairs])
    links, link_id = link_index(rows, cols)
    want: dict = {}
    for p, a, b in zip(sets, src, dest):
        for link in xy_path(tuple(a), tuple(b)):
            want[int(p), link_id[link]] = want.get((int(p), link_id[link]), 0) + 1
    got_sets, got_links, got_uses = xy_links_by_set(sets, src, dest, link_grid(rows, cols), n_sets)
    got = {(int(p), int(j)): int(n) for p, j, n in zip(got_sets, got_links, got_uses)}
    assert len(got) == len(got_sets) and got == want            # each (set, link) once


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 5000), max_size=200), st.integers(0, 20000))
def test_unique_ints_is_numpy_unique(keys, extra):
    """By counting (a small key space) or by sorting (a big one): np.unique's arrays, dtypes included."""
    from archsim.mapping import _unique_ints
    keys = np.array(keys, dtype=np.int64)
    want = np.unique(keys, return_inverse=True, return_counts=True)
    got = _unique_ints(keys, 5001 + extra)
    for w, g in zip(want, got):
        assert g.dtype == w.dtype and np.array_equal(g, w.reshape(-1))


def test_xy_links_of_no_routes_are_empty_integer_arrays():
    """No (source, destination) pair: three empty int64 arrays (what the routes' bincounts take)."""
    none = np.zeros((0, 2), np.int64)
    out = xy_links_by_set(np.zeros(0, np.int64), none, none, link_grid(2, 2), 0)
    assert [(a.shape, a.dtype) for a in out] == [((0,), np.dtype(np.int64))] * 3

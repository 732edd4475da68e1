"""Samples in chunks (archsim.timing.chunks, archsim.tally): counting a block of samples gives that block's
rows of counting them all, and a run made block by block gives the very numbers of a run made in one
block, in every timing backend, with at most a few blocks held at a time."""
from __future__ import annotations

import json

import numpy as np
import pytest

from archsim import graph as lg
from archsim.counts import item_counts
from archsim.cycles import core_timing
from archsim.exit_policy import plan_exits
from archsim.hwconfig import load_config
from archsim.mapping import map_network
from archsim.simulate import run_simulation
from archsim.synthetic import synthetic_workload
from archsim.timing import chunks
from archsim.workload import Workload, pack_neuron_spikes

from .conftest import ROOT, make_hw


def _recorded_workload(n: int = 9, t: int = 3, seed: int = 3) -> Workload:
    """input [2, 8, 8] (spikes, by DMA) -> conv 4 (LIF, updated while its potential is non-zero) -> (pool
    2) fc 5; random per-neuron spikes; per-neuron records (spikes, and conv's non-zero potentials) for
    samples 1, 4, 5 and 8 only, and pooled-cell counts."""
    rng = np.random.default_rng(seed)
    g = lg.new_graph((2, 8, 8), "spikes")
    lg.add_conv(g, "conv", lg.INPUT, out_channels=4, neuron=lg.neuron_record("lif", update="while_nonzero"))
    lg.add_linear(g, "fc", "conv", out_features=5, pool=2, neuron=lg.neuron_record("lif"))
    g.nodes[lg.INPUT]["neuron"] = lg.neuron_record("input", state_words=0)
    rasters = {name: rng.random((n, t, g.nodes[name]["neurons"])) < 0.15 for name in lg.layer_names(g)}
    spikes = np.stack([rasters[x].sum(-1) for x in lg.layer_names(g)], axis=1).astype(np.int32)
    keep = np.array([1, 4, 5, 8])
    cells = rasters["conv"].reshape(n, t, 4, 4, 2, 4, 2).any(axis=(4, 6)).sum(axis=(2, 3, 4)).astype(np.int32)
    score = rng.random((n, t)).astype(np.float32)
    return Workload(g, spikes, np.zeros(n, np.int32), np.zeros((n, t), np.int32),
                    {"entropy": score, "confidence": score.copy()}, np.full(n, t, np.int32),
                    {"kind": "direct", "timesteps": t},
                    neuron_spikes={k: pack_neuron_spikes(v[keep]) for k, v in rasters.items()},
                    neuron_samples=keep.astype(np.int32), pooled_cells={"conv": cells},
                    neuron_nonzero={"conv": pack_neuron_spikes(rng.random((len(keep), t, 256)) < 0.3)})


def test_a_block_of_samples_keeps_its_own_per_neuron_records():
    wl = _recorded_workload()
    block = wl.take(slice(3, 7))                   # samples 3..6: records of 4 and 5
    assert block.neuron_samples.tolist() == [1, 2]
    np.testing.assert_array_equal(block.neuron_raster("conv"), wl.neuron_raster("conv")[1:3])
    np.testing.assert_array_equal(block.neuron_raster("conv", "nonzero"), wl.neuron_raster("conv", "nonzero")[1:3])
    picked = wl.take(np.array([0, 5, 8]))          # records of 5 and 8, renumbered 1 and 2
    assert picked.neuron_samples.tolist() == [1, 2] and picked.spikes.tolist() == wl.spikes[[0, 5, 8]].tolist()
    assert wl.subset(2).neuron_samples.tolist() == [1]


@pytest.mark.parametrize("per_cell", [False, True])
def test_counting_blocks_gives_the_rows_of_counting_all(per_cell):
    wl = _recorded_workload()
    hw = make_hw(**{"mapping.input": "dma", "dataflow.pooling": "per_cell" if per_cell else "per_spike"})
    mapping, plan = map_network(hw, wl), plan_exits(wl, "entropy", 0.5)
    whole = item_counts(hw, mapping, wl, plan)
    t_whole = core_timing(hw, mapping, whole, wl)
    parts = [(lo, min(lo + 4, wl.n_samples)) for lo in range(0, wl.n_samples, 4)]
    blocks = [item_counts(hw, mapping, wl.take(slice(lo, hi)), plan.take(slice(lo, hi))) for lo, hi in parts]
    for a, v in whole.actions.items():
        np.testing.assert_array_equal(v, np.concatenate([b.actions[a] for b in blocks]), err_msg=a)
    for u, v in whole.core_spikes.items():
        np.testing.assert_array_equal(v, np.concatenate([b.core_spikes[u] for b in blocks]))
    for e, v in whole.edge_max_link_flits.items():
        np.testing.assert_array_equal(v, np.concatenate([b.edge_max_link_flits[e] for b in blocks]))
    held = [core_timing(hw, mapping, b, wl.take(slice(lo, hi))).held for b, (lo, hi) in zip(blocks, parts)]
    np.testing.assert_array_equal(t_whole.held, np.concatenate(held))
    assert whole.actions["accumulates"].sum() > 0


def _same_run(a, b) -> None:
    """Every number a run reports, and its trace, equal."""
    ja, jb = json.loads(a.summary.to_json()), json.loads(b.summary.to_json())
    assert ja == jb
    assert a.per_layer.equals(b.per_layer) and a.per_sample.equals(b.per_sample)
    for f in ("executed", "admit", "finish", "group_busy", "layer_stall", "link_busy"):
        np.testing.assert_array_equal(getattr(a.trace, f), getattr(b.trace, f), err_msg=f)
    assert (a.trace.makespan, a.trace.decisions, a.trace.spikes_sent, a.trace.spikes_dropped) == \
        (b.trace.makespan, b.trace.decisions, b.trace.spikes_sent, b.trace.spikes_dropped)


DESIGNS = {
    "wait": {},
    "speculate": {"controller.mode": "speculate"},
    "speculate 1 layer, full buffers, 3 in flight": {"controller.mode": "speculate", "controller.speculate_layers": 1,
                                                    "core.spike_buffer.size_kib": 0.0625, "pipeline.images_in_flight": 3},
    "useful first, spilled weights": {"controller.mode": "speculate", "controller.arbitration": "useful_first",
                                      "core.weight_sram.size_kib": 0.125, "core.weight_sram.banks": 1},
}


@pytest.mark.parametrize("mode", ["simpy", "analytic"])
@pytest.mark.parametrize("design", list(DESIGNS))
def test_a_run_in_blocks_is_the_run_in_one_block(mode, design):
    hw = make_hw(**DESIGNS[design])
    wl = synthetic_workload("tiny", 23, 3, seed=5, rate=0.3)
    one = run_simulation(hw, wl, mode=mode, exit_policy="entropy", threshold=0.5, chunk_samples=1000)
    assert one.counts is not None and one.trace.executed.sum() > 0
    s = one.summary                                   # the design shows what it is there for
    assert (s.speculation["wasted_items"] > 0) == (design != "wait")
    assert (s.stall_cycles > 0) == ("full buffers" in design and mode == "simpy")
    assert bool(s.mapping["spilled_layers"]) == ("spilled" in design)
    for size in (1, 4, 10):
        blocks = run_simulation(hw, wl, mode=mode, exit_policy="entropy", threshold=0.5, chunk_samples=size)
        assert blocks.counts is None                 # the counts of every sample are never all held
        _same_run(one, blocks)


def test_a_barrier_run_in_blocks_is_the_run_in_one_block():
    wl = _recorded_workload(n=11)
    hw = make_hw(**{"mapping.input": "dma", "timing.mode": "barrier", "energy_table": str(
        ROOT / "hwconfigs" / "energy" / "loihi.yaml")})
    one = run_simulation(hw, wl, exit_policy="fixed", chunk_samples=100)
    assert one.summary.timing == "barrier" and one.trace.finish[-1] > one.trace.finish[0] > 0
    _same_run(one, run_simulation(hw, wl, exit_policy="fixed", chunk_samples=3))


def test_the_simpy_chips_hold_a_few_blocks_at_a_time(monkeypatch):
    """The run's chip and its fixed-T baseline's walk the blocks in step: a block is let go once both
    are done with it, so at most three are held (the one being admitted, the one before whose samples
    are still on chip, and the next)."""
    held, real = [], chunks.ChunkSource.chunk

    def chunk(self, k):
        out = real(self, k)
        held.append(len(self._cache))
        return out

    monkeypatch.setattr(chunks.ChunkSource, "chunk", chunk)
    wl = synthetic_workload("tiny", 60, 3, seed=2)
    res = run_simulation(make_hw(**{"controller.mode": "speculate"}), wl, exit_policy="entropy", threshold=0.5,
                         chunk_samples=4)
    assert res.summary.early_exit_savings["fps_fixed"] > 0        # the baseline ran too
    assert max(held) <= 3 and len(held) > 15


def test_a_block_holds_fewer_samples_on_a_mesh_of_many_cores():
    hw = load_config(ROOT / "hwconfigs" / "default.yaml")
    mapping = map_network(hw, synthetic_workload("vgg16", 2, 4))
    assert chunks.chunk_size(mapping, 4, hw.n_cores) == chunks.CHUNK_SAMPLES       # 32 cores: the default
    assert chunks.chunk_size(mapping, 4, hw.n_cores, size=7) == 7
    huge = 1 << 20                                                                # cores of the chip
    size = chunks.chunk_size(mapping, 4, huge)
    assert 1 <= size < chunks.CHUNK_SAMPLES and size * 4 * 2 * huge <= chunks.CHUNK_NUMBERS

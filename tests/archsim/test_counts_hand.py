"""Every count the simulator reports, against a hand computation on the tiny graph (conftest.py).

Hardware: 8-bit weights and 64-bit weight ports (8 weights per word), 16-bit potentials and 64-bit
potential ports (4 per word), 8-bit pixels and 64-bit spike-buffer ports, 16-bit spike events + 16-bit
headers in 64-bit flits (1 flit per packet), first layer computed once per image (reuse).

Workload (hand_workload): conv1 spikes S1 = [[10,20,5],[0,7,3],[15,0,1]], conv2 spikes
S2 = [[3,4,5],[1,0,2],[6,6,6]]; entropy policy exits after 1, 3 and 2 timesteps, so the items that run
are sample 0: t1; sample 1: t1, t2, t3; sample 2: t1, t2 (6 items per layer).
Executed conv1 spikes: 10 + (0+7+3) + (15+0) = 35; executed conv2 spikes: 3 + (1+0+2) + (6+6) = 18.
"""
from __future__ import annotations

import pytest

from archsim.simulate import run_simulation

from .conftest import make_hw

# Per-word figures: conv1 dense edge: ceil(30.25 x 8 / 64) = 4 weight words per pixel, 192 pixels;
# conv1->conv2: ceil(50 x 8 / 64) = 7 words per spike; conv2->fc: ceil(4 x 8 / 64) = 1 word per spike.
# Potential sweep words: conv1 256 x 16 / 64 = 64, conv2 128 x 16 / 64 = 32, fc ceil(4 x 16 / 64) = 1.
# Input image: 192 pixels x 8 bits / 64 = 24 words (spike buffer) = 24 off-chip accesses.
# Scatter dataflow: each item's accumulates read-modify-write their targets' potentials, 4 per 64-bit word:
# conv2 items 500, 0, 350, 150, 750, 0 accumulates -> 125, 0, 88, 38, 188, 0 words; fc items 12, 4, 0, 8,
# 24, 24 -> 3, 1, 0, 2, 6, 6 words (conv1's MACs keep their sums in the PE array).
RMW = (125 + 0 + 88 + 38 + 188 + 0) + (3 + 1 + 0 + 2 + 6 + 6)
HAND = {
    "accumulates": 50 * 35 + 4 * 18,                    # conv2: 50 per conv1 spike; fc: 4 per conv2 spike
    "macs": 5808 * 3,                                   # conv1 at each sample's first timestep only
    "neuron_updates": (256 + 128 + 4) * 6,
    "neuron_accesses": (256 + 128 + 4) * 6,             # every mapped neuron visited each step
    "weight_reads": 192 * 4 * 3 + 7 * 35 + 1 * 18,
    "weight_spill_words": 0,
    "potential_reads": (64 + 32 + 1) * 6 + 64 * 3 + RMW,   # + conv1's stored input current at t2, t3 (3 items)
    "potential_writes": (64 + 32 + 1) * 6 + 64 * 3 + RMW,  # + conv1 storing it at t1 (3 items)
    "potential_rmw": RMW,
    "spike_buffer_reads": 24 * 3 + 35 + 18,             # pixels once per image (reuse), every spike delivered
    "spike_buffer_writes": 24 * 3 + 35 + 18,            # the image delivered, every spike produced
    "spikes_in": 35 + 18,
    "spikes_out": 35 + 18,
    "packets": 35 + 18,                                 # one core per layer: 1 destination, multicast or not
    "packet_hops": 35 * 1 + 18 * 1,                     # cores (0,0) -> (0,1) -> (0,2): one hop each
    "flits": 35 + 18,
    "flit_hops": 35 + 18,
    "flit_hops_east": 35 + 18,                          # snake order: row 0 runs east
    "flit_hops_west": 0,
    "flit_hops_north": 0,
    "flit_hops_south": 0,
    "packets_received": 35 + 18,                        # each packet reaches one core
    "offchip_reads": 24 * 3,                            # the three images
    "offchip_activations": 3,                           # each image's 192 bytes open one 8 KiB DDR4 row
    "weight_writes": 0,                                 # weights are written once, at set-up (not per item)
    "offchip_writes": 0,
    "decisions": 1 + 2 + 2,                             # after each timestep but the last possible (T = 3)
}


@pytest.mark.parametrize("mode", ["analytic", "simpy"])
def test_counts_equal_hand_computation(hand_workload, mode):
    hw = make_hw()
    res = run_simulation(hw, hand_workload, mode=mode, baseline=False)
    assert res.summary.counts == HAND
    assert res.summary.avg_timesteps == pytest.approx(2.0)
    mem = res.summary.memory_accesses
    assert mem["weight_sram"] == {"reads": HAND["weight_reads"], "writes": 0}
    assert mem["potential_sram"] == {"reads": HAND["potential_reads"], "writes": HAND["potential_writes"]}
    assert mem["offchip"] == {"reads": 72, "writes": 0}


def test_per_layer_counts_by_hand(hand_workload):
    res = run_simulation(make_hw(), hand_workload, mode="simpy", baseline=False)
    rows = res.per_layer.set_index("layer")
    assert rows.loc["conv1", "macs"] == 5808 * 3
    assert rows.loc["conv2", "accumulates"] == 50 * 35
    assert rows.loc["fc", "accumulates"] == 4 * 18
    assert list(rows["neuron_updates"]) == [256 * 6, 128 * 6, 4 * 6]
    assert list(rows["items"]) == [6, 6, 6]
    assert rows.loc["conv1", "packets"] == 35 and rows.loc["conv2", "packets"] == 18
    assert rows.loc["fc", "decisions"] == 5


def test_per_sample_counts_by_hand(hand_workload):
    res = run_simulation(make_hw(), hand_workload, mode="simpy", baseline=False)
    ps = res.per_sample
    assert list(ps["exit_timestep"]) == [1, 3, 2]
    assert list(ps["spikes"]) == [10 + 3, (0 + 7 + 3) + (1 + 0 + 2), (15 + 0) + (6 + 6)]
    # synaptic ops = conv1 MACs once + 50 per conv1 spike + 4 per conv2 spike
    assert list(ps["synaptic_ops"]) == [5808 + 500 + 12, 5808 + 500 + 12, 5808 + 750 + 48]


@pytest.mark.parametrize("multicast, packets, hops", [
    # conv1 on core 0 (0,0); conv2 on cores 1 (0,1) and 2 (1,1); fc on core 3 (1,0) (snake order).
    # conv1 -> conv2, per conv1 spike: unicast 2 packets, 1 + 2 = 3 hops; multicast 1 packet over the
    # XY tree (0,0)->(0,1)->(1,1): 2 links.
    # conv2 -> fc: conv2's spikes split over its 2 cores (4 channels each, even; the odd spike to the
    # lower core): S2 3 -> 2+1, 1 -> 1+0, 0 -> 0, 2 -> 1+1, 6 -> 3+3. From (0,1): 2 hops; from (1,1): 1.
    (False, 2 * 35 + 18, 3 * 35 + (2 * 2 + 1) + (2 * 1) + 0 + (2 + 1) + 2 * (3 * 2 + 3 * 1)),
    (True, 35 + 18, 2 * 35 + (2 * 2 + 1) + (2 * 1) + 0 + (2 + 1) + 2 * (3 * 2 + 3 * 1)),
])
def test_packets_and_hops_on_a_2x2_mesh(hand_workload, multicast, packets, hops):
    # a slow accumulate array makes conv2 the slowest layer, so the spare 4th core goes to it
    hw = make_hw(**{"mesh.rows": 2, "mesh.cols": 2, "router.multicast": multicast,
                    "core.pe_array.accumulates_per_cycle": 1, "core.pe_array.macs_per_cycle": 64})
    res = run_simulation(hw, hand_workload, mode="simpy", baseline=False)
    assert {n: list(p["cores"]) for n, p in res.summary.mapping["layers"].items()} == \
        {"conv1": [0], "conv2": [1, 2], "fc": [3]}
    c = res.summary.counts
    assert c["packets"] == packets
    assert c["packet_hops"] == hops
    # every core of conv2 reads every conv1 spike: 2 x 35
    assert c["spike_buffer_reads"] == 24 * 3 + 2 * 35 + 18
    assert c["accumulates"] == 50 * 35 + 4 * 18        # the split does not change the total


def test_spill_goes_off_chip(hand_workload):
    # conv2 holds 288 weights x 8 bits = 2304 bits; a 0.125 KiB (1024-bit) weight SRAM keeps 1024 of them,
    # so 1 - 1024/2304 = 5/9 of conv2's weight reads spill; conv1 (864 bits) and fc (256 bits) fit. (Holding
    # conv2 whole would take 3 cores, 5 in all: the 1x3 mesh cannot, so it spills.)
    hw = make_hw(**{"core.weight_sram.size_kib": 0.125, "core.weight_sram.banks": 1, "offchip.spill": "per_spike"})
    res = run_simulation(hw, hand_workload, mode="analytic", baseline=False)
    c = res.summary.counts
    # per item: round half up of conv2's 7 words per conv1 spike x 5/9, over the 6 items that run
    # (conv1 spikes 10 | 0, 7, 3 | 15, 0): 38.9 -> 39, 0, 27.2 -> 27, 11.7 -> 12, 58.3 -> 58, 0
    assert c["weight_spill_words"] == 39 + 0 + 27 + 12 + 58 + 0
    assert c["weight_reads"] == 192 * 4 * 3 + 7 * 35 + 18 - c["weight_spill_words"]
    assert c["offchip_reads"] == 72 + c["weight_spill_words"]   # 64-bit words = 64-bit accesses


def test_spilled_weights_stream_once_per_item(hand_workload):
    """offchip.spill per_timestep: conv2's core streams its 1,280-bit overflow (2304 - 1024) once per item,
    20 words of 64 bits, whatever its spike count; the SRAM serves only the on-chip 4/9 of the reads."""
    hw = make_hw(**{"core.weight_sram.size_kib": 0.125, "core.weight_sram.banks": 1})
    c = run_simulation(hw, hand_workload, mode="analytic", baseline=False).summary.counts
    assert c["weight_spill_words"] == 20 * 6
    assert c["weight_reads"] == 192 * 4 * 3 + 7 * 35 + 18 - (39 + 0 + 27 + 12 + 58 + 0)
    assert c["offchip_reads"] == 72 + 20 * 6


def test_weights_stay_on_chip_when_the_chip_can_hold_them(hand_workload):
    """With 4 cores, conv2 (2304 weight bits) gets the 3 cores that hold it whole (3, 3 and 2 of its 8
    channels: at most 864 bits each, under the 1,024-bit SRAM): nothing spills."""
    hw = make_hw(**{"mesh.cols": 5, "core.weight_sram.size_kib": 0.125, "core.weight_sram.banks": 1})
    res = run_simulation(hw, hand_workload, mode="analytic", baseline=False)
    assert res.summary.mapping["layers"]["conv2"]["cores"] == [1, 2, 3]
    assert res.summary.counts["weight_spill_words"] == 0 and res.summary.mapping["spilled_layers"] == {}
    # the initial load: every weight, once (864 + 2304 + 256 bits)
    assert res.summary.counts_setup["weight_writes"] == -(-(864 + 2304 + 256) // 64)

"""Cycles, latency, pipelining, back-pressure, the exit controller and FPS, computed by hand (issue 21).

Every number below is worked out in the comments from the hardware description and the counts of the tiny
graph (conftest.py: conv1 [4, 8, 8] <- 192 dense pixels, conv2 [8, 4, 4] <- conv1 pooled, fc [4] <- conv2
pooled), not read from the simulator. The chip is conftest's 1 x 3 mesh (one layer per core, so a layer's
fullest core holds all of it) at 100 MHz, with two changes that make each term of an item's cycles show:
64 MACs per cycle and ONE potential-SRAM bank.

Per-item cycles (archsim.cycles: held = compute + update; compute = max(PE array, weight SRAM, spike
buffer, potential read-modify-write), each SRAM stream + its first access's latency; update = max(neuron
sweep, potential sweep words over the banks + read and write latency)):

conv1 (first layer, direct input, computed once per image: ``first_layer_reuse``):
  t = 0: PE ceil(5808 MACs / 64) = 91; weight SRAM 192 pixels x ceil(30.25 x 8 / 64) = 768 words over 2
         banks = 384 + 1 = 385; spike buffer ceil(192 x 8 / 64) = 24 words over 1 bank + 1 = 25; no
         accumulates, no read-modify-write.  compute = 385.
         update: sweep 256 / 4 = 64; potential words: 64 read + 64 written + 64 written (the stored input
         current) = 192 over 1 bank + 1 + 1 = 194.  held = 385 + 194 = 579.
  t > 0: nothing to compute (compute 0); potential words 64 + 64 + 64 (the stored current read) = 192
         -> update 194.  held = 194.
conv2 (S1 conv1 spikes at the same timestep, fan-out 50, 7 weight words per spike):
  PE ceil(50 S1 / 4); weight SRAM ceil(7 S1 / 2) + 1; spike buffer S1 + 1; read-modify-write
  ceil(50 S1 x 16 / 64) = ceil(12.5 S1) words, read and written, over 1 bank: 2 ceil(12.5 S1) + 1 + 1.
  The potential SRAM is the bottleneck: compute = 2 ceil(12.5 S1) + 2 (0 when S1 = 0).
  update: sweep 128 / 4 = 32; potential 32 + 32 = 64 words + 2 = 66.  held = 2 ceil(12.5 S1) + 68.
fc (S2 conv2 spikes, fan-out 4, 1 weight word per spike): PE S2, weight SRAM ceil(S2 / 2) + 1, spike
  buffer S2 + 1, read-modify-write ceil(4 S2 x 16 / 64) = S2 words -> 2 S2 + 2 = compute;
  update: sweep ceil(4 / 4) = 1, potential 1 + 1 words + 2 = 4.  held = 2 S2 + 6.

Between the blocks: the image comes over the off-chip channel, 1.6 GB/s at 100 MHz = 128 bits per cycle:
24 accesses x 64 bits / 128 = 12 cycles + 10 latency = 22. A spike is one flit (16-bit header + 16-bit
event <= 64 bits); each edge crosses one link at one flit per cycle (buffer depth 4 >= 2 x 1 + 1), so a
transfer of S spikes arrives S + 1 cycles (one hop) after the producer releases its cores. A decision
takes 3 cycles.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from archsim.timing import analytic
from archsim.simulate import run_simulation

from .conftest import make_hw, make_workload

CHIP = {"core.pe_array.macs_per_cycle": 64, "core.potential_sram.banks": 1}
LOAD = 22            # the image over the off-chip channel
DECIDE = 3           # controller.decision_cycles
CLOCK_HZ = 100e6


def hw_with(**over):
    return make_hw(**CHIP, **over)


def conv2_held(s1: int) -> int:
    return 2 * math.ceil(12.5 * s1) + 68 if s1 else 66


def fc_held(s2: int) -> int:
    return 2 * s2 + 6 if s2 else 4


# One image, T = 3: conv1 spikes 10, 20, 5; conv2 spikes 3, 4, 5.
ONE = dict(conv1=[[10, 20, 5]], conv2=[[3, 4, 5]])
# conv2: 2 x 125 + 68 = 318, 2 x 250 + 68 = 568, 2 x ceil(62.5) + 68 = 194; fc: 12, 14, 16
HELD_ONE = [[579, 194, 194], [318, 568, 194], [12, 14, 16]]
COMPUTE_ONE = [[385, 0, 0], [252, 502, 128], [8, 10, 12]]
UPDATE_ONE = [[194, 194, 194], [66, 66, 66], [4, 4, 4]]

# The contention-free schedule of that image (fixed T = 3), start -> end of each item:
#   conv1 t0 22 -> 601 (after the image load), t1 601 -> 795, t2 795 -> 989
#   conv2 t0 601 + 10 + 1 = 612 -> 930; t1 max(930, 795 + 21) = 930 -> 1498; t2 max(1498, 989 + 6) -> 1692
#   fc    t0 930 + 3 + 1 = 934 -> 946;  t1 max(946, 1498 + 5) = 1503 -> 1517; t2 max(1517, 1692 + 6) -> 1714
FIXED_LATENCY = 1714


@pytest.mark.parametrize("mode", ["simpy", "analytic"])
def test_cycles_per_item_by_hand(mode):
    res = run_simulation(hw_with(), make_workload(**ONE), mode=mode, exit_policy="fixed", baseline=False)
    assert res.timing.held[0].tolist() == HELD_ONE
    assert res.timing.compute[0].tolist() == COMPUTE_ONE
    assert res.timing.update[0].tolist() == UPDATE_ONE
    assert [conv2_held(s) for s in (10, 20, 5)] == HELD_ONE[1] and [fc_held(s) for s in (3, 4, 5)] == HELD_ONE[2]


@pytest.mark.parametrize("mode", ["simpy", "analytic"])
def test_latency_and_fps_of_one_image_by_hand(mode):
    res = run_simulation(hw_with(), make_workload(**ONE), mode=mode, exit_policy="fixed", baseline=False)
    s = res.summary
    assert (res.trace.finish - res.trace.admit).tolist() == [FIXED_LATENCY]
    assert s.cycles == FIXED_LATENCY
    assert s.latency_us_mean == pytest.approx(FIXED_LATENCY / 100.0)          # 100 cycles per us
    assert s.fps == pytest.approx(1 / (FIXED_LATENCY / CLOCK_HZ), abs=1e-3)    # 58,343.07 FPS
    # each core busy for its own items: conv1 579 + 194 + 194, conv2 318 + 568 + 194, fc 12 + 14 + 16
    assert res.trace.group_busy.tolist() == [967, 1080, 42]
    assert res.trace.offchip_busy == LOAD
    assert s.stall_cycles == 0


@pytest.mark.parametrize("mode", ["simpy", "analytic"])
def test_one_image_in_flight_runs_images_back_to_back(mode):
    """images_in_flight 1: image 2 enters when image 1 leaves (1714), loads (22) and runs the same
    contention-free schedule: finish 3428; FPS = 2 / 3428 cycles. The analytic estimate is exact here
    (no other image in flight: no waiting)."""
    wl = make_workload(conv1=[[10, 20, 5]] * 2, conv2=[[3, 4, 5]] * 2)
    res = run_simulation(hw_with(**{"pipeline.images_in_flight": 1}), wl, mode=mode, exit_policy="fixed",
                         baseline=False)
    assert res.trace.admit.tolist() == [0, FIXED_LATENCY]
    assert res.trace.finish.tolist() == [FIXED_LATENCY, 2 * FIXED_LATENCY]
    assert res.summary.cycles == 2 * FIXED_LATENCY
    assert res.summary.fps == pytest.approx(2 / (2 * FIXED_LATENCY / CLOCK_HZ), abs=1e-3)
    assert res.trace.group_busy.tolist() == [2 * 967, 2 * 1080, 2 * 42]


# Two images, T = 2, two in flight: conv1 spikes 10, 20 and conv2 spikes 3, 4 in both.
# Items: conv1 579, 194; conv2 318, 568; fc 12, 14.
# The off-chip channel loads A 0 -> 22, then B 22 -> 44. Each layer's cores serve items first come first
# served, so the images interleave:
#   conv1: A0 22 -> 601, B0 601 -> 1180 (waited since 44), A1 1180 -> 1374, B1 1374 -> 1568
#   conv2: A0 612 -> 930; B0 arrives 1180 + 11 = 1191 -> 1509; A1 arrived 1374 + 21 = 1395, waits -> 1509
#          -> 2077; B1 arrived 1568 + 21 = 1589, waits -> 2077 -> 2645
#   fc:    A0 934 -> 946; B0 1513 -> 1525; A1 2077 + 5 = 2082 -> 2096 (A leaves); B1 2650 -> 2664 (B leaves)
PIPE_FINISH = [2096, 2664]


@pytest.mark.parametrize("mode", ["simpy", "analytic"])
def test_two_images_pipeline_across_layers_by_hand(mode):
    """Both modes serve the items in the order above: the analytic one replays them first come first
    served (archsim.timing.replay) when every image is replayed."""
    wl = make_workload(conv1=[[10, 20]] * 2, conv2=[[3, 4]] * 2)
    res = run_simulation(hw_with(**{"pipeline.images_in_flight": 2}), wl, mode=mode, exit_policy="fixed",
                         baseline=False)
    assert res.trace.admit.tolist() == [0, 0]
    assert res.trace.finish.tolist() == PIPE_FINISH
    assert res.summary.cycles == 2664
    assert res.summary.latency_us_mean == pytest.approx((2096 + 2664) / 2 / 100.0)
    assert res.summary.fps == pytest.approx(2 / (2664 / CLOCK_HZ), abs=1e-3)
    assert res.trace.group_busy.tolist() == [2 * (579 + 194), 2 * (318 + 568), 2 * (12 + 14)]


def test_analytic_scales_the_images_it_does_not_replay_by_the_replayed_waiting(monkeypatch):
    """Four images like the two above, only two replayed (archsim.timing.analytic.REPLAY_IMAGES = 2): images 0 and
    3, spread over the workload, replay as the pair above (latencies 2096 and 2664 cycles); each image's
    contention-free latency is 1517 (conv1 22 -> 601 -> 795; conv2 612 -> 930, max(930, 816) -> 1498; fc
    934 -> 946, 1503 -> 1517), so images 1 and 2 are stretched by (2096 + 2664) / (2 x 1517) to 2380.
    Makespan = max(busiest group 4 x 886 - 886 + mean latency 2380, 4 x 2380 / 2 images in flight,
    longest latency 2664) = 5038."""
    monkeypatch.setattr(analytic, "REPLAY_IMAGES", 2)
    wl = make_workload(conv1=[[10, 20]] * 4, conv2=[[3, 4]] * 4)
    res = run_simulation(hw_with(**{"pipeline.images_in_flight": 2}), wl, mode="analytic", exit_policy="fixed",
                         baseline=False)
    latency = res.trace.finish - res.trace.admit
    assert latency.tolist() == pytest.approx([2096, 2380, 2380, 2664])
    assert res.trace.makespan == pytest.approx(4 * 886 - 886 + 2380)
    assert res.summary.latency_us_mean == pytest.approx(23.8)


# Back-pressure: a 0.0625 KiB spike buffer holds 512 / 16 = 32 spike events. One image, T = 2, conv1 spikes
# 30 then 20 (conv2 items 2 x 375 + 68 = 818 and 568), conv2 spikes 3, 4.
#   conv1 t0 22 -> 601, reserves 30 of conv2's 32 entries; spikes arrive 601 + 31 = 632
#   conv1 t1 601 -> 795, then needs 20 more entries: the buffer is full until conv2 t0 has used its
#         spikes at 632 + 818 = 1450. conv1 holds its cores meanwhile: stall 1450 - 795 = 655 cycles.
#   conv2 t1 arrives 1450 + 21 = 1471 -> 2039; fc t0 1454 -> 1466; fc t1 2039 + 5 = 2044 -> 2058.
def test_back_pressure_stall_cycles_by_hand():
    wl = make_workload(conv1=[[30, 20]], conv2=[[3, 4]])
    hw = hw_with(**{"core.spike_buffer.size_kib": 0.0625, "pipeline.images_in_flight": 1})
    res = run_simulation(hw, wl, mode="simpy", exit_policy="fixed", baseline=False)
    assert res.timing.held[0].tolist() == [[579, 194], [818, 568], [12, 14]]
    assert res.trace.layer_stall.tolist() == [655, 0, 0]
    assert res.summary.stall_cycles == 655
    assert res.trace.finish.tolist() == [2058]
    assert res.trace.group_busy.tolist() == [579 + 194 + 655, 818 + 568, 12 + 14]   # a stall holds the cores
    # the analytic mode models no back-pressure (archsim.timing.analytic's docstring): conv2 t1 starts when conv2
    # t0 ends, 1450 -> 2018, fc t1 2023 -> 2037
    ana = run_simulation(hw, wl, mode="analytic", exit_policy="fixed", baseline=False)
    assert ana.summary.stall_cycles == 0 and ana.trace.finish.tolist() == [2037]


# The exit controller: the image of ONE exits after timestep 2 (entropy >= 0.5 from t = 2 on).
#   wait: fc t0 934 -> 946, decision 946 -> 949; conv1 t1 waits for it: 949 -> 1143; conv2 t1 max(930,
#         1143 + 21) = 1164 -> 1732; fc t1 1737 -> 1751, decision -> 1754: the image leaves at 1754. Six items,
#         two decisions.
#   speculate: nothing waits; fc t1 ends 1517 as in the fixed schedule, its decision -> 1520, the image
#         leaves. conv1 t2 (795 -> 989) and conv2 t2 (1498 -> 1692) had started before 1520: run and wasted.
@pytest.mark.parametrize("mode", ["simpy", "analytic"])
def test_exit_controller_wait_by_hand(mode):
    wl = make_workload(**ONE, exit_after=[2])
    res = run_simulation(hw_with(**{"controller.mode": "wait"}), wl, mode=mode, baseline=False)
    s = res.summary
    assert (s.exit_policy, s.avg_timesteps) == ("entropy", 2.0)
    assert res.trace.finish.tolist() == [1754] and s.cycles == 1754
    assert s.fps == pytest.approx(1 / (1754 / CLOCK_HZ), abs=1e-3)
    assert res.trace.executed.sum() == 6 and s.speculation["wasted_items"] == 0
    assert res.trace.decisions == 2 and res.trace.controller_busy == 2 * DECIDE


@pytest.mark.parametrize("mode", ["simpy", "analytic"])
def test_exit_controller_speculate_by_hand(mode):
    wl = make_workload(**ONE, exit_after=[2])
    res = run_simulation(hw_with(**{"controller.mode": "speculate"}), wl, mode=mode, baseline=False)
    s = res.summary
    assert res.trace.finish.tolist() == [1520]
    assert res.trace.executed[0].tolist() == [[True, True, True], [True, True, True], [True, True, False]]
    assert s.speculation["wasted_items"] == 2
    # wasted work: conv1 t2 computes nothing; conv2 t2 does 50 x 5 accumulates
    assert s.speculation["wasted_synaptic_ops"] == 250
    assert res.trace.decisions == 2
    # The run ends after the image has left: the wasted conv2 t2 finishes (1692) and its spikes are
    # delivered (1692 + 6 = 1698); the analytic mode's replay (archsim.timing.replay) ends there too.
    assert s.cycles == 1698
    assert res.trace.group_busy.tolist() == [967, 1080, 26]


# Bounded speculation, controller.speculate_layers: 1 (archsim.timing.lookahead): conv1 may start t+1 while
# the decision on t is pending, but not t+2; conv2 and fc wait for the decision. The image of ONE with a
# fourth timestep (conv1 5, conv2 5 spikes: the items are conv1 194, conv2 194, fc 16), exit after t = 2:
#   conv1 t0 22 -> 601; t1 601 -> 795 (no decision needed yet: the one on t = -1)
#   conv2 t0 612 -> 930; fc t0 934 -> 946, decision 946 -> 949
#   conv1 t2 waits for the decision on t0: max(795, 949) = 949 -> 1143 (past the exit: wasted)
#   conv2 t1 waits for it too: max(930, 795 + 21, 949) = 949 -> 1517; fc t1 1517 + 5 = 1522 -> 1536,
#   decision -> 1539: the image leaves (wait: 1754, unbounded speculate: 1520).
#   conv1 t3 would need the decision on t1, which says stop: never runs (unbounded speculate runs it).
#   Seven items, one wasted (conv1 t2: first_layer_reuse, so no MACs), two decisions; the run ends at the
#   exit (conv1 t2's 5 spikes reach conv2's buffer at 1149 and are dropped there).
@pytest.mark.parametrize("mode", ["simpy", "analytic"])
def test_exit_controller_speculate_one_layer_by_hand(mode):
    wl = make_workload(conv1=[[10, 20, 5, 5]], conv2=[[3, 4, 5, 5]], exit_after=[2])
    hw = hw_with(**{"controller.mode": "speculate", "controller.speculate_layers": 1})
    res = run_simulation(hw, wl, mode=mode, baseline=False)
    s = res.summary
    assert res.trace.finish.tolist() == [1539] and s["cycles"] == 1539
    assert res.trace.executed[0].tolist() == [[True, True, True, False], [True, True, False, False],
                                              [True, True, False, False]]
    assert s["speculation"] == {"wasted_items": 1, "wasted_synaptic_ops": 0, "layers_ahead": 1}
    assert res.trace.decisions == 2
    # conv1 579 + 194 + 194, conv2 318 + 568, fc 12 + 14
    assert res.trace.group_busy.tolist() == [967, 886, 26]
    if mode == "simpy":
        assert s["spikes_dropped"] == 5


def test_early_exit_savings_against_the_fixed_baseline_by_hand():
    """wait mode: 1754 cycles against the fixed T = 3 run's 1714; latency saved (1714 - 1754) / 1714."""
    wl = make_workload(**ONE, exit_after=[2])
    s = run_simulation(hw_with(**{"controller.mode": "wait"}), wl, mode="simpy").summary
    e = s.early_exit_savings
    assert e["cycles_fixed"] == FIXED_LATENCY and e["latency_us_mean_fixed"] == pytest.approx(17.14)
    assert e["latency_saved_pct"] == pytest.approx(round(100 * (1714 - 1754) / 1714, 3))
    assert e["fps_fixed"] == pytest.approx(round(1 / (FIXED_LATENCY / CLOCK_HZ), 3))
    # synaptic ops: conv1 5808 MACs, conv2 50 x (10 + 20 [+ 5]), fc 4 x (3 + 4 [+ 5])
    useful, fixed = 5808 + 50 * 30 + 4 * 7, 5808 + 50 * 35 + 4 * 12
    assert e["synaptic_ops_saved_pct"] == pytest.approx(round(100 * (fixed - useful) / fixed, 3))


def test_bottleneck_utilisation_by_hand():
    """Fixed T = 3: conv2's core is the busiest (1080 of 1714 cycles)."""
    s = run_simulation(hw_with(), make_workload(**ONE), mode="simpy", exit_policy="fixed", baseline=False).summary
    assert s.bottleneck["layers"] == ["conv2"] and s.bottleneck["busy_cycles"] == 1080
    assert s.bottleneck["utilization"] == pytest.approx(1080 / 1714)


def test_spilled_weights_stream_over_the_off_chip_channel_by_hand():
    """A 0.125 KiB (1024-bit, 16 words of 64 bits) weight SRAM with one bank: conv2's 2304 weight bits spill
    (1 - 1024 / 2304 = 5/9). per_timestep streaming: 1280 overflow bits = 20 words per item, 20 accesses x
    64 bits / 128 bits per cycle = 10 cycles + 10 latency = 20 cycles on the channel, overlapped with the
    item's compute. conv2's on-chip weight reads: 7 S1 - round(7 S1 x 5/9), over ONE bank now.
    One image, T = 1, S1 = 10: weight reads 70 - 39 = 31 -> 31 + 1 = 32 cycles; PE 125; spike buffer 11;
    read-modify-write 2 x 125 + 2 = 252 = compute; the channel's 20 cycles fit inside it; held 252 + 66."""
    hw = hw_with(**{"core.weight_sram.size_kib": 0.125, "core.weight_sram.banks": 1})
    wl = make_workload(conv1=[[10]], conv2=[[3]])
    for mode in ("simpy", "analytic"):
        res = run_simulation(hw, wl, mode=mode, exit_policy="fixed", baseline=False)
        assert res.timing.offchip[0, 1, 0] == 20 and res.timing.compute[0, 1, 0] == 252
        assert res.timing.held[0, 1, 0] == 252 + 66
        # conv1 (t0, one bank now): 768 weight words -> 769 cycles = compute; held 769 + 194 = 963
        assert res.timing.held[0, 0, 0] == 963
        # 22 -> 985; conv2 985 + 11 = 996 -> 1314; fc 1314 + 4 = 1318 -> 1330
        assert res.trace.finish.tolist() == [1330]
        assert res.trace.offchip_busy == LOAD + 20


def test_a_slow_channel_holds_the_item_until_its_spilled_weights_arrive():
    """As above with a 0.05 GB/s channel (4 bits per cycle): the image takes 24 x 64 / 4 + 10 = 394 cycles;
    conv2's 20 words take 20 x 64 / 4 + 10 = 330 cycles > its 252 of compute, so the item holds its core
    for 330 + 66 = 396 cycles (the update follows the last weight). conv1 394 -> 394 + 963 = 1357; conv2
    1368 -> 1764; fc 1768 -> 1780."""
    hw = hw_with(**{"core.weight_sram.size_kib": 0.125, "core.weight_sram.banks": 1,
                    "offchip.bandwidth_gbps": 0.05})
    wl = make_workload(conv1=[[10]], conv2=[[3]])
    for mode in ("simpy", "analytic"):
        res = run_simulation(hw, wl, mode=mode, exit_policy="fixed", baseline=False)
        assert res.timing.offchip[0, 1, 0] == 330
        assert res.trace.finish.tolist() == [1780], mode
        assert res.trace.group_busy.tolist() == [963, 396, 12]
        assert res.trace.offchip_busy == 394 + 330


def test_first_layer_on_two_cores_by_hand():
    """1 x 4 mesh: conv1 (the slowest by the placement's estimate) gets the spare core: channels 2 + 2, 128
    neurons each (max_share 1/2). Its item then needs half the MACs and weight words per core, but every
    core reads the whole image: t0 PE ceil(5808 / 2 / 64) = 46, weight SRAM 384 / 2 + 1 = 193, spike buffer
    (24 x 2 cores) / (2 x 1 bank) + 1 = 25; compute 193; update: sweep 128 / 4 = 32, potential
    (64 + 128) / 2 = 96 words on the fullest core + 2 = 98; held 291. t1: 98."""
    hw = hw_with(**{"mesh.cols": 4})
    res = run_simulation(hw, make_workload(conv1=[[10, 20]], conv2=[[3, 4]]), mode="analytic",
                         exit_policy="fixed", baseline=False)
    assert list(res.mapping.layers["conv1"].cores) == [0, 1]
    assert res.timing.held[0, 0].tolist() == [291, 98]
    # the image is written into the spike buffer of BOTH cores: 24 words each
    rows = res.per_layer.set_index("layer")
    assert rows.loc["conv1", "spike_buffer_writes"] == 2 * 24 + 30     # + conv1's 10 + 20 spikes
    assert rows.loc["conv1", "spike_buffer_reads"] == 2 * 24
    assert np.isclose(res.mapping.layers["conv1"].max_share, 0.5)

"""TTFS (Quartz) workloads: counts per window, and layers overlapping in time."""
from __future__ import annotations

import numpy as np

from archsim import graph as lg
from archsim.simulate import run_simulation
from archsim.workload import Workload

from .conftest import make_hw


def ttfs_workload(s_in=100, s1=80, s2=40, t_max=4):
    g = lg.new_graph((3, 8, 8), input_encoding="spikes")
    lg.add_conv(g, "conv1", "input", out_channels=4)
    lg.add_conv(g, "conv2", "conv1", out_channels=8, pool=2)
    lg.add_linear(g, "fc", "conv2", out_features=4, pool=4, spiking=False)
    spikes = np.array([[[s_in], [s1], [s2], [0]]], dtype=np.int32)
    one = np.ones((1, 1), dtype=np.float32)
    return Workload(g, spikes, np.array([0], np.int32), np.array([[0]], np.int32), {"entropy": one, "confidence": one},
                    np.array([1], np.int32), {"kind": "ttfs", "timesteps": 1, "t_max": t_max,
                                              "window_steps": 4 * t_max - 4})


def test_ttfs_counts_by_hand():
    res = run_simulation(make_hw(), ttfs_workload(), mode="simpy", exit_policy="fixed", baseline=False)
    c = res.summary.counts
    # accumulates: input spikes x 30.25 and conv1 spikes x 50 and conv2 spikes x 4, plus per neuron the
    # readout counter-input and the bias spike, and the forced spike for spiking layers (3 or 2 events)
    assert c["accumulates"] == (3025 + 256 * 3) + (80 * 50 + 128 * 3) + (40 * 4 + 4 * 2)
    assert c["macs"] == 0
    assert c["neuron_updates"] == (256 + 128 + 4) * 12          # every neuron each of the 12 window steps
    # current + voltage words per sweep: (64 + 32 + 1) words x 2 x 12 steps, read and written; plus the
    # scatter dataflow's read-modify-write of the input current per event, 4 per word: ceil(3793 / 4) +
    # ceil(4384 / 4) + ceil(168 / 4)
    rmw = 949 + 1096 + 42
    assert c["potential_rmw"] == rmw
    assert c["potential_reads"] == c["potential_writes"] == (64 + 32 + 1) * 2 * 12 + rmw
    assert c["weight_reads"] == 100 * 4 + 80 * 7 + 40 * 1
    assert c["offchip_reads"] == 100 * 16 // 64                 # the input spike events, by DMA
    assert c["decisions"] == 0


def test_ttfs_layers_overlap():
    for mode in ("simpy", "analytic"):
        res = run_simulation(make_hw(), ttfs_workload(), mode=mode, exit_policy="fixed", baseline=False)
        windows = res.timing.held[0, :, 0].sum()
        latency_cycles = res.trace.finish[0] - res.trace.admit[0]
        assert latency_cycles < windows, mode       # a serial schedule would take at least the sum
        # conv1 -> conv2 -> fc: the readout window ends after conv2's output phase
        # (step 3(t_max - 1) of 4 t_max - 4) plus the readout's own last 2(t_max - 1) steps
        step = res.timing.step[0]
        assert latency_cycles >= 9 * step[1] + 6 * step[2]


def test_ttfs_analytic_replay_equals_simpy():
    """Three TTFS images, two in flight: the analytic mode's replay (archsim.timing.replay) lets a consumer start
    its producer's lead after the producer started, as the SimPy chip does."""
    one = ttfs_workload()
    wl = Workload(one.graph, np.repeat(one.spikes, 3, axis=0) * np.array([1, 2, 3])[:, None, None],
                  np.zeros(3, np.int32), np.zeros((3, 1), np.int32),
                  {k: np.ones((3, 1), np.float32) for k in ("entropy", "confidence")}, np.ones(3, np.int32),
                  one.meta)
    hw = make_hw(**{"pipeline.images_in_flight": 2, "core.spike_buffer.size_kib": 64})
    sim, ana = (run_simulation(hw, wl, mode=m, exit_policy="fixed", baseline=False).trace
                for m in ("simpy", "analytic"))
    assert sim.finish[2] > sim.admit[2] > 0                   # the third image waited for a slot
    assert ana.admit.tolist() == sim.admit.tolist()
    assert ana.finish.tolist() == sim.finish.tolist()
    assert ana.makespan == sim.makespan

"""archsim.timing.replay on hand-made schedules: each shared block makes images (or transfers) wait in turn.

The replay is what the analytic mode measures contention with; test_properties.py checks it against the
SimPy chip on random tiny workloads, these cases pin each shared block by hand.
"""
from __future__ import annotations

import numpy as np

from archsim.timing.lookahead import Lookahead
from archsim.timing.replay import Edge, replay


def cycles(*per_layer, images=1):
    """[images, layers, T=1] int64 from one value per layer, the same for every image."""
    return np.tile(np.array(per_layer, dtype=np.int64)[None, :, None], (images, 1, 1))


def run(held, *, compute=None, offchip=None, group, edges=(), first, sink, exit_t, max_t=1, in_flight=1,
        load=0, decide=0, adaptive=False, speculate=False, n_links=1):
    compute = held if compute is None else compute
    offchip = np.zeros_like(held) if offchip is None else offchip
    look = Lookahead([None if speculate else 1] * held.shape[1], [False] * held.shape[1], False)
    return replay(held, compute, offchip, group, list(edges), first, sink, np.array(exit_t), max_t, in_flight,
                  load, decide, adaptive, look, n_links)


def test_two_transfers_on_one_link_go_one_after_the_other():
    """p0 and p1 (own cores, 5 cycles each) both send 10 cycles of flits to c over link 0, one hop of 2
    cycles. Both end at 5: p0's transfer holds the link 5 -> 15 and arrives at 17; p1's waits for the link,
    15 -> 25, arrives at 27; c runs 27 -> 31. (Without the wait c would start at 17.)"""
    occ = np.full((1, 1), 10)
    r = run(cycles(5, 5, 4), group=[0, 1, 2], first=[True, True, False], sink=2, exit_t=[1],
            edges=[Edge(0, 2, [0], occ, 2, None), Edge(1, 2, [0], occ, 2, None)])
    assert r.finish.tolist() == [31]
    assert r.makespan == 31


def test_decisions_queue_at_the_one_exit_controller():
    """One layer (2 cycles per item), two images in flight, T = 2, a 10-cycle decision after timestep 1,
    after which both exit. A: 0 -> 2, decided 2 -> 12. B waits for the cores, 2 -> 4, then for the
    controller, 12 -> 22 (without the wait: 14). The layer is the output layer, which stops at its
    sample's exit, so no second timestep runs even in speculate mode."""
    r = run(np.full((2, 1, 2), 2), group=[0], first=[True], sink=0, exit_t=[1, 1], max_t=2, in_flight=2,
            decide=10, adaptive=True, speculate=True)
    assert r.finish.tolist() == [12, 22]
    assert r.executed[:, 0].tolist() == [[True, False], [True, False]]


def test_image_loads_and_spilled_weights_share_the_off_chip_channel():
    """One layer whose weights spill: 3 cycles of compute, 5 held, 10 on the off-chip channel; images load
    in 4 cycles over the same channel; two images in flight. A loads 0 -> 4, B 4 -> 8. A's item at 4 books
    the channel 8 -> 18 (after B's load) and ends at max(4 + 3, 18) + 5 - 3 = 20. B's item waits for the
    cores until 20, streams 20 -> 30 and ends at max(23, 30) + 2 = 32."""
    r = run(cycles(5, images=2), compute=cycles(3, images=2), offchip=cycles(10, images=2), group=[0],
            first=[True], sink=0, exit_t=[1, 1], in_flight=2, load=4)
    assert r.admit.tolist() == [0, 0]
    assert r.finish.tolist() == [20, 32]


def test_a_third_image_enters_when_the_first_leaves():
    """Two in flight, three images of one 7-cycle layer: A 0 -> 7, B 7 -> 14; C enters when A leaves (7)
    and runs 14 -> 21."""
    r = run(cycles(7, images=3), group=[0], first=[True], sink=0, exit_t=[1, 1, 1], in_flight=2)
    assert r.admit.tolist() == [0, 0, 7]
    assert r.finish.tolist() == [7, 14, 21]


def test_input_neurons_on_cores_replay_as_simpy_serves_them():
    """mapping.input cores: the input population is a layer of its own with no inputs (it starts when its
    image enters) whose spikes cross the mesh. Two images in flight, buffers that never fill: the analytic
    mode's replay gives SimPy's admissions, exits, items and makespan."""
    from archsim.simulate import run_simulation

    from .conftest import make_hw
    from .test_mutation_kills import _pooled_net
    wl = _pooled_net(records_for=(0, 1))[0]
    hw = make_hw(**{"mapping.input": "cores", "mesh.cols": 4, "pipeline.images_in_flight": 2,
                    "core.spike_buffer.size_kib": 64})
    sim, ana = (run_simulation(hw, wl, mode=m, exit_policy="fixed", baseline=False).trace
                for m in ("simpy", "analytic"))
    assert sim.executed[:, 0].all()                 # the input layer ran every timestep of both images
    assert ana.admit.tolist() == sim.admit.tolist()
    assert ana.finish.tolist() == sim.finish.tolist()
    assert (ana.executed == sim.executed).all()
    assert ana.makespan == sim.makespan

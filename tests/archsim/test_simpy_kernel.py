"""archsim.timing.simpy.kernel serves events in SimPy's own order, and the link classes of
archsim.timing.simpy.router reserve links as one busy-until per link would: random programs run both
ways give the same log, event for event."""
from __future__ import annotations

import numpy as np
import pytest
import simpy
from simpy.events import NORMAL

from archsim.cycles import reserve_links
from archsim.timing.simpy import kernel
from archsim.timing.simpy.router import link_classes


def _program(seed: int, n_proc: int = 6, n_steps: int = 12, n_events: int = 8) -> list[list[tuple]]:
    """Per process, its steps: ('sleep', d), ('fire', event, d), ('wait', event), ('spawn', k) or
    ('pause',); delays 0-2 cycles, so that many steps fall on the same cycle and the order decides. A
    last process fires every event, one after another."""
    rng = np.random.default_rng(seed)
    kinds = ["sleep", "sleep", "fire", "wait", "spawn", "pause"]
    prog = []
    for _ in range(n_proc):
        steps = []
        for _ in range(n_steps):
            kind = kinds[rng.integers(len(kinds))]
            if kind == "sleep":
                steps.append(("sleep", int(rng.integers(3))))
            elif kind == "fire":
                steps.append(("fire", int(rng.integers(n_events)), int(rng.integers(3))))
            elif kind == "wait":
                steps.append(("wait", int(rng.integers(n_events))))
            elif kind == "spawn":
                steps.append(("spawn", int(rng.integers(1, 4))))
            else:
                steps.append(("pause",))
        prog.append(steps)
    firer = []                                  # every event is fired at last, so that waits end
    for j in rng.permutation(n_events):
        firer += [("sleep", int(rng.integers(3))), ("fire", int(j), int(rng.integers(3)))]
    return prog + [firer]


def _run_simpy(prog, n_events: int = 8) -> list:
    """The program with simpy.Process, Timeout and Event (``fire`` as the chip scheduled its deliveries
    before the kernel: an existing event triggered ``d`` cycles from now)."""
    env, log = simpy.Environment(), []
    events, fired = [env.event() for _ in range(n_events)], set()

    def proc(pid, steps):
        for i, step in enumerate(steps):
            log.append((env.now, pid, i))
            if step[0] == "sleep":
                yield env.timeout(step[1])
            elif step[0] == "fire" and step[1] not in fired:
                fired.add(step[1])
                ev = events[step[1]]
                ev._ok, ev._value = True, None
                env.schedule(ev, NORMAL, step[2])
            elif step[0] == "wait":
                yield events[step[1]]
            elif step[0] == "spawn":
                for k in range(step[1]):
                    env.process(proc(f"{pid}.{i}.{k}", [("sleep", k % 3), ("wait", k), ("sleep", 1)]))
        log.append((env.now, pid, "end"))

    for pid, steps in enumerate(prog):
        env.process(proc(pid, steps))
    env.run()
    return log


def _run_kernel(prog, n_events: int = 8) -> tuple[list, int]:
    """The same program on the lean kernel, pausing the loop where the program says; the log and how many
    times the loop paused."""
    env, log = simpy.Environment(), []
    events, fired = [kernel.Signal() for _ in range(n_events)], set()

    def proc(pid, steps):
        for i, step in enumerate(steps):
            log.append((env.now, pid, i))
            if step[0] == "sleep":
                ev = kernel.Signal()
                kernel.fire(env, ev, step[1])
                yield ev
            elif step[0] == "fire" and step[1] not in fired:
                fired.add(step[1])
                kernel.fire(env, events[step[1]], step[2])
            elif step[0] == "wait":
                yield events[step[1]]
            elif step[0] == "spawn":
                kernel.start(env, [proc(f"{pid}.{i}.{k}", [("sleep", k % 3), ("wait", k), ("sleep", 1)])
                                   for k in range(step[1])])
            elif step[0] == "pause":
                kernel.pause(env)
        log.append((env.now, pid, "end"))

    kernel.start(env, [proc(pid, steps) for pid, steps in enumerate(prog)])
    pauses = 0
    while env._queue:
        kernel.run(env)
        pauses += 1
    return log, pauses - 1


@pytest.mark.parametrize("seed", range(40))
def test_the_kernel_serves_events_in_simpys_order(seed):
    prog = _program(seed)
    want = _run_simpy(prog)
    got, pauses = _run_kernel(prog)
    assert got == want
    assert len(want) > 40                      # the programs do run (not all stuck on the first wait)


def test_the_programs_pause_and_tie():
    """The property above is not vacuous: its programs pause the loop and put several steps on a cycle."""
    logs = [(_run_kernel(_program(seed)), _run_simpy(_program(seed))) for seed in range(40)]
    assert sum(p for (_, p), _ in logs) > 40
    assert all(len({t for t, _, _ in want}) < len(want) / 2 for _, want in logs)


def test_links_crossed_by_the_same_routes_are_one_class():
    routes = [[0, 1, 2, 5], [2, 5, 7], [9], [1, 0]]
    classes, class_of = link_classes(routes)
    assert class_of[0] == class_of[1] and class_of[2] == class_of[5]       # {0, 1}: routes 0, 3; {2, 5}: 0, 1
    assert len({class_of[j] for j in (0, 2, 7, 9)}) == 4
    assert [len(c) for c in classes] == [2, 2, 1, 1]                         # route 3 is class {0, 1} alone


@pytest.mark.parametrize("seed", range(20))
def test_reserving_classes_is_reserving_links(seed):
    rng = np.random.default_rng(seed)
    n_links = 12
    routes = [sorted(rng.choice(n_links, rng.integers(1, 6), replace=False).tolist()) for _ in range(5)]
    if seed % 5 == 0:
        routes[0] = routes[0] + routes[0][:1]            # a link listed twice: one class per link
    classes, class_of = link_classes(routes)
    free, busy = [0.0] * n_links, [0.0] * n_links
    c_free, c_busy = [0.0] * (max(class_of.values()) + 1), [0.0] * (max(class_of.values()) + 1)
    now = 0.0
    for _ in range(60):
        now += float(rng.integers(0, 4))
        r, occ = int(rng.integers(len(routes))), float(rng.integers(1, 6))
        assert reserve_links(free, busy, routes[r], now, occ) == reserve_links(c_free, c_busy, classes[r], now, occ)
    assert [busy[j] for j in sorted(class_of)] == [c_busy[class_of[j]] for j in sorted(class_of)]

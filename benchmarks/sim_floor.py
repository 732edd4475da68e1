"""The floor under the SimPy mode's speed: what its event machinery alone costs, against the analytic mode.

    .venv/bin/python benchmarks/sim_floor.py [--repeats 3] [--out results/scale/sim_floor.json]

Why (issue 31 asks for "SimPy within 4x of analytic, same outputs"): the SimPy mode must keep every event
that changes the chip's state at its time and place in SimPy's order, so its cost has a floor: the queue
events of the run, each resuming a process, plus what every timing backend does alike (counting each block
of samples, archsim.timing.chunks, and adding it up, archsim.tally). This script measures, in one process,
on benchmarks/sim_speed.py's headline (10,000 synthetic VGG16 images on hwconfigs/default.yaml, with the
fixed-T baseline):

1. the SimPy run and the analytic run (CPU-s, median of ``--repeats``), and the SimPy run's two chips apart
   (the run's own without the baseline, and the fixed-T chip alone, each counting its own blocks): what
   running them in two processes could give at best;
2. the SimPy run's queue events and the process resumes they cause (counted in a separate, instrumented run);
3. the shared part: every block counted under both plans and added to both tallies, no schedule;
4. the bare kernel (archsim.timing.simpy.kernel): as many events as (2), each resuming a generator that
   schedules its next one-shot event, with no model behind them.

Floor = (3) + (4). What 4x the analytic mode leaves for the model's own logic (cores, buffers, links,
controller, sample admission) = 4 x analytic - floor, per work item; beside it what that logic costs today
(SimPy - floor). CPU seconds of this process; wall time depends on what else runs on the machine.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from heapq import heappop, heappush
from pathlib import Path

import numpy as np
import simpy

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archsim.exit_policy import plan_exits  # noqa: E402
from archsim.hwconfig import load_config  # noqa: E402
from archsim.mapping import map_network  # noqa: E402
from archsim.simulate import resolve_policy, run_simulation  # noqa: E402
from archsim.tally import Tally  # noqa: E402
from archsim.timing.chunks import ChunkSource  # noqa: E402
from archsim.timing.simpy import kernel  # noqa: E402
from archsim.workload import load_workload  # noqa: E402


def cpu_of(fn) -> float:
    """CPU seconds of this process that ``fn()`` took."""
    c0 = time.process_time()
    fn()
    return time.process_time() - c0


def count_events(hw, wl) -> dict:
    """Queue events popped, callbacks called (process resumes, mostly) and events no one waited on when they
    came up (``no_waiter``), in one SimPy run of the headline: every entry the kernel's run loop pops
    (kernel.run's own ``heappop``, wrapped for the run), looked at before its callbacks run."""
    seen = {"events": 0, "callbacks": 0, "no_waiter": 0}

    def counting_pop(queue):
        entry = heappop(queue)
        callbacks = entry[3].callbacks
        seen["events"] += 1
        seen["callbacks"] += len(callbacks)
        seen["no_waiter"] += not callbacks
        return entry

    kernel.heappop = counting_pop
    try:
        res = run_simulation(hw, wl, mode="simpy")
    finally:
        kernel.heappop = heappop
    seen["work_items"] = int(res.trace.executed.sum()) + wl.n_samples * len(res.mapping.order) * wl.timesteps
    return seen


def shared_part(hw, wl) -> None:
    """What every backend does for the headline: count each block under both plans, add it to both tallies
    (the items that ran: up to each sample's exit for the run, every item for the fixed-T baseline)."""
    policy, thr, _ = resolve_policy(hw, wl, None, None, None)
    plans = [plan_exits(wl, policy, thr, None, source="benchmark"), plan_exits(wl, "fixed")]
    mapping = map_network(hw, wl)
    tallies = [Tally(hw, wl, mapping.order, plan, detail=i == 0) for i, plan in enumerate(plans)]
    source = ChunkSource(hw, mapping, wl, plans, lambda i, c, ex: tallies[i].add(c.counts[i], ex, c.lo, c.hi))
    n_layers = len(mapping.order)
    for k, (lo, hi) in enumerate(source.bounds):
        for i, plan in enumerate(plans):
            ran = plan.exit_t[lo:hi] if i == 0 else np.full(hi - lo, wl.timesteps)
            executed = np.arange(wl.timesteps)[None, None, :] < ran[:, None, None]
            source.done(k, i, np.broadcast_to(executed, (hi - lo, n_layers, wl.timesteps)))


def bare_kernel(events: int, processes: int = 256) -> None:
    """``events`` queue events on the chip's kernel, each resuming a generator that schedules its next
    one-shot event (delays 1..7 cycles, so the queue holds ``processes`` entries as a run's does)."""
    env = simpy.Environment()
    per_process = events // processes

    def proc(i: int):
        queue, eid = env._queue, env._eid
        for j in range(per_process):
            ev = kernel.Signal()
            heappush(queue, (env._now + 1 + (i + j) % 7, kernel.NORMAL, next(eid), ev))
            yield ev

    kernel.start(env, [proc(i) for i in range(processes)])
    kernel.run(env)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3, help="timed runs of each part (the median is kept)")
    ap.add_argument("--out", default=str(ROOT / "results" / "scale" / "sim_floor.json"))
    args = ap.parse_args()
    if args.repeats < 1:
        ap.error(f"--repeats: must be at least 1, got {args.repeats}")
    hw = load_config(ROOT / "hwconfigs" / "default.yaml")
    wl = load_workload(ROOT / "workloads" / "synthetic_vgg16.npz")
    counted = count_events(hw, wl)

    def median(fn) -> float:
        return round(statistics.median(cpu_of(fn) for _ in range(args.repeats)), 3)

    cpu = {"simpy": median(lambda: run_simulation(hw, wl, mode="simpy")),
           "analytic": median(lambda: run_simulation(hw, wl, mode="analytic")),
           "simpy_run_chip_only": median(lambda: run_simulation(hw, wl, mode="simpy", baseline=False)),
           "simpy_fixed_chip_only": median(lambda: run_simulation(hw, wl, mode="simpy", exit_policy="fixed")),
           "shared": median(lambda: shared_part(hw, wl)),
           "bare_kernel": median(lambda: bare_kernel(counted["events"]))}
    floor = cpu["shared"] + cpu["bare_kernel"]
    items = counted["work_items"]
    row = {"images": wl.n_samples, **counted, "cpu_s": cpu, "floor_cpu_s": round(floor, 3),
           "simpy_over_analytic": round(cpu["simpy"] / cpu["analytic"], 2),
           "floor_over_analytic": round(floor / cpu["analytic"], 2),
           "model_logic_us_per_item_today": round((cpu["simpy"] - floor) / items * 1e6, 3),
           "model_logic_us_per_item_left_at_4x": round((4 * cpu["analytic"] - floor) / items * 1e6, 3),
           "bare_us_per_event": round(cpu["bare_kernel"] / counted["events"] * 1e6, 3),
           "repeats": args.repeats,
           "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "simpy": simpy.__version__,
                       "load_avg": [round(x, 2) for x in os.getloadavg()]}}
    for name, value in cpu.items():
        print(f"{name:<22} {value:7.3f} CPU-s")
    print(f"{counted['events']:,} queue events ({counted['no_waiter']:,} with no one waiting), "
          f"{counted['callbacks']:,} callbacks, {items:,} work items")
    print(f"floor (shared + bare kernel) {floor:.3f} CPU-s = {row['floor_over_analytic']}x the analytic mode; "
          f"SimPy {row['simpy_over_analytic']}x")
    print(f"model logic per work item: {row['model_logic_us_per_item_today']} us today, "
          f"{row['model_logic_us_per_item_left_at_4x']} us left at 4x the analytic mode")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(row, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

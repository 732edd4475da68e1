"""Where a big run's set-up time and memory go, stage by stage (issue 31).

    prlimit --as=10000000000 -- .venv/bin/python benchmarks/profile_setup.py CASE [--top 20]

CASE is a name of benchmarks/scale_cases.py (e.g. 128_16x16_200_simpy). Two passes over the same stages
(workload, mapping, counts, cycles, the whole run_simulation): one under ``tracemalloc`` (peak Python +
numpy allocation of each stage, MB; numpy reports its buffers to tracemalloc), one under ``cProfile``
(the functions with the most cumulative time). Writes results/scale/profile_CASE.txt and prints it.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import time
import tracemalloc

from scale_cases import CASES, ROOT, hwconfig, peak_rss_mb, workload

from archsim.counts import item_counts
from archsim.cycles import core_timing
from archsim.exit_policy import plan_exits
from archsim.mapping import map_network
from archsim.simulate import run_simulation


def stages(case):
    """The set-up stages in pipeline order, each a thunk over the previous ones' results."""
    state = {}

    def wl():
        state["hw"], state["wl"] = hwconfig(case), workload(case)

    def mapping():
        state["mapping"] = map_network(state["hw"], state["wl"])

    def counts():
        state["plan"] = plan_exits(state["wl"], "entropy", 0.9)
        state["counts"] = item_counts(state["hw"], state["mapping"], state["wl"], state["plan"])

    def cycles():
        core_timing(state["hw"], state["mapping"], state["counts"], state["wl"])

    def run():
        run_simulation(state["hw"], state["wl"], mode=case.mode, mapping=state["mapping"])

    return [("workload", wl), ("mapping", mapping), ("counts", counts), ("cycles", cycles), ("run_simulation", run)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("case", choices=sorted(CASES))
    ap.add_argument("--top", type=int, default=20)
    args = ap.parse_args()
    case = CASES[args.case]
    lines = [f"case {case.to_dict()}", f"load average {os.getloadavg()}", "",
             "stage            wall_s   tracemalloc_peak_mb  (pass 1: tracemalloc on, slower)"]
    tracemalloc.start()
    for name, fn in stages(case):
        tracemalloc.reset_peak()
        t0 = time.perf_counter()
        fn()
        wall = time.perf_counter() - t0
        lines.append(f"{name:16s} {wall:7.2f}   {tracemalloc.get_traced_memory()[1] / 1e6:10.1f}")
    snap = tracemalloc.take_snapshot()
    tracemalloc.stop()
    lines += ["", "largest live allocations after the run (by line):"]
    lines += [f"  {s}" for s in snap.statistics("lineno")[:8]]
    prof = cProfile.Profile()
    walls = []
    for name, fn in stages(case):
        t0 = time.perf_counter()
        prof.runcall(fn)
        walls.append(f"{name} {time.perf_counter() - t0:.2f}")
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(args.top)
    lines += ["", "pass 2 (cProfile) wall_s: " + ", ".join(walls), f"peak RSS {peak_rss_mb():.0f} MB", "",
              buf.getvalue().split("Ordered by")[1] if "Ordered by" in buf.getvalue() else buf.getvalue()]
    text = "\n".join(lines)
    out = ROOT / "results" / "scale" / f"profile_{case.name}.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()

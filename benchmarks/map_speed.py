"""How long one scale case's mapping takes (archsim.mapping.map_network), in this or another checkout.

    .venv/bin/python benchmarks/map_speed.py CASE [--root DIR]

CASE is a name of benchmarks/scale_cases.py (e.g. 224_64x64_100_analytic). ``--root``: the checkout whose
archsim and scale cases to use (default this one; e.g. a worktree of the code before a change), so two
versions can be timed side by side from outside (``farm-bench --vs``). Makes the case's synthetic workload,
maps it, and prints the mapping's CPU and wall seconds and its routes' link entries.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from common import use_checkout

HERE = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("case", help="a case name of benchmarks/scale_cases.py")
    ap.add_argument("--root", default=str(HERE), help="the checkout to time (default: this one)")
    args = ap.parse_args()
    root = use_checkout(ap, args.root, needs=("benchmarks/scale_cases.py",), on_path=("benchmarks",))
    from scale_cases import CASES, hwconfig, workload

    from archsim.mapping import map_network

    if args.case not in CASES:
        ap.error(f"case: unknown {args.case!r}; choose from {sorted(CASES)}")
    case = CASES[args.case]
    hw, wl = hwconfig(case), workload(case)
    t0, c0 = time.perf_counter(), time.process_time()
    mapping = map_network(hw, wl)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    entries = sum(len(r.link_ids) for r in mapping.routes.values())
    print(f"{args.case}: mapping {cpu:.2f} CPU-s, {wall:.2f} s wall, {len(mapping.routes)} routes over "
          f"{entries:,} distinct links (archsim at {root})")


if __name__ == "__main__":
    main()

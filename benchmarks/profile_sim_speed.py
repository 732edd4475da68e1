"""Where the time of benchmarks/sim_speed.py's headline goes: cProfile of one run, as text.

    .venv/bin/python benchmarks/profile_sim_speed.py [--mode simpy] [--root DIR] [--out FILE]

The headline: the 10,000-image synthetic VGG16 (workloads/synthetic_vgg16.npz) on hwconfigs/default.yaml
through ``run_simulation`` with its fixed-T baseline, as ``archsim run`` does. ``--root``: the checkout
whose archsim to profile (default this one; e.g. another worktree for the code before a change), its
workload and hwconfig with it. Writes the run's wall and CPU seconds (cProfile roughly doubles them) and
the 40 functions with the most time of their own, then the 40 with the most time below them.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import subprocess
import time
from pathlib import Path

from common import use_checkout

HERE = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mode", default="simpy", choices=("simpy", "analytic"))
    ap.add_argument("--root", default=str(HERE), help="the checkout to profile")
    ap.add_argument("--out", help="write the text here (default: print it)")
    args = ap.parse_args()
    root = use_checkout(ap, args.root)
    from archsim.hwconfig import load_config
    from archsim.simulate import run_simulation
    from archsim.workload import load_workload

    hw = load_config(root / "hwconfigs" / "default.yaml")
    wl = load_workload(root / "workloads" / "synthetic_vgg16.npz")
    prof = cProfile.Profile()
    t0, c0 = time.perf_counter(), time.process_time()
    prof.enable()
    res = run_simulation(hw, wl, mode=args.mode)
    prof.disable()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    commit = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    text = io.StringIO()
    text.write(f"benchmarks/profile_sim_speed.py --mode {args.mode}: archsim at {commit or root}, "
               f"{wl.n_samples} images, fps {res.summary.fps}\n"
               f"under cProfile: {wall:.2f} s wall, {cpu:.2f} CPU-s\n\n")
    stats = pstats.Stats(prof, stream=text).strip_dirs()
    stats.sort_stats("tottime").print_stats(40)
    stats.sort_stats("cumulative").print_stats(40)
    out = text.getvalue().replace(str(root) + "/", "")
    if args.out:
        Path(args.out).write_text(out)
        print(f"wrote {args.out}")
    else:
        print(out)


if __name__ == "__main__":
    main()

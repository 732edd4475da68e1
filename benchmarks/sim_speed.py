"""How fast archsim simulates: images per wall-second, and how the cost grows.

    .venv/bin/python benchmarks/sim_speed.py [--quick]
    .venv/bin/python benchmarks/sim_speed.py --headline simpy|analytic    # one headline run, nothing written

1. The headline: the full 10,000-image VGG16-shaped workload (workloads/synthetic_vgg16.npz) through
   ``run_simulation`` in SimPy mode on hwconfigs/default.yaml, the fixed-T baseline included (what
   ``python -m archsim run`` does). Must stay under 60 s on the 2-core development machine. Its work
   items count both runs.
2. Growth with samples (VGG16, adaptive policy, no baseline), with layers (a chain of k 3x3 convs, fixed
   T = 4; more layers than cores shares cores), and with timesteps (VGG16, fixed policy, T = 1..8).
3. The analytic mode on the full workload, for comparison.

Prints a table and writes results/sim_speed.json. Wall times depend on what else runs on the machine:
CPU seconds of this process are reported beside them.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archsim import graph as lg  # noqa: E402
from archsim.hwconfig import load_config  # noqa: E402
from archsim.simulate import run_simulation  # noqa: E402
from archsim.synthetic import synthetic_workload  # noqa: E402
from archsim.workload import Workload, load_workload  # noqa: E402


def chain_workload(depth: int, n: int = 1000, timesteps: int = 4, seed: int = 0) -> Workload:
    """``depth`` 3x3 convs of 64 channels on 16x16 maps, then a classifier; ~0.1 spikes per neuron."""
    rng = np.random.default_rng(seed)
    g = lg.new_graph((3, 16, 16))
    src = "input"
    for i in range(depth):
        src = lg.add_conv(g, f"conv{i + 1}", src, out_channels=64)
    lg.add_linear(g, "fc", src, out_features=10, pool=16, spiking=False)
    names = lg.layer_names(g)
    neurons = np.array([g.nodes[x]["neurons"] for x in names])
    spiking = np.array([g.nodes[x]["spiking"] for x in names])
    spikes = rng.binomial(np.broadcast_to(neurons[None, :, None], (n, len(names), timesteps)), 0.1).astype(np.int32)
    spikes[:, ~spiking] = 0
    ones = np.ones((n, timesteps), dtype=np.float32)
    return Workload(g, spikes, np.zeros(n, np.int32), np.zeros((n, timesteps), np.int32),
                    {"entropy": ones, "confidence": ones}, np.full(n, timesteps, np.int32),
                    {"kind": "direct", "timesteps": timesteps, "arch": f"chain{depth}", "synthetic": True})


def measure(hw, wl, **kw) -> dict:
    t0, c0 = time.perf_counter(), time.process_time()
    res = run_simulation(hw, wl, **kw)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    items = int(res.trace.executed.sum())
    if kw.get("baseline", True) and res.plan.adaptive:       # the fixed-T baseline ran every item
        items += wl.n_samples * len(res.mapping.order) * wl.timesteps
    return {"images": wl.n_samples, "layers": len(res.mapping.order), "timesteps": wl.timesteps,
            "avg_timesteps": res.summary.avg_timesteps, "work_items": items, "wall_s": round(wall, 3),
            "cpu_s": round(cpu, 3), "images_per_wall_s": round(wl.n_samples / wall, 1),
            "items_per_cpu_s": round(items / cpu, 1), "fps_simulated": res.summary.fps,
            "mode": kw.get("mode", "simpy"), "baseline": kw.get("baseline", True)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller sweeps (no 10,000-image headline)")
    ap.add_argument("--out", default=str(ROOT / "results" / "sim_speed.json"))
    ap.add_argument("--headline", choices=("simpy", "analytic"),
                    help="only the headline in this mode (for timing the whole process from outside); prints its row")
    args = ap.parse_args()
    hw = load_config(ROOT / "hwconfigs" / "default.yaml")
    vgg = load_workload(ROOT / "workloads" / "synthetic_vgg16.npz")
    if args.headline:
        print(json.dumps(measure(hw, vgg, mode=args.headline)))
        return
    rows: dict[str, list | dict] = {}

    if not args.quick:
        print("headline: 10,000 images, VGG16, simpy, with the fixed-T baseline ...", flush=True)
        rows["headline"] = measure(hw, vgg, mode="simpy")
        rows["headline_analytic"] = measure(hw, vgg, mode="analytic")

    sizes = (500, 1000, 2500) if args.quick else (1000, 2500, 5000, 10000)
    rows["samples"] = [measure(hw, vgg.subset(n), mode="simpy", baseline=False) for n in sizes]
    n_small = 300 if args.quick else 1000
    rows["layers"] = [measure(hw, chain_workload(d, n_small), mode="simpy", exit_policy="fixed", baseline=False)
                      for d in (4, 8, 16, 32)]
    rows["timesteps"] = [measure(hw, synthetic_workload("vgg16", n_small, t, seed=1), mode="simpy",
                                 exit_policy="fixed", baseline=False) for t in (1, 2, 4, 8)]

    header = f"{'case':<22}{'images':>8}{'layers':>7}{'T avg':>7}{'items':>10}{'wall s':>9}{'cpu s':>8}{'img/wall-s':>12}{'items/cpu-s':>13}"
    print(header)
    print("-" * len(header))

    def show(name, r):
        print(f"{name:<22}{r['images']:>8}{r['layers']:>7}{r['avg_timesteps']:>7.2f}{r['work_items']:>10}"
              f"{r['wall_s']:>9.2f}{r['cpu_s']:>8.2f}{r['images_per_wall_s']:>12.1f}{r['items_per_cpu_s']:>13.0f}")

    if "headline" in rows:
        show("10k vgg16 +baseline", rows["headline"])
        show("10k vgg16 analytic", rows["headline_analytic"])
    for r in rows["samples"]:
        show(f"samples={r['images']}", r)
    for r in rows["layers"]:
        show(f"layers={r['layers']}", r)
    for r in rows["timesteps"]:
        show(f"timesteps={r['timesteps']}", r)
    rows["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version(), "load_avg": os.getloadavg()}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=2) + "\n")
    print(f"wrote {out}")
    if "headline" in rows:
        h = rows["headline"]
        verdict = "under" if h["wall_s"] < 60 else "OVER"
        print(f"full 10,000-image run: {h['wall_s']:.1f} s wall ({verdict} the 60 s budget), "
              f"{h['images_per_wall_s']:.0f} simulated images per wall-second")


if __name__ == "__main__":
    main()

"""What each modelling choice of the default accelerator does to FPS, latency and energy.

    python benchmarks/accelerator_ablation.py --workload workloads/small_c10.npz --samples 10000 \
        --workload workloads/vgg16_c10.npz --samples 2000 --out results/accelerator_ablation

Runs hwconfigs/default.yaml and, one at a time, the variant that undoes or changes one choice (dotted
hwconfig overrides, listed in VARIANTS), each in the SimPy mode on each workload, and writes
``ablation.csv``, ``ablation.md`` (the README table) and ``ablation.json`` (with the command, the samples
and the static share and its source). Exit policy and threshold: each workload's own (as ``archsim run``).
"""
from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archsim.hwconfig import config_from_dict  # noqa: E402
from archsim.inputs import read_yaml  # noqa: E402
from archsim.simulate import run_simulation  # noqa: E402
from archsim.workload import load_workload  # noqa: E402

VARIANTS = (
    ("default", "hwconfigs/default.yaml as shipped", {}),
    ("old leakage value", "SRAM leakage 0.1 mW/KiB (the old unsourced value; CACTI itrs-lop 350 K: 0.0629)",
     {"power.leakage_scale": 0.1 / 0.0629}),
    ("no power gating", "unused cores, empty banks and idle SRAM leak fully",
     {"power.gate_unused_cores": False, "power.gate_empty_banks": False, "power.idle_sram": "on"}),
    ("leakage x0.01", "every on-chip static power x0.01", {"power.leakage_scale": 0.01}),
    ("leakage x10", "every on-chip static power x10", {"power.leakage_scale": 10.0}),
    ("old placement", "cores by potentials and work only (weights spill where they do not fit)",
     {"mapping.hold_weights": False}),
    ("spill per spike", "spilled weights fetched again for every spike", {"offchip.spill": "per_spike"}),
    ("DDR3-1600", "off-chip DDR3-1600 instead of DDR4-2400", {"offchip.standard": "ddr3_1600"}),
    ("gather dataflow", "output-stationary: no potential read-modify-write per accumulate",
     {"dataflow.default": "gather"}),
    ("per-cell pooling", "a pooled cell sends one event (NeuroBench's count)", {"dataflow.pooling": "per_cell"}),
    ("useful-first arbitration", "confirmed work before speculative work", {"controller.arbitration": "useful_first"}),
    ("48 cores", "a 6 x 8 mesh", {"mesh.rows": 6}),
)


def hwconfig(overrides: dict):
    raw = copy.deepcopy(read_yaml(ROOT / "hwconfigs" / "default.yaml"))
    for dotted, value in overrides.items():
        node = raw
        keys = dotted.split(".")
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        node[keys[-1]] = value
    return config_from_dict(raw, "hwconfigs/default.yaml", ROOT / "hwconfigs")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workload", action="append", required=True)
    p.add_argument("--samples", action="append", type=int, help="one per --workload (default: all)")
    p.add_argument("--mode", default="simpy", choices=["simpy", "analytic"])
    p.add_argument("--out", default="results/accelerator_ablation")
    a = p.parse_args()
    samples = a.samples or [0] * len(a.workload)
    rows = []
    for path, n in zip(a.workload, samples):
        wl = load_workload(path)
        wl = wl.subset(n) if n else wl
        for name, what, over in VARIANTS:
            t0 = time.time()
            s = run_simulation(hwconfig(over), wl, mode=a.mode).summary
            rows.append({"workload": Path(path).stem, "images": wl.n_samples, "variant": name, "what": what,
                         "overrides": over, "fps": s.fps, "latency_us": s.latency_us_mean,
                         "mj_per_image": 1e3 * s.energy_per_image_j,
                         "static_share": s.energy_static_j / s.energy_j,
                         "dynamic_mj_per_image": 1e3 * s.energy_dynamic_j / wl.n_samples,
                         "avg_timesteps": s.avg_timesteps, "threshold": s.threshold,
                         "spilled_layers": s.mapping["spilled_layers"], "wall_s": time.time() - t0})
            r = rows[-1]
            print(f"{r['workload']:>16} {name:<26} {r['fps']:>9.1f} FPS {r['latency_us']:>10.1f} us "
                  f"{r['mj_per_image']:>8.3f} mJ/image  static {100 * r['static_share']:5.1f} %", flush=True)
    out = ROOT / a.out
    out.mkdir(parents=True, exist_ok=True)
    import pandas as pd
    pd.DataFrame(rows).drop(columns=["overrides"]).to_csv(out / "ablation.csv", index=False)
    lines = ["| workload | variant | FPS | latency (us) | mJ/image | static share | vs default (FPS / energy) |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        base = next(b for b in rows if b["workload"] == r["workload"] and b["variant"] == "default")
        rel = "" if r is base else f"{100 * (r['fps'] / base['fps'] - 1):+.1f} % / " \
                                   f"{100 * (r['mj_per_image'] / base['mj_per_image'] - 1):+.1f} %"
        lines.append(f"| {r['workload']} ({r['images']} images) | {r['variant']} | {r['fps']:,.1f} | "
                     f"{r['latency_us']:,.1f} | {r['mj_per_image']:.4g} | {100 * r['static_share']:.1f} % | {rel} |")
    (out / "ablation.md").write_text("\n".join(lines) + "\n")
    cmd = "python benchmarks/accelerator_ablation.py " + " ".join(sys.argv[1:])
    (out / "ablation.json").write_text(json.dumps({"command": cmd, "mode": a.mode, "rows": rows}, indent=2) + "\n")
    print(f"wrote {out}/ablation.csv, ablation.md, ablation.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

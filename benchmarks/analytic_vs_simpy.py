"""How far ``--mode analytic`` is from the SimPy model, on real workloads.

    python benchmarks/analytic_vs_simpy.py --workload workloads/small_c10.npz --samples 10000 \
        --workload workloads/synthetic_vgg16.npz --samples 1000 --workload workloads/vgg16_c10.npz \
        --samples 2000 --out results/analytic_vs_simpy.json

Both modes share the counts, the cycles per item and the exit/speculation semantics; the analytic one
measures contention on a first-come-first-served replay of 256 samples (archsim.timing.analytic, archsim.timing.replay),
scales the other samples by it, and has no back-pressure.
So each workload runs twice on hwconfigs/default.yaml: as shipped, and with spike buffers large enough
(1 MiB per core) that they never fill, where the two should agree within 5 % on FPS and energy.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.accelerator_ablation import hwconfig  # noqa: E402
from archsim.simulate import run_simulation  # noqa: E402
from archsim.workload import load_workload  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workload", action="append", required=True)
    p.add_argument("--samples", action="append", type=int)
    p.add_argument("--out", default="results/analytic_vs_simpy.json")
    a = p.parse_args()
    rows = []
    for path, n in zip(a.workload, a.samples or [0] * len(a.workload)):
        wl = load_workload(path)
        wl = wl.subset(n) if n else wl
        for label, over in (("as shipped", {}), ("buffers never fill", {"core.spike_buffer.size_kib": 1024})):
            s = {m: run_simulation(hwconfig(over), wl, mode=m).summary for m in ("simpy", "analytic")}
            row = {"workload": Path(path).stem, "images": wl.n_samples, "config": label,
                   "stall_cycles_simpy": s["simpy"].stall_cycles}
            for m in s:
                row.update({f"{m}_fps": s[m].fps, f"{m}_mj_per_image": 1e3 * s[m].energy_per_image_j,
                            f"{m}_latency_us": s[m].latency_us_mean,
                            f"{m}_wasted_items": s[m].speculation["wasted_items"]})
            row["fps_diff_pct"] = 100 * (row["analytic_fps"] / row["simpy_fps"] - 1)
            row["energy_diff_pct"] = 100 * (row["analytic_mj_per_image"] / row["simpy_mj_per_image"] - 1)
            rows.append(row)
            print(f"{row['workload']:>16} {label:<20} simpy {row['simpy_fps']:9.1f} FPS {row['simpy_mj_per_image']:8.4f} "
                  f"mJ | analytic {row['analytic_fps']:9.1f} FPS {row['analytic_mj_per_image']:8.4f} mJ | "
                  f"FPS {row['fps_diff_pct']:+.1f} % energy {row['energy_diff_pct']:+.1f} %", flush=True)
    out = ROOT / a.out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"command": "python benchmarks/analytic_vs_simpy.py " + " ".join(sys.argv[1:]),
                               "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

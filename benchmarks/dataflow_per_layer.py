"""Which dataflow wins on which layer: scatter (spike-driven, a potential read-modify-write per accumulate)
against gather (output-stationary, every neuron scans its receptive field's spike bitmap).

    python benchmarks/dataflow_per_layer.py --workload workloads/small_c10.npz --workload workloads/vgg16_c10.npz \
        --samples 2000 --out results/dataflow_per_layer

Runs hwconfigs/default.yaml with every layer under one dataflow, then the other (analytic mode: the same
counts and cycles as SimPy, without contention), and compares each layer's dynamic energy per image and
busy cycles. Writes per_layer.csv, per_layer.md (the README table) and per_layer.png, and the mixed
assignment that takes each layer's winner, run to check it beats both.
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
    p.add_argument("--samples", type=int, default=2000)
    p.add_argument("--out", default="results/dataflow_per_layer")
    a = p.parse_args()
    rows, mixed = [], {}
    for path in a.workload:
        wl = load_workload(path).subset(a.samples)
        name = Path(path).stem
        res = {flow: run_simulation(hwconfig({"dataflow.default": flow}), wl, mode="analytic")
               for flow in ("scatter", "gather")}
        per = {flow: r.per_layer.set_index("layer") for flow, r in res.items()}
        winners = {}
        for layer in per["scatter"].index:
            e = {f: 1e6 * per[f].loc[layer, "energy_dynamic_j"] / wl.n_samples for f in per}
            busy = {f: per[f].loc[layer, "group_busy_cycles"] / wl.n_samples for f in per}
            winners[layer] = min(e, key=e.get)
            tie = abs(e["scatter"] - e["gather"]) <= 1e-3 * max(e.values())   # e.g. a layer fed real-valued pixels
            rows.append({"workload": name, "layer": layer, "scatter_uj": e["scatter"], "gather_uj": e["gather"],
                         "scatter_busy_cycles": busy["scatter"], "gather_busy_cycles": busy["gather"],
                         "winner": "either" if tie else winners[layer]})
        mix = run_simulation(hwconfig({"dataflow.layers": winners}), wl, mode="analytic").summary
        mixed[name] = {"assignment": winners, **{f"{f}_mj_per_image": 1e3 * r.summary.energy_per_image_j
                                                  for f, r in res.items()},
                       "mixed_mj_per_image": 1e3 * mix.energy_per_image_j,
                       **{f"{f}_fps": r.summary.fps for f, r in res.items()}, "mixed_fps": mix.fps}
        print(name, json.dumps(mixed[name], indent=1), flush=True)
    out = ROOT / a.out
    out.mkdir(parents=True, exist_ok=True)
    import pandas as pd
    df = pd.DataFrame(rows)
    df.to_csv(out / "per_layer.csv", index=False)
    lines = ["| workload | layer | scatter uJ/image | gather uJ/image | winner |", "|---|---|---|---|---|"]
    lines += [f"| {r.workload} | {r.layer} | {r.scatter_uj:.2f} | {r.gather_uj:.2f} | {r.winner} |"
              for r in df.itertuples()]
    (out / "per_layer.md").write_text("\n".join(lines) + "\n")
    (out / "summary.json").write_text(json.dumps({"command": "python benchmarks/dataflow_per_layer.py "
                                                  + " ".join(sys.argv[1:]), "samples": a.samples,
                                                  "mode": "analytic", "workloads": mixed}, indent=2) + "\n")
    _plot(df, out / "per_layer.png")
    print(f"wrote {out}/per_layer.csv, per_layer.md, per_layer.png, summary.json")
    return 0


def _plot(df, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    names = list(dict.fromkeys(df["workload"]))
    fig, axes = plt.subplots(1, len(names), figsize=(5 + 3 * len(names), 3.8), squeeze=False)
    for ax, name in zip(axes[0], names):
        d = df[df["workload"] == name]
        x = np.arange(len(d))
        ax.bar(x - 0.2, d["scatter_uj"], 0.4, label="scatter (spike-driven)")
        ax.bar(x + 0.2, d["gather_uj"], 0.4, label="gather (output-stationary)")
        ax.set_xticks(x, d["layer"], rotation=60, fontsize=8)
        ax.set_yscale("log")
        ax.set_ylabel("dynamic energy per image (uJ, log)")
        ax.set_title(f"{name}: dataflow per layer (default hwconfig)")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())

"""archsim at scale (issue 31): wall time, peak memory and CPU of big networks on big meshes.

    .venv/bin/python benchmarks/scale.py [--only NAME ... [--record]] [--series X] [--cap-gb 10]

Runs every case of benchmarks/scale_cases.py (issue 31's table) and three growth series (input size,
cores, samples), each in its own process under a virtual-memory cap (``prlimit --as``: a case that
outgrows it fails instead of taking the machine), through ``run_simulation`` as ``archsim run`` does
(the fixed-T baseline included). Records per case: wall seconds (whole run and the mapping alone), CPU
seconds, peak resident memory (MB), the machine's load average before and after (other jobs share the
machine: compare CPU seconds when the load differs), the peak memory once the workload was made
(``workload_peak_mb``: the synthetic workload's own arrays and the making of them, which grow with its
samples; the run's own memory is the rest), and on a system of chips, the energy per used chip (least,
median, most) and the chip links' share. Writes results/scale.json and results/scale.png (log-log
growth); ``--only NAME ... --record`` runs only those cases and puts their rows into results/scale.json
(replacing rows of the same name), leaving every other row as it was; ``--series samples`` (or
``neurons``, ``cores``) re-runs one growth series only and replaces its rows in results/scale.json.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from scale_cases import CASES, ROOT, TABLE, Case, hwconfig, peak_rss_mb, workload

# growth: (series, x-axis name, cases)
SERIES = {
    "input size (neuron split <= 4,096 per core, 64x64 mesh, 100 samples, analytic)": (
        "neurons", [Case(f"size{s}", s, 64, 64, 100, "analytic", classes=1000, max_neurons=4096)
                    for s in (32, 64, 128, 224)]),
    "cores (32x32 VGG16, channel split, 1,000 samples, analytic)": (
        "cores", [Case(f"mesh{r}x{c}", 32, r, c, 1000, "analytic") for r, c in ((4, 8), (8, 8), (16, 16), (32, 32),
                                                                                 (64, 64))]),
    "samples (64x64 VGG16 on 16x16, analytic)": (
        "samples", [Case(f"samples{n}", 64, 16, 16, n, "analytic") for n in (100, 1000, 10000)]),
}


def one(case: Case) -> dict:
    """Run one case in this process and measure it."""
    from archsim.mapping import map_network
    from archsim.simulate import run_simulation
    t0, c0 = time.perf_counter(), time.process_time()
    hw, wl = hwconfig(case), workload(case)
    t_wl, wl_peak = time.perf_counter(), peak_rss_mb()
    mapping = map_network(hw, wl)
    t_map = time.perf_counter()
    res = run_simulation(hw, wl, mode=case.mode, mapping=mapping)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    g = wl.graph
    return {**case.to_dict(), "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
            "workload_s": round(t_wl - t0, 2), "mapping_s": round(t_map - t_wl, 2),
            "peak_rss_mb": round(peak_rss_mb()), "workload_peak_mb": round(wl_peak),
            "neurons": int(sum(g.nodes[n]["neurons"] for n in g.nodes)),
            "cores_used": mapping.cores_used, "cores": case.cores,
            "fps": res.summary["fps"], **chip_figures(res.summary)}


def chip_figures(summary) -> dict:
    """A system of chips: chips used, energy per used chip (least, median, most, J), the chip links'."""
    if not summary.chips:
        return {}
    c, links = summary.chips, summary.chips["links"]
    joules = sorted(ch["energy_j"] for ch in c["per_chip"] if ch["cores_used"])
    return {"chips_used": c["chips_used"], "energy_j": summary.energy_j,
            "chip_energy_j_min": joules[0], "chip_energy_j_median": joules[len(joules) // 2],
            "chip_energy_j_max": joules[-1], "chip_link_crossings": links["crossings"],
            "chip_link_energy_j": links["energy_j"], "chip_link_energy_share": round(links["energy_share"], 5),
            "chip_link_busiest_utilization": round(links["busiest_link_utilization"], 5)}


def record(rows: list[dict]) -> None:
    """Put ``rows`` into results/scale.json's table: a row of the same name is replaced, a new one added."""
    path = ROOT / "results" / "scale.json"
    out = json.loads(path.read_text())
    names = [r["name"] for r in out["table"]]
    for row in rows:
        if row["name"] in names:
            out["table"][names.index(row["name"])] = row
        else:
            out["table"].append(row)
            names.append(row["name"])
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"recorded {', '.join(r['name'] for r in rows)} in {path.relative_to(ROOT)}")


def spawn(case: Case, cap_gb: float) -> dict:
    """One case in a child process under the memory cap; a failure is recorded, not raised."""
    load0 = os.getloadavg()[0]
    cmd = ["prlimit", f"--as={int(cap_gb * 1e9)}", "--", sys.executable, __file__, "--one", json.dumps(case.to_dict())]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    out = {**case.to_dict(), "error": (r.stderr.strip().splitlines() or ["?"])[-1][:300]}
    if r.returncode == 0:
        out = json.loads(r.stdout.strip().splitlines()[-1])
    out.update(load_before=round(load0, 2), load_after=round(os.getloadavg()[0], 2), cap_gb=cap_gb)
    print(json.dumps(out), flush=True)
    return out


def plot(series: dict, path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(2, len(series), figsize=(5 * len(series), 7.5))
    for j, (title, (xname, rows)) in enumerate(series.items()):
        ok = [r for r in rows if "wall_s" in r]
        x = [r[xname] for r in ok]
        for i, (key, label) in enumerate((("wall_s", "wall s"), ("peak_rss_mb", "peak RSS MB"))):
            ax = axes[i, j]
            ax.loglog(x, [r[key] for r in ok], "o-", label=label)
            if key == "wall_s":
                ax.loglog(x, [r["cpu_s"] for r in ok], "s--", label="CPU s")
            ax.set_xlabel(xname)
            ax.set_ylabel(label)
            ax.grid(True, which="both", alpha=0.3)
            ax.legend()
        axes[0, j].set_title(title, fontsize=8)
    fig.suptitle("archsim at scale (synthetic VGG16, ~0.1 spikes/neuron/step; benchmarks/scale.py)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def rerun_series(x: str, cap_gb: float) -> None:
    """Run the growth series whose x axis is ``x`` and put its rows into results/scale.json (the table and
    the other series stay as they were); re-draw results/scale.png."""
    title = next(t for t, (name, _) in SERIES.items() if name == x)
    rows = [spawn(c, cap_gb) for c in SERIES[title][1]]
    path = ROOT / "results" / "scale.json"
    out = json.loads(path.read_text())
    out["series"][title] = {"x": x, "rows": rows}
    path.write_text(json.dumps(out, indent=1) + "\n")
    plot({t: (v["x"], v["rows"]) for t, v in out["series"].items()}, ROOT / "results" / "scale.png")
    print(f"wrote the {x} series into results/scale.json, results/scale.png")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("--only", nargs="*", help="run only these case names (no file written unless --record)")
    ap.add_argument("--record", action="store_true", help="with --only: put their rows into results/scale.json")
    ap.add_argument("--series", choices=[x for x, _ in SERIES.values()],
                    help="re-run this growth series only; its rows replace those in results/scale.json")
    ap.add_argument("--cap-gb", type=float, default=10.0, help="virtual-memory cap per case (GB)")
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(Case(**json.loads(args.one)))))
        return
    if args.series:
        rerun_series(args.series, args.cap_gb)
        return
    every = {c.name: c for c in TABLE} | {c.name: c for _, cases in SERIES.values() for c in cases}
    if args.only:
        known = CASES | every            # as before: a name in both is every's
        unknown = [name for name in args.only if name not in known]
        if unknown:
            ap.error(f"--only: unknown case {unknown[0]!r}; choose from {sorted(known)}")
        rows = [spawn(known[name], args.cap_gb) for name in args.only]
        if args.record:
            record([r for r in rows if "wall_s" in r])
        return
    table = [spawn(c, args.cap_gb) for c in TABLE]
    series = {t: (x, [spawn(c, args.cap_gb) for c in cases]) for t, (x, cases) in SERIES.items()}
    out = {"machine": {"cpus": os.cpu_count(), "note": "shared machine: see each row's load_before/after"},
           "table": table, "series": {t: {"x": x, "rows": rows} for t, (x, rows) in series.items()}}
    (ROOT / "results" / "scale.json").write_text(json.dumps(out, indent=1) + "\n")
    plot(series, ROOT / "results" / "scale.png")
    print("wrote results/scale.json, results/scale.png")


if __name__ == "__main__":
    main()

"""The picture of a comparison: the GPU's power timeline with the run's window marked, and the two
energies (GPU, accelerator) side by side. Written with matplotlib's object API (no global backend state).
"""
from __future__ import annotations

import textwrap
from pathlib import Path

from matplotlib.figure import Figure

from archsim.errors import UserError
from archsim.gpu.formats import read_power_log


def check_plot_path(path: str | Path) -> None:
    """Before any work: the plot must be a .png whose folder exists or can be made."""
    p = Path(path)
    if p.suffix.lower() != ".png":
        raise UserError(str(p), "--plot", "give a .png file name")
    from archsim.report import check_out_file
    check_out_file(p, "--plot")


def plot_comparison(result: dict, path: str | Path) -> Path:
    """Draw ``result`` (from ``compare.compare_with_log``) to the PNG ``path``; returns the path."""
    from archsim.report import energy_unit

    g, a, idle = result["gpu"], result["accelerator"], result["idle"]
    log = read_power_log(g["log"], g.get("gpu_count_given"))
    fig = Figure(figsize=(12, 4.4), layout="constrained")
    ax_t, ax_e = fig.subplots(1, 2, width_ratios=[3, 1])
    for gpu in g["gpus"]:
        first = True
        for _, seg in log.timeline[log.timeline["gpu"] == gpu].groupby("segment"):
            ax_t.plot(seg["time_s"], seg["power_w"], lw=1.2, color=f"C{gpu % 10}",
                      label=f"GPU {gpu}" if first else None, drawstyle="default")
            first = False
    spans = sorted({(p["start_s"], p["end_s"]) for p in g.get("pieces") or []}) or [tuple(g["window_s"])]
    for k, (start, end) in enumerate(spans):
        ax_t.axvspan(start, end, color="tab:orange", alpha=0.15,
                     label=f"integrated ({g['duration_s']:.2f} s)" if k == 0 else None)
    if idle["idle_w"] is not None and len(g["gpus"]) == 1:
        ax_t.axhline(idle["idle_w"], color="grey", ls="--", lw=1, label=f"idle {idle['idle_w']:.1f} W")
    ax_t.set_xlabel("time in the log (s)")
    ax_t.set_ylabel("GPU power (W)")
    ax_t.set_ylim(bottom=0)
    ax_t.legend(loc="lower center", fontsize=8)
    title = f"{Path(g['log']).name} ({g['format']}): {g['window_from']}"
    if g["sample"]:
        title += "\nSAMPLE, not a measurement"
    ax_t.set_title(title, fontsize=9)

    per_image = [g["energy_per_image_j"], a["energy_per_image_j"]]
    scale, unit = energy_unit(max(abs(v) for v in per_image))
    bars = ax_e.bar(["GPU", "accelerator"], [scale * v for v in per_image], color=["tab:blue", "tab:green"])
    for bar, v in zip(bars, per_image):
        ax_e.annotate(f"{scale * v:.4g} {unit}", (bar.get_x() + bar.get_width() / 2, max(scale * v, 0)),
                      ha="center", va="bottom", fontsize=8)
    pct = result["comparison"]["energy_pct_of_gpu"]
    idle_txt = "GPU idle subtracted" if idle["mode"] == "subtract" else "GPU idle kept"
    head = f"energy per image, {idle_txt}" + (f"\naccelerator = {pct:.2f}% of GPU" if pct else "")
    if result.get("mismatch"):
        head += "\n" + textwrap.fill("MISMATCH: " + "; ".join(result["mismatch"]), 40)
    ax_e.set_title(head, fontsize=9, color="crimson" if result.get("mismatch") else "black")
    ax_e.set_ylabel(f"{unit} / image")
    ax_e.set_xlabel(textwrap.fill(f"accelerator: {a['workload']} on {a['hwconfig']}", 45), fontsize=7)
    p = Path(path)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(f".{p.name}.tmp.png")
        fig.savefig(tmp, dpi=120)
        tmp.replace(p)
    except (OSError, ValueError) as err:
        raise UserError(str(p), "plot", f"cannot write the plot ({err})") from None
    return p

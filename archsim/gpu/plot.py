"""The picture of a comparison: the GPU's power timeline with the run's window marked, and the two
energies (GPU, accelerator) side by side. Written with matplotlib's object API (no global backend state).
"""
from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from archsim.errors import UserError
from archsim.gpu.formats import read_power_log


def plot_comparison(result: dict, path: str | Path) -> Path:
    """Draw ``result`` (from ``compare.compare_with_log``) to the PNG ``path``; returns the path."""
    g, a, idle = result["gpu"], result["accelerator"], result["idle"]
    log = read_power_log(g["log"])
    fig = Figure(figsize=(11, 4), layout="constrained")
    ax_t, ax_e = fig.subplots(1, 2, width_ratios=[3, 1])
    for gpu in g["gpus"]:
        first = True
        for _, seg in log.timeline[log.timeline["gpu"] == gpu].groupby("segment"):
            ax_t.plot(seg["time_s"], seg["power_w"], lw=1, color=f"C{gpu % 10}",
                      label=f"GPU {gpu}" if first else None)
            first = False
    start, end = g["window_s"]
    ax_t.axvspan(start, end, color="tab:orange", alpha=0.15, label=f"window ({end - start:.2f} s)")
    if idle["idle_w"] is not None and len(g["gpus"]) == 1:
        ax_t.axhline(idle["idle_w"], color="grey", ls="--", lw=1, label=f"idle {idle['idle_w']:.1f} W")
    ax_t.set_xlabel("time in the log (s)")
    ax_t.set_ylabel("power (W)")
    ax_t.set_ylim(bottom=0)
    ax_t.legend(loc="lower center", fontsize=8)
    title = f"{Path(g['log']).name} ({g['format']})" + ("  SAMPLE, not a measurement" if g["sample"] else "")
    ax_t.set_title(title, fontsize=10)

    values = [g["energy_j"], a["energy_j"]]
    bars = ax_e.bar(["GPU", "accelerator"], values, color=["tab:blue", "tab:green"])
    for bar, v in zip(bars, values):
        ax_e.annotate(f"{v:.4g} J", (bar.get_x() + bar.get_width() / 2, max(v, 0)), ha="center", va="bottom",
                      fontsize=8)
    pct = result["comparison"]["energy_pct_of_gpu"]
    idle_txt = "idle subtracted" if idle["mode"] == "subtract" else "idle kept"
    ax_e.set_title(f"energy, {idle_txt}" + (f"\naccelerator = {pct:.2f}% of GPU" if pct else ""), fontsize=9)
    ax_e.set_ylabel("J")
    p = Path(path)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(p, dpi=120)
    except (OSError, ValueError) as err:
        raise UserError(str(p), "plot", f"cannot write the plot ({err})") from None
    return p

"""Reports of a simulation: the stdout table, JSON, CSV tables and a PNG, written atomically.

Nothing here computes a figure: every number comes from the summary and tables of archsim.simulate.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import yaml

from archsim.energy import EnergyReport
from archsim.errors import UserError
from archsim.summary import Summary, dumps, plain


def to_json(summary: Summary | dict) -> str:
    """The JSON text of a Summary, or of a dict holding one (``run --json`` adds the GPU comparison)."""
    return dumps(summary)


def _si(x: float, unit: str) -> str:
    if x == 0 or not math.isfinite(x):
        return f"{x:g} {unit}"
    for scale, prefix in ((1, ""), (1e-3, "m"), (1e-6, "u"), (1e-9, "n"), (1e-12, "p")):
        if abs(x) >= scale:
            return f"{x / scale:.4g} {prefix}{unit}"
    return f"{x:.3g} {unit}"


def _pct(x) -> str:
    return "n/a" if x is None else f"{x:+.1f} %"


SOURCE_WORDS = {"command line": "from the command line", "hwconfig": "set in the hwconfig",
                "workload": "the workload's calibrated one", "default": "archsim's default: neither the "
                "hwconfig nor the workload names one"}


def _policy_source(s: Summary) -> str:
    """`` (the workload's calibrated one)``: where the run's exit policy and threshold came from."""
    p_src, t_src = s.exit_policy_source, s.threshold_source
    if p_src is None:
        return ""
    if t_src is None or t_src == p_src:
        return f" ({SOURCE_WORDS.get(p_src, p_src)})"
    return f" (policy: {SOURCE_WORDS.get(p_src, p_src)}; threshold: {SOURCE_WORDS.get(t_src, t_src)})"


def _controller(s: Summary) -> str:
    """'wait', 'speculate (unbounded)' or 'speculate (5 layers ahead)': the bound decides the waste."""
    if s.controller_mode != "speculate":
        return s.controller_mode
    k = s.speculation.get("layers_ahead")
    return "speculate (unbounded)" if k is None else f"speculate ({k} layer{'s' if k != 1 else ''} ahead)"


def format_summary(summary: Summary, per_layer=None) -> str:
    """The readable stdout report."""
    s, wl, m = summary, summary.workload, summary.mapping
    lines = []
    src = wl.get("path") or "(in-memory workload)"
    tag = "synthetic, " if wl.get("synthetic") else ""
    lines.append(f"archsim: {s.hwconfig} on {src} ({tag}{wl['kind']}, {wl.get('arch')}, "
                 f"{s.images} images, T={wl['timesteps']})")
    pol = s.exit_policy + (f" >= {s.threshold:g}" if s.threshold is not None else f" T={s.max_timesteps}")
    pol += _policy_source(s)
    lines.append(f"mode {s.mode}, exit policy {pol}, controller {_controller(s)}, "
                 f"{m['images_in_flight']} image(s) in flight, energy table {s.energy_table}")
    lines.append("")
    rows = [
        ("Throughput", f"{s.fps:.1f} FPS  (makespan {s.seconds:.4g} s = {s.cycles:,} cycles at {s.clock_mhz:g} MHz)"),
        ("Latency", f"{s.latency_us_mean:.1f} us mean, p50 {s.latency_us_p50:.1f}, p95 {s.latency_us_p95:.1f}, "
                    f"max {s.latency_us_max:.1f} us"),
        ("Timesteps", f"{s.avg_timesteps:.3f} average of {s.max_timesteps}"),
        ("Accuracy", f"{100 * s.accuracy:.2f} %" + ("  (synthetic workload: not a trained network)" if wl.get("synthetic") else "")),
        ("Work", f"{s.synaptic_ops_per_image:,.0f} synaptic ops per image ({s.synaptic_ops_per_image_useful:,.0f} "
                 f"up to the exits, the rest speculative), {s.spikes_per_image:,.0f} spikes per image"
                 if s.speculation["wasted_items"] else
                 f"{s.synaptic_ops_per_image:,.0f} synaptic ops and {s.spikes_per_image:,.0f} spikes per image"),
        ("Energy", f"{_si(s.energy_j, 'J')} total, {_si(s.energy_per_image_j, 'J')} per image "
                   f"(dynamic {_si(s.energy_dynamic_j, 'J')}, static {_si(s.energy_static_j, 'J')})"),
    ]
    width = max(len(k) for k, _ in rows)
    lines += [f"{k:<{width}}  {v}" for k, v in rows]
    total = s.energy_j or 1.0
    for comp, j in sorted(s.energy_breakdown_j.items(), key=lambda kv: -kv[1]):
        if j > 0:
            lines.append(f"  {comp:<16} {_si(j, 'J'):>12}  {100 * j / total:5.1f} %")
    lines.append("")
    lines.append(f"{'Memory accesses':<18}{'reads':>16}{'writes':>16}")
    for mem, rw in s.memory_accesses.items():
        lines.append(f"  {mem:<16}{rw['reads']:>16,}{rw['writes']:>16,}")
    c = s.counts
    lines.append(f"  {'mesh':<16}{c['packets']:>16,} packets {c['flit_hops']:,} flit-hops")
    lines.append("")
    e = s.early_exit_savings
    if "latency_us_mean_fixed" in e:
        lines.append(f"Early exit vs fixed T={wl['timesteps']}: latency {_pct(-e['latency_saved_pct'] if e['latency_saved_pct'] is not None else None)} "
                     f"({e['latency_us_mean_fixed']:.1f} -> {s.latency_us_mean:.1f} us), energy "
                     f"{_pct(-e['energy_saved_pct'] if e['energy_saved_pct'] is not None else None)}, "
                     f"FPS {e['fps_fixed']:.1f} -> {s.fps:.1f}, synaptic ops "
                     f"{_pct(-e['synaptic_ops_saved_pct'] if e['synaptic_ops_saved_pct'] is not None else None)}")
    else:
        lines.append(f"Early exit: none ({e.get('note', 'fixed policy')})")
    if s.speculation["wasted_items"]:
        lines.append(f"Speculation wasted {s.speculation['wasted_items']:,} work items "
                     f"({s.speculation['wasted_synaptic_ops']:,} synaptic ops)")
    lines.append(f"Mapping: {len(m['layers'])} layers on {m['cores_used']} of {m['cores_total']} cores; "
                 f"spike split over a layer's cores: {m['split']}"
                 + (" (the workload has no per-channel counts)" if m["split"] == "even" else ""))
    if s.pooled_cells_estimated:
        lines.append("  per_cell pooling: non-empty pooled cells ESTIMATED as if spikes were independent (too many "
                     "where they cluster) on " + ", ".join(s.pooled_cells_estimated) + ": the workload records "
                     "no pooled-cell counts (format 2.1)")
    if m["spilled_layers"]:
        lines.append("  weights spilled off chip: " + ", ".join(f"{k} {100 * v:.0f} %" for k, v in m["spilled_layers"].items()))
    b = s.bottleneck
    lines.append(f"Bottleneck: {', '.join(b['layers'])} busy {100 * b['utilization']:.0f} % of the makespan; "
                 f"stalls on full spike buffers {s.stall_cycles:,.0f} cycles")
    if s.chips:
        lines += _chip_lines(s)
    if per_layer is not None and len(per_layer):
        n = max(s.images, 1)
        lines.append("")
        lines.append(f"{'layer':<10}{'cores':>6}{'spill':>7}{'syn ops/img':>14}{'busy':>7}{'stall cycles':>16}{'dyn mJ/img':>12}")
        for _, r in per_layer.iterrows():
            lines.append(f"{r['layer']:<10}{r['cores']:>6}{100 * r['spill_fraction']:>6.0f}%"
                         f"{(r['accumulates'] + r['macs']) / n:>14,.0f}{100 * r['group_utilization']:>6.0f}%"
                         f"{r['stall_cycles']:>16,.0f}{1e3 * r['energy_dynamic_j'] / n:>12.4f}")
    return "\n".join(lines)


def _chip_lines(s: Summary) -> list[str]:
    """The system of chips: energy per chip (spread, busiest chip) and the chip-to-chip links."""
    c, k = s.chips, s.chips["links"]
    used = [ch for ch in c["per_chip"] if ch["cores_used"]]
    joules = sorted(ch["energy_j"] for ch in used) or [0.0]
    top = max(c["per_chip"], key=lambda ch: ch["busiest_core_utilization"])
    total = s.energy_j or 1.0
    return [f"Chips: {c['grid'][0]}x{c['grid'][1]} of {c['cores_per_chip']} cores, {c['chips_used']} used; energy per "
            f"used chip {_si(joules[0], 'J')} .. {_si(joules[-1], 'J')} (median {_si(joules[len(joules) // 2], 'J')}); "
            f"busiest core {top['busiest_core']} on chip {top['chip']}, busy "
            f"{100 * top['busiest_core_utilization']:.0f} % of the makespan",
            f"  chip links ({k['link']}, {k['lanes']} lane(s)): {k['crossings']:,} crossings, {k['flits']:,} flits, "
            f"{_si(k['energy_j'], 'J')} ({100 * k['energy_j'] / total:.1f} % of the energy), "
            f"{k['latency_cycles']} cycles per crossing, busiest link busy "
            f"{100 * k['busiest_link_utilization']:.0f} % of the makespan"]


def energy_unit(joules_per_image: float) -> tuple[float, str]:
    """(scale, label) that shows an energy per image in readable numbers: mJ or uJ (or nJ) per image."""
    for scale, unit in ((1e3, "mJ"), (1e6, "uJ"), (1e9, "nJ")):
        if abs(joules_per_image) * scale >= 1.0:
            return scale, unit
    return 1e9, "nJ"


def _plot(per_layer, summary: Summary, path: Path, static_layer_j: np.ndarray, static_rest_j: float) -> None:
    """per_layer.png: energy per image of each layer (static: its cores' leakage, archsim.energy.static_split;
    dynamic) over the share of the run its cores were busy."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    images = max(int(summary.images), 1)
    dyn = per_layer["energy_dynamic_j"].to_numpy(float) / images
    stat = np.asarray(static_layer_j, dtype=float) / images
    names = list(per_layer["layer"]) + ["unused cores,\nlinks, off-chip"]
    dyn = np.append(dyn, 0.0)
    stat = np.append(stat, static_rest_j / images)
    scale, unit = energy_unit(float(summary.energy_per_image_j))
    x = np.arange(len(names))
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(max(7, 0.55 * len(names) + 3), 6.5), sharex=True)
    ax1.bar(x, scale * stat, color="tab:gray", label=f"static (leakage over the run): "
            f"{scale * summary.energy_static_j / images:.4g} {unit}/image")
    ax1.bar(x, scale * dyn, bottom=scale * stat, color="tab:orange",
            label=f"dynamic (counted actions): {scale * summary.energy_dynamic_j / images:.4g} {unit}/image")
    ax1.set_ylabel(f"energy ({unit} / image)")
    ax1.legend(fontsize=8, loc="upper right")
    ax1.grid(axis="y", alpha=0.3)
    util = np.append(100 * per_layer["group_utilization"].to_numpy(float), np.nan)
    ax2.bar(x, util, color="tab:blue")
    ax2.set_ylabel("its cores busy\n(% of the run)")
    ax2.set_ylim(0, 100)
    ax2.grid(axis="y", alpha=0.3)
    ax2.set_xticks(x, names, rotation=60, ha="right", fontsize=8)
    wl = summary.workload or {}
    wl_name = Path(str(wl.get("path"))).name if wl.get("path") else "(in-memory workload)"
    pol = summary.exit_policy + (f" >= {summary.threshold:g}" if summary.threshold is not None else "")
    fig.suptitle(f"{wl_name} on {summary.hwconfig} ({summary.mode}, {pol}, {images:,} images)\n"
                 f"{scale * summary.energy_per_image_j:.4g} {unit} per image, "
                 f"{100 * summary.energy_static_j / max(summary.energy_j, 1e-300):.0f} % of it static; "
                 f"{summary.fps:,.0f} FPS, {summary.latency_us_mean:,.0f} us mean latency", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def check_out_dir(out_dir: str | os.PathLike) -> None:
    """Fail now, before any simulation, if ``out_dir`` cannot be written: it names a file, or the
    nearest existing folder above it is not one we may create folders in. Creates nothing."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise UserError(str(out), "--out", "exists and is not a directory")
    _check_writable_above(out, "--out")


def check_out_file(path: str | os.PathLike, flag: str) -> None:
    """Like check_out_dir, for a file to (over)write, such as a plot."""
    p = Path(path)
    if p.is_dir():
        raise UserError(str(p), flag, "is a directory, expected a file name")
    _check_writable_above(p, flag)


def _check_writable_above(out: Path, flag: str) -> None:
    """The nearest existing folder above ``out`` must be a folder we can create entries in (probed by
    creating and removing an empty temporary folder: permissions alone do not tell, /proc says yes)."""
    probe = out.parent if str(out.parent) else Path(".")
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise UserError(str(out), flag, f"{probe} is a file, not a folder")
    try:
        tmp = tempfile.mkdtemp(prefix=f".{out.name or 'out'}.probe-", dir=probe)
        os.rmdir(tmp)
    except OSError as err:
        raise UserError(str(out), flag, f"cannot write there ({err.strerror or err})") from None


@contextlib.contextmanager
def atomic_dir(out_dir: str | os.PathLike):
    """Yield a temporary folder beside ``out_dir`` to write into; on success it replaces ``out_dir``,
    on any failure it is removed: a run leaves the whole folder or nothing."""
    out = Path(out_dir)
    parent = out.parent if str(out.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=parent))
    except OSError as err:
        raise UserError(str(out), "--out", f"cannot write there ({err.strerror or err})") from None
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)          # mkdtemp makes it private; the result is an ordinary directory
    try:
        yield tmp
        old = None
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=parent))
            os.replace(out, old / "previous")
        os.replace(tmp, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_outputs(out_dir: str | os.PathLike, summary: Summary, per_layer, per_sample, config: dict,
                  extra: dict | None = None, *, energy: EnergyReport, tables: dict | None = None) -> Path:
    """Write summary.json, per_layer.csv, per_sample.csv, config.yaml, per_layer.png (+ ``extra`` JSON
    files, + ``tables``: file name -> DataFrame, e.g. a system of chips' per_core.csv and per_chip.csv)
    into ``out_dir`` atomically (:func:`atomic_dir`): a failure leaves no half-written directory.
    ``energy``: the run's EnergyReport (its static energy per layer goes into the plot)."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise UserError(str(out), "--out", "exists and is not a directory")
    with atomic_dir(out) as tmp:
        (tmp / "summary.json").write_text(summary.to_json() + "\n")
        per_layer.to_csv(tmp / "per_layer.csv", index=False)
        per_sample.to_csv(tmp / "per_sample.csv", index=False)
        (tmp / "config.yaml").write_text(yaml.safe_dump(json.loads(json.dumps(config, default=plain)),
                                                        sort_keys=False))
        for name, obj in (extra or {}).items():
            (tmp / name).write_text(json.dumps(obj, indent=2, default=plain) + "\n")
        for name, table in (tables or {}).items():
            table.to_csv(tmp / name, index=False)
        _plot(per_layer, summary, tmp / "per_layer.png", energy.static_layer_j, energy.static_rest_j)
    return out

"""The Table-3-style comparison: an archsim summary (the accelerator) against a GPU power log.

Both sides on the same test set, as in Table 3 of the ATSNN paper (../shared/papers.md): images, FPS,
energy (J), energy per image (mJ), and the accelerator's energy as a percentage of the GPU's. The
percentage is taken per image, so it stays right when the two sides ran different numbers of images
(with equal numbers it is the ratio of the totals, the paper's figure).

GPU side: energy integrated from the power log over the run's window (``integrate``), idle subtracted or
kept as the caller says (always stated). Images: the gpu_bench JSON's, else ``gpu_images``, else assumed
equal to the accelerator's (stated). FPS: the gpu_bench JSON's, else images / window duration.
"""
from __future__ import annotations

import json
from pathlib import Path

from archsim.errors import UserError
from archsim.gpu.formats import read_power_log
from archsim.gpu.integrate import apply_idle, default_window, idle_power, integrate, select_gpus

SUMMARY_KEYS = ("images", "fps", "energy_j", "energy_per_image_j", "latency_us_mean", "hwconfig", "workload")
HINT = "write one with: python -m archsim run HWCONFIG WORKLOAD --json"


def check_summary(summary, source: str = "summary") -> dict:
    """The summary if it is an archsim summary (all of SUMMARY_KEYS, sane numbers); else a UserError."""
    if not isinstance(summary, dict):
        raise UserError(source, "summary", f"not an archsim summary (a JSON {type(summary).__name__}, "
                        f"not an object); {HINT}")
    missing = [k for k in SUMMARY_KEYS if k not in summary]
    if missing:
        raise UserError(source, "summary", f"not an archsim summary (missing {', '.join(missing)}); {HINT}")
    for key, low in (("images", 1), ("fps", 0), ("energy_j", 0)):
        v = summary[key]
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not v >= low or (key == "fps" and v == 0):
            raise UserError(source, key, f"must be a number {'>= 1' if low else '> 0'}, got {v!r}")
    return summary


def load_summary(path: str | Path) -> dict:
    """Read and check an archsim summary JSON (``python -m archsim run ... --json`` / ``--out DIR/summary.json``)."""
    p = Path(path)
    if not p.is_file():
        raise UserError(str(p), "file", "no such file" if not p.exists() else "not a file")
    text = p.read_text(errors="replace")
    if not text.strip():
        raise UserError(str(p), "file", "file is empty")
    try:
        data = json.loads(text)
    except ValueError as err:
        raise UserError(str(p), "summary", f"not an archsim summary (not JSON: {err}); {HINT}") from None
    return check_summary(data, str(p))


def _label(v) -> str:
    """A hwconfig/workload entry of the summary (a name, or a dict with name/path) as a short label."""
    if isinstance(v, dict):
        label = str(v.get("name") or v.get("path") or json.dumps(v, sort_keys=True)[:60])
        return label + (" (synthetic)" if v.get("synthetic") else "")
    return str(v)


def compare_with_log(summary: dict, log_path: str, idle: str = "subtract",
                     window: tuple[float, float] | None = None, *, idle_w: float | None = None,
                     gpus: list[int] | None = None, gpu_images: int | None = None,
                     summary_source: str = "summary") -> dict:
    """Compare an archsim summary with a GPU power log; a JSON-ready dict (printed by ``format_table``).

    ``window``: (start, end) in seconds on the log's timeline (0 = its first sample); default: the run's
    window from the gpu_bench JSON, else the whole log. ``idle``: 'subtract' or 'keep'. ``idle_w``: the
    idle draw (W) to subtract, overriding what the log tells. ``gpus``: GPU indices to count (default all).
    """
    acc = check_summary(summary, summary_source)
    log = read_power_log(log_path)
    gpus = select_gpus(log, gpus)
    notes = list(log.notes)
    bench = log.bench or {}
    if window is None:
        start, end, how = default_window(log, gpus)
    else:
        start, end, how = float(window[0]), float(window[1]), "given on the command line"
    we = integrate(log, start, end, gpus)
    idle_info = idle_power(log, start, gpus, idle_w)
    energy, removed = apply_idle(log, we, idle, idle_info)

    if bench.get("images"):
        images, images_from = int(bench["images"]), "the gpu_bench JSON"
    elif gpu_images:
        images, images_from = int(gpu_images), "given on the command line"
    else:
        images, images_from = int(acc["images"]), "assumed equal to the accelerator's"
        notes.append(f"the log does not say how many images the GPU ran: assumed {images}, the accelerator's "
                     f"(--gpu-images N to state it)")
    if bench.get("fps") and window is None:
        fps = float(bench["fps"])
    else:
        fps = images / we.duration_s
    if images != int(acc["images"]):
        notes.append(f"the GPU ran {images} images and the accelerator {acc['images']}: compare per image")
    gpu_epi = energy / images
    acc_epi = float(acc["energy_per_image_j"]) if acc.get("energy_per_image_j") else acc["energy_j"] / acc["images"]
    # zero within rounding (idle x duration against its own integral) counts as zero
    pct = 100.0 * acc_epi / gpu_epi if energy > 1e-9 * abs(we.energy_j) else None
    if pct is None:
        notes.append("the GPU energy is <= 0 after subtracting idle: no percentage (try --idle keep)")
    counter = (bench.get("energy_j") or {}).get("counter") if isinstance(bench.get("energy_j"), dict) else None
    if bench.get("sample"):
        note = str(bench.get("note") or "synthetic power profile, not a measurement")
        notes.insert(0, note if note.startswith("SAMPLE") else f"SAMPLE: {note}")
    return {
        "gpu": {
            "log": str(log.path), "format": log.format, "gpus": gpus, "name": bench.get("gpu_name"),
            "sample": bool(bench.get("sample", False)),
            "window_s": [we.start_s, we.end_s], "window_from": how, "duration_s": we.duration_s,
            "samples_in_window": we.samples, "images": images, "images_from": images_from, "fps": fps,
            "energy_j": energy, "energy_per_image_j": gpu_epi, "energy_idle_kept_j": we.energy_j,
            "energy_per_gpu_idle_kept_j": {str(k): v for k, v in we.per_gpu_j.items()},
            "mean_power_w": we.mean_power_w, "counter_energy_idle_kept_j": counter,
        },
        "idle": {"mode": idle, "idle_w": idle_info[0] if idle_info else None,
                 "source": idle_info[1] if idle_info else None, "removed_j": removed},
        "accelerator": {
            "summary": summary_source, "images": int(acc["images"]), "fps": float(acc["fps"]),
            "energy_j": float(acc["energy_j"]), "energy_per_image_j": acc_epi,
            "latency_us_mean": acc.get("latency_us_mean"), "hwconfig": _label(acc["hwconfig"]),
            "workload": _label(acc["workload"]),
        },
        "comparison": {"energy_pct_of_gpu": pct, "fps_ratio": float(acc["fps"]) / fps},
        "notes": notes,
    }


def _num(x: float | None) -> str:
    if x is None:
        return "-"
    if abs(x) >= 1e4:
        return f"{x:,.0f}"
    if abs(x) >= 100:
        return f"{x:.1f}"
    return f"{x:.4g}"


def format_table(result: dict) -> str:
    """The comparison as text: where the figures come from, then the Table-3 rows."""
    g, a, i, c = result["gpu"], result["accelerator"], result["idle"], result["comparison"]
    gpu_desc = f"GPU {', '.join(str(x) for x in g['gpus'])}" + (f": {g['name']}" if g["name"] else "")
    if i["mode"] == "subtract":
        idle_line = (f"subtracted: {i['idle_w']:.1f} W x {g['duration_s']:.3f} s = {i['removed_j']:.1f} J "
                     f"({i['source']})")
    else:
        known = f"; idle draw {i['idle_w']:.1f} W ({i['source']})" if i["idle_w"] is not None else ""
        idle_line = f"kept: the GPU energy includes its idle draw{known}"
    pct = f"{c['energy_pct_of_gpu']:.2f}%" if c["energy_pct_of_gpu"] is not None else "-"
    w = (28, 14, 14, 18)
    row = lambda *cells: "".join(  # noqa: E731
        (str(x).ljust(n) if k == 0 else str(x).rjust(n)) for k, (x, n) in enumerate(zip(cells, w))).rstrip()
    lines = [
        "GPU vs accelerator on the same test set (Table 3 of the ATSNN paper)"
        + ("  [SAMPLE, not a measurement]" if g["sample"] else ""),
        f"GPU log      {g['log']} ({g['format']}; {gpu_desc})",
        f"window       {g['window_s'][0]:.3f} .. {g['window_s'][1]:.3f} s of the log = {g['duration_s']:.3f} s: "
        f"{g['window_from']}",
        f"idle         {idle_line}",
        f"accelerator  {a['summary']} (hwconfig {a['hwconfig']}, workload {a['workload']})",
        "",
        row("", "GPU", "accelerator", "accelerator/GPU"),
        row("images", g["images"], a["images"], ""),
        row("FPS", _num(g["fps"]), _num(a["fps"]), f"{c['fps_ratio']:.2f}x"),
        row("energy (J)", _num(g["energy_j"]), _num(a["energy_j"]),
            pct if g["images"] == a["images"] else "(per image)"),
        row("energy per image (mJ)", _num(1e3 * g["energy_per_image_j"]), _num(1e3 * a["energy_per_image_j"]), pct),
        row("GPU energy, idle kept (J)", _num(g["energy_idle_kept_j"]), "", ""),
    ]
    if g["counter_energy_idle_kept_j"] is not None:
        lines.append(row("NVML counter, idle kept (J)", _num(g["counter_energy_idle_kept_j"]), "", ""))
    if result["notes"]:
        lines += ["", "notes:"] + [f"  - {n}" for n in result["notes"]]
    return "\n".join(lines)

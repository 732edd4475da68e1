"""The Table-3-style comparison: an archsim summary (the accelerator) against a GPU power log.

Both sides on the same test set, as in Table 3 of the ATSNN paper (../shared/papers.md): images, FPS,
energy (J), energy per image (mJ), and the accelerator's energy as a percentage of the GPU's. The
percentage is taken per image, so it stays right when the two sides ran different numbers of images
(with equal numbers it is the ratio of the totals, the paper's figure).

GPU side: energy integrated from the power log over the run's window or the whole log, every run and
window once (``integrate.select``), idle subtracted or kept as the caller says (always stated). Images: the
gpu_bench JSON's, else ``gpu_images``, else assumed equal to the accelerator's (stated). FPS: the gpu_bench
JSON's, else images / the seconds integrated.

Like for like: the network, data set, image count and exit policy (with its threshold) must agree where
both sides record them (the summary's workload and exit policy; a gpu_bench JSON, or ``--gpu-images``).
A mismatch is a one-line error unless the caller allows it, and then the result says so on top.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from archsim.errors import UserError
from archsim.gpu.formats import read_power_log
from archsim.gpu.integrate import apply_idle, idle_power, integrate_pieces, segment_report, select, select_gpus
from archsim.summary import Summary

SUMMARY_KEYS = ("images", "fps", "energy_j", "energy_per_image_j", "latency_us_mean", "hwconfig", "workload")
HINT = "write one with: python -m archsim run HWCONFIG WORKLOAD --json"


@dataclass(frozen=True)
class Accelerator:
    """What the comparison reads of the accelerator's side. Not a Summary: a summary JSON from any version
    of archsim, or one written by hand, needs only SUMMARY_KEYS; and ``run --compare-gpu`` checks the run it
    is about to simulate (images, workload, exit policy; no figures yet). Units: J, images per second, us."""
    images: int
    workload: dict | str | None = None       # the summary's workload entry (arch, dataset, ...), or a name
    exit_policy: str | None = None
    threshold: float | None = None
    fps: float | None = None
    energy_j: float | None = None
    energy_per_image_j: float | None = None
    latency_us_mean: float | None = None
    hwconfig: dict | str | None = None

    @classmethod
    def of(cls, summary: dict) -> Accelerator:
        return cls(**{k: summary.get(k) for k in cls.__dataclass_fields__})


def check_summary(summary: Summary | dict | Accelerator, source: str = "summary") -> Accelerator:
    """The accelerator's side of an archsim summary (all of SUMMARY_KEYS, sane numbers); else a UserError.
    An Accelerator (load_summary's) has been checked already."""
    if isinstance(summary, Accelerator):
        return summary
    if isinstance(summary, Summary):
        summary = summary.to_dict()
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
    return Accelerator.of(summary)


def load_summary(path: str | Path) -> Accelerator:
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


def _norm(v) -> str:
    """'CIFAR-10' and 'cifar10' name the same data set; 'VGG16' and 'vgg16' the same network."""
    return "".join(ch for ch in str(v).lower() if ch.isalnum())


def _sides(acc: Accelerator, bench: dict, gpu_images: int | None) -> list[tuple[str, object, object]]:
    """(what, GPU's value, accelerator's value) for what both sides may record; None where a side does not."""
    wl = acc.workload if isinstance(acc.workload, dict) else {}
    gpu_imgs = bench.get("images") or gpu_images
    return [("network", bench.get("arch"), wl.get("arch")),
            ("dataset", bench.get("dataset"), wl.get("dataset")),
            ("images", gpu_imgs, acc.images),
            ("exit policy", bench.get("exit_policy"), acc.exit_policy),
            ("threshold", bench.get("threshold") if bench.get("exit_policy") not in (None, "fixed") else None,
             acc.threshold if acc.exit_policy not in (None, "fixed") else None)]


def check_like_for_like(acc: Accelerator, bench: dict, gpu_images: int | None, log_path: str,
                        allow: bool) -> tuple[list[str], list[str]]:
    """(mismatches, what could not be checked). A mismatch is a UserError unless ``allow``."""
    mismatches, unchecked = [], []
    for what, g, a in _sides(acc, bench, gpu_images):
        if g is None or a is None:
            if what != "threshold" or (bench.get("exit_policy") is None or acc.exit_policy is None):
                unchecked.append(what)
            continue
        same = (abs(float(g) - float(a)) < 1e-9) if what in ("images", "threshold") else _norm(g) == _norm(a)
        if not same:
            mismatches.append(f"{what} {g} on the GPU, {a} on the accelerator")
    if mismatches and not allow:
        field = mismatches[0].split(" ")[0] if not mismatches[0].startswith("exit policy") else "exit policy"
        raise UserError(log_path, field, "not the same run as the accelerator's: " + "; ".join(mismatches)
                        + " (simulate the same network, data set, images and exit policy, e.g. archsim run "
                          "--samples/--exit-policy/--threshold, or pass --allow-mismatch)")
    return mismatches, unchecked


def _gpu_images(bench: dict, gpu_images: int | None, acc_images: int, notes: list[str]) -> tuple[int, str]:
    """How many images the GPU ran and where that figure comes from (a note when it is assumed)."""
    if bench.get("images"):
        return int(bench["images"]), "the gpu_bench JSON"
    if gpu_images:
        return int(gpu_images), "given on the command line"
    notes.append(f"the log does not say how many images the GPU ran: assumed {acc_images}, the accelerator's "
                 f"(--gpu-images N to state it)")
    return acc_images, "assumed equal to the accelerator's"


def compare_with_log(summary: Summary | dict | Accelerator, log_path: str, idle: str = "subtract",
                     window: tuple[float, float] | None = None, *, idle_w: float | None = None,
                     gpus: list[int] | None = None, gpu_images: int | None = None,
                     summary_source: str = "summary", run: str | None = None, window_name: str | None = None,
                     allow_mismatch: bool = False, gpu_count: int | None = None) -> dict:
    """Compare an archsim summary with a GPU power log; a JSON-ready dict (printed by ``format_table``).

    What is integrated: ``window`` (start, end) in seconds on the log's timeline (0 = its first sample),
    else the run's window from the gpu_bench JSON, else the CodeCarbon run ``run`` / the Zeus windows named
    ``window_name``, else the whole log (every run and window once; archsim.gpu.integrate.select).
    ``idle``: 'subtract' or 'keep'. ``idle_w``: the idle draw (W) to subtract, overriding what the log tells.
    ``gpus``: GPU indices to count (default all). Network, data set, images and exit policy must agree where
    both sides record them, unless ``allow_mismatch`` (then the result says so). ``gpu_count``: GPUs per
    poll of a log that tells them apart only by row order (``--gpus N``; default inferred).
    """
    acc = check_summary(summary, summary_source)
    log = read_power_log(log_path, gpu_count)
    gpus = select_gpus(log, gpus)
    notes = list(log.notes)
    bench = log.bench or {}
    mismatches, unchecked = check_like_for_like(acc, bench, gpu_images, str(log.path), allow_mismatch)
    sel = select(log, gpus, window=window, run=run, window_name=window_name)
    notes += sel.notes
    we = integrate_pieces(log, sel.pieces)
    idle_info = idle_power(log, we.start_s, gpus, idle_w)
    energy, removed = apply_idle(log, we, idle, idle_info)

    images, images_from = _gpu_images(bench, gpu_images, int(acc.images), notes)
    if bench.get("fps") and window is None:
        fps = float(bench["fps"])
    else:
        fps = images / we.duration_s
    if images != int(acc.images):
        notes.append(f"the GPU ran {images} images and the accelerator {acc.images}: compared per image")
    if mismatches:
        notes.insert(0, "MISMATCH, compared anyway (--allow-mismatch): " + "; ".join(mismatches))
    if unchecked:
        notes.append("not checked, one side does not record it: " + ", ".join(unchecked))
    gpu_epi = energy / images
    acc_epi = float(acc.energy_per_image_j) if acc.energy_per_image_j else acc.energy_j / acc.images
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
            "gpus_from": log.gpus_from, "gpu_count_given": gpu_count,
            "sample": bool(bench.get("sample", False)),
            "window_s": [we.start_s, we.end_s], "window_from": sel.how, "duration_s": we.duration_s,
            "pieces": [{"gpu": pc.gpu, "segment": pc.segment, "start_s": pc.start_s, "end_s": pc.end_s}
                       for pc in sel.pieces],
            "segments": segment_report(log, gpus, sel),
            "samples_in_window": we.samples, "images": images, "images_from": images_from, "fps": fps,
            "energy_j": energy, "energy_per_image_j": gpu_epi, "energy_idle_kept_j": we.energy_j,
            "energy_per_gpu_idle_kept_j": {str(k): v for k, v in we.per_gpu_j.items()},
            "mean_power_w": we.mean_power_w, "counter_energy_idle_kept_j": counter,
        },
        "idle": {"mode": idle, "idle_w": idle_info[0] if idle_info else None,
                 "source": idle_info[1] if idle_info else None, "removed_j": removed},
        "accelerator": {
            "summary": summary_source, "images": int(acc.images), "fps": float(acc.fps),
            "energy_j": float(acc.energy_j), "energy_per_image_j": acc_epi,
            "latency_us_mean": acc.latency_us_mean, "hwconfig": _label(acc.hwconfig),
            "workload": _label(acc.workload), "exit_policy": acc.exit_policy,
            "threshold": acc.threshold,
        },
        "comparison": {"energy_pct_of_gpu": pct, "fps_ratio": float(acc.fps) / fps},
        "mismatch": mismatches,
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
        + ("  [SAMPLE, not a measurement]" if g["sample"] else "")
        + ("  [MISMATCH: not the same run, see notes]" if result.get("mismatch") else ""),
        f"GPU log      {g['log']} ({g['format']}; {gpu_desc})",
        _window_line(g),
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
    if g.get("segments"):
        lines += ["", f"runs/windows in the log ({len(g['segments'])}; GPU energy idle kept):"]
        for sg in g["segments"]:
            lines.append(f"  {sg['kind']:<7}{sg['name'][:36]:<38}{sg['start_s']:>10.3f} .. {sg['end_s']:<10.3f} s"
                         f"{_num(sg['energy_j']):>12} J  {sg['status']}")
    if result["notes"]:
        lines += ["", "notes:"] + [f"  - {n}" for n in result["notes"]]
    return "\n".join(lines)


def _window_line(g: dict) -> str:
    pieces = g.get("pieces") or []
    if len({(p["segment"]) for p in pieces}) > 1 or len({(p["start_s"], p["end_s"]) for p in pieces}) > 1:
        return (f"window       {g['window_from']}: {g['duration_s']:.3f} s of "
                f"{g['window_s'][0]:.3f} .. {g['window_s'][1]:.3f} s of the log")
    return (f"window       {g['window_s'][0]:.3f} .. {g['window_s'][1]:.3f} s of the log = {g['duration_s']:.3f} s: "
            f"{g['window_from']}")

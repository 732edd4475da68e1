"""``python -m snn.gpu_bench``: nvidia-smi's CSV layout (read by ``nvidia_smi``) with a JSON beside it (same
stem, ``.json``, naming the CSV in ``power_log``), or that JSON itself. The JSON gives the run's window,
idle power, images, FPS, and what ran (arch, dataset, exit policy, threshold).
"""
from __future__ import annotations

import json
from pathlib import Path

from archsim.errors import UserError
from archsim.gpu.formats import nvidia_smi
from archsim.gpu.formats.common import PowerLog, first_line, read_text

NAME = "gpu_bench"
ORDER = 10          # before nvidia-smi: its CSV is an nvidia-smi CSV with a JSON beside it
DESCRIPTION = "gpu_bench CSV/JSON"
BENCH_TOOL = "snn.gpu_bench"  # the "tool" key of a gpu_bench JSON
# Every gpu_bench JSON has these keys (snn/gpu_bench.py documents them; null where not measured).
BENCH_KEYS = ("tool", "sample", "note", "command", "created", "checkpoint", "arch", "dataset", "device",
              "gpu_name", "gpu_index", "precision", "images", "batch_size", "exit_policy", "threshold",
              "max_timesteps", "avg_timesteps", "timesteps_needed", "timesteps_computed", "adaptive_exit",
              "accuracy", "wall_s", "fps", "energy_j", "energy_per_image_j", "idle_w", "idle_s", "power_log",
              "sample_hz", "samples", "window", "torch_version")


# gpu_bench samples one GPU (its JSON's gpu_index), so its CSV is never split by poll order: a starved
# sampler thread can write two rows within one millisecond, which must not read as a second GPU.
ONE_GPU = 1


def sniff(path: Path, text: str) -> bool:
    if first_line(text).startswith(("{", "[")):
        return True     # any JSON: read() says whether it is a gpu_bench result
    return nvidia_smi.sniff(path, text) and bench_beside(path) is not None


def read(p: Path, text: str) -> PowerLog:
    if not first_line(text).startswith(("{", "[")):
        log = nvidia_smi.read(p, text, gpu_count=ONE_GPU)
        log.format, log.bench = NAME, bench_beside(p)
        return log
    try:
        meta = json.loads(text)
    except ValueError as err:
        raise UserError(str(p), "json", f"not valid JSON ({err})") from None
    if not isinstance(meta, dict) or meta.get("tool") != BENCH_TOOL:
        from archsim.gpu.formats import KNOWN
        raise UserError(str(p), "format", f"a JSON file that is not a gpu_bench result (no \"tool\": "
                        f"\"{BENCH_TOOL}\"); power logs: {KNOWN}")
    if not meta.get("power_log"):
        raise UserError(str(p), "power_log", f"no power figures: gpu_bench ran on {meta.get('device', 'cpu')}")
    csv_path = p.parent / Path(meta["power_log"]).name
    if not csv_path.is_file():
        raise UserError(str(p), "power_log", f"its power log {csv_path} does not exist")
    text, notes = read_text(csv_path, DESCRIPTION)
    log = nvidia_smi.read(csv_path, text, gpu_count=ONE_GPU)
    log.format, log.bench, log.notes = NAME, meta, notes + log.notes
    return log


def bench_beside(csv_path: Path) -> dict | None:
    """The gpu_bench JSON written beside this CSV, if there is one that names it."""
    js = Path(csv_path).with_suffix(".json")
    if not js.is_file():
        return None
    try:
        meta = json.loads(js.read_text())
    except (OSError, ValueError):
        return None
    if isinstance(meta, dict) and meta.get("tool") == BENCH_TOOL and meta.get("power_log") == Path(csv_path).name:
        return meta
    return None

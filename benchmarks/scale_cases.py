"""The networks and chips of issue 31's scale table, built the same way by benchmarks/scale.py and
benchmarks/profile_setup.py.

A case is a synthetic VGG16 (archsim.synthetic, ~0.1 spikes per neuron per timestep, T = 4) at an input
size, on hwconfigs/default.yaml (or the case's ``config``) with its mesh resized and, for ImageNet sizes,
the mapping's neuron split (Loihi's way: chunks of at most ``max_neurons`` neurons per core); a system of
chips (``chip_rows`` x ``chip_cols`` chips of rows x cols cores, hwconfig ``mesh.chips``) when it says so.
"""
from __future__ import annotations

import copy
import resource
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archsim.hwconfig import HwConfig  # noqa: E402
from archsim.hwconfig.load import config_from_dict  # noqa: E402
from archsim.synthetic import synthetic_workload  # noqa: E402
from archsim.workload import Workload  # noqa: E402


@dataclass(frozen=True)
class Case:
    name: str
    size: int                  # input height = width (pixels)
    rows: int                  # mesh rows x cols (cores)
    cols: int
    samples: int
    mode: str                  # simpy | analytic
    classes: int = 10
    max_neurons: int | None = None   # mapping.split: neurons with this cap; None: the default channel split
    chip_rows: int = 1               # a grid of chips, each a rows x cols mesh (mesh.chips)
    chip_cols: int = 1
    config: str = "default.yaml"     # the hwconfig under hwconfigs/ the case starts from

    @property
    def cores(self) -> int:
        return self.rows * self.cols * self.chip_rows * self.chip_cols

    def to_dict(self) -> dict:
        return asdict(self)


# issue 31's table (+ the 224x224 run for 100 samples in both modes, its target)
TABLE = [
    Case("32_4x8_1000_simpy", 32, 4, 8, 1000, "simpy"),
    Case("32_16x16_1000_simpy", 32, 16, 16, 1000, "simpy"),
    Case("64_16x16_100_simpy", 64, 16, 16, 100, "simpy"),
    Case("64_16x16_1000_analytic", 64, 16, 16, 1000, "analytic"),
    Case("128_16x16_200_simpy", 128, 16, 16, 200, "simpy"),
    Case("224_64x64_100_analytic", 224, 64, 64, 100, "analytic", classes=1000, max_neurons=4096),
    Case("224_64x64_100_simpy", 224, 64, 64, 100, "simpy", classes=1000, max_neurons=4096),
    # the same 4,096 cores as 32 chips (8 x 4) of 128 (16 x 8), chip-to-chip links between them
    Case("224_32chips_8x16_100_analytic", 224, 8, 16, 100, "analytic", classes=1000, max_neurons=4096,
         chip_rows=4, chip_cols=8, config="multichip_8x4x128.yaml"),
]
CASES = {c.name: c for c in TABLE}


def hwconfig(case: Case) -> HwConfig:
    """The case's hwconfig (hwconfigs/default.yaml unless it says otherwise) with its mesh (chips, neuron
    split)."""
    path = ROOT / "hwconfigs" / case.config
    raw = copy.deepcopy(yaml.safe_load(path.read_text()))
    raw["mesh"].update(rows=case.rows, cols=case.cols)
    if case.chip_rows * case.chip_cols > 1:
        raw["mesh"]["chips"] = {**(raw["mesh"].get("chips") or {}), "rows": case.chip_rows, "cols": case.chip_cols}
    if case.max_neurons is not None:
        raw.setdefault("mapping", {})
        raw["mapping"] = {**(raw["mapping"] or {}), "split": "neurons", "max_neurons_per_core": case.max_neurons}
    return config_from_dict(raw, f"{path}[{case.name}]", path.parent)


def workload(case: Case, seed: int = 0) -> Workload:
    return synthetic_workload("vgg16", case.samples, 4, seed, classes=case.classes,
                              input_shape=(3, case.size, case.size))


def peak_rss_mb() -> float:
    """This process's peak resident memory (MB; Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

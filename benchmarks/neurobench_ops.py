"""archsim's synaptic operations against NeuroBench's effective operations, on the same images.

    pip install --no-deps neurobench==2.3.0      # its metric code only; torch stays as installed
    python benchmarks/neurobench_ops.py --checkpoint models/small_c10.pt \
        --data-dir ../shared/datasets/cifar10-jpeg.tar.gz --images 100 --out results/neurobench_ops.json

1. NeuroBench 2.3.0 (``neurobench.metrics.workload.SynapticOperations`` on ``neurobench.models.TorchModel``)
   counts, for every Conv2d and Linear call, the (non-zero input, non-zero weight) pairs that feed each
   output; pooling counts nothing, so a layer after average pooling sees a pooled cell once, not its spikes.
   It runs our network as trained (all T timesteps, the first layer once per image: direct encoding).
2. ``snn.export`` writes the same images with per-neuron records; ``archsim run`` counts accumulates + MACs
   at a fixed T with ``dataflow.pooling: per_cell`` (one event per pooled cell that fired) and with the
   default ``per_spike`` (each spike of a cell on its own, what a spike-driven core does).
The first should equal NeuroBench's count (Effective_MACs + Effective_ACs) to the operation.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from snn.checkpoint import load_model  # noqa: E402
from snn.data import DeviceData, load_dataset, test_indices  # noqa: E402


def neurobench_ops(model, x: torch.Tensor) -> dict:
    from neurobench.metrics.workload import SynapticOperations
    from neurobench.models import TorchModel
    m = TorchModel(model)
    m.register_hooks()
    with torch.no_grad():
        out = m(x)
    r = SynapticOperations()(m, out, (x, None))
    m.cleanup_hooks()
    return {k: float(v) * len(x) for k, v in r.items()}        # NeuroBench divides by the batch size


def archsim_ops(workload: Path, pooling: str) -> int:
    from archsim.simulate import run_simulation
    from archsim.workload import load_workload
    from benchmarks.accelerator_ablation import hwconfig
    hw = hwconfig({"dataflow.pooling": pooling})
    s = run_simulation(hw, load_workload(workload), exit_policy="fixed", mode="analytic", baseline=False).summary
    return int(s.counts["accumulates"] + s.counts["macs"])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", default="models/small_c10.pt")
    p.add_argument("--data-dir", required=True)
    p.add_argument("--images", type=int, default=100)
    p.add_argument("--out", default="results/neurobench_ops.json")
    a = p.parse_args()
    torch.set_num_threads(1)
    model, cfg = load_model(a.checkpoint)
    ds = load_dataset(a.data_dir, cfg["dataset"], timesteps=cfg["timesteps"])
    idx = test_indices(len(ds.test_y), a.images)
    x, _ = next(DeviceData(ds.test_x[idx], ds.test_y[idx], ds.mean, ds.std, "cpu").batches(a.images))
    nb = neurobench_ops(model.eval(), x)
    with tempfile.TemporaryDirectory() as tmp:
        wl = Path(tmp) / "wl.npz"
        subprocess.run([sys.executable, "-m", "snn.export", a.checkpoint, "--data-dir", a.data_dir,
                        "--max-samples", str(a.images), "--neuron-samples", str(a.images), "--exit-policy", "fixed",
                        "--num-threads", "1", "--out", str(wl)], check=True, cwd=ROOT)
        per_cell, per_spike = archsim_ops(wl, "per_cell"), archsim_ops(wl, "per_spike")
    total = nb["Effective_MACs"] + nb["Effective_ACs"]
    res = {"images": a.images, "checkpoint": a.checkpoint, "neurobench_version": "2.3.0",
           "neurobench": nb, "neurobench_effective_total": total,
           "archsim_per_cell": per_cell, "archsim_per_spike": per_spike,
           "per_cell_minus_neurobench": per_cell - total, "per_spike_over_neurobench": per_spike / total,
           "command": "python benchmarks/neurobench_ops.py " + " ".join(sys.argv[1:])}
    Path(ROOT / a.out).write_text(json.dumps(res, indent=2) + "\n")
    print(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

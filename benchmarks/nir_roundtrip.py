"""Our trained ``small`` through NIR and back, measured against the direct export on all test images.

    python benchmarks/nir_roundtrip.py [--checkpoint models/small_c10.pt] [--direct workloads/small_c10.npz]
        [--data-dir ../shared/datasets/cifar10-jpeg.tar.gz] [--json results/nir_roundtrip_small_c10.json]

1. ``python -m snn.nir export`` the checkpoint (BatchNorm folded) and ``python -m snn.nir import`` it with
   the exit policy, threshold and images of the direct workload (``python -m snn.export``'s);
2. compares the two workloads: spike counts per (image, layer, timestep), predictions, exits, accuracy;
3. runs our own network with the same folded weights over the same images: the NIR path must equal it
   bit for bit (what is left against the direct export is the float rounding of folding BatchNorm);
4. with SpikingJelly installed, runs the exported file through SpikingJelly's own NIR importer on the
   first ``--sj-images`` images and compares its output and spikes with ours.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from benchmarks.common import run  # noqa: E402
from snn.nir.export import fold_batchnorm  # noqa: E402




def spikingjelly_check(nir_path: Path, model, x: torch.Tensor, timesteps: int) -> dict | None:
    try:
        from spikingjelly.activation_based import neuron
        from spikingjelly.activation_based.nir_exchange import import_from_nir
    except ImportError:
        return None
    from snn.models import record_spikes
    theirs = import_from_nir(str(nir_path), dt=1e-4)
    spikes: dict[str, list] = {}
    for name, mod in theirs.named_modules():
        if isinstance(getattr(mod, "module", None), neuron.LIFNode):
            mod.register_forward_hook(lambda _m, _i, o, name=name: spikes.setdefault(name, []).append(
                o[0].flatten(1).sum(1)))
    state, outs = None, []
    with torch.no_grad(), record_spikes(model) as ours:
        for _ in range(timesteps):
            y, state = theirs(x, state)
            outs.append(y)
        ref = model(x)
    same_spikes = [bool(torch.equal(torch.stack(s), t)) for s, t in zip(spikes.values(), ours.totals())]
    return {"images": int(x.shape[0]), "outputs_identical": bool(torch.equal(torch.stack(outs), ref)),
            "spikes_identical_per_layer": dict(zip(spikes, same_spikes)),
            "spikes": int(sum(float(torch.stack(s).sum()) for s in spikes.values()))}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", default="models/small_c10.pt")
    p.add_argument("--direct", default="workloads/small_c10.npz", help="the direct export to compare with")
    p.add_argument("--data-dir", default=str(REPO.parent / "shared/datasets/cifar10-jpeg.tar.gz"))
    p.add_argument("--json", default="results/nir_roundtrip_small_c10.json")
    p.add_argument("--sj-images", type=int, default=1000)
    a = p.parse_args()
    torch.set_num_threads(1)
    from archsim.workload import load_workload
    from snn.checkpoint import load_model
    from snn.data import DeviceData, load_dataset, test_indices
    from snn.inference import collect
    from snn import exit_policy as xp

    direct = load_workload(REPO / a.direct)
    T, th, n = direct.timesteps, direct.meta["threshold"], direct.n_samples
    tmp = Path(tempfile.mkdtemp(prefix="nir_roundtrip_"))
    py = sys.executable
    t0 = time.time()
    exp = run([py, "-m", "snn.nir", "export", a.checkpoint, "--out", str(tmp / "small.nir")])
    imp_cmd = [py, "-m", "snn.nir", "import", str(tmp / "small.nir"), "--data-dir", a.data_dir,
               "--timesteps", str(T), "--exit-policy", direct.meta["exit_policy"], "--threshold", str(th),
               "--num-threads", "1", "--out", str(tmp / "small_nir.npz")]
    if direct.meta.get("test_subset", "all") != "all":
        imp_cmd += ["--max-samples", str(n)]
    imp = run(imp_cmd)
    wall = time.time() - t0
    back = load_workload(tmp / "small_nir.npz")

    diff = back.spikes.astype(np.int64) - direct.spikes
    cmp_direct = {
        "spike_entries": int(diff.size), "spike_entries_equal": int((diff == 0).sum()),
        "spike_entries_equal_pct": 100.0 * float((diff == 0).mean()),
        "max_abs_difference": int(np.abs(diff).max()), "total_spikes_direct": int(direct.spikes.sum()),
        "total_spikes_nir": int(back.spikes.sum()),
        "relative_total_difference": float(abs(int(back.spikes.sum()) - int(direct.spikes.sum())) / direct.spikes.sum()),
        "predictions_equal": bool(np.array_equal(back.predictions, direct.predictions)),
        "predictions_differing": int((back.predictions != direct.predictions).sum()),
        "exits_equal": bool(np.array_equal(back.exit_timestep, direct.exit_timestep)),
        "labels_equal": bool(np.array_equal(back.labels, direct.labels)),
        "graph_nodes_equal": back.layers == direct.layers,
        "accuracy": {"direct_fixed_T": direct.meta["fixed_T_accuracy"], "nir_fixed_T": back.meta["fixed_T_accuracy"],
                     "direct_adaptive": direct.meta["adaptive_accuracy"], "nir_adaptive": back.meta["adaptive_accuracy"],
                     "direct_avg_timesteps": direct.meta["avg_timesteps"], "nir_avg_timesteps": back.meta["avg_timesteps"]},
    }
    print(json.dumps(cmp_direct, indent=1), flush=True)

    # our own network with the same folded weights, same images, same order
    model, cfg = load_model(REPO / a.checkpoint)
    model.set_fused(True, compile=False)
    ref_model = fold_batchnorm(model)
    ds = load_dataset(a.data_dir, "cifar10")
    idx = test_indices(len(ds.test_y), 0 if direct.meta.get("test_subset", "all") == "all" else n)
    data = DeviceData(ds.test_x[idx], ds.test_y[idx], ds.mean, ds.std, "cpu")
    g = ref_model.describe(tuple(cfg["input_shape"]))
    col = collect(ref_model, data, 500, record=True, graph=g)
    cmp_folded = {"spikes_identical": bool(np.array_equal(col.spikes, back.spikes)),
                  "predictions_identical": bool(np.array_equal(xp.predictions(col.out).numpy(), back.predictions)),
                  "scores_identical": all(bool(np.array_equal(v.numpy(), back.scores[k]))
                                          for k, v in xp.scores(col.out).items())}
    print(json.dumps(cmp_folded), flush=True)
    x, _ = next(data.batches(a.sj_images))
    sj = spikingjelly_check(tmp / "small.nir", ref_model, x, T)
    print(json.dumps(sj), flush=True)
    from importlib.metadata import version
    doc = {"what": "models/small_c10.pt -> snn.nir export -> snn.nir import, against the direct export "
                   f"{a.direct} (python -m snn.export) on the same {n} CIFAR-10 test images",
           "command": " ".join(["python", "benchmarks/nir_roundtrip.py"] + sys.argv[1:]),
           "versions": {"nir": version("nir"), "nirtorch": version("nirtorch"), "torch": torch.__version__},
           "export_printed": exp, "import_command": " ".join(["python"] + imp_cmd[1:]).replace(str(tmp), "TMP"),
           "import_printed": imp.replace(str(tmp), "TMP"), "export_and_import_wall_s": round(wall, 1),
           "nir_bytes": (tmp / "small.nir").stat().st_size,
           "vs_direct_export": cmp_direct, "vs_our_network_with_the_same_folded_weights": cmp_folded,
           "spikingjelly_importer_on_our_export": sj,
           "note": "the direct export runs conv then BatchNorm, the NIR file holds BatchNorm folded into the conv: "
                   "the input currents differ in the last float bits, so a neuron exactly at its threshold can flip; "
                   "against our network with the same folded weights the NIR path is bit-identical"}
    out = REPO / a.json
    out.write_text(json.dumps(doc, indent=2) + "\n")
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"wrote {a.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

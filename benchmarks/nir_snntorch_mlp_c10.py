"""Bring your own network, the README's example: a few lines of snnTorch -> NIR -> ``archsim run``.

    python benchmarks/nir_snntorch_mlp_c10.py [--data-dir ../shared/datasets/cifar10-jpeg.tar.gz]
        [--epochs 1] [--nir models/snntorch_mlp_c10.nir] [--workload workloads/snntorch_mlp_c10.npz]
        [--json results/nir_snntorch_mlp_c10.json]

An snnTorch MLP (3072 -> 256 Leaky -> 10 readout, T = 4) trained briefly on CIFAR-10 (one CPU thread),
exported with snnTorch's own ``export_to_nir``, imported with ``python -m snn.nir import`` and simulated
with ``python -m archsim run hwconfigs/default.yaml``. snnTorch 1.0.0 + nir 1.0.8: give ``beta`` and
``threshold`` one value per neuron (with scalars nir's type check fails) and use ``reset_mechanism="zero"``
(NIR's LIF resets to v_reset; snnTorch's default subtraction would export as a hard reset anyway).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import torch  # noqa: E402

from benchmarks.common import run  # noqa: E402




def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", default=str(REPO.parent / "shared/datasets/cifar10-jpeg.tar.gz"))
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--timesteps", type=int, default=4)
    p.add_argument("--nir", default="models/snntorch_mlp_c10.nir")
    p.add_argument("--workload", default="workloads/snntorch_mlp_c10.npz")
    p.add_argument("--json", default="results/nir_snntorch_mlp_c10.json")
    a = p.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    T = a.timesteps

    # ---- the example: snnTorch code ---------------------------------------------------------------
    import nir
    import snntorch as snn
    from snntorch import utils
    from snntorch.export_nir import export_to_nir
    from snn.data import DeviceData, load_dataset

    ds = load_dataset(a.data_dir, "cifar10")                       # CIFAR-10 as our trainer reads it
    train = DeviceData(ds.train_x, ds.train_y, ds.mean, ds.std, "cpu")
    net = torch.nn.Sequential(
        torch.nn.Linear(3072, 256),
        snn.Leaky(beta=torch.full((256,), 0.5), threshold=torch.ones(256), reset_mechanism="zero", init_hidden=True),
        torch.nn.Linear(256, 10))                                  # readout: its input current, no neuron
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    t0 = time.time()
    for _ in range(a.epochs):
        for x, y in train.batches(128, shuffle=True):
            utils.reset(net)
            out = torch.stack([net(x.flatten(1)) for _ in range(T)]).mean(0)
            loss = torch.nn.functional.cross_entropy(out, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    train_s = time.time() - t0
    nir.write(REPO / a.nir, export_to_nir(net, torch.zeros(3072)))
    # ---- then the two commands ---------------------------------------------------------------------
    py = sys.executable
    imp = [py, "-m", "snn.nir", "import", a.nir, "--data-dir", a.data_dir, "--timesteps", str(T),
           "--out", a.workload, "--num-threads", "1"]
    imp_out = run(imp).strip()
    sim = [py, "-m", "archsim", "run", "hwconfigs/default.yaml", a.workload]
    report = run(sim)
    summary = json.loads(run(sim + ["--json"]))
    from importlib.metadata import version
    doc = {"what": "an snnTorch MLP trained on CIFAR-10, exported with snnTorch's export_to_nir, imported with "
                   "snn.nir and simulated with archsim",
           "command": " ".join(["python", "benchmarks/nir_snntorch_mlp_c10.py"] + sys.argv[1:]),
           "versions": {"snntorch": version("snntorch"), "nir": version("nir"), "nirtorch": version("nirtorch"),
                        "torch": torch.__version__},
           "training": {"epochs": a.epochs, "batch_size": 128, "optimizer": "Adam lr 1e-3", "wall_s": round(train_s, 1),
                        "threads": 1, "seed": 0, "final_loss": float(loss.detach())},
           "import": {"command": " ".join(["python"] + imp[1:]), "printed": imp_out},
           "archsim": {"command": " ".join(["python"] + sim[1:]), "summary": summary, "report": report}}
    (REPO / a.json).write_text(json.dumps(doc, indent=2, default=str) + "\n")
    print(imp_out)
    print(report)
    print(f"wrote {a.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

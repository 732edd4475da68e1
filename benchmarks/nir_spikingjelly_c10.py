"""A network trained in another library reaches the simulator through NIR (issue 22's measured run).

    python benchmarks/nir_spikingjelly_c10.py --data-dir ../shared/datasets/cifar10-jpeg.tar.gz \
        [--epochs 1 --max-minutes 8 --timesteps 4] [--nir models/spikingjelly_c10.nir]
        [--workload workloads/spikingjelly_c10.npz] [--json results/nir_spikingjelly_c10.json]

1. trains, in SpikingJelly 2.0.0 (multi-step, its own LIFNode, surrogate gradients, BPTT), the same
   shapes as our ``small``: 3 x (conv3x3 -> BatchNorm -> LIF -> AvgPool 2) with 32/64/128 channels, then a
   Linear readout without a neuron (cross-entropy on the mean output over T), briefly, on one CPU thread,
   on real CIFAR-10 (read and augmented by snn.data as our trainer does);
2. folds BatchNorm into the convolutions (torch.nn.utils.fusion) and exports the network with
   SpikingJelly's own NIR exporter (``spikingjelly.activation_based.nir_exchange.export_to_nir``);
3. imports the .nir with ``python -m snn.nir import`` (all 10,000 test images) and simulates it with
   ``python -m archsim run hwconfigs/default.yaml``;
4. writes every figure (training time, SpikingJelly's own test accuracy, the imported network's
   accuracy, spikes per image, archsim's FPS, latency and energy) with the commands to ``--json``.

Needs spikingjelly==2.0.0 (installed with ``pip install --no-deps spikingjelly==2.0.0 loguru``: its
declared torchvision/torchaudio would replace torch), nir==1.0.8 and nirtorch==2.6.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from benchmarks.common import run  # noqa: E402
from torch import nn  # noqa: E402


def network(timesteps: int):
    from spikingjelly.activation_based import functional, layer, neuron, surrogate
    mods: list[nn.Module] = []
    c = 3
    for width in (32, 64, 128):
        mods += [layer.Conv2d(c, width, 3, padding=1, bias=False), layer.BatchNorm2d(width),
                 neuron.LIFNode(tau=2.0, surrogate_function=surrogate.ATan(), detach_reset=True),
                 layer.AvgPool2d(2)]
        c = width
    mods += [layer.Flatten(), layer.Linear(128 * 4 * 4, 10)]
    net = nn.Sequential(*mods)
    functional.set_step_mode(net, "m")
    return net


def fold_batchnorm(net: nn.Sequential) -> nn.Sequential:
    """Conv + BatchNorm -> one Conv with bias (NIR has no BatchNorm node)."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval
    from spikingjelly.activation_based import functional, layer
    mods = list(net.eval())
    out = []
    for i, m in enumerate(mods):
        if isinstance(m, layer.BatchNorm2d):
            continue
        if isinstance(m, layer.Conv2d) and i + 1 < len(mods) and isinstance(mods[i + 1], layer.BatchNorm2d):
            m = fuse_conv_bn_eval(m, mods[i + 1])
        out.append(m)
    folded = nn.Sequential(*out)
    functional.set_step_mode(folded, "m")
    return folded


def evaluate(net, data, timesteps: int, batch: int = 500) -> float:
    from spikingjelly.activation_based import functional
    net.eval()
    correct = n = 0
    with torch.no_grad():
        for x, y in data.batches(batch):
            functional.reset_net(net)
            out = net(x.unsqueeze(0).repeat(timesteps, 1, 1, 1, 1)).mean(0)
            correct += int((out.argmax(1) == y).sum())
            n += len(y)
    functional.reset_net(net)
    return correct / n




def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", default=str(REPO.parent / "shared/datasets/cifar10-jpeg.tar.gz"))
    p.add_argument("--timesteps", type=int, default=4)
    p.add_argument("--epochs", type=float, default=1.0, help="passes over the 50,000 training images")
    p.add_argument("--max-minutes", type=float, default=8.0, help="stop training after this wall time")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--nir", default="models/spikingjelly_c10.nir")
    p.add_argument("--workload", default="workloads/spikingjelly_c10.npz")
    p.add_argument("--json", default="results/nir_spikingjelly_c10.json")
    p.add_argument("--hwconfig", default="hwconfigs/default.yaml")
    a = p.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    from importlib.metadata import version
    from spikingjelly.activation_based import functional
    from spikingjelly.activation_based.nir_exchange import export_to_nir
    from snn.data import DeviceData, load_dataset

    ds = load_dataset(a.data_dir, "cifar10")
    train = DeviceData(ds.train_x, ds.train_y, ds.mean, ds.std, "cpu")
    test = DeviceData(ds.test_x, ds.test_y, ds.mean, ds.std, "cpu")
    net = network(a.timesteps)
    steps = int(a.epochs * len(train) / a.batch_size)
    opt = torch.optim.SGD(net.parameters(), lr=a.lr, momentum=0.9, weight_decay=5e-4, nesterov=True)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, total_steps=steps, pct_start=0.15)
    gen = torch.Generator().manual_seed(a.seed)
    t0, step, losses = time.time(), 0, []
    net.train()
    while step < steps and time.time() - t0 < 60 * a.max_minutes:
        for x, y in train.batches(a.batch_size, shuffle=True, augment=True, gen=gen):
            out = net(x.unsqueeze(0).repeat(a.timesteps, 1, 1, 1, 1)).mean(0)
            loss = nn.functional.cross_entropy(out, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            functional.reset_net(net)
            losses.append(float(loss.detach()))
            step += 1
            if step % 50 == 0:
                print(f"step {step}/{steps}  loss {np.mean(losses[-50:]):.3f}  {time.time() - t0:.0f} s", flush=True)
            if step >= steps or time.time() - t0 >= 60 * a.max_minutes:
                break
    train_s = time.time() - t0
    folded = fold_batchnorm(net)
    t1 = time.time()
    acc_sj = evaluate(folded, test, a.timesteps)
    eval_s = time.time() - t1
    print(f"trained {step} steps ({step * a.batch_size / len(train):.2f} epochs) in {train_s:.0f} s; "
          f"SpikingJelly's own test accuracy (BN folded, T={a.timesteps}): {100 * acc_sj:.2f}%", flush=True)
    nir_path = REPO / a.nir
    nir_path.parent.mkdir(parents=True, exist_ok=True)
    export_to_nir(folded, torch.zeros(a.timesteps, 1, *ds.input_shape), str(nir_path))

    py = sys.executable
    imp = [py, "-m", "snn.nir", "import", a.nir, "--data-dir", a.data_dir, "--dataset", "cifar10",
           "--timesteps", str(a.timesteps), "--out", a.workload, "--num-threads", "1"]
    imp_out = run(imp).strip()
    sim = [py, "-m", "archsim", "run", a.hwconfig, a.workload]
    report = run(sim)
    summary = json.loads(run(sim + ["--json"]))
    from archsim.workload import load_workload
    wl = load_workload(REPO / a.workload)
    per_image_all_t = float(wl.spikes.sum() / wl.n_samples)
    doc = {
        "what": "a SpikingJelly-trained CIFAR-10 network, exported with SpikingJelly's own NIR exporter, "
                "imported with snn.nir and simulated with archsim",
        "command": " ".join(["python", "benchmarks/nir_spikingjelly_c10.py"] + sys.argv[1:]),
        "versions": {"spikingjelly": version("spikingjelly"), "nir": version("nir"), "nirtorch": version("nirtorch"),
                     "torch": torch.__version__},
        "network": "SpikingJelly: 3 x (Conv3x3 [bias-free] + BatchNorm2d + LIFNode(tau=2, ATan, detach_reset) + "
                   "AvgPool2d 2), 32/64/128 channels; Flatten; Linear(2048 -> 10) readout without a neuron; "
                   "multi-step, T = %d, BatchNorm folded before export" % a.timesteps,
        "training": {"steps": step, "epochs": round(step * a.batch_size / len(train), 3), "batch_size": a.batch_size,
                     "optimizer": f"SGD nesterov momentum 0.9, wd 5e-4, one-cycle max lr {a.lr}",
                     "augmentation": "random crop (pad 4) + horizontal flip (snn.data)", "wall_s": round(train_s, 1),
                     "threads": 1, "seed": a.seed, "final_loss_mean_last_50": float(np.mean(losses[-50:]))},
        "spikingjelly_test_accuracy": acc_sj, "spikingjelly_eval_s": round(eval_s, 1),
        "nir_file": a.nir, "nir_bytes": nir_path.stat().st_size,
        "import": {"command": " ".join(["python"] + imp[1:]), "printed": imp_out,
                   "fixed_T_accuracy": wl.meta["fixed_T_accuracy"], "adaptive_accuracy": wl.meta["adaptive_accuracy"],
                   "exit_policy": wl.meta["exit_policy"], "threshold": wl.meta["threshold"],
                   "avg_timesteps": wl.meta["avg_timesteps"], "n_samples": wl.n_samples,
                   "spikes_per_image_all_T": per_image_all_t,
                   "spikes_per_image_per_layer_all_T": {n: float(wl.spikes[:, i].sum() / wl.n_samples)
                                                        for i, n in enumerate(wl.layers)}},
        "workload": a.workload, "workload_bytes": (REPO / a.workload).stat().st_size,
        "archsim": {"command": " ".join(["python"] + sim[1:]), "summary": summary, "report": report},
    }
    out = REPO / a.json
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    print(report)
    print(f"wrote {a.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

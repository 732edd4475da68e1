"""Make the trained validation network: the head of our trained ``small`` ATSNN on real CIFAR-10 spikes.

    python workloads/validation/make_small_c10_head.py --data-dir ../shared/datasets/cifar10-jpeg.tar.gz

Writes, beside this script: ``small_c10_head.yaml`` (the network), ``small_c10_head_weights.npz`` (the
trained classifier's weights) and ``small_c10_head_spikes.npz`` (``spikes`` [20, 4, 8192]: which of
conv3's 128 x 8 x 8 neurons fired at each of the 4 timesteps, on the first 20 test images of the seeded
order snn.data.test_indices). In SANA-FE those spikes are the input population and the classifier
(2x2 average pooling, linear 2,048 -> 10) is a layer of LIF neurons.

Why only the head: SANA-FE's Python API holds about 2.6 KB per connection (measured: 2.6 GB for 10^6),
and the full ``small`` has 33 M synapses; the head's 82 k are what fits beside the rest of the work.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
import yaml

from snn.checkpoint import load_model
from snn.data import DeviceData, load_dataset, test_indices
from snn.models.base import lif_layers

HERE = Path(__file__).resolve().parent


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", default="models/small_c10.pt")
    p.add_argument("--data-dir", required=True)
    p.add_argument("--samples", type=int, default=20)
    a = p.parse_args()
    torch.set_num_threads(1)
    model, cfg = load_model(a.checkpoint)
    ds = load_dataset(a.data_dir, cfg["dataset"], timesteps=cfg["timesteps"])
    idx = test_indices(len(ds.test_y), a.samples)
    data = DeviceData(ds.test_x[idx], ds.test_y[idx], ds.mean, ds.std, "cpu")
    last_lif = lif_layers(model)[-1]                      # conv3's neurons
    seen = []
    hook = last_lif.register_forward_hook(lambda m, i, o: seen.append(o.detach()))
    with torch.no_grad():
        xb, _ = next(data.batches(a.samples))
        model(xb)
    hook.remove()
    spikes = seen[0]                                      # [T, B, 128, 8, 8]
    raster = spikes.permute(1, 0, 2, 3, 4).flatten(2).numpy().astype(np.uint8)   # [B, T, 8192]
    linear = model.classifier[-1]
    np.savez_compressed(HERE / "small_c10_head_spikes.npz", spikes=raster)
    np.savez_compressed(HERE / "small_c10_head_weights.npz", fc=linear.weight.detach().double().numpy())
    c, h, w = spikes.shape[2:]
    net = {"name": "small_c10_head", "input": [int(c), int(h), int(w)],
           "layers": [{"name": "fc", "op": "linear", "out_features": int(linear.out_features), "pool": 2}],
           "neuron": {"threshold": 1.0, "leak_decay": 0.5}, "weights": {"file": "small_c10_head_weights.npz"}}
    header = ("# The head of the trained `small` ATSNN (models/small_c10.pt): conv3's spikes on real CIFAR-10\n"
              "# test images feed its classifier, as LIF neurons. Made by workloads/validation/make_small_c10_head.py\n")
    (HERE / "small_c10_head.yaml").write_text(header + yaml.safe_dump(net, sort_keys=False))
    print(f"{a.samples} images, {int(raster.sum()) / a.samples:.0f} conv3 spikes per image "
          f"({raster.mean():.4f} per neuron per timestep) -> {HERE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

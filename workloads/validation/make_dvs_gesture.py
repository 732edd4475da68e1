"""Write SANA-FE's DVS-gesture network as a SANA-FE network file, set up as its authors set it up.

    python workloads/validation/make_dvs_gesture.py                  # -> workloads/validation/dvs_gesture.yaml
    python workloads/validation/make_dvs_gesture.py --crop 16 --out /tmp/dvs16.yaml   # the reduced test case

The network and its input frame ship in the ``sanafe`` package (``sanafe/examples/dvs_challenge.npz``:
kernels ``conv1..conv4`` [ky, kx, C_in, C_out], ``dense1`` [891, 11], per-layer ``thresholds``, one bias
per input pixel in ``inputs``). SANA-FE's ``tutorial_5_dvs`` builds it with its layer helpers: a 32x32
bias-driven input (LIF neurons, threshold 255), conv 3x3 stride 2 -> 16 channels, three conv 3x3 -> 32,
64, 11, dense -> 11, thresholds 255/420/351/276/371/341, the layers mapped on [1, 4, 16, 16, 4, 1] cores
(each layer's neurons split evenly in neuron order, the remainder on its last core, consecutive cores
from tile 0 core 0). The authors' own description of the network (SANA-FE's ``snn/dvs.yaml``) adds
what the tutorial leaves at its defaults: every group ``leak_decay: 4095/4096`` ("required if we want
spike-exact simulations, due to a bug in Loihi's NxSDK"), ``reset: 0``, conv layers on
``loihi_conv_synapse`` and the dense layer on ``loihi_dense_synapse``. This file is both: SANA-FE's
``sanafe.load_net`` reads it as it is, and ``archsim validate sanafe`` reads it through
archsim/validate/sanafe_yaml.py.

``--crop N``: the reduced case of the test suite: the NxN window of the frame holding the most bias (of
a 32x32 frame, N >= 15 keeps every layer non-empty), the same kernels, thresholds and placement, and
the dense layer's weights of the conv4 position at the centre of its 9x9 map (the crop leaves conv4
fewer positions; the rows of the centre are taken for each one left).
"""
from __future__ import annotations

import argparse
from importlib.resources import files
from pathlib import Path

import numpy as np
import yaml

HERE = Path(__file__).resolve().parent
LEAK = 4095 / 4096
CONVS = (("conv1", 2), ("conv2", 1), ("conv3", 1), ("conv4", 1))
TUTORIAL_CORES = (1, 4, 16, 16, 4, 1)
CORES_PER_TILE = 4                     # the bundled Loihi: loihi_core[0..3] per tile


def _crop(data: dict, n: int) -> tuple[np.ndarray, np.ndarray, str]:
    """The NxN window of the frame with the most bias, and the dense rows for the cropped conv4 map."""
    frame = data["inputs"].reshape(32, 32)
    if n == 0:
        return frame, data["dense1"], "the whole 32x32 frame"
    _, r, c = max((frame[r:r + n, c:c + n].sum(), r, c) for r in range(33 - n) for c in range(33 - n))
    side = n
    for _, stride in CONVS:
        side = (side - 3) // stride + 1
    if side < 1:
        raise SystemExit(f"--crop {n}: conv4 would have no position left (use N >= 15)")
    dense = data["dense1"].reshape(11, 9, 9, 11)[:, 4:5, 4:5, :]               # [C, y, x, out] at the centre
    dense = np.broadcast_to(dense, (11, side, side, 11)).reshape(-1, 11)
    return frame[r:r + n, c:c + n], dense, f"the {n}x{n} window at row {r}, column {c} of the 32x32 frame"


def network(data: dict, crop: int, cores: tuple[int, ...]) -> tuple[dict, str]:
    """The SANA-FE network file's content, and which frame window it holds."""
    th = [int(t) for t in data["thresholds"]]
    frame, dense, window = _crop(data, crop)
    shape = (1,) + frame.shape
    lif = {"soma_hw_name": "loihi_lif", "reset": 0, "leak_decay": LEAK}
    groups = [{"name": "input", "attributes": {**lif, "threshold": th[0]},
               "neurons": [{i: {"bias": float(b)}} for i, b in enumerate(frame.reshape(-1))]}]
    edges, sizes, prev = [], [frame.size], "input"
    for i, (name, stride) in enumerate(CONVS, start=1):
        w = data[name]
        c, h, wd = shape
        shape = (w.shape[3], (h - 3) // stride + 1, (wd - 3) // stride + 1)
        edges.append({f"{prev} -> {name}": {
            "type": "conv2d", "input_width": wd, "input_height": h, "input_channels": c, "kernel_width": 3,
            "kernel_height": 3, "kernel_count": w.shape[3], "stride_width": stride, "stride_height": stride,
            "weight": [int(v) for v in w.reshape(-1)]}})
        groups.append({"name": name, "attributes": {**lif, "synapse_hw_name": "loihi_conv_synapse", "threshold": th[i]},
                       "neurons": [{f"0..{int(np.prod(shape)) - 1}": {}}]})
        sizes.append(int(np.prod(shape)))
        prev = name
    edges.append({"conv4 -> dense1": {"type": "dense", "weight": [int(v) for v in dense.reshape(-1)]}})
    groups.append({"name": "dense1", "attributes": {**lif, "synapse_hw_name": "loihi_dense_synapse", "threshold": th[5]},
                   "neurons": [{"0..10": {}}]})
    sizes.append(11)
    return {"network": {"name": "dvs_gesture" if crop == 0 else f"dvs_gesture_crop{crop}", "groups": groups,
                        "edges": edges}, "mappings": _mappings([g["name"] for g in groups], sizes, cores)}, window


def _mappings(names: list[str], sizes: list[int], cores: tuple[int, ...]) -> list[dict]:
    """The tutorial's map_layer_to_cores: n // k neurons per core, the remainder on the layer's last core."""
    out, k = [], 0
    for name, n, count in zip(names, sizes, cores):
        per = n // count
        for j in range(count):
            last = n - 1 if j == count - 1 else (j + 1) * per - 1
            out.append({f"{name}.{j * per}..{last}": {"core": f"{k // CORES_PER_TILE}.{k % CORES_PER_TILE}"}})
            k += 1
    return out


class _Dumper(yaml.SafeDumper):
    """Lists of numbers and one-neuron entries on one line, as SANA-FE's own files are written."""


def _flow_list(dumper, data):
    flow = all(isinstance(v, (int, float)) for v in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


def _flow_small_dict(dumper, data):
    flow = len(data) == 1 and not isinstance(next(iter(data.values())), (list, dict)) or not data
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=flow)


_Dumper.add_representer(list, _flow_list)
_Dumper.add_representer(dict, _flow_small_dict)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--npz", help="the network's npz (default: the installed sanafe's examples/dvs_challenge.npz)")
    p.add_argument("--crop", type=int, default=0, help="an NxN window of the frame (0: the whole frame)")
    p.add_argument("--cores", default=",".join(map(str, TUTORIAL_CORES)), help="cores per layer, input first")
    p.add_argument("--out", default=str(HERE / "dvs_gesture.yaml"))
    a = p.parse_args()
    source = Path(a.npz) if a.npz else files("sanafe.examples").joinpath("dvs_challenge.npz")
    with source.open("rb") as f, np.load(f, allow_pickle=False) as z:
        data = {k: z[k] for k in z.files}
    cores = tuple(int(x) for x in a.cores.split(","))
    if len(cores) != 6 or min(cores) < 1:
        raise SystemExit("--cores: six positive core counts, input first")
    doc, window = network(data, a.crop, cores)
    header = (f"# SANA-FE's DVS-gesture network (sanafe 2.2.9 examples/dvs_challenge.npz, tutorial_5_dvs), in\n"
              f"# SANA-FE's own network format: {window}, placement {list(cores)} cores,\n"
              "# thresholds 255/420/351/276/371/341, leak_decay 4095/4096. Made by\n"
              "# workloads/validation/make_dvs_gesture.py" + (f" --crop {a.crop}" if a.crop else "") + "\n")
    Path(a.out).write_text(header + yaml.dump(doc, Dumper=_Dumper, sort_keys=False, width=110))
    print(f"wrote {a.out}: {window}, {len(doc['network']['groups'][0]['neurons'])} input neurons, "
          f"cores per layer {list(cores)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

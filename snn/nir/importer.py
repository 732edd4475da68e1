"""Import: a NIR graph and a data set -> an archsim spike workload, as our own exporter writes it.

Steps: read and check the graph (snn.nir.read), build archsim's layer graph from its nodes
(snn.nir.graph), make it a runnable torch module (snn.nir.network, via nirtorch), run it over the test
split of the data set for T timesteps with snn.inference.collect (spikes per layer node and timestep,
per-channel means, the pooled cells that fired, the output per timestep), and write the workload with
snn.export.build_workload and archsim.workload.save_workload: the same format version, meta kind
'direct', per-timestep predictions and both exit scores (so every exit policy applies in archsim), and a
neuron record on every node.

Data: CIFAR-10/100, an image folder or event data, read by snn.data.load_dataset as the trainer reads
them; the image size and the event sensor come from the graph's Input shape. Images are normalised as
``--normalise`` says: ``auto`` (the mean/std recorded in the graph's metadata by ``snn.nir export``, else
the data set's, as our trainer does), ``dataset`` or ``unit`` (pixels in [0, 1]); event frames are fed as
counts.
"""
from __future__ import annotations

import math
import sys
import time

import numpy as np

from archsim.errors import UserError
from archsim.workload import save_workload
from snn.cli import ensure_writable_file, positive, resolve_device
from snn.data import load_dataset
from snn.export import build_workload, exit_threshold, export_split, summary_line
from snn.inference import collect
from snn.nir.graph import layer_plan
from snn.nir.network import NIRNetwork
from snn.nir.read import infer_shapes, input_name, output_name, read_graph

NORMALISE = ("auto", "dataset", "unit")


def _metadata_norm(graph, channels: int):
    """The (mean, std) ``snn.nir export`` recorded, or None."""
    md = graph.metadata if isinstance(graph.metadata, dict) else {}
    if "input_mean" not in md or "input_std" not in md:
        return None
    mean, std = (np.asarray(md[k], dtype=np.float64).reshape(-1) for k in ("input_mean", "input_std"))
    if mean.size != channels or std.size != channels or (std <= 0).any():
        return None
    return tuple(mean.tolist()), tuple(std.tolist())


def load_data(a, input_shape: tuple[int, ...]):
    """The data set, checked against the graph's input shape: ``[C, H, W]`` (for events also the
    sensor size) or ``[C*H*W]`` (an MLP reads the flattened image)."""
    events = a.dataset == "events"
    if len(input_shape) not in (1, 3):
        raise UserError(a.model, "nodes.input", f"the Input shape {list(input_shape)} is neither [C, H, W] "
                        "nor a flattened image [C*H*W]")
    c, h, w = input_shape if len(input_shape) == 3 else (None, None, None)
    ds = load_dataset(a.data_dir, a.dataset, image_size=None, timesteps=a.timesteps,
                      sensor_size=(w, h, c) if events and c else None, cache_dir=a.cache_dir)
    fits = tuple(ds.input_shape) == tuple(input_shape) or \
        (len(input_shape) == 1 and math.prod(ds.input_shape) == input_shape[0])
    if not fits:
        raise UserError(str(a.data_dir), "input shape", f"data is {list(ds.input_shape)}, the graph's Input is "
                        f"{list(input_shape)}")
    return ds


def normalisation(a, graph, ds) -> tuple[tuple, tuple, str]:
    """(mean, std, what it was) for the images (see the module docstring)."""
    if ds.kind == "events":
        return ds.mean, ds.std, "none (event counts)"
    recorded = _metadata_norm(graph, len(ds.mean))
    if a.normalise == "unit":
        return (0.0,) * len(ds.mean), (1.0,) * len(ds.mean), "unit: pixels / 255"
    if a.normalise == "auto" and recorded is not None:
        return recorded[0], recorded[1], "the graph's metadata (input_mean, input_std)"
    return ds.mean, ds.std, "the data set's mean and std"


def import_workload(a) -> dict:
    """The import command (``python -m snn.nir import``); returns the workload's meta."""
    th = exit_threshold(a.exit_policy, a.threshold)
    positive("batch-size", a.batch_size)
    positive("timesteps", a.timesteps)
    positive("max-samples", a.max_samples, minimum=0)
    if a.normalise not in NORMALISE:
        raise UserError("command line", "normalise", f"must be one of {list(NORMALISE)}, got {a.normalise!r}")
    if not (a.dt > 0 and math.isfinite(a.dt)):
        raise UserError("command line", "dt", f"must be a positive number of seconds, got {a.dt}")
    if a.num_threads:
        import torch
        torch.set_num_threads(a.num_threads)
    out = ensure_writable_file(a.out)
    device = resolve_device(a.device)
    graph = read_graph(a.model)
    shapes = infer_shapes(graph, a.model)
    ds = load_data(a, shapes[input_name(graph)])
    n_out = math.prod(shapes[output_name(graph)])
    if n_out != ds.num_classes:
        raise UserError(a.model, "nodes.output", f"{n_out} outputs, the data set has {ds.num_classes} classes")
    plan = layer_plan(graph, shapes, "spikes" if ds.kind == "events" else "dense", a.dt, a.model)
    net = NIRNetwork(graph, shapes, plan.spiking, a.timesteps, a.dt, a.model, device=device)
    mean, std, norm = normalisation(a, graph, ds)
    ds.mean, ds.std = tuple(mean), tuple(std)
    test, subset = export_split(ds, a.max_samples, device)
    t0 = time.time()
    col = collect(net, test, a.batch_size, record=True, graph=plan.graph, progress=sys.stderr.isatty())
    infer_s = time.time() - t0
    md = graph.metadata if isinstance(graph.metadata, dict) else {}
    meta = {"kind": "direct", "arch": "nir", "source": f"NIR graph {a.model}", "nir_file": str(a.model),
            "nir_metadata": {str(k): _plain(v) for k, v in md.items()}, "dataset": a.dataset,
            "data_dir": str(a.data_dir), "dt": a.dt, "normalisation": norm, "seed": None, "command": a.command,
            "classes": list(ds.classes), "device": str(device), "export_inference_s": infer_s, **subset}
    wl = build_workload(plan.graph, col, exit_policy=a.exit_policy, threshold=th, timesteps=a.timesteps,
                        meta=meta)
    save_workload(out, wl)
    print(summary_line(out, wl, th, infer_s, time.time() - t0, device))
    return wl.meta


def _plain(v):
    """A metadata value as JSON (h5py gives bytes and numpy values back)."""
    if isinstance(v, bytes):
        return v.decode("utf8", "replace")
    if isinstance(v, np.ndarray):
        return v.tolist() if v.size <= 64 else f"array {list(v.shape)}"
    if isinstance(v, np.generic):
        return v.item()
    return v if isinstance(v, (str, int, float, bool, type(None))) else str(v)

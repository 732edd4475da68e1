"""Run a converted network over a test set, batch by batch, and keep the per-sample numbers.

Everything returned is per sample (numpy, on the CPU), so accuracy, means and the archsim workload are
all derived from the same arrays. Spike counts follow archsim's layer-graph order: node 0 is the input,
then one node per stage; the last stage is the non-spiking output node (its count is 0).

Synaptic operations (accumulates) per image:
- TTFS: every spike arriving at a stage reaches its fan-out (snn.conversion.counting), plus per neuron of
  the stage the readout counter-input (1), the rectification input at 3(T-1) (1, hidden stages) and the
  bias spike (1, when the stage has a bias). The input image arrives as spikes too.
- rate: every spike reaches its fan-out, every step; the first stage's dense input is counted apart as
  multiply-accumulates (``input_macs``).
"""
from __future__ import annotations

from typing import Iterator

import numpy as np
import torch

from snn.conversion import quartz, rate
from snn.conversion.counting import fanout_map, synops
from snn.conversion.stages import Stage, forward


def pixel_batches(images: np.ndarray, batch_size: int, device, dtype=torch.float32) -> Iterator[torch.Tensor]:
    """uint8 ``[N, C, H, W]`` -> float batches in [0, 1] on ``device``."""
    for i in range(0, len(images), batch_size):
        yield torch.from_numpy(np.ascontiguousarray(images[i:i + batch_size])).to(device).to(dtype) / 255.0


def fanouts(stages: list[Stage]) -> list[torch.Tensor]:
    return [fanout_map(st) for st in stages]


def extra_events_per_image(stages: list[Stage]) -> int:
    """TTFS per-neuron events that are not spikes: counter-input, rectification input, bias spike."""
    total = 0
    for st in stages:
        n = int(np.prod(st.out_shape))
        total += n * (1 + int(st.rectify) + int(st.has_bias))
    return total


def dense_macs_per_image(stages: list[Stage]) -> int:
    """The ANN's multiply-accumulates per image: it pools first, then one MAC per pooled input x synapse
    (borders exact) -- a pooled stage's spiking synapses count pool^2 times more."""
    return int(sum(float(f.sum()) / (st.pool * st.pool) for st, f in zip(stages, fanouts(stages))))


@torch.no_grad()
def ann_outputs(stages: list[Stage], images: np.ndarray, batch_size: int, device) -> np.ndarray:
    """The (folded, normalised) ANN's outputs ``[N, K]``."""
    return np.concatenate([forward(stages, x).float().cpu().numpy()
                           for x in pixel_batches(images, batch_size, device, stages[0].weight.dtype)])


@torch.no_grad()
def run_quartz(stages: list[Stage], images: np.ndarray, t_max: int, *, batch_size: int = 200, device="cpu",
               engine: str = "event", bias_mode: str = "weighted", readout: str = "spike",
               progress: bool = False) -> dict[str, np.ndarray]:
    """TTFS on every image. Returns per sample: ``values [N, K]`` (decoded outputs), ``spikes [N, L]``
    (per graph node), ``synops [N]``, ``quartz_ops [N]``, ``early [N, S]`` and ``forced [N, S]`` (per
    stage), ``first_output_step [N]``, and ``channel_spikes`` {stage name: [C]} summed over samples."""
    fo = [f.to(device) for f in fanouts(stages)]
    extra = extra_events_per_image(stages)
    tm = quartz.timing(t_max)
    keep: dict[str, list] = {k: [] for k in ("values", "spikes", "synops", "quartz_ops", "early", "forced",
                                              "first_output_step")}
    chan = {st.name: np.zeros(st.out_shape[0]) for st in stages[:-1]}
    bar = _bar(len(images), f"quartz t_max={t_max}", progress)
    for x in pixel_batches(images, batch_size, device, stages[0].weight.dtype):
        r = quartz.run_network(stages, x, t_max, engine=engine, bias_mode=bias_mode, readout=readout)
        B = x.shape[0]
        arrived = [((t >= 0) & (t < tm.window)) for t in r.in_times]
        spk = [arrived[0].flatten(1).sum(1)]
        for st, sr in zip(stages[:-1], r.runs[:-1]):
            emitted = sr.out_times < tm.window
            spk.append(emitted.flatten(1).sum(1))
            chan[st.name] += emitted.flatten(2).sum(2).sum(0).cpu().numpy() if emitted.dim() > 2 \
                else emitted.sum(0).cpu().numpy()
        spk.append(torch.zeros(B, dtype=torch.long, device=x.device))
        syn = sum(synops(a, f) for a, f in zip(arrived, fo)) + extra
        keep["values"].append(r.values.float().cpu().numpy())
        keep["spikes"].append(torch.stack(spk, 1).cpu().numpy())
        keep["synops"].append(syn.cpu().numpy())
        keep["quartz_ops"].append(sum(sr.quartz_ops for sr in r.runs).cpu().numpy())
        keep["early"].append(torch.stack([sr.early for sr in r.runs], 1).cpu().numpy())
        keep["forced"].append(torch.stack([sr.forced for sr in r.runs], 1).cpu().numpy())
        keep["first_output_step"].append(quartz.first_output_step(r, t_max).cpu().numpy())
        if bar is not None:
            bar.update(B)
    if bar is not None:
        bar.close()
    out = {k: np.concatenate(v) for k, v in keep.items()}
    out["channel_spikes"] = chan
    return out


@torch.no_grad()
def run_rate(stages: list[Stage], images: np.ndarray, timesteps: int, *, batch_size: int = 200, device="cpu",
             v_init: float = 0.5, progress: bool = False) -> dict[str, np.ndarray]:
    """Rate coding on every image for ``timesteps`` steps. Returns ``out [T, N, K]`` (output current per
    step), ``spikes [N, L, T]`` (per graph node; the dense input and the output node are 0),
    ``synops [N, T]``, ``input_macs`` (per image per step) and ``channel_spikes`` {name: [C, T]} summed."""
    fo = [f.to(device) for f in fanouts(stages)]
    outs, spikes, syn = [], [], []
    chan = {st.name: np.zeros((st.out_shape[0], timesteps)) for st in stages[:-1]}
    bar = _bar(len(images), f"rate T={timesteps}", progress)
    for x in pixel_batches(images, batch_size, device, stages[0].weight.dtype):
        r = rate.run_network(stages, x, timesteps, fo, v_init=v_init)
        B = x.shape[0]
        zero = torch.zeros(timesteps, B, device=x.device)
        spikes.append(torch.stack([zero] + r.spikes + [zero], 0).permute(2, 0, 1).round().long().cpu().numpy())
        outs.append(r.out.float().cpu().numpy())
        syn.append(r.synops.T.cpu().numpy())
        for st, c in zip(stages[:-1], r.channel_spikes):
            chan[st.name] += c.sum(1).T.double().cpu().numpy()
        if bar is not None:
            bar.update(B)
    if bar is not None:
        bar.close()
    return {"out": np.concatenate(outs, 1), "spikes": np.concatenate(spikes), "synops": np.concatenate(syn),
            "input_macs": float(fo[0].sum()), "channel_spikes": chan}


def _bar(total: int, desc: str, on: bool):
    if not on:
        return None
    from tqdm import tqdm
    return tqdm(total=total, unit="img", desc=desc, leave=False)

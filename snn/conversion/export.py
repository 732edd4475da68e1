"""Converted networks as archsim workloads (archsim.workload is the one writer; this only fills it in).

Kinds (``meta['kind']``), so that archsim models the timing each coding implies:

- ``ttfs`` (Quartz): the T axis has length 1 -- each neuron fires at most once per image, inside a window
  of ``window_steps = 4*t_max - 4`` steps per layer; ``spikes[n, l, 0]`` is the number of spikes layer l
  emitted (every hidden neuron exactly once: the late ones are forced at 3(t_max-1)); the input node is
  ``spiking`` (the image arrives as one spike per pixel). Besides spikes, every neuron receives the
  readout counter-input, the rectification input (hidden layers) and a bias spike (layers with a bias):
  ``meta['extra_events_per_neuron']`` lists them per layer.
- ``rate``: an ordinary T-step workload; the image is a dense current fed every step (input node not
  spiking), the output node is the non-spiking integrator read out after every step.

The graph is built from the stages with archsim.graph (names conv1.., fc1.., out, as snn.models.describe
gives them), so the converted network and the directly trained SNN of the same architecture share node
names and synapse counts.
"""
from __future__ import annotations

import networkx as nx
import numpy as np
import torch

from archsim import graph as ag
from archsim.errors import UserError
from archsim.workload import Workload
from snn import exit_policy as xp
from snn.conversion import quartz
from snn.conversion.stages import Stage


def layer_graph(stages: list[Stage], input_encoding: str) -> nx.DiGraph:
    """archsim layer graph of the converted network: input, one node per stage, the last non-spiking."""
    g = ag.new_graph(tuple(stages[0].in_shape), input_encoding)
    src = ag.INPUT
    for i, st in enumerate(stages):
        spiking = i < len(stages) - 1
        if st.kind == "conv":
            if st.weight.shape[2] != st.weight.shape[3] or st.stride[0] != st.stride[1] or \
                    st.padding[0] != st.padding[1]:
                raise UserError("model", st.name, "archsim's graph needs square kernels, strides and padding")
            src = ag.add_conv(g, st.name, src, out_channels=st.out_shape[0], kernel=int(st.weight.shape[2]),
                              stride=st.stride[0], padding=st.padding[0], pool=st.pool, spiking=spiking)
        else:
            src = ag.add_linear(g, st.name, src, out_features=st.out_shape[0], pool=st.pool, spiking=spiking)
    return g


def _channels(chan: dict, n: int, T: int) -> dict[str, np.ndarray]:
    return {k: (np.asarray(v, dtype=np.float64).reshape(len(v), -1)[:, :T] / n).astype(np.float32)
            for k, v in chan.items()}


def ttfs_workload(stages: list[Stage], res: dict, labels: np.ndarray, t_max: int, output_scale: float,
                  meta: dict) -> Workload:
    """Workload of one Quartz run (``evaluate.run_quartz`` output) at ``t_max``."""
    g = layer_graph(stages, "spikes")
    logits = torch.from_numpy(res["values"] * float(output_scale)).unsqueeze(0)  # [1, N, K]
    n = len(labels)
    sc = {k: v.numpy().astype(np.float32) for k, v in xp.scores(logits).items()}
    extra = {st.name: {"counter": 1, "rectify": int(st.rectify), "bias": int(st.has_bias)} for st in stages}
    m = dict(meta, kind="ttfs", timesteps=1, t_max=int(t_max), window_steps=quartz.timing(t_max).window,
             latency_steps=quartz.latency_steps(len(stages), t_max), extra_events_per_neuron=extra,
             exit_policy="fixed")
    for st in stages:   # Quartz's neuron: current + voltage, the counter/forced/bias events it gets
        ag.set_neuron(g, st.name, ag.neuron_record(
            "ttfs" if ag.layer(g, st.name).spiking else "integrator", state_words=2,
            extra_events=sum(extra[st.name].values()), window_steps=m["window_steps"], t_max=int(t_max)))
    return Workload(g, res["spikes"][:, :, None].astype(np.int32), np.asarray(labels, np.int32),
                    xp.predictions(logits).numpy().astype(np.int32), sc, np.ones(n, np.int32), m,
                    _channels(res["channel_spikes"], n, 1))


def rate_workload(stages: list[Stage], res: dict, labels: np.ndarray, timesteps: int, output_scale: float,
                  meta: dict) -> Workload:
    """Workload of one rate-coded run (``evaluate.run_rate`` output), cut to its first ``timesteps``."""
    g = layer_graph(stages, "dense")
    out = torch.from_numpy(res["out"][:timesteps] * float(output_scale))
    n = len(labels)
    sc = {k: v.numpy().astype(np.float32) for k, v in xp.scores(out).items()}
    m = dict(meta, kind="rate", timesteps=int(timesteps), exit_policy="fixed")
    for st in stages:   # integrate-and-fire with reset by subtraction (snn.conversion.rate)
        if ag.layer(g, st.name).spiking:
            ag.set_neuron(g, st.name, ag.neuron_record("if", reset="subtract"))
    return Workload(g, res["spikes"][:, :, :timesteps].astype(np.int32), np.asarray(labels, np.int32),
                    xp.predictions(out).numpy().astype(np.int32), sc, np.full(n, timesteps, np.int32), m,
                    _channels(res["channel_spikes"], n, timesteps))

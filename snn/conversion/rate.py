"""Rate-coded ANN-to-SNN conversion: the baseline TTFS is measured against.

Every hidden stage becomes integrate-and-fire neurons without leak, threshold 1 (the stages are
normalised, snn.conversion.normalise), **reset by subtraction** (the surplus above threshold is kept, so
the firing rate tracks the activation up to 1 spike per step; Rueckauer et al. 2017). The membrane starts
at ``v_init`` (0.5 by default: half the threshold, which centres the rounding error of the rate; Bu et
al. 2022; use 0 for the classic setting). The image is fed as a constant real-valued current every step
(direct encoding: the first stage multiplies, like the directly trained SNNs here). The last stage is a
non-spiking integrator read out after every step, so one run of T steps gives the answer after each of
1..T steps. Units: time in steps, currents and potentials in units of the threshold.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from archsim.errors import UserError
from snn.conversion.counting import synops
from snn.conversion.stages import Stage, affine


@dataclass
class RateRun:
    """out: output current per step ``[T, B, K]`` (the integrator's input; its cumulative sum is the
    membrane); spikes: per hidden stage, spikes emitted per step ``[T, B]``; channel_spikes: per hidden
    stage ``[T, B, C]``; synops: per step ``[T, B]`` spike-driven accumulates (the dense first stage
    not included)."""
    out: torch.Tensor
    spikes: list[torch.Tensor]
    channel_spikes: list[torch.Tensor]
    synops: torch.Tensor


@torch.no_grad()
def run_network(stages: list[Stage], x: torch.Tensor, timesteps: int, fanouts: list[torch.Tensor],
                v_init: float = 0.5) -> RateRun:
    """Simulate ``timesteps`` steps on pixels ``x [B, C, H, W]`` in [0, 1]. ``fanouts[l]``: synapses per
    source neuron of stage l's input (snn.conversion.counting.fanout_map)."""
    if isinstance(timesteps, bool) or not isinstance(timesteps, int) or timesteps < 1:
        raise UserError("command line", "t-max", f"rate coding needs an integer number of steps >= 1, "
                        f"got {timesteps!r}")
    hidden = stages[:-1]
    first = affine(stages[0], x)                     # the same at every step: computed once
    v = [torch.full((x.shape[0], *st.out_shape), float(v_init), dtype=first.dtype, device=x.device)
         for st in hidden]
    outs, syn = [], []
    spikes = [[] for _ in hidden]
    chans = [[] for _ in hidden]
    for _ in range(timesteps):
        h = first
        ops = torch.zeros(x.shape[0], dtype=torch.float64, device=x.device)
        for i, st in enumerate(hidden):
            if i > 0:
                h = affine(st, s)
            v[i] = v[i] + h
            s = (v[i] >= 1.0).to(h.dtype)
            v[i] = v[i] - s
            spikes[i].append(s.flatten(1).sum(1))
            chans[i].append(s.flatten(2).sum(2) if s.dim() > 2 else s)
            ops += synops(s, fanouts[i + 1])
        outs.append(affine(stages[-1], s) if hidden else first)
        syn.append(ops)
    return RateRun(torch.stack(outs), [torch.stack(s) for s in spikes], [torch.stack(c) for c in chans],
                   torch.stack(syn))

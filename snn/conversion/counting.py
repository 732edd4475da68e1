"""Synaptic-operation counting shared by the TTFS and rate conversions.

A synaptic operation (synop) is one accumulate: a spike arriving over one synapse. A spike of a source
neuron reaches ``fanout`` target neurons of the next stage; for a conv that is output channels x the
kernel taps that land inside the output map (fewer at the border), and a spike of a neuron that is
average-pooled first still reaches all targets of its pooled cell (the pooling weight 1/k^2 is folded
into the synapse). ``fanout_map`` gives that number per source neuron, exactly, so
``synops = sum(spikes * fanout)``; summed over all source neurons it equals archsim's edge ``synapses``.
"""
from __future__ import annotations

import torch

from snn.conversion.stages import Stage, project


def fanout_map(stage: Stage) -> torch.Tensor:
    """Synapses per source neuron of ``stage``'s input, shape ``in_shape`` (exact integers, float64)."""
    x = torch.ones(1, *stage.in_shape, dtype=torch.float64, requires_grad=True)
    ones = torch.ones_like(stage.weight, dtype=torch.float64, device="cpu")
    with torch.enable_grad():
        y = project(stage, x, weight=ones)
        (g,) = torch.autograd.grad(y.sum(), x)
    # avg_pool's gradient is 1/k^2 per source neuron; each source spike is processed on its own.
    return (g[0] * stage.pool * stage.pool).round().detach()


def synops(spikes: torch.Tensor, fanout: torch.Tensor) -> torch.Tensor:
    """``spikes [B, *in_shape]`` (counts) -> synaptic operations per sample ``[B]`` (float64)."""
    return (spikes.to(torch.float64) * fanout.to(spikes.device)).flatten(1).sum(1)

"""Data-based weight normalisation: one scale per stage, a high percentile of its activations.

Why: a TTFS spike (and a rate-coded spike train) can carry a value in [0, 1] only. Dividing every stage's
output by the p-th percentile of its activations on training images (Rueckauer et al. 2017; Quartz uses
p = 97 ... 99.999) maps nearly all activations into [0, 1]; the few above are clipped (TTFS: they fire
at the readout time, or early). A higher p clips less but spends the t_max levels on a wider range.
ReLU is positively homogeneous, so the scales of all stages come from one pass of the original network.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np
import torch

from archsim.errors import UserError
from snn.conversion.stages import Stage, forward


@torch.no_grad()
def activation_scales(stages: list[Stage], batches: Iterable[torch.Tensor], percentile: float) -> list[float]:
    """Per stage, the ``percentile`` (0..100] of its activations (after the ReLU for hidden stages, the
    raw outputs for the last) over all images of ``batches`` (pixels in [0, 1]). Unitless scale factors."""
    if not 0.0 < float(percentile) <= 100.0:
        raise UserError("command line", "percentile", f"must lie in (0, 100], got {percentile}")
    acts: list[list[np.ndarray]] = [[] for _ in stages]
    for x in batches:
        _, pre = forward(stages, x, record=True)
        for i, (st, z) in enumerate(zip(stages, pre)):
            a = torch.relu(z) if st.rectify else z
            acts[i].append(a.float().cpu().numpy().ravel())
    if not acts[0]:
        raise UserError("data", "normalisation", "no images to compute activation percentiles on")
    scales = []
    for st, parts in zip(stages, acts):
        v = np.concatenate(parts)
        s = float(np.percentile(v, percentile))
        if not np.isfinite(s) or s <= 0:
            s = float(np.abs(v).max())  # a dead layer or an all-negative output: fall back to max |a|
        if not np.isfinite(s) or s <= 0:
            raise UserError("model", st.name, "all activations are zero on the normalisation images")
        scales.append(s)
    return scales

"""The early-exit controller: after each timestep of an adaptive policy it decides whether the image may
leave.

Counts: ``decisions`` (on the output layer's items) = 1 after each timestep except the last possible
one, for adaptive policies; they depend on the exit plan only, so archsim.counts.ItemCounts.for_plan
makes them (:func:`decisions`), not the per-layer count. Static: one per chip.
"""
from __future__ import annotations

import numpy as np

from archsim.units.base import ActionRow

NAME = "controller"
ORDER = 80
ROWS = (ActionRow("controller", "decision", "decisions", "fixed", role="control", doc="one early-exit decision"),)
STATIC = {"controller": "chip"}


def decisions(shape: tuple[int, int, int], adaptive: bool, max_t: int, output_layer: int | None) -> np.ndarray:
    """int64 [N, L', T]: one decision per timestep but the last possible on the output layer (adaptive)."""
    out = np.zeros(shape, dtype=np.int64)
    if adaptive:
        out[:, output_layer, :max_t - 1] = 1
    return out

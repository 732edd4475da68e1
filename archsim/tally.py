"""What a run keeps of its counts: sums over the items that ran, added up block by block of samples.

Why: the counts of every (sample, layer, timestep) item are made a block of samples at a time
(archsim.timing.chunks) and let go once the block's items are final, so the run's summary, per-layer
and per-sample tables cannot read them at the end. They need, of the items that ran: per layer, every
count (the energy and the per-layer table); per sample, the spikes, the synaptic operations and the
dynamic energy (the per-sample table); and of the items up to each sample's exit (the oracle), every
count (the summary's ``counts_useful``). All of it is integer sums (exact in any order) or per-sample
values, so adding blocks gives what one pass over all samples gave.
"""
from __future__ import annotations

import numpy as np

from archsim.counts import ItemCounts, oracle_mask
from archsim.energy import dynamic_j
from archsim.exit_policy import ExitPlan
from archsim.hwconfig import HwConfig
from archsim.workload import Workload

PER_SAMPLE = ("spikes_out", "accumulates", "macs")     # the counts the per-sample table shows


class Tally:
    """The sums of one plan's run. ``detail``: also the oracle's totals and the per-sample columns (the
    run's own plan; a fixed-T baseline needs only its totals and per-layer counts)."""

    def __init__(self, hw: HwConfig, wl: Workload, layers: list[str], plan: ExitPlan, detail: bool):
        self.hw, self.graph, self.layers, self.plan, self.detail = hw, wl.graph, layers, plan, detail
        self.per_layer: dict[str, np.ndarray] = {}       # count -> [L'] over the items that ran
        self.useful: dict[str, int] = {}                 # count -> total over the oracle's items
        n = wl.n_samples
        self.per_sample = {a: np.zeros(n, dtype=np.int64) for a in PER_SAMPLE} if detail else {}
        self.energy_dynamic_j = np.zeros(n) if detail else None       # [N] joules per sample

    @property
    def totals(self) -> dict[str, int]:
        """count -> total over the items that ran."""
        return {a: int(v.sum()) for a, v in self.per_layer.items()}

    def add(self, counts: ItemCounts, executed: np.ndarray, lo: int, hi: int) -> None:
        """Samples ``lo``..``hi - 1``: their ``counts`` and the items of them that ran (bool [hi - lo, L', T])."""
        ran = executed.astype(np.int64)
        per_item = {a: np.einsum("nlt,nlt->nl", v, ran) for a, v in counts.actions.items()}    # [n, L']
        for a, v in per_item.items():
            total = v.sum(axis=0)
            self.per_layer[a] = self.per_layer[a] + total if a in self.per_layer else total
        if not self.detail:
            return
        oracle = oracle_mask(self.plan.take(slice(lo, hi)), len(self.layers), executed.shape[2]).ravel()
        for a, v in counts.actions.items():
            self.useful[a] = self.useful.get(a, 0) + int(v.ravel() @ oracle)
        for a in PER_SAMPLE:
            if a in per_item:
                self.per_sample[a][lo:hi] = per_item[a].sum(axis=1)
        self.energy_dynamic_j[lo:hi] = dynamic_j(self.hw, self.graph, self.layers, per_item).sum(axis=1)

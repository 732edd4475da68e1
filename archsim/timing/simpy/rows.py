"""What the chip reads of one sample when it admits it: its items' cycles and its spikes per edge, as
Python lists.

Why lists, and why a block at a time: the layer processes index these numbers once per work item, and
indexing a Python list is several times faster than a numpy array; converting every sample's rows at
once would hold [N, L', T] Python ints (tens of bytes each) for the whole run, so rows are converted a
block of samples (archsim.timing.chunks) at a time, in admission order, and let go when the next block
is needed. The chips of a run's plans run in step (archsim.timing.simpy.chip), so they share one
:class:`SampleRows`.
"""
from __future__ import annotations

import numpy as np

from archsim.cycles import occupancy_cycles, ttfs_lead
from archsim.hwconfig import HwConfig
from archsim.mapping import Mapping


class SampleRows:
    """``get(n)``: sample n's rows, from ``source`` (archsim.timing.chunks.ChunkSource)."""

    def __init__(self, hw: HwConfig, mapping: Mapping, source):
        self.hw, self.source, self.bounds = hw, source, source.bounds
        self.edges = list(mapping.routes)
        self.li_of = {name: i for i, name in enumerate(mapping.order)}
        self.n_layers = len(mapping.order)
        self.ttfs = source.chunk(0).timing.step is not None
        self.lo = self.hi = 0
        self.block: tuple = ()

    def get(self, n: int) -> tuple:
        """(held [L'][T], compute [L'][T], off-chip cycles [L'][T] or [L'] of None when nothing spills,
        spikes [E][T], link occupancy [E][T], TTFS lead [E] or None): cycles of archsim.cycles."""
        if not self.lo <= n < self.hi:
            self._load(n)
        i = n - self.lo
        held, compute, offc, spikes, occ, lead = self.block
        return (held[i], compute[i], offc[i] if offc is not None else [None] * self.n_layers, spikes[i], occ[i],
                lead[i] if lead is not None else None)

    def _load(self, n: int) -> None:
        chunk = self.source.chunk(self.source.chunk_of(n))
        timing, counts, lo, hi = chunk.timing, chunk.counts[0], chunk.lo, chunk.hi
        offc = timing.offchip
        spikes = self._per_edge(lambda e: counts.edge_spikes[e], hi - lo)
        occ = self._per_edge(lambda e: occupancy_cycles(counts.edge_max_link_flits[e], self.hw), hi - lo)
        lead = None
        if timing.step is not None:
            step, li = timing.step, self.li_of
            lead = self._per_edge(lambda e: ttfs_lead(step[:, li[e[0]]], step[:, li[e[1]]], timing.t_max), hi - lo)
        self.block = (timing.held.tolist(), timing.compute.tolist(), offc.tolist() if offc.any() else None,
                      spikes, occ, lead)
        self.lo, self.hi = lo, hi

    def _per_edge(self, rows, b: int) -> list:
        """[b][E]... lists of ``rows(edge)`` ([b, ...] arrays) stacked on a new second axis."""
        if not self.edges:
            return [[] for _ in range(b)]
        return np.stack([rows(e) for e in self.edges], axis=1).tolist()

"""Samples in chunks: the counts and cycles of a run's samples, a block of samples at a time.

Why: a run's counts are [samples, layers, timesteps] arrays per action (27 of them on the default chip)
plus per-core arrays per layer; held for every sample at once they made the peak memory grow with
``--samples`` (471 MB at 10,000 samples of a 64x64 VGG16 on 16x16 cores, against 211 MB at 1,000).
Every count and every item's cycles depend on its own sample only (archsim.counts is vectorised over
samples; ``tests/archsim/test_chunks.py`` checks that counting blocks gives the same arrays), so a run
counts ``size`` samples at a time, the timing backend schedules them, and the run keeps only what its
summary needs of them (archsim.tally), then lets the block go.

One :class:`ChunkSource` serves every exit plan of a run (the run's and its fixed-T baseline's: their
counts differ only in the controller's decisions, archsim.counts.ItemCounts.for_plan), so each block is
counted once. A backend takes ``chunk(k)`` when it needs block k and says ``done(k, i, executed)`` when
the items of plan i in block k are final (none of them can still run); the source hands them to the
run's ``on_done`` and forgets the block once every plan is done with it. A run of one block keeps it
(``whole()``: the counts and cycles the run's result carries, as before chunking).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from archsim.counts import ItemCounts, check_counts, item_counts
from archsim.cycles import CoreTiming, core_timing
from archsim.exit_policy import ExitPlan
from archsim.hwconfig import HwConfig
from archsim.mapping import Mapping
from archsim.workload import Workload

CHUNK_SAMPLES = 1000     # samples counted at a time (the default)
CHUNK_NUMBERS = 1 << 24  # at most this many numbers per array of a block's per-core counts


@dataclass
class Chunk:
    """Samples ``lo``..``hi - 1``: their counts under each plan, and their items' cycles."""
    lo: int
    hi: int
    counts: list[ItemCounts]
    timing: CoreTiming


def chunk_size(mapping: Mapping, timesteps: int, n_cores: int, size: int | None = None) -> int:
    """Samples per block: ``size``, else :data:`CHUNK_SAMPLES`, fewer where a block's per-core arrays
    ([samples, timesteps, cores of a layer] per layer, and the barrier backend's two [samples, steps,
    cores of the chip]) would pass :data:`CHUNK_NUMBERS` numbers."""
    if size is not None:
        return max(1, int(size))
    per_sample = timesteps * (sum(len(place.cores) for place in mapping.layers.values()) + 2 * n_cores)
    return max(1, min(CHUNK_SAMPLES, CHUNK_NUMBERS // max(per_sample, 1)))


class ChunkSource:
    """The blocks of one run (module docstring). ``on_done(i, chunk, executed)``: called once per plan
    and block with the block's final ``executed`` [hi - lo, L', T] items of plan ``i``."""

    def __init__(self, hw: HwConfig, mapping: Mapping, wl: Workload, plans: list[ExitPlan],
                 on_done: Callable | None = None, size: int | None = None, given: Chunk | None = None):
        self.hw, self.mapping, self.wl, self.plans, self.on_done = hw, mapping, wl, plans, on_done
        n, step = wl.n_samples, chunk_size(mapping, wl.timesteps, hw.n_cores, size)
        if given is not None:                   # the counts and cycles of every sample, made by the caller
            step = max(n, 1)
        self.bounds = [(lo, min(lo + step, n)) for lo in range(0, n, step)] or [(0, 0)]
        self._cache: dict[int, Chunk] = {} if given is None else {0: given}
        self.setup = None if given is None else given.counts[0].setup     # the initial weight load's counts
        self._pending: dict[int, set[int]] = {k: set(range(len(plans))) for k in range(len(self.bounds))}

    def __len__(self) -> int:
        return len(self.bounds)

    def chunk(self, k: int) -> Chunk:
        """Block k (counted now unless it is held)."""
        if k not in self._cache:
            lo, hi = self.bounds[k]
            self._cache[k] = self._count(slice(lo, hi), lo, hi)
        return self._cache[k]

    def chunk_of(self, n: int) -> int:
        """The block that holds sample n."""
        return n // max(self.bounds[0][1] - self.bounds[0][0], 1)

    def samples(self, index: np.ndarray) -> Chunk:
        """The counts and cycles of the samples ``index`` (sorted), counted apart from the blocks (from the
        held block when the run is one block): the analytic mode's replayed sample."""
        if len(self.bounds) == 1:
            c = self.chunk(0)
            return Chunk(0, len(index), [x.take(index) for x in c.counts], c.timing.take(index))
        return self._count(np.asarray(index), 0, len(index))

    def done(self, k: int, i: int, executed: np.ndarray) -> None:
        """The items of plan i in block k are final: hand them to ``on_done``; forget the block once every
        plan is done with it (unless it is the run's only block)."""
        if i not in self._pending[k]:
            raise RuntimeError(f"block {k} of plan {i} reported twice")
        chunk = self.chunk(k)
        if self.on_done is not None:
            self.on_done(i, chunk, executed)
        self._pending[k].discard(i)
        if not self._pending[k] and len(self.bounds) > 1:
            del self._cache[k]

    def whole(self) -> Chunk | None:
        """The run's only block (its counts and cycles are the run's), else None."""
        return self.chunk(0) if len(self.bounds) == 1 else None

    def _count(self, index, lo: int, hi: int) -> Chunk:
        wl = self.wl.take(index)
        counts = item_counts(self.hw, self.mapping, wl, self.plans[0].take(index))
        check_counts(counts, str(self.wl.source or "workload"))
        self.setup = counts.setup
        others = [counts.for_plan(p.take(index), wl) for p in self.plans[1:]]
        return Chunk(lo, hi, [counts] + others, core_timing(self.hw, self.mapping, counts, wl))


def one_block(schedule_plans: Callable, hw: HwConfig, wl: Workload, mapping: Mapping, plan: ExitPlan,
              counts: ItemCounts, timing: CoreTiming, progress: bool):
    """A backend's ``schedule_plans`` on one plan whose counts and cycles of every sample the caller made
    (each backend's ``schedule(hw, wl, mapping, plan, counts, timing)``): its SimTrace."""
    source = ChunkSource(hw, mapping, wl, [plan], given=Chunk(0, wl.n_samples, [counts], timing))
    return schedule_plans(hw, wl, mapping, [plan], source, progress=progress)[0]

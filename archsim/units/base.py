"""What a hardware unit is: the action rows it owns, the contexts its formulas read, and the integer
arithmetic they share.

A unit is one module of archsim.units (the registry in ``__init__`` finds it). It defines

    NAME         the block (and its energy-table component where its rows say ``fixed``)
    ORDER        its place in the pipeline: rows are priced, and counts made, in this order, so a unit's
                 formula may read the counts of every unit before it (``LayerContext.counts``)
    ROWS         its ActionRows: what it does, which count says how often, which table entry prices it
    UNPRICED     counts it keeps that no table prices (totals, provenance); optional
    STATIC       component -> static-power scope (see SCOPES); optional (no leakage)
    count(ctx: LayerContext) -> {count: int64 [N, T]}        its counts of one layer's items; optional
                 (a count it leaves out stays 0, as the controller's, which the exit plan makes)
    core_load(ctx: LayerContext) -> {count: float [N, T, K]}  per core, for the barrier timing (rows with a
                 ``barrier_phase``); optional. It runs after every unit's ``count`` and may read the
                 loads of the units before it (``ctx.loads``)
    busy_cycles(ctx: CycleContext) -> {phase: int64 [N, T]}  cycles it needs per item, phase one of
                 BUSY_PHASES; optional (a unit that never sets the pace)
    setup(hw, onchip_weight_bits) -> {count: int}             counts done once per run; optional
    present(hw, table) -> bool    whether this chip has the unit; optional (always)

Nothing here imports the hwconfig, the mapping or the workload modules (they import the registry):
the contexts carry what a formula needs, built once by archsim.counts and archsim.cycles.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from archsim.mesh import DIRECTIONS  # noqa: F401  (+col, -col, +row, -row: the mesh geometry owns them)

if TYPE_CHECKING:   # types only: archsim.hwconfig imports the registry
    from archsim.hwconfig import HwConfig
    from archsim.mapping import LayerPlacement, Route

# Static-power scopes, in the order energy.py sums them: ``core`` one instance per core, switched off with
# an unused core; ``router`` one per core, always on; ``sram`` per KiB of the core memory of that name
# (banks gated, retention while idle); ``link`` one per on-chip mesh link; ``chip`` one per chip; ``dram`` the
# off-chip memory's background power (from the DRAM table); ``chip_link`` per lane of every chip-to-chip
# link (from the chip-link table).
SCOPES = ("core", "router", "sram", "link", "chip", "dram", "chip_link")
PER_CORE_SCOPES = ("core", "router", "sram")      # what a core holds: the report splits it over layers

BUSY_PHASES = ("compute", "update", "channel")    # see archsim.cycles: integrate, fire; the off-chip channel
BARRIER_PHASES = ("neuron", "message")             # see archsim.timing.barrier: SANA-FE's two per-core phases


@dataclass(frozen=True)
class ActionRow:
    """One action of a unit (Accelergy's split of *actions* from the *energy table*).

    ``pricing``: ``fixed`` (always ``component``), ``synapse`` / ``neuron`` (the component is chosen per
    layer by the hwconfig's ``units`` section, ``component`` unless a layer says otherwise), ``sram``
    (the table's ``sram`` rows at the memory's bank size), ``hop`` (``router.hop_<direction>``, or
    ``router.hop``), ``dram`` (the DRAM table, per bit and per row activation), ``chip_link`` (the
    chip-link table's row, per bit of a flit). ``required``: every table that has the unit must price it (an optional action costs 0 pJ when absent). ``role``: the group
    SANA-FE reports energy in. ``barrier_phase``: where the barrier timing spends its ``latency_ns``
    (None: not timed); ``latency_optional``: a missing latency reads 0 ns."""
    component: str
    action: str
    count: str
    pricing: str = "fixed"
    required: bool = True
    role: str = "memory"
    doc: str = ""
    barrier_phase: str | None = None
    latency_optional: bool = False


# ---------------------------------------------------------------------------------------------------
# integer arithmetic every count shares
# ---------------------------------------------------------------------------------------------------
def round_half_up(x: np.ndarray) -> np.ndarray:
    return np.floor(np.asarray(x, dtype=np.float64) + 0.5).astype(np.int64)


def ceil_div(a, b):
    """Integer ceil(a / b) for non-negative integer arrays/ints."""
    return -(-np.asarray(a, dtype=np.int64) // int(b))


def words(bits_each: int, n, port_bits: int):
    """Port-wide accesses to move ``n`` items of ``bits_each`` bits (rounded up)."""
    return ceil_div(np.asarray(n, dtype=np.int64) * bits_each, port_bits)


def with_latency(cycles: np.ndarray, latency_cycles: int) -> np.ndarray:
    """Add the pipeline fill of the first access to streams that access the SRAM at all."""
    return np.where(cycles > 0, cycles + latency_cycles, 0)


def apportion(total: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """Split integer ``total`` [N, T] over cores by ``shares`` [T, K] (rows sum to 1): floor, then the
    remainder one each to the largest fractional parts (ties: lower core). Returns int64 [N, T, K]
    summing exactly to ``total``."""
    k = shares.shape[1]
    if k == 1:
        return total[..., None].astype(np.int64)
    raw = total[..., None].astype(np.float64) * shares[None, :, :]
    base = np.floor(raw + 1e-9).astype(np.int64)
    rem = total.astype(np.int64) - base.sum(axis=-1)
    frac = raw - base
    order = np.argsort(-frac, axis=-1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.broadcast_to(np.arange(k), order.shape), axis=-1)
    return base + (rank < rem[..., None])


# ---------------------------------------------------------------------------------------------------
# what the formulas read
# ---------------------------------------------------------------------------------------------------
@dataclass
class Spikes:
    """Where a layer's spikes (or an edge's events) came from: per core for every sample, per neuron
    where recorded."""
    total: np.ndarray                  # [N, T] int64
    per_core: np.ndarray               # [N, T, K] int64 (apportioned, exact where recorded)
    raster: np.ndarray | None          # [S, T, neurons] float64 for the recorded samples (or None)


def edge_sum(sp: Spikes, samples, route: "Route", name: str) -> np.ndarray:
    """Sum over the spikes of a source of a per-spike quantity ``name`` of its route: ``NAME_per_spike
    [K, ...]`` (mean over each core's neurons) applied to the per-core counts, and ``NAME_per_neuron
    [n, ...]`` (exact; made only here, only when needed: it has a row per neuron) to the recorded
    samples. Returns float64 [N, T, ...]."""
    out = np.tensordot(sp.per_core.astype(np.float64), getattr(route, f"{name}_per_spike"), axes=([2], [0]))
    if sp.raster is not None:
        per_neuron = getattr(route, f"{name}_per_neuron").astype(np.float64)
        out[samples] = np.tensordot(sp.raster, per_neuron, axes=([2], [0]))
    return out


@dataclass
class InEdge:
    """One in-edge u -> layer, as its units see it."""
    src: str
    attrs: dict                  # the graph edge's record: fan_out, synapses, weights, pool
    dense: bool                  # a real-valued input: multiply-accumulates, not spikes
    pixels: int                  # source neurons (what a dense input streams in)
    route: "Route | None"        # None: the input, delivered by DMA (or a dense input)
    events: Spikes | None        # what travels over the edge (spikes, or pooled cells); None without route
    spikes: np.ndarray           # [N, T] events arriving over the edge
    cells: int                   # source neurons per event (pooled cells under per_cell pooling), else 1
    by_dma: bool                 # spike-encoded input written into the spike buffer by DMA


@dataclass
class InputSource:
    """The network's input population, as the layer that reads it by DMA sees it."""
    spiking: bool                # spike-encoded (else real-valued pixels)
    neurons: int
    spikes: np.ndarray           # [N, T] its spikes (spike-encoded input)
    read_here: bool              # this layer is the first placed layer that reads it by DMA


@dataclass
class LayerContext:
    """One placed layer's items (sample, timestep), built once by archsim.counts.item_counts."""
    hw: "HwConfig"
    name: str
    place: "LayerPlacement"
    neurons: int
    steps: int                   # neuron-update steps per item (TTFS: the window)
    state_words: int             # membrane state words per neuron
    record: dict                 # the layer's neuron record (archsim.graph.neuron_record)
    in_edges: list[InEdge]
    routes_out: list[tuple["Route", Spikes]]   # mesh-crossing edges from this layer (mapping.routes order)
    routes_in: list[tuple["Route", Spikes]]    # mesh-crossing edges into it
    out_spikes: np.ndarray       # [N, T] int64 spikes the layer emits
    emitted: Spikes | None       # the same per core (None for a layer that sends nothing)
    events: np.ndarray           # [N, T] float64 synaptic events arriving (+ the record's extra events)
    fan_in_bits: float           # gather: receptive-field bitmap bits per neuron
    dense_steps: np.ndarray      # [T] bool: timesteps at which a dense input is multiplied in
    gather: bool                 # the layer's dataflow is gather (else scatter)
    samples: Any                 # indices of the samples with per-neuron records (or None)
    fpp: int                     # flits per packet
    input: InputSource
    counts: dict[str, np.ndarray] = field(default_factory=dict)   # counts of the units before, [N, T]
    loads: dict[str, np.ndarray] = field(default_factory=dict)    # barrier: their per-core loads, [N, T, K]
    activity: Any = None         # per-neuron input/firing of the recorded samples, for update rules that
    #                              need it (archsim.units.neuron_activity.NeuronActivity), else None

    @property
    def k(self) -> int:
        return len(self.place.cores)

    @property
    def shape(self) -> tuple[int, int]:
        return self.out_spikes.shape


@dataclass
class CycleContext:
    """One placed layer's counts as the busy-cycle formulas read them (archsim.cycles.core_timing). The
    fullest core, ``top`` of the ``neurons``, sets the pace."""
    hw: "HwConfig"
    counts: dict[str, np.ndarray]     # count -> int64 [N, T]
    top: int                          # neurons on the fullest core
    neurons: int                      # neurons of the layer (all cores)
    cores: int
    offchip_bits_per_cycle: float

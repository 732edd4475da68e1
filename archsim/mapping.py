"""Layers -> cores: which cores hold each layer, what spills off chip, and how spikes travel the mesh.

The rules (the report prints their outcome):

1. Every layer except the input is placed; a layer is split over its cores **by output channel** (a conv's
   C_out, a linear layer's features): core k holds a contiguous block of channels at every position, with
   their weights and membrane potentials. An input spike therefore reaches every core of the consuming
   layer, and each core does the accumulates of its own channels (share = its channels / C).
2. **Membrane potentials must fit on chip**: the cores of a layer hold ``images_in_flight`` copies of its
   potentials (two state words per neuron for TTFS: current and voltage; the first layer keeps one more
   copy, its stored input current, when ``first_layer_reuse`` is on). A layer gets at least the cores its
   potentials need; if the mesh has too few cores for that, the network cannot fit anywhere (UserError).
3. **Weights stay on chip when the chip can hold them**: a layer first gets the cores its weights need
   (at most one per channel), as long as all layers' needs fit the mesh; only when they cannot does a
   layer keep its excess weights off chip (counts.py streams them once per item, or per spike). Without
   off-chip memory a spill is an error.
4. The cores left over go, one at a time, to the layer whose estimated time per work item is the largest
   (greedy min-max: compute, weight-SRAM bandwidth and spilled off-chip reads, plus the neuron sweep,
   from the workload's mean spike counts). A layer never gets more cores than channels; once the
   slowest layer has one core per channel, the remaining cores stay idle (they cannot help).
5. More layers than cores: consecutive layers share a core (a contiguous partition that minimises the
   largest per-core estimated time, potentials of all layers on a core must fit); they take turns on it.
6. Layers take consecutive core ids in layer order; core ids follow ``mesh.core_positions`` (default:
   snake order), so consecutive layers sit next to each other on the mesh.
7. Spikes a layer emits are apportioned to its cores by the workload's per-channel counts
   (``channel_spikes_mean``) when present, else in proportion to each core's neuron count (an even
   split: the report says which). A spike goes to the cores that hold synapses of its neuron
   (archsim.connectivity: with a channel split, every core of the consumer; with a neuron split, only
   those holding its receptive field) along XY routes: one packet per destination core (unicast,
   SANA-FE's messages) or one packet copied at the branches of the XY tree (multicast).
8. ``mapping.split: neurons`` (hwconfig): instead of rules 1 and 4, each layer is cut into contiguous
   chunks of at most ``max_neurons_per_core`` neurons in [C, H, W] order, one chunk per core (Loihi's
   and SANA-FE's way). ``mapping.input: cores``: a spike-encoded input is placed like a layer, first.
9. Cores sit in tiles (``mesh.cores_per_tile``) behind one router: packets between cores of one tile
   cross no link. Hops are counted per direction (east = +column, north = +row). The geometry (tile
   positions, links, XY paths, hops per direction) is archsim.mesh's.
10. A system of chips (``mesh.chips``) is one grid: cores are numbered chip by chip, so a layer fills one
   chip before the next; XY routes run over the whole grid, and a hop between two chips is a chip-to-chip
   link (counted apart from the on-chip hops, archsim.units.chip_link), slower to cross.
11. ``core.weight_sram.storage: per_synapse`` (Loihi): every synapse is stored on its target's core,
   ``bits_per_synapse`` each; a core that holds more than its weight SRAM is refused, one line naming
   the core. ``shared_kernel`` (the default): a layer stores its distinct weights (rules 2-3).
"""
from __future__ import annotations

import bisect
import heapq
import math
from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from archsim import graph as lg
from archsim.hwconfig import HwConfig, offchip_bits_per_cycle
from archsim.connectivity import synapse_rows, unique_rows
from archsim.errors import UserError
from archsim.mesh import (Position, chip_hops, chip_links, expand_runs, link_directions, link_grid, link_index,
                          xy_links_by_set)
from archsim.units import chip_link, network
from archsim.workload import Workload


@dataclass(frozen=True)
class LayerPlacement:
    """Where one layer lives. ``channels_per_core`` is aligned with ``cores``."""
    name: str
    index: int
    group: int
    cores: tuple[int, ...]
    channels: int
    channels_per_core: tuple[int, ...]
    weight_bits: int            # all weights of the layer's in-edges, at weight_bits each
    potential_bits: int         # membrane state for images_in_flight images (all cores together)
    spill_fraction: float       # fraction of the layer's weight reads that go off chip
    split: str                  # 'channels' (workload per-channel counts), 'even', 'n/a' (emits no spikes)
    neurons_per_core: tuple[int, ...] = ()   # aligned with ``cores``
    cut: str = "channels"       # how the layer is cut: 'channels' (rule 1) or 'neurons' (rule 8)

    @property
    def neurons(self) -> int:
        return int(sum(self.neurons_per_core))

    @property
    def max_share(self) -> float:
        """Fraction of the layer's neurons on its fullest core: that core sets the pace."""
        return max(self.neurons_per_core) / self.neurons

    def core_of_neuron(self) -> np.ndarray:
        """[neurons] index (0..K-1, into ``cores``) of the core holding each neuron, [C, H, W] order."""
        return np.repeat(np.arange(len(self.cores)), self.neurons_per_core)


@dataclass(frozen=True)
class Group:
    """Cores that work as one unit: one layer on its cores, or several layers sharing one core."""
    index: int
    layers: tuple[str, ...]
    cores: tuple[int, ...]


@dataclass(frozen=True)
class NeuronKinds:
    """A route's per-neuron quantities, stored once per kind: a source neuron's synapses are its row of
    the connectivity table (archsim.connectivity.SynapseRows), its packets and hops its pattern's (source
    core, destination cores). One index per neuron each, not neurons x cores numbers (issue 31)."""
    table: np.ndarray                 # [D, K_dst] int64 synapses to each destination core
    row_of_neuron: np.ndarray         # [n_src] int32 row of ``table``
    pattern_of_neuron: np.ndarray     # [n_src] int32 pattern
    pattern_packets: np.ndarray       # [P] float64 packets one spike of the pattern injects
    pattern_dirs: np.ndarray          # [P, 4] float64 its on-chip packet-hops per direction
    pattern_chip_hops: np.ndarray     # [P] float64 its chip-to-chip link crossings


@dataclass(frozen=True)
class Route:
    """How one source spike of edge ``src -> dst`` travels: per source core (axis 0 of the ``*_per_spike``
    arrays, the mean over that core's neurons: what a spike costs when only the core's total is known)
    and per source neuron (``*_per_neuron``: exact, used where the workload records per-neuron spikes;
    made on demand from ``neurons``)."""
    src: str
    dst: str
    local: bool                      # both layers on the same core: no packets
    packets_per_spike: np.ndarray    # [K_src] packets injected per spike
    hops_per_spike: np.ndarray       # [K_src] packet-hops (links crossed, chip links included) per spike
    link_ids: np.ndarray             # [J] mesh links this edge can use
    link_uses: np.ndarray            # [K_src, J] times one spike from core k crosses link j
    max_hops: int                    # longest path of the edge, in links
    hops_dir_per_spike: np.ndarray = None     # [K_src, 4] on-chip packet-hops per direction (DIRECTIONS order)
    fan_out_per_spike: np.ndarray = None      # [K_src] synapses one spike reaches
    events_per_spike: np.ndarray = None       # [K_src, K_dst] of those, on each destination core
    received_per_spike: np.ndarray = None     # [K_src, K_dst] packets each destination core receives
    neurons: NeuronKinds = None               # the per-neuron quantities, by kind
    chip_hops_per_spike: np.ndarray = None    # [K_src] chip-to-chip link crossings per spike
    path_cycles: int = 0                      # cycles from the end of a transfer to its arrival: the slowest
    #                                           path's hops x router.hop_latency_cycles, a chip link's latency
    #                                           for each chip crossed (archsim.units.chip_link)
    link_flit_time: np.ndarray | None = None  # [J] a flit's time on each link in on-chip link flit times
    #                                           (None: every link on chip, all 1)

    @property
    def fan_out_per_neuron(self) -> np.ndarray:
        """[n_src] exact synapses per source neuron."""
        return self.neurons.table.sum(axis=1)[self.neurons.row_of_neuron]

    @property
    def events_per_neuron(self) -> np.ndarray:
        """[n_src, K_dst] synapses on each destination core."""
        return self.neurons.table[self.neurons.row_of_neuron]

    @property
    def received_per_neuron(self) -> np.ndarray:
        """[n_src, K_dst] packets to each destination core (0/1; none inside one core)."""
        reach = (self.neurons.table > 0) & (not self.local)
        return reach.astype(np.int64)[self.neurons.row_of_neuron]

    @property
    def packets_per_neuron(self) -> np.ndarray:
        """[n_src]"""
        return self.neurons.pattern_packets[self.neurons.pattern_of_neuron]

    @property
    def hops_dir_per_neuron(self) -> np.ndarray:
        """[n_src, 4]"""
        return self.neurons.pattern_dirs[self.neurons.pattern_of_neuron]

    @property
    def chip_hops_per_neuron(self) -> np.ndarray:
        """[n_src]"""
        return self.neurons.pattern_chip_hops[self.neurons.pattern_of_neuron]


@dataclass
class Mapping:
    layers: dict[str, LayerPlacement]
    order: list[str]                              # placed layers in graph index order
    groups: list[Group]
    positions: list[Position]                     # core id -> mesh position
    links: list[tuple[Position, Position]]        # link id -> directed mesh link
    routes: dict[tuple[str, str], Route]
    emit_shares: dict[str, np.ndarray]            # layer -> [T, K] share of emitted spikes per core
    images_in_flight: int
    notes: list[str] = field(default_factory=list)
    chip_links: np.ndarray = None                 # [links] bool: a chip-to-chip link (all False on one chip)
    synaptic_memory: dict | None = None           # storage per_synapse: synapses per core vs capacity

    @property
    def cores_used(self) -> int:
        return sum(len(g.cores) for g in self.groups)

    def summary(self) -> dict:
        spilled = {n: round(p.spill_fraction, 4) for n, p in self.layers.items() if p.spill_fraction > 0}
        return {
            "cores_total": len(self.positions),
            "cores_used": self.cores_used,
            "layers": {n: {"cores": list(p.cores), "channels_per_core": list(p.channels_per_core),
                           "weights_kib": round(p.weight_bits / 8192, 2),
                           "potentials_kib": round(p.potential_bits / 8192, 2),
                           "spill_fraction": round(p.spill_fraction, 4), "split": p.split}
                       for n, p in self.layers.items()},
            "spilled_layers": spilled,
            "split": _split_summary([p.split for p in self.layers.values()]),
            "shared_cores": any(len(g.layers) > 1 for g in self.groups),
            "images_in_flight": self.images_in_flight,
            "notes": list(self.notes),
        }


def _split_summary(splits: list[str]) -> str:
    used = {s for s in splits if s != "n/a"}
    if not used:
        return "n/a"
    if used == {"channels"}:
        return "per-channel counts"
    return "even" if used == {"even"} else "per-channel counts where present, else even"


# ----------------------------------------------------------------------------------------------------
# per-layer demands
# ----------------------------------------------------------------------------------------------------
def _channels(g: nx.DiGraph, name: str) -> int:
    return int(lg.layer(g, name).shape[0])


def window_steps(g: nx.DiGraph, name: str) -> int:
    """Neuron-update steps per work item of a layer: 1 per timestep, or a TTFS layer's window."""
    return int(lg.neuron_of(g, name)["window_steps"])


def state_words(g: nx.DiGraph, name: str) -> int:
    """Membrane state words per neuron (LIF 1; TTFS and current-based LIF 2: current and voltage)."""
    return int(lg.neuron_of(g, name)["state_words"])


def dense_inputs(g: nx.DiGraph, name: str) -> list[tuple[str, dict]]:
    """In-edges whose source is a real-valued (non-spiking) input: they multiply, not accumulate."""
    return [(u, a) for u, _, a in g.in_edges(name, data=True) if u == lg.INPUT and not lg.layer(g, u).spiking]


def _mean_item_work(hw: HwConfig, g: nx.DiGraph, wl: Workload, name: str) -> dict:
    """Mean work of one (sample, timestep) item of a layer, over all samples and timesteps: an estimate
    for placement only (the exact counts are counts.py's)."""
    idx = {n: lg.layer(g, n).index for n in g.nodes}
    mean_spikes = wl.spikes.mean(axis=(0, 2))
    wb, pb = hw.precision.weight_bits, hw.core.weight_sram.port_bits
    acc = macs = words = 0.0
    for u, _, a in g.in_edges(name, data=True):
        if (u, a) in dense_inputs(g, name):
            reuse = 1.0 / wl.timesteps if hw.first_layer_reuse else 1.0
            macs += a["synapses"] * reuse
            words += lg.layer(g, u).neurons * math.ceil(a["fan_out"] * wb / pb) * reuse
        else:
            acc += mean_spikes[idx[u]] * a["fan_out"]
            if a["weights"] > 0:
                words += mean_spikes[idx[u]] * math.ceil(a["fan_out"] * wb / pb)
    updates = lg.layer(g, name).neurons * window_steps(g, name)
    return {"acc": acc, "macs": macs, "words": words, "updates": updates}


def _potential_bits(hw: HwConfig, g: nx.DiGraph, wl: Workload, name: str) -> int:
    copies = state_words(g, name) + (1 if hw.first_layer_reuse and dense_inputs(g, name) else 0)
    return lg.layer(g, name).neurons * hw.precision.potential_bits * copies * hw.pipeline.images_in_flight


def stored_weight_bits(hw: HwConfig, g: nx.DiGraph, name: str) -> int:
    """Bits of a layer's in-edges in the weight SRAM: its distinct weights (``shared_kernel``: a conv
    kernel once) or every synapse (``per_synapse``, ``bits_per_synapse`` each)."""
    ws = hw.core.weight_sram
    if ws.storage == "per_synapse":
        return lg.layer(g, name).synapses * ws.bits_per_synapse
    return lg.layer(g, name).weights * hw.precision.weight_bits


def split_channels(channels: int, cores: int) -> tuple[int, ...]:
    """Contiguous near-equal blocks: the first ``channels % cores`` cores hold one more channel."""
    base, extra = divmod(channels, cores)
    return tuple(base + (1 if k < extra else 0) for k in range(cores))


def _spill(weight_bits: int, max_share: float, cap_bits: int) -> float:
    """Fraction of weight reads that go off chip: the fullest core's excess over its weight SRAM."""
    need = weight_bits * max_share
    return 0.0 if need <= cap_bits else 1.0 - cap_bits / need


def _estimate(hw: HwConfig, work: dict, channels: int, cores: int, spill: float) -> float:
    """Estimated cycles of one work item on ``cores`` cores (placement heuristic only)."""
    c = hw.core
    share = math.ceil(channels / cores) / channels
    pe = work["acc"] * share / c.pe_array.accumulates_per_cycle + work["macs"] * share / c.pe_array.macs_per_cycle
    onchip_words = work["words"] * (1 - spill)
    wsram = onchip_words * share / c.weight_sram.banks
    off = work["words"] * spill * c.weight_sram.port_bits / offchip_bits_per_cycle(hw) if spill else 0.0
    upd = work["updates"] * share / c.neuron_unit.updates_per_cycle
    return max(pe, wsram, off) + upd


# ----------------------------------------------------------------------------------------------------
# placement
# ----------------------------------------------------------------------------------------------------
def _no_fit(hw: HwConfig, why: str) -> UserError:
    if hw.mesh.n_chips > 1:
        chips = hw.mesh.chips
        return UserError(hw.source, "mesh.chips", f"the network cannot fit: {why} ({chips.rows}x{chips.cols} chips "
                         f"of {hw.mesh.cores_per_chip} cores)")
    return UserError(hw.source, "mesh", f"the network cannot fit: {why}")


def _allot_cores(hw, g, order, works, pots, wbits) -> dict[str, int]:
    """Rules 2-4: potentials first, then the spare cores greedily to the slowest layer."""
    n_cores = hw.n_cores
    pot_cap, w_cap = hw.core.potential_sram.capacity_bits, hw.core.weight_sram.capacity_bits
    cores = {}
    for name in order:
        ch = _channels(g, name)
        per_channel = pots[name] / ch
        if per_channel > pot_cap:
            raise _no_fit(hw, f"one channel of layer {name} needs {per_channel / 8192:.1f} KiB of membrane "
                              f"potentials, a core's potential SRAM holds {pot_cap / 8192:.1f} KiB "
                              f"(fewer pipeline.images_in_flight or a larger core.potential_sram)")
        c = max(1, math.ceil(pots[name] / pot_cap))
        while math.ceil(ch / c) * per_channel > pot_cap:
            c += 1
        cores[name] = c
    need = sum(cores.values())
    if need > n_cores:
        raise _no_fit(hw, f"the membrane potentials need {need} cores, the mesh has {n_cores} "
                          f"(fewer pipeline.images_in_flight, a larger core.potential_sram or more cores)")
    # Weights too (rule 3): give each layer the cores that hold all its weights, when the chip can.
    hold = {}
    for name in order:
        ch, c = _channels(g, name), cores[name]
        while c < ch and math.ceil(ch / c) / ch * wbits[name] > w_cap:
            c += 1
        hold[name] = c
    if hw.mapping.hold_weights and sum(hold.values()) <= n_cores:
        cores, need = hold, sum(hold.values())

    def est(name: str, c: int) -> float:
        ch = _channels(g, name)
        return _estimate(hw, works[name], ch, c, _spill(wbits[name], math.ceil(ch / c) / ch, w_cap))

    heap = [(-est(n, cores[n]), i, n) for i, n in enumerate(order)]
    heapq.heapify(heap)
    spare = n_cores - need
    while spare and heap:
        _, i, name = heapq.heappop(heap)
        if cores[name] >= _channels(g, name):
            break                     # the slowest layer cannot be split further: more cores gain nothing
        cores[name] += 1
        spare -= 1
        heapq.heappush(heap, (-est(name, cores[name]), i, name))
    return cores


def _partition_shared(hw, g, order, works, pots) -> list[list[str]]:
    """Rule 5: contiguous groups of layers, one core each, minimising the largest group estimate."""
    n_cores, pot_cap = hw.n_cores, hw.core.potential_sram.capacity_bits
    est = [_estimate(hw, works[n], _channels(g, n), 1, 0.0) for n in order]
    for n in order:
        if pots[n] > pot_cap:
            raise _no_fit(hw, f"layer {n} needs {pots[n] / 8192:.1f} KiB of membrane potentials and must share "
                              f"one core ({len(order)} layers, {n_cores} cores); a core holds {pot_cap / 8192:.1f} KiB")

    def pack(bound: float) -> list[list[str]] | None:
        groups, cur, t, p = [], [], 0.0, 0
        for n, e in zip(order, est):
            if cur and (t + e > bound * (1 + 1e-12) or p + pots[n] > pot_cap):
                groups.append(cur)
                cur, t, p = [], 0.0, 0
            cur.append(n)
            t += e
            p += pots[n]
        groups.append(cur)
        return groups if len(groups) <= n_cores else None

    prefix = np.concatenate([[0.0], np.cumsum(est)])
    candidates = sorted({prefix[j] - prefix[i] for i in range(len(order)) for j in range(i + 1, len(order) + 1)})
    lo = bisect.bisect_left(candidates, max(est))
    hi = len(candidates) - 1
    if pack(candidates[hi]) is None:
        raise _no_fit(hw, f"{len(order)} layers do not fit on {n_cores} cores with their membrane potentials")
    while lo < hi:
        mid = (lo + hi) // 2
        if pack(candidates[mid]) is None:
            lo = mid + 1
        else:
            hi = mid
    return pack(candidates[lo])


def _emit_shares(g: nx.DiGraph, wl: Workload, name: str, neurons_per_core: tuple[int, ...]) -> tuple[np.ndarray, str]:
    """[T, K] share of the layer's emitted spikes on each of its cores (rule 7). A channel's spikes are
    spread evenly over its positions, so a core holding part of a channel plane gets that part."""
    t_steps, ch = wl.timesteps, _channels(g, name)
    neurons = lg.layer(g, name).neurons
    even = np.array(neurons_per_core, dtype=np.float64) / neurons
    counts = wl.channel_spikes_mean.get(name)
    if counts is None:
        return np.repeat(even[None, :], t_steps, axis=0), ("even" if lg.layer(g, name).spiking else "n/a")
    if counts.shape[0] != ch:
        raise UserError(str(wl.source or "workload"), f"channels_{name}",
                        f"has {counts.shape[0]} channels, layer {name} has {ch}")
    plane = neurons // ch
    bounds = np.concatenate([[0], np.cumsum(neurons_per_core)])
    starts = np.arange(ch) * plane
    overlap = np.clip(np.minimum(starts[:, None] + plane, bounds[None, 1:])
                      - np.maximum(starts[:, None], bounds[None, :-1]), 0, None) / plane     # [C, K]
    per = (counts.astype(np.float64).T @ overlap)                                  # [T, K]
    tot = per.sum(axis=1, keepdims=True)
    shares = np.where(tot > 0, per / np.where(tot > 0, tot, 1.0), even[None, :])
    return shares, "channels"


def _unique_ints(keys: np.ndarray, space: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``np.unique(keys, return_inverse=True, return_counts=True)`` of non-negative integer ``keys`` below
    ``space``, the same arrays: by counting where the key space is not much bigger than the keys (a
    224x224 layer's 3.2 M neurons fall in 784 cores x 544 rows), by sorting otherwise."""
    if space > 4 * len(keys) + 4096:
        key, inverse, n = np.unique(keys, return_inverse=True, return_counts=True)
        return key, inverse.reshape(-1), n
    counts = np.bincount(keys, minlength=space)
    key = np.flatnonzero(counts)
    return key.astype(keys.dtype), (np.cumsum(counts > 0) - 1)[keys], counts[key]


_SUM_BLOCK = 1 << 22      # nonzero synapse counts summed at once


def _core_sums(pair_core: np.ndarray, weight: np.ndarray, rows: np.ndarray, table: np.ndarray, k_src: int) -> np.ndarray:
    """``[K_src, K_dst]`` sum over (source core, row) pairs of weight x table[row], per source core, over
    the table's nonzeros only (a neuron-split layer's rows reach few of the cores), in blocks of pairs.
    Where the [K_src, rows] matrix of weights is small, one matrix product instead (rows that reach every
    core: a 224x224 VGG16 layer's 90 k pairs x 196 cores). Sums of integers: exact in float64, in any order."""
    k_dst = table.shape[1]
    if k_src * len(table) <= _SUM_BLOCK:
        per_row = np.bincount(pair_core * len(table) + rows, weights=weight, minlength=k_src * len(table))
        return per_row.reshape(k_src, len(table)) @ table.astype(np.float64)
    nz_row, nz_col = np.nonzero(table)
    nz_val = table[nz_row, nz_col].astype(np.float64)
    row_len = np.bincount(nz_row, minlength=len(table))
    row_start = np.cumsum(row_len) - row_len
    lens = row_len[rows]
    out = np.zeros(k_src * k_dst)
    lo, cum = 0, np.cumsum(lens)
    while lo < len(rows):
        base = cum[lo - 1] if lo else 0
        hi = max(lo + 1, int(np.searchsorted(cum, base + _SUM_BLOCK, side="right")))
        run, idx = expand_runs(row_start[rows[lo:hi]], lens[lo:hi], np.ones(hi - lo, dtype=np.int64))
        out += np.bincount(pair_core[lo:hi][run] * k_dst + nz_col[idx], weights=weight[lo:hi][run] * nz_val[idx],
                           minlength=k_src * k_dst)
        lo = hi
    return out.reshape(k_src, k_dst)


@dataclass(frozen=True)
class Fabric:
    """The links spikes travel (archsim.mesh), as the routes need them: the system's link grid, each
    link's direction and whether it joins two chips, and what a hop and a chip crossing take."""
    grid: np.ndarray                  # [grid rows, grid cols, 4] link ids (archsim.mesh.link_grid)
    link_dir: np.ndarray              # [links] DIRECTIONS index
    chip: np.ndarray                  # [links] bool: a chip-to-chip link
    chip_size: tuple[int, int]        # tiles of one chip: rows, cols
    hop_cycles: int                   # router.hop_latency_cycles
    chip_cycles: int = 0              # one chip crossing (archsim.units.chip_link.latency_cycles)
    chip_flit_time: float = 1.0       # a chip link's cycles per flit over an on-chip link's

    @classmethod
    def of(cls, hw: HwConfig) -> "Fabric":
        grid = link_grid(*hw.mesh.grid)
        chip = chip_links(grid, hw.mesh.rows, hw.mesh.cols)
        size, hop = (hw.mesh.rows, hw.mesh.cols), hw.router.hop_latency_cycles
        if hw.mesh.n_chips == 1:
            return cls(grid, link_directions(grid), chip, size, hop)
        return cls(grid, link_directions(grid), chip, size, hop, chip_link.latency_cycles(hw),
                   chip_link.cycles_per_flit(hw) / network.cycles_per_flit(hw))

    def path_cycles(self, a: np.ndarray, b: np.ndarray) -> int:
        """Cycles of the slowest of the XY paths a[i] -> b[i] (int [E, 2] positions): a hop each on chip,
        a chip crossing each between chips."""
        if not len(a):
            return 0
        hops = np.abs(b - a).sum(axis=1)
        if not self.chip.any():
            return int(hops.max()) * self.hop_cycles
        crossings = chip_hops(a, b, *self.chip_size)
        return int(((hops - crossings) * self.hop_cycles + crossings * self.chip_cycles).max())

    def split_hops(self, entry_pat: np.ndarray, entry_link: np.ndarray, entry_uses: np.ndarray, n_pat: int
                   ) -> tuple[np.ndarray, np.ndarray]:
        """Per pattern, from the (pattern, link, crossings) entries of its routes: on-chip packet-hops per
        direction [P, 4] and chip-link crossings [P]."""
        if not self.chip.any():
            dirs = np.bincount(entry_pat * 4 + self.link_dir[entry_link], weights=entry_uses, minlength=n_pat * 4)
            return dirs.reshape(n_pat, 4), np.zeros(n_pat)
        on = ~self.chip[entry_link]
        dirs = np.bincount(entry_pat[on] * 4 + self.link_dir[entry_link[on]], weights=entry_uses[on],
                           minlength=n_pat * 4).reshape(n_pat, 4)
        return dirs, np.bincount(entry_pat[~on], weights=entry_uses[~on], minlength=n_pat)

    def flit_time(self, link_ids: np.ndarray) -> np.ndarray | None:
        """[J] a flit's time on each of the links, in on-chip link times (None: all on chip)."""
        chip = self.chip[link_ids]
        return np.where(chip, self.chip_flit_time, 1.0) if chip.any() else None


def _local_route(src: LayerPlacement, dst: LayerPlacement, syn, row_of_neuron, mean_fan, events_mean) -> Route:
    """Both layers on the same core(s): no packets, but the synaptic events still happen there (the
    barrier timing times them)."""
    k_src, k_dst = len(src.cores), len(dst.cores)
    z = np.zeros(k_src)
    kinds = NeuronKinds(syn.table, row_of_neuron, np.zeros(src.neurons, np.int32), np.zeros(1), np.zeros((1, 4)),
                        np.zeros(1))
    return Route(src.name, dst.name, True, z, z.copy(), np.zeros(0, dtype=np.int64), np.zeros((k_src, 0)), 0,
                 np.zeros((k_src, 4)), mean_fan, events_mean, np.zeros((k_src, k_dst)), kinds, z.copy())


def _route(g: nx.DiGraph, src: LayerPlacement, dst: LayerPlacement, positions: np.ndarray, fabric: Fabric,
           multicast: bool) -> Route:
    """Rule 7 for edge src -> dst: which cores each source neuron's spike must reach, and the packets,
    hops (per direction; chip crossings apart) and links that costs, averaged over each source core
    (per neuron on demand).

    Computed per (source core, connectivity row) pair and per pattern (source core, set of destination
    cores), never per neuron x core: borders and chunk edges make only a few distinct ones."""
    k_src, k_dst = len(src.cores), len(dst.cores)
    syn = synapse_rows(g, src.name, dst.name, dst.core_of_neuron(), k_dst)
    core_of = src.core_of_neuron()
    n_rows = len(syn.table)
    pair_key, pair_of_neuron, pair_n = _unique_ints(core_of * n_rows + syn.row_of_neuron, k_src * n_rows)
    pair_core, pair_row = pair_key // n_rows, pair_key % n_rows
    per_core_n = np.bincount(core_of, minlength=k_src).astype(np.float64)
    fan_row = syn.table.sum(axis=1)
    events_mean = _core_sums(pair_core, pair_n.astype(np.float64), pair_row, syn.table, k_src) / per_core_n[:, None]
    mean_fan = np.bincount(pair_core, weights=pair_n * fan_row[pair_row], minlength=k_src) / per_core_n
    row_of_neuron = syn.row_of_neuron.astype(np.int32)
    if set(src.cores) == set(dst.cores):
        return _local_route(src, dst, syn, row_of_neuron, mean_fan, events_mean)
    reach_rows, reach_of_row = unique_rows(syn.table > 0)
    received_mean = _core_sums(pair_core, pair_n.astype(np.float64), reach_of_row[pair_row],
                               reach_rows.astype(np.int64), k_src) / per_core_n[:, None]
    # one pattern per (source core, set of destination cores)
    n_reach = len(reach_rows)
    pat_key, pattern_of_pair, _ = _unique_ints(pair_core * n_reach + reach_of_row[pair_row], k_src * n_reach)
    pat_core, pat_reach = pat_key // n_reach, pat_key % n_reach
    pat_n = np.bincount(pattern_of_pair, weights=pair_n, minlength=len(pat_key))       # source neurons each
    # every (pattern, destination core) pair, and the XY links of all of them at once
    pair_pat, dest = np.nonzero(reach_rows[pat_reach])
    a = positions[np.asarray(src.cores)[pat_core[pair_pat]]]
    b = positions[np.asarray(dst.cores)[dest]]
    n_pat = len(pat_key)
    max_hops = int(np.abs(b - a).sum(axis=1).max()) if len(a) else 0
    entry_pat, entry_link, entry_uses = xy_links_by_set(pair_pat, a, b, fabric.grid, n_pat)
    if multicast:
        entry_uses = np.ones_like(entry_uses)
        pat_packets = (np.bincount(pair_pat, minlength=n_pat) > 0).astype(np.float64)
    else:
        pat_packets = np.bincount(pair_pat, minlength=n_pat).astype(np.float64)
    pat_dirs, pat_chip = fabric.split_hops(entry_pat, entry_link, entry_uses, n_pat)
    ids, col, _ = _unique_ints(entry_link, len(fabric.link_dir))
    link_uses = np.zeros((k_src, len(ids)))
    np.add.at(link_uses, (pat_core[entry_pat], col), pat_n[entry_pat] * entry_uses)
    link_uses /= per_core_n[:, None]

    def per_core(per_pattern: np.ndarray) -> np.ndarray:     # [P] -> [K_src] mean over each core's neurons
        return np.bincount(pat_core, weights=pat_n * per_pattern, minlength=k_src) / per_core_n

    dirs = np.stack([per_core(pat_dirs[:, d]) for d in range(4)], 1)
    kinds = NeuronKinds(syn.table, row_of_neuron, pattern_of_pair[pair_of_neuron].astype(np.int32),
                        pat_packets, pat_dirs, pat_chip)
    return Route(src.name, dst.name, False, per_core(pat_packets), per_core(pat_dirs.sum(axis=1) + pat_chip),
                 ids.astype(np.int64), link_uses, max_hops, dirs, mean_fan, events_mean, received_mean, kinds,
                 per_core(pat_chip), fabric.path_cycles(a, b), fabric.flit_time(ids))


def _neuron_chunks(hw: HwConfig, g: nx.DiGraph, order: list[str], pots: dict[str, int],
                   chunks: dict[str, tuple[int, ...]]) -> dict[str, int]:
    """Rule 8: cores per layer when layers are cut into chunks of at most max_neurons_per_core neurons
    (or into the explicit ``chunks`` given for a layer)."""
    cap, pot_cap = hw.mapping.max_neurons_per_core, hw.core.potential_sram.capacity_bits
    cores = {}
    for n in order:
        neurons = lg.layer(g, n).neurons
        cores[n] = len(chunks[n]) if n in chunks else math.ceil(neurons / cap)
        if n in chunks and (sum(chunks[n]) != neurons or max(chunks[n]) > cap or min(chunks[n]) < 1):
            raise _no_fit(hw, f"layer {n}'s explicit chunks {list(chunks[n])} must be 1 to {cap} neurons each, "
                              f"{neurons} in all")
        chunk_bits = pots[n] * (max(chunks[n]) if n in chunks else min(cap, neurons)) / neurons
        if chunk_bits > pot_cap:
            raise _no_fit(hw, f"a {min(cap, neurons)}-neuron chunk of layer {n} needs {chunk_bits / 8192:.1f} KiB of "
                              f"membrane potentials, a core's potential SRAM holds {pot_cap / 8192:.1f} KiB")
    need = sum(cores.values())
    if need > hw.n_cores:
        raise _no_fit(hw, f"chunks of at most {cap} neurons need {need} cores, the mesh has {hw.n_cores}")
    return cores


def placed_layers(hw: HwConfig, g: nx.DiGraph) -> list[str]:
    """The layers that occupy cores, in graph order: every layer but the input, and the input too when
    it is a spiking population placed on cores (``mapping.input: cores``)."""
    order = [n for n in lg.layer_names(g) if n != lg.INPUT]
    if hw.mapping.input == "cores":
        if not lg.layer(g, lg.INPUT).spiking:
            raise UserError(hw.source, "mapping.input", "'cores' needs a spike-encoded input; this workload's "
                            "input is real-valued (direct encoding): use 'dma'")
        order.insert(0, lg.INPUT)
    return order


def map_network(hw: HwConfig, wl: Workload, chunks: dict[str, tuple[int, ...]] | None = None,
                refuse_overfull: bool = True) -> Mapping:
    """Place the workload's layer graph on the hardware (rules in the module docstring). ``chunks``
    (``split: neurons`` only): explicit neurons per core for some layers, on consecutive cores in
    placement order (a validation network's placement, archsim.validate.network). Under ``storage:
    per_synapse`` a core whose synapses overfill its weight SRAM is refused (rule 10), or, with
    ``refuse_overfull=False``, only noted (:func:`synaptic_memory`)."""
    chunks = chunks or {}
    if chunks and hw.mapping.split != "neurons":
        raise UserError(hw.source, "mapping.split", "an explicit placement needs split: neurons")
    g = wl.graph
    order = placed_layers(hw, g)
    works = {n: _mean_item_work(hw, g, wl, n) for n in order}
    pots = {n: _potential_bits(hw, g, wl, n) for n in order}
    wbits = {n: stored_weight_bits(hw, g, n) for n in order}
    per_synapse = hw.core.weight_sram.storage == "per_synapse"
    positions = hw.mesh.positions()
    w_cap = hw.core.weight_sram.capacity_bits
    notes: list[str] = []
    by_neurons = hw.mapping.split == "neurons"

    if by_neurons or len(order) <= hw.n_cores:
        n_cores = _neuron_chunks(hw, g, order, pots, chunks) if by_neurons else _allot_cores(hw, g, order, works, pots, wbits)
        groups_layers = [[n] for n in order]
        group_cores, next_core = [], 0
        for n in order:
            group_cores.append(tuple(range(next_core, next_core + n_cores[n])))
            next_core += n_cores[n]
    else:
        groups_layers = _partition_shared(hw, g, order, works, pots)
        group_cores = [(i,) for i in range(len(groups_layers))]
        notes.append(f"{len(order)} layers on {hw.n_cores} cores: consecutive layers share a core")

    layers: dict[str, LayerPlacement] = {}
    shares: dict[str, np.ndarray] = {}
    groups = []
    for gi, (names, cores) in enumerate(zip(groups_layers, group_cores)):
        groups.append(Group(gi, tuple(names), cores))
        group_wbits = sum(wbits[n] for n in names)
        for n in names:
            ch, neurons = _channels(g, n), lg.layer(g, n).neurons
            if by_neurons:
                cap = hw.mapping.max_neurons_per_core
                per_neurons = chunks.get(n) or tuple(min(cap, neurons - k * cap) for k in range(len(cores)))
                per_core = tuple(math.ceil(x * ch / neurons) for x in per_neurons)   # channels touched (report)
            else:
                per_core = split_channels(ch, len(cores))
                per_neurons = tuple(c * (neurons // ch) for c in per_core)
            if per_synapse:           # checked core by core below (synaptic_memory): nothing spills
                spill = 0.0
            elif len(names) > 1:      # shared core: the core's weight SRAM holds all its layers
                spill = 0.0 if group_wbits <= w_cap else 1.0 - w_cap / group_wbits
            else:
                spill = _spill(wbits[n], max(per_neurons) / neurons, w_cap)
            if spill > 0 and hw.offchip is None:
                raise _no_fit(hw, f"layer {n} needs {wbits[n] / 8192:.0f} KiB of weights on {len(cores)} core(s) "
                                  f"holding {w_cap * len(cores) / 8192:.0f} KiB, and there is no off-chip memory")
            share, how = _emit_shares(g, wl, n, per_neurons)
            shares[n] = share
            layers[n] = LayerPlacement(n, lg.layer(g, n).index, gi, cores, ch, per_core, wbits[n], pots[n],
                                       float(spill), how, per_neurons, "neurons" if by_neurons else "channels")

    links, _ = link_index(*hw.mesh.grid)
    fabric = Fabric.of(hw)
    pos = np.array(positions, dtype=np.int64).reshape(-1, 2)
    routes = {}
    for u, v in g.edges:
        if u not in layers:
            continue                  # the input arrives by DMA (mapping.input: dma)
        routes[(u, v)] = _route(g, layers[u], layers[v], pos, fabric, hw.router.multicast)
    if any(p.spill_fraction > 0 for p in layers.values()):
        notes.append("weights spill off chip: " + ", ".join(
            f"{n} {p.spill_fraction:.0%}" for n, p in layers.items() if p.spill_fraction > 0))
    memory = synaptic_memory(hw, g, layers, routes, refuse=refuse_overfull) if per_synapse else None
    if memory and memory["overfull"]:
        notes.append(f"synaptic memory overfull on {len(memory['overfull'])} cores (not refused); the fullest: "
                     + overfull_text(memory))
    return Mapping(layers, order, groups, positions, links, routes, shares, hw.pipeline.images_in_flight, notes,
                   chip_links=fabric.chip, synaptic_memory=memory)


def synapses_per_core(g: nx.DiGraph, layers: dict[str, LayerPlacement], routes: dict[tuple[str, str], Route],
                      n_cores: int) -> np.ndarray:
    """``[n_cores]`` synapses each core holds: every synapse sits on the core of its target neuron.
    Summed from the connectivity rows (archsim.connectivity): a row's synapses per destination core
    times the source neurons that share it; no synapse list is built."""
    held = np.zeros(n_cores, dtype=np.int64)
    for u, v in g.edges:
        if v not in layers:
            continue
        place = layers[v]
        if (u, v) in routes:
            table, rows = routes[(u, v)].neurons.table, routes[(u, v)].neurons.row_of_neuron
        else:                         # the input arrives by DMA: no route, its synapses are still stored
            syn = synapse_rows(g, u, v, place.core_of_neuron(), len(place.cores))
            table, rows = syn.table, syn.row_of_neuron
        per_dst = np.bincount(rows, minlength=len(table)).astype(np.int64) @ table
        np.add.at(held, np.asarray(place.cores), per_dst)
    return held


def synaptic_memory(hw: HwConfig, g: nx.DiGraph, layers: dict[str, LayerPlacement],
                    routes: dict[tuple[str, str], Route], refuse: bool = True) -> dict:
    """``storage: per_synapse``: each core's synapses x ``bits_per_synapse`` against its weight SRAM.
    A core over capacity is refused (UserError naming the core), or with ``refuse=False`` listed in the
    result's ``overfull`` (archsim validate: SANA-FE, the reference, does not model synaptic memory)."""
    bits, cap_kib = hw.core.weight_sram.bits_per_synapse, hw.core.weight_sram.size_kib
    held = synapses_per_core(g, layers, routes, hw.n_cores)
    on_core: dict[int, list[str]] = {}
    for name, place in layers.items():
        for c in place.cores:
            on_core.setdefault(c, []).append(name)
    kib = held * bits / 8192
    over = [c for c in np.flatnonzero(kib > cap_kib)]
    out = {"bits_per_synapse": bits, "capacity_kib": cap_kib, "max_synapses_per_core": int(held.max(initial=0)),
           "max_kib_per_core": round(float(kib.max(initial=0.0)), 3), "per_core": held.tolist(),
           "overfull": [{"core": int(c), "layers": on_core.get(int(c), []), "synapses": int(held[c]),
                         "kib": round(float(kib[c]), 3)} for c in over]}
    if out["overfull"] and refuse:
        raise UserError(hw.source, "mapping", overfull_text(out) +
                        (f" (and {len(over) - 1} more cores)" if len(over) > 1 else ""))
    return out


def overfull_text(memory: dict) -> str:
    """The fullest overfull core, in words (the lowest core id among equals)."""
    o = max(memory["overfull"], key=lambda x: (x["synapses"], -x["core"]))
    return (f"core {o['core']} ({', '.join(o['layers'])}) holds {o['synapses']:,} synapses x "
            f"{memory['bits_per_synapse']} bits = {o['kib']:.1f} KiB > {memory['capacity_kib']:g} KiB synaptic memory")

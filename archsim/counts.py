"""Action counts per work item (sample, layer, timestep): the work the hardware must do, and the oracle.

A pure, vectorised function of (hwconfig, mapping, workload, exit plan). It is what ``--mode analytic``
reports, and what the SimPy model must reproduce exactly: the simulation decides *which* items run and
*when*; the items' counts are these. Every count is an integer (rounded half up where an average such
as a conv's mean fan-out makes it fractional) so totals compare exactly.

What is counted, and how, is each hardware unit's (archsim.units, one module per block; the definitions
are in each unit's docstring). This module builds what every unit reads, once per layer (a
archsim.units.base.LayerContext: the layer's spikes, what arrives over each in-edge, what leaves over
the mesh, its synaptic events), then asks the chip's units in pipeline order; a unit may read the
counts of the units before it. Where spikes land: per source neuron where the workload records
per-neuron spikes for the sample, else the mean over the neurons of the core that emitted it, the spikes
of a layer being apportioned to its cores by mapping.emit_shares; fan-outs, target cores and hops come
from archsim.connectivity through the mapping's routes.

- ``setup`` (once per run, not per item): the units' counts of the initial load of the on-chip weights.
- ``decisions`` depend on the exit plan only (:meth:`ItemCounts.for_plan`).
- ``core_load`` (only for the barrier timing mode, which times each core): per layer and core, the
  events each core handles, from the units' ``core_load`` (the rows with a barrier phase).
"""
from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np

from archsim import graph as lg
from archsim import units
from archsim.hwconfig import HwConfig
from archsim.errors import UserError
from archsim.exit_policy import ExitPlan
from archsim.mapping import Mapping, dense_inputs, state_words, window_steps
from archsim.units.axon import pooled_cell_events
from archsim.units.base import apportion  # noqa: F401  (re-exported: the mapping's tests split with it)
from archsim.units.base import InEdge, InputSource, LayerContext, Spikes, edge_sum
from archsim.units.controller import decisions as controller_decisions
from archsim.units.neuron_activity import layer_activity
from archsim.units.network import busiest_link_flits, flits_per_packet
from archsim.workload import Workload


@dataclass
class ItemCounts:
    """Counts of every item, executed or not; ``totals(mask)`` sums the items that ran."""
    layers: list[str]                                   # the L' axis (mapping.order)
    actions: dict[str, np.ndarray]                      # action -> int64 [N, L', T]
    edge_spikes: dict[tuple[str, str], np.ndarray]      # (u, v) -> [N, T] spikes u sends v (u's items)
    edge_max_link_flits: dict[tuple[str, str], np.ndarray]   # (u, v) -> [N, T] flits on its busiest link
    core_spikes: dict[str, np.ndarray]                  # u -> [N, T, K_u] emitted spikes per core
    fpp: int                                            # flits per packet
    core_load: dict[str, dict[str, np.ndarray]] | None = None   # layer -> load -> [N, T, K_l] (barrier)
    setup: dict[str, int] | None = None         # counts done once per run (the initial weight load)

    def for_plan(self, plan: ExitPlan, wl: Workload) -> "ItemCounts":
        """The same counts under another exit plan: only the controller's decisions depend on it (one
        after each timestep but the last possible, on the output layer, for adaptive policies)."""
        sink = None
        if plan.adaptive:
            g = wl.graph
            sinks = [i for i, name in enumerate(self.layers) if g.out_degree(name) == 0]
            if len(sinks) != 1:
                raise UserError(_wl_source(wl), "graph_json", f"the exit controller needs one output layer, "
                                f"the graph has {len(sinks)}: {', '.join(self.layers[i] for i in sinks)}")
            sink = sinks[0]
        decisions = controller_decisions(self.actions["accumulates"].shape, plan.adaptive, plan.max_t, sink)
        return ItemCounts(self.layers, {**self.actions, "decisions": decisions}, self.edge_spikes,
                          self.edge_max_link_flits, self.core_spikes, self.fpp, self.core_load, self.setup)

    def take(self, index) -> "ItemCounts":
        """The counts of the samples ``index`` (as archsim.workload.Workload.take)."""
        load = None if self.core_load is None else {
            name: {k: v[index] for k, v in d.items()} for name, d in self.core_load.items()}
        return ItemCounts(self.layers, {a: v[index] for a, v in self.actions.items()},
                          {e: v[index] for e, v in self.edge_spikes.items()},
                          {e: v[index] for e, v in self.edge_max_link_flits.items()},
                          {u: v[index] for u, v in self.core_spikes.items()}, self.fpp, load, self.setup)

    def totals(self, mask: np.ndarray) -> dict[str, int]:
        return {a: int(v[mask].sum()) for a, v in self.actions.items()}

    def per_layer(self, mask: np.ndarray) -> dict[str, np.ndarray]:
        return {a: np.where(mask, v, 0).sum(axis=(0, 2)) for a, v in self.actions.items()}

    def per_sample(self, mask: np.ndarray) -> dict[str, np.ndarray]:
        return {a: np.where(mask, v, 0).sum(axis=(1, 2)) for a, v in self.actions.items()}

    def per_sample_layer(self, mask: np.ndarray) -> dict[str, np.ndarray]:
        """count -> [N, L'] (what per-sample energy needs when prices differ per layer)."""
        return {a: np.where(mask, v, 0).sum(axis=2) for a, v in self.actions.items()}

    def link_flits(self, mapping: Mapping, mask: np.ndarray) -> np.ndarray:
        """Flits over each mesh link (mapping.links order), summed over the items that ran."""
        return link_flits(mapping, self.link_sent(mapping, mask), self.fpp)

    def link_sent(self, mapping: Mapping, mask: np.ndarray) -> dict[tuple[str, str], np.ndarray]:
        """Per mesh-crossing edge, the spikes each source core sent over it ([K] int64), summed over the
        items that ran: what :func:`link_flits` needs, and what adds up block by block (archsim.timing.chunks)."""
        li = {n: i for i, n in enumerate(self.layers)}
        return {(u, v): np.where(mask[:, li[u], :, None], self.core_spikes[u], 0).sum(axis=(0, 1))
                for (u, v), route in mapping.routes.items() if not route.local and len(route.link_ids)}


def link_flits(mapping: Mapping, sent: dict[tuple[str, str], np.ndarray], fpp: int) -> np.ndarray:
    """Flits over each mesh link (mapping.links order) of the spikes ``sent`` (ItemCounts.link_sent)."""
    out = np.zeros(len(mapping.links), dtype=np.int64)
    for uv, k_sent in sent.items():
        route = mapping.routes[uv]
        out[route.link_ids] += (k_sent @ route.link_uses).astype(np.int64) * fpp
    return out


def oracle_mask(plan: ExitPlan, n_layers: int, n_timesteps: int) -> np.ndarray:
    """[N, L', T] items that run when every sample stops exactly at its exit timestep."""
    return np.broadcast_to(plan.mask(n_timesteps)[:, None, :], (len(plan.exit_t), n_layers, n_timesteps)).copy()


def _wl_source(wl: Workload) -> str:
    return str(getattr(wl, "source", None) or "workload")


def _layer_spikes(wl: Workload, mapping: Mapping, name: str, total: np.ndarray) -> Spikes:
    per_core = apportion(total, mapping.emit_shares[name])
    raster = None
    if wl.neuron_samples is not None and name in wl.neuron_spikes:
        raster = wl.neuron_raster(name).astype(np.float64)
        onehot = np.eye(len(mapping.layers[name].cores))[mapping.layers[name].core_of_neuron()]
        per_core[wl.neuron_samples] = np.rint(raster @ onehot).astype(np.int64)
    return Spikes(total, per_core, raster)


@dataclass
class _Run:
    """What the layers' contexts share: the workload's spikes, per layer and per edge."""
    hw: HwConfig
    g: nx.DiGraph
    mapping: Mapping
    spikes: np.ndarray                        # [N, layers, T] int64, graph index order
    idx: dict[str, int]
    emitted: dict[str, Spikes]                # placed layer -> its spikes per core
    edges: dict[tuple[str, str], Spikes]      # routed edge -> what travels over it
    input_dma: bool                           # the input is not placed: it arrives by DMA
    input_owner: str | None                   # the placed layer that reads the input by DMA
    fpp: int
    samples: object
    activity: dict                            # placed layer -> its NeuronActivity (or None)


def _run_context(hw: HwConfig, mapping: Mapping, wl: Workload) -> _Run:
    g = wl.graph
    idx = {name: lg.layer(g, name).index for name in g.nodes}
    spikes = wl.spikes.astype(np.int64)
    for name in g.nodes:
        if not lg.layer(g, name).spiking and spikes[:, idx[name], :].any():
            raise UserError(_wl_source(wl), "spikes", f"layer {name} does not spike in the graph, "
                            "but the counts give it spikes (graph and counts disagree)")
    samples = wl.neuron_samples
    emitted = {u: _layer_spikes(wl, mapping, u, spikes[:, idx[u], :]) for u in mapping.order if u in mapping.emit_shares}
    edges = {(u, v): pooled_cell_events(hw, g, mapping, u, v, emitted[u], samples, wl.pooled_cells.get(u))
             for (u, v) in mapping.routes}
    input_dma = lg.INPUT not in mapping.layers
    owner = next((name for name in mapping.order if g.has_edge(lg.INPUT, name)), None) if input_dma else None
    activity = {name: layer_activity(g, wl, name) for name in mapping.order}
    return _Run(hw, g, mapping, spikes, idx, emitted, edges, input_dma, owner, flits_per_packet(hw), samples,
                activity)


def _in_edges(run: _Run, name: str) -> list[InEdge]:
    g, dense = run.g, dict(dense_inputs(run.g, name))
    out = []
    for u, _, a in g.in_edges(name, data=True):
        route = None if u in dense else run.mapping.routes.get((u, name))
        sp = run.edges[(u, name)] if route is not None else None
        cells = int(a.get("pool", 1)) ** 2 if sp is not None and sp is not run.emitted[u] else 1
        arriving = sp.total if sp is not None else run.spikes[:, run.idx[u], :]
        out.append(InEdge(u, a, u in dense, lg.layer(g, u).neurons, route, sp, arriving, cells,
                          u == lg.INPUT and run.input_dma and u not in dense))
    return out


def _synaptic_events(run: _Run, edges: list[InEdge], neurons: int, rec: dict) -> tuple[np.ndarray, float]:
    """The synaptic events arriving at a layer's items (float64 [N, T]: per spike its fan-out, exact per
    neuron where recorded, + the neuron record's extra events) and its receptive-field bits per neuron."""
    events = np.zeros(run.spikes[:, 0, :].shape)
    fan_in_bits = 0.0
    for e in edges:
        if e.dense:
            continue
        if e.route is None:                                 # the input, by DMA: layer-mean fan-out
            events += e.spikes * float(e.attrs["fan_out"])
        else:
            events += edge_sum(e.events, run.samples, e.route, "fan_out")
        fan_in_bits += float(e.attrs["synapses"]) / neurons / e.cells
    return events + neurons * rec["extra_events"], fan_in_bits


def _layer_context(run: _Run, name: str) -> LayerContext:
    hw, g, mapping = run.hw, run.g, run.mapping
    rec, neurons = lg.neuron_of(g, name), lg.layer(g, name).neurons
    edges = _in_edges(run, name)
    events, fan_in_bits = _synaptic_events(run, edges, neurons, rec)
    t_steps = run.spikes.shape[2]
    dense_steps = np.ones(t_steps, dtype=bool)
    if hw.first_layer_reuse:
        dense_steps = np.arange(t_steps) == 0
    routed = [(uv, r) for uv, r in mapping.routes.items() if not r.local]
    src = lg.layer(g, lg.INPUT)
    return LayerContext(
        hw=hw, name=name, place=mapping.layers[name], neurons=neurons, steps=window_steps(g, name),
        state_words=state_words(g, name), record=rec, in_edges=edges,
        routes_out=[(r, run.edges[uv]) for uv, r in routed if uv[0] == name],
        routes_in=[(r, run.edges[uv]) for uv, r in routed if uv[1] == name],
        out_spikes=run.spikes[:, run.idx[name], :], emitted=run.emitted.get(name), events=events,
        fan_in_bits=fan_in_bits, dense_steps=dense_steps, gather=hw.dataflow.for_layer(name) == "gather",
        samples=run.samples, fpp=run.fpp, activity=run.activity[name],
        input=InputSource(src.spiking, src.neurons, run.spikes[:, 0, :], name == run.input_owner))


def _own_counts(unit) -> set[str]:
    return {r.count for r in unit.ROWS} | set(getattr(unit, "UNPRICED", ()))


def _count_layer(ctx: LayerContext, chip: list, barrier: bool) -> None:
    """Every unit's counts of one layer into ``ctx.counts`` (and its per-core loads into ``ctx.loads``)."""
    for unit in chip:
        if hasattr(unit, "count"):
            made = unit.count(ctx)
            stray = set(made) - _own_counts(unit)
            if stray:
                raise RuntimeError(f"unit {unit.NAME} made counts it does not declare: {sorted(stray)}")
            ctx.counts.update(made)
    if barrier:
        for unit in chip:
            if hasattr(unit, "core_load"):
                ctx.loads.update(unit.core_load(ctx))


def item_counts(hw: HwConfig, mapping: Mapping, wl: Workload, plan: ExitPlan) -> ItemCounts:
    """The counts of every (sample, placed layer, timestep) item: each unit's, layer by layer."""
    run = _run_context(hw, mapping, wl)
    chip = units.present(hw)
    barrier = hw.timing.mode == "barrier"
    acts = {a: np.zeros((wl.n_samples, len(mapping.order), wl.timesteps), dtype=np.int64)
            for a in units.count_names(chip)}
    load = {} if barrier else None
    for li, name in enumerate(mapping.order):
        ctx = _layer_context(run, name)
        _count_layer(ctx, chip, barrier)
        for a, v in ctx.counts.items():
            acts[a][:, li, :] = v
        if barrier:
            load[name] = ctx.loads
    onchip_bits = sum(int(np.ceil(p.weight_bits * (1.0 - p.spill_fraction))) for p in mapping.layers.values())
    setup: dict[str, int] = {}
    for unit in chip:
        if hasattr(unit, "setup"):
            setup.update(unit.setup(hw, onchip_bits))
    edge_max = {uv: busiest_link_flits(route, run.edges[uv], run.fpp) for uv, route in mapping.routes.items()}
    counts = ItemCounts(list(mapping.order), acts, {uv: sp.total for uv, sp in run.edges.items()}, edge_max,
                        {u: sp.per_core for u, sp in run.emitted.items()}, run.fpp, load, setup)
    return counts.for_plan(plan, wl)


def check_counts(counts: ItemCounts, source: str = "workload") -> None:
    """Counts must be finite and non-negative (a corrupt workload could make them otherwise)."""
    for a, v in counts.actions.items():
        if (v < 0).any():
            raise UserError(source, "spikes", f"negative {a} count (corrupt workload)")

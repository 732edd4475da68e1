"""Action counts per work item (sample, layer, timestep): the work the hardware must do, and the oracle.

A pure, vectorised function of (hwconfig, mapping, workload, exit plan). It is what ``--mode analytic``
reports, and what the SimPy model must reproduce exactly: the simulation decides *which* items run and
*when*; the items' counts are these. Every count is an integer (rounded half up where a graph average such
as a conv's mean fan-out makes it fractional) so totals compare exactly.

Definitions (per item of a placed layer l at timestep t; S_u = spikes source u emitted at t;
K_l = cores of l; pb = the memory's port_bits; "words" are port-wide accesses):

- ``accumulates`` = round(sum over spiking in-edges u->l of S_u x fan_out(u->l)); TTFS adds per neuron
  the readout counter-input and the bias spike, and for spiking layers the forced spike (3 events).
- ``macs`` = synapses of a dense (real-valued input) edge, at every timestep, or only at the first
  when ``first_layer_reuse`` (the input current is stored and re-added).
- ``neuron_updates`` = neurons of l x steps (1 per timestep; the TTFS window, time-driven neurons).
- ``weight_reads`` = sum over weighted in-edges of S_u x ceil(fan_out x weight_bits / pb) (each spike
  reads its weight block), plus for a dense edge pixels x ceil(fan_out x weight_bits / pb); the spilled
  fraction of the layer (mapping) goes off chip instead: ``weight_spill_words`` =
  round(all x spill), ``weight_reads`` keeps the rest, ``offchip_reads`` += ceil(spilled x pb / access_bits).
- ``potential_reads`` = ``potential_writes`` = ceil(neurons x potential_bits / pb) x state words x steps
  (one read and one write per neuron update); with reuse the first layer also writes its input current
  at the first timestep and reads it at each later one (one more sweep each).
- ``spike_buffer_writes`` = S_l (one per spike produced) + the input delivered to a first layer
  (ceil(pixels x input_bits / pb) per core once per image, or one per input spike per core);
  ``spike_buffer_reads`` = sum over in-edges of S_u x K_l (every core of l reads every input spike) +
  ceil(pixels x input_bits / pb) x K_l at each timestep that computes MACs.
- ``packets``, ``packet_hops``, ``flits``, ``flit_hops`` (on the *source* layer's items): spikes of l
  are apportioned to its cores (largest remainder, by mapping.emit_shares); a spike from core k injects
  ``packets_per_spike[k]`` packets that cross ``hops_per_spike[k]`` links (mapping.Route); flits per
  packet = ceil((header_bits + spike_event_bits) / flit_bits). Edges inside one core send nothing.
- ``offchip_reads``: spilled weight words (above) + the input image, ceil(pixels x input_bits /
  access_bits) once per image (or the input spikes at each timestep), on the first placed layer that
  reads the input; none without off-chip memory. ``offchip_writes`` is 0 (nothing is written back).
- ``decisions`` (on the output layer's items): 1 after each timestep except the last possible one, for
  adaptive policies.
- ``spikes_in`` / ``spikes_out``: spikes received over in-edges from spiking layers / emitted.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from archsim import graph as lg
from archsim.config import HwConfig
from archsim.errors import UserError
from archsim.exit_policy import ExitPlan
from archsim.mapping import Mapping, dense_inputs, state_words, window_steps
from archsim.workload import Workload

ACTIONS = ("accumulates", "macs", "neuron_updates", "weight_reads", "weight_spill_words", "potential_reads",
           "potential_writes", "spike_buffer_reads", "spike_buffer_writes", "spikes_in", "spikes_out",
           "packets", "packet_hops", "flits", "flit_hops", "offchip_reads", "offchip_writes", "decisions")


def round_half_up(x: np.ndarray) -> np.ndarray:
    return np.floor(np.asarray(x, dtype=np.float64) + 0.5).astype(np.int64)


def ceil_div(a, b):
    """Integer ceil(a / b) for non-negative integer arrays/ints."""
    return -(-np.asarray(a, dtype=np.int64) // int(b))


def words(bits_each: int, n, port_bits: int):
    """Port-wide accesses to move ``n`` items of ``bits_each`` bits (rounded up)."""
    return ceil_div(np.asarray(n, dtype=np.int64) * bits_each, port_bits)


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


def flits_per_packet(hw: HwConfig) -> int:
    return int(-(-(hw.router.header_bits + hw.precision.spike_event_bits) // hw.router.flit_bits))


@dataclass
class ItemCounts:
    """Counts of every item, executed or not; ``totals(mask)`` sums the items that ran."""
    layers: list[str]                                   # the L' axis (mapping.order)
    actions: dict[str, np.ndarray]                      # action -> int64 [N, L', T]
    edge_spikes: dict[tuple[str, str], np.ndarray]      # (u, v) -> [N, T] spikes u sends v (u's items)
    edge_max_link_flits: dict[tuple[str, str], np.ndarray]   # (u, v) -> [N, T] flits on its busiest link
    core_spikes: dict[str, np.ndarray]                  # u -> [N, T, K_u] emitted spikes per core
    fpp: int                                            # flits per packet

    def for_plan(self, plan: ExitPlan, wl: Workload) -> "ItemCounts":
        """The same counts under another exit plan: only the controller's decisions depend on it (one
        after each timestep but the last possible, on the output layer, for adaptive policies)."""
        decisions = np.zeros_like(self.actions["accumulates"])
        if plan.adaptive:
            g = wl.graph
            sinks = [i for i, name in enumerate(self.layers) if g.out_degree(name) == 0]
            if len(sinks) != 1:
                raise UserError(_wl_source(wl), "graph_json", f"the exit controller needs one output layer, "
                                f"the graph has {len(sinks)}: {', '.join(self.layers[i] for i in sinks)}")
            decisions[:, sinks[0], :plan.max_t - 1] = 1
        return ItemCounts(self.layers, {**self.actions, "decisions": decisions}, self.edge_spikes,
                          self.edge_max_link_flits, self.core_spikes, self.fpp)

    def totals(self, mask: np.ndarray) -> dict[str, int]:
        return {a: int(v[mask].sum()) for a, v in self.actions.items()}

    def per_layer(self, mask: np.ndarray) -> dict[str, np.ndarray]:
        return {a: np.where(mask, v, 0).sum(axis=(0, 2)) for a, v in self.actions.items()}

    def per_sample(self, mask: np.ndarray) -> dict[str, np.ndarray]:
        return {a: np.where(mask, v, 0).sum(axis=(1, 2)) for a, v in self.actions.items()}

    def link_flits(self, mapping: Mapping, mask: np.ndarray) -> np.ndarray:
        """Flits over each mesh link (mapping.links order), summed over the items that ran."""
        out = np.zeros(len(mapping.links), dtype=np.int64)
        li = {n: i for i, n in enumerate(self.layers)}
        for (u, v), route in mapping.routes.items():
            if route.local or not len(route.link_ids):
                continue
            sent = np.where(mask[:, li[u], :, None], self.core_spikes[u], 0).sum(axis=(0, 1))   # [K]
            out[route.link_ids] += (sent @ route.link_uses).astype(np.int64) * self.fpp
        return out


def oracle_mask(plan: ExitPlan, n_layers: int, n_timesteps: int) -> np.ndarray:
    """[N, L', T] items that run when every sample stops exactly at its exit timestep."""
    return np.broadcast_to(plan.mask(n_timesteps)[:, None, :], (len(plan.exit_t), n_layers, n_timesteps)).copy()


def _wl_source(wl: Workload) -> str:
    return str(getattr(wl, "source", None) or "workload")


def item_counts(hw: HwConfig, mapping: Mapping, wl: Workload, plan: ExitPlan) -> ItemCounts:
    """The counts of every (sample, placed layer, timestep) item (definitions in the module docstring)."""
    g = wl.graph
    order = mapping.order
    n, t_steps = wl.n_samples, wl.timesteps
    idx = {name: g.nodes[name]["index"] for name in g.nodes}
    spikes = wl.spikes.astype(np.int64)
    for name in g.nodes:
        if not g.nodes[name]["spiking"] and spikes[:, idx[name], :].any():
            raise UserError(_wl_source(wl), "spikes", f"layer {name} does not spike in the graph, "
                            "but the counts give it spikes (graph and counts disagree)")
    c, p = hw.core, hw.precision
    wb, pbits = p.weight_bits, p.potential_bits
    steps, sw = window_steps(wl), state_words(wl)
    fpp = flits_per_packet(hw)
    shape = (n, len(order), t_steps)
    acts = {a: np.zeros(shape, dtype=np.int64) for a in ACTIONS}
    first_t = np.zeros(t_steps, dtype=bool)
    first_t[0] = True
    input_owner = next((name for name in order if g.has_edge(lg.INPUT, name)), None)

    for li, name in enumerate(order):
        node, place = g.nodes[name], mapping.layers[name]
        k = len(place.cores)
        acc = np.zeros((n, t_steps))
        w_words = np.zeros((n, t_steps), dtype=np.int64)
        sb_reads = np.zeros((n, t_steps), dtype=np.int64)
        sb_writes = np.zeros((n, t_steps), dtype=np.int64)
        spikes_in = np.zeros((n, t_steps), dtype=np.int64)
        dense = dict(dense_inputs(g, name))
        for u, _, a in g.in_edges(name, data=True):
            if u in dense:
                pixels = int(g.nodes[u]["neurons"])
                computes = first_t if hw.first_layer_reuse else np.ones(t_steps, dtype=bool)
                acts["macs"][:, li, :] += np.where(computes, int(a["synapses"]), 0)[None, :]
                w_words += np.where(computes, pixels * int(np.ceil(a["fan_out"] * wb / c.weight_sram.port_bits)),
                                    0)[None, :]
                px_words = int(words(p.input_bits, pixels, c.spike_buffer.port_bits))
                sb_reads += np.where(computes, px_words * k, 0)[None, :]
                sb_writes[:, 0] += px_words * k
                continue
            s_u = spikes[:, idx[u], :]
            acc += s_u * float(a["fan_out"])
            if a["weights"] > 0:
                w_words += s_u * int(np.ceil(a["fan_out"] * wb / c.weight_sram.port_bits))
            sb_reads += s_u * k
            spikes_in += s_u
            if u == lg.INPUT:                                   # spike-encoded input arrives by DMA
                sb_writes += s_u * k
        if wl.kind == "ttfs":
            acc += node["neurons"] * (2 + (1 if node["spiking"] else 0))
        acts["accumulates"][:, li, :] = round_half_up(acc)
        spill = round_half_up(w_words * place.spill_fraction) if place.spill_fraction > 0 else 0
        acts["weight_spill_words"][:, li, :] = spill
        acts["weight_reads"][:, li, :] = w_words - spill
        if hw.offchip is not None and place.spill_fraction > 0:
            acts["offchip_reads"][:, li, :] += words(c.weight_sram.port_bits, spill, hw.offchip.access_bits)
        neurons = int(node["neurons"])
        acts["neuron_updates"][:, li, :] = neurons * steps
        sweep = int(words(pbits, neurons, c.potential_sram.port_bits))
        acts["potential_reads"][:, li, :] = sweep * sw * steps
        acts["potential_writes"][:, li, :] = sweep * sw * steps
        if hw.first_layer_reuse and dense:
            acts["potential_writes"][:, li, 0] += sweep
            acts["potential_reads"][:, li, 1:] += sweep
        out = spikes[:, idx[name], :]
        acts["spikes_out"][:, li, :] = out
        acts["spikes_in"][:, li, :] = spikes_in
        acts["spike_buffer_reads"][:, li, :] = sb_reads
        acts["spike_buffer_writes"][:, li, :] = sb_writes + out
        if name == input_owner and hw.offchip is not None:
            src = g.nodes[lg.INPUT]
            if src["spiking"]:
                acts["offchip_reads"][:, li, :] += words(p.spike_event_bits, spikes[:, 0, :], hw.offchip.access_bits)
            else:
                acts["offchip_reads"][:, li, 0] += int(words(p.input_bits, src["neurons"], hw.offchip.access_bits))

    edge_spikes, edge_max, core_spikes = {}, {}, {}
    li_of = {name: i for i, name in enumerate(order)}
    for (u, v), route in mapping.routes.items():
        s_u = spikes[:, idx[u], :]
        edge_spikes[(u, v)] = s_u
        if route.local:
            edge_max[(u, v)] = np.zeros((n, t_steps), dtype=np.int64)
            continue
        if u not in core_spikes:
            core_spikes[u] = apportion(s_u, mapping.emit_shares[u])
        per_core = core_spikes[u]
        packets = per_core @ route.packets_per_spike.astype(np.int64)
        hops = per_core @ route.hops_per_spike.astype(np.int64)
        acts["packets"][:, li_of[u], :] += packets
        acts["packet_hops"][:, li_of[u], :] += hops
        acts["flits"][:, li_of[u], :] += packets * fpp
        acts["flit_hops"][:, li_of[u], :] += hops * fpp
        link_load = per_core @ route.link_uses.astype(np.int64)                 # [N, T, J]
        edge_max[(u, v)] = link_load.max(axis=-1) * fpp if link_load.shape[-1] else np.zeros((n, t_steps), np.int64)

    counts = ItemCounts(list(order), acts, edge_spikes, edge_max, core_spikes, fpp)
    return counts.for_plan(plan, wl)


def check_counts(counts: ItemCounts, source: str = "workload") -> None:
    """Counts must be finite and non-negative (a corrupt workload could make them otherwise)."""
    for a, v in counts.actions.items():
        if (v < 0).any():
            raise UserError(source, "spikes", f"negative {a} count (corrupt workload)")

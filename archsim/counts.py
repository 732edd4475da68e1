"""Action counts per work item (sample, layer, timestep): the work the hardware must do, and the oracle.

A pure, vectorised function of (hwconfig, mapping, workload, exit plan). It is what ``--mode analytic``
reports, and what the SimPy model must reproduce exactly: the simulation decides *which* items run and
*when*; the items' counts are these. Every count is an integer (rounded half up where an average such
as a conv's mean fan-out makes it fractional) so totals compare exactly. The action names are
archsim.actions' table.

Definitions (per item of a placed layer l at timestep t; S_u = spikes source u emitted at t;
K_l = cores of l; pb = the memory's port_bits; "words" are port-wide accesses; a spike's fan-out, target
cores and hops come from archsim.connectivity through the mapping's routes: per source neuron where the
workload records per-neuron spikes for the sample, else the mean over the neurons of the core that
emitted it, the spikes of a layer being apportioned to its cores by mapping.emit_shares):

- ``accumulates`` = round(sum over spiking in-edges u->l of the fan-out of each spike); TTFS adds per
  neuron its neuron record's ``extra_events`` (readout counter-input, bias, forced spike).
- ``macs`` = synapses of a dense (real-valued input) edge, at every timestep, or only at the first
  when ``first_layer_reuse`` (the input current is stored and re-added).
- ``neuron_accesses`` = neurons x steps: every mapped neuron's state is visited each step.
- ``neuron_updates`` = neurons x steps for the ``every_step`` rule (time-driven: leak every step);
  for ``on_event`` the neurons that received an event, estimated as neurons x (1 - exp(-events /
  neurons)) (targets hit at random; an assumption); an input population "updates" when it fires.
- ``weight_reads`` = per spike ceil(fan_out x weight_bits / pb) (each spike reads its weight block),
  plus for a dense edge pixels x ceil(fan_out x weight_bits / pb). A layer whose weights do not fit its
  cores (mapping.spill_fraction of them off chip) gets them from off-chip memory: ``offchip.spill:
  per_timestep`` streams each core's overflow once per item (``weight_spill_words`` = ceil(K x overflow
  bits / pb), applied to all the item's spikes, so ``weight_reads`` from SRAM keep only the on-chip
  fraction); ``per_spike`` fetches the spilled fraction of every spike's block again
  (``weight_spill_words`` = round(all x spill)); ``offchip_reads`` += ceil(spilled words x pb /
  access_bits).
- ``potential_reads`` = ``potential_writes`` = ceil(neurons x potential_bits / pb) x state words x steps
  (one read and one write per neuron update); with reuse the first layer also writes its input current
  at the first timestep and reads it at each later one (one more sweep each).
- ``spike_buffer_writes`` = S_l (one per spike produced) + the input delivered by DMA to a first layer
  (ceil(pixels x input_bits / pb) per core once per image, or one per input spike per core);
  ``spike_buffer_reads`` = sum over in-edges of S_u x K_l (every core of l reads every input spike) +
  ceil(pixels x input_bits / pb) x K_l at each timestep that computes MACs.
- ``packets``, ``packet_hops``, ``flits``, ``flit_hops`` and ``flit_hops_<direction>`` (on the *source*
  layer's items): a spike injects one packet per destination core that holds its targets (unicast) or
  one (multicast), crossing the XY links to them; flits per packet = ceil((header_bits +
  spike_event_bits) / flit_bits). Edges inside one core send nothing. ``packets_received`` (on the
  destination layer's items): one per destination core a packet reaches.
- ``offchip_reads``: spilled weight words (above) + the input image, ceil(pixels x input_bits /
  access_bits) once per image (or the input spikes at each timestep), on the first placed layer that
  reads the input by DMA; none without off-chip memory. ``offchip_writes`` is 0.
  ``offchip_activations``: ceil(bits moved / row_bytes x 8) per item that touches the DRAM (streams).
- ``setup`` (once per run, not per item): the initial load of the on-chip weights: ``weight_writes``
  (port words) and the ``offchip_reads`` / ``offchip_activations`` that fetch them.
- ``decisions`` (on the output layer's items): 1 after each timestep except the last possible one, for
  adaptive policies.
- ``spikes_in`` / ``spikes_out``: spikes received over in-edges from spiking layers / emitted.

``core_load`` (only for the barrier timing mode, which times each core): per layer and core, the
events each core handles: neuron accesses, updates, spikes out, packets out and in, accumulates.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from archsim import graph as lg
from archsim import pooling
from archsim.actions import COUNTS, DIRECTIONS
from archsim.config import HwConfig
from archsim.errors import UserError
from archsim.exit_policy import ExitPlan
from archsim.mapping import Mapping, Route, dense_inputs, state_words, window_steps
from archsim.workload import Workload

ACTIONS = COUNTS
CORE_LOADS = ("neuron_accesses", "neuron_updates", "spikes_out", "packets", "packets_received", "accumulates",
              "macs")


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
    core_load: dict[str, dict[str, np.ndarray]] | None = None   # layer -> load -> [N, T, K_l] (barrier)
    setup: dict[str, int] | None = None         # counts done once per run (the initial weight load)

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
                          self.edge_max_link_flits, self.core_spikes, self.fpp, self.core_load, self.setup)

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


@dataclass
class _Spikes:
    """Where a layer's spikes came from: per core for every sample, per neuron where recorded."""
    total: np.ndarray                  # [N, T] int64
    per_core: np.ndarray               # [N, T, K] int64 (apportioned, exact where recorded)
    raster: np.ndarray | None          # [S, T, neurons] float64 for the recorded samples (or None)


def _layer_spikes(wl: Workload, mapping: Mapping, name: str, total: np.ndarray) -> _Spikes:
    per_core = apportion(total, mapping.emit_shares[name])
    raster = None
    if wl.neuron_samples is not None and name in wl.neuron_spikes:
        raster = wl.neuron_raster(name).astype(np.float64)
        onehot = np.eye(len(mapping.layers[name].cores))[mapping.layers[name].core_of_neuron()]
        per_core[wl.neuron_samples] = np.rint(raster @ onehot).astype(np.int64)
    return _Spikes(total, per_core, raster)


def _edge_events(hw: HwConfig, g, mapping: Mapping, u: str, v: str, sp: _Spikes, samples,
                 recorded: np.ndarray | None) -> _Spikes:
    """What travels over edge u -> v: u's spikes, or with ``dataflow.pooling: per_cell`` and a pooled
    edge, one event per pooled cell that fired (its spikes summed into a multi-bit value). A cell's
    neurons share their targets, so a cell event is carried by the cell's first neuron. How many cells
    fired: archsim.pooling.cell_events (the workload's ``recorded`` count, else an estimate), exact per
    neuron where per-neuron records exist."""
    pool = int(g.edges[u, v].get("pool", 1))
    if pool == 1 or hw.dataflow.pooling == "per_spike":
        return sp
    c, h, w = (int(x) for x in g.nodes[u]["shape"])
    total = pooling.cell_events(sp.total, (c, h, w), pool, recorded)
    raster = None
    if sp.raster is not None:                                  # exact: which cells fired
        r = pooling.cell_raster(sp.raster, (c, h, w), pool)
        raster = np.zeros_like(sp.raster).reshape(sp.raster.shape[:2] + (c, h, w))
        raster[..., ::pool, ::pool] = r                        # carried by each cell's first neuron
        raster = raster.reshape(sp.raster.shape)
        total[samples] = np.rint(raster.sum(axis=-1)).astype(np.int64)
    per_core = apportion(total, mapping.emit_shares[u])
    if raster is not None:
        onehot = np.eye(len(mapping.layers[u].cores))[mapping.layers[u].core_of_neuron()]
        per_core[samples] = np.rint(raster @ onehot).astype(np.int64)
    return _Spikes(total, per_core, raster)


def _edge_sum(sp: _Spikes, samples, per_spike: np.ndarray, per_neuron: np.ndarray) -> np.ndarray:
    """Sum over the spikes of a source of a per-spike quantity: ``per_spike [K, ...]`` (mean over each
    core's neurons) applied to the per-core counts, and ``per_neuron [n, ...]`` (exact) to the recorded
    samples. Returns float64 [N, T, ...]."""
    out = np.tensordot(sp.per_core.astype(np.float64), per_spike, axes=([2], [0]))
    if sp.raster is not None:
        out[samples] = np.tensordot(sp.raster, per_neuron.astype(np.float64), axes=([2], [0]))
    return out


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
    fpp = flits_per_packet(hw)
    shape = (n, len(order), t_steps)
    acts = {a: np.zeros(shape, dtype=np.int64) for a in ACTIONS}
    li_of = {name: i for i, name in enumerate(order)}
    first_t = np.zeros(t_steps, dtype=bool)
    first_t[0] = True
    input_dma = lg.INPUT not in mapping.layers
    input_owner = next((name for name in order if g.has_edge(lg.INPUT, name)), None) if input_dma else None
    samples = wl.neuron_samples
    src_spikes = {u: _layer_spikes(wl, mapping, u, spikes[:, idx[u], :]) for u in order if u in mapping.emit_shares}
    barrier = hw.timing.mode == "barrier"
    load = {name: {a: np.zeros((n, t_steps, len(mapping.layers[name].cores))) for a in CORE_LOADS}
            for name in order} if barrier else None

    edge_spikes, edge_max = {}, {}
    events = {(u, v): _edge_events(hw, g, mapping, u, v, src_spikes[u], samples, wl.pooled_cells.get(u))
              for (u, v) in mapping.routes}
    for (u, v), route in mapping.routes.items():          # traffic, on the source's items
        sp = events[(u, v)]
        edge_spikes[(u, v)] = sp.total
        if route.local:
            edge_max[(u, v)] = np.zeros((n, t_steps), dtype=np.int64)
            continue
        packets = round_half_up(_edge_sum(sp, samples, route.packets_per_spike, route.packets_per_neuron))
        dirs = round_half_up(_edge_sum(sp, samples, route.hops_dir_per_spike, route.hops_dir_per_neuron))
        received = _edge_sum(sp, samples, route.received_per_spike, route.received_per_neuron)   # [N, T, K_v]
        lu, lv = li_of[u], li_of[v]
        acts["packets"][:, lu, :] += packets
        acts["packets_received"][:, lv, :] += round_half_up(received.sum(axis=-1))
        acts["packet_hops"][:, lu, :] += dirs.sum(axis=-1)
        acts["flits"][:, lu, :] += packets * fpp
        acts["flit_hops"][:, lu, :] += dirs.sum(axis=-1) * fpp
        for d, direction in enumerate(DIRECTIONS):
            acts[f"flit_hops_{direction}"][:, lu, :] += dirs[..., d] * fpp
        link_load = sp.per_core @ route.link_uses.astype(np.int64)                 # [N, T, J]
        edge_max[(u, v)] = link_load.max(axis=-1) * fpp if link_load.shape[-1] else np.zeros((n, t_steps), np.int64)
        if barrier:
            load[u]["packets"] += sp.per_core * route.packets_per_spike[None, None, :]
            if sp.raster is not None:
                onehot = np.eye(len(mapping.layers[u].cores))[mapping.layers[u].core_of_neuron()]
                load[u]["packets"][samples] = sp.raster @ (route.packets_per_neuron[:, None] * onehot)
            load[v]["packets_received"] += received

    for li, name in enumerate(order):
        node, place = g.nodes[name], mapping.layers[name]
        rec = lg.neuron_of(g, name)
        k = len(place.cores)
        acc = np.zeros((n, t_steps))
        w_words = np.zeros((n, t_steps), dtype=np.float64)      # of dense-input edges
        w_spk = np.zeros((n, t_steps), dtype=np.float64)        # of spiking edges (scatter: a block per event)
        sb_reads = np.zeros((n, t_steps), dtype=np.int64)       # of dense-input edges
        sb_spk = np.zeros((n, t_steps), dtype=np.int64)         # of spiking edges (scatter: every core, every event)
        sb_writes = np.zeros((n, t_steps), dtype=np.int64)
        spikes_in = np.zeros((n, t_steps), dtype=np.int64)
        dense = dict(dense_inputs(g, name))
        gather = hw.dataflow.for_layer(name) == "gather"
        fan_in_bits = 0.0                                       # gather: receptive-field bitmap per neuron
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
                if barrier:
                    load[name]["macs"] += np.where(computes, int(a["synapses"]), 0)[None, :, None] \
                        * np.array(place.neurons_per_core)[None, None, :] / place.neurons
                continue
            route = mapping.routes.get((u, name))
            s_u = events[(u, name)].total if route is not None else spikes[:, idx[u], :]
            block = lambda fan: np.ceil(np.asarray(fan, dtype=np.float64) * wb / c.weight_sram.port_bits)  # noqa: E731
            cells = 1                                            # source neurons per event (per_cell pooling)
            if route is None:                                   # the input, by DMA: layer-mean fan-out
                acc += s_u * float(a["fan_out"])
                if a["weights"] > 0:
                    w_spk += s_u * int(np.ceil(a["fan_out"] * wb / c.weight_sram.port_bits))
                if barrier:
                    load[name]["accumulates"] += (s_u * float(a["fan_out"]))[..., None] \
                        * np.array(place.neurons_per_core)[None, None, :] / place.neurons
            else:
                sp = events[(u, name)]          # a pooled cell's event reaches the same targets as one of its spikes
                cells = int(a.get("pool", 1)) ** 2 if sp is not src_spikes[u] else 1
                acc += _edge_sum(sp, samples, route.fan_out_per_spike, route.fan_out_per_neuron)
                if a["weights"] > 0:
                    w_spk += _exact_or_mean_words(sp, samples, route, s_u, block, a["fan_out"])
                if barrier:
                    load[name]["accumulates"] += _edge_sum(sp, samples, route.events_per_spike, route.events_per_neuron)
            fan_in_bits += float(a["synapses"]) / int(node["neurons"]) / cells
            sb_spk += s_u * k
            spikes_in += s_u
            if u == lg.INPUT and input_dma:                     # spike-encoded input arrives by DMA
                sb_writes += s_u * k
        acc += int(node["neurons"]) * rec["extra_events"]
        acts["accumulates"][:, li, :] = round_half_up(acc)
        if gather and fan_in_bits:   # the weights of inputs that fired, packed; every neuron scans its field
            synaptic = np.clip(acts["accumulates"][:, li, :] - int(node["neurons"]) * rec["extra_events"], 0, None)
            w_spk = words(wb, synaptic, c.weight_sram.port_bits).astype(np.float64)
            sb_spk = np.full_like(sb_spk, int(node["neurons"]) * int(np.ceil(fan_in_bits / c.spike_buffer.port_bits)))
        w_words = round_half_up(w_words + w_spk)
        sb_reads = sb_reads + sb_spk
        if place.spill_fraction > 0 and hw.offchip is not None and hw.offchip.spill == "per_timestep":
            overflow = len(place.cores) * place.weight_bits * place.max_share * place.spill_fraction
            spill = np.full(w_words.shape, int(words(1, int(np.ceil(overflow)), c.weight_sram.port_bits)))
            acts["weight_reads"][:, li, :] = w_words - round_half_up(w_words * place.spill_fraction)
        else:
            spill = round_half_up(w_words * place.spill_fraction) if place.spill_fraction > 0 else 0
            acts["weight_reads"][:, li, :] = w_words - spill
        acts["weight_spill_words"][:, li, :] = spill
        if hw.offchip is not None and place.spill_fraction > 0:
            acts["offchip_reads"][:, li, :] += words(c.weight_sram.port_bits, spill, hw.offchip.access_bits)
        neurons, steps, sw = int(node["neurons"]), window_steps(g, name), state_words(g, name)
        out = spikes[:, idx[name], :]
        acts["neuron_accesses"][:, li, :] = neurons * steps
        acts["neuron_updates"][:, li, :] = _updates(rec, neurons, steps, out, acc)
        sweep = int(words(pbits, neurons, c.potential_sram.port_bits))
        acts["potential_reads"][:, li, :] = sweep * sw * steps
        acts["potential_writes"][:, li, :] = sweep * sw * steps
        if hw.first_layer_reuse and dense:
            acts["potential_writes"][:, li, 0] += sweep
            acts["potential_reads"][:, li, 1:] += sweep
        if not gather:  # scatter: every synaptic event reads, adds into and writes back its target's potential
            rmw = words(pbits, acts["accumulates"][:, li, :], c.potential_sram.port_bits)
            acts["potential_rmw"][:, li, :] = rmw
            acts["potential_reads"][:, li, :] += rmw
            acts["potential_writes"][:, li, :] += rmw
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
        if barrier:
            share = np.array(place.neurons_per_core, dtype=np.float64) / neurons
            load[name]["neuron_accesses"] += neurons * steps * share[None, None, :]
            per_core_out = src_spikes[name].per_core if name in src_spikes else np.zeros((n, t_steps, k))
            load[name]["spikes_out"] += per_core_out
            if rec["model"] == "input":
                load[name]["neuron_updates"] += per_core_out
            else:
                load[name]["neuron_updates"] += acts["neuron_updates"][:, li, :, None] * share[None, None, :]

    setup = {"weight_writes": 0, "offchip_reads": 0, "offchip_activations": 0}
    onchip_bits = sum(int(np.ceil(p_.weight_bits * (1.0 - p_.spill_fraction))) for p_ in mapping.layers.values())
    setup["weight_writes"] = int(words(1, onchip_bits, c.weight_sram.port_bits))
    if hw.offchip is not None:
        row_bits = hw.offchip.dram.row_bytes * 8
        acts["offchip_activations"] = ceil_div(acts["offchip_reads"] * hw.offchip.access_bits, row_bits)
        setup["offchip_reads"] = int(words(1, onchip_bits, hw.offchip.access_bits))
        setup["offchip_activations"] = int(ceil_div(onchip_bits, row_bits))
    counts = ItemCounts(list(order), acts, edge_spikes, edge_max,
                        {u: sp.per_core for u, sp in src_spikes.items()}, fpp, load, setup)
    return counts.for_plan(plan, wl)


def _exact_or_mean_words(sp: _Spikes, samples, route: Route, s_u: np.ndarray, block, mean_fan: float) -> np.ndarray:
    """Weight words read: each spike (or pooled-cell event) reads its own weight block (ceil(fan_out x
    bits / port)); exact per neuron where recorded, else at the layer's mean fan-out."""
    out = s_u * float(block(mean_fan))
    if sp.raster is not None:
        out = out.astype(np.float64)
        out[samples] = sp.raster @ block(route.fan_out_per_neuron)
    return out


def _updates(rec: dict, neurons: int, steps: int, out: np.ndarray, events: np.ndarray) -> np.ndarray:
    """Neuron updates of a layer's items under its neuron record's rule (module docstring)."""
    if rec["model"] == "input":
        return out
    if rec["update"] == "on_event":
        return round_half_up(neurons * (1.0 - np.exp(-np.asarray(events, dtype=np.float64) / max(neurons, 1))))
    return np.full(out.shape, neurons * steps, dtype=np.int64)


def check_counts(counts: ItemCounts, source: str = "workload") -> None:
    """Counts must be finite and non-negative (a corrupt workload could make them otherwise)."""
    for a, v in counts.actions.items():
        if (v < 0).any():
            raise UserError(source, "spikes", f"negative {a} count (corrupt workload)")

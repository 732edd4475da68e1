"""One design on one workload: config + workload -> exit plan -> mapping -> counts -> timing -> energy.

:func:`simulate` returns the typed :class:`~archsim.summary.Summary` (its ``to_json()`` is what ``run --json``
prints, its ``to_dict()`` what the sweep stores);
:func:`run_simulation` returns it with the per-layer and per-sample tables. Both also run the same
design with a fixed T (the workload's T) when the policy is adaptive, to state what early exit saved.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from archsim import pooling
from archsim.chips import system_of_chips
from archsim.hwconfig import HwConfig, clock_hz
from archsim.counts import ItemCounts, oracle_mask
from archsim.energy import Activity, EnergyReport, dynamic_j, energy_report
from archsim.errors import UserError
from archsim.exit_policy import ExitPlan, accuracy, plan_exits
from archsim.cycles import CoreTiming, SimTrace
from archsim.mapping import Mapping, map_network
from archsim.summary import Summary
from archsim.units import memories
from archsim.tally import Tally
from archsim.timing import backend_name, schedule_plans
from archsim.timing.chunks import Chunk, ChunkSource
from archsim.workload import Workload

from archsim.choices import MODES  # noqa: E402 - the one list of mode names


def memory_accesses(hw: HwConfig, totals: dict[str, int]) -> dict[str, dict[str, int]]:
    """Reads and writes of every memory of the chip (its units whose rows read and write), from totals."""
    return {m: {"reads": int(totals[r]) if r else 0, "writes": int(totals[w]) if w else 0}
            for m, (r, w) in memories(hw).items()}


@dataclass
class SimulationResult:
    summary: Summary
    per_layer: pd.DataFrame
    per_sample: pd.DataFrame
    mapping: Mapping
    plan: ExitPlan
    trace: SimTrace
    counts: ItemCounts
    timing: CoreTiming
    energy: EnergyReport
    per_core: pd.DataFrame | None = None     # a system of chips (mesh.chips): per core and per chip
    per_chip: pd.DataFrame | None = None


@dataclass
class _Run:
    plan: ExitPlan
    trace: SimTrace
    tally: Tally
    totals: dict
    energy: EnergyReport
    seconds: float
    setup: dict


def _execute(hw: HwConfig, wl: Workload, mapping: Mapping, plans: list[ExitPlan], mode: str, progress: bool,
             chunk_samples: int | None = None) -> tuple[list[_Run], Chunk | None]:
    """The schedule of every plan (a run and its fixed-T baseline: their counts and cycles differ only in
    the controller's decisions), a block of samples at a time (archsim.timing.chunks), and each plan's
    energy. Also the counts and cycles of every sample when the run was one block (else None)."""
    tallies = [Tally(hw, wl, mapping.order, plan, detail=i == 0) for i, plan in enumerate(plans)]
    source = ChunkSource(hw, mapping, wl, plans, lambda i, c, ex: tallies[i].add(c.counts[i], ex, c.lo, c.hi),
                         chunk_samples)
    traces = schedule_plans(backend_name(hw, mode), hw, wl, mapping, plans, source, progress=progress)
    runs = []
    for plan, trace, tally in zip(plans, traces, tallies):
        seconds = trace.makespan / clock_hz(hw)
        energy = energy_report(hw, wl.graph, mapping.order, tally.per_layer, activity(hw, mapping, trace, seconds),
                               len(mapping.links), source.setup, [mapping.layers[name].cores for name in mapping.order])
        runs.append(_Run(plan, trace, tally, tally.totals, energy, seconds, dict(source.setup or {})))
    return runs, source.whole()


def activity(hw: HwConfig, mapping: Mapping, trace: SimTrace, seconds: float) -> Activity:
    """Per core: does it hold a layer, and how long did it hold a work item (its group's busy time)."""
    used = np.zeros(hw.n_cores, dtype=bool)
    busy = np.zeros(hw.n_cores)
    for grp in mapping.groups:
        used[list(grp.cores)] = True
        busy[list(grp.cores)] = trace.group_busy[grp.index] / clock_hz(hw) if len(trace.group_busy) else 0.0
    return Activity(seconds, used, busy, banks_in_use(hw, mapping))


def banks_in_use(hw: HwConfig, mapping: Mapping) -> dict[str, np.ndarray]:
    """Per SRAM, the fraction of each core's banks that hold data: the weights and potentials (and the
    spike buffer, always) of the layers on the core, whole banks."""
    bits = {"weight_sram": np.zeros(hw.n_cores), "potential_sram": np.zeros(hw.n_cores)}
    for place in mapping.layers.values():
        for core, n in zip(place.cores, place.neurons_per_core):
            share = n / place.neurons
            bits["weight_sram"][core] += place.weight_bits * (1.0 - place.spill_fraction) * share
            bits["potential_sram"][core] += place.potential_bits * share
    out = {"spike_buffer": np.array([1.0 if any(core in g.cores for g in mapping.groups) else 0.0
                                     for core in range(hw.n_cores)])}
    for mem, b in bits.items():
        sram = getattr(hw.core, mem)
        bank_bits = sram.capacity_bits / sram.banks
        out[mem] = np.minimum(np.ceil(b / bank_bits - 1e-9), sram.banks) / sram.banks
    return out


def resolve_policy(hw, wl, exit_policy, threshold, timesteps) -> tuple[str, float | None, dict]:
    """The exit policy and threshold of a run, and where each came from. First that says, wins:
    the command line (or a sweep's ``exit.*``), an explicit hwconfig ``controller.policy`` /
    ``controller.threshold``, what the workload records it was calibrated with (``meta.exit_policy`` /
    ``meta.threshold``, when the hwconfig says ``from_workload`` or leaves them out), archsim's default
    (entropy >= 0.9). A recorded threshold only goes with the policy it was recorded for."""
    from archsim.choices import DEFAULT_POLICY, DEFAULT_THRESHOLD, FROM_WORKLOAD, POLICIES

    meta = wl.meta if isinstance(wl.meta, dict) else {}
    wl_policy = meta.get("exit_policy") if meta.get("exit_policy") in POLICIES else None
    wl_threshold = meta.get("threshold")
    if isinstance(wl_threshold, bool) or not isinstance(wl_threshold, (int, float)):
        wl_threshold = None
    hw_policy, hw_threshold = hw.controller.policy, hw.controller.threshold
    if exit_policy is not None:
        policy, p_src = exit_policy, "command line"
    elif hw_policy != FROM_WORKLOAD:
        policy, p_src = hw_policy, "hwconfig"
    elif wl_policy is not None:
        policy, p_src = wl_policy, "workload"
    else:
        policy, p_src = DEFAULT_POLICY, "default"
    if timesteps is not None and policy != "fixed":
        raise UserError("command line", "--timesteps", "only goes with --exit-policy fixed")
    if policy == "fixed":
        return policy, None, {"exit_policy_source": p_src, "threshold_source": None}
    if threshold is not None:
        thr, t_src = float(threshold), "command line"
    elif hw_threshold != FROM_WORKLOAD:
        thr, t_src = float(hw_threshold), "hwconfig"
    elif wl_threshold is not None and wl_policy == policy:
        thr, t_src = float(wl_threshold), "workload"
    else:
        thr, t_src = DEFAULT_THRESHOLD, "default"
    return policy, thr, {"exit_policy_source": p_src, "threshold_source": t_src}


def run_simulation(hw: HwConfig, wl: Workload, *, exit_policy: str | None = None, threshold: float | None = None,
                   timesteps: int | None = None, mode: str = "simpy", progress: bool = False,
                   baseline: bool = True, mapping: Mapping | None = None,
                   chunk_samples: int | None = None) -> SimulationResult:
    """Simulate ``wl`` on ``hw``. ``exit_policy``/``threshold`` default to the hwconfig's controller;
    ``timesteps`` (fixed policy only) defaults to the workload's T. ``mapping``: a placement to reuse
    (by default the workload's own, archsim.mapping.map_network), e.g. to compare two workloads on the
    same placement: the placement follows the workload's mean spike counts, so it may differ.
    ``chunk_samples``: samples counted at a time (archsim.timing.chunks; default: up to 1,000); the
    result's ``counts`` and ``timing`` are those of every sample when the run is one block, else None."""
    if mode not in MODES:
        raise UserError("command line", "--mode", f"must be one of {', '.join(MODES)}, got {mode!r}")
    policy, thr, sources = resolve_policy(hw, wl, exit_policy, threshold, timesteps)
    plan = plan_exits(wl, policy, thr, timesteps, source="command line")
    mapping = mapping or map_network(hw, wl)
    plans = [plan]
    if baseline and (plan.adaptive or plan.max_t < wl.timesteps):
        plans.append(plan_exits(wl, "fixed"))
    runs, whole = _execute(hw, wl, mapping, plans, mode, progress, chunk_samples)
    run, base = runs[0], runs[1] if len(runs) > 1 else None
    summary = _summary(hw, wl, mapping, run, base, mode, sources)
    per_layer = _per_layer(hw, wl, mapping, run)
    per_sample = _per_sample(hw, wl, run)
    per_core = per_chip = None
    if hw.mesh.n_chips > 1:
        chips, per_core, per_chip = system_of_chips(hw, wl.graph, mapping, run.trace, run.tally.per_layer, run.totals,
                                                    run.energy, activity(hw, mapping, run.trace, run.seconds))
        summary = dataclasses.replace(summary, chips=chips)
    return SimulationResult(summary, per_layer, per_sample, mapping, plan, run.trace,
                            whole.counts[0] if whole else None, whole.timing if whole else None, run.energy,
                            per_core, per_chip)


def simulate(hw: HwConfig, wl: Workload, *, exit_policy: str | None = None, threshold: float | None = None,
             mode: str = "simpy", progress: bool = False) -> Summary:
    """The :class:`~archsim.summary.Summary` of :func:`run_simulation` (``to_dict()``: JSON-serialisable)."""
    return run_simulation(hw, wl, exit_policy=exit_policy, threshold=threshold, mode=mode,
                          progress=progress).summary


# ----------------------------------------------------------------------------------------------------
def _latency_us(hw: HwConfig, trace: SimTrace) -> np.ndarray:
    return (trace.finish - trace.admit) / hw.clock_mhz


def _pct_saved(new: float, old: float) -> float | None:
    return None if old == 0 else round(100.0 * (old - new) / old, 3)


def _summary(hw: HwConfig, wl: Workload, mapping: Mapping, run: _Run, base: _Run | None, mode: str,
             sources: dict) -> Summary:
    n, tr, tot, plan = wl.n_samples, run.trace, run.totals, run.plan
    lat = _latency_us(hw, tr)
    oracle = run.tally.useful
    wasted_items = int(tr.executed.sum() - oracle_mask(plan, len(mapping.order), wl.timesteps).sum())
    cycles = int(math.ceil(tr.makespan))
    fps = n / run.seconds if run.seconds > 0 else math.inf
    sram_kib = (hw.core.weight_sram.size_kib + hw.core.potential_sram.size_kib + hw.core.spike_buffer.size_kib) * hw.n_cores
    savings = {"baseline": f"fixed T={wl.timesteps} on the same workload and design"}
    if base is None:
        savings.update(latency_saved_pct=0.0, energy_saved_pct=0.0, note="the run itself is the fixed-T baseline")
    else:
        b_lat = float(_latency_us(hw, base.trace).mean())
        savings.update(
            latency_us_mean_fixed=round(b_lat, 4), latency_saved_pct=_pct_saved(float(lat.mean()), b_lat),
            energy_j_fixed=base.energy.total_j, energy_saved_pct=_pct_saved(run.energy.total_j, base.energy.total_j),
            fps_fixed=round(n / base.seconds, 3), cycles_fixed=int(math.ceil(base.trace.makespan)),
            avg_timesteps_fixed=float(wl.timesteps),
            synaptic_ops_saved_pct=_pct_saved(tot["accumulates"] + tot["macs"],
                                              base.totals["accumulates"] + base.totals["macs"]))
    meta = wl.meta
    memory = memory_accesses(hw, tot)
    busiest = int(np.argmax(tr.group_busy)) if len(tr.group_busy) else 0
    return Summary(
        images=n,
        fps=round(fps, 3),
        latency_us_mean=round(float(lat.mean()), 4),
        latency_us_p50=round(float(np.percentile(lat, 50)), 4),
        latency_us_p95=round(float(np.percentile(lat, 95)), 4),
        latency_us_max=round(float(lat.max()), 4),
        cycles=cycles,
        seconds=run.seconds,
        clock_mhz=hw.clock_mhz,
        memory_accesses=memory,
        energy_j=run.energy.total_j,
        energy_per_image_j=run.energy.total_j / n,
        energy_dynamic_j=run.energy.dynamic_j,
        energy_static_j=run.energy.static_j,
        energy_breakdown_j=run.energy.breakdown_j,
        energy_by_role_j=run.energy.role_j,
        energy_detail_j=run.energy.detail_j,
        avg_timesteps=plan.avg_timesteps,
        max_timesteps=plan.max_t,
        accuracy=accuracy(wl, plan),
        exit_policy=plan.policy,
        threshold=plan.threshold,
        controller_mode=hw.controller.mode,
        spikes_per_image=tot["spikes_out"] / n,
        synaptic_ops_per_image=(tot["accumulates"] + tot["macs"]) / n,
        synaptic_ops_per_image_useful=(oracle["accumulates"] + oracle["macs"]) / n,
        counts=tot,
        counts_useful=oracle,
        counts_setup=run.setup,
        speculation={"wasted_items": wasted_items,
                     "wasted_synaptic_ops": (tot["accumulates"] + tot["macs"]) - (oracle["accumulates"] + oracle["macs"]),
                     "layers_ahead": hw.controller.layers_ahead},
        early_exit_savings=savings,
        area_proxy_sram_kib=sram_kib,
        bottleneck={"group": busiest, "layers": list(mapping.groups[busiest].layers) if mapping.groups else [],
                    "busy_cycles": float(tr.group_busy.max(initial=0.0)),
                    "utilization": float(tr.group_busy.max(initial=0.0) / tr.makespan) if tr.makespan else 0.0},
        stall_cycles=float(tr.layer_stall.sum()),
        offchip_busy_cycles=tr.offchip_busy,
        spikes_sent=tr.spikes_sent, spikes_received=tr.spikes_received, spikes_dropped=tr.spikes_dropped,
        mapping=mapping.summary(),
        pooled_cells_estimated=(pooling.estimated_edges(wl.graph, mapping.routes, wl.pooled_cells, wl.neuron_samples, n)
                                if hw.dataflow.pooling == "per_cell" else None),
        workload={"path": wl.source, "kind": wl.kind, "arch": meta.get("arch"), "dataset": meta.get("dataset"),
                  "synthetic": bool(meta.get("synthetic", False)), "timesteps": wl.timesteps,
                  "samples": n, "layers": len(mapping.order),
                  "meta": {k: v for k, v in meta.items() if isinstance(v, (str, int, float, bool)) or v is None}},
        hwconfig=hw.name,
        hwconfig_path=hw.source,
        energy_table=hw.energy.name,
        mode=mode,
        timing=hw.timing.mode,
        **sources,
    )


def _per_layer(hw: HwConfig, wl: Workload, mapping: Mapping, run: _Run) -> pd.DataFrame:
    tr = run.trace
    per = run.tally.per_layer
    timing_busy = np.zeros(len(mapping.order))
    rows = []
    energy = dynamic_j(hw, wl.graph, mapping.order, per)
    for li, name in enumerate(mapping.order):
        place = mapping.layers[name]
        timing_busy[li] = tr.group_busy[place.group]
        row = {"layer": name, "group": place.group, "cores": len(place.cores),
               "core_ids": " ".join(map(str, place.cores)), "max_channels_per_core": max(place.channels_per_core),
               "split": place.split, "weights_kib": place.weight_bits / 8192, "spill_fraction": place.spill_fraction,
               "items": int(tr.executed[:, li].sum())}
        row.update({a: int(v[li]) for a, v in per.items()})
        row.update({"group_busy_cycles": float(tr.group_busy[place.group]), "stall_cycles": float(tr.layer_stall[li]),
                    "group_utilization": float(tr.group_busy[place.group] / tr.makespan) if tr.makespan else 0.0,
                    "energy_dynamic_j": float(energy[li])})
        rows.append(row)
    return pd.DataFrame(rows)


def _per_sample(hw: HwConfig, wl: Workload, run: _Run) -> pd.DataFrame:
    tr, plan = run.trace, run.plan
    per = run.tally.per_sample
    pred = wl.predictions[np.arange(wl.n_samples), plan.exit_t - 1]
    return pd.DataFrame({
        "sample": np.arange(wl.n_samples), "label": wl.labels, "exit_timestep": plan.exit_t, "prediction": pred,
        "correct": pred == wl.labels, "admit_cycle": tr.admit, "finish_cycle": tr.finish,
        "latency_us": _latency_us(hw, tr), "items": tr.executed.sum(axis=(1, 2)),
        "spikes": per["spikes_out"], "synaptic_ops": per["accumulates"] + per["macs"],
        "energy_dynamic_j": run.tally.energy_dynamic_j})

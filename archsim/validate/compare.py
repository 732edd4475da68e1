"""archsim beside SANA-FE on the same network and the same spike trains.

Steps: place the network with archsim's mapping (hwconfigs/loihi.yaml: neuron chunks, tiles of 4
cores); run SANA-FE with that placement (archsim.validate.sanafe); turn SANA-FE's spike trace into an
archsim workload with per-neuron spike records in SANA-FE's own timesteps (``spike_timing: hardware``)
and, under SANA-FE's default update rule, the potentials replayed from the network's weights (which
neurons hold a non-zero potential entering each step: archsim.validate.lif; a layer only where the replay
reproduces SANA-FE's spikes); run archsim (barrier timing) on it; set energy per component, latency and
counts side by side.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from archsim import graph as lg
from archsim.hwconfig import HwConfig, config_from_dict
from archsim.errors import UserError
from archsim.mapping import map_network, overfull_text
from archsim.simulate import run_simulation
from archsim.validate.lif import exact_layers, replay_network
from archsim.validate.network import NetworkSpec
from archsim.validate.sanafe import SYNAPSE_UNIT, run_sanafe, sanafe_version, synapse_unit
from archsim.workload import Workload, pack_neuron_spikes

# (row, SANA-FE counter, archsim count); energies: (row, SANA-FE component, archsim role)
COUNT_ROWS = (("synaptic events", "spikes", "accumulates"), ("packets", "packets_sent", "packets"),
              ("hops", "hops", "packet_hops"), ("neurons updated", "neurons_updated", "neuron_updates"),
              ("neurons fired", "neurons_fired", "spikes_out"))
ENERGY_ROWS = (("synapse", "synapse", "synapse"), ("soma", "soma", "soma"), ("network", "network", "network"),
               ("total", "total", None))


def input_spikes(spec: NetworkSpec, samples: int, timesteps: int, rate: float, seed: int) -> np.ndarray:
    """Bernoulli(rate) input spikes, bool [samples, timesteps, input neurons], from a fixed seed."""
    n_in = int(np.prod(spec.input_shape))
    return np.random.default_rng(seed).random((samples, timesteps, n_in)) < rate


def load_input_spikes(path: str, spec: NetworkSpec) -> np.ndarray:
    """An npz whose ``spikes`` is [samples, timesteps, input neurons] of 0/1 (neurons in [C, H, W] order)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            if "spikes" not in z.files:
                raise UserError(path, "spikes", "missing (an array [samples, timesteps, input neurons])")
            raw = z["spikes"]
    except (OSError, ValueError) as err:
        raise UserError(path, "file", f"not a readable npz ({err})") from None
    n_in = int(np.prod(spec.input_shape))
    if raw.ndim != 3 or raw.shape[2] != n_in or raw.shape[0] < 1 or raw.shape[1] < 1:
        raise UserError(path, "spikes", f"must be [samples, timesteps, {n_in}], got {list(raw.shape)}")
    if not np.isin(raw, (0, 1)).all():
        raise UserError(path, "spikes", "must hold only 0 and 1")
    return raw.astype(bool)


def _placeholder(g, steps: int) -> Workload:
    n_layers = g.number_of_nodes()
    return Workload(g, np.zeros((1, n_layers, steps), np.int32), np.zeros(1, np.int32),
                    np.zeros((1, steps), np.int32), {}, np.full(1, steps, np.int32),
                    {"kind": "direct", "timesteps": steps, "spike_timing": "hardware", "exit_policy": "fixed"})


def workload_from_trace(spec: NetworkSpec, rasters: dict[str, np.ndarray], steps: int,
                        force_update: bool = False, nonzero: dict[str, np.ndarray] | None = None) -> Workload:
    """SANA-FE's spike trace as an archsim workload: per-layer totals and per-neuron records, in
    SANA-FE's timesteps (``spike_timing: hardware``), every sample run for all ``steps``; ``nonzero``
    (layer -> bool [S, T, neurons]): the layers' non-zero potentials, where known."""
    g = spec.graph(force_update)
    names = lg.layer_names(g)
    n = next(iter(rasters.values())).shape[0]
    spikes = np.stack([rasters[name].sum(axis=-1) for name in names], axis=1).astype(np.int32)
    meta = {"kind": "direct", "timesteps": steps, "spike_timing": "hardware", "exit_policy": "fixed",
            "threshold": None, "arch": spec.name, "dataset": "validation spike trains",
            "source": f"SANA-FE {sanafe_version()} spike trace"}
    return Workload(g, spikes, np.zeros(n, np.int32), np.zeros((n, steps), np.int32), {},
                    np.full(n, steps, np.int32), meta,
                    neuron_spikes={name: pack_neuron_spikes(rasters[name]) for name in names},
                    neuron_samples=np.arange(n, dtype=np.int32),
                    neuron_nonzero={name: pack_neuron_spikes(v) for name, v in (nonzero or {}).items()})


def _shown(path: str) -> str:
    """A path as a reader of the results should see it: relative to the repository when inside it."""
    root = Path(__file__).resolve().parents[2]
    try:
        return str(Path(path).resolve().relative_to(root))
    except ValueError:
        return str(path)


def _pct(a: float, b: float) -> float | None:
    return None if b == 0 else 100.0 * (a - b) / b


def with_network_units(hw: HwConfig, spec: NetworkSpec) -> HwConfig:
    """The hwconfig, with the synapse unit the network names for a layer where it is not the one of the
    layer's op (a SANA-FE network picks each group's synapse unit: a conv group left on SANA-FE's
    default unit is priced as a dense synapse). SANA-FE's conv / dense units price as the hwconfig
    prices conv / linear layers."""
    op_of = {unit: op for op, unit in SYNAPSE_UNIT.items()}
    g = spec.graph()
    layers = {ly.name: hw.units.synapse.for_layer(ly.name, op_of[synapse_unit(ly)], lg.neuron_of(g, ly.name)["model"])
              for ly in spec.layers if synapse_unit(ly) != SYNAPSE_UNIT[ly.op]}
    if not layers:
        return hw
    raw = hw.model_dump(mode="json")
    raw["units"]["synapse"]["layers"] = {**raw["units"]["synapse"]["layers"], **layers}
    return config_from_dict(raw, hw.source, Path(hw.source).parent)


def _file_check(own: dict | None, sf) -> dict | None:
    """SANA-FE's run of the user's network file itself, beside the run built from archsim's reading of
    it: equal when the reading is faithful."""
    if own is None:
        return None
    built = {"energy_j": {k: float(np.sum(v)) for k, v in sf.energy_j.items()},
             "time_s": float(np.sum(sf.time_s["simple"])), "counts": {k: int(np.sum(v)) for k, v in sf.counts.items()}}
    return {**own, "equal_to_the_run_from_archsims_reading": own == built}


def validate(spec: NetworkSpec, hw: HwConfig, inputs: np.ndarray, progress: bool = False,
             force_update: bool = False) -> dict:
    """Run both simulators; return the side-by-side table (JSON-ready). ``force_update``: every neuron
    updated every step in both (else SANA-FE's default rule, archsim's ``while_nonzero``)."""
    g = spec.graph(force_update)
    hw = with_network_units(hw, spec)
    steps = inputs.shape[1] + len(spec.layers)
    # SANA-FE does not model synaptic memory: an overfull core is reported, not refused (mapping rule 10)
    placement = map_network(hw, _placeholder(g, steps), spec.placement, refuse_overfull=False)
    # a bias-driven SANA-FE file defines its whole run: SANA-FE also runs the file itself (default rule only)
    own = spec.sanafe_file if spec.sanafe_file and spec.input_neuron is not None and not force_update else None
    sf = run_sanafe(spec, placement, inputs, steps, progress=progress, force_update=force_update, also_file=own)
    replays = {} if force_update else replay_network(spec, sf.rasters)
    exact = exact_layers(replays, sf.rasters)             # layer -> its replay reproduces SANA-FE's spikes
    wl = workload_from_trace(spec, sf.rasters, steps, force_update,
                             {name: r.nonzero for name, r in replays.items() if exact[name]})
    file_run = _file_check(sf.file_totals, sf)
    res = run_simulation(hw, wl, exit_policy="fixed", mode="analytic", baseline=False,
                         mapping=map_network(hw, wl, spec.placement, refuse_overfull=False))
    for name, place in res.mapping.layers.items():
        if place.cores != placement.layers[name].cores:
            raise RuntimeError(f"layer {name} placed on other cores than SANA-FE was given")
    out = _table(spec, hw, inputs, steps, res, sf, force_update)
    if replays:
        out["potentials_replayed"] = exact
    if file_run is not None:
        out["sanafe_on_the_file"] = file_run
    return out


def _table(spec: NetworkSpec, hw: HwConfig, inputs: np.ndarray, steps: int, res, sf, force_update: bool) -> dict:
    s, n = res.summary, inputs.shape[0]
    rows = []
    for label, sf_key, role in ENERGY_ROWS:
        a = s.energy_j if role is None else s.energy_by_role_j[role]
        b = float(np.sum(sf.energy_j[sf_key]))
        rows.append({"quantity": f"energy {label} (uJ/sample)", "archsim": 1e6 * a / n, "sanafe": 1e6 * b / n,
                     "diff_pct": _pct(a, b)})
    lat = float(res.per_sample["latency_us"].mean())
    for model in ("simple", "detailed"):
        b = 1e6 * float(np.mean(sf.time_s[model]))
        rows.append({"quantity": f"latency (us/sample) vs SANA-FE {model}", "archsim": lat, "sanafe": b,
                     "diff_pct": _pct(lat, b)})
    for label, sf_key, count in COUNT_ROWS:
        a, b = int(s.counts[count]), int(np.sum(sf.counts[sf_key]))
        rows.append({"quantity": f"{label} (all samples)", "archsim": a, "sanafe": b, "diff_pct": _pct(a, b)})
    return {"network": spec.name, "samples": n, "input_timesteps": int(inputs.shape[1]), "steps_per_sample": steps,
            "neuron_update": "every step (force_update)" if force_update else "while_nonzero (SANA-FE default)",
            "sanafe_version": sanafe_version(), "sanafe_arch": "sanafe/examples/loihi.yaml (bundled)",
            "hwconfig": _shown(hw.source), "cores_used": s.mapping["cores_used"],
            "tiles_used": len({hw.tile_of(c) for p in res.mapping.layers.values() for c in p.cores}),
            "synaptic_memory": res.mapping.synaptic_memory,
            "rows": rows, "archsim_energy_breakdown_j": s.energy_breakdown_j,
            "sanafe_energy_j": {k: float(np.sum(v)) for k, v in sf.energy_j.items()}}


def format_table(result: dict) -> str:
    lines = [f"{result['network']}: {result['samples']} samples x {result['input_timesteps']} input timesteps "
             f"({result['steps_per_sample']} steps each), {result['cores_used']} cores in {result['tiles_used']} tiles; "
             f"SANA-FE {result['sanafe_version']} (bundled Loihi) vs archsim ({result['hwconfig']}); "
             f"neuron updates: {result.get('neuron_update', 'every step (force_update)')}",
             f"{'quantity':<44}{'archsim':>16}{'SANA-FE':>16}{'diff':>10}"]
    for r in result["rows"]:
        fmt = (lambda v: f"{v:>16,d}") if isinstance(r["archsim"], int) else (lambda v: f"{v:>16.4f}")
        diff = "-" if r["diff_pct"] is None else f"{r['diff_pct']:+.2f}%"
        lines.append(f"{r['quantity']:<44}{fmt(r['archsim'])}{fmt(r['sanafe'])}{diff:>10}")
    memory = result.get("synaptic_memory")
    if memory and memory["overfull"]:
        lines.append(f"synaptic memory: {len(memory['overfull'])} cores overfull, the fullest "
                     f"{overfull_text(memory)}: Loihi could not hold this placement (SANA-FE does not model "
                     "synaptic memory, so the comparison runs)")
    return "\n".join(lines)

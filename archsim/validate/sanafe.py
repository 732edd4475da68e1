"""Run SANA-FE on a validation network, mapped exactly as archsim maps it.

SANA-FE (``pip install sanafe``; https://github.com/SLAM-Lab/SANA-FE) simulates Loihi-class chips from an
architecture file of per-event energies and latencies. We run it on its own bundled Loihi file
(:func:`bundled_arch`), place every neuron on the core archsim's mapping gives it (neuron chunks of at
most 1,024 per core, cores 4 to a tile, tiles numbered column-major as SANA-FE does), connect the
neurons synapse by synapse (archsim.validate.network.synapses: padding and pooling as archsim's graph
has them) and feed each sample's input spikes to SANA-FE's input neurons. Neurons are SANA-FE's LIF
(``loihi_lif``), by default as SANA-FE runs them: a neuron is updated only in a step where an event
arrives or its potential is non-zero (archsim's ``while_nonzero`` neuron record); with ``force_update``
every neuron is updated every timestep (the time-driven ``every_step`` record).

Per sample, SANA-FE runs ``T + depth`` timesteps (a spike is integrated one step after it was sent, so
the last layer needs one step per layer to hear the last input) twice, with its ``simple`` and its
``detailed`` timing model, and we keep: energy per component (synapse, dendrite, soma, network), the
simulated time, the counts (synaptic events, packets, hops, neurons updated and fired) and the spike
trace of every neuron, which is what archsim is then fed.
"""
from __future__ import annotations

import contextlib
import functools
import os
import sys
from dataclasses import dataclass, field

import numpy as np

from archsim import graph as lg
from archsim.errors import UserError
from archsim.mapping import Mapping
from archsim.validate.network import NetworkSpec, synapses

SYNAPSE_UNIT = {"conv": "loihi_conv_synapse", "linear": "loihi_dense_synapse"}   # bundled loihi.yaml names


def synapse_unit(layer) -> str:
    """The SANA-FE synapse unit that prices a layer's synaptic events: the network's, else by op."""
    return layer.synapse_unit or SYNAPSE_UNIT[layer.op]


def import_sanafe():
    try:
        import sanafe
    except ImportError:
        raise UserError("sanafe", "import", "SANA-FE is not installed: pip install -e '.[validate]' "
                        "(or pip install sanafe==2.2.9)") from None
    return sanafe


def bundled_arch() -> str:
    """Path of the Loihi architecture file inside the installed sanafe package."""
    sanafe = import_sanafe()
    return os.path.join(os.path.dirname(sanafe.__file__), "examples", "loihi.yaml")


@functools.lru_cache(maxsize=1)
def loihi_arch():
    """SANA-FE's bundled Loihi, parsed once per process: its 128 cores x 1,026 soma units take about a
    second to read and as long to free, and every run builds its own chip (SpikingChip) from it."""
    return import_sanafe().load_arch(bundled_arch())


def sanafe_version() -> str:
    from importlib.metadata import version
    import_sanafe()
    return version("sanafe")


@contextlib.contextmanager
def quiet_stdout():
    """SANA-FE's C++ core prints a progress line per run on the process's stdout: keep our report clean."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _totals(res: dict) -> dict:
    """One SANA-FE run's energy per component (J), simulated time (s) and counts."""
    counts = {key: int(res[key]) for key in ("spikes", "packets_sent", "neurons_updated", "neurons_fired")}
    counts["hops"] = int(sum(res["perf_trace"]["hops"]))
    return {"energy_j": {k: float(v) for k, v in res["energy"].items()}, "time_s": float(res["sim_time"]),
            "counts": counts}


def _run_file(chip, path: str, steps: int) -> dict:
    """SANA-FE on a network file itself, loaded by ``sanafe.load_net`` with its own mappings as its users
    run it (simple timing model, its default neuron update rule): the totals of :func:`_totals`, to set
    beside the run built from archsim's reading of the same file (archsim.validate.sanafe_yaml)."""
    sanafe = import_sanafe()
    try:
        with quiet_stdout():
            chip.load(sanafe.load_net(path, loihi_arch()))
            res = chip.sim(steps, timing_model="simple", perf_trace=True)
    except (RuntimeError, ValueError, KeyError, IndexError) as err:
        raise UserError(path, "sanafe.load_net", f"SANA-FE cannot run the file itself: "
                        f"{str(err).splitlines()[0][:160] if str(err) else type(err).__name__}") from None
    return _totals(res)


@dataclass
class SanafeRun:
    """SANA-FE's results, one entry per sample."""
    steps: int
    energy_j: dict[str, list[float]] = field(default_factory=dict)     # component -> per sample
    time_s: dict[str, list[float]] = field(default_factory=dict)       # 'simple' / 'detailed' -> per sample
    counts: dict[str, list[int]] = field(default_factory=dict)         # SANA-FE counter -> per sample
    rasters: dict[str, np.ndarray] = field(default_factory=dict)       # layer -> bool [S, steps, neurons]
    file_totals: dict | None = None     # SANA-FE on the network file itself (run_sanafe's ``also_file``)


def _network(spec: NetworkSpec, mapping: Mapping, force_update: bool):
    """SANA-FE's network for ``spec``, neuron by neuron on the cores ``mapping`` gives: (network, groups)."""
    sanafe = import_sanafe()
    g = spec.graph()
    arch = loihi_arch()
    cores = arch.cores()
    net = sanafe.Network()
    names = [lg.INPUT] + [ly.name for ly in spec.layers]
    groups = {}
    forced = {"force_update": bool(force_update)}
    biased = spec.input_neuron is not None           # a bias-driven input: LIF neurons on the core's soma
    if biased:
        attrs = {**forced, **{k: v for k, v in spec.input_neuron.items() if k != "bias"}}
        groups[lg.INPUT] = net.create_neuron_group(lg.INPUT, lg.layer(g, lg.INPUT).neurons,
                                                   model_attributes=attrs, log_spikes=True)
        for i, b in enumerate(spec.input_neuron["bias"]):
            groups[lg.INPUT][i].set_attributes(model_attributes={"bias": float(b)})
    else:
        groups[lg.INPUT] = net.create_neuron_group(lg.INPUT, lg.layer(g, lg.INPUT).neurons, log_spikes=True)
    for ly in spec.layers:
        groups[ly.name] = net.create_neuron_group(ly.name, lg.layer(g, ly.name).neurons,
                                                  model_attributes={**forced, **spec.neuron_of(ly)},
                                                  default_synapse_hw_name=synapse_unit(ly), log_spikes=True)
    for name in names:                     # archsim's placement, neuron by neuron
        place = mapping.layers[name]
        offset = 0
        for k, core in enumerate(place.cores):
            for j in range(place.neurons_per_core[k]):
                neuron = groups[name][offset + j]
                if name == lg.INPUT and not biased:
                    neuron.set_attributes(soma_hw_name=f"loihi_inputs[{j}]")
                neuron.map_to_core(cores[core])
            offset += place.neurons_per_core[k]
    prev = lg.INPUT
    for ly in spec.layers:
        s, t, w = synapses(spec, g, ly, prev)
        groups[prev].connect_neurons_sparse(groups[ly.name], {"weight": w.tolist()}, list(zip(s.tolist(), t.tolist())))
        prev = ly.name
    return net, groups


def run_sanafe(spec: NetworkSpec, mapping: Mapping, inputs: np.ndarray, steps: int, progress: bool = False,
               force_update: bool = False, also_file: str | None = None) -> SanafeRun:
    """Simulate every sample of ``inputs`` (bool [S, T, input neurons]) for ``steps`` timesteps each (a
    bias-driven input, ``spec.input_neuron``, ignores them: its biases drive it in every step); then,
    with ``also_file``, SANA-FE on that network file itself (on the same chip object: a chip of the
    bundled Loihi takes seconds to build and to free)."""
    sanafe = import_sanafe()
    g = spec.graph()
    net, groups = _network(spec, mapping, force_update)
    biased = spec.input_neuron is not None
    names = [lg.INPUT] + [ly.name for ly in spec.layers]
    n_samples, t_in, n_in = inputs.shape
    out = SanafeRun(steps)
    rasters = {name: np.zeros((n_samples, steps, lg.layer(g, name).neurons), dtype=bool) for name in names}
    chip = sanafe.SpikingChip(loihi_arch())
    for si in range(n_samples):
        train = np.zeros((n_in, steps), dtype=bool)
        train[:, :t_in] = inputs[si].T
        for i in range(n_in if not biased else 0):
            groups[lg.INPUT][i].set_attributes(model_attributes={"spikes": train[i].tolist()})
        for model in ("simple", "detailed"):
            with quiet_stdout():
                chip.load(net)                           # a fresh chip state and input train per run
                res = chip.sim(steps, timing_model=model, spike_trace=model == "simple",
                               perf_trace=model == "simple")
            out.time_s.setdefault(model, []).append(float(res["sim_time"]))
            if model != "simple":
                continue
            totals = _totals(res)
            for comp, joules in totals["energy_j"].items():
                out.energy_j.setdefault(comp, []).append(joules)
            for key, n in totals["counts"].items():
                out.counts.setdefault(key, []).append(n)
            for step, fired in enumerate(res["spike_trace"]):
                for addr in fired:
                    rasters[addr.group_name][si, step, int(addr.neuron_offset)] = True
        if progress:
            print(f"  SANA-FE sample {si + 1}/{n_samples}", flush=True)
    out.rasters = rasters
    if also_file is not None:
        del net, groups
        out.file_totals = _run_file(chip, also_file, steps)
    return out

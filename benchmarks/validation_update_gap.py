"""Where archsim's neuron-update count differs from SANA-FE's on a validation network, neuron-step by step.

    python benchmarks/validation_update_gap.py workloads/validation/dvs_gesture.yaml --timesteps 32 \
        --out results/validation/dvs_gesture/update_rule_gap.json

SANA-FE's ``loihi_lif`` updates a neuron in a step where a synaptic event arrives, its bias is non-zero or
its potential is non-zero (sanafe models.cpp, LoihiLifModel::update); archsim's ``while_nonzero`` record
counts a neuron from the step of its first synaptic event until the step it fires, from the spike
records alone (archsim/units/neuron_activity.py), without the weights. The two differ where a neuron's
potential comes back to exactly 0 without a spike: SANA-FE stops updating it, archsim does not. This
script runs SANA-FE as ``archsim validate sanafe`` does, replays SANA-FE's rule on its own spike trace
with the network's weights (leak, truncation to 1/64, bias, input, threshold, hard reset; the replayed
spikes must equal SANA-FE's, step by step), and counts per layer: SANA-FE's updates, archsim's rule on
the same trace, and the steps whose inputs left a neuron's potential at exactly 0.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from archsim import graph as lg
from archsim.hwconfig import load_config
from archsim.mapping import map_network
from archsim.validate.compare import _placeholder
from archsim.validate.network import synapses
from archsim.validate.sanafe import run_sanafe
from archsim.validate.sanafe_yaml import load_any

ROOT = Path(__file__).resolve().parents[1]


def replay(raster: np.ndarray, current: np.ndarray, arrived: np.ndarray, neuron: dict, bias: np.ndarray) -> dict:
    """SANA-FE's loihi_lif over [steps, neurons] inputs: updates per its rule and per archsim's, the
    steps whose input left the potential at 0, and whether the replayed spikes equal ``raster``."""
    th, leak, reset = neuron["threshold"], neuron.get("leak_decay", 1.0), neuron.get("reset", 0.0)
    v = np.zeros(raster.shape[1])
    armed = np.zeros(raster.shape[1], dtype=bool)
    out = {"sanafe_rule": 0, "archsim_rule": 0, "input_cancelled_to_zero": 0, "leaked_to_zero": 0,
           "spikes_equal": True}
    for step in range(raster.shape[0]):
        out["sanafe_rule"] += int(((v != 0) | arrived[step] | (bias != 0)).sum())
        was = v != 0
        if step > 0:
            v = v * leak
        v = np.trunc(v * 64) / 64 + bias + current[step]
        fire = v > th
        out["input_cancelled_to_zero"] += int((arrived[step] & (v == 0) & ~fire).sum())
        out["leaked_to_zero"] += int((was & ~arrived[step] & (v == 0)).sum())
        out["spikes_equal"] &= bool(np.array_equal(fire, raster[step]))
        v[fire] = reset
        armed |= arrived[step] | (bias != 0)          # archsim: from the first event (every step if biased)
        out["archsim_rule"] += int(armed.sum())
        armed &= ~fire | (bias != 0)
    return out


def _inputs(spec, g, layer, prev: str, raster_prev: np.ndarray, n_dst: int) -> tuple[np.ndarray, np.ndarray]:
    """[steps, n_dst] current and 'an event arrived', a spike being integrated one step after it is sent."""
    s, t, w = synapses(spec, g, layer, prev)
    steps = raster_prev.shape[0]
    current, arrived = np.zeros((steps, n_dst)), np.zeros((steps, n_dst), dtype=bool)
    for step in range(1, steps):
        x = raster_prev[step - 1][s].astype(np.float64)
        current[step] = np.bincount(t, weights=w * x, minlength=n_dst)
        arrived[step] = np.bincount(t, weights=x, minlength=n_dst) > 0
    return current, arrived


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("network", help="a bias-driven validation network (archsim's format or SANA-FE's)")
    p.add_argument("--timesteps", type=int, default=32)
    p.add_argument("--out", help="write the per-layer counts as JSON")
    a = p.parse_args()
    spec = load_any(a.network)
    if spec.input_neuron is None:
        raise SystemExit("the network needs a bias-driven input (its own input neurons)")
    g, steps = spec.graph(), a.timesteps + len(spec.layers)
    hw = load_config(ROOT / "hwconfigs" / "loihi.yaml")
    placement = map_network(hw, _placeholder(g, steps), spec.placement, refuse_overfull=False)
    n_in = lg.layer(g, lg.INPUT).neurons
    sf = run_sanafe(spec, placement, np.zeros((1, a.timesteps, n_in), dtype=bool), steps)
    rasters = {k: v[0] for k, v in sf.rasters.items()}
    zero = np.zeros((steps, n_in))
    layers = {lg.INPUT: replay(rasters[lg.INPUT], zero, zero.astype(bool), spec.input_neuron,
                               np.asarray(spec.input_neuron["bias"]))}
    prev = lg.INPUT
    for ly in spec.layers:
        n = lg.layer(g, ly.name).neurons
        current, arrived = _inputs(spec, g, ly, prev, rasters[prev], n)
        layers[ly.name] = replay(rasters[ly.name], current, arrived, spec.neuron_of(ly), np.zeros(n))
        prev = ly.name
    result = {"network": spec.name, "steps": steps, "sanafe_reported": int(sf.counts["neurons_updated"][0]),
              "sanafe_rule_replayed": sum(v["sanafe_rule"] for v in layers.values()),
              "archsim_rule": sum(v["archsim_rule"] for v in layers.values()), "layers": layers}
    for name, v in layers.items():
        print(f"{name:<8} SANA-FE's rule {v['sanafe_rule']:>8,}  archsim's {v['archsim_rule']:>8,} "
              f"({v['archsim_rule'] - v['sanafe_rule']:+,})  inputs that cancelled to 0: "
              f"{v['input_cancelled_to_zero']:,}, leaked to 0: {v['leaked_to_zero']:,}  spikes replayed exactly: "
              f"{v['spikes_equal']}")
    print(f"total    SANA-FE's rule {result['sanafe_rule_replayed']:>8,} (SANA-FE reports "
          f"{result['sanafe_reported']:,})  archsim's {result['archsim_rule']:>8,}")
    if a.out:
        Path(a.out).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

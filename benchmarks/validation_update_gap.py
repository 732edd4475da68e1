"""Where archsim's neuron-update count differs from SANA-FE's on a validation network, neuron-step by step.

    python benchmarks/validation_update_gap.py workloads/validation/dvs_gesture.yaml --timesteps 32 \
        --out results/validation/dvs_gesture/update_rule_gap.json

SANA-FE's ``loihi_lif`` updates a neuron in a step where a synaptic event arrives, its bias is non-zero or
its potential is non-zero (sanafe models.cpp, LoihiLifModel::update); archsim's ``while_nonzero`` record
counts a neuron from the step of its first synaptic event until the step it fires when it has the spike
records alone (archsim/units/neuron_activity.py), without the weights. The two differ where a neuron's
potential comes back to exactly 0 without a spike: SANA-FE stops updating it, the spike-based rule does
not. This script runs SANA-FE as ``archsim validate sanafe`` does, replays SANA-FE's neuron on its own
spike trace with the network's weights (archsim.validate.lif, which ``archsim validate`` uses to make its
count exact; the replayed spikes must equal SANA-FE's, step by step), and counts per layer: SANA-FE's
updates, archsim's rule from the spikes alone on the same trace, and the steps whose inputs left a
neuron's potential at exactly 0 or whose potential leaked to 0.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from archsim import graph as lg
from archsim.hwconfig import load_config
from archsim.mapping import map_network
from archsim.units.neuron_activity import NeuronActivity
from archsim.units.neuron_unit import while_nonzero
from archsim.validate.compare import _placeholder
from archsim.validate.lif import LifReplay, exact_layers, replay_network
from archsim.validate.sanafe import run_sanafe
from archsim.validate.sanafe_yaml import load_any

ROOT = Path(__file__).resolve().parents[1]


def per_layer(replay: LifReplay, exact: bool) -> dict:
    """One layer's counts: SANA-FE's rule on the replayed potentials, archsim's rule from the spikes
    alone (archsim.units.neuron_unit.while_nonzero), the steps that came back to 0, spikes replayed."""
    return {"sanafe_rule": int(replay.updated.sum()),
            "archsim_rule": int(while_nonzero(NeuronActivity(replay.received, replay.fired)).sum()),
            "input_cancelled_to_zero": replay.cancelled, "leaked_to_zero": replay.leaked,
            "spikes_equal": exact}


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
    replays = replay_network(spec, sf.rasters)
    exact = exact_layers(replays, sf.rasters)
    layers = {name: per_layer(r, exact[name]) for name, r in replays.items()}
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

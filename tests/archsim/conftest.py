"""Shared fixtures: a hand-sized hardware description and hand-made workloads on the tiny graph.

The tiny graph (archsim.synthetic.tiny_graph, 4 classes): input [3, 8, 8] (dense pixels) -> conv1
[4, 8, 8] (3x3, pad 1) -> avg-pool 2 -> conv2 [8, 4, 4] -> avg-pool 4 -> fc [4] (non-spiking).
Edge fan-outs (graph.py): input->conv1 30.25 (5808 synapses over 192 pixels), conv1->conv2 50.0,
conv2->fc 4.0.
"""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

from archsim.hwconfig import config_from_dict
from archsim.synthetic import tiny_graph
from archsim.workload import Workload

ROOT = Path(__file__).resolve().parents[2]
ENERGY_45 = str(ROOT / "hwconfigs" / "energy" / "45nm.yaml")

TINY_RAW = {
    "name": "tiny-test",
    "clock_mhz": 100,
    "mesh": {"rows": 1, "cols": 3},
    "core": {
        "pe_array": {"accumulates_per_cycle": 4, "macs_per_cycle": 2},
        "neuron_unit": {"updates_per_cycle": 4},
        "weight_sram": {"size_kib": 64, "banks": 2, "port_bits": 64, "read_latency_cycles": 1, "write_latency_cycles": 1},
        "potential_sram": {"size_kib": 16, "banks": 2, "port_bits": 64, "read_latency_cycles": 1, "write_latency_cycles": 1},
        "spike_buffer": {"size_kib": 4, "banks": 1, "port_bits": 64, "read_latency_cycles": 1, "write_latency_cycles": 1},
    },
    "router": {"flit_bits": 64, "header_bits": 16, "hop_latency_cycles": 1, "buffer_depth_flits": 4,
               "routing": "xy", "multicast": True},
    "offchip": {"bandwidth_gbps": 1.6, "latency_cycles": 10, "access_bits": 64},
    "controller": {"policy": "entropy", "threshold": 0.5, "decision_cycles": 3, "mode": "wait"},
    "pipeline": {"images_in_flight": 2},
    "precision": {"weight_bits": 8, "potential_bits": 16, "input_bits": 8, "spike_event_bits": 16},
    "first_layer_reuse": True,
    "energy_table": ENERGY_45,
}


def set_dotted(raw: dict, path: str, value) -> dict:
    keys = path.split(".")
    node = raw
    for k in keys[:-1]:
        node = node.setdefault(k, {})
    node[keys[-1]] = value
    return raw


def make_hw(**overrides):
    """The tiny hwconfig with dotted-path overrides, e.g. make_hw(**{"mesh.cols": 4})."""
    raw = copy.deepcopy(TINY_RAW)
    for path, value in overrides.items():
        set_dotted(raw, path, value)
    return config_from_dict(raw, "tiny-test.yaml", ROOT / "hwconfigs")


def make_workload(conv1: list, conv2: list, exit_after: list[int] | None = None, timesteps: int | None = None) -> Workload:
    """A tiny-graph workload with the given spike counts [N][T] for conv1 and conv2 (input and fc emit
    none). ``exit_after[n]``: the 1-based timestep at which the 'entropy' score first reaches 0.5."""
    g = tiny_graph(classes=4)
    c1, c2 = np.array(conv1, dtype=np.int32), np.array(conv2, dtype=np.int32)
    n, t = c1.shape
    spikes = np.zeros((n, 4, t), dtype=np.int32)
    spikes[:, 1], spikes[:, 2] = c1, c2
    exit_after = exit_after or [t] * n
    steps = np.arange(1, t + 1)[None, :]
    entropy = np.where(steps >= np.array(exit_after)[:, None], 0.8, 0.2).astype(np.float32)
    labels = np.arange(n, dtype=np.int32) % 4
    predictions = np.repeat(labels[:, None], t, axis=1)
    return Workload(g, spikes, labels, predictions, {"entropy": entropy, "confidence": entropy.copy()},
                    np.array(exit_after, dtype=np.int32), {"kind": "direct", "timesteps": t, "arch": "tiny"})


@pytest.fixture
def hand_workload() -> Workload:
    """3 samples, T = 3; exits after timesteps 1, 3 and 2 under entropy >= 0.5."""
    return make_workload(conv1=[[10, 20, 5], [0, 7, 3], [15, 0, 1]],
                         conv2=[[3, 4, 5], [1, 0, 2], [6, 6, 6]],
                         exit_after=[1, 3, 2])

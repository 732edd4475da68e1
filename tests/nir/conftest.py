"""Shared fixtures: generated data (no download), hand-built NIR graphs, one torch thread."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tests.snn.conftest import make_event_folder, make_image_folder

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def images16(tmp_path_factory) -> Path:
    """Two classes of 16x16 RGB images (8 test images each)."""
    return make_image_folder(tmp_path_factory.mktemp("imgs16"), size=16, n_train=4, n_test=8)


@pytest.fixture(scope="session")
def events16(tmp_path_factory) -> Path:
    """Two classes of 16x16 two-polarity event streams, 200 events each."""
    return make_event_folder(tmp_path_factory.mktemp("events16"), n_train=2, n_test=3)


def full(shape, v) -> np.ndarray:
    return np.full(shape, float(v))


def _nir():
    import nir
    return nir


def lif(shape, tau_steps=2.0, r=1.0, v_threshold=1.0, v_reset=0.0, v_leak=None, dt=1e-4):
    """A NIR LIF population with one value per neuron."""
    return _nir().LIF(tau=full(shape, tau_steps * dt), r=full(shape, r), v_leak=full(shape, v_reset if v_leak is None else v_leak),
                   v_threshold=full(shape, v_threshold), v_reset=full(shape, v_reset))


def conv(c_in, c_out, hw, k=3, stride=1, padding=1, groups=1, seed=0, scale=0.5):
    rng = np.random.RandomState(seed)
    return _nir().Conv2d(input_shape=hw, weight=(rng.randn(c_out, c_in // groups, k, k) * scale).astype(np.float32),
                      stride=stride, padding=padding, dilation=1, groups=groups,
                      bias=(rng.randn(c_out) * 0.1).astype(np.float32))


def chain(*named, input_shape):
    """A NIRGraph input -> named[0] -> ... -> output."""
    nir = _nir()
    nodes = {"input": nir.Input(input_type={"input": np.array(input_shape)})}
    names = ["input"]
    for name, node in named:
        nodes[name] = node
        names.append(name)
    nodes["output"] = nir.Output(output_type={"output": np.array([1])})
    names.append("output")
    return nir.NIRGraph(nodes=nodes, edges=list(zip(names, names[1:])), type_check=False)


def mixed_graph(hw: int = 8, classes: int = 3, dt: float = 1e-4):
    """input [3, hw, hw] -> 3x3/2 conv -> LIF -> SumPool 2 -> grouped conv -> CubaLIF (per-neuron
    thresholds) -> AvgPool 2 -> Flatten -> Linear (no bias) -> LI readout."""
    nir = _nir()
    shape2 = (8, hw // 4, hw // 4)
    thr = np.linspace(0.5, 1.5, int(np.prod(shape2))).reshape(shape2)
    cuba = nir.CubaLIF(tau_syn=full(shape2, 2 * dt), tau_mem=full(shape2, 4 * dt), r=full(shape2, 4.0),
                       v_leak=full(shape2, 0), v_threshold=thr, v_reset=full(shape2, 0), w_in=full(shape2, 2.0))
    rng = np.random.RandomState(1)
    n_fc = 8 * (hw // 8) ** 2
    return chain(("c1", conv(3, 4, (hw, hw), stride=2, scale=1.0)), ("l1", lif((4, hw // 2, hw // 2), v_threshold=0.5)),
                 ("sp", nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0]))),
                 ("c2", conv(4, 8, (hw // 4, hw // 4), groups=2)), ("l2", cuba),
                 ("ap", nir.AvgPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0]))),
                 ("fl", nir.Flatten(input_type={"input": np.array([8, hw // 8, hw // 8])}, start_dim=0, end_dim=-1)),
                 ("fc", nir.Linear(weight=rng.randn(classes, n_fc).astype(np.float32))),
                 ("li", nir.LI(tau=full(classes, 2 * dt), r=full(classes, 1), v_leak=full(classes, 0))),
                 input_shape=(3, hw, hw))

"""NIR's neuron equations, one forward-Euler step of dt per timestep, checked by hand on tiny populations."""
import numpy as np
import pytest
import torch

nir = pytest.importorskip("nir")
pytest.importorskip("nirtorch")

from snn.models import record_spikes  # noqa: E402
from snn.nir.neurons import MODULES  # noqa: E402

DT = 1e-4


def run(node, shape, inputs, dt=DT):
    """Outputs of one population driven by ``inputs`` ([T, *shape]), batch of one."""
    m = MODULES[type(node).__name__](node, shape, dt)
    state, outs = None, []
    for x in torch.as_tensor(np.asarray(inputs, dtype=np.float32)):
        y, state = m(x.unsqueeze(0), state)
        outs.append(y[0])
    return torch.stack(outs).numpy()


def test_lif_with_decaying_input_hand_computed():
    # r = 1, tau = 2 dt: h = v + (x - v) / 2; x = 1.5: 0.75, 1.125 (fire, reset 0), 0.75, 1.125 (fire)
    node = nir.LIF(tau=np.full(1, 2 * DT), r=np.ones(1), v_leak=np.zeros(1), v_threshold=np.ones(1),
                   v_reset=np.zeros(1))
    assert run(node, (1,), np.full((4, 1), 1.5))[:, 0].tolist() == [0, 1, 0, 1]


def test_lif_without_input_decay_and_per_neuron_thresholds():
    # r = tau / dt = 2: h = v - v / 2 + x; x = 0.6: 0.6, 0.9, 1.05, ... ; thresholds 0.5 / 1.0 / 2.0
    node = nir.LIF(tau=np.full(3, 2 * DT), r=np.full(3, 2.0), v_leak=np.zeros(3),
                   v_threshold=np.array([0.5, 1.0, 2.0]), v_reset=np.zeros(3))
    s = run(node, (3,), np.full((4, 3), 0.6))
    assert s[:, 0].tolist() == [1, 1, 1, 1]          # 0.6 >= 0.5 every step (reset to 0 each time)
    assert s[:, 1].tolist() == [0, 0, 1, 0]          # 0.6, 0.9, 1.05 fires, then 0.6
    assert s[:, 2].tolist() == [0, 0, 0, 0]          # approaches 1.2 < 2


def test_lif_general_leak_and_reset():
    # tau = 4 dt, r = 3, v_leak = 1, v_reset = -1: v += (1 - v + 3 x) / 4; x = 0: v -> 1 from -1:
    # -1 + 2/4 = -0.5, -0.5 + 1.5/4 = -0.125, ...; threshold 0.5 never reached without input
    node = nir.LIF(tau=np.full(1, 4 * DT), r=np.full(1, 3.0), v_leak=np.ones(1), v_threshold=np.full(1, 0.5),
                   v_reset=np.full(1, -1.0))
    m = MODULES["LIF"](node, (1,), DT)
    state = None
    for expect in (-0.5, -0.125, 0.15625):
        _, state = m(torch.zeros(1, 1), state)
        assert float(state[0, 0]) == pytest.approx(expect)
    # x = 1: v = 0.15625 + (1 - 0.15625 + 3) / 4 = 1.1171875 >= 0.5: fires, back to v_reset = -1
    s, state = m(torch.ones(1, 1), state)
    assert float(s[0, 0]) == 1 and float(state[0, 0]) == -1


def test_if_fires_every_k_steps_with_per_neuron_thresholds():
    # IF: v += dt r x with r = 1 / dt: v += x; x = 1, thresholds 1, 2, 3 -> every 1st, 2nd, 3rd step
    node = nir.IF(r=np.full(3, 1 / DT), v_threshold=np.array([1.0, 2.0, 3.0]), v_reset=np.zeros(3))
    s = run(node, (3,), np.ones((6, 3)))
    assert s.T.tolist() == [[1] * 6, [0, 1, 0, 1, 0, 1], [0, 0, 1, 0, 0, 1]]


def test_cuba_lif_current_then_voltage():
    # tau_syn = 2 dt, w_in = 2: I += (2 x - I) / 2; tau_mem = 2 dt, r = 2 (= tau_mem / dt): v = v / 2 + I
    # x = 1: I = 1, v = 1 (fires at threshold 1, reset 0); I = 1.5, v = 1.5 fires; I = 1.75 ...
    node = nir.CubaLIF(tau_syn=np.full(1, 2 * DT), tau_mem=np.full(1, 2 * DT), r=np.full(1, 2.0),
                       v_leak=np.zeros(1), v_threshold=np.full(1, 1.25), v_reset=np.zeros(1), w_in=np.full(1, 2.0))
    m = MODULES["CubaLIF"](node, (1,), DT)
    state, spikes, currents = None, [], []
    for _ in range(3):
        s, state = m(torch.ones(1, 1), state)
        spikes.append(float(s[0, 0]))
        currents.append(float(state[0][0, 0]))
    assert currents == [1.0, 1.5, 1.75]
    assert spikes == [0.0, 1.0, 1.0]           # v = 1 (< 1.25), then 0.5 + 1.5 = 2 fires, then 0 + 1.75 fires


def test_readouts_integrate_without_firing():
    # LI: tau = 2 dt, r = 1: v += (x - v) / 2 -> 0.5, 0.75, 0.875; I: v += dt r x -> 1, 2, 3
    li = nir.LI(tau=np.full(1, 2 * DT), r=np.ones(1), v_leak=np.zeros(1))
    assert run(li, (1,), np.ones((3, 1)))[:, 0].tolist() == [0.5, 0.75, 0.875]
    integ = nir.I(r=np.full(1, 1 / DT))
    assert run(integ, (1,), np.ones((3, 1)))[:, 0].tolist() == pytest.approx([1, 2, 3])
    cuba_li = nir.CubaLI(tau_syn=np.full(1, 2 * DT), tau_mem=np.full(1, 2 * DT), r=np.ones(1), v_leak=np.zeros(1),
                         w_in=np.full(1, 2.0))
    # I = 1, 1.5; v = 0 + (1 - 0) / 2 = 0.5, 0.5 + (1.5 - 0.5) / 2 = 1.0
    assert run(cuba_li, (1,), np.ones((2, 1)))[:, 0].tolist() == [0.5, 1.0]


def test_per_channel_parameters_broadcast_and_spikes_are_recorded():
    # thresholds per channel of a [2, 2, 2] population: channel 0 fires on x = 1, channel 1 (threshold 3) not
    node = nir.IF(r=np.full(2, 1 / DT), v_threshold=np.array([1.0, 3.0]), v_reset=np.zeros(2))
    m = MODULES["IF"](node, (2, 2, 2), DT)
    with record_spikes(torch.nn.Sequential(m)) as rec:
        m(torch.ones(3, 2, 2, 2))
    assert rec.totals()[0].tolist() == [[4.0, 4.0, 4.0]]          # [T=1, B=3]: 4 neurons of channel 0
    assert rec.channels()[0][0, 0].tolist() == [4.0, 0.0]


def test_time_constant_below_dt_is_refused():
    from archsim.errors import UserError
    from snn.nir.network import torch_module
    node = nir.LIF(tau=np.full(1, 0.5 * DT), r=np.ones(1), v_leak=np.zeros(1), v_threshold=np.ones(1))
    with pytest.raises(UserError, match="unstable"):
        torch_module("lif1", node, (1,), DT)

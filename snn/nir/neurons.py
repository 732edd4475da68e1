"""NIR's neuron models as torch modules, one timestep per call, with per-neuron parameter arrays.

NIR states them in continuous time; like SpikingJelly, snnTorch and Norse we take one forward-Euler step
of ``dt`` per timestep (``dt`` is not part of a NIR file: the exporting library's, 1e-4 s by default):

- LIF:     ``tau dv/dt = (v_leak - v) + r I``  ->  ``v += (v_leak - v + r I) / (tau / dt)``
- IF:      ``dv/dt = r I``                     ->  ``v += dt r I``
- CubaLIF: ``tau_syn dI/dt = -I + w_in x`` first (``I += (w_in x - I) / (tau_syn / dt)``), then the LIF
  step driven by the new current (SpikingJelly's order);
- LI, I, CubaLI: the same without firing (non-spiking readouts; they output their potential).

A spiking neuron fires where ``v >= v_threshold`` (as our trainer and SpikingJelly; NIR's text says
``>``, which differs only when the potential lands exactly on the threshold) and is reset to ``v_reset``;
the potential starts at ``v_reset`` (the current at 0). The LIF step is snn.neurons.lif_step itself, in
whichever of its two forms the parameters match (``r = 1``: input decays with the potential; ``r = tau /
dt``: it does not), so a network of ours survives the round trip bit for bit.

nirtorch calls a module with ``(x, state)`` and expects ``(output, new_state)`` back when its forward has
a ``state`` argument. The spiking ones are snn.neurons.LIF subclasses for one reason: so that
snn.models.base.record_spikes finds them and they report their spikes the way our own networks do.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from snn.neurons import LIF, lif_step
from snn.nir.read import neuron_fields, param, type_of

_RTOL = 1e-6   # parameters this close to a special value (r = 1, r = tau / dt, dt r = 1) are taken as it


def _near(a: np.ndarray, b) -> bool:
    return bool(np.allclose(a, b, rtol=_RTOL, atol=0.0))


class _Dynamics(nn.Module):
    """Parameters as buffers (float32, broadcasting over ``[B, *shape]``) and the nirtorch call."""

    spiking = False

    def __init__(self, node, shape, dt: float, name: str = ""):
        super().__init__()
        self.nir_type, self.nir_name, self.dt = type_of(node), name, float(dt)
        self.p = {f: param(node, f, tuple(shape), name) for f in neuron_fields(node)}
        for f, a in self.p.items():
            self.register_buffer(f, torch.as_tensor(a, dtype=torch.float32), persistent=False)

    def extra_repr(self) -> str:
        return f"{self.nir_type} {self.nir_name!r}, dt={self.dt}"

    def forward(self, x: torch.Tensor, state=None):
        out, state = self.step_state(x, state)
        if self.spiking:
            self._record(out.unsqueeze(0))
        return out, state

    def reset_state(self) -> None:
        """The state travels with the call (nirtorch); nothing is kept here."""


class _Leaky:
    """The LIF/LI potential update ``v += (v_leak - v + r I) / (tau / dt)``, written in whichever of
    snn.neurons.lif_step's two forms the parameters match (``scale``/``shift`` adapt the input)."""

    def _setup_leak(self, tau: np.ndarray, r: np.ndarray, v_leak: np.ndarray, v_reset: np.ndarray) -> None:
        steps = tau / self.dt
        if np.any(steps < 1.0):
            raise ValueError("tau < dt")
        self.register_buffer("tau_steps", torch.as_tensor(steps, dtype=torch.float32), persistent=False)
        shift = v_leak - v_reset
        # decay_input=False: h = v - (v - v_reset) / tau + x, i.e. r = tau / dt; else h = v + (x - (v - v_reset)) / tau
        self.decay_input = not _near(r, steps)
        scale = None if _near(r, 1.0) or not self.decay_input else r
        if not self.decay_input:
            shift = shift / steps
        self.register_buffer("scale", None if scale is None else torch.as_tensor(scale, dtype=torch.float32),
                             persistent=False)
        self.register_buffer("shift", None if np.all(shift == 0) else torch.as_tensor(shift, dtype=torch.float32),
                             persistent=False)

    def _leak_input(self, x: torch.Tensor) -> torch.Tensor:
        if self.scale is not None:
            x = x * self.scale
        if self.shift is not None:
            x = x + self.shift
        return x


def _fire(h_in: torch.Tensor, v: torch.Tensor, owner, tau) -> tuple[torch.Tensor, torch.Tensor]:
    return lif_step(h_in, v, tau=tau, v_threshold=owner.v_threshold, v_reset=owner.v_reset, reset="hard",
                    decay_input=owner.decay_input)


class SpikingNeuron(_Dynamics, LIF):
    """Base of the spiking NIR neurons (an snn.neurons.LIF only for spike recording, see the docstring)."""

    spiking = True


class NIRLIF(_Leaky, SpikingNeuron):
    def __init__(self, node, shape, dt: float, name: str = ""):
        super().__init__(node, shape, dt, name)
        self._setup_leak(self.p["tau"], self.p["r"], self.p["v_leak"], self.p["v_reset"])

    def step_state(self, x, v):
        v = self.v_reset.expand_as(x) if v is None else v
        return _fire(self._leak_input(x), v, self, self.tau_steps)


class NIRIF(SpikingNeuron):
    def __init__(self, node, shape, dt: float, name: str = ""):
        super().__init__(node, shape, dt, name)
        gain = self.p["r"] * self.dt
        self.register_buffer("gain", None if _near(gain, 1.0) else torch.as_tensor(gain, dtype=torch.float32),
                             persistent=False)
        self.decay_input = False

    def step_state(self, x, v):
        v = self.v_reset.expand_as(x) if v is None else v
        if self.gain is not None:
            x = x * self.gain
        # no leak: lif_step with an infinite tau and the input not decayed is exactly h = v + x
        return _fire(x, v, self, math.inf)


class _Current:
    """CubaLIF/CubaLI's synaptic current ``I += (w_in x - I) / (tau_syn / dt)``."""

    def _setup_current(self) -> None:
        steps = self.p["tau_syn"] / self.dt
        if np.any(steps < 1.0):
            raise ValueError("tau_syn < dt")
        self.register_buffer("tau_syn_steps", torch.as_tensor(steps, dtype=torch.float32), persistent=False)

    def _current(self, x, i):
        i = torch.zeros_like(x) if i is None else i
        return i + (x * self.w_in - i) / self.tau_syn_steps


class NIRCubaLIF(_Current, _Leaky, SpikingNeuron):
    def __init__(self, node, shape, dt: float, name: str = ""):
        super().__init__(node, shape, dt, name)
        self._setup_current()
        self._setup_leak(self.p["tau_mem"], self.p["r"], self.p["v_leak"], self.p["v_reset"])

    def step_state(self, x, state):
        i, v = (None, self.v_reset.expand_as(x)) if state is None else state
        i = self._current(x, i)
        s, v = _fire(self._leak_input(i), v, self, self.tau_steps)
        return s, (i, v)


class NIRLI(_Leaky, _Dynamics):
    """Leaky integrator readout: outputs its potential."""

    def __init__(self, node, shape, dt: float, name: str = ""):
        super().__init__(node, shape, dt, name)
        self._setup_leak(self.p["tau"], self.p["r"], self.p["v_leak"], np.zeros_like(self.p["v_leak"]))

    def _integrate(self, x, v):
        v = torch.zeros_like(x) if v is None else v
        x = self._leak_input(x)
        v = v + (x - v) / self.tau_steps if self.decay_input else v - v / self.tau_steps + x
        return v

    def step_state(self, x, v):
        v = self._integrate(x, v)
        return v, v


class NIRI(_Dynamics):
    """Integrator readout ``v += dt r I``."""

    def step_state(self, x, v):
        v = (torch.zeros_like(x) if v is None else v) + x * (self.r * self.dt)
        return v, v


class NIRCubaLI(_Current, NIRLI):
    def __init__(self, node, shape, dt: float, name: str = ""):
        _Dynamics.__init__(self, node, shape, dt, name)
        self._setup_current()
        self._setup_leak(self.p["tau_mem"], self.p["r"], self.p["v_leak"], np.zeros_like(self.p["v_leak"]))

    def step_state(self, x, state):
        i, v = (None, None) if state is None else state
        i = self._current(x, i)
        v = self._integrate(i, v)
        return v, (i, v)


MODULES = {"LIF": NIRLIF, "IF": NIRIF, "CubaLIF": NIRCubaLIF, "LI": NIRLI, "I": NIRI, "CubaLI": NIRCubaLI}

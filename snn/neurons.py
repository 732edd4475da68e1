"""Leaky integrate-and-fire neurons: a pure step function, two multi-step loops, and a thin module.

Dynamics (one timestep, membrane ``v``, input current ``x``, all in units of the threshold-scaled
membrane potential; time in timesteps):

- charge, ``decay_input=True`` (SpikingJelly's LIFNode, the default here):
  ``h = v + (x - (v - v_reset)) / tau``  -- with tau=2 and v_reset=0: ``h = 0.5 v + 0.5 x``.
- charge, ``decay_input=False`` (the DT-SNN / SEENN leak form): ``h = v - (v - v_reset) / tau + x``
  -- with tau=2: ``h = 0.5 v + x``.
- fire: ``s = H(h - v_threshold)`` with a surrogate gradient (snn.surrogate).
- reset, ``hard``: ``v = h (1 - s) + v_reset s``; ``soft`` (reset by subtraction): ``v = h - v_threshold s``.

The state starts at ``v_reset`` before the first timestep. ``detach_reset`` stops the gradient through the
reset term (SpikingJelly's option of the same name); off by default.

Three ways to run T steps on ``x_seq [T, B, ...]``, all giving the same spikes and gradients:
``lif_multistep`` (eager loop of ``lif_step``; autograd records every op), and ``lif_multistep_fused``
(one autograd node: a forward loop that saves only the pre-spike potentials and a hand-written BPTT
backward loop; both loops are compiled with ``torch.compile`` when ``compile=True`` and the compiler works,
else they run eagerly). The fused path saves memory and Python/autograd overhead on every device.
"""
from __future__ import annotations

import warnings

import torch
from torch import nn

from archsim.errors import UserError
from snn.surrogate import Surrogate, get_surrogate

RESETS = ("hard", "soft")


def lif_step(x: torch.Tensor, v: torch.Tensor | float, *, tau: float = 2.0, v_threshold: float = 1.0,
             v_reset: float = 0.0, reset: str = "hard", surrogate: str | Surrogate = "sigmoid",
             decay_input: bool = True, detach_reset: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """One LIF timestep: ``(x, v) -> (spike, v_next)``. Pure: no state is kept anywhere."""
    sg = get_surrogate(surrogate)
    if decay_input:
        h = v + (x - (v - v_reset)) / tau
    else:
        h = v - (v - v_reset) / tau + x
    s = sg(h - v_threshold)
    sr = s.detach() if detach_reset else s
    if reset == "hard":
        v_next = h * (1.0 - sr) + v_reset * sr
    elif reset == "soft":
        v_next = h - v_threshold * sr
    else:
        raise UserError("neuron", "reset", f"must be one of {RESETS}, got {reset!r}")
    return s, v_next


def lif_multistep(x_seq: torch.Tensor, *, tau: float = 2.0, v_threshold: float = 1.0, v_reset: float = 0.0,
                  reset: str = "hard", surrogate: str | Surrogate = "sigmoid", decay_input: bool = True,
                  detach_reset: bool = False) -> torch.Tensor:
    """Eager loop of ``lif_step`` over the leading time axis; returns spikes ``[T, B, ...]``."""
    v: torch.Tensor | float = torch.full_like(x_seq[0], v_reset)
    out = []
    for t in range(x_seq.shape[0]):
        s, v = lif_step(x_seq[t], v, tau=tau, v_threshold=v_threshold, v_reset=v_reset, reset=reset,
                        surrogate=surrogate, decay_input=decay_input, detach_reset=detach_reset)
        out.append(s)
    return torch.stack(out)


# ---- fused path: forward saves h only, backward is hand-written BPTT --------------------------------

def _fwd_loop(x_seq, tau: float, v_th: float, v_reset: float, soft: bool, decay_input: bool):
    # outputs laid out like the input (empty_like keeps channels_last strides; torch.stack would not): a
    # layout change here costs a copy in the next conv and BatchNorm's slow mixed-layout backward
    v = torch.full_like(x_seq[0], v_reset)
    ss, hs = torch.empty_like(x_seq), torch.empty_like(x_seq)
    for t in range(x_seq.shape[0]):
        x = x_seq[t]
        h = v + (x - (v - v_reset)) / tau if decay_input else v - (v - v_reset) / tau + x
        s = (h >= v_th).to(x.dtype)
        v = h - v_th * s if soft else h * (1.0 - s) + v_reset * s
        hs[t] = h
        ss[t] = s
    return ss, hs


def _bwd_loop(grad_s, h_seq, tau: float, v_th: float, v_reset: float, soft: bool, decay_input: bool,
              detach_reset: bool, sg_name: str, alpha: float):
    from snn.surrogate import grad as sg_grad
    T = h_seq.shape[0]
    grad_v = torch.zeros_like(h_seq[0])
    gx = torch.empty_like(h_seq)   # laid out like the forward's input (see _fwd_loop)
    k_in = 1.0 / tau if decay_input else 1.0
    k_leak = 1.0 - 1.0 / tau
    for t in range(T - 1, -1, -1):
        h = h_seq[t]
        sg = sg_grad(sg_name, h - v_th, alpha)
        if soft:
            dv_dh = torch.ones_like(h) if detach_reset else 1.0 - v_th * sg
        else:
            s = (h >= v_th).to(h.dtype)
            dv_dh = (1.0 - s) if detach_reset else (1.0 - s) + (v_reset - h) * sg
        grad_h = grad_s[t] * sg + grad_v * dv_dh
        gx[t] = grad_h * k_in
        grad_v = grad_h * k_leak
    return gx


_COMPILED: dict[str, object] = {}
_COMPILE_BROKEN = False


def _maybe_compiled(name: str, fn, use_compile: bool):
    """``torch.compile(fn)`` cached per function; the plain function if compiling is off or broken."""
    if not use_compile or _COMPILE_BROKEN:
        return fn
    if name not in _COMPILED:
        try:
            import torch._dynamo as dynamo
            # one specialisation per (layer shape, batch size): train, last batch and eval of every layer
            for knob in ("recompile_limit", "cache_size_limit"):
                if hasattr(dynamo.config, knob):
                    setattr(dynamo.config, knob, max(getattr(dynamo.config, knob), 64))
            _COMPILED[name] = torch.compile(fn, dynamic=False)
        except Exception as err:  # noqa: BLE001 - any compiler failure falls back to eager
            _disable_compile(err)
            return fn
    return _COMPILED[name]


def _disable_compile(err: Exception) -> None:
    global _COMPILE_BROKEN
    if not _COMPILE_BROKEN:
        warnings.warn(f"torch.compile unavailable for the LIF loop, running it eagerly ({type(err).__name__})",
                      stacklevel=3)
    _COMPILE_BROKEN = True


def _call(name: str, fn, use_compile: bool, *args):
    f = _maybe_compiled(name, fn, use_compile)
    if f is fn:
        return fn(*args)
    try:
        return f(*args)
    except Exception as err:  # noqa: BLE001
        _disable_compile(err)
        return fn(*args)


class _LIFFused(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x_seq, tau, v_th, v_reset, soft, decay_input, detach_reset, sg_name, alpha, use_compile):
        s, h = _call("fwd", _fwd_loop, use_compile, x_seq, tau, v_th, v_reset, soft, decay_input)
        ctx.save_for_backward(h)
        ctx.cfg = (tau, v_th, v_reset, soft, decay_input, detach_reset, sg_name, alpha)
        ctx.use_compile = use_compile
        return s

    @staticmethod
    def backward(ctx, grad_s):
        (h,) = ctx.saved_tensors
        if grad_s.stride() != h.stride():   # one layout for the loop (compile specialises on strides)
            grad_s = torch.empty_like(h).copy_(grad_s)
        gx = _call("bwd", _bwd_loop, ctx.use_compile, grad_s, h, *ctx.cfg)
        return (gx,) + (None,) * 9


def lif_multistep_fused(x_seq: torch.Tensor, *, tau: float = 2.0, v_threshold: float = 1.0,
                        v_reset: float = 0.0, reset: str = "hard", surrogate: str | Surrogate = "sigmoid",
                        decay_input: bool = True, detach_reset: bool = False,
                        compile: bool = False) -> torch.Tensor:
    """Same result as ``lif_multistep`` as one autograd node (see the module docstring)."""
    if reset not in RESETS:
        raise UserError("neuron", "reset", f"must be one of {RESETS}, got {reset!r}")
    sg = get_surrogate(surrogate)
    return _LIFFused.apply(x_seq, float(tau), float(v_threshold), float(v_reset), reset == "soft",
                           bool(decay_input), bool(detach_reset), sg.name, sg.alpha, bool(compile))


class LIF(nn.Module):
    """Thin module around the LIF functions.

    Multi-step: ``forward(x_seq [T, B, ...]) -> spikes [T, B, ...]``. Single-step: ``step(x [B, ...])``
    keeps ``self.v`` between calls until ``reset_state()``. While ``self.recorder`` is a list, every
    call appends the spike counts of this layer: per sample and timestep ``[T, B]`` and per channel
    ``[T, B, C]`` (summed over space), as a dict (see snn.models.base.record_spikes).
    """

    def __init__(self, tau: float = 2.0, v_threshold: float = 1.0, v_reset: float = 0.0, reset: str = "hard",
                 surrogate: str = "sigmoid", decay_input: bool = True, detach_reset: bool = False,
                 fused: bool = True, compile: bool = False):
        super().__init__()
        if reset not in RESETS:
            raise UserError("neuron", "reset", f"must be one of {RESETS}, got {reset!r}")
        if tau < 1.0:
            raise UserError("neuron", "tau", f"must be >= 1 timestep, got {tau}")
        self.kw = dict(tau=float(tau), v_threshold=float(v_threshold), v_reset=float(v_reset), reset=reset,
                       surrogate=get_surrogate(surrogate), decay_input=bool(decay_input),
                       detach_reset=bool(detach_reset))
        self.fused, self.compile = bool(fused), bool(compile)
        self.v: torch.Tensor | None = None
        self.recorder: list | None = None
        self.record_raw = 0          # while recording: also keep which neurons fired, for this many samples
        self.record_pool: tuple | None = None   # while recording: (p, [C, H, W]): also count the p x p cells that fired

    def extra_repr(self) -> str:
        kw = dict(self.kw, surrogate=self.kw["surrogate"].name)
        return ", ".join(f"{k}={v}" for k, v in kw.items()) + f", fused={self.fused}"

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        if self.fused:
            s = lif_multistep_fused(x_seq, compile=self.compile, **self.kw)
        else:
            s = lif_multistep(x_seq, **self.kw)
        self._record(s)
        return s

    def step(self, x: torch.Tensor) -> torch.Tensor:
        v = torch.full_like(x, self.kw["v_reset"]) if self.v is None else self.v
        s, self.v = lif_step(x, v, **self.kw)
        self._record(s.unsqueeze(0))
        return s

    def reset_state(self) -> None:
        self.v = None

    def _record(self, s: torch.Tensor) -> None:
        if self.recorder is None:
            return
        with torch.no_grad():
            sd = s.detach()
            per_ch = sd.flatten(3).sum(3) if sd.dim() > 3 else sd  # [T, B, C]
            entry = {"total": per_ch.flatten(2).sum(2).float().cpu() if per_ch.dim() > 2 else per_ch.float().cpu(),
                     "channel": per_ch.float().cpu()}
            if self.record_raw:      # [T, B', neurons] bool, neurons in [C, H, W] order
                entry["raw"] = sd[:, : self.record_raw].flatten(2).bool().cpu()
            if self.record_pool:     # [T, B] p x p cells of one channel holding a spike (archsim.pooling)
                p, (c, h, w) = self.record_pool
                cells = sd.reshape(sd.shape[:2] + (c, h // p, p, w // p, p)).ne(0).any(6).any(4)
                entry["cells"] = cells.flatten(2).sum(2).float().cpu()
            self.recorder.append(entry)

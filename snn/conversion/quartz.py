"""Quartz time-to-first-spike (TTFS) conversion (Lenz, Orchard, Sheik; arXiv 2309.16795): each neuron
spikes at most once and the spike's *time* carries its value. Mechanics learned from the public code
(github biphasic/Quartz: quartz/layer.py, quartz/utils.py), written anew.

Units: time in integer simulation steps; values are unitless activations normalised to [0, 1]
(snn.conversion.normalise). With ``t_max = T``:

- encoding: a value x spikes at ``t = round((T-1)(2 - x))`` (x = 1 at T-1, x = 0 at 2T-2); decoding
  ``x = (2T-2 - t)/(T-1)``. A round trip quantises x to multiples of 1/(T-1).
- each stage (layer) runs a window of ``4T-4`` steps; a neuron holds a current I and a voltage V and per
  step does ``I += a[t]; V += I`` (a[t]: weighted input spikes arriving at t), threshold ``T - 0.5``.
- readout: at ``R = 2(T-1)`` a counter-synapse injects ``1 - sum of all input weights``, so from R on the
  slope is exactly 1 and ``V(t) = (T-1) y + (t - R + 1)`` with ``y = sum w x`` the ANN pre-activation:
  the neuron fires at ``t = R + ceil(T - 1.5 - (T-1) y)`` -- i.e. the output ``round((T-1) y)/(T-1)``.
- rectification (the ReLU): at ``F = 3(T-1)`` a neuron that has not fired is forced to (decodes to 0).
  So every hidden neuron emits exactly one spike; after it has fired a neuron stays silent.
- the output shifts by T-1 into the next stage's window (its value-1 time 2T-2 becomes T-1 there).
- the bias: one extra input spike per neuron. ``bias_mode='timed'`` is Quartz's: weight 1 at time
  ``round((T-1)(2 - b))`` with b clamped to [-1.5, 1.5] (b quantised to 1/(T-1), and a negative bias
  arrives after R). ``bias_mode='weighted'`` (default) sends the spike at the value-1 time T-1 with
  synaptic weight b: exact, no clamping, the same one event per neuron.
- early spikes: if V crosses the threshold before R (strong early positive inputs, later negative ones)
  the neuron fires early with a value above 1; Quartz counts these as its main error source.

Two engines, equal by test: ``engine='step'`` runs all 4T-4 steps literally (one projection per step);
``engine='event'`` projects only the steps where spikes arrive and solves the voltage's linear pieces
between them in closed form (about T projections per stage instead of 4T-4; several times faster).
Both run on whatever device the tensors are on (CPU or CUDA).

Readout of the last stage: ``'spike'`` (Quartz: an IF stage without rectification; the decoded
first-spike times are the outputs, the earliest spike wins, a tie goes to the lower class index; a neuron
that never fires decodes to -1) or ``'membrane'`` (a non-spiking integrator: its voltage at the end of
the window, decoded to the exact y of the quantised inputs).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from archsim.errors import UserError
from snn.conversion.stages import Stage, apply_weights, pool_input, project, project_sparse

BIAS_MODES = ("weighted", "timed")
READOUTS = ("spike", "membrane")
ENGINES = ("event", "step")
# The event engine scatters a step's spikes instead of a dense conv when fewer than this fraction of the
# stage's inputs spike in that step (scatter-add costs ~10-50x more per accumulate than a dense GEMM).
SPARSE_FRACTION = 0.004


@dataclass(frozen=True)
class Timing:
    """The fixed times of one stage's window, in steps, for ``t_max``."""
    t_max: int

    @property
    def window(self) -> int:      # steps per stage
        return 4 * self.t_max - 4

    @property
    def readout(self) -> int:     # the counter-synapse fires: slope becomes 1
        return 2 * (self.t_max - 1)

    @property
    def forced(self) -> int:      # rectification: unfired neurons are forced to spike (value 0)
        return 3 * (self.t_max - 1)

    @property
    def threshold(self) -> float:
        return self.t_max - 0.5

    @property
    def shift(self) -> int:       # emitted time -> next stage's input time
        return self.t_max - 1


def timing(t_max: int) -> Timing:
    if isinstance(t_max, bool) or not isinstance(t_max, int) or t_max < 2:
        raise UserError("command line", "t-max", f"must be an integer >= 2, got {t_max!r}")
    return Timing(int(t_max))


def encode(x: torch.Tensor, t_max: int) -> torch.Tensor:
    """Values -> spike times (int64) in the first stage's window. x is clamped to what the window holds:
    [2 - (4T-5)/(T-1), 2]."""
    tm = timing(t_max)
    lo = 2.0 - (tm.window - 1) / (t_max - 1)
    return torch.round((t_max - 1) * (2.0 - x.clamp(lo, 2.0))).long()


def decode(times: torch.Tensor, t_max: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Input-side spike times -> values ``(2T-2 - t)/(T-1)``."""
    return (2 * (t_max - 1) - times).to(dtype) / (t_max - 1)


def decode_emitted(out_times: torch.Tensor, t_max: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Emitted spike times of a stage -> values (``(3T-3 - t)/(T-1)``; never fired -> -1)."""
    return decode(out_times - (t_max - 1), t_max, dtype)


def quantise(x: torch.Tensor, t_max: int) -> torch.Tensor:
    """What an encode/decode round trip returns for x in [0, 1]: nearest multiple of 1/(T-1)."""
    return decode(encode(x, t_max), t_max, x.dtype)


def bias_spikes(stage: Stage, t_max: int, mode: str, like: torch.Tensor) -> dict[int, torch.Tensor]:
    """The bias as extra input spikes: ``{time: current added at that time}`` (shape of one output)."""
    if mode not in BIAS_MODES:
        raise UserError("command line", "bias-mode", f"must be one of {list(BIAS_MODES)}, got {mode!r}")
    if not stage.has_bias:
        return {}
    b = stage.bias.to(like.dtype).expand(stage.out_shape)
    if mode == "weighted":
        return {t_max - 1: b}
    times = encode(b.clamp(-1.5, 1.5), t_max)
    return {int(u): (times == u).to(like.dtype) for u in torch.unique(times).tolist()}


@dataclass
class StageRun:
    """What one stage did, per sample. out_times: emitted spike time per neuron (window length = never);
    quartz_ops: (neuron, step) pairs that received input (Quartz's operation count); early: neurons that
    fired before the readout time; forced: neurons forced to spike; v_end: voltage after the window
    (only for the membrane readout); raster: spikes per step ``[window, B, ...]`` (step engine, on request)."""
    out_times: torch.Tensor
    quartz_ops: torch.Tensor
    early: torch.Tensor
    forced: torch.Tensor
    v_end: torch.Tensor | None = None
    raster: torch.Tensor | None = None


def _counter(stage: Stage, in_times: torch.Tensor, tm: Timing, bias: dict, dtype) -> torch.Tensor:
    """Current of the readout counter-synapse: 1 - (sum of the weights of every input that arrives)."""
    arrived = ((in_times >= 0) & (in_times < tm.window)).to(dtype)
    total = project(stage, arrived)
    for cur in bias.values():
        total = total + cur
    return 1.0 - total


def _reached(stage: Stage, pooled: torch.Tensor) -> torch.Tensor:
    """Output positions that at least one arriving spike reaches: ``[B, H_out, W_out]`` (conv) or ``[B]``
    (linear: a spike reaches every output). ``pooled``: the arriving spikes after pool_input."""
    if stage.kind == "conv":
        kh, kw = stage.weight.shape[2:]
        ones = torch.ones(1, 1, kh, kw, dtype=pooled.dtype, device=pooled.device)
        return torch.nn.functional.conv2d(pooled.sum(1, keepdim=True), ones, None, stage.stride,
                                          stage.padding)[:, 0] > 0
    return pooled.flatten(1).gt(0).any(1)


def _receivers(stage: Stage, reached: torch.Tensor, also: torch.Tensor | None = None,
               everyone: bool = False) -> torch.Tensor:
    """Per sample, how many neurons receive at least one input event in this step (Quartz's operation
    count: one per (neuron, step) with input). ``reached``: from ``_reached``; ``also``: neurons that get
    another event now (the bias spike), ``everyone``: the counter-input step."""
    B = reached.shape[0]
    n_out = 1
    for d in stage.out_shape:
        n_out *= d
    if everyone:
        return torch.full((B,), n_out, dtype=torch.long, device=reached.device)
    if stage.kind == "conv":
        if also is None:
            return reached.flatten(1).sum(1) * stage.out_shape[0]
        return (reached.unsqueeze(1) | also.unsqueeze(0)).flatten(1).sum(1)
    if also is None:
        return reached.long() * n_out
    return torch.where(reached, n_out, also.sum()).long()


def simulate_stage_steps(stage: Stage, in_times: torch.Tensor, t_max: int, rectify: bool,
                         bias_mode: str = "weighted", fire: bool = True, record: bool = False) -> StageRun:
    """Reference engine: every one of the 4T-4 steps, literally (Quartz's IF layer, at most one spike).
    ``record=True`` also keeps the spike raster, step by step."""
    tm = timing(t_max)
    dtype = stage.weight.dtype
    B = in_times.shape[0]
    planes = [pool_input(stage, (in_times == t).to(dtype)) for t in range(tm.window)]
    a = torch.stack([apply_weights(stage, p) for p in planes])
    bias = bias_spikes(stage, t_max, bias_mode, a)
    for t, cur in bias.items():
        a[t] = a[t] + cur
    a[tm.readout] = a[tm.readout] + (1.0 - a.sum(0))
    I = torch.zeros_like(a[0])
    V = torch.zeros_like(a[0])
    out = torch.full(a.shape[1:], tm.window, dtype=torch.long, device=a.device)
    fired = torch.zeros(a.shape[1:], dtype=torch.bool, device=a.device)
    forced = torch.zeros(B, dtype=torch.long, device=a.device)
    ops = torch.zeros(B, dtype=torch.long, device=a.device)
    raster = torch.zeros(a.shape, dtype=torch.bool, device=a.device) if record else None
    for t in range(tm.window):
        ops += _receivers(stage, _reached(stage, planes[t]), bias[t] != 0 if t in bias else None,
                          t == tm.readout)
        I = I + a[t]
        V = V + I
        if fire:
            new = (V >= tm.threshold) & ~fired        # a neuron that has fired stays silent
            if rectify and t == tm.forced:
                forced = (~(fired | new)).flatten(1).sum(1)
                new = ~fired
            out[new] = t
            fired |= new
            if record:
                raster[t] = new
            if rectify and t == tm.forced:
                break
    early = (out < tm.readout).flatten(1).sum(1)
    return StageRun(out, ops, early, forced, None if fire else V, raster)


def _first_in_gap(V, I, n: int, thr: float):
    """Steps 1..n after an event with constant current I: per neuron, the first k with ``V + I*k >= thr``
    (V = -inf for neurons that already fired). Returns (hit mask, k). Checked with the same arithmetic
    so that rounding cannot put it off by one."""
    pos = I > 0
    k = torch.ceil((thr - V) / torch.where(pos, I, torch.ones_like(I))).clamp_(1, n + 1)
    k = torch.where((k > 1) & (V + I * (k - 1) >= thr), k - 1, k)
    k = torch.where(V + I * k < thr, k + 1, k)
    hit = pos & (k <= n) & (V + I * k >= thr)
    return hit, k


def simulate_stage_events(stage: Stage, in_times: torch.Tensor, t_max: int, rectify: bool,
                          bias_mode: str = "weighted", fire: bool = True) -> StageRun:
    """Fast engine: project only the steps where input arrives; between them V grows linearly with
    constant I, so the first threshold crossing is found in closed form. Same spikes as the step engine.
    A neuron that has fired gets V = -inf: it can never cross again (and costs no extra mask)."""
    tm = timing(t_max)
    dtype = stage.weight.dtype
    B = in_times.shape[0]
    counts = torch.bincount(in_times.clamp(-1, tm.window).flatten() + 1, minlength=tm.window + 2)
    present = {t for t, c in enumerate(counts[1:-1].tolist()) if c}
    sparse_below = SPARSE_FRACTION * in_times.numel()
    probe = torch.zeros(1, dtype=dtype, device=in_times.device)
    bias = bias_spikes(stage, t_max, bias_mode, probe)
    counter = _counter(stage, in_times, tm, bias, dtype)
    last = tm.forced if (fire and rectify) else tm.window - 1
    events = sorted(t for t in present | set(bias) | {tm.readout} if t <= last)
    I = torch.zeros(counter.shape, dtype=dtype, device=in_times.device)
    V = torch.zeros_like(I)
    out = torch.full(counter.shape, tm.window, dtype=torch.long, device=I.device)
    ops = torch.zeros(B, dtype=torch.long, device=I.device)

    def gap(s: int, n: int):
        # the n steps after step s, without input: fire where V + I*k first reaches the threshold
        if n <= 0:
            return
        if fire and s >= 0:
            hit, k = _first_in_gap(V, I, n, tm.threshold)
            out.copy_(torch.where(hit, s + k.long(), out))
            V.masked_fill_(hit, -math.inf)
        V.add_(I, alpha=float(n))

    s = -1
    for e in events:
        gap(s, e - 1 - s)
        if e not in present:                   # only the bias spike or the counter-input now
            a = torch.zeros_like(I)
            reached = torch.zeros(I.shape[:1] + I.shape[2:] if stage.kind == "conv" else (B,),
                                  dtype=torch.bool, device=I.device)
        elif counts[e + 1] <= sparse_below:    # a few spikes: scatter their weights
            a, reached = project_sparse(stage, (in_times == e).nonzero(), B)
        else:
            plane = pool_input(stage, (in_times == e).to(dtype))
            a, reached = apply_weights(stage, plane), _reached(stage, plane)
        if e in bias:
            a = a + bias[e]
        if e == tm.readout:
            a = a + counter
        ops += _receivers(stage, reached, bias[e] != 0 if e in bias else None, e == tm.readout)
        I.add_(a)
        V.add_(I)
        if fire:
            new = V >= tm.threshold
            out.masked_fill_(new, e)
            V.masked_fill_(new, -math.inf)
        s = e
    gap(s, last - s)
    forced = torch.zeros(B, dtype=torch.long, device=I.device)
    if fire and rectify:
        never = out >= tm.window
        forced = never.flatten(1).sum(1)
        out.masked_fill_(never, tm.forced)
    early = (out < tm.readout).flatten(1).sum(1)
    return StageRun(out, ops, early, forced, None if fire else V)


@dataclass
class TTFSRun:
    """A whole network on a batch. values: decoded outputs ``[B, K]``; in_times: per stage, the spike
    times arriving at its input (stage 0: the encoded image); runs: per stage, its StageRun."""
    values: torch.Tensor
    in_times: list[torch.Tensor]
    runs: list[StageRun]


def run_network(stages: list[Stage], x: torch.Tensor, t_max: int, *, engine: str = "event",
                bias_mode: str = "weighted", readout: str = "spike") -> TTFSRun:
    """Convert-and-run: pixels ``x [B, C, H, W]`` in [0, 1] through the TTFS network."""
    tm = timing(t_max)
    if engine not in ENGINES:
        raise UserError("command line", "engine", f"must be one of {list(ENGINES)}, got {engine!r}")
    if readout not in READOUTS:
        raise UserError("command line", "readout", f"must be one of {list(READOUTS)}, got {readout!r}")
    sim = simulate_stage_events if engine == "event" else simulate_stage_steps
    times = encode(x, t_max)
    ins, runs = [], []
    for i, st in enumerate(stages):
        last = i == len(stages) - 1
        ins.append(times)
        membrane = last and readout == "membrane"
        r = sim(st, times, t_max, st.rectify, bias_mode, fire=not membrane)
        runs.append(r)
        times = r.out_times - tm.shift
    final = runs[-1]
    if readout == "membrane":
        # V(end) = (T-1) y + (window - R) once every input has arrived (the counter makes the slope 1).
        values = (final.v_end - (tm.window - tm.readout)) / (t_max - 1)
        if stages[-1].rectify:
            values = torch.relu(values)
    else:
        values = decode_emitted(final.out_times, t_max, stages[-1].weight.dtype)
    return TTFSRun(values, ins, runs)


def first_output_step(run: TTFSRun, t_max: int) -> torch.Tensor:
    """Per sample, the absolute step of the first output spike (stage l's window starts l*(T-1) after
    the input's): the earliest moment a TTFS readout can decide. [B] float; inf when none fired."""
    tm = timing(t_max)
    out = run.runs[-1].out_times.flatten(1).min(1).values.to(torch.float64)
    out = torch.where(out >= tm.window, torch.full_like(out, math.inf), out)
    return out + (len(run.runs) - 1) * tm.shift


def latency_steps(n_stages: int, t_max: int) -> int:
    """Steps from the first input spike until the last stage's window has closed."""
    tm = timing(t_max)
    return (n_stages - 1) * tm.shift + tm.window

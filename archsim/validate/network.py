"""A network to validate on, as a layer list, with its weights and explicit synapses.

The YAML (``archsim validate sanafe NETWORK.yaml``)::

    name: conv_valid
    input: [2, 16, 16]                 # C, H, W of the input spike population
    layers:                            # in order; each reads the previous one
      - {name: conv1, op: conv, out_channels: 8, kernel: 3, stride: 1, padding: 0}
      - {name: conv2, op: conv, out_channels: 8, kernel: 3, padding: 0, pool: 1}
      - {name: fc, op: linear, out_features: 10}
    neuron: {threshold: 1.0, leak_decay: 0.5}     # SANA-FE's LIF ('loihi_lif') attributes, every layer
    weights: {seed: 0, std: 0.5}       # random N(0, std / sqrt(fan-in)), or
    # weights: {file: weights.npz}     # arrays named after the layers: conv [O, C, k, k], linear [O, I]

Optional, for networks set up as SANA-FE's users set theirs up:

- a layer's own ``neuron: {threshold: 420}``: its LIF attributes over the network's ``neuron``
  (``NEURON_KEYS``: threshold, leak_decay, reset, bias; numbers);
- ``input_neuron: {threshold: 255, bias: {file: frame.npz, key: inputs}}``: a bias-driven input. The input
  neurons are LIF neurons (priced as any soma) driven by a per-neuron ``bias`` (a number, or an npz array
  of one value per input neuron in [C, H, W] order) instead of spike trains; one sample;
- ``placement: {input: 1, conv1: 4, fc: [6, 4]}``: cores per layer, the layer's neurons split evenly in
  neuron order with the remainder on the last core (as SANA-FE's tutorial maps layers), or the neurons on
  each core; on consecutive cores in layer order. Unlisted layers: chunks of the hwconfig's
  ``max_neurons_per_core``.

``pool`` average-pools the previous layer's spikes by that factor before the projection; as in archsim's
graph, every spike of a pooled cell is delivered on its own, so a source neuron connects to its cell's
targets with the weight divided by pool x pool. Padding is explicit synapses, not a helper's option.

Every integer field is checked before anything is built (``kernel: -3`` is one line, not numpy's
``negative dimensions``): sizes >= 1 (padding >= 0, seed >= 0), H, W, kernel, stride, padding and pool at
most ``MAX_SIDE``, every population at most ``MAX_NEURONS`` neurons and the whole network at most
``MAX_SYNAPSES`` synapses and weights. Why bounds: SANA-FE gets every synapse spelled out, so a network
meant for validation is small (the committed ones: at most 8,192 neurons and 354,496 synapses); a typo of
a few zeros would otherwise end in an out-of-memory kill instead of an error.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx
import numpy as np

from archsim import graph as lg
from archsim.inputs import read_yaml
from archsim.errors import UserError

OPS = ("conv", "linear")
NEURON_KEYS = ("threshold", "leak_decay", "reset", "bias")      # SANA-FE loihi_lif attributes we pass on
MAX_SIDE = 1024                 # H, W, kernel, stride, padding, pool
MAX_NEURONS = 1_000_000         # one population
MAX_SYNAPSES = 20_000_000       # the whole network, and its weights


def _int(src: str, where: str, value, low: int, high: int) -> int:
    """``value`` if it is an integer (not a bool) in [low, high], else one UserError naming the field."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:40] + "..."
        raise UserError(src, where, f"must be an integer from {low} to {high:,}, got {shown}")
    return value


@dataclass
class LayerSpec:
    name: str
    op: str
    out: int                  # output channels (conv) or features (linear)
    kernel: int = 1
    stride: int = 1
    padding: int = 0
    pool: int = 1
    neuron: dict = field(default_factory=dict)      # its LIF attributes, over the network's
    synapse_unit: str | None = None     # SANA-FE synapse unit pricing its events (None: by op, SYNAPSE_UNIT)


@dataclass
class NetworkSpec:
    name: str
    input_shape: tuple[int, int, int]
    layers: list[LayerSpec]
    neuron: dict
    weights: dict[str, np.ndarray] = field(default_factory=dict)
    source: str = "network"
    input_neuron: dict | None = None           # bias-driven input: its LIF attributes, bias per neuron
    placement: dict[str, tuple[int, ...]] = field(default_factory=dict)   # layer -> neurons per core
    sanafe_file: str | None = None             # read from a SANA-FE network file (archsim.validate.sanafe_yaml)

    def neuron_of(self, layer: LayerSpec) -> dict:
        """A layer's LIF attributes: the network's, overridden by its own."""
        return {**self.neuron, **layer.neuron}

    def graph(self, force_update: bool = False) -> nx.DiGraph:
        """The archsim layer graph: a spiking input population, every layer spiking (LIF). Its neurons'
        update rule is SANA-FE's: ``while_nonzero`` (its default LIF), or ``every_step`` under
        ``force_update``."""
        g = lg.new_graph(self.input_shape, "spikes")
        src = lg.INPUT
        rule = "every_step" if force_update else "while_nonzero"
        for ly in self.layers:
            params = {k: v for k, v in self.neuron_of(ly).items() if isinstance(v, (int, float, str, bool))}
            rec = lg.neuron_record("lif", update=rule, **params)
            if ly.op == "conv":
                src = lg.add_conv(g, ly.name, src, out_channels=ly.out, kernel=ly.kernel, stride=ly.stride,
                                  padding=ly.padding, pool=ly.pool, neuron=rec)
            else:
                src = lg.add_linear(g, ly.name, src, out_features=ly.out, pool=ly.pool, neuron=rec)
        lg.set_neuron(g, lg.INPUT, lg.neuron_record("input", state_words=0) if self.input_neuron is None
                      else lg.neuron_record("lif", update=rule, **self.input_neuron))
        return g


def load_network(path: str | Path, raw: dict | None = None) -> NetworkSpec:
    """Read and check a network YAML (module docstring; ``raw``: its content, when already read); weights
    drawn or read here."""
    src = str(path)
    raw = read_yaml(path) if raw is None else raw
    for key in ("name", "input", "layers"):
        if key not in raw:
            raise UserError(src, key, "missing")
    shape = raw["input"]
    if not (isinstance(shape, list) and len(shape) == 3):
        raise UserError(src, "input", f"must be [C, H, W] of positive integers, got {shape!r}")
    shape = [_int(src, f"input[{k}]", v, 1, MAX_NEURONS if k == 0 else MAX_SIDE) for k, v in enumerate(shape)]
    if not isinstance(raw["layers"], list) or not raw["layers"]:
        raise UserError(src, "layers", "must be a non-empty list")
    layers = []
    for i, ly in enumerate(raw["layers"]):
        where = f"layers[{i}]"
        if not isinstance(ly, dict) or ly.get("op") not in OPS or "name" not in ly:
            raise UserError(src, where, f"needs a name and op one of {', '.join(OPS)}")
        out_key = "out_channels" if ly["op"] == "conv" else "out_features"
        known = {"name", "op", out_key, "kernel", "stride", "padding", "pool", "neuron"}
        extra = sorted(set(ly) - known)
        if extra:
            raise UserError(src, f"{where}.{extra[0]}", f"unknown key (keys: {', '.join(sorted(known))})")
        if out_key not in ly:
            raise UserError(src, f"{where}.{out_key}", "missing (a positive integer)")
        out = _int(src, f"{where}.{out_key}", ly[out_key], 1, MAX_NEURONS)
        sizes = {k: _int(src, f"{where}.{k}", ly.get(k, default), 0 if k == "padding" else 1, MAX_SIDE)
                 for k, default in (("kernel", 1), ("stride", 1), ("padding", 0), ("pool", 1))}
        layers.append(LayerSpec(str(ly["name"]), ly["op"], out, **sizes,
                                neuron=_neuron(src, f"{where}.neuron", ly.get("neuron"))))
    spec = NetworkSpec(str(raw["name"]), tuple(shape), layers, _neuron(src, "neuron", raw.get("neuron")),
                       source=src)
    g = _built(src, spec)
    if raw.get("input_neuron") is not None:
        spec.input_neuron = _input_neuron(src, raw["input_neuron"], int(np.prod(shape)))
    spec.placement = _placement(src, raw.get("placement"), g)
    wcfg = raw.get("weights") or {"seed": 0, "std": 0.5}
    if not isinstance(wcfg, dict):
        raise UserError(src, "weights", f"must be {{seed: N, std: X}} or {{file: NAME.npz}}, got {wcfg!r}"[:200])
    if "file" in wcfg:
        if not isinstance(wcfg["file"], str) or not wcfg["file"]:
            raise UserError(src, "weights.file", f"must be a file name, got {wcfg['file']!r}"[:200])
        wpath = Path(wcfg["file"])
        if not wpath.is_absolute():
            wpath = Path(src).parent / wpath
        if not wpath.is_file():
            raise UserError(src, "weights.file", f"no such file {wpath}")
        try:
            with np.load(wpath, allow_pickle=False) as z:
                spec.weights = {k: z[k].astype(np.float64) for k in z.files}
        except (OSError, ValueError, TypeError) as err:
            raise UserError(src, "weights.file", f"{wpath} is not a .npz of weight arrays "
                            f"({str(err).splitlines()[0][:80] if str(err) else type(err).__name__})") from None
    else:
        rng = np.random.default_rng(_int(src, "weights.seed", wcfg.get("seed", 0), 0, 2**32 - 1))
        std = wcfg.get("std", 0.5)
        if isinstance(std, bool) or not isinstance(std, (int, float)) or not 0 <= std < float("inf"):
            raise UserError(src, "weights.std", f"must be a finite number >= 0, got {std!r}"[:200])
        for ly in layers:
            shape_w = _weight_shape(g, ly)
            fan_in = int(np.prod(shape_w[1:]))
            spec.weights[ly.name] = rng.normal(0.0, float(std) / np.sqrt(fan_in), shape_w)
    _check_weights(src, g, spec)
    return spec


def _built(src: str, spec: NetworkSpec) -> nx.DiGraph:
    """The spec's layer graph (shapes checked by archsim.graph), small enough for SANA-FE."""
    try:
        g = spec.graph()
    except UserError as err:
        raise UserError(src, f"layers.{err.field}", err.message) from None
    _check_size(src, g)
    return g


def _check_weights(src: str, g: nx.DiGraph, spec: NetworkSpec) -> None:
    for ly in spec.layers:
        want = _weight_shape(g, ly)
        got = spec.weights.get(ly.name)
        if got is None or tuple(got.shape) != want:
            raise UserError(src, f"weights.{ly.name}", f"needs an array of shape {list(want)}, got "
                            f"{None if got is None else list(got.shape)}")


def check_built(src: str, spec: NetworkSpec) -> None:
    """A spec made elsewhere (archsim.validate.sanafe_yaml) builds, fits SANA-FE and has its weights."""
    _check_weights(src, _built(src, spec), spec)


def _number(src: str, where: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise UserError(src, where, f"must be a finite number, got {value!r}"[:200])
    return float(value)


def _neuron(src: str, where: str, raw, extra: tuple[str, ...] = ()) -> dict:
    """LIF attributes: a mapping of NEURON_KEYS to numbers (``extra`` keys are left to the caller)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise UserError(src, where, f"must be a mapping of {', '.join(NEURON_KEYS)}, got {raw!r}"[:200])
    for key in raw:
        if key not in NEURON_KEYS:
            raise UserError(src, f"{where}.{key}", f"unknown key (keys: {', '.join(NEURON_KEYS)})")
    return {k: v if k in extra else _number(src, f"{where}.{k}", v) for k, v in raw.items()}


def _input_neuron(src: str, raw, n_in: int) -> dict:
    """A bias-driven input's attributes; ``bias`` a number or ``{file: NPZ, key: ARRAY}`` of n_in values,
    returned as a list (one per input neuron)."""
    out = _neuron(src, "input_neuron", raw, extra=("bias",))
    bias = out.get("bias", 0.0)
    if isinstance(bias, dict):
        if set(bias) != {"file", "key"} or not all(isinstance(v, str) and v for v in bias.values()):
            raise UserError(src, "input_neuron.bias", "must be a number or {file: NAME.npz, key: ARRAY}")
        path = Path(bias["file"]) if Path(bias["file"]).is_absolute() else Path(src).parent / bias["file"]
        try:
            with np.load(path, allow_pickle=False) as z:
                arr = np.asarray(z[bias["key"]], dtype=np.float64)
        except (OSError, ValueError, KeyError) as err:
            raise UserError(src, "input_neuron.bias", f"cannot read array {bias['key']!r} of {path} "
                            f"({str(err).splitlines()[0][:80] if str(err) else type(err).__name__})") from None
        if arr.shape != (n_in,) or not np.isfinite(arr).all():
            raise UserError(src, "input_neuron.bias", f"needs {n_in} finite values (one per input neuron), "
                            f"got shape {list(arr.shape)}")
        out["bias"] = arr.tolist()
    else:
        out["bias"] = [_number(src, "input_neuron.bias", bias)] * n_in
    return out


def _placement(src: str, raw, g: nx.DiGraph) -> dict[str, tuple[int, ...]]:
    """layer -> neurons on each of its cores (module docstring)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise UserError(src, "placement", f"must map layer names to core counts, got {raw!r}"[:200])
    out = {}
    for name, value in raw.items():
        where = f"placement.{name}"
        if name not in g:
            raise UserError(src, where, f"no such layer (layers: {', '.join(lg.layer_names(g))})")
        n = lg.layer(g, name).neurons
        if isinstance(value, list):
            chunks = tuple(_int(src, f"{where}[{i}]", v, 1, n) for i, v in enumerate(value))
            if not chunks or sum(chunks) != n:
                raise UserError(src, where, f"neurons per core must add up to the layer's {n}, got {sum(chunks)}")
        else:
            k = _int(src, where, value, 1, n)
            chunks = (n // k,) * (k - 1) + (n - (n // k) * (k - 1),)
        out[str(name)] = chunks
    return out


def _check_size(src: str, g: nx.DiGraph) -> None:
    """The network is small enough to spell out for SANA-FE (see the module docstring)."""
    for name in g.nodes:
        if lg.layer(g, name).neurons > MAX_NEURONS:
            where = "input" if name == lg.INPUT else f"layers.{name}"
            raise UserError(src, where, f"{lg.layer(g, name).neurons:,} neurons "
                            f"({list(lg.layer(g, name).shape)}): at most {MAX_NEURONS:,} per population")
    for what in ("synapses", "weights"):
        total = sum(int(d[what]) for _, _, d in g.edges(data=True))
        if total > MAX_SYNAPSES:
            raise UserError(src, "layers", f"{total:,} {what} in all: a validation network has at most "
                            f"{MAX_SYNAPSES:,} (SANA-FE gets every synapse spelled out)")


def _weight_shape(g: nx.DiGraph, ly: LayerSpec) -> tuple[int, ...]:
    in_shape = lg.layer(g, ly.name).in_shape
    if ly.op == "conv":
        return (ly.out, int(in_shape[0]), ly.kernel, ly.kernel)
    return (ly.out, int(np.prod(in_shape)))


def synapses(spec: NetworkSpec, g: nx.DiGraph, layer: LayerSpec, src: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every synapse of ``layer`` as (source neuron, target neuron, weight) arrays, neurons in [C, H, W]
    order of their populations (source = the previous layer, before pooling)."""
    shape = [int(x) for x in lg.layer(g, src).shape]
    c_in, h_in, w_in = shape if len(shape) == 3 else (shape[0], 1, 1)
    p = layer.pool
    w = spec.weights[layer.name] / (p * p)
    hp, wp = h_in // p, w_in // p
    dy, dx = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    if layer.op == "linear":
        n_pooled = c_in * hp * wp
        cell = np.arange(n_pooled)
        c, yp, xp = cell // (hp * wp), (cell // wp) % hp, cell % wp
        srcs = (c[:, None] * h_in * w_in + (yp[:, None] * p + dy.reshape(1, -1)) * w_in
                + xp[:, None] * p + dx.reshape(1, -1))                                    # [cells, p*p]
        o = np.arange(layer.out)
        s_idx = np.broadcast_to(srcs[None, :, :], (layer.out,) + srcs.shape).reshape(-1)
        t_idx = np.broadcast_to(o[:, None, None], (layer.out,) + srcs.shape).reshape(-1)
        wt = np.broadcast_to(w[:, :, None], (layer.out,) + srcs.shape).reshape(-1)
        return s_idx, t_idx, wt
    c_out, h_out, w_out = lg.layer(g, layer.name).shape
    k, s, pad = layer.kernel, layer.stride, layer.padding
    out_s, out_t, out_w = [], [], []
    o, ci, yo, xo = np.meshgrid(np.arange(c_out), np.arange(c_in), np.arange(h_out), np.arange(w_out), indexing="ij")
    for ky in range(k):
        for kx in range(k):
            yp, xp = yo * s - pad + ky, xo * s - pad + kx
            ok = (yp >= 0) & (yp < hp) & (xp >= 0) & (xp < wp)
            if not ok.any():
                continue
            oo, cc, yy, xx, yq, xq = o[ok], ci[ok], yo[ok], xo[ok], yp[ok], xp[ok]
            tgt = oo * h_out * w_out + yy * w_out + xx
            wt = w[oo, cc, ky, kx]
            for a, b in zip(dy.reshape(-1), dx.reshape(-1)):
                out_s.append(cc * h_in * w_in + (yq * p + a) * w_in + xq * p + b)
                out_t.append(tgt)
                out_w.append(wt)
    return np.concatenate(out_s), np.concatenate(out_t), np.concatenate(out_w)

"""SANA-FE's own network files as validation networks: a SANA-FE user brings theirs.

    archsim validate sanafe THEIR_NETWORK.yaml      # the file SANA-FE's sanafe.load_net(file, arch) reads

SANA-FE (2.2.9; grammar: github.com/SLAM-Lab/SANA-FE src/yaml_snn.cpp) describes a network as
``network: {name, groups, edges}`` and ``mappings``: groups of neurons with shared and per-neuron
attributes (a neuron id or range ``a..b`` as the key), edges between groups given as hyperedges and
``- GROUP[.a..b]: {core: TILE.CORE}`` placements. Its neurons are numbered channels first, [C, H, W]
(``conv2d`` source index c*H*W + y*W + x), as archsim numbers them. This module turns such a file into
archsim's NetworkSpec (archsim.validate.network) when archsim can describe it:

- one **input group** (no edge into it): bias-driven when its neurons carry a ``bias`` (LIF neurons on
  the soma, the frame in the biases: SANA-FE's DVS tutorial), else a spike input whose trains come
  from ``--spikes`` or ``--rate``;
- every other group fed by one hyperedge from the group before it, a **chain**: ``conv2d`` (kernel
  ``weight`` in [y][x][C_in][C_out] order, square kernel and stride, no padding: SANA-FE's conv2d has
  none) or ``dense`` (``weight`` in [source][target] order);
- group attributes ``threshold``, ``leak_decay``, ``reset``, ``bias`` (SANA-FE's ``loihi_lif``),
  ``synapse_hw_name`` (``loihi_conv_synapse`` or ``loihi_dense_synapse``; left out: SANA-FE's default,
  the first synapse unit of its Loihi file, the dense one), ``soma_hw_name`` ``loihi_lif`` (an input
  group may name ``loihi_inputs``) and logging flags (ignored); per neuron only ``bias`` (input group)
  and logging flags;
- ``mappings``: each group's neurons in contiguous chunks in neuron order, on consecutive cores in
  chain order from core 0 (core id = tile x 4 + core: the bundled Loihi's 4 cores per tile), which is
  how SANA-FE's tutorial maps layers; no ``mappings``: archsim's chunks of ``max_neurons_per_core``.

Anything else (per-neuron edges, ``sparse`` hyperedges, a branching network, other attributes) is one
``error: FILE: FIELD: reason`` line: archsim describes projections by their geometry, so a network it
cannot describe is refused rather than approximated.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from archsim import graph as lg
from archsim.errors import UserError
from archsim.inputs import read_yaml
from archsim.validate.network import MAX_NEURONS, NEURON_KEYS, LayerSpec, NetworkSpec, check_built, load_network

CORES_PER_TILE = 4                       # the bundled Loihi architecture: loihi_core[0..3] per tile
SYNAPSE_UNITS = ("loihi_conv_synapse", "loihi_dense_synapse")
DEFAULT_SYNAPSE_UNIT = "loihi_dense_synapse"     # SANA-FE's default: the first synapse unit of its Loihi file
LOGGING = ("log_spikes", "log_potential", "log_u", "log_current")
CONV_KEYS = ("input_width", "input_height", "input_channels", "kernel_width", "kernel_height", "kernel_count",
             "stride_width", "stride_height")


def is_sanafe_network(raw) -> bool:
    """A SANA-FE network file has a top-level ``network`` section (archsim's format has ``layers``)."""
    return isinstance(raw, dict) and "network" in raw and "layers" not in raw


def load_any(path: str | Path) -> NetworkSpec:
    """A validation network in either format: SANA-FE's (this module) or archsim's layer list."""
    raw = read_yaml(path)
    return from_sanafe(str(path), raw) if is_sanafe_network(raw) else load_network(path, raw)


@dataclass
class _Group:
    name: str
    size: int
    attrs: dict
    neuron_attrs: dict[int, dict] = field(default_factory=dict)     # neuron id -> its own attributes


def _attrs(src: str, where: str, node) -> dict:
    """SANA-FE attributes as one mapping: a mapping, or a list of one-key mappings (``[threshold: 1]``);
    a nested ``soma:`` mapping holds soma attributes (merged, they are the LIF's)."""
    if node is None:
        return {}
    if isinstance(node, list):
        out = {}
        for k, item in enumerate(node):
            out.update(_attrs(src, f"{where}[{k}]", item))
        return out
    if not isinstance(node, dict):
        raise UserError(src, where, f"must be a mapping of attributes, got {node!r}"[:200])
    out = {str(k): v for k, v in node.items() if k != "soma"}
    out.update(_attrs(src, f"{where}.soma", node.get("soma")) if "soma" in node else {})
    return out


def _id_range(src: str, where: str, key) -> range:
    """A neuron id (``3``) or range (``0..99``, both ends included) as a range."""
    text = str(key).strip()
    lo, _, hi = text.partition("..")
    try:
        a, b = int(lo), int(hi) if hi else int(lo)
    except ValueError:
        raise UserError(src, where, f"a neuron id or range a..b, got {key!r}"[:200]) from None
    if a < 0 or b < a or b >= MAX_NEURONS:
        raise UserError(src, where, f"a neuron range a..b with 0 <= a <= b < {MAX_NEURONS:,} (a validation "
                        f"network's population), got {key!r}"[:200])
    return range(a, b + 1)


def _group(src: str, i: int, node) -> _Group:
    where = f"network.groups[{i}]"
    if not isinstance(node, dict) or "name" not in node or not isinstance(node.get("neurons"), list):
        raise UserError(src, where, "needs a name and a neurons list")
    name = str(node["name"])
    if "." in name or "->" in name:
        raise UserError(src, f"{where}.name", f"{name!r}: a group name holds no '.' or '->'")
    seen: dict[int, dict] = {}
    for k, entry in enumerate(node["neurons"]):
        items = entry.items() if isinstance(entry, dict) else [(entry, {})]
        for key, attrs in items:
            ids = _id_range(src, f"{where}.neurons[{k}]", key)
            parsed = _attrs(src, f"{where}.neurons[{k}]", attrs)
            for n in ids:
                if n in seen:
                    raise UserError(src, f"{where}.neurons[{k}]", f"neuron {name}.{n} defined twice")
                seen[n] = parsed
    size = len(seen)
    if size == 0 or max(seen) != size - 1:
        raise UserError(src, f"{where}.neurons", f"the ids must run 0..{size - 1} without gaps")
    return _Group(name, size, _attrs(src, f"{where}.attributes", node.get("attributes")),
                  {n: a for n, a in seen.items() if a})


def _entries(src: str, section: str, node, form: str):
    """(where, key, value) of a SANA-FE list of one-key mappings (its edges and mappings sections)."""
    if not isinstance(node, list) or not node:
        raise UserError(src, section, f"must be a non-empty list of '{form}' entries")
    for i, entry in enumerate(node):
        if not isinstance(entry, dict) or len(entry) != 1:
            raise UserError(src, f"{section}[{i}]", f"one '{form}' per list entry")
        (key, value), = entry.items()
        yield f"{section}[{i}]", key, value


def _edges(src: str, node, groups: dict[str, _Group]) -> dict[str, tuple[str, dict, str]]:
    """target group -> (source group, hyperedge attributes, where)."""
    into: dict[str, tuple[str, dict, str]] = {}
    for where, desc, attrs in _entries(src, "network.edges", node, "SOURCE -> TARGET: {attributes}"):
        left, arrow, right = str(desc).partition("->")
        a, b = left.strip(), right.strip()
        if not arrow or not a or not b:
            raise UserError(src, where, f"{desc!r} is not 'SOURCE -> TARGET'"[:200])
        if "." in a or "." in b:
            raise UserError(src, where, f"{desc!r}: per-neuron edges are not read; archsim describes a "
                            "projection by its geometry: give it as a conv2d or dense hyperedge between groups")
        for g in (a, b):
            if g not in groups:
                raise UserError(src, where, f"no group {g!r} (groups: {', '.join(groups)})")
        if b in into:
            raise UserError(src, where, f"group {b} has a second edge into it: archsim validates chains of layers")
        into[b] = (a, _attrs(src, where, attrs), where)
    return into


def _chain(src: str, groups: dict[str, _Group], into: dict) -> list[str]:
    """The groups in chain order, input first."""
    inputs = [g for g in groups if g not in into]
    if len(inputs) != 1:
        raise UserError(src, "network.edges", f"needs exactly one input group (no edge into it), found "
                        f"{len(inputs)}: {', '.join(inputs) or 'none'}")
    after = {}
    for dst, (s, _, where) in into.items():
        if s in after:
            raise UserError(src, where, f"group {s} feeds two groups: archsim validates chains of layers")
        after[s] = dst
    order = [inputs[0]]
    while order[-1] in after and len(order) <= len(groups):
        order.append(after[order[-1]])
    if len(order) != len(groups):
        raise UserError(src, "network.edges", "the edges do not chain every group from the input")
    return order


def _number(src: str, where: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise UserError(src, where, f"must be a finite number, got {value!r}"[:200])
    return float(value)


def _lif(src: str, where: str, attrs: dict, is_input: bool) -> tuple[dict, str]:
    """A group's LIF attributes and its synapse unit."""
    neuron, unit = {}, DEFAULT_SYNAPSE_UNIT
    for key, value in attrs.items():
        if key in NEURON_KEYS:
            neuron[key] = _number(src, f"{where}.{key}", value)
        elif key == "synapse_hw_name":
            if value not in SYNAPSE_UNITS:
                raise UserError(src, f"{where}.{key}", f"{value!r}: archsim's Loihi prices "
                                f"{' and '.join(SYNAPSE_UNITS)}")
            unit = value
        elif key == "soma_hw_name":
            if value != "loihi_lif" and not (is_input and str(value).startswith("loihi_inputs")):
                raise UserError(src, f"{where}.{key}", f"{value!r}: archsim models SANA-FE's loihi_lif "
                                "(and loihi_inputs for a spike input)")
        elif key not in LOGGING:
            raise UserError(src, f"{where}.{key}", "not read by archsim (attributes: "
                            f"{', '.join(NEURON_KEYS + ('synapse_hw_name', 'soma_hw_name') + LOGGING)})")
    return neuron, unit


def _input_neuron(src: str, where: str, group: _Group) -> dict | None:
    """A bias-driven input's LIF attributes and one bias per neuron, or None for a spike input."""
    neuron, _ = _lif(src, f"{where}.attributes", group.attrs, True)
    per = {n: a for n, a in group.neuron_attrs.items() if set(a) - set(LOGGING)}
    for n, a in per.items():
        extra = sorted(set(a) - {"bias"} - set(LOGGING))
        if extra:
            raise UserError(src, f"{where}.neurons.{n}.{extra[0]}", "only a bias may be set per input neuron"
                            + (" (input spike trains: --spikes)" if extra[0] == "spikes" else ""))
    if "bias" not in neuron and not per:
        return None
    bias = [_number(src, f"{where}.neurons.{n}.bias", per.get(n, {}).get("bias", neuron.get("bias", 0.0)))
            for n in range(group.size)]
    return {**{k: v for k, v in neuron.items() if k != "bias"}, "bias": bias}


def _conv(src: str, where: str, attrs: dict, shape: tuple[int, int, int], name: str, neuron: dict, unit: str,
          target: _Group) -> tuple[LayerSpec, np.ndarray, tuple[int, int, int]]:
    p = {}
    for key in CONV_KEYS:
        value = attrs.get(key, 1 if key.startswith("stride") else None)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise UserError(src, f"{where}.{key}", f"must be a positive integer, got {value!r}"[:200])
        p[key] = value
    if (p["input_channels"], p["input_height"], p["input_width"]) != tuple(shape):
        raise UserError(src, where, f"input {p['input_channels']}x{p['input_height']}x{p['input_width']} "
                        f"(C x H x W) but its source holds {'x'.join(map(str, shape))}")
    if p["kernel_width"] != p["kernel_height"] or p["stride_width"] != p["stride_height"]:
        raise UserError(src, where, "archsim's conv has a square kernel and one stride")
    k, s, cin, cout = p["kernel_width"], p["stride_width"], p["input_channels"], p["kernel_count"]
    if k > min(shape[1:]):
        raise UserError(src, f"{where}.kernel_width", f"{k} is larger than the {shape[1]}x{shape[2]} input")
    out = (cout, (shape[1] - k) // s + 1, (shape[2] - k) // s + 1)
    w = _weights(src, where, attrs, k * k * cin * cout).reshape(k, k, cin, cout).transpose(3, 2, 0, 1)
    _check_size(src, where, target, out)
    return LayerSpec(name, "conv", cout, kernel=k, stride=s, neuron=neuron, synapse_unit=unit), w, out


def _dense(src: str, where: str, attrs: dict, n_in: int, name: str, neuron: dict, unit: str,
           target: _Group) -> tuple[LayerSpec, np.ndarray, tuple[int, int, int]]:
    w = _weights(src, where, attrs, n_in * target.size).reshape(n_in, target.size).T
    return LayerSpec(name, "linear", target.size, neuron=neuron, synapse_unit=unit), w, (target.size, 1, 1)


def _check_size(src: str, where: str, target: _Group, out: tuple[int, int, int]) -> None:
    if int(np.prod(out)) != target.size:
        raise UserError(src, where, f"makes {'x'.join(map(str, out))} = {int(np.prod(out)):,} neurons, "
                        f"group {target.name} has {target.size:,}")


def _weights(src: str, where: str, attrs: dict, n: int) -> np.ndarray:
    """The hyperedge's weight list (``weight`` or ``w``, also under ``synapse:``), n numbers."""
    nested = attrs.get("synapse") if isinstance(attrs.get("synapse"), dict) else {}
    known = set(CONV_KEYS) | {"type", "weight", "w", "synapse"}
    extra = sorted(set(attrs) - known) + sorted(set(nested) - {"weight", "w"})
    if extra:
        raise UserError(src, f"{where}.{extra[0]}", "not read by archsim (a hyperedge's weight is w or weight)")
    values = next((d[k] for d in (attrs, nested) for k in ("weight", "w") if k in d), None)
    if not isinstance(values, list) or len(values) != n:
        got = len(values) if isinstance(values, list) else values
        raise UserError(src, f"{where}.weight", f"needs a list of {n:,} numbers, got {got!r}"[:200])
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise UserError(src, f"{where}.weight", "must hold numbers only") from None
    if arr.ndim != 1 or not np.isfinite(arr).all():
        raise UserError(src, f"{where}.weight", "must hold finite numbers only")
    return arr


def _layers(src: str, groups: dict[str, _Group], into: dict, order: list[str]):
    """LayerSpecs and weights along the chain; the input's [C, H, W] from the first edge."""
    first = into[order[1]][1]
    n_in = groups[order[0]].size
    if first.get("type") == "conv2d":
        shape = tuple(first.get(k) for k in ("input_channels", "input_height", "input_width"))
        if not all(isinstance(v, int) and v >= 1 for v in shape) or int(np.prod(shape)) != n_in:
            raise UserError(src, into[order[1]][2], f"input_channels x input_height x input_width must be the "
                            f"input group's {n_in:,} neurons")
    else:
        shape = (n_in, 1, 1)
    input_shape, layers, weights = shape, [], {}
    for name in order[1:]:
        s_name, attrs, where = into[name]
        gi = list(groups).index(name)
        neuron, unit = _lif(src, f"network.groups[{gi}].attributes", groups[name].attrs, False)
        for n, a in groups[name].neuron_attrs.items():
            if set(a) - set(LOGGING):
                raise UserError(src, f"network.groups[{gi}].neurons.{n}", "per-neuron attributes other than "
                                "logging are read on the input group only")
        kind = attrs.get("type")
        if kind == "conv2d":
            ly, w, shape = _conv(src, where, attrs, shape, name, neuron, unit, groups[name])
        elif kind == "dense":
            ly, w, shape = _dense(src, where, attrs, int(np.prod(shape)), name, neuron, unit, groups[name])
        else:
            raise UserError(src, f"{where}.type", f"{kind!r}: archsim reads conv2d and dense hyperedges")
        layers.append(ly)
        weights[name] = w
    return input_shape, layers, weights


def _core_of(src: str, where: str, info) -> int:
    """``core: TILE.CORE`` (YAML may read 3.1 as a number) as a core id; a ``soma`` named too must be
    one archsim models."""
    fields = _attrs(src, where, info)
    extra = sorted(set(fields) - {"core", "soma"})
    if extra:
        raise UserError(src, f"{where}.{extra[0]}", "not read (a mapping gives core: TILE.CORE, and soma)")
    soma = str(fields.get("soma", "loihi_lif"))
    if soma != "loihi_lif" and not soma.startswith("loihi_inputs"):
        raise UserError(src, f"{where}.soma", f"{soma!r}: archsim models loihi_lif and loihi_inputs")
    core = fields.get("core")
    tile, dot, offset = str(core).partition(".")
    if not dot or not tile.isdigit() or not offset.isdigit() or int(offset) >= CORES_PER_TILE:
        raise UserError(src, f"{where}.core", f"must be TILE.CORE with CORE below {CORES_PER_TILE}, got {core!r}")
    return int(tile) * CORES_PER_TILE + int(offset)


def _placement(src: str, node, groups: dict[str, _Group], order: list[str]) -> dict[str, tuple[int, ...]]:
    """Neurons per core of every group, from ``mappings`` (module docstring)."""
    if node is None:
        return {}
    core_of = {g: np.full(groups[g].size, -1, dtype=np.int64) for g in groups}
    for where, key, info in _entries(src, "mappings", node, "GROUP[.a..b]: {core: TILE.CORE}"):
        name, dot, ids = str(key).partition(".")
        if name not in groups:
            raise UserError(src, where, f"no group {name!r} (groups: {', '.join(groups)})")
        span = _id_range(src, where, ids) if dot else range(groups[name].size)
        if span.stop > groups[name].size:
            raise UserError(src, where, f"group {name} has neurons 0..{groups[name].size - 1}")
        core_of[name][span.start:span.stop] = _core_of(src, where, info)
    out, next_core = {}, 0
    for name in order:
        cores = core_of[name]
        if (cores < 0).any():
            raise UserError(src, "mappings", f"neuron {name}.{int(np.argmax(cores < 0))} is not mapped")
        starts = np.flatnonzero(np.diff(cores, prepend=-1))
        used = cores[starts]
        if not np.array_equal(used, np.arange(next_core, next_core + len(used))):
            raise UserError(src, "mappings", f"group {name} is on cores {used.tolist()[:8]}: archsim places a "
                            f"layer in contiguous chunks on consecutive cores in chain order, here from "
                            f"core {next_core} (tile {next_core // CORES_PER_TILE}, core {next_core % CORES_PER_TILE})")
        out[lg.INPUT if name == order[0] else name] = tuple(int(x) for x in np.diff(np.append(starts, len(cores))))
        next_core += len(used)
    return out


def from_sanafe(src: str, raw: dict) -> NetworkSpec:
    """A SANA-FE network file (already read) as a NetworkSpec (module docstring)."""
    net = raw["network"]
    if not isinstance(net, dict):
        raise UserError(src, "network", "must be a mapping with groups and edges")
    extra = sorted(set(raw) - {"network", "mappings"}) + sorted(set(net) - {"name", "groups", "edges"})
    if extra:
        raise UserError(src, extra[0], "not read (a SANA-FE network file has network: {name, groups, edges} "
                        "and mappings)")
    if not isinstance(net.get("groups"), list) or not net["groups"]:
        raise UserError(src, "network.groups", "must be a non-empty list of neuron groups")
    groups: dict[str, _Group] = {}
    for i, node in enumerate(net["groups"]):
        grp = _group(src, i, node)
        if grp.name in groups:
            raise UserError(src, f"network.groups[{i}].name", f"group {grp.name} defined twice")
        groups[grp.name] = grp
    into = _edges(src, net.get("edges"), groups)
    order = _chain(src, groups, into)
    if lg.INPUT in order[1:]:
        raise UserError(src, "network.groups", f"only the input group may be named {lg.INPUT!r}")
    input_shape, layers, weights = _layers(src, groups, into, order)
    name = str(net.get("name") or "").strip() or Path(src).stem
    spec = NetworkSpec(name, input_shape, layers, {}, weights, source=src,
                       input_neuron=_input_neuron(src, f"network.groups[{list(groups).index(order[0])}]",
                                                  groups[order[0]]),
                       placement=_placement(src, raw.get("mappings"), groups, order), sanafe_file=src)
    check_built(src, spec)
    return spec

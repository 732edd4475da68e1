"""The layer graph: neuron populations (nodes) joined by synaptic projections (edges).

Why this shape: an accelerator does work per *spike that arrives over a projection*, so the numbers the
simulator needs live on the edges (how many synapses a spike of the source reaches, how many weights the
projection stores) and on the nodes (how many neurons must be updated each timestep). Residual connections
are simply more edges into the same node.

Nodes (attributes): ``index`` (position on the L axis of a workload's spike counts, input = 0), ``op``
('input' | 'conv' | 'linear'), ``shape`` (output shape, [C, H, W] or [F]), ``neurons``, ``spiking``
(False for the non-spiking output integrator and for a dense, real-valued input), ``in_shape``,
``kernel``, ``stride``, ``padding``, ``pool`` (of the main projection), and the sums over all incoming
edges ``weights``, ``synapses``, ``fan_in`` (= synapses / neurons).

Edges (attributes): ``kind`` ('forward' | 'residual'), ``op`` ('conv' | 'linear' | 'identity'),
``kernel``, ``stride``, ``padding``, ``pool`` (average pooling by this factor is applied to the source's
spikes before the projection; each source spike is still processed on its own and reaches its pooled
cell's targets), ``weights`` (stored weights), ``synapses`` (source neuron - target neuron pairs, border
effects included) and ``fan_out`` (= synapses / source neurons: the accumulates one source spike causes,
on average over the source's positions; exact for the total when spikes are spread evenly).

Every node also carries a ``neuron`` record (:func:`neuron_record`): what kind of neuron the population
is and what it costs the hardware beyond the synaptic events -- state words per neuron, whether it is
updated every timestep or only when an event arrives, how many extra synaptic events each neuron receives
(TTFS readout, bias, forced spike) and the window of steps one item spans. The exporters write it; a file
without it gets the record its workload ``kind`` implies (``default_neuron``).

Only numpy and networkx are imported here: the trainer's export runs on machines without simpy.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass

import networkx as nx
import numpy as np

from archsim.errors import UserError

INPUT = "input"
# model -> what it is. 'integrator' is the non-spiking readout; 'input' the input population.
NEURON_MODELS = ("lif", "if", "cuba_lif", "ttfs", "integrator", "input")
UPDATE_RULES = ("every_step", "on_event", "while_nonzero")
NODE_KEYS = ("index", "op", "shape", "neurons", "spiking", "weights", "synapses")
EDGE_KEYS = ("kind", "op", "weights", "synapses", "fan_out")


def neuron_record(model: str = "lif", *, state_words: int = 1, update: str = "every_step",
                  extra_events: int = 0, window_steps: int = 1, **params) -> dict:
    """The per-node neuron/coding record.

    ``state_words``: potential-sized words of state per neuron (LIF 1; CubaLIF and Quartz's TTFS neuron
    2: current and voltage); ``update``: ``every_step`` (time-driven: every neuron is read, leaked and
    written every step), ``on_event`` (only neurons that received input in the step) or
    ``while_nonzero`` (SANA-FE's default LIF: from a neuron's first synaptic event until it fires and
    hard-resets; counted per neuron from spike records, archsim.units.neuron_unit);
    ``extra_events``: synaptic events each neuron receives besides its input spikes (TTFS: readout
    counter-input, bias, forced spike); ``window_steps``: neuron-update steps one work item spans (1; a
    TTFS layer's window 4 t_max - 4). ``params``: the model's own numbers (tau, threshold, ...), recorded
    for provenance: archsim prices events, not dynamics; only the ``while_nonzero`` rule reads two of
    them (a non-zero ``bias`` is an input every step; a non-zero ``reset`` keeps the potential non-zero)."""
    if model not in NEURON_MODELS:
        raise UserError("graph", "neuron.model", f"must be one of {', '.join(NEURON_MODELS)}, got {model!r}")
    if update not in UPDATE_RULES:
        raise UserError("graph", "neuron.update", f"must be one of {', '.join(UPDATE_RULES)}, got {update!r}")
    if int(state_words) < 0 or int(extra_events) < 0 or int(window_steps) < 1:
        raise UserError("graph", "neuron", "state_words and extra_events must be >= 0, window_steps >= 1")
    rec = {"model": model, "state_words": int(state_words), "update": update, "extra_events": int(extra_events),
           "window_steps": int(window_steps)}
    if params:
        rec["params"] = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in params.items()}
    return rec


def default_neuron(g: nx.DiGraph, name: str, kind: str = "direct", window_steps: int = 1) -> dict:
    """The record a node gets when its file has none: what the workload ``kind`` implied before records
    existed (LIF neurons for direct/rate, Quartz's two-word TTFS neuron with its 3 extra events)."""
    node = g.nodes[name]
    if name == INPUT:
        return neuron_record("input", state_words=0)
    if kind == "ttfs":
        return neuron_record("ttfs" if node["spiking"] else "integrator", state_words=2,
                             extra_events=3 if node["spiking"] else 2, window_steps=window_steps)
    return neuron_record("lif" if node["spiking"] else "integrator")


@dataclass(frozen=True)
class Layer:
    """One node of the layer graph, typed: what the rest of archsim reads instead of ``g.nodes[name][key]``.

    A read-only snapshot built by :func:`layer` from the node's attributes (module docstring), which stay
    the storage: the workload file keeps the node-link JSON, and the builders here add to a node's sums as
    shortcuts arrive. ``shape`` / ``in_shape``: output / input shape ([C, H, W] or [F]), neurons = their
    product; ``kernel``, ``stride``, ``padding``, ``pool``: of the main projection; ``weights`` (stored
    weights), ``synapses`` (source-target pairs) and ``fan_in`` (= synapses / neurons) summed over every
    incoming edge; ``neuron``: the :func:`neuron_record` (None until the loader fills it from the kind)."""
    name: str
    index: int
    op: str
    shape: tuple[int, ...]
    neurons: int
    spiking: bool
    weights: int
    synapses: int
    in_shape: tuple[int, ...] | None = None
    kernel: int = 0
    stride: int = 1
    padding: int = 0
    pool: int = 1
    fan_in: float = 0.0
    neuron: dict | None = None


def layer(g: nx.DiGraph, name: str) -> Layer:
    """Node ``name`` of ``g`` as a :class:`Layer` (every graph that passed :func:`validate` has the
    required keys, NODE_KEYS)."""
    a = g.nodes[name]
    in_shape = a.get("in_shape")
    return Layer(name, int(a["index"]), a["op"], tuple(int(s) for s in a["shape"]), int(a["neurons"]),
                 bool(a["spiking"]), int(a["weights"]), int(a["synapses"]),
                 None if in_shape is None else tuple(int(s) for s in in_shape), int(a.get("kernel", 0)),
                 int(a.get("stride", 1)), int(a.get("padding", 0)), int(a.get("pool", 1)),
                 float(a.get("fan_in", a["synapses"] / a["neurons"])), a.get("neuron"))


def neuron_of(g: nx.DiGraph, name: str) -> dict:
    """A node's neuron record (every graph that passed :func:`validate` or a loader has one)."""
    return g.nodes[name]["neuron"]


def set_neuron(g: nx.DiGraph, name: str, record: dict) -> None:
    """Give node ``name`` its neuron record (:func:`neuron_record`): the exporters and loaders do, once
    they know the population's model."""
    g.nodes[name]["neuron"] = record


def _valid_taps(size_in: int, size_out: int, kernel: int, stride: int, padding: int) -> int:
    """Sum over output positions (one axis) of the kernel taps that land inside the input."""
    out = np.arange(size_out)[:, None] * stride - padding + np.arange(kernel)[None, :]
    return int(((out >= 0) & (out < size_in)).sum())


def new_graph(input_shape: tuple[int, ...], input_encoding: str = "dense") -> nx.DiGraph:
    """A graph holding only the input node. ``dense``: real-valued pixels fed at every timestep
    (direct encoding, the first layer multiplies); ``spikes``: the input is itself spike-encoded."""
    if input_encoding not in ("dense", "spikes"):
        raise UserError("graph", "input_encoding", f"must be 'dense' or 'spikes', got {input_encoding!r}")
    g = nx.DiGraph()
    shape = [int(s) for s in input_shape]
    g.add_node(INPUT, index=0, op="input", shape=shape, neurons=int(np.prod(shape)),
               spiking=input_encoding == "spikes", in_shape=shape, kernel=0, stride=1, padding=0, pool=1,
               weights=0, synapses=0, fan_in=0.0)
    return g


def _pooled(shape: list[int], pool: int, where: str) -> list[int]:
    if pool == 1:
        return list(shape)
    if len(shape) != 3 or shape[1] % pool or shape[2] % pool:
        raise UserError("graph", where, f"pooling by {pool} does not divide shape {shape}")
    return [shape[0], shape[1] // pool, shape[2] // pool]


def _add_layer(g: nx.DiGraph, name: str, src: str, op: str, shape: list[int], in_shape: list[int],
               edge: dict, spiking: bool, neuron: dict | None = None) -> str:
    if name in g:
        raise UserError("graph", name, "layer name used twice")
    if src not in g:
        raise UserError("graph", name, f"source layer {src!r} does not exist")
    neurons = int(np.prod(shape))
    g.add_node(name, index=g.number_of_nodes(), op=op, shape=shape, neurons=neurons, spiking=bool(spiking),
               in_shape=in_shape, kernel=edge.get("kernel", 0), stride=edge.get("stride", 1),
               padding=edge.get("padding", 0), pool=edge.get("pool", 1), weights=edge["weights"],
               synapses=edge["synapses"], fan_in=edge["synapses"] / neurons)
    if neuron is not None:           # else the workload's kind implies it (default_neuron)
        g.nodes[name]["neuron"] = neuron
    g.add_edge(src, name, kind="forward", **edge)
    return name


def _conv_edge(in_shape: list[int], out_channels: int, kernel: int, stride: int, padding: int,
               pool: int, op: str = "conv", groups: int = 1) -> tuple[dict, list[int]]:
    c_in, h_in, w_in = in_shape
    if groups < 1 or c_in % groups or out_channels % groups:
        raise UserError("graph", "groups", f"{groups} groups do not divide {c_in} input and {out_channels} "
                        "output channels")
    h_out = (h_in + 2 * padding - kernel) // stride + 1
    w_out = (w_in + 2 * padding - kernel) // stride + 1
    # each output channel reads c_in / groups input channels
    pooled_synapses = (c_in // groups) * out_channels * _valid_taps(h_in, h_out, kernel, stride, padding) \
        * _valid_taps(w_in, w_out, kernel, stride, padding)
    # Every source spike of a pooled cell is processed on its own: it reaches the cell's fan-out.
    edge = dict(op=op, kernel=kernel, stride=stride, padding=padding, pool=pool,
                weights=(c_in // groups) * out_channels * kernel * kernel, synapses=int(pooled_synapses * pool * pool),
                fan_out=pooled_synapses / (c_in * h_in * w_in))
    if groups != 1:
        edge["groups"] = int(groups)
    return edge, [out_channels, h_out, w_out]


def add_conv(g: nx.DiGraph, name: str, src: str, *, out_channels: int, kernel: int = 3, stride: int = 1,
             padding: int = 1, pool: int = 1, spiking: bool = True, groups: int = 1,
             neuron: dict | None = None) -> str:
    """A conv layer reading ``src`` (average-pooled by ``pool`` first; ``groups`` as torch's Conv2d).
    ``neuron``: its :func:`neuron_record` (default: what the workload's kind implies). Returns ``name``."""
    in_shape = _pooled(g.nodes[src]["shape"], pool, name)
    if len(in_shape) != 3:
        raise UserError("graph", name, f"a conv needs a [C, H, W] input, got {in_shape}")
    edge, shape = _conv_edge(in_shape, int(out_channels), int(kernel), int(stride), int(padding), int(pool),
                             groups=int(groups))
    if min(shape) < 1:
        raise UserError("graph", name, f"output shape {shape} is empty")
    return _add_layer(g, name, src, "conv", shape, in_shape, edge, spiking, neuron)


def add_linear(g: nx.DiGraph, name: str, src: str, *, out_features: int, pool: int = 1,
               spiking: bool = True, neuron: dict | None = None) -> str:
    """A fully connected layer reading ``src`` (average-pooled by ``pool``, then flattened)."""
    in_shape = _pooled(g.nodes[src]["shape"], pool, name)
    n_in = int(np.prod(in_shape))
    weights = n_in * int(out_features)
    edge = dict(op="linear", kernel=0, stride=1, padding=0, pool=int(pool), weights=weights,
                synapses=weights * pool * pool, fan_out=float(out_features))
    return _add_layer(g, name, src, "linear", [int(out_features)], in_shape, edge, spiking, neuron)


def add_residual(g: nx.DiGraph, src: str, dst: str, op: str = "identity", stride: int = 1) -> None:
    """A shortcut whose result is added into ``dst``'s membrane: identity (one add per spike) or a
    1x1 conv with ``stride`` (the downsampling shortcut of ResNets)."""
    if g.has_edge(src, dst):
        raise UserError("graph", dst, f"{src} already projects to {dst}: one edge per pair of layers")
    src_shape, dst_shape = g.nodes[src]["shape"], g.nodes[dst]["shape"]
    if op == "identity":
        if src_shape != dst_shape:
            raise UserError("graph", dst, f"identity shortcut from {src} needs equal shapes, "
                            f"got {src_shape} and {dst_shape}")
        n = int(np.prod(src_shape))
        edge = dict(op="identity", kernel=1, stride=1, padding=0, pool=1, weights=0, synapses=n, fan_out=1.0)
    elif op == "conv":
        edge, shape = _conv_edge(src_shape, dst_shape[0], 1, int(stride), 0, 1)
        if shape != dst_shape:
            raise UserError("graph", dst, f"conv shortcut from {src} gives {shape}, layer has {dst_shape}")
    else:
        raise UserError("graph", dst, f"shortcut op must be 'identity' or 'conv', got {op!r}")
    g.add_edge(src, dst, kind="residual", **edge)
    node = g.nodes[dst]
    node["weights"] += edge["weights"]
    node["synapses"] += edge["synapses"]
    node["fan_in"] = node["synapses"] / node["neurons"]


def layer_names(g: nx.DiGraph) -> list[str]:
    """Node names in index order: the L axis of a workload's spike counts."""
    return sorted(g.nodes, key=lambda n: g.nodes[n]["index"])


def to_json(g: nx.DiGraph) -> str:
    return json.dumps(nx.node_link_data(g, edges="edges"), sort_keys=True)


def from_json(text: str, source: str = "graph") -> nx.DiGraph:
    """Parse and validate a node-link JSON graph; every defect is a UserError naming the field."""
    try:
        g = nx.node_link_graph(json.loads(text), directed=True, edges="edges")
    except (ValueError, KeyError, TypeError, nx.NetworkXError) as err:
        raise UserError(source, "graph_json", f"not a node-link layer graph ({err})") from None
    validate(g, source)
    return g


def validate(g: nx.DiGraph, source: str = "graph") -> None:
    if INPUT not in g:
        raise UserError(source, "graph_json", "no 'input' node")
    for name, attrs in g.nodes(data=True):
        missing = [k for k in NODE_KEYS if k not in attrs]
        if missing:
            raise UserError(source, f"graph_json.nodes[{name}]", f"missing {', '.join(missing)}")
        if attrs["neurons"] != int(np.prod(attrs["shape"])) or attrs["neurons"] < 1:
            raise UserError(source, f"graph_json.nodes[{name}].neurons",
                            f"{attrs['neurons']} does not match shape {attrs['shape']}")
    for u, v, attrs in g.edges(data=True):
        missing = [k for k in EDGE_KEYS if k not in attrs]
        if missing:
            raise UserError(source, f"graph_json.edges[{u}->{v}]", f"missing {', '.join(missing)}")
        if attrs["synapses"] < 0 or attrs["weights"] < 0 or not math.isfinite(attrs["fan_out"]):
            raise UserError(source, f"graph_json.edges[{u}->{v}]", "negative or non-finite size")
        # fan_out prices every source spike: it must be synapses / source neurons (rounding aside)
        expect = attrs["synapses"] / g.nodes[u]["neurons"]
        if not math.isclose(float(attrs["fan_out"]), expect, rel_tol=1e-6, abs_tol=1e-9):
            raise UserError(source, f"graph_json.edges[{u}->{v}].fan_out",
                            f"{attrs['fan_out']:g} disagrees with synapses / source neurons = "
                            f"{attrs['synapses']} / {g.nodes[u]['neurons']} = {expect:g}")
    if sorted(a["index"] for _, a in g.nodes(data=True)) != list(range(g.number_of_nodes())):
        raise UserError(source, "graph_json.nodes.index", "indices must be 0..L-1, each once")
    for name, attrs in g.nodes(data=True):
        rec = attrs.get("neuron")
        if rec is None:
            continue                   # filled in by the workload loader from its kind (default_neuron)
        if not isinstance(rec, dict) or rec.get("model") not in NEURON_MODELS \
                or rec.get("update", "every_step") not in UPDATE_RULES:
            raise UserError(source, f"graph_json.nodes[{name}].neuron",
                            f"not a neuron record (model one of {', '.join(NEURON_MODELS)})")
        for key, low in (("state_words", 0), ("extra_events", 0), ("window_steps", 1)):
            if not isinstance(rec.get(key, low), int) or rec.get(key, low) < low:
                raise UserError(source, f"graph_json.nodes[{name}].neuron.{key}", f"must be an integer >= {low}")
    if not nx.is_directed_acyclic_graph(g):
        raise UserError(source, "graph_json.edges", "the layer graph has a cycle")
    for name in g.nodes:
        if name != INPUT and g.in_degree(name) == 0:
            raise UserError(source, f"graph_json.nodes[{name}]", "layer has no input")

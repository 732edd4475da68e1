"""A NIR file read and checked: only node types the simulator can map, no recurrent edge, every shape known.

Why a check of our own before ``nir.read``: ``nir.read`` stops at the first unknown type with a bare
``ValueError`` and, with its type check on, refuses files whose neuron parameters are per-layer scalars
(snnTorch's); and ``nirtorch`` wires recurrent edges into stateful loops that archsim cannot simulate. So:

- :func:`read_graph` looks at every node's ``type`` in the HDF5 file first (an unsupported one is one
  error naming the node and its type), then reads it with ``nir.read(type_check=False)`` and checks the
  structure (:func:`check_graph`: one Input, one Output, no subgraph, no recurrent edge, no loose node);
- :func:`infer_shapes` propagates the Input's shape through the graph by the nodes' own parameters
  (convolutions with stride, padding, dilation and groups; pooling; flatten; Affine/Linear weights),
  and every shape a node states explicitly (a Conv2d's ``input_shape``, a Flatten's ``input_type``,
  neuron parameter arrays) must agree with it; a projection's weights and bias must be finite (a NaN
  weight would run and write a workload of NaN currents: no spikes, silently);
- :func:`param` gives a neuron parameter as an array that broadcasts over one sample's ``[C, H, W]`` or
  ``[F]`` values: a scalar, one value per neuron, or one per channel.

NIR's shapes never include the batch (nor time) axis.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import networkx as nx
import numpy as np

from archsim.errors import UserError

SPIKING = ("LIF", "IF", "CubaLIF")            # neuron populations that spike
INTEGRATORS = ("LI", "I", "CubaLI")           # non-spiking populations: readouts
PROJECTIONS = ("Conv2d", "Affine", "Linear")  # synaptic projections
POOLS = ("AvgPool2d", "SumPool2d")
RESHAPES = ("Flatten",)
ENDS = ("Input", "Output")
SUPPORTED = SPIKING + INTEGRATORS + PROJECTIONS + POOLS + RESHAPES + ENDS


def type_of(node) -> str:
    return type(node).__name__


def _unsupported(src: str, name: str, kind: str) -> UserError:
    why = "a nested graph" if kind == "NIRGraph" else "not a node type the simulator can map"
    return UserError(src, f"nodes.{name}", f"node type {kind} is {why} (supported: {', '.join(SUPPORTED)})")


def _file_types(path: Path) -> dict[str, str]:
    """name -> NIR type of every top-level node, straight from the HDF5 file."""
    import h5py
    try:
        with h5py.File(path, "r") as f:
            nodes = f["node"]["nodes"]
            return {str(k): _text(nodes[k]["type"][()]) for k in nodes}
    except (OSError, KeyError, TypeError, ValueError) as err:
        raise UserError(str(path), "file", f"not a NIR file ({str(err).splitlines()[0][:100] or type(err).__name__})") \
            from None


def _text(v) -> str:
    return v.decode("utf8") if isinstance(v, bytes) else str(v)


def read_graph(path: str | os.PathLike):
    """The checked ``nir.NIRGraph`` in ``path`` (see the module docstring); every defect is a UserError."""
    from snn.nir import require
    nir, _ = require()
    p = Path(path)
    if not p.is_file():
        raise UserError(str(p), "path", "no such NIR file")
    for name, kind in _file_types(p).items():
        if kind not in SUPPORTED:
            raise _unsupported(str(p), name, kind)
    try:
        graph = nir.read(p, type_check=False)
    except (OSError, KeyError, TypeError, ValueError, AssertionError, AttributeError, IndexError) as err:
        msg = str(err).splitlines()[0][:120] if str(err) else type(err).__name__
        raise UserError(str(p), "file", f"not a readable NIR graph ({msg})") from None
    check_graph(graph, str(p))
    return graph


def digraph(graph) -> nx.DiGraph:
    """The NIR graph's connectivity as a networkx DiGraph (nodes in the file's order)."""
    g = nx.DiGraph()
    g.add_nodes_from(graph.nodes)
    g.add_edges_from((str(u), str(v)) for u, v in graph.edges)
    return g


def check_graph(graph, src: str = "model.nir") -> None:
    """Structure the simulator needs: known node types, one Input and one Output, every edge between
    existing nodes, no recurrent edge, every node on a path from the Input to the Output."""
    for name, node in graph.nodes.items():
        if type_of(node) not in SUPPORTED:
            raise _unsupported(src, name, type_of(node))
    for u, v in graph.edges:
        for end in (u, v):
            if end not in graph.nodes:
                raise UserError(src, "edges", f"edge {u} -> {v} names a node {end!r} that does not exist")
    for kind in ENDS:
        found = [n for n, node in graph.nodes.items() if type_of(node) == kind]
        if len(found) != 1:
            raise UserError(src, "nodes", f"needs exactly one {kind} node, found {len(found)}"
                            + (f" ({', '.join(found)})" if found else ""))
    g = digraph(graph)
    try:
        cycle = nx.find_cycle(g)
    except nx.NetworkXNoCycle:
        cycle = None
    if cycle:
        u, v = cycle[-1][:2]
        raise UserError(src, f"nodes.{v}", f"{type_of(graph.nodes[v])} node {v} has a recurrent input from {u} "
                        "(a cycle in the graph): archsim simulates feed-forward layer graphs only")
    inp = input_name(graph)
    out = output_name(graph)
    reach = nx.descendants(g, inp) | {inp}
    back = nx.ancestors(g, out) | {out}
    for name in graph.nodes:
        if name not in reach or name not in back:
            raise UserError(src, f"nodes.{name}", f"{type_of(graph.nodes[name])} node {name} is not on a path "
                            "from the Input to the Output")


def input_name(graph) -> str:
    return next(n for n, node in graph.nodes.items() if type_of(node) == "Input")


def output_name(graph) -> str:
    return next(n for n, node in graph.nodes.items() if type_of(node) == "Output")


# ---- shapes ---------------------------------------------------------------------------------------

def pair(v, name: str = "", src: str = "", what: str = "") -> tuple[int, int]:
    """An int or a 1- or 2-element array as (height, width)."""
    a = np.atleast_1d(np.asarray(v)).astype(np.int64).reshape(-1)
    if a.size == 1:
        return int(a[0]), int(a[0])
    if a.size == 2:
        return int(a[0]), int(a[1])
    raise UserError(src, f"nodes.{name}.{what}", f"expects one or two integers, got {list(a)}")


def conv_padding(node, name: str, src: str) -> tuple[int, int]:
    """A Conv2d's padding as integers ('valid' = 0; 'same' only for odd kernels at stride 1)."""
    if isinstance(node.padding, (str, bytes)):
        mode = _text(node.padding)
        kh, kw = node.weight.shape[-2:]
        if mode == "valid":
            return 0, 0
        if mode == "same" and kh % 2 and kw % 2 and pair(node.stride, name, src, "stride") == (1, 1):
            return (kh - 1) // 2, (kw - 1) // 2
        raise UserError(src, f"nodes.{name}.padding", f"padding {mode!r} needs an odd kernel and stride 1")
    return pair(node.padding, name, src, "padding")


def groups_of(node) -> int:
    return int(np.asarray(node.groups).reshape(-1)[0])


def _mismatch(src: str, name: str, node, message: str) -> UserError:
    return UserError(src, f"nodes.{name}", f"shape mismatch at {type_of(node)} node {name}: {message}")


PROJECTION_ARRAYS = ("weight", "bias")   # the float arrays of a Conv2d/Affine/Linear node


def _check_finite(name: str, node, src: str) -> None:
    """Every weight and bias value of a projection node is a finite number (else one error naming the node)."""
    for field in PROJECTION_ARRAYS:
        v = getattr(node, field, None)
        if v is None:
            continue
        a = np.asarray(v, dtype=np.float64)
        bad = ~np.isfinite(a)
        if bad.any():
            raise UserError(src, f"nodes.{name}.{field}", f"{type_of(node)} node {name}: {int(bad.sum())} of "
                            f"{a.size} {field} values are NaN or infinite")


def _node_shape(name: str, node, shape: tuple[int, ...], src: str) -> tuple[int, ...]:
    """Output shape of ``node`` given its input shape (see the module docstring)."""
    kind = type_of(node)
    if kind in PROJECTIONS:
        _check_finite(name, node, src)
    if kind == "Conv2d":
        w = np.asarray(node.weight)
        if w.ndim != 4 or len(shape) != 3:
            raise _mismatch(src, name, node, f"needs a [C, H, W] input and a 4-D weight, got input {list(shape)} "
                            f"and weight {list(w.shape)}")
        groups = groups_of(node)
        if shape[0] != w.shape[1] * groups:
            raise _mismatch(src, name, node, f"input has {shape[0]} channels, the weight expects "
                            f"{w.shape[1]} x {groups} groups")
        if node.input_shape is not None and tuple(np.asarray(node.input_shape).reshape(-1)) != tuple(shape[1:]):
            raise _mismatch(src, name, node, f"states input_shape {list(np.asarray(node.input_shape).reshape(-1))}, "
                            f"its input is {list(shape[1:])}")
        ph, pw = conv_padding(node, name, src)
        (sh, sw), (dh, dw) = pair(node.stride, name, src, "stride"), pair(node.dilation, name, src, "dilation")
        ho = (shape[1] + 2 * ph - dh * (w.shape[2] - 1) - 1) // sh + 1
        wo = (shape[2] + 2 * pw - dw * (w.shape[3] - 1) - 1) // sw + 1
        out = (int(w.shape[0]), int(ho), int(wo))
    elif kind in ("Affine", "Linear"):
        w = np.asarray(node.weight)
        if w.ndim != 2 or math.prod(shape) != w.shape[1]:
            raise _mismatch(src, name, node, f"input {list(shape)} ({math.prod(shape)} values) does not fit a "
                            f"weight of shape {list(w.shape)}")
        if kind == "Affine" and np.asarray(node.bias).reshape(-1).shape != (w.shape[0],):
            raise _mismatch(src, name, node, f"bias {list(np.asarray(node.bias).shape)} for {w.shape[0]} outputs")
        out = (int(w.shape[0]),)
    elif kind in POOLS:
        if len(shape) != 3:
            raise _mismatch(src, name, node, f"pooling needs a [C, H, W] input, got {list(shape)}")
        (kh, kw), (sh, sw) = pair(node.kernel_size, name, src, "kernel_size"), pair(node.stride, name, src, "stride")
        ph, pw = pair(node.padding, name, src, "padding")
        out = (shape[0], (shape[1] + 2 * ph - kh) // sh + 1, (shape[2] + 2 * pw - kw) // sw + 1)
    elif kind == "Flatten":
        declared = node.input_type.get("input") if isinstance(node.input_type, dict) else None
        if declared is not None and math.prod(np.asarray(declared).reshape(-1).tolist()) != math.prod(shape):
            raise _mismatch(src, name, node, f"states input {list(np.asarray(declared).reshape(-1))}, its input "
                            f"is {list(shape)}")
        start, end = int(node.start_dim), int(node.end_dim)
        start, end = start % len(shape), end % len(shape)
        out = shape[:start] + (math.prod(shape[start:end + 1]),) + shape[end + 1:]
    elif kind in SPIKING + INTEGRATORS:
        for field in neuron_fields(node):
            param(node, field, shape, name, src)
        out = shape
    else:  # Output
        out = shape
    if min(out) < 1:
        raise _mismatch(src, name, node, f"output shape {list(out)} is empty")
    return out


def infer_shapes(graph, src: str = "model.nir") -> dict[str, tuple[int, ...]]:
    """name -> output shape of every node (see the module docstring). Assumes :func:`check_graph`."""
    inp = input_name(graph)
    declared = graph.nodes[inp].input_type.get("input")
    if declared is None or np.asarray(declared).size == 0:
        raise UserError(src, f"nodes.{inp}", "the Input node states no shape")
    shapes = {inp: tuple(int(s) for s in np.asarray(declared).reshape(-1))}
    g = digraph(graph)
    order = {n: i for i, n in enumerate(graph.nodes)}
    for name in nx.lexicographical_topological_sort(g, key=order.get):
        if name == inp:
            continue
        node = graph.nodes[name]
        ins = {u: shapes[u] for u in g.predecessors(name)}
        if len(set(ins.values())) > 1:
            raise _mismatch(src, name, node, "inputs of different shapes are summed: "
                            + ", ".join(f"{u} {list(s)}" for u, s in ins.items()))
        shapes[name] = _node_shape(name, node, next(iter(ins.values())), src)
    return shapes


# ---- neuron parameters ----------------------------------------------------------------------------

NEURON_FIELDS = {"LIF": ("tau", "r", "v_leak", "v_threshold", "v_reset"),
                 "IF": ("r", "v_threshold", "v_reset"),
                 "CubaLIF": ("tau_syn", "tau_mem", "r", "v_leak", "v_threshold", "v_reset", "w_in"),
                 "LI": ("tau", "r", "v_leak"), "I": ("r",),
                 "CubaLI": ("tau_syn", "tau_mem", "r", "v_leak", "w_in")}


def neuron_fields(node) -> tuple[str, ...]:
    return NEURON_FIELDS[type_of(node)]


def param(node, field: str, shape: tuple[int, ...], name: str = "", src: str = "") -> np.ndarray:
    """``node.<field>`` (float64) shaped to broadcast over one sample of ``shape``: a scalar stays a scalar
    (``[]``), one value per neuron keeps ``shape``, one per channel of a ``[C, H, W]`` population becomes
    ``[C, 1, 1]``. Anything else is a shape mismatch; NaN or infinite values (but an infinite tau) too."""
    a = np.asarray(getattr(node, field), dtype=np.float64)
    if a.size == 1:
        out = a.reshape(())
    elif a.shape == tuple(shape) or (a.size == math.prod(shape) and a.squeeze().shape == tuple(s for s in shape if s != 1)):
        out = a.reshape(shape)
    elif len(shape) == 3 and a.size == shape[0] and a.squeeze().ndim == 1:
        out = a.reshape(shape[0], 1, 1)
    else:
        raise _mismatch(src, name, node, f"parameter {field} has shape {list(a.shape)}, the population "
                        f"{list(shape)}")
    ok = np.isfinite(out) | (np.isposinf(out) if field.startswith("tau") else False)
    if not np.all(ok):
        raise UserError(src, f"nodes.{name}.{field}", "NaN or infinite values")
    return out

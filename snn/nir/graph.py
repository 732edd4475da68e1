"""A checked NIR graph as archsim's layer graph: neuron populations joined by synaptic projections.

NIR and archsim cut a network differently. In NIR a projection (Conv2d, Affine, Linear), a pooling, a
Flatten and a neuron population (LIF, IF, CubaLIF) are separate nodes and several edges into one node are
summed. In archsim a node is a neuron population together with the projections that feed it, and the
pooling before a projection is that projection's ``pool`` (how snn.models.base.describe_sequential folds
it). So, walking back from every population:

- its **main** input is a projection, reached through nothing else; behind the projection, Flatten and
  AvgPool2d/SumPool2d nodes (stride = kernel, square, no padding; the factors multiply) lead to the
  source population or the Input;
- any other summed input is a **residual** edge: the identity (straight from a population of the same
  shape) or a 1x1 convolution with a stride (archsim.graph.add_residual);
- a projection that feeds the Output without a neuron is the non-spiking integrator readout (our
  networks' classifier), named like ours; a non-spiking LI / I / CubaLI readout is one too.

Archsim nodes are named after their main projection (``conv1``, ..., ``out`` for our own networks, so a
round trip keeps the names) and every one carries a neuron record (archsim.graph.neuron_record) with the
NIR model, its state words (CubaLIF and CubaLI 2: current and voltage) and its parameters. What cannot be
mapped is a UserError naming the node and its type.
"""
from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np

from archsim import graph as ag
from archsim.errors import UserError
from snn.nir.read import (INTEGRATORS, POOLS, PROJECTIONS, SPIKING, conv_padding, digraph, groups_of, input_name,
                          neuron_fields, output_name, pair, param, type_of)

# NIR neuron type -> (archsim model, state words per neuron)
MODELS = {"LIF": ("lif", 1), "IF": ("if", 1), "CubaLIF": ("cuba_lif", 2),
          "LI": ("integrator", 1), "I": ("integrator", 1), "CubaLI": ("integrator", 2)}


@dataclass(frozen=True)
class Branch:
    """One summed input of a population: ``source`` (a population or the Input) -> optional pooling by
    ``pool`` -> ``projection`` (None: the identity)."""
    source: str
    projection: str | None
    pool: int = 1


@dataclass(frozen=True)
class LayerPlan:
    """The archsim graph and, in its index order, the NIR neuron nodes that spike (what the network
    records) and the NIR population behind every archsim node."""
    graph: nx.DiGraph
    spiking: list[str]
    population: dict[str, str]


def _err(src: str, name: str, node, message: str) -> UserError:
    return UserError(src, f"nodes.{name}", f"{type_of(node)} node {name}: {message}")


def _summary(a: np.ndarray):
    """A parameter for the record: one number when uniform, else its range and mean."""
    a = np.asarray(a, dtype=np.float64)
    if a.size == 0 or np.all(a == a.reshape(-1)[0]):
        return float(a.reshape(-1)[0]) if a.size else None
    return {"min": float(a.min()), "mean": float(a.mean()), "max": float(a.max())}


def neuron_params(node, shape, dt: float, name: str = "", src: str = "") -> dict:
    """The NIR parameters of a neuron node for its record (uniform ones as numbers), ``dt`` and the time
    constants in timesteps (``tau / dt``)."""
    out = {"nir_type": type_of(node), "nir_node": name, "dt": float(dt)}
    if type_of(node) in SPIKING:
        out["reset"] = "hard"           # NIR resets to v_reset (snn.nir.neurons)
    for field in neuron_fields(node):
        out[field] = _summary(param(node, field, shape, name, src))
        if field.startswith("tau"):
            out[f"{field}_steps"] = _summary(param(node, field, shape, name, src) / dt)
    return out


def _pool_factor(name: str, node, src: str) -> int:
    (kh, kw), (sh, sw) = pair(node.kernel_size, name, src, "kernel_size"), pair(node.stride, name, src, "stride")
    if kh != kw or (kh, kw) != (sh, sw) or pair(node.padding, name, src, "padding") != (0, 0):
        raise _err(src, name, node, f"pooling {kh}x{kw} with stride {sh}x{sw} and padding: archsim pools "
                   "spikes by a square factor (stride = kernel, no padding)")
    return kh


class _Walker:
    """Walks the NIR graph back from populations (see the module docstring)."""

    def __init__(self, graph, src: str):
        self.graph, self.src = graph, src
        self.g = digraph(graph)
        self.inp = input_name(graph)

    def kind(self, name: str) -> str:
        return type_of(self.graph.nodes[name])

    def is_population(self, name: str) -> bool:
        return self.kind(name) in SPIKING + INTEGRATORS or name == self.inp

    def only_input(self, name: str) -> str:
        preds = list(self.g.predecessors(name))
        if len(preds) != 1:
            raise _err(self.src, name, self.graph.nodes[name], f"has {len(preds)} summed inputs; archsim sums "
                       "inputs only into neuron populations")
        return preds[0]

    def behind(self, projection: str) -> Branch:
        """The branch that ends in ``projection``: through pooling and Flatten back to a population."""
        pool, cur = 1, self.only_input(projection)
        linear = self.kind(projection) != "Conv2d"
        while not self.is_population(cur):
            node, kind = self.graph.nodes[cur], self.kind(cur)
            if kind in POOLS:
                pool *= _pool_factor(cur, node, self.src)
            elif kind == "Flatten":
                if not linear:
                    raise _err(self.src, cur, node, f"flattens the input of the convolution {projection}")
            elif kind in PROJECTIONS:
                raise _err(self.src, cur, node, f"feeds the projection {projection} directly; archsim needs a "
                           "neuron population between two projections")
            cur = self.only_input(cur)
        return Branch(cur, projection, pool)

    def branch(self, pred: str, target: str) -> Branch:
        """The summed input of population ``target`` that arrives from ``pred``."""
        if self.is_population(pred):
            return Branch(pred, None)
        if self.kind(pred) in PROJECTIONS:
            return self.behind(pred)
        raise _err(self.src, pred, self.graph.nodes[pred], f"feeds the population {target} directly: archsim "
                   "needs a Conv2d/Affine/Linear into every population, with pooling and Flatten after the "
                   "neurons of the layer before (it pools spikes, not currents)")

    def readout_projection(self) -> str | None:
        """The projection that feeds the Output without a neuron (through Flatten only), if any."""
        cur = self.only_input(output_name(self.graph))
        while self.kind(cur) == "Flatten":
            cur = self.only_input(cur)
        return cur if self.kind(cur) in PROJECTIONS else None


def _main_and_residuals(branches: list[Branch], walker: _Walker, target: str) -> tuple[Branch, list[Branch]]:
    """The main branch (a projection; the largest kernel when several) and the rest, which must be what
    archsim.graph.add_residual models."""
    node = walker.graph.nodes[target]
    projections = [b for b in branches if b.projection is not None]
    if not projections:
        raise _err(walker.src, target, node, "has no Conv2d/Affine/Linear input: archsim needs a projection "
                   "into every population")

    def size(b: Branch) -> int:
        w = np.asarray(walker.graph.nodes[b.projection].weight)
        return int(np.prod(w.shape[2:])) if w.ndim == 4 else 1 << 30   # a linear layer is never a shortcut
    main = max(projections, key=size)
    rest = [b for b in branches if b is not main]
    for b in rest:
        if b.projection is None:
            continue
        p = walker.graph.nodes[b.projection]
        ok = walker.kind(b.projection) == "Conv2d" and np.asarray(p.weight).shape[2:] == (1, 1) \
            and b.pool == 1 and groups_of(p) == 1 and conv_padding(p, b.projection, walker.src) == (0, 0) \
            and len(set(pair(p.stride))) == 1 and pair(p.dilation) == (1, 1)
        if not ok:
            raise _err(walker.src, b.projection, p, f"is a second projection into {target}; archsim models a "
                       "shortcut as the identity or a 1x1 convolution (square stride, no padding or pooling)")
    return main, rest


def _add(g: nx.DiGraph, name: str, src_name: str, walker: _Walker, main: Branch, spiking: bool,
         neuron: dict) -> None:
    node = walker.graph.nodes[main.projection]
    src = walker.src
    if walker.kind(main.projection) == "Conv2d":
        w = np.asarray(node.weight)
        (kh, kw), (sh, sw) = w.shape[2:], pair(node.stride, main.projection, src, "stride")
        (ph, pw), dil = conv_padding(node, main.projection, src), pair(node.dilation, main.projection, src, "dilation")
        if kh != kw or sh != sw or ph != pw or dil != (1, 1):
            raise _err(src, main.projection, node, f"kernel {kh}x{kw}, stride {sh}x{sw}, padding {ph}x{pw}, "
                       f"dilation {dil[0]}x{dil[1]}: archsim's graph needs square kernels, strides and "
                       "padding and no dilation")
        ag.add_conv(g, name, src_name, out_channels=int(w.shape[0]), kernel=int(kh), stride=int(sh),
                    padding=int(ph), pool=main.pool, spiking=spiking, groups=groups_of(node), neuron=neuron)
    else:
        ag.add_linear(g, name, src_name, out_features=int(np.asarray(node.weight).shape[0]), pool=main.pool,
                      spiking=spiking, neuron=neuron)


def layer_plan(graph, shapes: dict, input_encoding: str = "dense", dt: float = 1e-4,
               src: str = "model.nir") -> LayerPlan:
    """archsim's layer graph of a checked NIR graph (read.check_graph, read.infer_shapes); see the module
    docstring. ``input_encoding``: 'dense' (real-valued input, direct encoding) or 'spikes' (events)."""
    walker = _Walker(graph, src)
    inp = walker.inp
    g = ag.new_graph(shapes[inp], input_encoding)
    arch_of = {inp: ag.INPUT}            # NIR population -> archsim node
    spiking: list[str] = []
    population: dict[str, str] = {}
    readout = walker.readout_projection()
    order = {n: i for i, n in enumerate(graph.nodes)}
    for name in nx.lexicographical_topological_sort(walker.g, key=order.get):
        kind = walker.kind(name)
        if name == readout:
            main, rest, neuron = walker.behind(name), [], ag.neuron_record("integrator")
        elif kind in SPIKING + INTEGRATORS:
            branches = [walker.branch(p, name) for p in walker.g.predecessors(name)]
            main, rest = _main_and_residuals(branches, walker, name)
            model, words = MODELS[kind]
            neuron = ag.neuron_record(model, state_words=words,
                                      **neuron_params(graph.nodes[name], shapes[name], dt, name, src))
        else:
            continue
        for b in [main] + rest:
            if b.source not in arch_of:
                raise _err(src, b.source, graph.nodes[b.source], "feeds a population before it is computed")
        label = main.projection if main.projection not in g and main.projection != ag.INPUT else name
        if label in g:
            label = f"nir_{label}"
        is_spiking = kind in SPIKING
        _add(g, label, arch_of[main.source], walker, main, is_spiking, neuron)
        if list(ag.layer(g, label).shape) != list(shapes[name]):
            raise _err(src, name, graph.nodes[name], f"archsim computes shape {list(ag.layer(g, label).shape)}, the "
                       f"NIR graph {list(shapes[name])}")
        for b in rest:
            stride = 1 if b.projection is None else pair(graph.nodes[b.projection].stride)[0]
            try:
                ag.add_residual(g, arch_of[b.source], label, op="identity" if b.projection is None else "conv",
                                stride=stride)
            except UserError as err:
                raise _err(src, b.projection or b.source, graph.nodes[b.projection or b.source],
                           f"shortcut into {name}: {err.message}") from None
        arch_of[name] = label
        population[label] = name
        if is_spiking:
            spiking.append(name)
    return LayerPlan(g, spiking, population)

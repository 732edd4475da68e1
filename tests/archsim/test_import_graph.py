"""archsim's import graph, read from the source with ast: data flows one way, and nothing goes round.

The chain (top first): hwconfig + workload -> exit plan -> mapping -> counts -> cycles -> timing ->
energy -> the run -> report -> the front ends. A module may import its own layer and the layers above
it, never one further down; and no modules import each other in a circle, counting imports inside
functions too (a lazy import hides a circle from Python at start-up, not from a reader).
"""
from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[2] / "archsim"

# Layers, top first; each lists the top-level modules / packages of archsim in it.
CHAIN = [
    ("leaves", ["errors", "choices", "mesh", "inputs", "pooling", "graph", "registry"]),
    ("hardware units + action table", ["units", "actions"]),
    ("hwconfig + workload", ["hwconfig", "workload"]),
    ("exit plan", ["exit_policy", "synthetic"]),
    ("mapping", ["connectivity", "mapping"]),
    ("counts", ["counts"]),
    ("cycles", ["cycles"]),
    ("timing", ["timing"]),
    ("energy", ["energy"]),
    ("run", ["summary", "chips", "tally", "simulate"]),
    ("report", ["report"]),
    ("front ends", ["__init__", "__main__", "cli", "commands", "sweep", "validate", "gpu"]),
]


def modules(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every .py under the package ``root``."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _nearest(name: str, known) -> str | None:
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def _is_type_checking(node) -> bool:
    """``if TYPE_CHECKING:``: imports for annotations only, never run, so not a dependency of the data flow
    (the hardware units name HwConfig in their signatures; the hwconfig loader imports the units)."""
    return isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def imports(name: str, path: Path, known, package: str) -> set[str]:
    """The package's modules that module ``name`` imports anywhere in its file."""
    found = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    type_only = {id(n) for block in ast.walk(tree) if _is_type_checking(block) for stmt in block.body
                 for n in ast.walk(stmt)}
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                pkg = name if path.name == "__init__.py" else name.rpartition(".")[0]
                for _ in range(node.level - 1):
                    pkg = pkg.rpartition(".")[0]
                base = f"{pkg}.{base}" if base else pkg
            for a in node.names:          # ``from archsim import graph``: the submodule, when there is one
                found.add(f"{base}.{a.name}" if f"{base}.{a.name}" in known else base)
    targets = {_nearest(t, known) for t in found if t == package or t.startswith(package + ".")}
    return {t for t in targets if t is not None and t != name}


def import_graph(root: Path) -> nx.DiGraph:
    known = modules(root)
    g = nx.DiGraph()
    g.add_nodes_from(known)
    for name, path in known.items():
        g.add_edges_from((name, t) for t in imports(name, path, known, root.name))
    return g


def layer_of(name: str, package: str, chain=CHAIN) -> int | None:
    """Index in ``chain`` of the layer holding module ``name`` (by its top-level name under the package)."""
    top = name[len(package) + 1:].split(".")[0] if name != package else "__init__"
    hits = [i for i, (_, tops) in enumerate(chain) if top in tops]
    return hits[0] if len(hits) == 1 else None


def upward_imports(g: nx.DiGraph, package: str, chain=CHAIN) -> list[str]:
    """Every import of a module from a layer further down the chain."""
    bad = []
    for a, b in sorted(g.edges):
        la, lb = layer_of(a, package, chain), layer_of(b, package, chain)
        if la is not None and lb is not None and lb > la:
            bad.append(f"{a} ({chain[la][0]}) imports {b} ({chain[lb][0]})")
    return bad


def cycles(g: nx.DiGraph) -> list[list[str]]:
    return [sorted(c) for c in nx.strongly_connected_components(g) if len(c) > 1]


# ------------------------------------------------------------------------------------------------ tests
GRAPH = import_graph(ROOT)


def test_every_module_has_one_place_in_the_chain():
    unplaced = [m for m in GRAPH if layer_of(m, "archsim") is None]
    assert not unplaced, f"add these to CHAIN (one layer each): {unplaced}"


def test_no_module_imports_one_further_down_the_chain():
    assert upward_imports(GRAPH, "archsim") == []


# Circles known and not yet broken, each with its owner; an entry must go when its circle does (the test
# compares exactly). gpu_bench's error for a foreign JSON lists every format, read lazily from the
# registry that imports gpu_bench (archsim/gpu/formats/gpu_bench.py, read()).
KNOWN_CYCLES = [["archsim.gpu.formats", "archsim.gpu.formats.gpu_bench"]]


def test_no_import_cycles():
    assert cycles(GRAPH) == KNOWN_CYCLES


def test_the_graph_sees_the_imports_it_must():
    """The reader finds top-level, lazy (inside a function) and ``from archsim import x`` imports."""
    assert GRAPH.has_edge("archsim.mapping", "archsim.hwconfig")          # from archsim.hwconfig import ...
    assert GRAPH.has_edge("archsim.mapping", "archsim.graph")             # from archsim import graph as lg
    assert GRAPH.has_edge("archsim.hwconfig.load", "archsim.units")       # inside check_units
    assert not GRAPH.has_edge("archsim.units.base", "archsim.mapping")    # under TYPE_CHECKING only
    assert GRAPH.has_edge("archsim.commands.run", "archsim.simulate")     # inside a function


@pytest.fixture
def planted(tmp_path):
    """A small package with one upward import and one circle, to show the checks catch both."""
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    files = {"__init__.py": "", "low.py": "from pkg import high\n",
             "high.py": "def f():\n    from pkg.sub import a\n",
             "sub/__init__.py": "", "sub/a.py": "from . import b\n", "sub/b.py": "import pkg.sub.a\n"}
    for rel, text in files.items():
        (pkg / rel).write_text(text)
    return pkg


def test_the_checks_catch_a_planted_upward_import_and_circle(planted):
    chain = [("sub", ["sub"]), ("high", ["high"]), ("low", ["low", "__init__"])]
    g = import_graph(planted)
    assert upward_imports(g, "pkg", chain) == []          # low -> high -> sub: each imports a layer above
    assert upward_imports(g, "pkg", chain[::-1]) == [
        "pkg.high (high) imports pkg.sub.a (sub)", "pkg.low (low) imports pkg.high (high)"]
    assert cycles(g) == [["pkg.sub.a", "pkg.sub.b"]]     # a relative and an absolute import, one circle

"""The chip's hardware blocks, one module each, found through one registry (like archsim.gpu.formats).

Every module of this package that defines ``NAME``, ``ORDER`` and ``ROWS`` is a unit (the
protocol is archsim.units.base's docstring). The action table, the counting, the busy cycles, the
energy, the report's static split and the hwconfig's checks all loop over ``REGISTRY``: a new block is
one new module here plus its rows in the energy table (docs/adding_a_unit.md).
"""
from __future__ import annotations

from types import ModuleType

from archsim.errors import UserError
from archsim.registry import discover
from archsim.units.base import PER_CORE_SCOPES, SCOPES, ActionRow  # noqa: F401  (re-exported)

PER_LAYER_PRICING = ("synapse", "neuron")   # rows whose component the hwconfig's ``units`` chooses per layer


REGISTRY: list[ModuleType] = discover(__name__, __path__, ("NAME", "ORDER", "ROWS"))
ALWAYS: list[ModuleType] = [m for m in REGISTRY if not hasattr(m, "present")]   # on every chip
# the static scope of the components the hwconfig names per layer: that of the units they stand in for
_named_scopes = {m.STATIC[m.NAME] for m in REGISTRY if any(r.pricing in PER_LAYER_PRICING for r in m.ROWS)}
if len(_named_scopes) != 1:
    raise RuntimeError(f"archsim.units: the units that price per layer disagree on their static scope: {_named_scopes}")
NAMED_SCOPE: str = _named_scopes.pop()


def present(hw, table=None) -> list[ModuleType]:
    """The units this chip has (``table``: its energy table, by default ``hw.energy``)."""
    table = hw.energy if table is None else table
    return [m for m in REGISTRY if not hasattr(m, "present") or m.present(hw, table)]


def rows(units: list[ModuleType] | None = None) -> tuple[ActionRow, ...]:
    """The action rows of ``units`` (all registered ones by default), in pipeline order."""
    return tuple(r for m in (REGISTRY if units is None else units) for r in m.ROWS)


# Unpriced counts of the blocks that predate the registry, in the column order reports have always used;
# a new unit's unpriced counts follow in pipeline order.
_LEGACY_UNPRICED = ("weight_spill_words", "spikes_in", "packet_hops", "flits", "potential_rmw")


def count_names(units: list[ModuleType] | None = None) -> tuple[str, ...]:
    """Every count of ``units``, in report order: the priced ones in row order, then the unpriced."""
    units = REGISTRY if units is None else units
    unpriced = [c for m in units for c in getattr(m, "UNPRICED", ())]
    ordered = [c for c in _LEGACY_UNPRICED if c in unpriced] + [c for c in unpriced if c not in _LEGACY_UNPRICED]
    return tuple(dict.fromkeys([r.count for r in rows(units)] + ordered))


def memories(hw) -> dict[str, tuple[str | None, str | None]]:
    """The chip's memories (units whose rows read and write an SRAM or the DRAM): component -> (count of
    its reads, count of its writes)."""
    out: dict[str, tuple[str | None, str | None]] = {}
    for row in rows(present(hw)):
        if row.pricing in ("sram", "dram") and row.action in ("read", "write"):
            reads, writes = out.get(row.component, (None, None))
            out[row.component] = (row.count, writes) if row.action == "read" else (reads, row.count)
    return out


def required_table() -> dict[str, tuple[str, ...]]:
    """What every energy table must price: component -> actions, from the required rows of the units
    every chip has (memories under the table's ``sram``, router hops as ``hop``, DRAM in its own table)."""
    out: dict[str, list[str]] = {}
    for row in rows(ALWAYS):
        if not row.required or row.pricing == "dram":
            continue
        comp = {"sram": "sram", "hop": "router"}.get(row.pricing, row.component)
        action = "hop" if row.pricing == "hop" else row.action
        if action not in out.setdefault(comp, []):
            out[comp].append(action)
    return {c: tuple(a) for c, a in out.items()}


def named_components(hw, pricing: str) -> list[tuple[str, str]]:
    """(where in the hwconfig, component) of every unit the hwconfig's ``units.synapse`` or
    ``units.neuron`` names."""
    choice = hw.units.synapse if pricing == "synapse" else hw.units.neuron
    return [("default", choice.default)] + [(f"by_op.{k}", v) for k, v in choice.by_op.items()] \
        + [(f"by_model.{k}", v) for k, v in choice.by_model.items()] \
        + [(f"layers.{k}", v) for k, v in choice.layers.items()]


def static_components(hw) -> list[tuple[str, str]]:
    """(component, scope) of every leaking component of the chip, in SCOPES order then pipeline order; a
    unit that prices per layer also leaks through every component the hwconfig names for it (Loihi's
    conv synapse, say), with the unit's own scope."""
    seen: dict[str, str] = {}
    for unit in present(hw):
        static = getattr(unit, "STATIC", {})
        for comp, scope in static.items():
            seen.setdefault(comp, scope)
        for pricing in sorted({r.pricing for r in unit.ROWS if r.pricing in PER_LAYER_PRICING}):
            for named in sorted({c for _, c in named_components(hw, pricing)} - set(seen)):
                seen[named] = static[unit.NAME]
    return sorted(seen.items(), key=lambda cs: SCOPES.index(cs[1]))


def static_scope(component: str) -> str | None:
    """The static scope of a component of the energy breakdown (None: it does not leak). A component no
    unit names is one the hwconfig's ``units`` section names for synapse or neuron events: it has the
    scope of the unit it stands in for."""
    for unit in REGISTRY:
        if component in getattr(unit, "STATIC", {}):
            return unit.STATIC[component]
    return NAMED_SCOPE


def check_table(hw, table, source: str, table_source: str, suggest=lambda word, options: "") -> None:
    """The energy table prices every unit of the chip: each unit the hwconfig names per layer has the
    actions its events need, each present unit its required actions, and with ``timing.mode: barrier``
    every timed event has a ``latency_ns``. One UserError naming the table and the missing entry
    (``suggest(word, options)``: a spelling hint for a component the table lacks)."""
    units = present(hw, table)
    needs = {p: [r.action for r in rows(units) if r.pricing == p and r.required] for p in PER_LAYER_PRICING}
    for kind in PER_LAYER_PRICING:
        for where, comp in named_components(hw, kind):
            if comp not in table.components:
                raise UserError(source, f"units.{kind}.{where}", f"energy table {table_source} has no component "
                                f"{comp!r}{suggest(comp, table.components)}")
            for action in needs[kind]:
                if not table.has(comp, action):
                    raise UserError(table_source, f"components.{comp}.actions.{action}",
                                    f"missing: {comp} prices {kind} events (hwconfig units.{kind}.{where})")
    for unit in units:
        for row in unit.ROWS:
            if row.required and row.pricing == "fixed" and not table.has(row.component, row.action):
                raise UserError(table_source, f"components.{row.component}.actions.{row.action}",
                                f"missing action '{row.action}' of component '{row.component}' ({unit.NAME} unit)")
    if hw.timing.mode == "barrier":
        _check_latencies(hw, table, units, table_source)


def _check_latencies(hw, table, units, table_source: str) -> None:
    timed = set()
    for row in rows(units):
        if row.barrier_phase is None or row.latency_optional:
            continue
        comps = {c for _, c in named_components(hw, row.pricing)} if row.pricing in PER_LAYER_PRICING \
            else {row.component}
        timed |= {(c, row.action) for c in comps if table.has(c, row.action)}
    for comp, action in sorted(timed):
        if table.latency_ns(comp, action) is None:
            raise UserError(table_source, f"components.{comp}.actions.{action}.latency_ns",
                            "missing: timing.mode barrier times every event by its latency")

"""Joules: the only place they are made.

energy = sum over actions of (count x energy per action from the table) + static power x simulated time.

Which count is priced by which table entry is the rows of the chip's units (archsim.units; a unit the
chip lacks prices nothing and reports nothing): memory accesses are port-wide,
priced by the table's row for the memory's bank size and scaled from the table's ``access_bits`` to the
port width (an access of twice the bits costs twice); off-chip accesses likewise from the table's width
to the hwconfig's ``offchip.access_bits``; router hops by direction (``hop_east`` ...) or one ``hop``
price; synaptic events and neuron actions by the unit each layer uses (hwconfig ``units``: e.g. Loihi's
conv synapse for conv layers, its dense synapse for linear ones), so prices are per layer. An optional
action missing from a table costs nothing.

Off-chip accesses are priced by the DRAM table's row for the hwconfig's standard (per bit, with I/O;
per row activation), whatever the node's table: one DRAM model. Chip-to-chip link flits likewise by the
chip-link table's row (``mesh.chips.link``, per bit: router.flit_bits x energy_pj_per_bit).

Static power, by each unit's scope (archsim.units.base.SCOPES): per core (PE array, neuron unit, axon
units, router, and any unit the hwconfig names per layer), per KiB of on-chip SRAM, per mesh link, one
controller; the DRAM's background power; per lane of every chip-to-chip link. With ``power``: cores that
hold no layer can be switched off (their SRAM and logic then leak ``residual_off``; routers stay on),
banks that hold no data likewise (``gate_empty_banks``), and a used core's SRAM can sit in retention
(``residual_retention``) while the core has no work item (from the schedule's busy time per core
group); ``leakage_scale`` multiplies all on-chip static power.
"""
from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np

from archsim import units
from archsim.actions import ROLES
from archsim.hwconfig import HwConfig, unit_for
from archsim.units.base import PER_CORE_SCOPES, ActionRow


def _row_pj(hw: HwConfig, row: ActionRow, component: str) -> float:
    """Picojoules of one count of ``row`` when priced by table ``component``."""
    table = hw.energy
    if row.pricing == "sram":
        sram = getattr(hw.core, row.component)
        return table.sized_pj("sram", row.action, sram.bank_kib, sram.port_bits)
    if row.pricing == "hop":
        action = row.action if table.has("router", row.action) else "hop"
        if table.components["router"].access_bits is not None:
            return table.scaled_pj("router", action, hw.router.flit_bits)
        return table.action_pj("router", action)
    if row.pricing == "chip_link":
        return hw.chip_link.energy_pj_per_bit * hw.router.flit_bits if hw.chip_link is not None else 0.0
    if row.pricing == "dram":
        if hw.offchip is None:
            return 0.0
        dram = hw.offchip.dram
        if row.action == "activate":
            return dram.activate_pj
        per_bit = dram.read_pj_per_bit if row.action == "read" else dram.write_pj_per_bit
        return per_bit * hw.offchip.access_bits
    if not table.has(component, row.action):
        return 0.0                                   # an optional action the table does not price
    if component == "link" and table.components["link"].access_bits is not None:
        return table.scaled_pj("link", row.action, hw.router.flit_bits)
    return table.action_pj(component, row.action)


def prices(hw: HwConfig, g: nx.DiGraph, layers: list[str]) -> list[tuple[ActionRow, list[str], np.ndarray]]:
    """Per action row: the breakdown component of each layer and picojoules per count of each layer."""
    out = []
    for row in units.rows(units.present(hw)):
        comps = [unit_for(hw, g, name, row.pricing) if row.pricing in ("synapse", "neuron") else row.component
                 for name in layers]
        out.append((row, comps, np.array([_row_pj(hw, row, c) for c in comps])))
    return out


def static_mw(hw: HwConfig, n_links: int) -> dict[str, float]:
    """Static power per breakdown component with every core on, milliwatts (before gating), by each
    unit's static scope (a per-core component only when the table has it). ``n_links``: every link of
    the mesh, chip-to-chip links (the chip-link table's lanes) included."""
    t, n_cores, scale = hw.energy.components, hw.n_cores, hw.power.leakage_scale
    n_chip_links = hw.mesh.n_chip_links
    out = {}
    for comp, scope in units.static_components(hw):
        if scope in ("core", "router") and comp in t:
            out[comp] = t[comp].static_mw * n_cores * scale
        elif scope == "sram":
            out[comp] = t["sram"].static_mw_per_kib * getattr(hw.core, comp).size_kib * n_cores * scale
        elif scope == "link":
            out[comp] = t[comp].static_mw * (n_links - n_chip_links) * scale
        elif scope == "chip_link":
            out[comp] = hw.chip_link.static_mw * hw.mesh.chips.lanes * n_chip_links
        elif scope == "chip":
            out[comp] = t[comp].static_mw * scale
        elif scope == "dram":
            out[comp] = hw.offchip.dram.background_mw if hw.offchip is not None else 0.0
    return out


@dataclass
class Activity:
    """What the schedule and the mapping say about leakage: how long the run took and, per core, whether
    it holds a layer, how long it held a work item (seconds) and, per SRAM, the fraction of its banks
    that hold data."""
    seconds: float
    used: np.ndarray            # [n_cores] bool
    busy_s: np.ndarray          # [n_cores]
    banks_in_use: dict[str, np.ndarray] | None = None   # memory -> [n_cores] fraction of banks with data


def _leak_seconds(hw: HwConfig, act: Activity) -> tuple[np.ndarray, np.ndarray, float]:
    """Per core, seconds of full leakage: its logic (on, or gated at ``residual_off``) and its SRAM banks
    that hold data (busy, plus idle at the retention residual); and an empty bank's (gated)."""
    p = hw.power
    off = p.residual_off if p.gate_unused_cores else 1.0
    logic_s = np.where(act.used, act.seconds, act.seconds * off)
    idle = p.residual_retention if p.idle_sram == "retention" else 1.0
    busy = np.minimum(act.busy_s, act.seconds)
    live_s = np.where(act.used, busy + (act.seconds - busy) * idle, act.seconds * off)     # [n_cores]
    return logic_s, live_s, act.seconds * p.residual_off


def _banks_full(hw: HwConfig, act: Activity, comp: str) -> np.ndarray:
    """[n_cores] fraction of a memory's banks that leak fully (the rest is gated when ``gate_empty_banks``)."""
    if hw.power.gate_empty_banks and act.banks_in_use is not None:
        return act.banks_in_use[comp]
    return np.ones(hw.n_cores)


def _full_leak_s(hw: HwConfig, act: Activity, comp: str, scope: str, leak) -> np.ndarray:
    """[n_cores] seconds of full leakage of a per-core component on each core (``leak``: _leak_seconds):
    an SRAM's banks with data leak while live and empty ones at the gated residual; logic while on or
    gated; a router always (it carries others' traffic)."""
    logic_s, live_s, empty_s = leak
    if scope == "sram":
        full = _banks_full(hw, act, comp)
        return full * live_s + (1.0 - full) * empty_s
    if scope == "core":
        return logic_s
    return np.full(hw.n_cores, act.seconds)


def static_j(hw: HwConfig, n_links: int, act: Activity) -> dict[str, float]:
    """Static energy per component under the hwconfig's power gating (module docstring)."""
    leak = _leak_seconds(hw, act)
    scope = dict(units.static_components(hw))
    out = {}
    for comp, mw in static_mw(hw, n_links).items():
        if scope[comp] in ("sram", "core"):
            out[comp] = mw / hw.n_cores * 1e-3 * float(_full_leak_s(hw, act, comp, scope[comp], leak).sum())
        else:                                            # always on
            out[comp] = mw * 1e-3 * act.seconds
    return out


def static_per_core_j(hw: HwConfig, n_links: int, act: Activity) -> np.ndarray:
    """[n_cores] the static energy (J) of the per-core components (units.base.PER_CORE_SCOPES) on each
    core: :func:`static_j`'s figures core by core (they sum to its per-core components' total)."""
    leak = _leak_seconds(hw, act)
    scope = dict(units.static_components(hw))
    out = np.zeros(hw.n_cores)
    for comp, mw in static_mw(hw, n_links).items():
        if scope[comp] in ("sram", "core", "router"):
            out += mw / hw.n_cores * 1e-3 * _full_leak_s(hw, act, comp, scope[comp], leak)
    return out


@dataclass
class EnergyReport:
    total_j: float
    dynamic_j: float
    static_j: float
    breakdown_j: dict[str, float]              # component -> dynamic + static
    detail_j: dict[str, dict[str, float]]      # component -> {count name or 'static': joules}
    role_j: dict[str, float]                   # synapse / soma / network / memory / control / static
    static_layer_j: np.ndarray | None = None   # [L'] the static energy each layer's cores leak (static_split)
    static_rest_j: float = 0.0                 # static energy no layer owns: unused cores, links, control, DRAM


def static_split(detail: dict[str, dict[str, float]], static_total: float, layer_cores: list[tuple[int, ...]],
                 n_cores: int) -> tuple[np.ndarray, float]:
    """Static energy (J) per layer: each core's leakage over the run (every component whose static scope
    is per core, archsim.units), split evenly among the layers it holds (``layer_cores``: the core ids of
    each layer); and the rest (unused cores, links, controller, off-chip), which no layer owns. The two
    sum to ``static_total``."""
    per_core_j = sum(float(d.get("static", 0.0)) for c, d in detail.items() if units.static_scope(c) in PER_CORE_SCOPES)
    core_j = per_core_j / max(int(n_cores), 1)
    holders: dict[int, int] = {}
    for cores in layer_cores:
        for c in cores:
            holders[c] = holders.get(c, 0) + 1
    layer_j = np.array([sum(core_j / holders[c] for c in cores) for cores in layer_cores], dtype=float)
    return layer_j, float(static_total) - float(layer_j.sum())


def energy_report(hw: HwConfig, g: nx.DiGraph, layers: list[str], per_layer: dict[str, np.ndarray],
                  activity: Activity, n_links: int, setup: dict[str, int] | None = None,
                  layer_cores: list[tuple[int, ...]] | None = None) -> EnergyReport:
    """Energy of the counted actions (``per_layer``: count -> [L'] over ``layers``; ``setup``: counts
    done once per run, the initial weight load) plus static energy over the run (``activity``), and,
    given each layer's cores (``layer_cores``), the static energy per layer (:func:`static_split`)."""
    detail: dict[str, dict[str, float]] = {}
    chip_roles = {r.role for r in units.rows(units.present(hw))}
    role = dict.fromkeys([r for r in ROLES if r in chip_roles], 0.0)
    for row, comps, pj in prices(hw, g, layers):
        joules = np.asarray(per_layer.get(row.count, np.zeros(len(layers))), dtype=np.float64) * pj * 1e-12
        for comp, j in zip(comps, joules):
            if j or comp not in detail:
                bucket = detail.setdefault(comp, {})
                bucket[row.count] = bucket.get(row.count, 0.0) + float(j)
        role[row.role] += float(joules.sum())
        if setup and setup.get(row.count) and row.pricing in ("fixed", "sram", "dram"):
            j = setup[row.count] * _row_pj(hw, row, row.component) * 1e-12
            bucket = detail.setdefault(row.component, {})
            bucket[f"{row.count}_setup"] = bucket.get(f"{row.count}_setup", 0.0) + j
            role[row.role] += j
    static_total = 0.0
    for comp, joules in static_j(hw, n_links, activity).items():
        detail.setdefault(comp, {})["static"] = joules
        static_total += joules
    breakdown = {c: sum(v.values()) for c, v in detail.items()}
    total = sum(breakdown.values())
    role["static"] = static_total
    split = static_split(detail, static_total, layer_cores, hw.n_cores) if layer_cores is not None else (None, 0.0)
    return EnergyReport(total, total - static_total, static_total, breakdown, detail, role, *split)


def dynamic_j(hw: HwConfig, g: nx.DiGraph, layers: list[str], counts: dict[str, np.ndarray]) -> np.ndarray:
    """Dynamic joules of rows of counts: ``counts[count]`` is [..., L'] (e.g. [L'] per layer, or
    [N, L'] per sample and layer); returns the same shape summed with each layer's prices."""
    out = 0.0
    for row, _, pj in prices(hw, g, layers):
        if row.count in counts:
            out = out + np.asarray(counts[row.count], dtype=np.float64) * pj * 1e-12
    return out


def dynamic_per_core_j(hw: HwConfig, g: nx.DiGraph, layers: list[str], per_layer: dict[str, np.ndarray],
                       layer_cores: list[tuple[int, ...]], layer_shares: list[np.ndarray]) -> np.ndarray:
    """[n_cores] dynamic energy (J) of the counted actions on each core: each layer's (``per_layer``:
    count -> [L']), but for its chip-to-chip link flits, split over its cores (``layer_cores``) by
    ``layer_shares`` (each core's share of the layer's neurons: the counts are per layer, not per core)."""
    on_cores = {r.count for r in units.rows(units.present(hw)) if r.pricing != "chip_link"}
    joules = dynamic_j(hw, g, layers, {c: v for c, v in per_layer.items() if c in on_cores})
    out = np.zeros(hw.n_cores)
    for j, cores, share in zip(np.atleast_1d(joules), layer_cores, layer_shares):
        np.add.at(out, np.asarray(cores, dtype=np.int64), j * np.asarray(share, dtype=np.float64))
    return out

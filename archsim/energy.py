"""Joules: the only place they are made.

energy = sum over actions of (count x energy per action from the table) + static power x simulated time.

Which count is priced by which table entry (:data:`PRICES`): memory accesses are port-wide, priced by
the table's row for the memory's bank size and scaled from the table's ``access_bits`` to the port width
(an access of twice the bits costs twice); off-chip accesses likewise from the table's width to the
hwconfig's ``offchip.access_bits``. Static power: per core (PE array, neuron unit, router), per KiB of
on-chip SRAM, per mesh link, one controller, one off-chip memory when present; every core of the mesh
leaks, used or not.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from archsim.config import HwConfig

# (component in the breakdown, table component, table action, count name)
PRICES = (
    ("pe_array", "pe_array", "accumulate", "accumulates"),
    ("pe_array", "pe_array", "mac", "macs"),
    ("neuron_unit", "neuron_unit", "update", "neuron_updates"),
    ("weight_sram", "sram", "read", "weight_reads"),
    ("potential_sram", "sram", "read", "potential_reads"),
    ("potential_sram", "sram", "write", "potential_writes"),
    ("spike_buffer", "sram", "read", "spike_buffer_reads"),
    ("spike_buffer", "sram", "write", "spike_buffer_writes"),
    ("router", "router", "hop", "flit_hops"),
    ("link", "link", "flit", "flit_hops"),
    ("controller", "controller", "decision", "decisions"),
    ("offchip", "offchip", "read", "offchip_reads"),
    ("offchip", "offchip", "write", "offchip_writes"),
)
COMPONENTS = ("pe_array", "neuron_unit", "weight_sram", "potential_sram", "spike_buffer", "router", "link",
              "controller", "offchip")
_SRAM_OF = {"weight_sram": "weight_sram", "potential_sram": "potential_sram", "spike_buffer": "spike_buffer"}


def price_pj(hw: HwConfig) -> dict[tuple[str, str], float]:
    """(breakdown component, count name) -> picojoules per count."""
    table, out = hw.energy, {}
    for comp, t_comp, action, count in PRICES:
        if t_comp == "sram":
            sram = getattr(hw.core, _SRAM_OF[comp])
            pj = table.sized_pj("sram", action, sram.bank_kib, sram.port_bits)
        elif t_comp == "offchip":
            pj = table.scaled_pj("offchip", action, hw.offchip.access_bits) if hw.offchip is not None else 0.0
        elif t_comp in ("router", "link") and table.components[t_comp].access_bits is not None:
            pj = table.scaled_pj(t_comp, action, hw.router.flit_bits)
        else:
            pj = table.action_pj(t_comp, action)
        out[(comp, count)] = pj
    return out


def static_mw(hw: HwConfig, n_links: int) -> dict[str, float]:
    """Static power per breakdown component, milliwatts."""
    t, n_cores = hw.energy.components, hw.n_cores
    sram_mw = t["sram"].static_mw_per_kib
    return {
        "pe_array": t["pe_array"].static_mw * n_cores,
        "neuron_unit": t["neuron_unit"].static_mw * n_cores,
        "weight_sram": sram_mw * hw.core.weight_sram.size_kib * n_cores,
        "potential_sram": sram_mw * hw.core.potential_sram.size_kib * n_cores,
        "spike_buffer": sram_mw * hw.core.spike_buffer.size_kib * n_cores,
        "router": t["router"].static_mw * n_cores,
        "link": t["link"].static_mw * n_links,
        "controller": t["controller"].static_mw,
        "offchip": t["offchip"].static_mw if hw.offchip is not None else 0.0,
    }


@dataclass
class EnergyReport:
    total_j: float
    dynamic_j: float
    static_j: float
    breakdown_j: dict[str, float]              # component -> dynamic + static
    detail_j: dict[str, dict[str, float]]      # component -> {count name or 'static': joules}


def energy_report(hw: HwConfig, totals: dict[str, int], seconds: float, n_links: int) -> EnergyReport:
    """Energy of the counted actions plus static power over ``seconds`` of simulated time."""
    detail: dict[str, dict[str, float]] = {c: {} for c in COMPONENTS}
    for (comp, count), pj in price_pj(hw).items():
        detail[comp][count] = totals.get(count, 0) * pj * 1e-12
    for comp, mw in static_mw(hw, n_links).items():
        detail[comp]["static"] = mw * 1e-3 * seconds
    breakdown = {c: sum(v.values()) for c, v in detail.items()}
    static = sum(v["static"] for v in detail.values())
    total = sum(breakdown.values())
    return EnergyReport(total, total - static, static, breakdown, detail)


def dynamic_j(hw: HwConfig, counts: dict[str, np.ndarray]) -> np.ndarray:
    """Dynamic joules of rows of counts (e.g. per layer or per sample): same prices, no static."""
    out = 0.0
    for (comp, count), pj in price_pj(hw).items():
        out = out + np.asarray(counts[count], dtype=np.float64) * pj * 1e-12
    return out

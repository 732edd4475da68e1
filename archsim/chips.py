"""A system of chips (hwconfig ``mesh.chips``) in a run's figures: per core, per chip and for the
chip-to-chip links. Nothing here makes a joule: the energies are archsim.energy's.

- per core (per_core.csv): its chip and grid position, the layers it holds, how long its core group held
  work items (cycles, and that over the makespan), its energy: dynamic (each layer's counted actions but
  the chip-link flits, split over the layer's cores by their share of its neurons) and static (its core,
  router and SRAM leakage, archsim.energy.static_per_core_j);
- per chip (per_chip.csv, and the summary's ``chips.per_chip``): its cores, those used, the sum of its
  cores' energy, its busiest core;
- the chip links: crossings, flits and bits, their energy (dynamic per bit, static per lane) and share
  of the run's, the latency of one crossing and the cycles per flit, how long they were busy.

What no chip owns (on-chip link and controller leakage, the off-chip memory, the initial weight load)
is ``energy_elsewhere_j``: per chip + chip links + elsewhere = the run's energy.
"""
from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd

from archsim.cycles import SimTrace
from archsim.energy import Activity, EnergyReport, dynamic_per_core_j, static_per_core_j
from archsim.hwconfig import HwConfig
from archsim.mapping import Mapping
from archsim.units import chip_link


def core_table(hw: HwConfig, g: nx.DiGraph, mapping: Mapping, trace: SimTrace, per_layer: dict[str, np.ndarray],
               act: Activity) -> pd.DataFrame:
    """One row per core of the system (module docstring)."""
    n = hw.n_cores
    names = [""] * n
    busy = np.zeros(n)
    for grp in mapping.groups:
        for c in grp.cores:
            names[c] = " ".join(grp.layers)
            busy[c] = trace.group_busy[grp.index] if len(trace.group_busy) else 0.0
    places = [mapping.layers[name] for name in mapping.order]
    dyn = dynamic_per_core_j(hw, g, mapping.order, per_layer, [p.cores for p in places],
                             [np.array(p.neurons_per_core) / p.neurons for p in places])
    stat = static_per_core_j(hw, len(mapping.links), act)
    pos = np.array(mapping.positions, dtype=np.int64).reshape(-1, 2)
    return pd.DataFrame({
        "core": np.arange(n), "chip": np.arange(n) // hw.mesh.cores_per_chip, "row": pos[:, 0], "col": pos[:, 1],
        "layers": names, "used": act.used, "busy_cycles": busy,
        "utilization": busy / trace.makespan if trace.makespan else 0.0,
        "energy_dynamic_j": dyn, "energy_static_j": stat, "energy_j": dyn + stat})


def chip_table(hw: HwConfig, cores: pd.DataFrame) -> pd.DataFrame:
    """One row per chip: its position on the chip grid, cores (used), energy, busiest core."""
    rows = []
    for chip, (r, c) in enumerate(hw.mesh.chip_positions()):
        mine = cores[cores["chip"] == chip]
        top = mine.loc[mine["busy_cycles"].idxmax()]
        rows.append({"chip": chip, "chip_row": r, "chip_col": c, "cores": len(mine),
                     "cores_used": int(mine["used"].sum()),
                     "layers": " ".join(dict.fromkeys(" ".join(mine["layers"]).split())),
                     "energy_dynamic_j": float(mine["energy_dynamic_j"].sum()),
                     "energy_static_j": float(mine["energy_static_j"].sum()),
                     "energy_j": float(mine["energy_j"].sum()),
                     "busiest_core": int(top["core"]), "busiest_core_utilization": float(top["utilization"])})
    return pd.DataFrame(rows)


def link_figures(hw: HwConfig, mapping: Mapping, trace: SimTrace, totals: dict[str, int], energy: EnergyReport) -> dict:
    """The chip-to-chip links over the run (module docstring); times in cycles of clock_mhz."""
    busy = np.asarray(trace.link_busy, dtype=np.float64)[mapping.chip_links]
    joules = float(sum(energy.detail_j.get("chip_link", {}).values()))
    flits = int(totals.get("chip_link_flits", 0))
    return {"link": hw.mesh.chips.link, "lanes": hw.mesh.chips.lanes, "links": int(mapping.chip_links.sum()),
            "crossings": int(totals.get("chip_link_crossings", 0)), "flits": flits,
            "bits": flits * hw.router.flit_bits, "energy_j": joules,
            "energy_dynamic_j": float(energy.detail_j.get("chip_link", {}).get("chip_link_flits", 0.0)),
            "energy_share": joules / energy.total_j if energy.total_j else 0.0,
            "latency_cycles": chip_link.latency_cycles(hw), "cycles_per_flit": chip_link.cycles_per_flit(hw),
            "busy_cycles": float(busy.sum()), "busiest_link_busy_cycles": float(busy.max(initial=0.0)),
            "busiest_link_utilization": float(busy.max(initial=0.0) / trace.makespan) if trace.makespan else 0.0}


def system_of_chips(hw: HwConfig, g: nx.DiGraph, mapping: Mapping, trace: SimTrace, per_layer: dict[str, np.ndarray],
                    totals: dict[str, int], energy: EnergyReport, act: Activity
                    ) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    """The summary's ``chips`` entry, the per-core and the per-chip tables of a run (``per_layer``: the
    counts of the items that ran, per layer: archsim.tally.Tally.per_layer)."""
    cores = core_table(hw, g, mapping, trace, per_layer, act)
    chips = chip_table(hw, cores)
    links = link_figures(hw, mapping, trace, totals, energy)
    per_chip_j = float(chips["energy_j"].sum())
    section = {"grid": [hw.mesh.chips.rows, hw.mesh.chips.cols], "cores_per_chip": hw.mesh.cores_per_chip,
               "chips_used": int((chips["cores_used"] > 0).sum()),
               "per_chip": chips.to_dict("records"), "links": links,
               "energy_elsewhere_j": energy.total_j - per_chip_j - links["energy_j"]}
    return section, cores, chips

"""The energy table and the DRAM table: what every action costs, validated by pydantic.

The energy table (Accelergy-style: component -> action -> energy_pj, plus static power) is a separate
YAML referenced by the hwconfig's ``energy_table`` (relative to the hwconfig file); :data:`REQUIRED_ACTIONS`
lists what every table must price, so a missing action is one line naming it before any simulation
runs. The DRAM table (hwconfigs/energy/dram.yaml) prices off-chip memory per standard, for every node's
table alike. Units: ``*_pj`` picojoules, ``*_mw`` milliwatts, ``*_kib`` KiB, ``*_ns`` nanoseconds.
"""
from __future__ import annotations

import os

from pydantic import NonNegativeFloat, PositiveFloat, PositiveInt, ValidationError, model_validator

from archsim.actions import SIZED_COMPONENTS
from archsim.actions import REQUIRED_TABLE as REQUIRED_ACTIONS  # component -> actions every table prices
from archsim.errors import UserError
from archsim.inputs import Strict, read_yaml, validation_error
from archsim.mesh import DIRECTIONS


class SizeRow(Strict):
    """Energy of one access to a bank of at most ``up_to_kib`` KiB."""
    up_to_kib: PositiveFloat
    energy_pj: NonNegativeFloat


class Action(Strict):
    """Either a flat ``energy_pj`` or, for memories, rows ``by_bank_kib`` chosen by the bank size.
    ``latency_ns``: how long the unit is busy per event (SANA-FE's ``latency_*``); only the barrier
    timing mode reads it (the pipelined mode times units by their per-cycle throughput)."""
    energy_pj: NonNegativeFloat | None = None
    by_bank_kib: list[SizeRow] | None = None
    latency_ns: NonNegativeFloat | None = None

    @model_validator(mode="after")
    def _one_form(self) -> "Action":
        if (self.energy_pj is None) == (self.by_bank_kib is None):
            raise ValueError("give exactly one of energy_pj or by_bank_kib")
        if self.by_bank_kib is not None:
            if not self.by_bank_kib:
                raise ValueError("by_bank_kib is empty")
            sizes = [r.up_to_kib for r in self.by_bank_kib]
            if sizes != sorted(sizes) or len(set(sizes)) != len(sizes):
                raise ValueError("by_bank_kib rows must be in increasing up_to_kib order")
        return self


class Component(Strict):
    """Static power (per instance: per core for core parts, per router, per KiB for SRAM) and actions.
    ``access_bits``: the width the per-access energies refer to (memories only)."""
    static_mw: NonNegativeFloat = 0.0
    static_mw_per_kib: NonNegativeFloat = 0.0
    access_bits: PositiveInt | None = None
    actions: dict[str, Action]


class DramStandard(Strict):
    """One row of the DRAM table (hwconfigs/energy/dram.yaml)."""
    description: str = ""
    read_pj_per_bit: NonNegativeFloat
    write_pj_per_bit: NonNegativeFloat
    activate_pj: NonNegativeFloat
    row_bytes: PositiveInt
    background_mw: NonNegativeFloat
    bandwidth_gbps: PositiveFloat


class DramTable(Strict):
    name: str
    source: str = ""
    standards: dict[str, DramStandard]


class ChipLinkStandard(Strict):
    """One row of the chip-link table (hwconfigs/energy/chip_links.yaml): a chip-to-chip link, per lane.
    ``energy_pj_per_bit``: per bit carried; ``bandwidth_gbps``: 10^9 bytes per second per lane;
    ``latency_ns``: from one chip's boundary router to the next chip's; ``static_mw``: per lane while on."""
    description: str = ""
    energy_pj_per_bit: NonNegativeFloat
    bandwidth_gbps: PositiveFloat
    latency_ns: NonNegativeFloat
    static_mw: NonNegativeFloat = 0.0


class ChipLinkTable(Strict):
    name: str
    source: str = ""
    standards: dict[str, ChipLinkStandard]


class EnergyTable(Strict):
    name: str
    technology_nm: PositiveFloat
    source: str = ""
    components: dict[str, Component]

    def action_pj(self, component: str, action: str) -> float:
        return float(self.components[component].actions[action].energy_pj)

    def has(self, component: str, action: str) -> bool:
        return component in self.components and action in self.components[component].actions

    def latency_ns(self, component: str, action: str) -> float | None:
        if not self.has(component, action):
            return None
        return self.components[component].actions[action].latency_ns

    def sized_pj(self, component: str, action: str, bank_kib: float, port_bits: int) -> float:
        """Energy of one ``port_bits``-wide access to a bank of ``bank_kib``: the first row whose
        ``up_to_kib`` holds the bank, scaled linearly from the table's ``access_bits``."""
        comp = self.components[component]
        for row in comp.actions[action].by_bank_kib:
            if bank_kib <= row.up_to_kib + 1e-9:
                return float(row.energy_pj) * port_bits / comp.access_bits
        raise KeyError(bank_kib)

    def scaled_pj(self, component: str, action: str, access_bits: int) -> float:
        comp = self.components[component]
        return float(comp.actions[action].energy_pj) * access_bits / comp.access_bits


def load_energy_table(path: str | os.PathLike) -> EnergyTable:
    """Read and check an energy table file (one UserError line for anything wrong with it)."""
    return energy_table_from_dict(read_yaml(path), str(path))


def energy_table_from_dict(raw: dict, source: str) -> EnergyTable:
    """Validate a raw energy table: the schema, then every component and action that
    :data:`REQUIRED_ACTIONS` names, memories priced by bank size and the rest by a flat energy."""
    try:
        table = EnergyTable.model_validate(raw)
    except ValidationError as err:
        raise validation_error(source, err, EnergyTable) from None
    for comp, actions in REQUIRED_ACTIONS.items():
        if comp not in table.components:
            raise UserError(source, f"components.{comp}", f"missing component '{comp}' "
                            f"(needs actions: {', '.join(actions)})")
        c = table.components[comp]
        if comp == "router" and "hop" not in c.actions and all(f"hop_{d}" in c.actions for d in DIRECTIONS):
            actions = tuple(f"hop_{d}" for d in DIRECTIONS)      # priced per direction (SANA-FE's mesh)
        for action in actions:
            if action not in c.actions:
                raise UserError(source, f"components.{comp}.actions.{action}",
                                f"missing action '{action}' of component '{comp}'")
            sized = c.actions[action].by_bank_kib is not None
            if comp in SIZED_COMPONENTS and not sized:
                raise UserError(source, f"components.{comp}.actions.{action}",
                                "memory actions need by_bank_kib rows (energy per access by bank size)")
            if comp not in SIZED_COMPONENTS and sized:
                raise UserError(source, f"components.{comp}.actions.{action}", "needs energy_pj")
        if comp in ("sram", "offchip") and c.access_bits is None:
            raise UserError(source, f"components.{comp}.access_bits", "missing key")
    return table

"""The hardware description: a hwconfig YAML, its energy table, and the loader that builds one frozen
:class:`HwConfig` from them.

  schema.py        what a hwconfig file may say (pydantic, units in every field name)
  energy_table.py  what every action costs: the energy table, the DRAM table and the chip-link table
  load.py          the loader: file -> checks -> one HwConfig with its energy table, DRAM standard, chip link, path

The rest of archsim imports the names below from ``archsim.hwconfig``.
"""
from __future__ import annotations

from archsim.hwconfig.energy_table import (REQUIRED_ACTIONS, Action, ChipLinkStandard, ChipLinkTable, Component,
                                           DramStandard, DramTable, EnergyTable, SizeRow, energy_table_from_dict,
                                           load_energy_table)
from archsim.hwconfig.load import (HWCONFIGS_DIR, PLAUSIBLE, HwConfig, OffChipDesign, check_plausible, check_units,
                                   clock_hz, config_from_dict, load_config, offchip_bits_per_cycle,
                                   resolve_energy_table, warn)
from archsim.hwconfig.schema import (Chips, Controller, Core, Dataflow, HwConfigFile, MappingPolicy, Mesh, NeuronUnit, OffChip,
                                     PEArray, Pipeline, Power, Precision, Router, Sram, Timing, UnitChoice, Units,
                                     unit_for)

__all__ = [
    "REQUIRED_ACTIONS", "Action", "ChipLinkStandard", "ChipLinkTable", "Component", "DramStandard", "DramTable",
    "EnergyTable", "SizeRow",
    "energy_table_from_dict", "load_energy_table",
    "HWCONFIGS_DIR", "PLAUSIBLE", "HwConfig", "OffChipDesign", "check_plausible", "check_units", "clock_hz",
    "config_from_dict", "load_config", "offchip_bits_per_cycle", "resolve_energy_table", "warn",
    "Chips", "Controller", "Core", "Dataflow", "HwConfigFile", "MappingPolicy", "Mesh", "NeuronUnit", "OffChip", "PEArray",
    "Pipeline", "Power", "Precision", "Router", "Sram", "Timing", "UnitChoice", "Units", "unit_for",
]

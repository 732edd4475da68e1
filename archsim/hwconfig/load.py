"""The hwconfig loader: a YAML file in, one frozen, fully built :class:`HwConfig` out.

Order of the checks (the first problem is the one line a user sees): the file's schema
(archsim.hwconfig.schema), its energy table (archsim.hwconfig.energy_table) and the bank sizes that table
prices, the units the hwconfig names (:func:`check_units`), the off-chip DRAM standard, then a warning for
legal but unusual values (:data:`PLAUSIBLE`). Only then is the ``HwConfig`` built, with the energy table,
the DRAM standard, the chip-link row (a system of chips) and the file's path in it from the start: nothing
is patched in afterwards.
"""
from __future__ import annotations

import math
import os
import sys
from pathlib import Path

from pydantic import Field, ValidationError

from archsim.errors import UserError
from archsim.hwconfig.energy_table import (REQUIRED_ACTIONS, ChipLinkStandard, ChipLinkTable, DramStandard, DramTable,
                                           EnergyTable, load_energy_table)
from archsim.hwconfig.schema import HwConfigFile, OffChip
from archsim.inputs import did_you_mean, read_yaml, validation_error


class OffChipDesign(OffChip):
    """The off-chip memory with its row of the DRAM table (``dram``, chosen by ``standard``)."""
    dram: DramStandard = Field(exclude=True)

    @property
    def gbps(self) -> float:
        """Peak bandwidth, 10^9 bytes per second."""
        return self.bandwidth_gbps if self.bandwidth_gbps is not None else self.dram.bandwidth_gbps * self.channels


class HwConfig(HwConfigFile):
    """A hardware description as the simulator uses it: the file's fields, plus the loaded energy table
    (``energy``), the DRAM standard (``offchip.dram``), the chip-to-chip link's row (``chip_link``, None
    without ``mesh.chips``) and the file it came from (``source``). Built once by :func:`config_from_dict`,
    frozen; the additions are not YAML keys and are left out of ``model_dump`` (the sweep's point hashes
    and the config.yaml of ``--out`` show the file's fields)."""
    offchip: OffChipDesign | None = None
    energy: EnergyTable = Field(exclude=True)
    chip_link: ChipLinkStandard | None = Field(None, exclude=True)
    source: str = Field(exclude=True)

    def resolved(self) -> dict:
        """The config as plain data with the energy table inlined (for config.yaml in --out; with chips,
        the chip-link row too)."""
        out = {"hwconfig": self.model_dump(mode="json"), "hwconfig_path": self.source,
               "energy_table_loaded": self.energy.model_dump(mode="json")}
        if self.chip_link is not None:
            out["chip_link_loaded"] = self.chip_link.model_dump(mode="json")
        return out


def _build(spec: HwConfigFile, table: EnergyTable, dram: DramStandard | None, link: ChipLinkStandard | None,
           source: str) -> HwConfig:
    """The HwConfig of a checked file: its validated sections are taken over as they are."""
    fields = {name: getattr(spec, name) for name in HwConfigFile.model_fields}
    if spec.offchip is not None:
        fields["offchip"] = OffChipDesign(**{k: getattr(spec.offchip, k) for k in OffChip.model_fields}, dram=dram)
    return HwConfig(**fields, energy=table, chip_link=link, source=source)


def check_units(hw: HwConfigFile, table: EnergyTable, source: str, table_source: str) -> None:
    """The energy table prices every hardware unit of the chip (archsim.units: each unit the hwconfig
    names per layer, each unit's required actions, a latency for every event a barrier timing mode
    times)."""
    from archsim import units
    units.check_table(hw, table, source, table_source, suggest=did_you_mean)


def config_from_dict(raw: dict, source: str, base_dir: Path) -> HwConfig:
    """Validate a raw hwconfig mapping and load its energy table (path relative to ``base_dir``)."""
    if not isinstance(raw, dict):
        raise UserError(source, "yaml", "must be a mapping of keys")
    try:
        spec = HwConfigFile.model_validate(raw)
    except ValidationError as err:
        raise validation_error(source, err, HwConfigFile) from None
    table_path = resolve_energy_table(spec.energy_table, source, base_dir)
    table = load_energy_table(table_path)
    _check_banks(spec, table, str(table_path))
    if spec.precision.spike_event_bits > spec.core.spike_buffer.capacity_bits:
        raise UserError(source, "core.spike_buffer.size_kib", "smaller than one spike event")
    check_units(spec, table, source, str(table_path))
    dram = _dram_standard(spec, source, base_dir) if spec.offchip is not None else None
    link = _chip_link(spec, source, base_dir) if spec.mesh.chips is not None else None
    check_plausible(spec, source)
    return _build(spec, table, dram, link, source)


def _check_banks(spec: HwConfigFile, table: EnergyTable, table_source: str) -> None:
    """The energy table prices an access to every SRAM bank size of the core."""
    sram = table.components["sram"]
    for mem in ("weight_sram", "potential_sram", "spike_buffer"):
        bank = getattr(spec.core, mem).bank_kib
        for action in REQUIRED_ACTIONS["sram"]:
            largest = sram.actions[action].by_bank_kib[-1].up_to_kib
            if bank > largest + 1e-9:
                raise UserError(table_source, f"components.sram.actions.{action}.by_bank_kib",
                                f"no row for the {bank:g} KiB banks of core.{mem} (largest row: {largest:g} KiB)")


def _table_row(model, table_path: str, row: str, fields: tuple[str, str], source: str, base_dir: Path):
    """Row ``row`` of a table of standards (``model``: DramTable or ChipLinkTable) read from ``table_path``;
    ``fields``: the hwconfig keys that name the table and the row (for the one-line errors)."""
    path = resolve_energy_table(table_path, source, base_dir, field=fields[0])
    try:
        table = model.model_validate(read_yaml(path))
    except ValidationError as err:
        raise validation_error(str(path), err) from None
    if row not in table.standards:
        raise UserError(source, fields[1], f"{row!r} is not in {path} "
                        f"(it has: {', '.join(table.standards)}){did_you_mean(row, table.standards)}")
    return table.standards[row]


def _dram_standard(spec: HwConfigFile, source: str, base_dir: Path) -> DramStandard:
    """The row of the DRAM table (``offchip.dram_table``) that ``offchip.standard`` names."""
    return _table_row(DramTable, spec.offchip.dram_table, spec.offchip.standard,
                      ("offchip.dram_table", "offchip.standard"), source, base_dir)


def _chip_link(spec: HwConfigFile, source: str, base_dir: Path) -> ChipLinkStandard:
    """The row of the chip-link table (``mesh.chips.link_table``) that ``mesh.chips.link`` names: without
    it the chip-to-chip links have no price."""
    chips = spec.mesh.chips
    return _table_row(ChipLinkTable, chips.link_table, chips.link, ("mesh.chips.link_table", "mesh.chips.link"),
                      source, base_dir)


# The repository's hwconfigs/ folder: where a relative energy_table is looked for when it is not beside
# the hwconfig (a copy of default.yaml elsewhere still finds energy/45nm.yaml).
HWCONFIGS_DIR = Path(__file__).resolve().parents[2] / "hwconfigs"


def resolve_energy_table(name: str, source: str, base_dir: Path, field: str = "energy_table") -> Path:
    """A table file the hwconfig names (``field``): an absolute path as is; a relative one beside the
    hwconfig, else under the repository's hwconfigs/. A UserError naming every place looked at."""
    path = Path(name)
    if path.is_absolute():
        if not path.is_file():
            raise UserError(source, field, f"no such table {path}")
        return path
    tried = [Path(base_dir) / path, HWCONFIGS_DIR / path]
    for candidate in tried:
        if candidate.is_file():
            return candidate
    raise UserError(source, field, f"no such table {name!r} (looked beside the hwconfig: "
                    f"{tried[0]}, and in the repository's hwconfigs/: {tried[1]})")


# Legal but unusual values: (dotted field, low, high, what a value outside usually means). A value
# outside its range is run, with a one-line warning on stderr.
PLAUSIBLE = (
    ("clock_mhz", 10.0, 5000.0, "MHz (not GHz or Hz?)"),
    ("offchip.bandwidth_gbps", 0.1, 4000.0, "GB/s, 10^9 bytes per second (not Gbit/s or MB/s?); "
                                            "DDR3-1600 x64 is 12.8, one HBM3 stack about 800"),
    ("offchip.latency_cycles", 1, 100_000, "clock cycles"),
    ("core.weight_sram.size_kib", 0.125, 65536.0, "KiB per core (not bytes?)"),
    ("core.potential_sram.size_kib", 0.125, 65536.0, "KiB per core (not bytes?)"),
    ("core.spike_buffer.size_kib", 0.125, 65536.0, "KiB per core (not bytes?)"),
    ("router.hop_latency_cycles", 1, 1000, "clock cycles"),
    ("controller.decision_cycles", 1, 100_000, "clock cycles"),
)
_warned: set[str] = set()


def warn(source: str, field: str, message: str) -> None:
    """A one-line warning on stderr (each one once per process: a sweep validates a config many times)."""
    line = f"warning: {source}: {field}: {message}"
    if line not in _warned:
        _warned.add(line)
        print(line, file=sys.stderr, flush=True)


def check_plausible(hw: HwConfigFile, source: str) -> None:
    """A warning (not an error) for every :data:`PLAUSIBLE` field outside its usual range."""
    for dotted, low, high, unit in PLAUSIBLE:
        node = hw
        for key in dotted.split("."):
            node = getattr(node, key, None)
        if node is None:
            continue
        if not low <= float(node) <= high:
            warn(source, dotted, f"{node:g} is outside the usual {low:g}..{high:g} {unit}; running it anyway")


def load_config(path: str | os.PathLike) -> HwConfig:
    path = Path(path)
    return config_from_dict(read_yaml(path), str(path), path.parent)


def clock_hz(hw: HwConfig) -> float:
    return hw.clock_mhz * 1e6


def offchip_bits_per_cycle(hw: HwConfig) -> float:
    """Off-chip bandwidth in bits per core clock cycle (bandwidth_gbps is 10^9 bytes/s)."""
    if hw.offchip is None:
        return math.inf
    return hw.offchip.gbps * 1e9 * 8 / clock_hz(hw)

"""The hardware description (hwconfig YAML) and its energy table, validated.

Why pydantic with ``extra='forbid'``: a typo in a YAML key (``size_kb`` for ``size_kib``) must stop the run
with the dotted path of the key, not silently fall back to a default. The sweep edits the raw dict by
dotted paths and calls :func:`config_from_dict`, so the same errors reach it.

Every number carries its unit in its name: ``*_mhz``, ``*_kib`` (KiB = 1024 bytes), ``*_bits``,
``*_cycles`` (clock cycles of ``clock_mhz``), ``*_gbps`` (10^9 bytes per second), ``*_pj`` (picojoules),
``*_mw`` (milliwatts). Counts without a unit are plain numbers (``banks``, ``rows``).

The energy table (Accelergy-style: component -> action -> energy_pj, plus static power) is a separate
YAML referenced by ``energy_table`` relative to the hwconfig file; :data:`REQUIRED_ACTIONS` lists what
every table must price, so a missing action is one line naming it before any simulation runs.
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Literal

import yaml
from pydantic import (BaseModel, ConfigDict, Field, NonNegativeFloat, NonNegativeInt, PositiveFloat,
                      PositiveInt, PrivateAttr, ValidationError, model_validator)

from archsim.errors import UserError

# component -> actions every energy table must price (what archsim.energy multiplies counts by).
REQUIRED_ACTIONS: dict[str, tuple[str, ...]] = {
    "pe_array": ("accumulate", "mac"),     # one synaptic accumulate; one multiply-accumulate (dense layer)
    "neuron_unit": ("update",),            # one neuron state update (leak, integrate, fire, reset)
    "sram": ("read", "write"),             # one access of `access_bits`, chosen by bank size
    "router": ("hop",),                    # one flit through one router
    "link": ("flit",),                     # one flit over one mesh link
    "controller": ("decision",),           # one early-exit score + compare
    "offchip": ("read", "write"),          # one access of `access_bits`
}
SIZED_COMPONENTS = ("sram",)               # actions priced per bank size


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ----------------------------------------------------------------------------------------------------
# hwconfig
# ----------------------------------------------------------------------------------------------------
class PEArray(_Strict):
    """Synaptic processing: spikes x fan-out accumulates, and the dense first layer's MACs."""
    accumulates_per_cycle: PositiveInt
    macs_per_cycle: PositiveInt


class NeuronUnit(_Strict):
    """Sweeps the core's neurons once per timestep: read potential, leak + integrate, fire, write."""
    updates_per_cycle: PositiveInt


class Sram(_Strict):
    """One SRAM of a core, split into ``banks`` equal single-ported banks of ``port_bits`` each."""
    size_kib: PositiveFloat
    banks: PositiveInt
    port_bits: PositiveInt
    read_latency_cycles: NonNegativeInt
    write_latency_cycles: NonNegativeInt

    @property
    def bank_kib(self) -> float:
        return self.size_kib / self.banks

    @property
    def capacity_bits(self) -> int:
        return int(self.size_kib * 1024 * 8)


class Core(_Strict):
    pe_array: PEArray
    neuron_unit: NeuronUnit
    weight_sram: Sram
    potential_sram: Sram
    spike_buffer: Sram


class Mesh(_Strict):
    """A rows x cols 2D mesh; ``core_positions`` ([row, col] each) places the cores, in core-id order.
    Left out: a core on every position, numbered in snake order (row 0 left to right, row 1 right to
    left, ...) so that cores with consecutive ids are mesh neighbours."""
    rows: PositiveInt
    cols: PositiveInt
    core_positions: list[tuple[NonNegativeInt, NonNegativeInt]] | None = None

    @model_validator(mode="after")
    def _positions_inside(self) -> "Mesh":
        if self.core_positions is not None:
            if not self.core_positions:
                raise ValueError("core_positions is empty")
            for r, c in self.core_positions:
                if r >= self.rows or c >= self.cols:
                    raise ValueError(f"core position [{r}, {c}] is outside the {self.rows}x{self.cols} mesh")
            if len(set(self.core_positions)) != len(self.core_positions):
                raise ValueError("two cores on one mesh position")
        return self

    def positions(self) -> list[tuple[int, int]]:
        if self.core_positions is not None:
            return [(int(r), int(c)) for r, c in self.core_positions]
        return [(r, c if r % 2 == 0 else self.cols - 1 - c) for r in range(self.rows) for c in range(self.cols)]


class Router(_Strict):
    """One router per core, XY dimension-order routing, wormhole flow control with credits."""
    flit_bits: PositiveInt
    header_bits: NonNegativeInt
    hop_latency_cycles: PositiveInt
    buffer_depth_flits: PositiveInt
    routing: Literal["xy"]
    multicast: bool


class OffChip(_Strict):
    """Off-chip memory (DRAM): spilled weights and the input images come from here."""
    bandwidth_gbps: PositiveFloat
    latency_cycles: NonNegativeInt
    access_bits: PositiveInt


class Controller(_Strict):
    """The early-exit controller: scores the accumulated output after each timestep.
    ``wait``: the next timestep of a sample starts only after the decision; ``speculate``: it starts at
    once, and work done past the exit is wasted (counted)."""
    policy: Literal["fixed", "entropy", "confidence"]
    threshold: float = Field(ge=0.0, le=1.0)
    decision_cycles: PositiveInt
    mode: Literal["wait", "speculate"]


class Pipeline(_Strict):
    """How many images may be in flight at once: each needs its own membrane potentials on chip."""
    images_in_flight: PositiveInt


class Precision(_Strict):
    weight_bits: PositiveInt
    potential_bits: PositiveInt
    input_bits: PositiveInt            # one real-valued input pixel (direct encoding)
    spike_event_bits: PositiveInt      # one spike event (neuron address) in a packet or spike buffer


class HwConfig(_Strict):
    """A validated hardware description. ``energy`` is the loaded energy table (not a YAML key)."""
    name: str
    description: str = ""
    clock_mhz: PositiveFloat
    mesh: Mesh
    core: Core
    router: Router
    offchip: OffChip | None = None
    controller: Controller
    pipeline: Pipeline
    precision: Precision
    first_layer_reuse: bool
    energy_table: str

    _energy: "EnergyTable" = PrivateAttr(default=None)
    _source: str = PrivateAttr(default="hwconfig")

    @property
    def energy(self) -> "EnergyTable":
        return self._energy

    @property
    def source(self) -> str:
        return self._source

    @property
    def n_cores(self) -> int:
        return len(self.mesh.positions())

    def resolved(self) -> dict:
        """The config as plain data with the energy table inlined (for config.yaml in --out)."""
        return {"hwconfig": self.model_dump(mode="json"), "hwconfig_path": self._source,
                "energy_table_loaded": self._energy.model_dump(mode="json") if self._energy else None}


# ----------------------------------------------------------------------------------------------------
# energy table
# ----------------------------------------------------------------------------------------------------
class SizeRow(_Strict):
    """Energy of one access to a bank of at most ``up_to_kib`` KiB."""
    up_to_kib: PositiveFloat
    energy_pj: NonNegativeFloat


class Action(_Strict):
    """Either a flat ``energy_pj`` or, for memories, rows ``by_bank_kib`` chosen by the bank size."""
    energy_pj: NonNegativeFloat | None = None
    by_bank_kib: list[SizeRow] | None = None

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


class Component(_Strict):
    """Static power (per instance: per core for core parts, per router, per KiB for SRAM) and actions.
    ``access_bits``: the width the per-access energies refer to (memories only)."""
    static_mw: NonNegativeFloat = 0.0
    static_mw_per_kib: NonNegativeFloat = 0.0
    access_bits: PositiveInt | None = None
    actions: dict[str, Action]


class EnergyTable(_Strict):
    name: str
    technology_nm: PositiveFloat
    source: str = ""
    components: dict[str, Component]

    def action_pj(self, component: str, action: str) -> float:
        return float(self.components[component].actions[action].energy_pj)

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


# ----------------------------------------------------------------------------------------------------
# loading
# ----------------------------------------------------------------------------------------------------
def _dotted(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _user_error(source: str, err: ValidationError) -> UserError:
    """The first pydantic error as one line: which dotted field, what is wrong."""
    first = err.errors()[0]
    loc = tuple(p for p in first["loc"] if p not in ("function-after",))
    kind = first["type"]
    if kind == "extra_forbidden":
        msg = "unknown key"
    elif kind == "missing":
        msg = "missing key"
    else:
        msg = first["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        if "input" in first and not isinstance(first["input"], (dict, list)):
            msg += f" (got {first['input']!r})"
    more = len(err.errors()) - 1
    if more:
        msg += f" (and {more} more problem{'s' if more > 1 else ''})"
    return UserError(source, _dotted(loc), msg)


def read_yaml(path: str | os.PathLike) -> dict:
    """Read a YAML mapping; a missing file or malformed YAML is one UserError line."""
    src = str(path)
    if not os.path.isfile(src):
        raise UserError(src, "path", "no such file")
    try:
        with open(src, encoding="utf-8") as f:
            raw = yaml.safe_load(f)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise UserError(src, "yaml", f"malformed YAML: {where}{problem}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise UserError(src, "path", f"unreadable ({err})") from None
    if not isinstance(raw, dict):
        raise UserError(src, "yaml", f"must be a mapping of keys, got {type(raw).__name__}")
    return raw


def energy_table_from_dict(raw: dict, source: str) -> EnergyTable:
    try:
        table = EnergyTable.model_validate(raw)
    except ValidationError as err:
        raise _user_error(source, err) from None
    for comp, actions in REQUIRED_ACTIONS.items():
        if comp not in table.components:
            raise UserError(source, f"components.{comp}", f"missing component '{comp}' "
                            f"(needs actions: {', '.join(actions)})")
        c = table.components[comp]
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


def load_energy_table(path: str | os.PathLike) -> EnergyTable:
    return energy_table_from_dict(read_yaml(path), str(path))


def config_from_dict(raw: dict, source: str, base_dir: Path) -> HwConfig:
    """Validate a raw hwconfig mapping and load its energy table (path relative to ``base_dir``)."""
    if not isinstance(raw, dict):
        raise UserError(source, "yaml", "must be a mapping of keys")
    try:
        hw = HwConfig.model_validate(raw)
    except ValidationError as err:
        raise _user_error(source, err) from None
    table_path = Path(hw.energy_table)
    if not table_path.is_absolute():
        table_path = Path(base_dir) / table_path
    if not table_path.is_file():
        raise UserError(source, "energy_table", f"no such energy table {table_path}")
    table = load_energy_table(table_path)
    sram = table.components["sram"]
    for mem in ("weight_sram", "potential_sram", "spike_buffer"):
        bank = getattr(hw.core, mem).bank_kib
        for action in REQUIRED_ACTIONS["sram"]:
            largest = sram.actions[action].by_bank_kib[-1].up_to_kib
            if bank > largest + 1e-9:
                raise UserError(str(table_path), f"components.sram.actions.{action}.by_bank_kib",
                                f"no row for the {bank:g} KiB banks of core.{mem} (largest row: {largest:g} KiB)")
    if hw.precision.spike_event_bits > hw.core.spike_buffer.capacity_bits:
        raise UserError(source, "core.spike_buffer.size_kib", "smaller than one spike event")
    hw._energy = table
    hw._source = source
    return hw


def load_config(path: str | os.PathLike) -> HwConfig:
    path = Path(path)
    return config_from_dict(read_yaml(path), str(path), path.parent)


def clock_hz(hw: HwConfig) -> float:
    return hw.clock_mhz * 1e6


def offchip_bits_per_cycle(hw: HwConfig) -> float:
    """Off-chip bandwidth in bits per core clock cycle (bandwidth_gbps is 10^9 bytes/s)."""
    if hw.offchip is None:
        return math.inf
    return hw.offchip.bandwidth_gbps * 1e9 * 8 / clock_hz(hw)

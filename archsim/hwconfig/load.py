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

import difflib
import math
import os
import sys
import typing
from pathlib import Path
from typing import Literal

import yaml
from pydantic import (BaseModel, ConfigDict, Field, NonNegativeFloat, NonNegativeInt, PositiveFloat,
                      PositiveInt, PrivateAttr, ValidationError, field_validator, model_validator)

from archsim.actions import DIRECTIONS, SIZED_COMPONENTS
from archsim.actions import REQUIRED_TABLE as REQUIRED_ACTIONS  # component -> actions every table prices
from archsim.choices import CONTROLLER_MODES, FROM_WORKLOAD, POLICIES
from archsim.errors import UserError



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
    """A rows x cols 2D mesh of tiles, one router per tile and ``cores_per_tile`` cores behind it (1: a
    router per core; Loihi: 4). Core ``c`` sits in tile ``c // cores_per_tile``; spikes between cores
    of one tile cross no link. ``core_positions`` ([row, col] each, one core per tile) places the
    tiles in id order; left out, tiles are numbered by ``numbering``: ``snake`` (row 0 left to right, row 1
    right to left, ...: consecutive ids are neighbours), ``row_major``, or ``column_major`` (SANA-FE's
    order: id -> row id % rows, column id // rows). Directions: east = +column, north = +row."""
    rows: PositiveInt
    cols: PositiveInt
    cores_per_tile: PositiveInt = 1
    numbering: Literal["snake", "row_major", "column_major"] = "snake"
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

    def tile_positions(self) -> list[tuple[int, int]]:
        """Mesh position [row, col] of every tile, in tile-id order."""
        if self.core_positions is not None:
            return [(int(r), int(c)) for r, c in self.core_positions]
        if self.numbering == "column_major":
            return [(t % self.rows, t // self.rows) for t in range(self.rows * self.cols)]
        if self.numbering == "row_major":
            return [(r, c) for r in range(self.rows) for c in range(self.cols)]
        return [(r, c if r % 2 == 0 else self.cols - 1 - c) for r in range(self.rows) for c in range(self.cols)]

    def positions(self) -> list[tuple[int, int]]:
        """Mesh position of every core (its tile's), in core-id order."""
        return [p for p in self.tile_positions() for _ in range(self.cores_per_tile)]


class Router(_Strict):
    """One router per core, XY dimension-order routing, wormhole flow control with credits."""
    flit_bits: PositiveInt
    header_bits: NonNegativeInt
    hop_latency_cycles: PositiveInt
    buffer_depth_flits: PositiveInt
    routing: Literal["xy"]
    multicast: bool


class OffChip(_Strict):
    """Off-chip memory (DRAM): the initial weight load, spilled weights and the input images come from
    here. ``standard``: a row of the DRAM table (``dram_table``, default hwconfigs/energy/dram.yaml) that
    prices every bit moved, every row activation and the background power; ``channels`` of it, whose
    bandwidth is the standard's unless ``bandwidth_gbps`` says otherwise. ``spill``: weights that do not
    fit on chip are streamed ``per_timestep`` (each core reads its overflow once per item and applies it
    to all its spikes) or fetched again ``per_spike`` (each spike's weight block)."""
    standard: str = "ddr4_2400"
    dram_table: str = "energy/dram.yaml"
    channels: PositiveInt = 1
    bandwidth_gbps: PositiveFloat | None = None
    latency_cycles: NonNegativeInt
    access_bits: PositiveInt
    spill: Literal["per_timestep", "per_spike"] = "per_timestep"

    _dram: "DramStandard" = PrivateAttr(default=None)

    @property
    def dram(self) -> "DramStandard":
        return self._dram

    @property
    def gbps(self) -> float:
        """Peak bandwidth, 10^9 bytes per second."""
        return self.bandwidth_gbps if self.bandwidth_gbps is not None else self._dram.bandwidth_gbps * self.channels


class Power(_Strict):
    """Leakage control. ``gate_unused_cores``: a core that holds no layer is switched off, its SRAM and
    logic leaking ``residual_off`` of their power (its router stays on: spikes cross it).
    ``gate_empty_banks``: SRAM banks that hold no data (the mapping leaves them empty) are off too.
    ``idle_sram``: ``on`` (banks leak fully between items) or ``retention`` (a core's SRAM sits at its
    data-retention voltage while the core has no work item, leaking ``residual_retention``).
    ``leakage_scale`` multiplies every on-chip static power: a sensitivity knob, 1 = the table's values."""
    gate_unused_cores: bool = False
    gate_empty_banks: bool = False
    idle_sram: Literal["on", "retention"] = "on"
    residual_off: float = Field(0.1, ge=0.0, le=1.0)
    residual_retention: float = Field(0.15, ge=0.0, le=1.0)
    leakage_scale: NonNegativeFloat = 1.0


class Controller(_Strict):
    """The early-exit controller: scores the accumulated output after each timestep.
    ``wait``: the next timestep of a sample starts only after the decision; ``speculate``: it starts at
    once, and work done past the exit is wasted (counted).
    ``policy`` / ``threshold``: a value here is explicit and beats what the workload records;
    ``from_workload`` (also when left out) uses the policy and threshold the workload was calibrated
    with (its meta, written by snn.export), else entropy >= 0.9. The command line beats both."""
    policy: Literal[(*POLICIES, FROM_WORKLOAD)] = FROM_WORKLOAD
    threshold: float | Literal[FROM_WORKLOAD] = FROM_WORKLOAD
    decision_cycles: PositiveInt
    mode: Literal[CONTROLLER_MODES]
    # Which waiting item gets a layer's cores first: arrival order, or items the controller has already
    # confirmed before speculative ones (work past the last decision, which an exit may waste).
    arbitration: Literal["fifo", "useful_first"] = "fifo"

    @field_validator("threshold", mode="before")
    @classmethod
    def _threshold(cls, v):
        if v == FROM_WORKLOAD:
            return v
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= v <= 1.0:
            raise ValueError(f"must be a number in [0, 1] or '{FROM_WORKLOAD}'")
        return float(v)


class Pipeline(_Strict):
    """How many images may be in flight at once: each needs its own membrane potentials on chip."""
    images_in_flight: PositiveInt


class Precision(_Strict):
    weight_bits: PositiveInt
    potential_bits: PositiveInt
    input_bits: PositiveInt            # one real-valued input pixel (direct encoding)
    spike_event_bits: PositiveInt      # one spike event (neuron address) in a packet or spike buffer


class Dataflow(_Strict):
    """How a core turns input spikes into membrane updates (per chip, ``layers`` overrides by name).

    ``scatter`` (spike-driven): each input spike reads its weight block and adds a weight into each of
    its targets' potentials: a read-modify-write of the potential SRAM per accumulate (best case: the
    targets' potentials packed ``port_bits / potential_bits`` to a word), plus the per-timestep sweep.
    ``gather`` (output-stationary): each neuron sums its receptive field in a register: it scans its
    inputs' spike bitmap (fan-in bits per neuron from the spike buffer, port-wide), reads the weights of
    the inputs that fired (packed), and touches its potential only in the sweep.

    ``pooling`` (average pooling before a projection): ``per_spike`` sends every spike of a pooled cell
    as its own event (each reaches the cell's fan-out); ``per_cell`` sums a cell's spikes first and sends
    one multi-bit event per cell that fired (NeuroBench counts a pooled input once)."""
    default: Literal["scatter", "gather"] = "scatter"
    layers: dict[str, Literal["scatter", "gather"]] = {}
    pooling: Literal["per_spike", "per_cell"] = "per_spike"

    def for_layer(self, name: str) -> str:
        return self.layers.get(name, self.default)


class MappingPolicy(_Strict):
    """How layers are cut into cores. ``split``: ``channels`` (each core holds whole output channels at
    every position: every input spike reaches every core of the layer) or ``neurons`` (SANA-FE's and
    Loihi's way: contiguous chunks of at most ``max_neurons_per_core`` neurons in [C, H, W] order; a
    spike reaches only the cores that hold its targets). ``input``: ``dma`` (the input arrives from
    off-chip into the first layer's spike buffers) or ``cores`` (a spike-encoded input is a population
    of input neurons on cores of its own; their spikes are packets on the mesh)."""
    split: Literal["channels", "neurons"] = "channels"
    max_neurons_per_core: PositiveInt | None = None
    input: Literal["dma", "cores"] = "dma"
    # Give each layer the cores that hold all its weights when the chip can (archsim.mapping rule 3);
    # false: cores by potentials and work only, weights spill where they do not fit (the old placement).
    hold_weights: bool = True

    @model_validator(mode="after")
    def _chunk_size(self) -> "MappingPolicy":
        if self.split == "neurons" and self.max_neurons_per_core is None:
            raise ValueError("split 'neurons' needs max_neurons_per_core")
        return self


class UnitChoice(_Strict):
    """Which energy-table component prices a layer's events: ``default``, else by the layer's ``op``
    (conv / linear) or neuron ``model`` (lif / input / ...), else by layer name (``layers``, highest)."""
    default: str
    by_op: dict[str, str] = {}
    by_model: dict[str, str] = {}
    layers: dict[str, str] = {}

    def for_layer(self, name: str, op: str, model: str) -> str:
        return self.layers.get(name) or self.by_model.get(model) or self.by_op.get(op) or self.default


class Units(_Strict):
    """Per-layer synapse and neuron units (SANA-FE prices a synaptic event by the synapse unit of the
    receiving layer: Loihi's conv synapse 24.0 pJ, dense 35.5 pJ)."""
    synapse: UnitChoice = UnitChoice(default="pe_array")
    neuron: UnitChoice = UnitChoice(default="neuron_unit")


class Timing(_Strict):
    """``pipelined``: layers on their own cores form a wavefront and images overlap (archsim.hw.chip).
    ``barrier``: every core finishes a timestep before any starts the next (Loihi, SANA-FE): a step
    lasts the slowest core's max(neuron processing, message processing), priced by the energy table's
    ``latency_ns`` per event, plus a synchronisation cost looked up by the tiles in use
    (``sync_ns_by_tiles``: the entry of the largest tile count <= the tiles in use)."""
    mode: Literal["pipelined", "barrier"] = "pipelined"
    sync_ns_by_tiles: dict[PositiveInt, NonNegativeFloat] = {}

    def sync_ns(self, tiles: int) -> float:
        keys = sorted(k for k in self.sync_ns_by_tiles if k <= tiles)
        if keys:
            return float(self.sync_ns_by_tiles[keys[-1]])
        return float(self.sync_ns_by_tiles[min(self.sync_ns_by_tiles)]) if self.sync_ns_by_tiles else 0.0


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
    dataflow: Dataflow = Dataflow()
    mapping: MappingPolicy = MappingPolicy()
    power: Power = Power()
    units: Units = Units()
    timing: Timing = Timing()
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

    def tile_of(self, core: int) -> int:
        return int(core) // self.mesh.cores_per_tile

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


class Component(_Strict):
    """Static power (per instance: per core for core parts, per router, per KiB for SRAM) and actions.
    ``access_bits``: the width the per-access energies refer to (memories only)."""
    static_mw: NonNegativeFloat = 0.0
    static_mw_per_kib: NonNegativeFloat = 0.0
    access_bits: PositiveInt | None = None
    actions: dict[str, Action]


class DramStandard(_Strict):
    """One row of the DRAM table (hwconfigs/energy/dram.yaml)."""
    description: str = ""
    read_pj_per_bit: NonNegativeFloat
    write_pj_per_bit: NonNegativeFloat
    activate_pj: NonNegativeFloat
    row_bytes: PositiveInt
    background_mw: NonNegativeFloat
    bandwidth_gbps: PositiveFloat


class DramTable(_Strict):
    name: str
    source: str = ""
    standards: dict[str, DramStandard]


class EnergyTable(_Strict):
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


def did_you_mean(word: str, options) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``options`` to ``word`` (difflib), else ``''``."""
    close = difflib.get_close_matches(str(word), [str(o) for o in options], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _inner_model(tp):
    """The BaseModel inside an annotation (``X | None``, ``list[X]``, ``dict[str, X]``), or None."""
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return tp
    for arg in typing.get_args(tp):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _model_at_loc(root, loc: tuple):
    """Like _model_at, but list indices and dict keys (energy table components) step into the item type."""
    model = root
    for part in loc:
        if model is None:
            return None
        if isinstance(part, int):
            continue  # already the item model (lists of models)
        if part in model.model_fields:
            model = _inner_model(model.model_fields[part].annotation)
            continue
        return None
    return model


def _user_error(source: str, err: ValidationError, model=None) -> UserError:
    """The most telling pydantic error as one line: which dotted field, what is wrong. An unknown key
    (a typo) comes first, named with the closest valid key; the missing key it stands for is then not
    counted as another problem."""
    errors = [dict(e, loc=tuple(p for p in e["loc"] if p not in ("function-after",))) for e in err.errors()]
    model = model or {"HwConfig": HwConfig, "EnergyTable": EnergyTable}.get(err.title)
    extra = [e for e in errors if e["type"] == "extra_forbidden"]
    first = extra[0] if extra else errors[0]
    loc, kind = first["loc"], first["type"]
    explained = 0
    if kind == "extra_forbidden":
        parent, key = loc[:-1], loc[-1]
        missing = [e["loc"][-1] for e in errors if e["type"] == "missing" and e["loc"][:-1] == parent]
        fields = list(getattr(_model_at_loc(model, parent), "model_fields", {}) or [])
        hint = did_you_mean(key, missing) or did_you_mean(key, fields)
        if hint and hint[len(" (did you mean '"):-len("'?)")] in missing:
            explained = 1
        where = _dotted(parent) if parent else "the top level"
        msg = f"unknown key {key!r} under {where}{hint}" if hint else \
            f"unknown key {key!r} under {where}" + (f"; keys there: {', '.join(fields)}" if fields else "")
    elif kind == "missing":
        msg = "missing key"
    else:
        msg = first["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        if "input" in first and not isinstance(first["input"], (dict, list)):
            msg += f" (got {first['input']!r})"
    more = len(errors) - 1 - explained
    if more:
        msg += f" (and {more} more problem{'s' if more > 1 else ''})"
    return UserError(source, _dotted(loc), msg)


class _UniqueKeyLoader(yaml.SafeLoader):
    """yaml.safe_load, except that a key given twice in one mapping is an error, not 'the last wins'."""


def _construct_unique_mapping(loader, node, deep=False):
    seen = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            first = seen.setdefault(key, key_node.start_mark.line + 1)
        except TypeError:
            continue  # an unhashable key: the constructor reports it
        if first != key_node.start_mark.line + 1:
            raise _DuplicateKey(key, first, key_node.start_mark.line + 1)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping)


class _DuplicateKey(Exception):
    def __init__(self, key, first: int, again: int):
        self.key, self.first, self.again = key, first, again


def read_yaml(path: str | os.PathLike) -> dict:
    """Read a YAML mapping; a missing file, a directory, malformed YAML or a key given twice is one
    UserError line."""
    src = str(path)
    if os.path.isdir(src):
        raise UserError(src, "path", "is a directory, not a YAML file")
    if not os.path.isfile(src):
        raise UserError(src, "path", "no such file")
    try:
        with open(src, encoding="utf-8") as f:
            raw = yaml.load(f, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except _DuplicateKey as dup:
        raise UserError(src, str(dup.key), f"key given twice (lines {dup.first} and {dup.again}); "
                        "YAML would silently keep the last") from None
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


def check_units(hw: HwConfig, table: EnergyTable, source: str, table_source: str) -> None:
    """The energy table prices every hardware unit of the chip (archsim.units: each unit the hwconfig
    names per layer, each unit's required actions, a latency for every event a barrier timing mode
    times)."""
    from archsim import units
    units.check_table(hw, table, source, table_source, suggest=did_you_mean)


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
    table_path = resolve_energy_table(hw.energy_table, source, base_dir)
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
    check_units(hw, table, source, str(table_path))
    if hw.offchip is not None:
        dram_path = resolve_energy_table(hw.offchip.dram_table, source, base_dir, field="offchip.dram_table")
        try:
            dram = DramTable.model_validate(read_yaml(dram_path))
        except ValidationError as err:
            raise _user_error(str(dram_path), err) from None
        if hw.offchip.standard not in dram.standards:
            raise UserError(source, "offchip.standard", f"{hw.offchip.standard!r} is not in {dram_path} "
                            f"(it has: {', '.join(dram.standards)}){did_you_mean(hw.offchip.standard, dram.standards)}")
        hw.offchip._dram = dram.standards[hw.offchip.standard]
    check_plausible(hw, source)
    hw._energy = table
    hw._source = source
    return hw


# The repository's hwconfigs/ folder: where a relative energy_table is looked for when it is not beside
# the hwconfig (a copy of default.yaml elsewhere still finds energy/45nm.yaml).
HWCONFIGS_DIR = Path(__file__).resolve().parents[1] / "hwconfigs"


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


def check_plausible(hw: HwConfig, source: str) -> None:
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

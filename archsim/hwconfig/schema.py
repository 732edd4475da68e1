"""The hwconfig's schema: what a hardware-description YAML may say, validated by pydantic.

Why pydantic with ``extra='forbid'``: a typo in a YAML key (``size_kb`` for ``size_kib``) must stop the run
with the dotted path of the key, not silently fall back to a default. The sweep edits the raw dict by
dotted paths and calls :func:`archsim.hwconfig.config_from_dict`, so the same errors reach it.

Every number carries its unit in its name: ``*_mhz``, ``*_kib`` (KiB = 1024 bytes), ``*_bits``,
``*_cycles`` (clock cycles of ``clock_mhz``), ``*_gbps`` (10^9 bytes per second), ``*_pj`` (picojoules),
``*_mw`` (milliwatts). Counts without a unit are plain numbers (``banks``, ``rows``).

:class:`HwConfigFile` is exactly the file; archsim.hwconfig.load builds the frozen ``HwConfig`` that the
simulator uses from it (the file plus its energy table, DRAM standard and path). Every model is frozen:
nothing changes a hardware description after it is validated.
"""
from __future__ import annotations

from typing import Literal

import networkx as nx
from pydantic import (Field, NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt, field_validator, model_serializer,
                      model_validator)

from archsim import graph as lg
from archsim import mesh as geometry
from archsim.choices import CONTROLLER_MODES, FROM_WORKLOAD, POLICIES
from archsim.inputs import Strict


def _left_out_while_none(field: str):
    """A model's serializer that leaves ``field`` out while it is None: configs that never set a newer
    field dump (and sweep points hash) as they did before it existed."""
    def dump(self, handler):
        out = handler(self)
        if getattr(self, field) is None:
            out.pop(field, None)
        return out
    return model_serializer(mode="wrap")(dump)


class PEArray(Strict):
    """Synaptic processing: spikes x fan-out accumulates, and the dense first layer's MACs."""
    accumulates_per_cycle: PositiveInt
    macs_per_cycle: PositiveInt


class NeuronUnit(Strict):
    """Sweeps the core's neurons once per timestep: read potential, leak + integrate, fire, write."""
    updates_per_cycle: PositiveInt


class Sram(Strict):
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


class WeightSram(Sram):
    """The synaptic (weight) memory, and how a layer's synapses are stored in it (``storage``):
    ``shared_kernel``: a conv layer's kernel once per core, whatever the neurons on it (the default
    accelerator's weight SRAM; a layer needs its distinct weights x ``precision.weight_bits``);
    ``per_synapse``: every synapse stored on the core of its target neuron, ``bits_per_synapse`` each
    (Loihi's synaptic memory). Under ``per_synapse`` a core whose synapses exceed ``size_kib`` is refused
    by the mapping, one line naming the core (nothing spills: off-chip synapses are not modelled)."""
    storage: Literal["shared_kernel", "per_synapse"] = "shared_kernel"
    bits_per_synapse: PositiveInt | None = None

    @model_validator(mode="after")
    def _bits_given(self) -> "WeightSram":
        if self.storage == "per_synapse" and self.bits_per_synapse is None:
            raise ValueError("storage 'per_synapse' needs bits_per_synapse")
        if self.storage == "shared_kernel" and self.bits_per_synapse is not None:
            raise ValueError("bits_per_synapse applies to storage 'per_synapse' only")
        return self

    @model_serializer(mode="wrap")
    def _dump(self, handler):
        # left out when shared_kernel, so configs that never set it dump (and sweep points hash) as before
        out = handler(self)
        if self.storage == "shared_kernel":
            out.pop("storage", None)
            out.pop("bits_per_synapse", None)
        return out


class Core(Strict):
    pe_array: PEArray
    neuron_unit: NeuronUnit
    weight_sram: WeightSram
    potential_sram: Sram
    spike_buffer: Sram


class Chips(Strict):
    """A system larger than one die: a ``rows`` x ``cols`` grid of chips, each the mesh this section sits
    in, joined edge to edge by chip-to-chip links (one per pair of facing boundary routers and direction).
    ``link``: the row of the chip-link table (``link_table``, default hwconfigs/energy/chip_links.yaml)
    that prices every bit a link carries and gives its bandwidth per lane and its latency per crossing;
    ``lanes`` of it per link. Routing stays XY over the whole grid (archsim.mesh)."""
    rows: PositiveInt
    cols: PositiveInt
    link: str = "grs_pcb_25g"
    link_table: str = "energy/chip_links.yaml"
    lanes: PositiveInt = 1


class Mesh(Strict):
    """A rows x cols 2D mesh of tiles, one router per tile and ``cores_per_tile`` cores behind it (1: a
    router per core; Loihi: 4). ``core_positions`` ([row, col] each, one core per tile) places the
    tiles in id order; left out, tiles are numbered by ``numbering`` (``snake``, ``row_major``,
    ``column_major``). ``chips``: a grid of such meshes, one per chip (left out: one chip); cores are
    numbered chip by chip. The geometry itself (numberings, tiles, links, routes) is archsim.mesh's."""
    rows: PositiveInt
    cols: PositiveInt
    cores_per_tile: PositiveInt = 1
    numbering: Literal[geometry.NUMBERINGS] = "snake"
    core_positions: list[tuple[NonNegativeInt, NonNegativeInt]] | None = None
    chips: Chips | None = None

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

    _dump = _left_out_while_none("chips")     # one chip: no key

    @property
    def n_chips(self) -> int:
        return self.chips.rows * self.chips.cols if self.chips is not None else 1

    @property
    def grid(self) -> tuple[int, int]:
        """Rows and columns of tiles of the whole system (all chips)."""
        if self.chips is None:
            return self.rows, self.cols
        return self.rows * self.chips.rows, self.cols * self.chips.cols

    @property
    def n_chip_links(self) -> int:
        """Directed chip-to-chip links: one each way between facing boundary tiles of neighbouring chips."""
        if self.chips is None:
            return 0
        rows, cols = self.grid
        return 2 * ((self.chips.cols - 1) * rows + (self.chips.rows - 1) * cols)

    @property
    def cores_per_chip(self) -> int:
        return len(self.tile_positions()) * self.cores_per_tile

    def tile_positions(self) -> list[geometry.Position]:
        """Mesh position [row, col] of every tile of one chip, in tile-id order."""
        return geometry.tile_positions(self.rows, self.cols, self.numbering, self.core_positions)

    def chip_positions(self) -> list[geometry.Position]:
        """[row, col] of every chip on the chip grid, in chip-id order (snake, as archsim.mesh.system_tiles)."""
        return geometry.tile_positions(self.chips.rows, self.chips.cols, "snake") if self.chips else [(0, 0)]

    def positions(self) -> list[geometry.Position]:
        """Position on the system's grid of every core (its tile's), in core-id order (chip by chip)."""
        tiles = self.tile_positions()
        if self.chips is not None:
            tiles = geometry.system_tiles(tiles, self.rows, self.cols, self.chips.rows, self.chips.cols)
        return geometry.core_positions(tiles, self.cores_per_tile)


class Router(Strict):
    """One router per core, XY dimension-order routing, wormhole flow control with credits."""
    flit_bits: PositiveInt
    header_bits: NonNegativeInt
    hop_latency_cycles: PositiveInt
    buffer_depth_flits: PositiveInt
    routing: Literal["xy"]
    multicast: bool


class OffChip(Strict):
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


class Power(Strict):
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


class Controller(Strict):
    """The early-exit controller: scores the accumulated output after each timestep.
    ``wait``: the next timestep of a sample starts only after the decision; ``speculate``: it starts at
    once, and work done past the exit is wasted (counted).
    ``speculate_layers`` (speculate mode; null or left out: unbounded): bounded speculation. While the
    decision on timestep t of a sample is pending, only the first K placed layers (the mapping's order:
    the K nearest the input) may start timestep t+1, and none may start t+2; the others wait for the
    decision. 0 is ``wait``; archsim.timing.lookahead turns it into each layer's rule.
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
    # Layers that may run one timestep past the last decision (speculate mode); None: unbounded.
    speculate_layers: int | None = None

    @field_validator("speculate_layers", mode="before")
    @classmethod
    def _speculate_layers(cls, v, info):
        if v is None:
            return v
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ValueError("must be a whole number of layers >= 0, or null (unbounded)")
        if info.data.get("mode") == "wait":
            raise ValueError("needs mode 'speculate' (mode 'wait' runs no layer ahead of the decision)")
        return v

    _dump = _left_out_while_none("speculate_layers")     # unbounded: no key

    @property
    def layers_ahead(self) -> int | None:
        """Layers that may start a timestep before the decision on the previous one: 0 in ``wait``
        mode, ``speculate_layers`` in ``speculate`` mode (None: unbounded, today's ``speculate``)."""
        return 0 if self.mode == "wait" else self.speculate_layers

    @field_validator("threshold", mode="before")
    @classmethod
    def _threshold(cls, v):
        if v == FROM_WORKLOAD:
            return v
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= v <= 1.0:
            raise ValueError(f"must be a number in [0, 1] or '{FROM_WORKLOAD}'")
        return float(v)


class Pipeline(Strict):
    """How many images may be in flight at once: each needs its own membrane potentials on chip."""
    images_in_flight: PositiveInt


class Precision(Strict):
    weight_bits: PositiveInt
    potential_bits: PositiveInt
    input_bits: PositiveInt            # one real-valued input pixel (direct encoding)
    spike_event_bits: PositiveInt      # one spike event (neuron address) in a packet or spike buffer


class Dataflow(Strict):
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


class MappingPolicy(Strict):
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


class UnitChoice(Strict):
    """Which energy-table component prices a layer's events: ``default``, else by the layer's ``op``
    (conv / linear) or neuron ``model`` (lif / input / ...), else by layer name (``layers``, highest)."""
    default: str
    by_op: dict[str, str] = {}
    by_model: dict[str, str] = {}
    layers: dict[str, str] = {}

    def for_layer(self, name: str, op: str, model: str) -> str:
        return self.layers.get(name) or self.by_model.get(model) or self.by_op.get(op) or self.default


class Units(Strict):
    """Per-layer synapse and neuron units (SANA-FE prices a synaptic event by the synapse unit of the
    receiving layer: Loihi's conv synapse 24.0 pJ, dense 35.5 pJ)."""
    synapse: UnitChoice = UnitChoice(default="pe_array")
    neuron: UnitChoice = UnitChoice(default="neuron_unit")


def unit_for(hw: HwConfigFile, g: nx.DiGraph, layer: str, pricing: str) -> str:
    """The energy-table component that prices ``layer``'s synapse or neuron events (``pricing``:
    ``synapse`` or ``neuron``), by the layer's op and neuron model in graph ``g``."""
    choice = hw.units.synapse if pricing == "synapse" else hw.units.neuron
    return choice.for_layer(layer, lg.layer(g, layer).op, lg.neuron_of(g, layer)["model"])


class Timing(Strict):
    """``pipelined``: layers on their own cores form a wavefront and images overlap (archsim.timing.simpy).
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


class HwConfigFile(Strict):
    """What a hwconfig YAML holds, validated (archsim.hwconfig.load builds the simulator's ``HwConfig``
    from it). ``energy_table``: the energy table's path, relative to the hwconfig file."""
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

    @property
    def n_cores(self) -> int:
        return len(self.mesh.positions())

    def tile_of(self, core: int) -> int:
        return geometry.tile_of(core, self.mesh.cores_per_tile)

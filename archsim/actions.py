"""THE action table: which hardware component does which action, what archsim counts for it, and which
energy-table entry prices it.

Why one table: the simulator counts actions (archsim.counts), the energy is counts x table entries
(archsim.energy) and the report names both; when all three read their names from here, a new unit is one
row here and one formula in counts.py (Accelergy's split of *actions* from *energy reference tables*).

A row is (component, action, count, pricing):

- ``component``: the block in the energy breakdown and the key in the energy table (``components:``);
- ``action``: the action name in the table (``actions:``); memories are priced per bank size (``sram``);
- ``count``: the count in archsim.counts (per work item) and in the summary's ``counts``;
- ``pricing``: ``fixed`` (always ``component``), ``synapse`` / ``neuron`` (the component is chosen per
  layer by the hwconfig's ``units`` section: ``pe_array`` / ``neuron_unit`` unless a layer says
  otherwise, e.g. Loihi's conv and dense synapse units), ``sram`` (priced by the table's ``sram``
  component at the memory's bank size), ``hop`` (``router.hop_<direction>``, or ``router.hop`` when
  the table gives no direction), ``dram`` (the hwconfig's off-chip standard in the DRAM table, per bit
  and per row activation: one DRAM model for every node's table);
- ``required``: whether every energy table must price it (optional actions cost 0 pJ when absent).

``role`` groups components the way SANA-FE reports energy: synapse, soma, network, memory, control.
"""
from __future__ import annotations

from dataclasses import dataclass

from archsim.mesh import DIRECTIONS


@dataclass(frozen=True)
class ActionRow:
    component: str
    action: str
    count: str
    pricing: str = "fixed"
    required: bool = True
    role: str = "memory"
    doc: str = ""


TABLE: tuple[ActionRow, ...] = (
    ActionRow("pe_array", "accumulate", "accumulates", "synapse", role="synapse",
              doc="one synaptic event: a weight added into a target's potential"),
    ActionRow("pe_array", "mac", "macs", "fixed", role="synapse",
              doc="one multiply-accumulate of a real-valued (dense) input"),
    ActionRow("neuron_unit", "access", "neuron_accesses", "neuron", required=False, role="soma",
              doc="a mapped neuron's state read each timestep, whatever happens to it"),
    ActionRow("neuron_unit", "update", "neuron_updates", "neuron", role="soma",
              doc="one neuron state update (leak, integrate, compare)"),
    ActionRow("neuron_unit", "spike_out", "spikes_out", "neuron", required=False, role="soma",
              doc="a neuron fires"),
    ActionRow("weight_sram", "read", "weight_reads", "sram", doc="one port-wide weight read"),
    ActionRow("weight_sram", "write", "weight_writes", "sram", doc="one port-wide weight write (the initial load)"),
    ActionRow("potential_sram", "read", "potential_reads", "sram", doc="one port-wide potential read"),
    ActionRow("potential_sram", "write", "potential_writes", "sram", doc="one port-wide potential write"),
    ActionRow("spike_buffer", "read", "spike_buffer_reads", "sram", doc="one spike event read"),
    ActionRow("spike_buffer", "write", "spike_buffer_writes", "sram", doc="one spike event written"),
    ActionRow("axon_out", "packet", "packets", "fixed", required=False, role="network",
              doc="a spike packet leaves its core (SANA-FE: message out)"),
    ActionRow("axon_in", "packet", "packets_received", "fixed", required=False, role="network",
              doc="a spike packet arrives at a core (SANA-FE: message in)"),
    *(ActionRow("router", f"hop_{d}", f"flit_hops_{d}", "hop", role="network",
                doc=f"one flit through one router, moving {d}") for d in DIRECTIONS),
    ActionRow("link", "flit", "flit_hops", "fixed", role="network", doc="one flit over one mesh link"),
    ActionRow("controller", "decision", "decisions", "fixed", role="control", doc="one early-exit decision"),
    ActionRow("offchip", "read", "offchip_reads", "dram", role="memory",
              doc="one off-chip read of offchip.access_bits (priced per bit by the DRAM table)"),
    ActionRow("offchip", "write", "offchip_writes", "dram", role="memory", doc="one off-chip write, likewise"),
    ActionRow("offchip", "activate", "offchip_activations", "dram", role="memory",
              doc="one DRAM row activation (+ precharge): streams open a row per row_bytes moved"),
)

# Counts that are kept but not priced on their own (totals, provenance, spill bookkeeping).
UNPRICED = ("weight_spill_words", "spikes_in", "packet_hops", "flits",
            "potential_rmw")   # of potential_reads (= of potential_writes): the scatter dataflow's share

# Every count name, in report order.
COUNTS: tuple[str, ...] = tuple(dict.fromkeys([r.count for r in TABLE] + list(UNPRICED)))

# What every energy table must contain: component -> actions (router hops: 'hop' or all four directions).
REQUIRED_TABLE = {"pe_array": ("accumulate", "mac"), "neuron_unit": ("update",), "sram": ("read", "write"),
                  "router": ("hop",), "link": ("flit",), "controller": ("decision",)}
SIZED_COMPONENTS = ("sram",)
ROLES = ("synapse", "soma", "network", "memory", "control")


def rows_for(count: str) -> tuple[ActionRow, ...]:
    return tuple(r for r in TABLE if r.count == count)

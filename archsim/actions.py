"""THE action table: which hardware component does which action, what archsim counts for it, and which
energy-table entry prices it, assembled from the units (archsim.units, one module per block).

Why one table: the simulator counts actions (archsim.counts), the energy is counts x table entries
(archsim.energy) and the report names both; when all three read their names from here, a new block is
one new unit module (Accelergy's split of *actions* from *energy reference tables*). A row is an
archsim.units.base.ActionRow: (component, action, count, pricing, required, role, barrier phase).

``role`` groups components the way SANA-FE reports energy: synapse, dendrite, soma, network, memory,
control (a run reports the roles of the units its chip has).
"""
from __future__ import annotations

from archsim import units
from archsim.units.base import DIRECTIONS, ActionRow  # noqa: F401  (re-exported)

# Every row of every registered unit, in pipeline order (a chip prices the rows of the units it has).
TABLE: tuple[ActionRow, ...] = units.rows()

# Every count name, in report order (priced counts, then those kept but not priced on their own).
COUNTS: tuple[str, ...] = units.count_names()
UNPRICED: tuple[str, ...] = tuple(c for c in COUNTS if c not in {r.count for r in TABLE})

# What every energy table must contain: component -> actions (router hops: 'hop' or all four directions).
REQUIRED_TABLE = units.required_table()
SIZED_COMPONENTS = ("sram",)
ROLES = ("synapse", "dendrite", "soma", "network", "memory", "control")

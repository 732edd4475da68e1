"""The run's Summary: every headline figure of one simulation, typed, in the order summary.json lists them.

Built by archsim.simulate (the only place its numbers are made); read by the report, the sweep, the GPU
comparison and the validation through its attributes. :meth:`Summary.to_dict` / :meth:`Summary.to_json`
give exactly the JSON object that ``archsim run --json`` prints and ``--out DIR/summary.json`` holds
(same keys, same order, same values): the file format does not change with the type.

The nested entries (``counts``, ``mapping``, ``workload``, ...) stay plain dicts: their keys follow the
chip's units and the network's layers, so a fixed type would not describe them.

Backward compatibility: ``summary["key"]`` reads an entry as the dict did (read-only, a KeyError for an
entry this run does not have). It is there for code written against the dict (helpers' branches merged
later, notebooks); new code reads attributes.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, fields

import numpy as np

# entries summary.json leaves out when this run does not have them (None)
OPTIONAL = ("pooled_cells_estimated", "chips")


def plain(obj):
    """JSON fallback for numpy scalars and arrays."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON-serialisable: {type(obj).__name__}")


def dumps(obj) -> str:
    """The JSON text of a summary (or of a dict holding one): indented, numpy as plain numbers, NaN kept."""
    return json.dumps(obj.to_dict() if isinstance(obj, Summary) else obj, indent=2, default=plain, allow_nan=True)


@dataclass(frozen=True, kw_only=True)
class Summary:
    """One run's figures. Units in the names: ``*_us`` microseconds, ``*_j`` joules, ``*_kib`` KiB,
    ``cycles`` clock cycles at ``clock_mhz``, ``seconds`` simulated (the makespan), ``fps`` images per
    simulated second; counts are whole actions summed over the items that ran (``counts_useful``: the
    items up to each sample's exit, the oracle)."""
    images: int
    fps: float
    latency_us_mean: float
    latency_us_p50: float
    latency_us_p95: float
    latency_us_max: float
    cycles: int
    seconds: float
    clock_mhz: float
    memory_accesses: dict[str, dict[str, int]]      # memory -> {reads, writes}
    energy_j: float
    energy_per_image_j: float
    energy_dynamic_j: float
    energy_static_j: float
    energy_breakdown_j: dict[str, float]            # component -> dynamic + static
    energy_by_role_j: dict[str, float]              # synapse / soma / network / memory / control / static
    energy_detail_j: dict[str, dict[str, float]]    # component -> {count or 'static': joules}
    avg_timesteps: float
    max_timesteps: int
    accuracy: float
    exit_policy: str
    threshold: float | None
    controller_mode: str
    spikes_per_image: float
    synaptic_ops_per_image: float
    synaptic_ops_per_image_useful: float
    counts: dict[str, int]
    counts_useful: dict[str, int]
    counts_setup: dict[str, int]
    speculation: dict                               # wasted_items, wasted_synaptic_ops, layers_ahead (None: unbounded)
    early_exit_savings: dict                        # against the fixed-T run of the same design
    area_proxy_sram_kib: float
    bottleneck: dict                                # group, layers, busy_cycles, utilization
    stall_cycles: float
    offchip_busy_cycles: float
    spikes_sent: int | None                         # None: the timing backend does not track spikes
    spikes_received: int | None
    spikes_dropped: int | None
    mapping: dict                                   # archsim.mapping.Mapping.summary()
    chips: dict | None = None                       # a system of chips: per chip and the links (archsim.chips)
    pooled_cells_estimated: list[str] | None = None   # per_cell pooling: edges whose cells are estimated
    workload: dict
    hwconfig: str
    hwconfig_path: str | None
    energy_table: str
    mode: str
    timing: str
    exit_policy_source: str | None                  # command line / hwconfig / workload / default
    threshold_source: str | None

    def to_dict(self) -> dict:
        """The plain dict summary.json holds, in field order (a None OPTIONAL entry left out)."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None and f.name in OPTIONAL:
                continue
            out[f.name] = value
        return out

    def to_json(self) -> str:
        """summary.json's text (without the trailing newline)."""
        return dumps(self)

    def __getitem__(self, key: str):
        """Read-only ``summary["key"]``, for code written against the dict (module docstring)."""
        if key not in self:
            raise KeyError(key)
        return getattr(self, key)

    def __contains__(self, key: object) -> bool:
        """``"key" in summary``: whether summary.json has the entry (as for the dict)."""
        return key in _FIELDS and not (key in OPTIONAL and getattr(self, key) is None)


_FIELDS = frozenset(f.name for f in fields(Summary))

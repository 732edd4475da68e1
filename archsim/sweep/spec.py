"""The sweep file, and the list of design points it stands for.

A sweep file (YAML) names a base hwconfig, one or more workloads, the parameters to vary and the
objectives that matter. A parameter is either a dotted path into the hwconfig (``chip.cores``) or one of
four run options that are not hardware (``exit.policy``, ``exit.threshold``, ``samples``, ``mode``).
Exactly one of ``grid``, ``list`` or ``random`` says how points are drawn; ``fixed`` applies to all.

Why everything is checked here, on the client, before any cluster starts: every point's hwconfig is
built and validated by ``archsim.hwconfig.config_from_dict``, so a typo in a path or a value of the wrong
type is one ``UserError`` naming the sweep-file entry, never a task that fails an hour into a sweep.
The validated ``HwConfig`` objects are what the workers receive, so workers need neither the hwconfig
files nor the sweep file.

A point's identity is its *hash*: SHA-256 over the validated hwconfig, the workload file's content and
the run options. Resume, de-duplication and the results table all key on it.
"""
from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError, model_validator

from archsim.choices import MODES, POLICIES
from archsim.inputs import did_you_mean, dotted, read_yaml
from archsim.errors import UserError

# Run options a sweep may vary that are arguments of simulate(), not hwconfig fields.
# Sweep name -> RunOptions field.
RUN_OPTIONS = {"exit.policy": "exit_policy", "exit.threshold": "threshold", "samples": "samples",
               "mode": "mode"}

NonEmptyList = Annotated[list[Any], Field(min_length=1)]


class Range(BaseModel):
    """A continuous (or integer) interval that ``random`` draws from, uniformly or log-uniformly."""
    model_config = ConfigDict(extra="forbid")
    low: Annotated[float, Field(strict=True)]
    high: Annotated[float, Field(strict=True)]
    log: bool = False
    integer: bool = False

    @model_validator(mode="after")
    def _ordered(self):
        if not self.low <= self.high:
            raise ValueError(f"low ({self.low}) must not exceed high ({self.high})")
        if self.log and self.low <= 0:
            raise ValueError("log needs low > 0")
        if self.integer and (self.low != int(self.low) or self.high != int(self.high)):
            raise ValueError("integer ranges need whole-number low and high")
        return self


def _list_or_range(value: Any) -> str | None:
    return "choices" if isinstance(value, list) else "range" if isinstance(value, (dict, Range)) else None


# A list draws uniformly from its values, a mapping is a Range. Tagged so that an error in a Range is
# reported as such, not as "Input should be a valid list".
Distribution = Annotated[Annotated[NonEmptyList, Tag("choices")] | Annotated[Range, Tag("range")],
                         Discriminator(_list_or_range, custom_error_type="distribution",
                                       custom_error_message="give a list of values or {low, high}")]


class RandomSpec(BaseModel):
    """``count`` points, each parameter drawn independently: from a list (uniform choice) or a Range."""
    model_config = ConfigDict(extra="forbid")
    count: Annotated[int, Field(strict=True, ge=1)]
    parameters: Annotated[dict[str, Distribution], Field(min_length=1)]


class SweepFile(BaseModel):
    """The YAML as written (paths still relative to the sweep file)."""
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    name: str | None = None
    description: str = ""
    base: str
    workloads: Annotated[list[str], Field(min_length=1)]
    seed: Annotated[int, Field(strict=True)] = 0
    fixed: dict[str, Any] = Field(default_factory=dict)
    grid: Annotated[dict[str, NonEmptyList], Field(min_length=1)] | None = None
    list_: Annotated[list[Annotated[dict[str, Any], Field(min_length=1)]], Field(min_length=1)] | None = \
        Field(None, alias="list")
    random: RandomSpec | None = None
    objectives: dict[str, Literal["minimize", "maximize"]] = Field(default_factory=dict)
    # Written by `archsim sweep` into OUT/sweep.resolved.yaml (hashes, base hwconfig...); ignored on input,
    # so that file is itself a sweep file that re-runs the same points.
    resolved: dict | None = None

    @model_validator(mode="after")
    def _one_strategy(self):
        given = [k for k, v in (("grid", self.grid), ("list", self.list_), ("random", self.random))
                 if v is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of grid, list, random (found {', '.join(given) or 'none'})")
        return self

    @property
    def strategy(self) -> str:
        return "grid" if self.grid is not None else "list" if self.list_ is not None else "random"


class RunOptions(BaseModel):
    """The simulate() arguments a point sets besides the hwconfig. ``None`` means what a run without
    --exit-policy/--threshold uses (the hwconfig's explicit ``controller.policy`` / ``threshold``, else the
    workload's calibrated ones: archsim.simulate.resolve_policy), and for ``samples`` the whole workload."""
    model_config = ConfigDict(extra="forbid", frozen=True)
    exit_policy: Literal[POLICIES] | None = None
    threshold: Annotated[float, Field(strict=True, ge=0.0, le=1.0)] | None = None
    samples: Annotated[int, Field(strict=True, ge=1)] | None = None
    mode: Literal[MODES] = "simpy"


def relative_path(path: str | Path, relative_to: str | Path | None) -> str:
    """``path`` as seen from the folder ``relative_to`` (POSIX separators), so what a sweep writes is the same
    in every checkout; as given where ``relative_to`` is None or no relative path exists (another drive)."""
    if relative_to is None:
        return str(path)
    try:
        return Path(os.path.relpath(Path(path).resolve(), Path(relative_to).resolve())).as_posix()
    except ValueError:
        return str(path)


@dataclass(frozen=True)
class Point:
    """One design point: what runs (``hw``, ``workload``, ``options``) and how it is reported (``params``:
    the effective value of every varied or fixed parameter, keyed by its sweep name)."""
    index: int
    workload: str
    params: dict[str, Any]
    hw: Any  # archsim.hwconfig.HwConfig
    options: RunOptions
    hash: str


@dataclass
class SweepPlan:
    """A validated sweep: the resolved inputs and every distinct point, in a stable order."""
    source: Path
    spec: SweepFile
    base_path: Path
    base_raw: dict
    workload_paths: dict[str, Path]
    workload_sha256: dict[str, str]
    workloads: dict[str, Any]  # name as written -> archsim.workload.Workload
    parameters: list[str]  # fixed, then varied: the table's parameter columns
    varied: list[str]
    points: list[Point]
    duplicates: int = 0
    name: str = ""
    extra: dict = field(default_factory=dict)

    def resolved(self, relative_to: str | Path | None = None) -> dict:
        """What is written beside the results: this sweep file with defaults filled in, plus a ``resolved``
        block recording the inputs. Paths are relative to ``relative_to`` (the folder the file goes to),
        so the file is the same on every machine and re-runs the same points from there; absolute
        without it (or where no relative path exists, another drive)."""
        def where(p: Path) -> str:
            return relative_path(p, relative_to)

        spec = self.spec.model_dump(by_alias=True, exclude_none=True, exclude={"resolved"})
        spec["name"] = self.name
        spec["base"] = where(self.base_path)
        spec["workloads"] = [where(self.workload_paths[w]) for w in self.spec.workloads]
        spec["resolved"] = {
            "source": where(self.source),
            "strategy": self.spec.strategy,
            "parameters": self.parameters,
            "varied": self.varied,
            "workloads": {where(self.workload_paths[w]): {"sha256": self.workload_sha256[w],
                              "samples": self.workloads[w].n_samples} for w in self.spec.workloads},
            "points": len(self.points),
            "duplicates_dropped": self.duplicates,
            "base_hwconfig": self.base_raw,
        }
        return spec


# ----------------------------------------------------------------------------------------- loading

def load_sweep(path: str | Path) -> SweepPlan:
    """Read, validate and expand a sweep file. Raises UserError naming the entry; starts nothing."""
    src = Path(path)
    raw = read_yaml(src)
    if not isinstance(raw, dict):
        raise UserError(str(src), "file", "a sweep file must be a YAML mapping")
    try:
        spec = SweepFile.model_validate(raw)
    except ValidationError as err:
        e = err.errors()[0]
        if e["type"] == "extra_forbidden":
            msg = "unknown key"
        else:
            msg = e["msg"].removeprefix("Value error, ")
        raise UserError(str(src), _loc(e["loc"]) or "grid/list/random", msg) from None
    return _Planner(src, spec).plan()


def _loc(loc) -> str:
    # "choices" / "range": the tag of a union member, not a place in the file
    return dotted(loc, skip=("choices", "range"), top="").replace("list_", "list")


class _Planner:
    """Resolves paths, validates every value, and generates the points. One-shot helper for load_sweep."""

    def __init__(self, src: Path, spec: SweepFile):
        from archsim.hwconfig import config_from_dict
        self.config_from_dict = config_from_dict
        self.src, self.spec, self.where = src, spec, str(src)
        self.loaded: dict[str, Any] = {}  # workloads, loaded by plan() before any point is built
        self.base_path = (src.parent / spec.base).resolve()
        if not self.base_path.is_file():
            raise UserError(self.where, "base", f"no such hwconfig {spec.base!r} (looked at {self.base_path})")
        self.base_raw = read_yaml(self.base_path)
        base_hw = config_from_dict(copy.deepcopy(self.base_raw), str(self.base_path), self.base_path.parent)
        self.known = base_hw.model_dump()

    # -- inputs
    def _workloads(self):
        from archsim.workload import load_workload
        paths, sha, loaded = {}, {}, {}
        for i, w in enumerate(self.spec.workloads):
            p = (self.src.parent / w).resolve()
            if w in paths:
                raise UserError(self.where, f"workloads[{i}]", f"{w!r} is listed twice")
            if not p.is_file():
                raise UserError(self.where, f"workloads[{i}]", f"no such workload {w!r} (looked at {p})")
            loaded[w] = load_workload(p)
            paths[w], sha[w] = p, _file_sha256(p)
        return paths, sha, loaded

    # -- one override set -> (HwConfig, RunOptions)
    def _check_path(self, name: str, entry: str) -> None:
        if name in RUN_OPTIONS:
            return
        node: Any = self.known
        for depth, key in enumerate(name.split(".")):
            if isinstance(node, dict) and key in node:
                node = node[key]
            elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
                node = node[int(key)]
            else:
                here = ".".join(name.split(".")[:depth]) or "the top level"
                options = list(node) if isinstance(node, dict) else []
                if depth == 0:
                    options += list(RUN_OPTIONS)
                hint = did_you_mean(key, options) or \
                    (f"; fields there: {', '.join(map(str, options))}" if options else "")
                raise UserError(self.where, entry,
                                f"unknown parameter {name!r}: no field {key!r} under {here} of "
                                f"hwconfig {self.spec.base}{hint}")

    def build(self, overrides: dict[str, Any], entry: str):
        """Apply dotted-path overrides to a deep copy of the base hwconfig and validate it."""
        raw = copy.deepcopy(self.base_raw)
        opts: dict[str, Any] = {}
        for name, value in overrides.items():
            if name in RUN_OPTIONS:
                opts[RUN_OPTIONS[name]] = value
            else:
                _set_path(raw, name, value, self.where, entry)
        try:
            options = RunOptions(**opts)
        except ValidationError as err:
            e = err.errors()[0]
            name = next(k for k, v in RUN_OPTIONS.items() if v == e["loc"][0])
            raise UserError(self.where, entry, f"{name}={e['input']!r}: {e['msg']}") from None
        if options.samples is not None:
            for w, wl in self.loaded.items():
                if options.samples > wl.n_samples:
                    raise UserError(self.where, entry, f"samples={options.samples}, but workload {w} has "
                                                       f"only {wl.n_samples}")
        try:
            hw = self.config_from_dict(raw, str(self.base_path), self.base_path.parent)
        except UserError as err:
            shown = ", ".join(f"{k}={v!r}" for k, v in overrides.items())
            raise UserError(self.where, entry, f"{shown}: hwconfig field {err.field}: {err.message}") from None
        return hw, options

    # -- points
    def _combos(self) -> tuple[list[dict[str, Any]], list[str]]:
        """The override sets the strategy stands for, before workloads, and their sections' names."""
        spec = self.spec
        if spec.grid is not None:
            names = list(spec.grid)
            combos = [dict(zip(names, vals)) for vals in itertools.product(*spec.grid.values())]
            entries = {n: f"grid.{n}" for n in names}
            candidates = {n: spec.grid[n] for n in names}
        elif spec.list_ is not None:
            names = list(dict.fromkeys(k for entry in spec.list_ for k in entry))
            combos = [dict(entry) for entry in spec.list_]
            entries = {n: f"list.{n}" for n in names}
            candidates = {n: [c[n] for c in combos if n in c] for n in names}
        else:
            rnd = spec.random
            names = list(rnd.parameters)
            rng = np.random.default_rng(spec.seed)
            combos = [{n: _draw(rng, rnd.parameters[n]) for n in names} for _ in range(rnd.count)]
            entries = {n: f"random.parameters.{n}" for n in names}
            candidates = {n: (d if isinstance(d, list) else _bounds(d)) for n, d in rnd.parameters.items()}
        for n in names:
            self._check_path(n, entries[n])
            if n in spec.fixed:
                raise UserError(self.where, entries[n], f"{n!r} is both fixed and varied")
            # One value at a time on top of `fixed`: a bad value is blamed on its own entry.
            tried: list = []
            for v in candidates[n]:
                if v not in tried:
                    tried.append(v)
                    self.build({**spec.fixed, n: v}, entries[n])
        return combos, names

    def plan(self) -> SweepPlan:
        spec = self.spec
        paths, sha, loaded = self._workloads()
        self.loaded = loaded
        for n in spec.fixed:
            self._check_path(n, f"fixed.{n}")
        self.build(dict(spec.fixed), "fixed")
        combos, varied = self._combos()
        parameters = list(spec.fixed) + varied
        points, seen, dup = [], set(), 0
        for w in spec.workloads:
            for combo in combos:
                overrides = {**spec.fixed, **combo}
                entry = "point " + ", ".join(f"{k}={v!r}" for k, v in combo.items())
                hw, options = self.build(overrides, entry)
                options = options.model_copy(update={"samples": options.samples or loaded[w].n_samples})
                h = point_hash(hw, sha[w], options)
                if h in seen:
                    dup += 1
                    continue
                seen.add(h)
                dumped = hw.model_dump(mode="json")
                params = {p: (getattr(options, RUN_OPTIONS[p]) if p in RUN_OPTIONS else _get_path(dumped, p))
                          for p in parameters}
                points.append(Point(len(points), w, params, hw, options, h))
        return SweepPlan(self.src, spec, self.base_path, self.base_raw, paths, sha, loaded, parameters, varied,
                         points, dup, name=spec.name or self.src.stem)


# ----------------------------------------------------------------------------------------- helpers

def point_hash(hw, workload_sha256: str, options: RunOptions) -> str:
    """The identity of a point: same inputs, same hash, on any machine (16 hex digits of SHA-256).
    The loaded energy table is part of it (the hwconfig names it only by path); the simulator's own
    code is not, so after changing the simulator start a new --out rather than --resume."""
    energy = hw.energy.model_dump(mode="json") if getattr(hw, "energy", None) is not None else None
    blob = json.dumps({"hwconfig": hw.model_dump(mode="json"), "energy_table": energy,
                       "workload_sha256": workload_sha256,
                       "options": options.model_dump(mode="json")},
                      sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _set_path(tree: dict, name: str, value: Any, where: str, entry: str) -> None:
    """tree[a][b][c] = value for name 'a.b.c', creating mappings the base file left to defaults."""
    keys = name.split(".")
    node: Any = tree
    for key in keys[:-1]:
        if isinstance(node, list) and key.isdigit():
            node = node[int(key)]
        elif isinstance(node, dict):
            if node.get(key) is None:
                node[key] = {}
            node = node[key]
        else:
            raise UserError(where, entry, f"cannot set {name!r}: {key!r} is not a section in the base hwconfig")
    last = keys[-1]
    if isinstance(node, list) and last.isdigit():
        node[int(last)] = copy.deepcopy(value)
    elif isinstance(node, dict):
        node[last] = copy.deepcopy(value)
    else:
        raise UserError(where, entry, f"cannot set {name!r}: its parent is not a section in the base hwconfig")


def _get_path(tree: Any, name: str) -> Any:
    for key in name.split("."):
        tree = tree[int(key)] if isinstance(tree, list) else tree[key]
    return tree


def _draw(rng: np.random.Generator, dist) -> Any:
    if isinstance(dist, list):
        return dist[int(rng.integers(len(dist)))]
    if dist.integer:
        lo, hi = int(dist.low), int(dist.high)
        if dist.log:
            return int(round(math.exp(rng.uniform(math.log(lo), math.log(hi)))))
        return int(rng.integers(lo, hi + 1))
    if dist.log:
        return float(math.exp(rng.uniform(math.log(dist.low), math.log(dist.high))))
    return float(rng.uniform(dist.low, dist.high))


def _bounds(dist: Range) -> list:
    return [int(dist.low), int(dist.high)] if dist.integer else [dist.low, dist.high]

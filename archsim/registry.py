"""Plug-in registries: the modules of a package that declare what a registry needs, in a fixed order.

One rule for every registry of this project (the hardware units in archsim.units, the GPU-log formats in
archsim.gpu.formats): a module belongs when it defines every attribute the registry asks for, and the
registry lists them by ``ORDER`` (then ``NAME``), so a new entry is one new file.
"""
from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def discover(package: str, path, required: tuple[str, ...]) -> list[ModuleType]:
    """The modules of ``package`` (its ``__path__``) that define every name in ``required``, sorted by
    ``(ORDER, NAME)``; modules without them (shared helpers) are imported but left out."""
    mods = [importlib.import_module(f"{package}.{info.name}") for info in pkgutil.iter_modules(path)]
    return sorted((m for m in mods if all(hasattr(m, a) for a in required)), key=lambda m: (m.ORDER, m.NAME))

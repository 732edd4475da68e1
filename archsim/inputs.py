"""Generic readers of user files: YAML that refuses a key given twice, and pydantic errors as one line.

Why one module: the hwconfig, its energy and DRAM tables (archsim.hwconfig), the sweep file
(archsim.sweep.spec) and the validation networks (archsim.validate.network) are all YAML a person wrote;
each bad file must stop with the same kind of ``UserError`` line (file, dotted field, reason), never a
traceback and never a silently ignored key. Nothing here knows what a hwconfig is.
"""
from __future__ import annotations

import difflib
import os
import typing

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from archsim.errors import UserError


# ------------------------------------------------------------------------------------------------ YAML
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


# ------------------------------------------------------------------------------------- field names
def dotted(loc: tuple, skip: tuple[str, ...] = (), top: str = "(top level)") -> str:
    """A pydantic error location as the field path a user writes: ``core.weight_sram.banks``,
    ``workloads[1]``. ``skip``: location parts that are not places in the file (a union member's tag);
    ``top``: what an empty path reads as."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in skip:
            continue
        else:
            out += ("." if out else "") + str(part)
    return out or top


def did_you_mean(word: str, options) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``options`` to ``word`` (difflib), else ``''``."""
    close = difflib.get_close_matches(str(word), [str(o) for o in options], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


# ------------------------------------------------------------------------------- pydantic -> UserError
class Strict(BaseModel):
    """A model of what a person wrote: an unknown key is an error (a typo never falls back to a default),
    and nothing changes the model once it is validated (frozen)."""
    model_config = ConfigDict(extra="forbid", frozen=True)


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
    """The model at a dotted location; list indices and dict keys (energy table components) step into the
    item type."""
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


def validation_error(source: str, err: ValidationError, model: type[BaseModel] | None = None) -> UserError:
    """The most telling pydantic error as one line: which dotted field, what is wrong. An unknown key
    (a typo) comes first, named with the closest valid key of ``model`` (the model that was validated;
    None: no hint); the missing key it stands for is then not counted as another problem."""
    errors = [dict(e, loc=tuple(p for p in e["loc"] if p not in ("function-after",))) for e in err.errors()]
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
        where = dotted(parent) if parent else "the top level"
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
    return UserError(source, dotted(loc), msg)

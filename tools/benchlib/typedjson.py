"""Dataclasses read from and written to JSON as their fields declare
(tools/benchlib/results.py's file): a dataclass an object with exactly
its fields, keys in the order of its fields; a field with a default may
be left out, and one whose metadata is OMIT_NONE is left out when None.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any

# A field left out of the file when it is None.
OMIT_NONE = {"omit_none": True}


class ResultsError(ValueError):
    """The results file is not in the layout the benchmark writes."""


def plain(value: object) -> Any:
    """The JSON form of a result: a dataclass an object, keys in the order
    of its fields."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: plain(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if getattr(value, f.name) is not None
            or not f.metadata.get("omit_none")
        }
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    return value


def read(kind: Any, value: object, where: str) -> Any:
    """A JSON value read as the type a field declares: a dataclass from an
    object with exactly its fields (those with a default may be left
    out), a tuple from a list, a mapping from an object; numbers as they
    are (an int where a float is declared stays an int)."""
    if dataclasses.is_dataclass(kind):
        return read_object(kind, value, where)
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is types.UnionType:
        if value is None and type(None) in args:
            return None
        (other,) = (a for a in args if a is not type(None))
        return read(other, value, where)
    if origin is tuple:
        items = expect(list, value, where)
        if args[1:] == (Ellipsis,):
            args = (args[0],) * len(items)
        if len(items) != len(args):
            raise ResultsError(f"{where}: {len(args)} items expected")
        return tuple(
            read(a, v, f"{where}[{i}]")
            for i, (a, v) in enumerate(zip(args, items, strict=True))
        )
    if origin is Mapping:
        pairs = expect(dict, value, where).items()
        return {k: read(args[1], v, f"{where}.{k}") for k, v in pairs}
    if kind is float:
        return expect(int | float, value, where)
    if kind in (int, str, bool):
        return expect(kind, value, where)
    raise TypeError(f"{where}: no reader for {kind!r}")


def read_object(kind: Any, value: object, where: str) -> Any:
    found = expect(dict, value, where)
    fields = dataclasses.fields(kind)
    unknown = set(found) - {f.name for f in fields}
    if unknown:
        raise ResultsError(f"{where}: unknown {', '.join(sorted(unknown))}")
    hints = typing.get_type_hints(kind)
    given = {}
    for f in fields:
        if f.name in found:
            given[f.name] = read(
                hints[f.name], found[f.name], f"{where}.{f.name}"
            )
        elif f.default is dataclasses.MISSING:
            raise ResultsError(f"{where}: no {f.name}")
    return kind(**given)


def expect(kind: Any, value: object, where: str) -> Any:
    """The value, if it is of the kind (a bool is no number)."""
    if isinstance(value, kind) and (
        kind is bool or not isinstance(value, bool)
    ):
        return value
    raise ResultsError(f"{where}: {value!r} is not {kind}")

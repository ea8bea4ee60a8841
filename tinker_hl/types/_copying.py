"""Value semantics for the wire types: a constructor copies the lists (and numpy arrays) it is
given, as the official SDK's pydantic models do.

Research code builds a chunk from a buffer and then clears the buffer, or keeps appending to a
list it already passed; with the generated attrs classes (which store what they are given) that
changed the object after the fact. `install()` wraps the `__init__` of every generated class that
has list fields so that each such argument is copied: `list(x)` (C speed) for a list, `tolist()`
for a numpy array, element-wise only for fields declared as nested lists. Tuples (immutable) and
the objects inside a list (chunks, TensorData) are kept, as pydantic keeps them. Decoding
(`from_dict`) goes through the same constructors, so decoded results own their lists too.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

import attrs
import numpy as np
from tinker_api_client import models

__all__ = ["build", "install"]

Copier = Callable[[Any], Any]
T = TypeVar("T")


def _copy_list(value: Any) -> Any:
    if type(value) is list:
        return list(value)
    if isinstance(value, np.ndarray):
        return value.tolist()  # a copy, of Python numbers
    return value  # anything else is left for validation to report


def _copy_nested(value: Any) -> Any:
    if type(value) is list:
        return [_copy_nested(v) for v in value]
    return _copy_list(value)


def _copier(declared: object) -> Copier | None:
    text = str(declared)
    if "list[list" in text:
        return _copy_nested
    if "list[" in text:
        return _copy_list
    return None


_PLAIN_INITS: dict[type, Callable[..., None]] = {}


def build(cls: type[T], **fields: Any) -> T:
    """An instance built without copying: for the client's own hot paths (building a Datum from
    lists), which pass lists they have just made and nobody else holds."""
    obj = object.__new__(cls)
    _PLAIN_INITS.get(cls, cls.__init__)(obj, **fields)
    return obj


def _wrap(cls: type, copiers: dict[str, Copier]) -> None:
    original = cls.__dict__["__init__"]
    _PLAIN_INITS[cls] = original
    positional = tuple(a.alias for a in attrs.fields(cls) if a.init)
    fields = tuple(copiers.items())

    @functools.wraps(original)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if args:
            for name, value in zip(positional, args, strict=False):
                if name in kwargs:
                    raise TypeError(f"{cls.__name__}() got multiple values for argument {name!r}")
                kwargs[name] = value
            args = args[len(positional) :]
        for name, copy in fields:
            if name in kwargs:
                kwargs[name] = copy(kwargs[name])
        original(self, *args, **kwargs)

    __init__._tinker_hl_copying = True  # type: ignore[attr-defined]
    cls.__init__ = __init__  # type: ignore[misc]


def install() -> None:
    """Wrap the constructors (idempotent)."""
    for cls in vars(models).values():
        if not (inspect.isclass(cls) and attrs.has(cls)):
            continue
        if getattr(cls.__dict__.get("__init__"), "_tinker_hl_copying", False):
            continue
        copiers = {
            a.alias: copier
            for a in attrs.fields(cls)
            if a.init and (copier := _copier(a.type)) is not None
        }
        if copiers:
            _wrap(cls, copiers)

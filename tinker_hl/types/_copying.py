"""Value semantics for the wire types: a constructor copies the lists (and numpy arrays) it is
given, as the official SDK's pydantic models do.

Research code builds a chunk from a buffer and then clears the buffer, or keeps appending to a
list it already passed; with the generated attrs classes (which store what they are given) that
changed the object after the fact. `install()` wraps the `__init__` of every generated class that
has list fields so that each such argument is copied: `list(x)` (C speed) for a list, `tolist()`
for a numpy array, element-wise only for fields declared as nested lists; the number lists of the
types research code builds (token ids, tensor values and shapes) also get their numpy scalars
turned into Python numbers. Tuples (immutable) and
the objects inside a list (chunks, TensorData) are kept, as pydantic keeps them. Decoding
(`from_dict`) goes through the same constructors, so decoded results own their lists too.

The types research code builds itself (`USER_BUILT`) also take the official defaults: an
optional field the spec declares nullable and the caller leaves out is `None` (as in the
official pydantic models: `SamplingParams().seed is None`), not the generated `UNSET`, also when
decoded from a body that leaves it out. Their `to_dict` leaves such a None out, as the official
SDK leaves out what was not set, so the wire is what it was (for these fields null and absent
mean the same). They take the official argument names too (`format=`, `type=` beside the
generated `format_=`, `type_=`). `ImageChunk.data` holds the image's bytes, as the official type
does: a base64 string given to it (as decoding does) is decoded, and `to_dict` encodes the bytes.
"""

from __future__ import annotations

import base64
import binascii
import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

import attrs
import numpy as np
from tinker_api_client import models
from tinker_api_client.types import UNSET

from ._number_lists import python_numbers

__all__ = ["USER_BUILT", "build", "image_bytes", "install"]

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


# The request types callers construct (the official SDK's defaults apply to them).
USER_BUILT: frozenset[str] = frozenset(
    {
        "AdamParams",
        "Datum",
        "EncodedTextChunk",
        "ImageAssetPointerChunk",
        "ImageChunk",
        "LoraConfig",
        "ModelInput",
        "SamplingParams",
        "TensorData",
    }
)


def _none_defaults(cls: type) -> tuple[str, ...]:
    if cls.__name__ not in USER_BUILT:
        return ()
    return tuple(
        a.alias
        for a in attrs.fields(cls)
        if a.init and a.default is UNSET and "None" in str(a.type)
    )


def _official_names(cls: type) -> dict[str, str]:
    """Official argument name -> generated name (`format` -> `format_`)."""
    if cls.__name__ not in USER_BUILT:
        return {}
    return {a.alias[:-1]: a.alias for a in attrs.fields(cls) if a.init and a.alias.endswith("_")}


def image_bytes(data: object) -> object:
    """Bytes for bytes-like data or a valid base64 string; anything else as given (validation
    names it before a request is sent)."""
    if isinstance(data, bytes | bytearray | memoryview):
        return bytes(data)
    if isinstance(data, str):
        try:
            return base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            return data
    return data


def _copy_numbers(value: Any) -> Any:
    """A list of numbers copied with numpy scalars made Python numbers, as the official
    pydantic fields (`List[int]`) make them; checked in one C-speed pass first."""
    if type(value) is list:
        return python_numbers(value)
    return _copy_list(value)


_CONVERTERS: dict[tuple[str, str], Copier] = {
    ("ImageChunk", "data"): image_bytes,
    ("EncodedTextChunk", "tokens"): _copy_numbers,
    ("TensorData", "data"): _copy_numbers,
    ("TensorData", "shape"): _copy_numbers,
}


_PLAIN_INITS: dict[type, Callable[..., None]] = {}


def build(cls: type[T], **fields: Any) -> T:
    """An instance built without copying: for the client's own hot paths (building a Datum from
    lists), which pass lists they have just made and nobody else holds."""
    obj = object.__new__(cls)
    _PLAIN_INITS.get(cls, cls.__init__)(obj, **fields)
    return obj


def _wrap(
    cls: type, copiers: dict[str, Copier], none_defaults: tuple[str, ...], names: dict[str, str]
) -> None:
    # Everything that depends only on the class is worked out here, once: a call does only the
    # steps its class needs (a rename check only where official names differ, and only when one
    # of them is passed).
    original = cls.__dict__["__init__"]
    _PLAIN_INITS[cls] = original
    positional = tuple(a.alias for a in attrs.fields(cls) if a.init)
    fields = tuple(copiers.items())
    renames = tuple(names.items())
    official_names = frozenset(names)

    def bind_positional(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
        for name, value in zip(positional, args, strict=False):
            if name in kwargs:
                raise TypeError(f"{cls.__name__}() got multiple values for argument {name!r}")
            kwargs[name] = value
        return args[len(positional) :]

    def rename(kwargs: dict[str, Any]) -> None:
        for official, name in renames:
            if official in kwargs:
                if name in kwargs:
                    raise TypeError(f"{cls.__name__}() got both {official!r} and {name!r}")
                kwargs[name] = kwargs.pop(official)

    @functools.wraps(original)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if args:
            args = bind_positional(args, kwargs)
        if official_names and not official_names.isdisjoint(kwargs):
            rename(kwargs)
        for name, copy in fields:
            if name in kwargs:
                kwargs[name] = copy(kwargs[name])
        for name in none_defaults:
            if kwargs.get(name, UNSET) is UNSET:
                kwargs[name] = None
        original(self, *args, **kwargs)

    __init__._tinker_hl_copying = True  # type: ignore[attr-defined]
    cls.__init__ = __init__  # type: ignore[misc]


def _wrap_to_dict(cls: type, omitted_nones: tuple[str, ...]) -> None:
    original = cls.__dict__["to_dict"]
    keys = tuple(name.rstrip("_") for name in omitted_nones)  # the wire's names
    image = cls.__name__ == "ImageChunk"

    @functools.wraps(original)
    def to_dict(self: Any) -> dict[str, Any]:
        out: dict[str, Any] = original(self)
        for key in keys:
            if out.get(key, UNSET) is None:
                del out[key]
        if image and isinstance(out.get("data"), bytes):
            out["data"] = base64.b64encode(out["data"]).decode("ascii")
        return out

    cls.to_dict = to_dict  # type: ignore[attr-defined]


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
            if a.init
            and (copier := _CONVERTERS.get((cls.__name__, a.alias)) or _copier(a.type)) is not None
        }
        none_defaults = _none_defaults(cls)
        names = _official_names(cls)
        if copiers or none_defaults or names:
            _wrap(cls, copiers, none_defaults, names)
        if none_defaults or cls.__name__ == "ImageChunk":
            _wrap_to_dict(cls, none_defaults)

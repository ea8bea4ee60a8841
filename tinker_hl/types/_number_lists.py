"""C-speed scans of long lists of numbers (token ids, loss inputs), for the common case.

A forward_backward batch holds millions of list elements, so a per-element Python loop (or several
C passes over each list) costs more than serializing the request. Each function here answers in
one C-level pass whether a list is *certainly* fine. True is a guarantee; False only means "look
closer": the caller then runs its exact per-element check, which also names the first bad
element. The scans never change the list.

`ints_within` and `finite_reals` read what `marshal` writes, because marshal dispatches on exact
types (a bool, an int subclass or a numpy scalar is never written as an int or a float record)
and writes each value in a fixed-size record. The layout is a CPython detail that has not changed
in decades; it is checked once at import, and should it ever differ both functions answer False,
so that the exact checks decide.

A scan's output is the list's encoding, or most of the work of it. Given a `Certified`, the scans
keep what they produced for each list they vouched for, and the request's encoder embeds it
instead of reading the list a second time: the JSON text of the list (the scans then read
orjson's output instead of marshal's) or marshal's records (which the protobuf encoder packs).
"""

from __future__ import annotations

import marshal
from typing import Any

import numpy as np
import orjson

from .._wire_formats import JSON_OPTIONS

__all__ = ["Certified", "finite_reals", "ints_within", "no_numpy_scalars", "python_numbers"]

_PYTHON_NUMBERS = (int, float)
_PYTHON_SCALARS = frozenset({int, float, bool})
# Up to this length a type scan is cheaper than entering np.errstate (measured: ~50 elements).
_SHORT = 32
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1

# Format 2: no back-references (format 3+ writes a repeated object once), so every element has a
# record of its own. A list is b"[", its length (4 bytes), then one record per element; an int in
# [-2**31, 2**31) is b"i" + 4 bytes little-endian, a float b"g" + 8 bytes little-endian IEEE 754.
_MARSHAL_VERSION = 2
_HEADER = 5
_INT_RECORD, _FLOAT_RECORD = 5, 9


def _marshal_layout_as_expected() -> bool:
    try:
        ints = marshal.dumps([0, -1, _INT32_MAX, _INT32_MIN], _MARSHAL_VERSION)
        floats = marshal.dumps([1.0, -2.5], _MARSHAL_VERSION)
        others = marshal.dumps([True, 2**31, 1.0], _MARSHAL_VERSION)
    except ValueError:
        return False
    return (
        ints == bytes.fromhex("5b04000000 6900000000 69ffffffff 69ffffff7f 6900000080")
        and floats == bytes.fromhex("5b02000000 67000000000000f03f 6700000000000004c0")
        and others[_HEADER : _HEADER + 1] == b"T"
        and others[_HEADER + 1 : _HEADER + 2] not in (b"i", b"g")
    )


_MARSHAL_OK = _marshal_layout_as_expected()

# The JSON the request encoder writes; STRICT_INTEGER refuses an int beyond 2**53 (and only
# refuses: the text is the same), which sends it to the exact check.
_JSON_INT_OPTIONS = JSON_OPTIONS | orjson.OPT_STRICT_INTEGER
_JSON_INT_MAX = 2**53 - 1
# Every byte a list of non-negative ints (or finite numbers) can be written with. Anything else
# (`true`, `null` for NaN, a quote, a brace, a nested list's brackets) is left over by
# `bytes.translate` and sends the list to the exact check.
_JSON_DIGITS = b"0123456789,"
_JSON_NUMBER_BYTES = b"0123456789,-+.eE"


class Certified:
    """What the scans produced for the lists they vouched for, by identity, for one request's
    encoder: JSON texts (`json=True`) or marshal's output. It lives for one call, in which the
    lists are validated and encoded back to back in the caller's thread, and it holds each
    list, so that no other list can take its id."""

    __slots__ = ("_by_id", "json")

    def __init__(self, *, json: bool) -> None:
        self.json = json
        self._by_id: dict[int, tuple[list[Any], bytes]] = {}

    def add(self, values: list[Any], encoded: bytes) -> None:
        self._by_id[id(values)] = (values, encoded)

    def get(self, values: object) -> bytes | None:
        hit = self._by_id.get(id(values))
        return hit[1] if hit is not None and hit[0] is values else None

    def __len__(self) -> int:
        return len(self._by_id)


def _records(
    values: list[Any], size: int, kind: bytes, certified: Certified | None = None
) -> bytes | None:
    """marshal's bytes for `values` when every element is a record of `kind`, else None."""
    if not _MARSHAL_OK:
        return None
    out = certified.get(values) if certified is not None else None
    if out is None:
        try:
            out = marshal.dumps(values, _MARSHAL_VERSION)
        except ValueError:  # an object marshal cannot write (orjson.Fragment, an IntEnum...)
            return None
        if certified is not None:
            certified.add(values, out)
    n = len(values)
    # Records 0..k-1 of `size` bytes put record k's type byte at _HEADER + k * size, so all n
    # type bytes being `kind` (and the total length) proves every record is one of `kind`.
    if len(out) != _HEADER + size * n or out[_HEADER::size] != kind * n:
        return None
    return out


def no_numpy_scalars(values: list[Any]) -> bool:
    """True when `values` certainly holds no numpy scalar (which would need `.item()`).

    `sum` runs at C speed over Python ints and floats, and a numpy scalar takes over every
    addition with a Python number (numpy's operators win over int's and float's), so a total that
    is a Python int or float proves there was none. Any other outcome, errors included, is a False.
    (Only a non-number such as a Fraction can turn a numpy total back into a float, and validation
    rejects a list holding one anyway.)
    """
    try:
        if len(values) <= _SHORT and set(map(type, values)) <= _PYTHON_SCALARS:
            # No numpy scalar to warn: skip the errstate context, which would cost more than
            # the scan itself for the short lists RL code builds by the thousand.
            return type(sum(values)) in _PYTHON_NUMBERS
        with np.errstate(all="ignore"):  # a numpy sum may overflow: no warning for a mere scan
            return type(sum(values)) in _PYTHON_NUMBERS
    except Exception:  # a non-number, an int too big for a float, a numpy error: look closer
        return False


def _json_text(values: list[Any], option: int, allowed: bytes) -> bytes | None:
    """orjson's text of `values` when it is a flat list written with `allowed` bytes only and
    every element is a Python number (a sum of them is a Python int or float: an Enum member, an
    orjson.Fragment or a numpy value would be written as a number too, but fails that test)."""
    try:
        text = orjson.dumps(values, option=option)
    except orjson.JSONEncodeError:
        return None
    if text.translate(None, allowed) != b"[]" or not no_numpy_scalars(values):
        return None
    return text


def python_numbers(values: list[Any], *, owned: bool = False) -> list[Any]:
    """A copy of `values` with each numpy scalar made the Python number it holds (a list
    without one, found in one C-speed pass, is copied at C speed); other elements are kept.
    `owned`: `values` is a list the caller made and gives away, returned itself if it holds
    no numpy scalar (no second copy)."""
    if no_numpy_scalars(values):
        return values if owned else list(values)
    return [v.item() if isinstance(v, np.generic) else v for v in values]


def ints_within(
    values: list[Any], low: int, high: int | None, certified: Certified | None = None
) -> bool:
    """True when every value is certainly an int (a bool is not) in [low, high].

    Certifies values in [0, 2**31) when `low` is 0 and in [-2**31, 2**31) when `low` is at most
    -2**31 (with a JSON `certified`: [0, 2**53) and [-2**53, 2**53)); other bounds always get
    False.
    """
    if certified is not None and certified.json:
        if (high is not None and high < _JSON_INT_MAX) or (low != 0 and low > -_JSON_INT_MAX):
            return False
        allowed = _JSON_DIGITS if low == 0 else _JSON_DIGITS + b"-"
        text = _json_text(values, _JSON_INT_OPTIONS, allowed)
        if text is None:
            return False
        certified.add(values, text)
        return True
    if (high is not None and high < _INT32_MAX) or (low != 0 and low > _INT32_MIN):
        return False
    out = _records(values, _INT_RECORD, b"i", certified)
    if out is None:
        return False
    # Non-negative exactly when no record's most significant byte has its high bit set.
    return low != 0 or out[_HEADER + _INT_RECORD - 1 :: _INT_RECORD].isascii()


def finite_reals(values: list[Any], certified: Certified | None = None) -> bool:
    """True when every value is certainly a finite Python float (with a JSON `certified`: a
    finite Python float or int; orjson writes NaN and the infinities as `null`).

    A list with numpy scalars or anything else gets False (the exact check accepts ints and
    numpy numbers).
    """
    if certified is not None and certified.json:
        text = _json_text(values, JSON_OPTIONS, _JSON_NUMBER_BYTES)
        if text is None:
            return False
        certified.add(values, text)
        return True
    out = _records(values, _FLOAT_RECORD, b"g", certified)
    if out is None:
        return False
    # NaN and the infinities have all exponent bits set, so their most significant byte is 0x7f
    # or 0xff. (So is that of a finite value of magnitude >= 2**1009: a False the exact check
    # then overrules.)
    top = out[_HEADER + _FLOAT_RECORD - 1 :: _FLOAT_RECORD]
    return b"\x7f" not in top and b"\xff" not in top

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
"""

from __future__ import annotations

import marshal
from typing import Any

import numpy as np

__all__ = ["finite_reals", "ints_within", "no_numpy_scalars"]

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


def _records(values: list[Any], size: int, kind: bytes) -> bytes | None:
    """marshal's bytes for `values` when every element is a record of `kind`, else None."""
    if not _MARSHAL_OK:
        return None
    try:
        out = marshal.dumps(values, _MARSHAL_VERSION)
    except ValueError:  # an object marshal cannot write (orjson.Fragment, an IntEnum member...)
        return None
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


def ints_within(values: list[Any], low: int, high: int | None) -> bool:
    """True when every value is certainly an int (a bool is not) in [low, high].

    Certifies values in [0, 2**31) when `low` is 0 and in [-2**31, 2**31) when `low` is at most
    -2**31; other bounds always get False.
    """
    if (high is not None and high < _INT32_MAX) or (low != 0 and low > _INT32_MIN):
        return False
    out = _records(values, _INT_RECORD, b"i")
    if out is None:
        return False
    # Non-negative exactly when no record's most significant byte has its high bit set.
    return low != 0 or out[_HEADER + _INT_RECORD - 1 :: _INT_RECORD].isascii()


def finite_reals(values: list[Any]) -> bool:
    """True when every value is certainly a finite Python float.

    A list with ints, numpy scalars or anything else gets False (the exact check accepts ints and
    numpy numbers).
    """
    out = _records(values, _FLOAT_RECORD, b"g")
    if out is None:
        return False
    # NaN and the infinities have all exponent bits set, so their most significant byte is 0x7f
    # or 0xff. (So is that of a finite value of magnitude >= 2**1009: a False the exact check
    # then overrules.)
    top = out[_HEADER + _FLOAT_RECORD - 1 :: _FLOAT_RECORD]
    return b"\x7f" not in top and b"\xff" not in top

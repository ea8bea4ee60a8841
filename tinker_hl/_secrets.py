"""`Secret`: the API key as an object whose repr and str never show it.

The key is wrapped as soon as a client receives it, and only `reveal()` (at the moment a header
is written) gives the text back. Objects passed as function arguments show up in tracebacks
(pytest prints the arguments of every frame of a failing test), in reprs and in log lines; a
`Secret` shows as `Secret('****')` in all of them.
"""

from __future__ import annotations

__all__ = ["Secret"]


class Secret:
    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('****')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> str | tuple[object, ...]:  # never pickled into a file by accident
        raise TypeError("a Secret cannot be pickled")

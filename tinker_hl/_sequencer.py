"""Sequencer: the sequence ids of one training client and the order their requests go out.

Each call takes the next id when it is made (in the caller's thread); its submission waits for
its turn, so the server receives a model's requests in call order even when the coroutines run
in another order. Ids are taken under a lock (any thread); turns are awaited on the client's
event loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


class Sequencer:
    def __init__(self, first: int = 1) -> None:
        self._lock = threading.Lock()
        self._next = first
        self._turn = first
        self._waiting: dict[int, asyncio.Event] = {}

    def take(self) -> int:
        """The next sequence id."""
        with self._lock:
            seq_id = self._next
            self._next += 1
            return seq_id

    def take_encoding(self, encoders: Sequence[Callable[[int], T]]) -> list[tuple[int, T]]:
        """Consecutive ids, each with what its encoder made of it; the ids are taken only once
        every encoder succeeded. An id taken for a request that then failed to encode would
        never be sent, and every later request would wait for it (here and on the server,
        which runs a model's requests in id order)."""
        with self._lock:
            first = self._next
            encoded = [(first + i, encode(first + i)) for i, encode in enumerate(encoders)]
            self._next = first + len(encoded)
            return encoded

    @property
    def turn(self) -> int:
        """The id whose submission may go out now."""
        return self._turn

    async def wait_turn(self, seq_id: int) -> None:
        """Return once every earlier id has ended its turn."""
        if self._turn < seq_id:
            event = self._waiting.setdefault(seq_id, asyncio.Event())
            await event.wait()
            self._waiting.pop(seq_id, None)

    def end_turn(self, seq_id: int) -> None:
        """`seq_id` went out (or failed to): the next id may go."""
        self._turn = seq_id + 1
        event = self._waiting.get(self._turn)
        if event is not None:
            event.set()

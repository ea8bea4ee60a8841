"""Which of a sampling session's requests finished, in order: what retrieve_futures answers."""

from __future__ import annotations

import asyncio

from .futures import RequestRecord


class SamplingCompletionLog:
    """Per sampling session: its submitted requests, and the order in which they finished.

    A completion's cursor is its position in that order (from 1), so a poll with
    `prev_cursor` answers what finished after it."""

    def __init__(self) -> None:
        self._pending: dict[str, list[RequestRecord]] = {}
        self._finished: dict[str, list[RequestRecord]] = {}
        self._session_of: dict[str, str] = {}
        self._changed: dict[str, asyncio.Event] = {}

    def add(self, sampling_session_id: str, record: RequestRecord) -> None:
        self._pending.setdefault(sampling_session_id, []).append(record)
        self._session_of[record.request_id] = sampling_session_id

    def _event(self, session: str) -> asyncio.Event:
        return self._changed.setdefault(session, asyncio.Event())

    def note_done(self, record: RequestRecord) -> None:
        session = self._session_of.get(record.request_id)
        if session is not None:
            self._event(session).set()

    def _collect(self, session: str) -> None:
        pending = self._pending.get(session, [])
        still = [r for r in pending if not r.done.is_set()]
        finished = [r for r in pending if r.done.is_set()]
        finished.sort(key=lambda r: r.finished_at or 0.0)
        self._pending[session] = still
        self._finished.setdefault(session, []).extend(finished)

    def pending(self, session: str) -> list[RequestRecord]:
        return [r for r in self._pending.get(session, []) if not r.done.is_set()]

    def since(self, session: str, cursor: int) -> tuple[list[RequestRecord], int]:
        self._collect(session)
        done = self._finished.get(session, [])
        return done[cursor:], len(done)

    async def wait(self, session: str, records: list[RequestRecord], timeout: float) -> None:
        """Until one of `records` finishes (or one is cancelled), or `timeout` passes."""
        event = self._event(session)
        event.clear()
        waits = [asyncio.ensure_future(r.done.wait()) for r in records]
        waits.append(asyncio.ensure_future(event.wait()))
        try:
            await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()

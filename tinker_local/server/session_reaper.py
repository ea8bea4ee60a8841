"""Freeing the models of sessions that ended: a client that finished its session
(`sessions/{id}/finish`) or closed (its telemetry says SESSION_END), or one that stopped
heartbeating for `session_ttl_s` (crashed, killed, lost).

A model is freed (weights and optimizer state dropped, status "unloaded") only when nothing
used it for `session_ttl_s` either, so a client busy training is never cut off by one late
heartbeat. Requests to a freed model answer that it was unloaded and why; its checkpoints stay.
A freed model's queued work is cancelled (Backend.free_model); the request running finishes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .state import Backend

log = logging.getLogger(__name__)

ENDED = "its session ended when its client closed"
FINISHED = "its session was finished ({reason})"
EXPIRED = "its session expired after {ttl:.0f} s without a heartbeat"


def free_session_models(backend: Backend, user: str, session_id: str, reason: str) -> int:
    """Free every live model the user created in the session; return how many."""
    freed = 0
    for handle in list(backend.models.values()):
        if handle.session_id == session_id and handle.user == user and handle.holds_memory:
            backend.free_model(handle, reason)
            freed += 1
    return freed


def reports_session_end(events: list[Any]) -> bool:
    """True when a telemetry batch reports the end of its session."""
    return any(isinstance(e, dict) and e.get("event") == "SESSION_END" for e in events)


def reap_expired(backend: Backend, now: float | None = None) -> int:
    """Free the models of expired sessions that nothing used within the TTL (blocking: runs
    in a store thread)."""
    now = time.time() if now is None else now
    ttl = backend.config.session_ttl_s
    idle: dict[str, list[Any]] = {}
    for handle in list(backend.models.values()):
        if handle.holds_memory and handle.session_id and now - handle.last_used > ttl:
            idle.setdefault(handle.session_id, []).append(handle)
    freed = 0
    for session_id, handles in idle.items():
        row = backend.store.get_session(session_id)
        if row is not None and not backend.session_expired(row, now):
            continue
        for handle in handles:
            backend.free_model(handle, EXPIRED.format(ttl=ttl))
            freed += 1
    return freed


async def reap_forever(backend: Backend) -> None:
    while True:
        await asyncio.sleep(backend.config.session_reap_interval_s)
        try:
            await backend.db(reap_expired, backend)
        except Exception:  # e.g. the database is locked: try again next round
            log.warning("could not look for expired sessions", exc_info=True)

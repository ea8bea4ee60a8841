"""Checkpoint lifetimes and metadata (SDK 0.38): `ttl_seconds` and `user_metadata` on saves,
`PUT .../checkpoints/{kind}/{name}/ttl`, `overwrite`, and the sweep that deletes expired
checkpoints (their folders first, then their rows, like a user's delete)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from tinker_api_client.limits import CHECKPOINT_TTL_MAX_S, CHECKPOINT_TTL_MIN_S

from .endpoint import endpoint, read_body
from .errors import ApiError, bad_request
from .models import ModelHandle
from .state import Backend
from .store import CHECKPOINT_KINDS

log = logging.getLogger(__name__)

# The service's bounds for a checkpoint's time to live (declared in openapi.yaml).
MIN_TTL_S = CHECKPOINT_TTL_MIN_S
MAX_TTL_S = CHECKPOINT_TTL_MAX_S
SWEEP_PERIOD_S = 60.0


def check_ttl(ttl: Any, field: str = "ttl_seconds") -> None:
    """Also checked by the schema; repeated here for bodies decoded without it."""
    if ttl is None:
        return
    if type(ttl) is not int or not MIN_TTL_S <= ttl <= MAX_TTL_S:
        raise bad_request(
            f"{field}: expected null or an integer from {MIN_TTL_S} (1 hour) to {MAX_TTL_S} "
            f"(10 years), got {ttl!r}",
            field,
        )


def check_save_options(raw: Any, sampler: bool) -> None:
    """The save fields the backend cannot honour are refused by name."""
    if not isinstance(raw, dict):
        return
    check_ttl(raw.get("ttl_seconds"))
    if sampler and raw.get("kind", "snapshot") != "snapshot":
        raise bad_request(
            f"kind: only 'snapshot' sampler weights are supported locally, got {raw['kind']!r}",
            "kind",
        )
    if raw.get("path") is None:
        for field in ("ttl_seconds", "user_metadata"):
            if raw.get(field) is not None:
                raise bad_request(
                    f"{field}: applies to a named checkpoint; give `path` (an unnamed sampler "
                    "save makes an ephemeral sampling session, not a checkpoint)",
                    field,
                )


def record_save_options(backend: Backend, run_id: str, kind: str, name: str, raw: Any) -> None:
    """Called once the checkpoint's row exists: its expiry and metadata (or none)."""
    ttl, meta = raw.get("ttl_seconds"), raw.get("user_metadata")
    expires = None if ttl is None else time.time() + ttl
    backend.store.set_checkpoint_extras(run_id, kind, name, expires, meta)


def make_room(backend: Backend, handle: ModelHandle, kind: str, name: str, overwrite: bool) -> None:
    """With `overwrite`, an existing checkpoint of that name is deleted before the new one is
    written; without it, the existing one makes the save fail (as before)."""
    row = backend.store.get_checkpoint(handle.model_id, kind, name)
    if row is None or not overwrite:
        return
    delete_checkpoint(backend, row.run_id, row.kind, row.name)


def delete_checkpoint(backend: Backend, run_id: str, kind: str, name: str) -> None:
    """As a user's delete: the files, then the row (see Backend.delete_checkpoint), then the
    checkpoint's expiry and metadata."""
    row = backend.store.get_checkpoint(run_id, kind, name)
    if row is not None:
        backend.delete_checkpoint(row)
    backend.store.forget_checkpoint_extras(run_id, kind, name)


def expire_checkpoints(backend: Backend, now: float | None = None) -> int:
    """Delete every checkpoint whose time to live has passed; the number deleted."""
    keys = backend.store.expired_checkpoint_keys(time.time() if now is None else now)
    for run_id, kind, name in keys:
        delete_checkpoint(backend, run_id, kind, name)
    if keys:
        log.info("deleted %d expired checkpoint(s)", len(keys))
    return len(keys)


async def expire_forever(backend: Backend, period_s: float = SWEEP_PERIOD_S) -> None:
    while True:
        await asyncio.sleep(period_s)
        try:
            await backend.registry.run_blocking(lambda: expire_checkpoints(backend))
        except Exception:  # a sweep that fails is retried at the next period
            log.exception("checkpoint expiry sweep failed")


async def set_checkpoint_ttl(request: Request, backend: Backend, user: str) -> Response:
    p = request.path_params
    kind = p["checkpoint_kind"]
    if kind not in CHECKPOINT_KINDS:
        raise ApiError(422, f"checkpoint_kind: expected one of {list(CHECKPOINT_KINDS)}")
    # The body first (its own 400s, e.g. too deeply nested), then the store, off the event loop.
    body = await read_body(request, "SetCheckpointTtlRequest")
    ttl = body.get("ttl_seconds")
    check_ttl(ttl)

    def set_expiry() -> None:
        row = backend.own_checkpoint(user, p["training_run_id"], kind, p["checkpoint_name"])
        expires = None if ttl is None else time.time() + ttl
        backend.store.set_checkpoint_expiry(row.run_id, row.kind, row.name, expires)

    await backend.db(set_expiry)
    return Response(status_code=204)


@contextlib.asynccontextmanager
async def sweeping(backend: Backend) -> Any:
    task = asyncio.create_task(expire_forever(backend), name="checkpoint-expiry")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def routes() -> list[Route]:
    ttl = (
        "/api/v1/training_runs/{training_run_id}/checkpoints/{checkpoint_kind}/"
        "{checkpoint_name}/ttl"
    )
    return [Route(ttl, endpoint(set_checkpoint_ttl), methods=["PUT"])]

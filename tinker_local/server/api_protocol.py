"""The protocol steps newer official SDKs take (0.18 to 0.38): client/config and
client/dynamic_config (feature flags), sessions/{id}/finish, cancel_future and the batched
retrieve_futures poll, and auth/token (JWT mode; the signer is in jwt_auth.py).

The flags answered are the ones this server really honours: a client keeps its own default
for any flag it is not told, so every flag whose default would be wrong for us is answered.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from .endpoint import endpoint, read_body
from .errors import not_found
from .futures import RequestRecord
from .session_reaper import FINISHED, free_session_models
from .state import Backend

# How often a live client re-reads client/dynamic_config.
DYNAMIC_CONFIG_REFRESH_S = 300
CANCEL_BATCH_SIZE = 64


def client_flags(backend: Backend) -> dict[str, Any]:
    """What client/config answers; see the spec's ClientConfigResponse."""
    return {
        "pjwt_auth_enabled": backend.jwt is not None,
        "credential_default_source": "api_key",
        # 0.22-era switches for what 0.25+ does unconditionally: protobuf forward_backward
        # bodies (zstd allowed), and forward sent as forward_backward with forward_only.
        "proto_write_fwdbwd": True,
        "fwd_via_fwdbwd": True,
        "proto_compress_fwdbwd": True,
        "parallel_fwdbwd_chunks": True,
        "create_model_via_load_weights": True,
        "sample_use_retrieve_futures": True,
        # Not offered: traced losses run on the client (forward_backward_custom still works).
        "custom_loss_server_side": False,
        "sample_join_sampling_session": False,
    }


async def client_config(request: Request, backend: Backend, user: str) -> dict[str, Any]:
    await read_body(request, "ClientConfigRequest")
    return client_flags(backend)


async def client_dynamic_config(request: Request, backend: Backend, user: str) -> dict[str, Any]:
    await read_body(request, "ClientConfigRequest")
    return {
        "refresh_interval_sec": DYNAMIC_CONFIG_REFRESH_S,
        "sample_cancel_enabled": True,
        "sample_cancel_max_batch_size": CANCEL_BATCH_SIZE,
    }


async def finish_session(request: Request, backend: Backend, user: str) -> dict[str, Any]:
    session_id = request.path_params["session_id"]
    body = await read_body(request, "FinishSessionRequest")
    reason, detail = body["reason"]["type"], body.get("detail")

    def finish() -> tuple[str, str | None, float] | None:  # store calls: off the event loop
        backend.own_session(user, session_id)
        backend.note_sdk_version(request, session_id)
        backend.store.finish_session(session_id, reason, detail, time.time())
        kept = backend.store.session_finish(session_id)
        # A finished session is over: its models are freed (and their queued work cancelled)
        # as when its client closes; their checkpoints stay.
        first_reason = kept[0] if kept is not None else reason
        free_session_models(backend, user, session_id, FINISHED.format(reason=first_reason))
        return kept

    kept = await backend.db(finish)
    assert kept is not None
    return {"session_id": session_id, "reason": kept[0], "detail": kept[1]}


# -- cancel_future -------------------------------------------------------------------------------
CANCELLED_MESSAGE = "cancelled by the client (cancel_future)"


async def cancel_future(request: Request, backend: Backend, user: str) -> dict[str, Any]:
    body = await read_body(request, "CancelFutureRequest")
    record = backend.registry.get(body["request_id"], user)
    if record is None:
        raise not_found(f"request {body['request_id']!r} not found (unknown, or expired)")
    cancelled = not record.done.is_set()
    if cancelled:
        # The job checks this before it starts (see `skip_if_cancelled`); a running one
        # finishes, and `settle` leaves this outcome in place.
        record.fail(CANCELLED_MESSAGE, "user")
        backend.sampling_log.note_done(record)
    return {"request_id": record.request_id, "cancelled": cancelled}


def skip_if_cancelled(record_box: list[RequestRecord]) -> None:
    """Called by a queued job as it starts: a cancelled request does no work."""
    if record_box and record_box[0].done.is_set():
        from .errors import UserError

        raise UserError(CANCELLED_MESSAGE)


# -- retrieve_futures ----------------------------------------------------------------------------
def _completion(record: RequestRecord) -> dict[str, Any]:
    if record.result is not None:
        return {"state": "finished", "request_id": record.request_id}
    return {"state": "failed", "request_id": record.request_id}


async def retrieve_futures(request: Request, backend: Backend, user: str) -> dict[str, Any]:
    body = await read_body(request, "FuturesRetrieveRequest")
    session = body["target"]["sampling_session_id"]
    backend.own_sampler(user, session)
    cursor = int(body.get("prev_cursor", 0))
    wanted = body.get("timeout")
    timeout = (
        backend.config.long_poll_s if wanted is None else min(wanted, backend.config.long_poll_s)
    )
    log = backend.sampling_log
    done, total = log.since(session, cursor)
    if not done:
        await log.wait(session, log.pending(session), timeout)
        done, total = log.since(session, cursor)
    return {"completions": [_completion(r) for r in done], "cursor": max(total, cursor)}


async def auth_token(request: Request, backend: Backend, user: str) -> dict[str, Any]:
    await read_body(request, "AuthTokenRequest")
    if backend.jwt is None:
        raise not_found("JWT mode is off on this server: send the API key itself in X-API-Key")
    # `user` came from an API key or from a still-valid token (a client renewing early).
    return {"jwt": backend.jwt.issue(user)}


def routes() -> list[Route]:
    post = ["POST"]
    return [
        Route("/api/v1/client/config", endpoint(client_config), methods=post),
        Route("/api/v1/client/dynamic_config", endpoint(client_dynamic_config), methods=post),
        Route("/api/v1/sessions/{session_id}/finish", endpoint(finish_session), methods=post),
        Route("/api/v1/cancel_future", endpoint(cancel_future), methods=post),
        Route("/api/v1/retrieve_futures", endpoint(retrieve_futures), methods=post),
        Route("/api/v1/auth/token", endpoint(auth_token), methods=post),
    ]

"""`POST /api/v1/copy_weights` (SDK 0.38): a readable checkpoint copied into a new training run
that cannot be trained on, in one of the caller's sessions or in a new session of a project.

The copy shares the source's files (hard links) where the file system allows, so it costs no
space; deleting either one leaves the other intact. A repeated `X-Idempotency-Key` answers the
first copy's path again instead of making a second copy (the client retries with the same key).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.routing import Route
from tinker_api_client.models import CopyWeightsRequest, CopyWeightsResponse

from .checkpoint_ttl import check_ttl
from .endpoint import endpoint, parse_model, read_body
from .errors import access_token_refused, bad_request, conflict
from .state import Backend
from .store import SessionRow
from .wire import opt_none


def _link_tree(source: Path, dest: Path) -> None:
    """Hard-link every file of `source` into `dest` (a copy where links are not possible)."""
    for path in source.rglob("*"):
        target = dest / path.relative_to(source)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, target)
        except OSError:
            shutil.copy2(path, target)


def _destination(
    backend: Backend, user: str, body: CopyWeightsRequest
) -> tuple[str, str, SessionRow | None, str | None]:
    """(session id, training run id) that will own the copy, and the session to create with
    its project (None: an existing session of the user's)."""
    session_id = opt_none(body.session_id)
    if session_id is not None:
        seq = opt_none(body.model_seq_id)
        if seq is None:
            raise bad_request("model_seq_id: required with session_id", "model_seq_id")
        backend.own_session(user, session_id)
        run_id = f"{session_id}:train:{seq}"
        if backend.store.get_run(run_id) is not None or run_id in backend.models:
            raise conflict(
                f"model_seq_id: session {session_id} already has a training run in slot {seq}"
            )
        return session_id, run_id, None, None
    project = opt_none(body.destination_project_id)
    if project is None:
        raise bad_request(
            "destination_project_id: give a destination project, or a session_id with its "
            "model_seq_id",
            "destination_project_id",
        )
    now = time.time()
    session = SessionRow(
        session_id=str(uuid.uuid4()),
        user=user,
        created_at=now,
        last_heartbeat=now,
        tags=["copy_weights"],
        user_metadata=None,
        sdk_version="copy_weights",
    )
    return session.session_id, f"{session.session_id}:train:0", session, project


def _copy(backend: Backend, user: str, body: CopyWeightsRequest, key: str | None) -> str:
    store = backend.store
    source = backend.checkpoint_by_path(user, body.source_path, "source_path")
    if key is not None:
        earlier = store.copied_path(user, key)
        if earlier is not None:
            return earlier
    source_run = store.get_run(source.run_id)
    if source_run is None:
        raise bad_request("source_path: the checkpoint's training run no longer exists")
    ttl = opt_none(body.ttl_seconds)
    check_ttl(ttl)
    session_id, run_id, new_session, project = _destination(backend, user, body)
    now = time.time()
    source_dir = backend.checkpoint_dir(source)
    # The folder first (atomically), then every row in one transaction: a failure anywhere
    # leaves neither a half copy nor its session or run (the folder is removed again).
    row, _folder = backend.write_checkpoint_folder(
        run_id, user, source.kind, source.name, lambda staging: _link_tree(source_dir, staging)
    )
    _expires, metadata = store.checkpoint_extras(source.run_id, source.kind, source.name)
    try:
        with store.transaction():
            if new_session is not None:
                store.create_session(new_session)
                store.set_session_labels(new_session.session_id, project, None)
            # The new run has the source's model settings, and nothing else of it.
            store.create_run(
                dataclasses.replace(
                    source_run,
                    run_id=run_id,
                    user=user,
                    session_id=session_id,
                    user_metadata=None,
                    created_at=now,
                    last_request_time=now,
                    corrupted=False,
                )
            )
            store.add_checkpoint(row)
            if ttl is not None or metadata is not None:  # the source's expiry is not inherited
                expires_at = None if ttl is None else now + ttl
                store.set_checkpoint_extras(run_id, row.kind, row.name, expires_at, metadata)
            if key is not None:
                store.record_copy(user, key, row.tinker_path)
    except BaseException:
        backend.files.remove_new_run_dir(run_id)  # the run is new: its folder holds the copy only
        raise
    return row.tinker_path


async def copy_weights(request: Request, backend: Backend, user: str) -> dict[str, Any]:
    if request.headers.get("x-tinker-weights-access-token") is not None:
        raise access_token_refused("X-Tinker-Weights-Access-Token")
    body = parse_model(CopyWeightsRequest, await read_body(request, "CopyWeightsRequest"))
    if opt_none(body.weights_access_token) is not None:
        raise access_token_refused("weights_access_token")
    key = request.headers.get("x-idempotency-key") or None
    path = await backend.db(_copy, backend, user, body, key)
    return CopyWeightsResponse(tinker_path=path).to_dict()


def routes() -> list[Route]:
    return [Route("/api/v1/copy_weights", endpoint(copy_weights), methods=["POST"])]

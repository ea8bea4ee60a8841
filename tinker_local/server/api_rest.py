"""REST reads and checkpoint management: training runs, checkpoints (list, delete, publish,
archive download), sessions and samplers."""

from __future__ import annotations

import email.utils
import json
import time
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route
from tinker_api_client.models import (
    CheckpointsListResponse,
    GetSamplerResponse,
    GetSessionResponse,
    ListSessionsResponse,
    TrainingRunsResponse,
)

from .endpoint import endpoint, in_store_thread, pagination, query_accessible
from .errors import ApiError, conflict, not_found, shown
from .jsonio import error_response
from .state import Backend
from .store import CHECKPOINT_KINDS, CheckpointRow, RunRow
from .wire import checkpoint_to_wire, cursor, rfc3339, training_run_to_wire


def _run_to_wire(backend: Backend, run: RunRow) -> Any:
    last = backend.store.last_checkpoint(run.run_id, "weights")
    last_sampler = backend.store.last_checkpoint(run.run_id, "sampler_weights")
    return training_run_to_wire(run, last, last_sampler)


def _checkpoint(backend: Backend, row: CheckpointRow) -> Any:
    return checkpoint_to_wire(row, backend.store.checkpoint_extras(row.run_id, row.kind, row.name))


def _checkpoint_params(request: Request) -> tuple[str, str, str]:
    p = request.path_params
    kind = p["checkpoint_kind"]
    if kind not in CHECKPOINT_KINDS:
        raise ApiError(
            422,
            f"checkpoint_kind: expected one of {list(CHECKPOINT_KINDS)}, got {shown(kind)}",
            "checkpoint_kind",
        )
    return p["training_run_id"], kind, p["checkpoint_name"]


def list_training_runs(request: Request, backend: Backend, user: str) -> dict[str, Any]:
    limit, offset = pagination(request)
    runs, total = backend.store.list_runs(
        user,
        limit,
        offset,
        accessible=query_accessible(request),
        project_id=request.query_params.get("project_id"),
    )
    return TrainingRunsResponse(
        training_runs=[_run_to_wire(backend, r) for r in runs],
        cursor=cursor(offset, limit, total),
    ).to_dict()


def get_training_run(request: Request, backend: Backend, user: str) -> dict[str, Any]:
    run_id = request.path_params["training_run_id"]
    run = backend.readable_run(user, run_id, query_accessible(request))
    return dict(_run_to_wire(backend, run).to_dict())


def list_checkpoints(request: Request, backend: Backend, user: str) -> dict[str, Any]:
    run = backend.own_run(user, request.path_params["training_run_id"])
    rows = backend.store.list_run_checkpoints(run.run_id)
    return CheckpointsListResponse(
        checkpoints=[_checkpoint(backend, r) for r in rows],
        cursor=cursor(0, len(rows), len(rows)),
    ).to_dict()


def list_user_checkpoints(request: Request, backend: Backend, user: str) -> dict[str, Any]:
    limit, offset = pagination(request)
    rows, total = backend.store.list_user_checkpoints(user, limit, offset)
    return CheckpointsListResponse(
        checkpoints=[_checkpoint(backend, r) for r in rows],
        cursor=cursor(offset, limit, total),
    ).to_dict()


def delete_checkpoint(request: Request, backend: Backend, user: str) -> Response:
    row = backend.own_checkpoint(user, *_checkpoint_params(request))
    backend.delete_checkpoint(row)
    return Response(status_code=204)


def publish_checkpoint(request: Request, backend: Backend, user: str) -> Response:
    row = backend.own_checkpoint(user, *_checkpoint_params(request))
    if row.public:
        raise conflict(f"checkpoint {row.tinker_path} is already public")
    backend.store.set_checkpoint_public(row.run_id, row.kind, row.name, True)
    return Response(status_code=204)


def unpublish_checkpoint(request: Request, backend: Backend, user: str) -> Response:
    row = backend.own_checkpoint(user, *_checkpoint_params(request))
    if not row.public:
        raise conflict(f"checkpoint {row.tinker_path} is not public")
    backend.store.set_checkpoint_public(row.run_id, row.kind, row.name, False)
    backend.samplers.evict(f"path:{row.tinker_path}")
    return Response(status_code=204)


def publish_or_unpublish(request: Request, backend: Backend, user: str) -> Response:
    if request.method == "DELETE":
        return unpublish_checkpoint(request, backend, user)
    return publish_checkpoint(request, backend, user)


def get_checkpoint_archive_url(request: Request, backend: Backend, user: str) -> Response:
    run_id, kind, name = _checkpoint_params(request)
    row = backend.readable_checkpoint(user, run_id, kind, name)
    expires_at = time.time() + backend.config.archive_url_ttl_s
    token = backend.signer.sign(row, user, expires_at)
    url = str(request.base_url).rstrip("/") + "/api/v1/archives/" + quote(token, safe="")
    return RedirectResponse(
        url,
        status_code=302,
        headers={"Expires": email.utils.formatdate(expires_at, usegmt=True)},
    )


def download_archive(request: Request, backend: Backend, user: str) -> Response:
    """The signed URL's target: the token authorises the download, no API key needed. What the
    token names is checked again now: the same checkpoint (not one re-created under its name),
    still readable by the user the link was made for (their own, or still public)."""
    gone = error_response(not_found("archive link is invalid, has expired or was revoked"))
    grant = backend.signer.verify(request.path_params["token"])
    if grant is None:
        return gone
    row = backend.store.get_checkpoint(grant.run_id, grant.kind, grant.name)
    if row is None or row.nonce != grant.nonce or not (row.user == grant.user or row.public):
        return gone
    folder = backend.checkpoint_dir(row)
    if not folder.is_dir():
        return gone
    filename = f"{row.run_id}-{row.kind}-{row.name}.tar"
    return StreamingResponse(
        backend.files.iter_tar(folder, row.name),
        media_type="application/x-tar",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def list_sessions(request: Request, backend: Backend, user: str) -> dict[str, Any]:
    limit, offset = pagination(request)
    ids, _total = backend.store.list_sessions(
        user, limit, offset, accessible=query_accessible(request)
    )
    return ListSessionsResponse(sessions=ids).to_dict()


def get_session(request: Request, backend: Backend, user: str) -> dict[str, Any]:
    session_id = request.path_params["session_id"]
    session = backend.readable_session(user, session_id, query_accessible(request))
    runs, samplers = backend.store.session_contents(session.session_id)
    if session.user != user:  # another user's session: only its published runs, no samplers
        runs, samplers = [r for r in runs if backend.store.run_is_published(r)], []
    _project, display_name = backend.store.session_labels(session.session_id)
    out = GetSessionResponse.from_dict(
        {
            "training_run_ids": runs,
            "sampler_ids": samplers,
            "user_metadata": _string_values(session.user_metadata),
            "display_name": display_name,
        }
    )
    # Extras (objects keep unknown properties): liveness of the session.
    out.additional_properties = {
        "expired": backend.session_expired(session),
        "last_heartbeat_time": rfc3339(session.last_heartbeat),
    }
    return out.to_dict()


def _string_values(meta: dict[str, Any] | None) -> dict[str, str] | None:
    """Session metadata as the wire's string map (0.7.0 clients may have sent other JSON)."""
    if meta is None:
        return None
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in meta.items()}


def get_sampler(request: Request, backend: Backend, user: str) -> dict[str, Any]:
    row = backend.own_sampler(user, request.path_params["sampler_id"])
    from tinker_local.engine.presets import PRESETS

    preset = PRESETS.get(row.base_model)
    return GetSamplerResponse(
        sampler_id=row.sampler_id,
        base_model=row.base_model,
        model_path=row.model_path,
        tokenizer_id=None if preset is None else preset.tokenizer_id,
    ).to_dict()


def routes() -> list[Route]:
    ckpt = "/api/v1/training_runs/{training_run_id}/checkpoints/{checkpoint_kind}/{checkpoint_name}"
    return [
        Route(
            "/api/v1/training_runs", endpoint(in_store_thread(list_training_runs)), methods=["GET"]
        ),
        Route(
            "/api/v1/training_runs/{training_run_id}",
            endpoint(in_store_thread(get_training_run)),
            methods=["GET"],
        ),
        Route(
            "/api/v1/training_runs/{training_run_id}/checkpoints",
            endpoint(in_store_thread(list_checkpoints)),
            methods=["GET"],
        ),
        Route(ckpt, endpoint(in_store_thread(delete_checkpoint)), methods=["DELETE"]),
        Route(
            ckpt + "/archive",
            endpoint(in_store_thread(get_checkpoint_archive_url)),
            methods=["GET"],
        ),
        # One route for both methods, so a 405 lists both in its Allow header.
        Route(
            ckpt + "/publish",
            endpoint(in_store_thread(publish_or_unpublish)),
            methods=["POST", "DELETE"],
        ),
        Route(
            "/api/v1/checkpoints", endpoint(in_store_thread(list_user_checkpoints)), methods=["GET"]
        ),
        Route("/api/v1/sessions", endpoint(in_store_thread(list_sessions)), methods=["GET"]),
        Route(
            "/api/v1/sessions/{session_id}", endpoint(in_store_thread(get_session)), methods=["GET"]
        ),
        Route(
            "/api/v1/samplers/{sampler_id}", endpoint(in_store_thread(get_sampler)), methods=["GET"]
        ),
        Route(
            "/api/v1/archives/{token}",
            endpoint(in_store_thread(download_archive), auth=False),
            methods=["GET"],
        ),
    ]

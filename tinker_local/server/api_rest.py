"""REST reads and checkpoint management: training runs, checkpoints (list, delete, publish,
archive download), sessions and samplers."""

from __future__ import annotations

import email.utils
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

from .endpoint import endpoint, pagination
from .errors import ApiError, conflict, not_found
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
            f"checkpoint_kind: expected one of {list(CHECKPOINT_KINDS)}, got {kind[:40]!r}",
            "checkpoint_kind",
        )
    return p["training_run_id"], kind, p["checkpoint_name"]


async def list_training_runs(request: Request, backend: Backend, user: str) -> dict[str, Any]:
    limit, offset = pagination(request)
    runs, total = backend.store.list_runs(user, limit, offset)
    return TrainingRunsResponse(
        training_runs=[_run_to_wire(backend, r) for r in runs],
        cursor=cursor(offset, limit, total),
    ).to_dict()


async def get_training_run(request: Request, backend: Backend, user: str) -> dict[str, Any]:
    run = backend.own_run(user, request.path_params["training_run_id"])
    return dict(_run_to_wire(backend, run).to_dict())


async def list_checkpoints(request: Request, backend: Backend, user: str) -> dict[str, Any]:
    run = backend.own_run(user, request.path_params["training_run_id"])
    rows = backend.store.list_run_checkpoints(run.run_id)
    return CheckpointsListResponse(
        checkpoints=[_checkpoint(backend, r) for r in rows],
        cursor=cursor(0, len(rows), len(rows)),
    ).to_dict()


async def list_user_checkpoints(request: Request, backend: Backend, user: str) -> dict[str, Any]:
    limit, offset = pagination(request)
    rows, total = backend.store.list_user_checkpoints(user, limit, offset)
    return CheckpointsListResponse(
        checkpoints=[_checkpoint(backend, r) for r in rows],
        cursor=cursor(offset, limit, total),
    ).to_dict()


def _forget_checkpoint(backend: Backend, row: CheckpointRow) -> None:
    backend.samplers.evict(f"path:{row.tinker_path}")


async def delete_checkpoint(request: Request, backend: Backend, user: str) -> Response:
    row = backend.own_checkpoint(user, *_checkpoint_params(request))
    # Row first: a folder without a row is never listed (and is removed at start-up).
    backend.store.delete_checkpoint(row.run_id, row.kind, row.name)
    _forget_checkpoint(backend, row)
    backend.files.remove_dir(backend.checkpoint_dir(row))
    return Response(status_code=204)


async def publish_checkpoint(request: Request, backend: Backend, user: str) -> Response:
    row = backend.own_checkpoint(user, *_checkpoint_params(request))
    if row.public:
        raise conflict(f"checkpoint {row.tinker_path} is already public")
    backend.store.set_checkpoint_public(row.run_id, row.kind, row.name, True)
    return Response(status_code=204)


async def unpublish_checkpoint(request: Request, backend: Backend, user: str) -> Response:
    row = backend.own_checkpoint(user, *_checkpoint_params(request))
    if not row.public:
        raise conflict(f"checkpoint {row.tinker_path} is not public")
    backend.store.set_checkpoint_public(row.run_id, row.kind, row.name, False)
    _forget_checkpoint(backend, row)
    return Response(status_code=204)


async def publish_or_unpublish(request: Request, backend: Backend, user: str) -> Response:
    if request.method == "DELETE":
        return await unpublish_checkpoint(request, backend, user)
    return await publish_checkpoint(request, backend, user)


async def get_checkpoint_archive_url(request: Request, backend: Backend, user: str) -> Response:
    run_id, kind, name = _checkpoint_params(request)
    row = backend.readable_checkpoint(user, run_id, kind, name)
    expires_at = time.time() + backend.config.archive_url_ttl_s
    token = backend.signer.sign(row.run_id, row.kind, row.name, expires_at)
    url = str(request.base_url).rstrip("/") + "/api/v1/archives/" + quote(token, safe="")
    return RedirectResponse(
        url,
        status_code=302,
        headers={"Expires": email.utils.formatdate(expires_at, usegmt=True)},
    )


async def download_archive(request: Request, backend: Backend, user: str) -> Response:
    """The signed URL's target: the token authorises the download, no API key needed."""
    grant = backend.signer.verify(request.path_params["token"])
    if grant is None:
        return error_response(not_found("archive link is invalid or has expired"))
    row = backend.store.get_checkpoint(grant.run_id, grant.kind, grant.name)
    folder = None if row is None else backend.checkpoint_dir(row)
    if row is None or folder is None or not folder.is_dir():
        return error_response(not_found("the checkpoint no longer exists"))
    filename = f"{row.run_id}-{row.kind}-{row.name}.tar"
    return StreamingResponse(
        backend.files.iter_tar(folder, row.name),
        media_type="application/x-tar",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def list_sessions(request: Request, backend: Backend, user: str) -> dict[str, Any]:
    limit, offset = pagination(request)
    ids, _total = backend.store.list_sessions(user, limit, offset)
    return ListSessionsResponse(sessions=ids).to_dict()


async def get_session(request: Request, backend: Backend, user: str) -> dict[str, Any]:
    session = backend.own_session(user, request.path_params["session_id"])
    runs, samplers = backend.store.session_contents(session.session_id)
    out = GetSessionResponse(training_run_ids=runs, sampler_ids=samplers)
    # Extras (objects keep unknown properties): liveness of the session.
    out.additional_properties = {
        "expired": backend.session_expired(session),
        "last_heartbeat_time": rfc3339(session.last_heartbeat),
    }
    return out.to_dict()


async def get_sampler(request: Request, backend: Backend, user: str) -> dict[str, Any]:
    row = backend.own_sampler(user, request.path_params["sampler_id"])
    return GetSamplerResponse(
        sampler_id=row.sampler_id, base_model=row.base_model, model_path=row.model_path
    ).to_dict()


def routes() -> list[Route]:
    ckpt = "/api/v1/training_runs/{training_run_id}/checkpoints/{checkpoint_kind}/{checkpoint_name}"
    return [
        Route("/api/v1/training_runs", endpoint(list_training_runs), methods=["GET"]),
        Route(
            "/api/v1/training_runs/{training_run_id}",
            endpoint(get_training_run),
            methods=["GET"],
        ),
        Route(
            "/api/v1/training_runs/{training_run_id}/checkpoints",
            endpoint(list_checkpoints),
            methods=["GET"],
        ),
        Route(ckpt, endpoint(delete_checkpoint), methods=["DELETE"]),
        Route(ckpt + "/archive", endpoint(get_checkpoint_archive_url), methods=["GET"]),
        # One route for both methods, so a 405 lists both in its Allow header.
        Route(ckpt + "/publish", endpoint(publish_or_unpublish), methods=["POST", "DELETE"]),
        Route("/api/v1/checkpoints", endpoint(list_user_checkpoints), methods=["GET"]),
        Route("/api/v1/sessions", endpoint(list_sessions), methods=["GET"]),
        Route("/api/v1/sessions/{session_id}", endpoint(get_session), methods=["GET"]),
        Route("/api/v1/samplers/{sampler_id}", endpoint(get_sampler), methods=["GET"]),
        Route("/api/v1/archives/{token}", endpoint(download_archive, auth=False), methods=["GET"]),
    ]

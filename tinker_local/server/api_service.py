"""Service endpoints: health, capabilities, sessions, heartbeats, telemetry."""

from __future__ import annotations

import time
import uuid
from typing import Any

from starlette.requests import Request
from starlette.routing import Route
from tinker_api_client.models import (
    CreateSessionRequest,
    CreateSessionResponse,
    GetServerCapabilitiesResponse,
    HealthResponse,
    SessionHeartbeatRequest,
    SessionHeartbeatResponse,
    SupportedModel,
    TelemetryResponse,
    TelemetrySendRequest,
)

from .endpoint import endpoint, parse_model, read_body
from .session_reaper import ENDED, free_session_models, reports_session_end
from .state import Backend
from .store import SessionRow


def preset_names() -> list[str]:
    from tinker_local.engine.presets import PRESETS

    return list(PRESETS)


def _context_length(name: str) -> int:
    from tinker_local.engine.presets import PRESETS

    return PRESETS[name].max_position_embeddings


async def healthz(request: Request, backend: Backend, user: str) -> dict[str, Any]:
    return HealthResponse(status="ok").to_dict()


async def get_server_capabilities(request: Request, backend: Backend, user: str) -> dict[str, Any]:
    models = [
        SupportedModel(model_name=name, max_context_length=_context_length(name))
        for name in preset_names()
    ]
    return GetServerCapabilitiesResponse(supported_models=models).to_dict()


async def create_session(request: Request, backend: Backend, user: str) -> dict[str, Any]:
    body = parse_model(CreateSessionRequest, await read_body(request, "CreateSessionRequest"))
    now = time.time()
    meta = body.user_metadata
    row = SessionRow(
        session_id=str(uuid.uuid4()),
        user=user,
        created_at=now,
        last_heartbeat=now,
        tags=list(body.tags),
        user_metadata=None if meta is None else meta.to_dict(),
        sdk_version=body.sdk_version,
    )
    project_id = body.project_id if isinstance(body.project_id, str) else None
    display_name = body.display_name if isinstance(body.display_name, str) else None

    def create() -> None:
        backend.store.create_session(row)
        if project_id is not None or display_name is not None:
            backend.store.set_session_labels(row.session_id, project_id, display_name)

    await backend.db(create)
    backend.note_sdk_version(request, row.session_id)
    return CreateSessionResponse(session_id=row.session_id, type_="create_session").to_dict()


async def session_heartbeat(request: Request, backend: Backend, user: str) -> dict[str, Any]:
    body = parse_model(SessionHeartbeatRequest, await read_body(request, "SessionHeartbeatRequest"))

    def beat() -> None:
        backend.own_session(user, body.session_id)
        backend.store.heartbeat(body.session_id)

    await backend.db(beat)
    return SessionHeartbeatResponse(type_="session_heartbeat").to_dict()


async def send_telemetry(request: Request, backend: Backend, user: str) -> dict[str, Any]:
    raw = await read_body(request, "TelemetrySendRequest")
    body = parse_model(TelemetrySendRequest, raw)
    events = list(raw["events"])
    await backend.db(
        backend.store.add_telemetry, user, body.session_id, body.platform, body.sdk_version, events
    )
    if reports_session_end(events):  # the client closed: its models are no longer needed
        free_session_models(backend, user, body.session_id, ENDED)
    return TelemetryResponse(status="accepted").to_dict()


def routes() -> list[Route]:
    return [
        Route("/api/v1/healthz", endpoint(healthz, auth=False), methods=["GET"]),
        Route(
            "/api/v1/get_server_capabilities",
            endpoint(get_server_capabilities),
            methods=["GET"],
        ),
        Route("/api/v1/create_session", endpoint(create_session), methods=["POST"]),
        Route("/api/v1/session_heartbeat", endpoint(session_heartbeat), methods=["POST"]),
        Route("/api/v1/telemetry", endpoint(send_telemetry), methods=["POST"]),
    ]

"""retrieve_future: long-polls a submitted request's outcome."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from tinker_api_client.models import (
    FutureRetrieveRequest,
    RequestFailedResponse,
    TryAgainResponse,
)

from .endpoint import endpoint, parse_model, read_body
from .errors import not_found, shown
from .protobuf_wire import PROTOBUF, encode_result, wants_protobuf
from .state import Backend


async def retrieve_future(
    request: Request, backend: Backend, user: str
) -> dict[str, Any] | Response:
    body = parse_model(FutureRetrieveRequest, await read_body(request, "FutureRetrieveRequest"))
    record = backend.registry.get(body.request_id, user)
    if record is None:
        raise not_found(f"request {shown(body.request_id)} not found (unknown, or expired)")
    if not await backend.registry.wait(record, backend.config.long_poll_s):
        return TryAgainResponse(
            type_="try_again", request_id=record.request_id, queue_state="active"
        ).to_dict()
    if record.result is not None:
        if wants_protobuf(request.headers.get("accept")):
            body = encode_result(record.request_type, record.result)
            if body is not None:
                return Response(body, media_type=PROTOBUF)
        return record.result
    return RequestFailedResponse(
        error=record.error or "request failed", category=record.category or "unknown"
    ).to_dict()


def routes() -> list[Route]:
    return [Route("/api/v1/retrieve_future", endpoint(retrieve_future), methods=["POST"])]

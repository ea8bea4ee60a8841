"""Endpoint plumbing: auth, error answers, body parsing/validation, pagination, futures."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from starlette.requests import Request
from starlette.responses import Response
from tinker_api_client.limits import PAGE_LIMIT_MAX
from tinker_api_client.models import UntypedAPIFuture
from tinker_api_client.models.access_scope import ACCESS_SCOPE_VALUES

from .conditions import as_unavailable
from .errors import ApiError, bad_request
from .futures import RequestRecord
from .jsonio import JSONResponse, error_response, parse_json
from .log_secrecy import redact_url
from .state import Backend
from .validation import validate

log = logging.getLogger(__name__)

Handler = Callable[[Request, Backend, str], Awaitable[Any]]
BlockingHandler = Callable[[Request, Backend, str], Any]
# Bodies larger than this are decoded and validated off the event loop.
OFFLOAD_BYTES = _OFFLOAD_BYTES = 256 * 1024


class _FromDict(Protocol):
    @classmethod
    def from_dict(cls, src_dict: Any) -> Any: ...


M = TypeVar("M", bound=_FromDict)


def _logged(request: Request) -> str:
    """The request's path as it may be logged (archive tokens masked)."""
    return redact_url(request.url.path)


def endpoint(handler: Handler, *, auth: bool = True) -> Callable[[Request], Awaitable[Response]]:
    """Wrap `handler(request, backend, user)`: dict results become JSON; errors ErrorResponse."""

    async def wrapped(request: Request) -> Response:
        backend: Backend = request.app.state.backend
        try:
            user = backend.authenticate(request) if auth else ""
            result = await handler(request, backend, user)
        except ApiError as e:
            return error_response(e)
        except Exception as e:
            # Disk full, database locked, read-only data folder: 503 + Retry-After, saying so.
            unavailable = as_unavailable(e, backend.config.unavailable_retry_after_s)
            if unavailable is not None:
                log.warning("%s %s: %s (%s)", request.method, _logged(request), e, type(e).__name__)
                return error_response(unavailable)
            log.exception("unhandled error in %s %s", request.method, _logged(request))
            return JSONResponse({"error": "internal server error"}, status_code=500)
        if isinstance(result, Response):
            return result
        return JSONResponse(result)

    wrapped.__name__ = handler.__name__
    return wrapped


def in_store_thread(fn: BlockingHandler) -> Handler:
    """A handler made only of store calls, run in a store thread (off the event loop)."""

    async def handler(request: Request, backend: Backend, user: str) -> Any:
        return await backend.db(fn, request, backend, user)

    handler.__name__ = fn.__name__
    return handler


async def read_raw_json(request: Request) -> tuple[Any, int]:
    """(decoded JSON body, its size in bytes); malformed or too deeply nested JSON is a 400.
    (Content-Type and size were checked before, by request_guards.)"""
    _json_only(request)
    raw = await request.body()
    depth = request.app.state.backend.config.max_json_depth
    if len(raw) > _OFFLOAD_BYTES:
        return await asyncio.to_thread(parse_json, raw, depth), len(raw)
    return parse_json(raw, depth), len(raw)


def _json_only(request: Request) -> None:
    """Protobuf and compressed bodies are for forward_backward only (see protobuf_wire)."""
    content_type = request.headers.get("content-type", "")
    if "protobuf" in content_type.lower():
        raise bad_request(
            f"Content-Type: {request.url.path} takes a JSON body; protobuf bodies "
            "(application/x-protobuf) are accepted by /api/v1/forward_backward only",
            "Content-Type",
        )
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise bad_request(
            f"Content-Encoding: {request.url.path} takes an uncompressed body; {encoding!r} "
            "is accepted only on protobuf forward_backward bodies (zstd)",
            "Content-Encoding",
        )


async def check_body(schema: str, body: Any, size: int) -> None:
    """Validate against the named component schema (off the event loop for big bodies)."""
    if size > _OFFLOAD_BYTES:
        await asyncio.to_thread(validate, schema, body)
    else:
        validate(schema, body)


async def read_body(request: Request, schema: str) -> Any:
    """The JSON body, validated against the named component schema (400 otherwise)."""
    body, size = await read_raw_json(request)
    await check_body(schema, body, size)
    return body


def parse_model(cls: type[M], body: Any) -> M:
    """Build the generated model from a body that already passed validation."""
    try:
        return cls.from_dict(body)
    except (TypeError, ValueError, KeyError, AttributeError) as e:  # pragma: no cover - defensive
        raise bad_request(f"request body: could not be decoded ({e})") from None


def query_int(request: Request, name: str, default: int, low: int, high: int | None) -> int:
    text = request.query_params.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise bad_request(f"{name}: expected an integer, got {text[:40]!r}", name) from None
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f">= {low}"
        raise bad_request(f"{name}: expected an integer {bound}, got {value}", name)
    return value


def query_accessible(request: Request) -> bool:
    """The `access_scope` query parameter: True for `accessible`, False for `owned` (the
    default)."""
    text = request.query_params.get("access_scope", "owned")
    if text not in ACCESS_SCOPE_VALUES:
        raise bad_request(
            f"access_scope: expected one of {sorted(ACCESS_SCOPE_VALUES)}, got {text[:40]!r}",
            "access_scope",
        )
    return text == "accessible"


MAX_OFFSET = 2**62  # beyond any real listing; keeps SQLite's 64-bit integers happy


def pagination(request: Request) -> tuple[int, int]:
    """(limit, offset) from the query string, per the spec's Limit/Offset parameters (an
    offset past the end just gives an empty page)."""
    limit = query_int(request, "limit", 20, 1, PAGE_LIMIT_MAX)
    return limit, min(query_int(request, "offset", 0, 0, None), MAX_OFFSET)


def future_response(record: RequestRecord) -> dict[str, Any]:
    """UntypedAPIFuture for a submitted request."""
    return UntypedAPIFuture(request_id=record.request_id, model_id=record.model_id).to_dict()

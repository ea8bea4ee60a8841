"""Checks every request passes before a handler reads its body (pure ASGI middleware):

* Content-Type: a body-carrying request must use one of the media types its operation lists
  under `requestBody.content` in openapi.yaml (table-driven: when the spec allows
  `application/x-protobuf` for an operation, that type is accepted there too); else 415. A
  request without a Content-Type header is read as JSON (what curl and older clients send).
* Size: a body larger than `max_request_bytes` is refused with 413, from its Content-Length
  before anything is read, or while it streams in (chunked uploads) without buffering more.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Any

import orjson

from .errors import ApiError, payload_too_large, unsupported_media_type
from .validation import load_spec

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


@functools.cache
def media_types_by_route() -> tuple[tuple[re.Pattern[str], str, frozenset[str]], ...]:
    """(path pattern, method, accepted media types) of every operation with a request body."""
    table = []
    for path, item in load_spec().get("paths", {}).items():
        pattern = re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path)) + "$")
        for method, operation in item.items():
            body = operation.get("requestBody") if isinstance(operation, dict) else None
            if isinstance(body, dict) and body.get("content"):
                types = frozenset(str(t).lower() for t in body["content"])
                table.append((pattern, method.upper(), types))
    return tuple(table)


@functools.lru_cache(maxsize=4096)  # a function of the spec alone; ids make paths many
def accepted_media_types(method: str, path: str) -> frozenset[str] | None:
    """The media types the spec accepts for this request's body; None: no body is expected
    (or the path is not in the spec: routing answers that)."""
    for pattern, op_method, types in media_types_by_route():
        if op_method == method and pattern.match(path):
            return types
    return None


def _media_type(headers: list[tuple[bytes, bytes]]) -> str | None:
    for name, value in headers:
        if name == b"content-type":
            return value.decode("latin-1").split(";", 1)[0].strip().lower()
    return None


def _content_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _answer(send: Send, err: ApiError) -> None:
    body = orjson.dumps({"error": err.message})
    await send(
        {
            "type": "http.response.start",
            "status": err.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RequestGuards:
    def __init__(self, app: ASGIApp, max_request_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_request_bytes

    def _too_large(self, size: int | None = None) -> ApiError:
        got = f" ({size} bytes)" if size is not None else ""
        return payload_too_large(
            f"request body: larger than the server's limit of {self.max_bytes} bytes{got}"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = scope["headers"]
        accepted = accepted_media_types(scope["method"], scope["path"])
        if accepted is not None:
            given = _media_type(headers)
            if given is not None and given not in accepted:
                wanted = " or ".join(sorted(accepted))
                await _answer(
                    send,
                    unsupported_media_type(f"Content-Type: expected {wanted}, got {given[:80]!r}"),
                )
                return
        length = _content_length(headers)
        if length is not None and length > self.max_bytes:
            await _answer(send, self._too_large(length))
            return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message: Any = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise self._too_large()  # answered by the endpoint as a 413
            return message

        await self.app(scope, limited_receive, send)

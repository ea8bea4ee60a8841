"""Exception hierarchy. Names mirror the tinker 0.7.0 SDK, so `except tinker.X` keeps working."""

from __future__ import annotations

import html
import re
from http import HTTPStatus
from typing import Any

import httpx
import orjson

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "CircuitOpenError",
    "ConflictError",
    "InternalServerError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestFailedError",
    "TinkerError",
    "UnprocessableEntityError",
    "ValidationError",
    "status_error_for",
]


class TinkerError(Exception):
    """Base class of every error raised by tinker_hl."""


class ValidationError(TinkerError, ValueError):
    """Bad input caught on the client, before anything was sent.

    `field` is the dotted path of the offending value (e.g. `data[3].loss_fn_inputs.weights`).
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message


class APIError(TinkerError):
    """An error talking to the service.

    Like the 0.7.0 SDK's: `message`, `body` (the decoded JSON answer, or its text) and `request`
    (an `httpx.Request` naming method and URL; it never carries the API key), None when the
    error was raised before any request existed.
    """

    def __init__(
        self, message: str, *, body: object | None = None, request: httpx.Request | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.body = body
        self.request = request


class APIResponseValidationError(APIError):
    """The service answered with a body that does not match the expected type."""

    def __init__(
        self,
        message: str,
        *,
        body: object | None = None,
        request: httpx.Request | None = None,
        response: httpx.Response | None = None,
    ) -> None:
        super().__init__(message, body=body, request=request)
        self.response = response
        self.status_code = response.status_code if response is not None else None


class APIConnectionError(APIError):
    """The request never got an HTTP answer (refused, reset, DNS, ...)."""

    def __init__(
        self, message: str = "Connection error.", *, request: httpx.Request | None = None
    ) -> None:
        super().__init__(message, request=request)


class APITimeoutError(APIConnectionError):
    """The request timed out."""

    def __init__(
        self, message: str = "Request timed out.", *, request: httpx.Request | None = None
    ) -> None:
        super().__init__(message, request=request)


class APIStatusError(APIError):
    """The service answered with a 4xx or 5xx status."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        body: object | None = None,
        headers: dict[str, str] | None = None,
        request: httpx.Request | None = None,
        response: httpx.Response | None = None,
    ) -> None:
        super().__init__(message, body=body, request=request)
        self.status_code = status_code
        self.headers = headers or {}
        self.response = response

    @property
    def retry_after(self) -> float | None:
        """Seconds from a `Retry-After` header, when the service sent one."""
        value = self.headers.get("retry-after") or self.headers.get("Retry-After")
        try:
            return float(value) if value is not None else None
        except ValueError:
            return None


class BadRequestError(APIStatusError):
    """400."""


class AuthenticationError(APIStatusError):
    """401."""


class PermissionDeniedError(APIStatusError):
    """403."""


class NotFoundError(APIStatusError):
    """404."""


class ConflictError(APIStatusError):
    """409."""


class UnprocessableEntityError(APIStatusError):
    """422."""


class RateLimitError(APIStatusError):
    """429."""


class InternalServerError(APIStatusError):
    """5xx."""


class RequestFailedError(TinkerError):
    """The service accepted the request but executing it failed.

    `category` is `"user"` when the request itself was at fault (for example a token id out of
    range), `"server"` or `"unknown"` otherwise.
    """

    def __init__(self, message: str, *, request_id: str, category: str) -> None:
        super().__init__(message)
        self.request_id = request_id
        self.category = category

    @property
    def is_user_error(self) -> bool:
        return self.category == "user"


class CircuitOpenError(TinkerError):
    """Calls to an endpoint are failing fast because its circuit breaker is open."""


_STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def status_error_for(
    operation: str,
    status_code: int,
    body: Any,
    headers: dict[str, str] | None = None,
    *,
    request: httpx.Request | None = None,
    response: httpx.Response | None = None,
) -> APIStatusError:
    """The precise APIStatusError subclass for an HTTP error answer of any shape: tinker's
    `{"error", "category"}`, FastAPI's `{"detail": ...}`, `{"message": ...}`, plain text, an HTML
    page from a proxy, an empty body, a status code no RFC names."""
    cls = _STATUS_CLASSES.get(status_code)
    if cls is None:
        cls = InternalServerError if status_code >= 500 else APIStatusError
    message = f"{operation} failed with HTTP {status_code}"
    detail = error_detail(body) or _reason_phrase(status_code)
    if detail:
        message += f": {detail}"
    return cls(
        message,
        status_code=status_code,
        body=body,
        headers=headers,
        request=request,
        response=response,
    )


def decode_error_body(content: bytes) -> object:
    """An error answer's body as the 0.7.0 SDK keeps it: decoded JSON, else the text."""
    text = content.decode("utf-8", "replace").strip()
    if not text:
        return text
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return text


_MAX_DETAIL = 300
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_TAGS = re.compile(r"<[^>]+>")


def error_detail(body: object) -> str:
    """A one-line human summary of an error body ("" when it says nothing)."""
    if isinstance(body, dict):
        for key in ("error", "detail", "message"):
            if key in body and body[key] not in (None, "", [], {}):
                return _one_line(_detail_text(body[key]))
        return _one_line(str(body)) if body else ""
    if isinstance(body, list):
        return _one_line(_detail_text(body))
    if isinstance(body, str):
        if "<" in body and ">" in body:  # an HTML page (a proxy's or a CDN's)
            title = _TITLE.search(body)
            text = title.group(1) if title else _TAGS.sub(" ", body)
            return _one_line(html.unescape(text))
        return _one_line(body)
    return "" if body is None else _one_line(str(body))


def _detail_text(value: object) -> str:
    if isinstance(value, list):  # FastAPI's validation errors: [{"loc": [...], "msg": ...}]
        parts = []
        for item in value:
            if isinstance(item, dict) and "msg" in item:
                loc = ".".join(str(p) for p in item.get("loc") or ())
                parts.append(f"{loc}: {item['msg']}" if loc else str(item["msg"]))
            else:
                parts.append(str(item))
        return "; ".join(parts)
    if isinstance(value, dict):
        for key in ("message", "msg", "error", "detail"):
            if isinstance(value.get(key), str):
                return str(value[key])
    return str(value)


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 3] + "..."


def _reason_phrase(status_code: int) -> str:
    try:
        return HTTPStatus(status_code).phrase
    except ValueError:  # 522, 599, ...: codes no RFC names
        return ""

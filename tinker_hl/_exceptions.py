"""Exception hierarchy. Names mirror the tinker 0.7.0 SDK, so `except tinker.X` keeps working."""

from __future__ import annotations

from typing import Any

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
    """An error talking to the service. `request_desc` names the call (never the API key)."""

    def __init__(self, message: str, *, body: object | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.body = body


class APIResponseValidationError(APIError):
    """The service answered with a body that does not match the expected type."""


class APIConnectionError(APIError):
    """The request never got an HTTP answer (refused, reset, DNS, ...)."""

    def __init__(self, message: str = "Connection error.") -> None:
        super().__init__(message)


class APITimeoutError(APIConnectionError):
    """The request timed out."""

    def __init__(self, message: str = "Request timed out.") -> None:
        super().__init__(message)


class APIStatusError(APIError):
    """The service answered with a 4xx or 5xx status."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        body: object | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, body=body)
        self.status_code = status_code
        self.headers = headers or {}

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
    operation: str, status_code: int, body: Any, headers: dict[str, str] | None = None
) -> APIStatusError:
    """Build the precise APIStatusError subclass for an HTTP error answer."""
    cls = _STATUS_CLASSES.get(status_code)
    if cls is None:
        cls = InternalServerError if status_code >= 500 else APIStatusError
    detail = body.get("error") if isinstance(body, dict) else None
    message = f"{operation} failed with HTTP {status_code}"
    if detail:
        message += f": {detail}"
    return cls(message, status_code=status_code, body=body, headers=headers)

"""The error boundary: which tinker exception a transport failure becomes, and what kind of
failure any exception is.

`TRANSPORT_ERRORS` is the one table from transport exceptions (aiohttp's, httpx's, the socket
layer's) to tinker exceptions; `_http.call` applies it. `classify(exc)` is the one answer to
"what kind of failure is this?", used by the retry loop, the circuit breakers, telemetry and run
recovery, so they never disagree.
"""

from __future__ import annotations

import enum

import aiohttp
import httpx

from ._exceptions import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    CircuitOpenError,
    RequestFailedError,
    ValidationError,
)

__all__ = [
    "TRANSPORT_ERRORS",
    "ErrorKind",
    "classify",
    "counts_against_service",
    "is_retryable_status",
    "is_user_error",
    "transport_error_class",
]

# First match wins: timeouts before the connection errors they subclass.
TRANSPORT_ERRORS: tuple[tuple[type[BaseException], type[APIConnectionError]], ...] = (
    (httpx.TimeoutException, APITimeoutError),
    (aiohttp.ServerTimeoutError, APITimeoutError),
    (TimeoutError, APITimeoutError),
    (httpx.TransportError, APIConnectionError),
    (aiohttp.ClientError, APIConnectionError),
    (OSError, APIConnectionError),
)


def transport_error_class(exc: BaseException) -> type[APIConnectionError] | None:
    """The tinker exception a transport failure becomes; None if `exc` is not one."""
    for transport_type, tinker_type in TRANSPORT_ERRORS:
        if isinstance(exc, transport_type):
            return tinker_type
    return None


class ErrorKind(enum.Enum):
    TRANSIENT = "transient"
    """Worth retrying: no answer (connection, timeout), or 408, 409, 429, any 5xx."""
    USER = "user"
    """The caller's request was at fault: client-side validation, other 4xx, a failed request of
    category "user". Never retried; does not count against the service."""
    SERVER = "server"
    """The service failed in a way a retry does not fix: a failed request of category "server"
    or "unknown", an answer the client cannot read."""
    LOCAL = "local"
    """Not a failure of any request: a circuit breaker failing fast, a bug, a cancellation."""


def is_retryable_status(status_code: int) -> bool:
    return status_code in (408, 409, 429) or 500 <= status_code < 600


def classify(exc: BaseException) -> ErrorKind:
    """What kind of failure `exc` is (its cause chain is followed through non-tinker wrappers)."""
    for cause in _chain(exc):
        if isinstance(cause, ValidationError):
            return ErrorKind.USER
        if isinstance(cause, RequestFailedError):
            return ErrorKind.USER if cause.is_user_error else ErrorKind.SERVER
        if isinstance(cause, APIStatusError):
            if is_retryable_status(cause.status_code):
                return ErrorKind.TRANSIENT
            return ErrorKind.USER if 400 <= cause.status_code < 500 else ErrorKind.SERVER
        if isinstance(cause, APIConnectionError):  # APITimeoutError included
            return ErrorKind.TRANSIENT
        if isinstance(cause, APIResponseValidationError):
            return ErrorKind.SERVER
        if isinstance(cause, CircuitOpenError):
            return ErrorKind.LOCAL
        if any(isinstance(cause, transport) for transport, _ in TRANSPORT_ERRORS):
            return ErrorKind.TRANSIENT
    return ErrorKind.LOCAL


def counts_against_service(exc: BaseException) -> bool:
    """Does this failure say the service is unwell (for circuit breakers)? Transient and server
    failures do, except answers that show a working service asking to wait (408, 409, 429)."""
    kind = classify(exc)
    if kind is ErrorKind.SERVER:
        return True
    if kind is not ErrorKind.TRANSIENT:
        return False
    status = next((c.status_code for c in _chain(exc) if isinstance(c, APIStatusError)), None)
    return status is None or status >= 500


def is_user_error(exc: BaseException) -> bool:
    """Was this the caller's fault?"""
    return classify(exc) is ErrorKind.USER


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not s for s in seen):
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen

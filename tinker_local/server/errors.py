"""HTTP-level errors (answered as ErrorResponse bodies) and job-level user errors."""

from __future__ import annotations


class ApiError(Exception):
    """An error answered directly with `status` and an ErrorResponse body."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        # Extra response headers (e.g. WWW-Authenticate on a rejected token).
        self.headers: dict[str, str] | None = None


def bad_request(message: str, field: str | None = None) -> ApiError:
    return ApiError(400, message, field)


def unauthorized(message: str) -> ApiError:
    return ApiError(401, message)


def not_found(message: str) -> ApiError:
    return ApiError(404, message)


def conflict(message: str) -> ApiError:
    return ApiError(409, message)


class UserError(ValueError):
    """A submitted request failed because of the caller's input (future category "user")."""


def is_user_error(exc: BaseException) -> bool:
    """True for our UserError and the engine's UserInputError (both ValueError subclasses)."""
    if isinstance(exc, UserError):
        return True
    try:
        from tinker_local.engine.errors import UserInputError
    except ImportError:  # pragma: no cover - the engine always ships with the server
        return False
    return isinstance(exc, UserInputError)

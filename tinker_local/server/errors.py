"""HTTP-level errors (answered as ErrorResponse bodies) and job-level user errors."""

from __future__ import annotations

# Caller-supplied values (ids, names) are quoted in messages up to this many characters: a
# 200 MB request id must not come back in a 200 MB error body.
MAX_QUOTED_CHARS = 80


def shown(value: object) -> str:
    """`repr(value)`, cut to a readable length (with the full length said) for messages."""
    text = repr(value)
    if len(text) <= MAX_QUOTED_CHARS:
        return text
    size = len(value) if isinstance(value, str | bytes) else len(text)
    return f"{text[: MAX_QUOTED_CHARS - 3]}... ({size} characters)"


class ApiError(Exception):
    """An error answered directly with `status` and an ErrorResponse body."""

    def __init__(
        self,
        status: int,
        message: str,
        field: str | None = None,
        *,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        # Extra response headers (e.g. WWW-Authenticate on a rejected token).
        self.headers: dict[str, str] | None = None
        self.retry_after_s = retry_after_s


def bad_request(message: str, field: str | None = None) -> ApiError:
    return ApiError(400, message, field)


def access_token_refused(where: str) -> ApiError:
    """A weights access token (in the field or header `where`): the local backend has no
    accounts to grant one, so every load, create-by-load and copy refuses it alike."""
    return bad_request(
        f"{where}: reading weights with an access token is not supported by the local backend "
        "(a checkpoint is readable by its owner, or by anyone once published)",
        "weights_access_token",
    )


def unauthorized(message: str) -> ApiError:
    return ApiError(401, message)


def not_found(message: str) -> ApiError:
    return ApiError(404, message)


def conflict(message: str) -> ApiError:
    return ApiError(409, message)


def payload_too_large(message: str) -> ApiError:
    return ApiError(413, message)


def unsupported_media_type(message: str) -> ApiError:
    return ApiError(415, message)


def unavailable(message: str, retry_after_s: float) -> ApiError:
    """503 + Retry-After: a condition of the server (disk full, database locked), not the
    request; the same request may succeed later."""
    return ApiError(503, message, retry_after_s=retry_after_s)


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

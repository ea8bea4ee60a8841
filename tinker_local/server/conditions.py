"""Failures of the server's own storage (disk full, database locked, read-only data folder),
told apart from bugs so they answer 503 + Retry-After with a message saying what is wrong, and
messages scrubbed of server paths before they reach a client."""

from __future__ import annotations

import errno
import re
import sqlite3

from .errors import ApiError, unavailable

DISK_FULL = (
    "the server's disk is full: nothing was changed; free space on the server (for example "
    "delete checkpoints you no longer need) and retry"
)
DB_LOCKED = "the server's database is locked by another process: nothing was changed; retry shortly"
READ_ONLY = (
    "the server's data folder is not writable (read-only file system or permissions): nothing "
    "was changed; the server's operator must fix its data folder"
)

_DISK_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_READ_ONLY_ERRNOS = {errno.EROFS, errno.EACCES, errno.EPERM}


def storage_condition(exc: BaseException) -> str | None:
    """The message for a storage failure the server cannot help, else None (a bug)."""
    if isinstance(exc, sqlite3.OperationalError | sqlite3.DatabaseError):
        text = str(exc).lower()
        code = getattr(exc, "sqlite_errorcode", None)
        if code == sqlite3.SQLITE_FULL or "disk is full" in text:
            return DISK_FULL
        if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or "locked" in text:
            return DB_LOCKED
        if code == sqlite3.SQLITE_READONLY or "readonly" in text or "read-only" in text:
            return READ_ONLY
        if code == sqlite3.SQLITE_IOERR or "disk i/o error" in text:
            return "the server could not write to its disk (I/O error): retry later"
        return None
    if isinstance(exc, OSError):
        if exc.errno in _DISK_FULL_ERRNOS:
            return DISK_FULL
        if exc.errno in _READ_ONLY_ERRNOS:
            return READ_ONLY
    return None


def as_unavailable(exc: BaseException, retry_after_s: float) -> ApiError | None:
    message = storage_condition(exc)
    return None if message is None else unavailable(message, retry_after_s)


# An absolute path of two or more segments (not a URL: no "scheme:" or "/" just before it).
_ABS_PATH = re.compile(r"(?<![\w:/.~-])/(?:[\w.@+~-]+/)+[\w.@+~-]*")


def scrub_paths(text: str, *roots: str) -> str:
    """`text` without the server's file paths: the given roots become "<data dir>", any other
    absolute path "<server path>" (API paths such as /api/v1/... stay)."""
    for root in roots:
        if root:
            text = text.replace(root, "<data dir>")
    return _ABS_PATH.sub(
        lambda m: m.group(0) if m.group(0).startswith("/api/") else "<server path>", text
    )

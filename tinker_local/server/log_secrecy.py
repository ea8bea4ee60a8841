"""Keeping secrets out of the server's logs: archive download tokens travel in the URL path,
and query strings may carry anything, so access-log lines show neither."""

from __future__ import annotations

import logging
import re

ARCHIVE_PREFIX = "/api/v1/archives/"
_ARCHIVE_TOKEN = re.compile(re.escape(ARCHIVE_PREFIX) + r"[^\s?\"]+")
_QUERY = re.compile(r"\?[^\s\"]*")
ACCESS_LOGGERS = ("uvicorn.access",)


def redact_url(text: str) -> str:
    """A request target as it may be logged: tokens and query strings masked."""
    text = _ARCHIVE_TOKEN.sub(ARCHIVE_PREFIX + "<token>", text)
    return _QUERY.sub("?<redacted>", text)


class RedactingFilter(logging.Filter):
    """Masks archive tokens and query strings in a record's message and string arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_url(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact_url(a) if isinstance(a, str) else a for a in record.args)
        return True


def install() -> None:
    """Attach the filter to the access loggers (idempotent; call after the ASGI server set
    its logging up, which it does before the app starts)."""
    for name in ACCESS_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())

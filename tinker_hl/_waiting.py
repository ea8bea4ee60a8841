"""No silent waits: a blocking wait that has no outcome after `WARN_AFTER_S` says so, on the
`tinker_hl.waiting` logger, naming what it waits for and why (retries by cause, server queue
state), and again every `REPEAT_S`.

The package adds no handler to its loggers, so with no logging configuration at all Python's
last-resort handler prints these warnings to stderr; an application that configures logging
decides where they go (or silences `tinker_hl`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
logger = logging.getLogger("tinker_hl.waiting")

WARN_AFTER_S = 30.0
REPEAT_S = 60.0
_WHAT_ATTR = "_tinker_hl_what"


def describe(future: concurrent.futures.Future[Any], what: str) -> None:
    """Name what `future` stands for (read by `wait`)."""
    setattr(future, _WHAT_ATTR, what)


def name_of(coro: Any) -> str:
    """A readable name for a coroutine: `RestClient.get_training_run` for `_get_training_run`."""
    qualname = str(getattr(coro, "__qualname__", "") or "a request")
    return ".".join(part.lstrip("_") or part for part in qualname.split("."))


def wait(
    future: concurrent.futures.Future[T],
    timeout: float | None,
    why: Callable[[], str] | None = None,
) -> T:
    """`future.result(timeout)`, warning while it takes long."""
    started = time.monotonic()
    deadline = None if timeout is None else started + timeout
    next_warning = started + WARN_AFTER_S
    while True:
        now = time.monotonic()
        step = next_warning - now
        if deadline is not None:
            step = min(step, deadline - now)
        try:
            return future.result(max(step, 0.0))
        except concurrent.futures.TimeoutError:
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                raise
            if now >= next_warning:
                next_warning = now + REPEAT_S
                _warn(future, now - started, why)


async def wait_async(
    future: concurrent.futures.Future[T],
    timeout: float | None,
    why: Callable[[], str] | None = None,
) -> T:
    """`await` the outcome of `future` (never cancelling it), warning while it takes long."""
    wrapped = asyncio.wrap_future(future)
    started = time.monotonic()
    deadline = None if timeout is None else started + timeout
    next_warning = started + WARN_AFTER_S
    while True:
        now = time.monotonic()
        step = next_warning - now
        if deadline is not None:
            step = min(step, deadline - now)
        done, _ = await asyncio.wait({wrapped}, timeout=max(step, 0.0))
        if done:
            return wrapped.result()
        now = time.monotonic()
        if deadline is not None and now >= deadline:
            raise TimeoutError
        if now >= next_warning:
            next_warning = now + REPEAT_S
            _warn(future, now - started, why)


def _warn(
    future: concurrent.futures.Future[Any], waited: float, why: Callable[[], str] | None
) -> None:
    what = getattr(future, _WHAT_ATTR, "a request")
    try:
        reason = why() if why is not None else ""
    except Exception:  # a report must never break the wait
        reason = ""
    logger.warning(
        "still waiting for %s after %.1fs (no answer yet%s)",
        what,
        waited,
        f"; {reason}" if reason else "",
    )

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


class _Watch:
    """The clock of one wait: how long the next step may block, and after a step without an
    outcome, whether the deadline passed (warning when a warning is due)."""

    def __init__(
        self,
        future: concurrent.futures.Future[Any],
        timeout: float | None,
        why: Callable[[], str] | None,
    ) -> None:
        self.future = future
        self.why = why
        self.started = time.monotonic()
        self.deadline = None if timeout is None else self.started + timeout
        self.next_warning = self.started + WARN_AFTER_S

    def step(self) -> float:
        now = time.monotonic()
        step = self.next_warning - now
        if self.deadline is not None:
            step = min(step, self.deadline - now)
        return max(step, 0.0)

    def expired(self) -> bool:
        now = time.monotonic()
        if self.deadline is not None and now >= self.deadline:
            return True
        if now >= self.next_warning:
            self.next_warning = now + REPEAT_S
            _warn(self.future, now - self.started, self.why)
        return False


def wait(
    future: concurrent.futures.Future[T],
    timeout: float | None,
    why: Callable[[], str] | None = None,
) -> T:
    """`future.result(timeout)`, warning while it takes long."""
    watch = _Watch(future, timeout, why)
    while True:
        try:
            return future.result(watch.step())
        except concurrent.futures.TimeoutError:
            if watch.expired():
                raise


async def wait_async(
    future: concurrent.futures.Future[T],
    timeout: float | None,
    why: Callable[[], str] | None = None,
) -> T:
    """`await` the outcome of `future` (never cancelling it), warning while it takes long."""
    wrapped = asyncio.wrap_future(future)
    watch = _Watch(future, timeout, why)
    while True:
        done, _ = await asyncio.wait({wrapped}, timeout=watch.step())
        if done:
            return wrapped.result()
        if watch.expired():
            raise TimeoutError


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

"""Retry rules for HTTP calls: what is retried, how long to wait, when to give up.

The one place that decides retryability (connection errors, timeouts, 408, 409, 429, 5xx; never
other 4xx) and the backoff schedule, built on the `backoff` library.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import backoff

from ._exceptions import APIConnectionError, APIStatusError, APITimeoutError

T = TypeVar("T")
logger = logging.getLogger("tinker_hl.retry")

INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 10.0


class RetryableException(Exception):
    """Raise from a retried function to ask for another attempt."""


def is_retryable_status(status_code: int) -> bool:
    return status_code in (408, 409, 429) or 500 <= status_code < 600


@dataclass(frozen=True)
class RetryConfig:
    """How a client retries failed requests (fields and defaults of the 0.7.0 SDK)."""

    max_connections: int = 100
    progress_timeout: float = 120 * 60
    retry_delay_base: float = INITIAL_RETRY_DELAY
    retry_delay_max: float = MAX_RETRY_DELAY
    jitter_factor: float = 0.25
    enable_retry_logic: bool = True
    retryable_exceptions: tuple[type[BaseException], ...] = field(
        default=(asyncio.TimeoutError, APIConnectionError, APITimeoutError, RetryableException)
    )

    def __post_init__(self) -> None:
        if self.max_connections <= 0:
            raise ValueError(
                f"max_connections: expected a positive integer, got {self.max_connections}"
            )
        if self.retry_delay_base <= 0 or self.retry_delay_max < self.retry_delay_base:
            raise ValueError(
                "retry_delay_base/retry_delay_max: expected 0 < retry_delay_base <= retry_delay_max"
            )
        if not 0 <= self.jitter_factor <= 1:
            raise ValueError(f"jitter_factor: expected a value in [0, 1], got {self.jitter_factor}")
        if self.progress_timeout <= 0:
            raise ValueError(f"progress_timeout: expected seconds > 0, got {self.progress_timeout}")

    def should_retry(self, exc: BaseException) -> bool:
        if isinstance(exc, APIStatusError):
            return is_retryable_status(exc.status_code)
        return isinstance(exc, self.retryable_exceptions)

    def delays(self) -> Generator[float, None, None]:
        """Exponential delays from retry_delay_base, capped at retry_delay_max (before jitter)."""
        gen = backoff.expo(base=2, factor=self.retry_delay_base, max_value=self.retry_delay_max)
        next(gen)  # backoff generators are primed with a send(None)
        yield from gen

    def jitter(self, delay: float) -> float:
        spread = delay * self.jitter_factor
        return max(0.0, delay + random.uniform(-spread, spread))


class RetryHandler:
    """Runs calls under a connection-limiting semaphore with backoff, and reports progress.

    One per client: `execute(fn)` retries `fn` on retryable errors until it succeeds, a
    non-retryable error occurs, or nothing has succeeded for `progress_timeout` seconds.
    """

    def __init__(self, config: RetryConfig | None = None, name: str = "default") -> None:
        self.config = config or RetryConfig()
        self.name = name
        self._semaphore: asyncio.Semaphore | None = None
        self._last_progress = time.monotonic()
        self._last_log = 0.0
        self.retry_count = 0
        self.errors_by_type: Counter[str] = Counter()
        self.on_retry: Callable[[str, BaseException, float], None] | None = None

    def _sem(self) -> asyncio.Semaphore:
        # Created lazily so that it binds to the loop that runs the calls.
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.config.max_connections)
        return self._semaphore

    def _giveup(self, exc: Exception) -> bool:
        if not self.config.should_retry(exc):
            return True
        return time.monotonic() - self._last_progress > self.config.progress_timeout

    def _record_retry(self, operation: str, details: Any) -> None:
        exc = details["exception"]
        wait = float(details.get("wait", 0.0))
        self.retry_count += 1
        self.errors_by_type[type(exc).__name__] += 1
        if self.on_retry is not None:
            self.on_retry(operation, exc, wait)
        now = time.monotonic()
        if now - self._last_log > 10:
            self._last_log = now
            logger.warning(
                "[%s] retrying %s after %s (%d retries so far: %s)",
                self.name,
                operation,
                _describe(exc),
                self.retry_count,
                dict(self.errors_by_type),
            )
        else:
            logger.debug(
                "[%s] retrying %s after %s in %.2fs", self.name, operation, _describe(exc), wait
            )

    async def execute(self, fn: Callable[[], Awaitable[T]], operation: str = "request") -> T:
        if not self.config.enable_retry_logic:
            async with self._sem():
                return await fn()
        config = self.config
        # Fast path: most calls succeed at once, so the backoff machinery is only built after
        # a first retryable failure (building it costs more than a loopback request).
        try:
            async with self._sem():
                result = await fn()
            self._last_progress = time.monotonic()
            return result
        except Exception as exc:
            if self._giveup(exc):
                raise
            waits = _retry_after_aware(config)
            next(waits)
            delay = waits.send(exc)
            self._record_retry(operation, {"exception": exc, "wait": delay})
            await asyncio.sleep(delay)

        async def attempt() -> T:
            async with self._sem():
                return await fn()

        retrying = backoff.on_exception(
            cast(Any, functools.partial(_retry_after_aware, config)),
            Exception,
            giveup=self._giveup,
            on_backoff=lambda details: self._record_retry(operation, details),
            jitter=None,
            max_time=config.progress_timeout,
            raise_on_giveup=True,
        )(attempt)
        try:
            result = await retrying()
        except Exception as exc:
            if config.should_retry(exc):
                raise APITimeoutError(
                    f"[{self.name}] {operation}: no progress for {config.progress_timeout:.0f}s "
                    f"after {self.retry_count} retries ({dict(self.errors_by_type)}); "
                    f"last error: {_describe(exc)}"
                ) from exc
            raise
        self._last_progress = time.monotonic()
        return result


def _retry_after_aware(config: RetryConfig) -> Generator[float, BaseException | None, None]:
    """A backoff wait generator: exponential with jitter, honouring `Retry-After` hints.

    backoff primes it with `send(None)`, then sends each exception before each wait.
    """
    delays = config.delays()
    exc = yield 0.0
    while True:
        delay = config.jitter(next(delays))
        if isinstance(exc, APIStatusError) and exc.retry_after is not None:
            delay = max(delay, exc.retry_after)
        exc = yield delay


def _describe(exc: BaseException) -> str:
    text = str(exc) or "no message"
    return f"{type(exc).__name__}: {text[:200]}"

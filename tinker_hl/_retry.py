"""Retry rules for HTTP calls: what is retried, how long to wait, when to give up.

Retryability is `_errors.classify` (connection errors, timeouts, 408, 409, 429, 5xx; never
other 4xx) plus `RetryConfig.retryable_exceptions`; the backoff schedule comes from the `backoff`
library's exponential generator, one schedule per call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from dataclasses import dataclass, field
from typing import TypeVar

import backoff

from ._errors import ErrorKind, classify, is_retryable_status
from ._exceptions import APIConnectionError, APIStatusError, APITimeoutError

__all__ = [
    "RetryConfig",
    "RetryHandler",
    "RetryableException",
    "is_retryable_status",
    "is_retryable_status_code",
]

T = TypeVar("T")
logger = logging.getLogger("tinker_hl.retry")

INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 10.0


is_retryable_status_code = is_retryable_status  # the 0.7.0 SDK's name


class RetryableException(Exception):
    """Raise from a retried function to ask for another attempt."""


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
        """`retryable_exceptions`, and error answers that `classify` calls transient."""
        if isinstance(exc, self.retryable_exceptions):
            return True
        return isinstance(exc, APIStatusError) and classify(exc) is ErrorKind.TRANSIENT

    def delays(self) -> Generator[float, None, None]:
        """Exponential delays from retry_delay_base, capped at retry_delay_max (before jitter)."""
        gen = backoff.expo(base=2, factor=self.retry_delay_base, max_value=self.retry_delay_max)
        next(gen)  # backoff generators are primed with a send(None)
        yield from gen

    def jitter(self, delay: float) -> float:
        spread = delay * self.jitter_factor
        return max(0.0, delay + random.uniform(-spread, spread))


class ConnectionSlots:
    """At most `limit` calls in flight. A freed slot goes to a waiting submission before a
    waiting long-poll: with more requests than slots, long-polls for the first results would
    otherwise hold every slot while the rest of the requests, which the server needs to start
    working (and to batch together), wait behind them."""

    def __init__(self, limit: int) -> None:
        self._free = limit
        self._submissions: deque[asyncio.Future[None]] = deque()
        self._polls: deque[asyncio.Future[None]] = deque()

    @contextlib.asynccontextmanager
    async def slot(self, long_poll: bool = False) -> AsyncIterator[None]:
        await self._acquire(long_poll)
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, long_poll: bool) -> None:
        if self._free > 0:
            self._free -= 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue = self._polls if long_poll else self._submissions
        queue.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():  # handed a slot, then cancelled
                self._release()
            else:
                queue.remove(waiter)
            raise

    def _release(self) -> None:
        for queue in (self._submissions, self._polls):
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    waiter.set_result(None)  # the slot passes straight to the waiter
                    return
        self._free += 1


class RetryHandler:
    """Runs calls under a connection-limiting semaphore with backoff, and reports progress.

    One per client: `execute(fn)` retries `fn` on retryable errors until it succeeds, a
    non-retryable error occurs, or nothing has succeeded for `progress_timeout` seconds.
    """

    def __init__(self, config: RetryConfig | None = None, name: str = "default") -> None:
        self.config = config or RetryConfig()
        self.name = name
        self._slots: ConnectionSlots | None = None
        self._last_progress = time.monotonic()
        self._last_log = 0.0
        self.retry_count = 0
        self.errors_by_type: Counter[str] = Counter()
        self.on_retry: Callable[[str, BaseException, float], None] | None = None
        # What waits between attempts (a test replaces it to record the real schedule).
        self.sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    def _slot(self, long_poll: bool) -> contextlib.AbstractAsyncContextManager[None]:
        # Created lazily, in the loop that runs the calls.
        if self._slots is None:
            self._slots = ConnectionSlots(self.config.max_connections)
        return self._slots.slot(long_poll)

    def _record_retry(self, operation: str, exc: BaseException, wait: float) -> None:
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

    async def execute(
        self, fn: Callable[[], Awaitable[T]], operation: str = "request", long_poll: bool = False
    ) -> T:
        """Run `fn`; on a retryable error wait (one backoff schedule for the whole call: 0.5,
        1, 2, 4 ... s with jitter, at least any Retry-After) and run it again. `long_poll`:
        `fn` waits for a result (its slot goes to submissions first, see ConnectionSlots)."""
        if not self.config.enable_retry_logic:
            async with self._slot(long_poll):
                return await fn()
        config = self.config
        started = time.monotonic()
        waits: Generator[float, BaseException | None, None] | None = None
        while True:
            try:
                async with self._slot(long_poll):
                    result = await fn()
            except Exception as exc:
                if not config.should_retry(exc):
                    raise
                stalled_since = max(self._last_progress, started)
                if time.monotonic() - stalled_since > config.progress_timeout:
                    raise APITimeoutError(
                        f"[{self.name}] {operation}: no progress for "
                        f"{config.progress_timeout:.0f}s after {self.retry_count} retries "
                        f"({dict(self.errors_by_type)}); last error: {_describe(exc)}"
                    ) from exc
                if waits is None:  # built only after a first failure: most calls succeed
                    waits = _retry_after_aware(config)
                    next(waits)
                delay = waits.send(exc)
                self._record_retry(operation, exc, delay)
                await self.sleep(delay)
                continue
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

"""Sampling back-pressure shared by every SamplingClient of one ServiceClient.

A concurrency limit and a byte budget for in-flight sample requests (estimated from prompt
sizes). When the server signals a rate limit (429, or a `paused_rate_limit` / `paused_capacity`
queue state) both are halved for a while, then restored. Callers can read the current limits,
and can ask for a typed `RateLimitError` instead of waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from ._exceptions import RateLimitError


@dataclass(frozen=True)
class SamplingLimits:
    max_concurrent: int = 256
    max_inflight_bytes: int = 64 * 1024 * 1024
    backoff_window_s: float = 10.0
    fail_fast: bool = False

    def __post_init__(self) -> None:
        if self.max_concurrent < 1:
            raise ValueError(f"max_concurrent: expected >= 1, got {self.max_concurrent}")
        if self.max_inflight_bytes < 1:
            raise ValueError(f"max_inflight_bytes: expected >= 1, got {self.max_inflight_bytes}")


class SamplingLimiter:
    """Admits sample requests while in-flight count and bytes stay under the current limits."""

    def __init__(self, limits: SamplingLimits | None = None) -> None:
        self.limits = limits or SamplingLimits()
        self.inflight = 0
        self.inflight_bytes = 0
        self.peak_inflight_bytes = 0
        self.throttled_until = 0.0
        self.last_signal: str | None = None
        self._changed: asyncio.Condition | None = None

    def _condition(self) -> asyncio.Condition:
        if self._changed is None:
            self._changed = asyncio.Condition()
        return self._changed

    @property
    def throttled(self) -> bool:
        return time.monotonic() < self.throttled_until

    def current_limits(self) -> tuple[int, int]:
        """(max concurrent requests, max in-flight bytes) in force right now."""
        if self.throttled:
            return (
                max(1, self.limits.max_concurrent // 2),
                max(1, self.limits.max_inflight_bytes // 2),
            )
        return self.limits.max_concurrent, self.limits.max_inflight_bytes

    def signal_rate_limited(self, reason: str) -> None:
        """The server asked us to slow down: tighten the limits for a while."""
        self.throttled_until = time.monotonic() + self.limits.backoff_window_s
        self.last_signal = reason

    def _admits(self, nbytes: int) -> bool:
        max_count, max_bytes = self.current_limits()
        if self.inflight == 0:
            return True  # one request always goes, however large, or nothing ever would
        return self.inflight < max_count and self.inflight_bytes + nbytes <= max_bytes

    @contextlib.asynccontextmanager
    async def slot(self, nbytes: int) -> AsyncIterator[None]:
        condition = self._condition()
        async with condition:
            if not self._admits(nbytes):
                if self.limits.fail_fast:
                    raise RateLimitError(
                        f"sampling back-pressure: {self.inflight} requests and "
                        f"{self.inflight_bytes} bytes in flight (limits {self.current_limits()})",
                        status_code=429,
                    )
                while not self._admits(nbytes):
                    # Wake up when a slot frees, or when a throttle window ends.
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(condition.wait(), timeout=0.5)
            self.inflight += 1
            self.inflight_bytes += nbytes
            self.peak_inflight_bytes = max(self.peak_inflight_bytes, self.inflight_bytes)
        try:
            yield
        finally:
            async with condition:
                self.inflight -= 1
                self.inflight_bytes -= nbytes
                condition.notify_all()

    def snapshot(self) -> dict[str, Any]:
        max_count, max_bytes = self.current_limits()
        return {
            "inflight_requests": self.inflight,
            "inflight_bytes": self.inflight_bytes,
            "peak_inflight_bytes": self.peak_inflight_bytes,
            "max_concurrent": max_count,
            "max_inflight_bytes": max_bytes,
            "throttled": self.throttled,
            "last_signal": self.last_signal,
        }

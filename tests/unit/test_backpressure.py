"""Sampling back-pressure: bytes and requests in flight stay under the limits."""

from __future__ import annotations

import asyncio

import pytest

from tinker_hl import RateLimitError
from tinker_hl._backpressure import SamplingLimiter, SamplingLimits


def test_inflight_bytes_stay_under_budget_during_a_burst() -> None:
    limiter = SamplingLimiter(SamplingLimits(max_concurrent=100, max_inflight_bytes=1000))

    async def request(nbytes: int) -> None:
        async with limiter.slot(nbytes):
            assert limiter.inflight_bytes <= 1000
            await asyncio.sleep(0.005)

    async def burst() -> None:
        await asyncio.gather(*(request(300) for _ in range(20)))

    asyncio.run(burst())
    assert limiter.peak_inflight_bytes <= 900
    assert limiter.inflight == 0 and limiter.inflight_bytes == 0


def test_rate_limit_signal_halves_limits_for_a_while() -> None:
    limiter = SamplingLimiter(SamplingLimits(max_concurrent=8, max_inflight_bytes=800))
    assert limiter.current_limits() == (8, 800)
    limiter.signal_rate_limited("http 429")
    assert limiter.current_limits() == (4, 400)
    assert limiter.snapshot()["throttled"] is True
    limiter.throttled_until = 0
    assert limiter.current_limits() == (8, 800)


def test_fail_fast_raises_a_typed_error() -> None:
    limiter = SamplingLimiter(SamplingLimits(max_concurrent=1, fail_fast=True))

    async def two_at_once() -> None:
        async with limiter.slot(10), limiter.slot(10):
            pass

    with pytest.raises(RateLimitError, match="back-pressure"):
        asyncio.run(two_at_once())


def test_one_oversized_request_still_goes_through() -> None:
    limiter = SamplingLimiter(SamplingLimits(max_inflight_bytes=10))

    async def big() -> None:
        async with limiter.slot(10_000):
            pass

    asyncio.run(big())

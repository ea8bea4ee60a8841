"""Retry rules: what is retried, the backoff schedule, and giving up."""

from __future__ import annotations

import asyncio

import pytest

from tinker_hl import APIConnectionError, APITimeoutError, BadRequestError, RetryConfig
from tinker_hl._exceptions import status_error_for
from tinker_hl._retry import RetryHandler, is_retryable_status

FAST = RetryConfig(retry_delay_base=0.001, retry_delay_max=0.004, jitter_factor=0.25)


def flaky(failures: list[Exception], result: str = "ok"):  # type: ignore[no-untyped-def]
    calls = {"n": 0}

    async def fn() -> str:
        calls["n"] += 1
        if failures:
            raise failures.pop(0)
        return result

    return fn, calls


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503])
def test_retryable_statuses_are_retried(status: int) -> None:
    fn, calls = flaky([status_error_for("op", status, {"error": "x"})] * 2)
    assert asyncio.run(RetryHandler(FAST).execute(fn)) == "ok"
    assert calls["n"] == 3


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_user_errors_are_not_retried(status: int) -> None:
    assert not is_retryable_status(status)
    fn, calls = flaky([status_error_for("op", status, {"error": "bad"})])
    with pytest.raises(Exception) as info:
        asyncio.run(RetryHandler(FAST).execute(fn))
    assert getattr(info.value, "status_code", None) == status
    assert calls["n"] == 1


def test_connection_errors_are_retried_and_counted_by_type() -> None:
    handler = RetryHandler(FAST)
    fn, _ = flaky([APIConnectionError("refused"), APITimeoutError("slow")])
    assert asyncio.run(handler.execute(fn)) == "ok"
    assert handler.retry_count == 2
    assert handler.errors_by_type == {"APIConnectionError": 1, "APITimeoutError": 1}


def test_retry_after_header_is_honoured() -> None:
    waits: list[float] = []
    handler = RetryHandler(FAST)
    handler.on_retry = lambda operation, exc, wait: waits.append(wait)
    limited = status_error_for("op", 429, {"error": "slow down"}, {"retry-after": "0.05"})
    fn, _ = flaky([limited])
    assert asyncio.run(handler.execute(fn)) == "ok"
    assert waits and waits[0] >= 0.05


def test_delays_grow_exponentially_and_are_capped() -> None:
    config = RetryConfig(retry_delay_base=0.5, retry_delay_max=10.0, jitter_factor=0.0)
    delays = config.delays()
    assert [next(delays) for _ in range(7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    jittery = RetryConfig(jitter_factor=0.25)
    assert all(0.75 <= jittery.jitter(1.0) <= 1.25 for _ in range(200))


def test_progress_timeout_ends_with_a_clear_error() -> None:
    config = RetryConfig(retry_delay_base=0.01, retry_delay_max=0.02, progress_timeout=0.2)

    async def always_down() -> str:
        raise APIConnectionError("connection refused")

    with pytest.raises(APITimeoutError, match="no progress"):
        asyncio.run(RetryHandler(config).execute(always_down))


def test_disabled_retry_logic_fails_at_once() -> None:
    fn, calls = flaky([APIConnectionError("down")])
    with pytest.raises(APIConnectionError):
        asyncio.run(RetryHandler(RetryConfig(enable_retry_logic=False)).execute(fn))
    assert calls["n"] == 1


def test_semaphore_limits_concurrency() -> None:
    handler = RetryHandler(RetryConfig(max_connections=3))
    active = {"now": 0, "max": 0}

    async def work() -> None:
        active["now"] += 1
        active["max"] = max(active["max"], active["now"])
        await asyncio.sleep(0.01)
        active["now"] -= 1

    async def main() -> None:
        await asyncio.gather(*(handler.execute(work) for _ in range(12)))

    asyncio.run(main())
    assert active["max"] == 3


def test_config_is_validated() -> None:
    with pytest.raises(ValueError, match="max_connections"):
        RetryConfig(max_connections=0)
    with pytest.raises(ValueError, match="jitter_factor"):
        RetryConfig(jitter_factor=2)


def test_status_errors_are_precise() -> None:
    err = status_error_for("forward", 400, {"error": "data.0: expected an object"})
    assert isinstance(err, BadRequestError)
    assert "data.0" in str(err) and err.status_code == 400


def test_the_sleeps_actually_taken_follow_one_schedule() -> None:
    """Seven failures, then success: the handler really sleeps 0.5, 1, 2, 4, 8, 10, 10 s (the
    schedule does not restart after the first retry)."""
    config = RetryConfig(retry_delay_base=0.5, retry_delay_max=10.0, jitter_factor=0.0)
    handler = RetryHandler(config)
    slept: list[float] = []

    async def record(seconds: float) -> None:
        slept.append(seconds)

    handler.sleep = record
    fn, calls = flaky([APIConnectionError("down")] * 4 + [status_error_for("op", 522, "")] * 3)
    assert asyncio.run(handler.execute(fn)) == "ok"
    assert slept == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert calls["n"] == 8


def test_classify_is_the_one_answer_for_retries_breakers_and_telemetry() -> None:
    from tinker_hl import RequestFailedError, ValidationError
    from tinker_hl._errors import ErrorKind, classify, counts_against_service, is_user_error

    cases = {
        status_error_for("op", 503, ""): (ErrorKind.TRANSIENT, True),
        status_error_for("op", 522, ""): (ErrorKind.TRANSIENT, True),
        status_error_for("op", 429, ""): (ErrorKind.TRANSIENT, False),
        status_error_for("op", 404, ""): (ErrorKind.USER, False),
        APIConnectionError("refused"): (ErrorKind.TRANSIENT, True),
        ValidationError("x", "bad"): (ErrorKind.USER, False),
        RequestFailedError("m", request_id="r", category="user"): (ErrorKind.USER, False),
        RequestFailedError("m", request_id="r", category="server"): (ErrorKind.SERVER, True),
        KeyError("bug"): (ErrorKind.LOCAL, False),
    }
    for exc, (kind, against_service) in cases.items():
        assert classify(exc) is kind, exc
        assert counts_against_service(exc) is against_service, exc
        assert is_user_error(exc) is (kind is ErrorKind.USER)
        assert FAST.should_retry(exc) is (kind is ErrorKind.TRANSIENT)
    wrapped = RuntimeError("wrapper")
    wrapped.__cause__ = status_error_for("op", 400, {"detail": "no"})
    assert classify(wrapped) is ErrorKind.USER


def test_a_freed_connection_goes_to_a_submission_before_a_long_poll() -> None:
    # With more requests than connections, long-polls for the first results must not hold
    # every connection while the remaining submissions wait behind them.
    handler = RetryHandler(RetryConfig(max_connections=1))
    order: list[str] = []

    async def call(name: str, hold: asyncio.Event | None = None) -> None:
        order.append(name)
        if hold is not None:
            await hold.wait()

    async def main() -> None:
        release = asyncio.Event()
        first = asyncio.create_task(handler.execute(lambda: call("first", release)))
        await asyncio.sleep(0)
        poll = asyncio.create_task(handler.execute(lambda: call("poll"), long_poll=True))
        await asyncio.sleep(0)
        submit = asyncio.create_task(handler.execute(lambda: call("submit")))
        await asyncio.sleep(0)
        release.set()
        await asyncio.gather(first, poll, submit)

    asyncio.run(main())
    assert order == ["first", "submit", "poll"]


def test_a_cancelled_wait_for_a_connection_gives_nothing_away() -> None:
    handler = RetryHandler(RetryConfig(max_connections=1))

    async def main() -> list[str]:
        done: list[str] = []
        release = asyncio.Event()

        async def hold() -> None:
            await release.wait()

        async def note(name: str) -> None:
            done.append(name)

        first = asyncio.create_task(handler.execute(hold))
        await asyncio.sleep(0)
        waiting = asyncio.create_task(handler.execute(lambda: note("cancelled")))
        await asyncio.sleep(0)
        waiting.cancel()
        release.set()
        await first
        await handler.execute(lambda: note("later"))  # the one connection is free again
        return done

    assert asyncio.run(main()) == ["later"]

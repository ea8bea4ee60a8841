"""The telemetry reporter with a fake sender: batching, flushing, the bounded queue, draining,
the off switch, scrubbing of secrets and the user-error / server-error decision."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from tinker_api_client.models import TelemetrySendRequest

from tinker_hl._exceptions import (
    BadRequestError,
    InternalServerError,
    RateLimitError,
    RequestFailedError,
    ValidationError,
)
from tinker_hl._loop import EventLoopThread
from tinker_hl._telemetry import (
    DROPPED_EVENT_NAME,
    Telemetry,
    TelemetryConfig,
    iso8601_duration,
    report_exceptions,
    report_future_exceptions,
    start_telemetry,
)

CANARY = "tml-CANARY-7f3a9c2e5b1d"
OTHER_SECRET = "s3cr3t-header-value-canary"
SLOW = TelemetryConfig(flush_interval_s=60.0)


class FakeSender:
    """Records every batch as the JSON the server would receive."""

    def __init__(self, fail_first: int = 0, error: Exception | None = None) -> None:
        self.requests: list[dict[str, Any]] = []
        self.raw: list[str] = []
        self.calls = 0
        self.fail_first = fail_first
        self.error = error or InternalServerError("boom", status_code=503)
        self._lock = threading.Lock()

    async def __call__(self, request: TelemetrySendRequest) -> None:
        with self._lock:
            self.calls += 1
            if self.calls <= self.fail_first:
                raise self.error
            text = json.dumps(request.to_dict())
            TelemetrySendRequest.from_dict(json.loads(text))  # decodes as the wire type
            self.raw.append(text)
            self.requests.append(json.loads(text))

    @property
    def events(self) -> list[dict[str, Any]]:
        with self._lock:
            return [e for r in self.requests for e in r["events"]]


# How long the tests let stop() drain (it returns as soon as all is sent): far above the
# default 5 s, which a loaded machine can take.
DRAIN_S = 60.0


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.01)
    raise AssertionError("condition not met in time")


@pytest.fixture
def loop_thread() -> Iterator[EventLoopThread]:
    thread = EventLoopThread(name="telemetry-test-loop")
    yield thread
    thread.close()


@pytest.fixture(autouse=True)
def telemetry_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TINKER_TELEMETRY", raising=False)


def make(
    loop_thread: EventLoopThread,
    sender: FakeSender,
    config: TelemetryConfig = SLOW,
    start: bool = True,
) -> Telemetry:
    telemetry = Telemetry(
        loop_thread.loop, "session-1", sender, secrets=[CANARY, OTHER_SECRET], config=config
    )
    if start:
        telemetry.start()
    return telemetry


def names(events: list[dict[str, Any]]) -> list[str]:
    return [e.get("event_name", e["event"]) for e in events]


# ----- batching and flushing -------------------------------------------------------------------
def test_a_batch_goes_out_as_soon_as_100_events_are_queued(loop_thread: EventLoopThread) -> None:
    sender = FakeSender()
    telemetry = make(loop_thread, sender)
    for i in range(99):  # + the session start event = 100
        telemetry.log(f"e{i}")
    wait_until(lambda: len(sender.requests) == 1, timeout=3)
    time.sleep(0.1)  # let that flush finish (it would also send whatever is queued meanwhile)
    assert len(sender.requests[0]["events"]) == 100
    assert sender.requests[0]["events"][0]["event"] == "SESSION_START"
    for i in range(50):  # below the batch size: waits for the (60 s) interval
        telemetry.log(f"late{i}")
    time.sleep(0.3)
    assert len(sender.requests) == 1
    telemetry.stop(timeout=DRAIN_S)
    assert [len(r["events"]) for r in sender.requests] == [100, 51]  # 50 + session end


def test_batches_never_exceed_100_events(loop_thread: EventLoopThread) -> None:
    sender = FakeSender()
    telemetry = make(loop_thread, sender)
    for i in range(345):
        telemetry.log("bulk", {"i": i})
    telemetry.stop(timeout=DRAIN_S)
    sizes = [len(r["events"]) for r in sender.requests]
    assert max(sizes) <= 100
    assert sum(sizes) == 347  # session start + 345 + session end
    indices = [e["event_session_index"] for e in sender.events]
    assert indices == sorted(indices) == list(range(347))


def test_periodic_flush_sends_a_partial_batch(loop_thread: EventLoopThread) -> None:
    sender = FakeSender()
    telemetry = make(loop_thread, sender, TelemetryConfig(flush_interval_s=0.05))
    telemetry.log("a")
    telemetry.log("b", {"x": 1}, "WARNING")
    wait_until(lambda: len(sender.events) == 3, timeout=2)
    first = sender.requests[0]
    assert first["session_id"] == "session-1"
    assert first["platform"] and first["sdk_version"].startswith("tinker-hl/")
    assert names(sender.events) == ["SESSION_START", "a", "b"]
    assert sender.events[2]["severity"] == "WARNING" and sender.events[2]["event_data"] == {"x": 1}
    telemetry.log("c")
    wait_until(lambda: len(sender.requests) == 2, timeout=2)  # the next interval
    telemetry.stop(timeout=DRAIN_S)


def test_flush_sends_now(loop_thread: EventLoopThread) -> None:
    sender = FakeSender()
    telemetry = make(loop_thread, sender)
    telemetry.log("now")
    telemetry.flush()
    wait_until(lambda: len(sender.events) == 2, timeout=2)
    telemetry.stop(timeout=DRAIN_S)


# ----- bounded queue ---------------------------------------------------------------------------
def test_full_queue_drops_the_oldest_and_reports_the_count(loop_thread: EventLoopThread) -> None:
    sender = FakeSender()
    config = TelemetryConfig(flush_interval_s=60.0, max_queue_size=10, max_batch_size=100)
    telemetry = make(loop_thread, sender, config, start=False)  # nothing is sent meanwhile
    for i in range(25):
        telemetry.log(f"e{i}")
    assert telemetry.queued == 10
    assert telemetry.dropped_total == 16  # session start + e0..e14
    telemetry.start()
    telemetry.flush()
    wait_until(lambda: len(sender.requests) == 1, timeout=2)
    events = sender.requests[0]["events"]
    assert events[0]["event_name"] == DROPPED_EVENT_NAME
    assert events[0]["event_data"]["count"] == 16 and events[0]["severity"] == "WARNING"
    assert names(events[1:]) == [f"e{i}" for i in range(15, 25)]
    telemetry.log("after")
    telemetry.stop(timeout=DRAIN_S)
    # The count is reported once.
    later = [e for r in sender.requests[1:] for e in r["events"]]
    assert DROPPED_EVENT_NAME not in names(later)
    assert names(later) == ["after", "SESSION_END"]


def test_the_drop_report_keeps_the_batch_within_the_limit(loop_thread: EventLoopThread) -> None:
    sender = FakeSender()
    config = TelemetryConfig(flush_interval_s=60.0, max_queue_size=5, max_batch_size=5)
    telemetry = make(loop_thread, sender, config, start=False)
    for i in range(12):
        telemetry.log(f"e{i}")
    telemetry.start()
    telemetry.stop(timeout=DRAIN_S)
    sizes = [len(r["events"]) for r in sender.requests]
    assert max(sizes) <= 5
    assert names(sender.events)[0] == DROPPED_EVENT_NAME
    assert names(sender.events)[-1] == "SESSION_END"


# ----- stop --------------------------------------------------------------------------------------
def test_stop_drains_and_ends_with_the_session_end_event(loop_thread: EventLoopThread) -> None:
    sender = FakeSender()
    telemetry = make(loop_thread, sender)
    for i in range(5):
        telemetry.log(f"e{i}")
    started = time.monotonic()
    telemetry.stop()
    assert time.monotonic() - started < 2
    assert names(sender.events) == ["SESSION_START", "e0", "e1", "e2", "e3", "e4", "SESSION_END"]
    end = sender.events[-1]
    assert end["duration"].startswith("PT") and end["duration"].endswith("S")
    assert telemetry.queued == 0
    # After stop nothing is queued or sent, and stop is idempotent.
    assert telemetry.log("ignored") is False
    telemetry.stop()
    assert len(sender.events) == 7


def test_stop_is_bounded_when_the_server_hangs(loop_thread: EventLoopThread) -> None:
    async def hang(request: TelemetrySendRequest) -> None:
        await asyncio.sleep(60)

    config = TelemetryConfig(flush_interval_s=60.0, http_timeout_s=0.5, drain_timeout_s=1.0)
    telemetry = Telemetry(loop_thread.loop, "s", hang, config=config)
    telemetry.start()
    for i in range(250):  # three batches, each times out after 0.5 s: 1.5 s > drain timeout
        telemetry.log(f"e{i}")
    started = time.monotonic()
    telemetry.stop()
    assert 0.8 < time.monotonic() - started < 1.5
    assert telemetry.batches_sent == 0 and telemetry.batches_failed >= 1


def test_send_failures_are_retried_then_given_up_without_raising(
    loop_thread: EventLoopThread,
) -> None:
    sender = FakeSender(fail_first=1)  # one 503, then success
    config = TelemetryConfig(flush_interval_s=60.0, retry_delay_s=0.01)
    telemetry = make(loop_thread, sender, config)
    telemetry.log("x")
    telemetry.flush()
    wait_until(lambda: len(sender.events) == 2, timeout=2)
    assert sender.calls == 2

    bad = FakeSender(fail_first=10**6, error=BadRequestError("no", status_code=400))
    other = make(loop_thread, bad, config)
    assert other.log("y") is True
    other.flush()
    wait_until(lambda: other.batches_failed == 1, timeout=2)
    assert bad.calls == 1  # a 400 is not retried
    other.stop()
    telemetry.stop(timeout=DRAIN_S)


def test_an_exploding_sender_never_reaches_the_caller(loop_thread: EventLoopThread) -> None:
    sender = FakeSender(fail_first=10**6, error=RuntimeError("kaboom"))
    config = TelemetryConfig(flush_interval_s=0.01, retry_delay_s=0.0, send_attempts=2)
    telemetry = make(loop_thread, sender, config)
    for _ in range(3):
        assert telemetry.log("x")
        time.sleep(0.02)
    telemetry.stop(timeout=DRAIN_S)
    assert telemetry.batches_failed >= 1


# ----- off switch ------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["0", "false", "OFF", "no"])
def test_tinker_telemetry_0_turns_it_off(
    monkeypatch: pytest.MonkeyPatch, loop_thread: EventLoopThread, value: str
) -> None:
    monkeypatch.setenv("TINKER_TELEMETRY", value)
    sender = FakeSender()
    threads_before = threading.active_count()
    assert start_telemetry(loop_thread.loop, "s", sender, secrets=[CANARY]) is None

    async def tasks() -> int:
        current = asyncio.current_task()
        return len([t for t in asyncio.all_tasks() if t is not current])

    assert loop_thread.run(tasks()) == 0
    assert threading.active_count() == threads_before
    time.sleep(0.05)
    assert sender.calls == 0


def test_start_telemetry_starts_a_task_when_enabled(loop_thread: EventLoopThread) -> None:
    sender = FakeSender()
    telemetry = start_telemetry(loop_thread.loop, "sess-9", sender, secrets=[CANARY, OTHER_SECRET])
    assert telemetry is not None
    telemetry.log("started", {"header": f"X-Extra: {OTHER_SECRET}"})
    telemetry.stop(timeout=DRAIN_S)
    assert names(sender.events) == ["SESSION_START", "started", "SESSION_END"]
    assert sender.requests[0]["session_id"] == "sess-9"
    assert OTHER_SECRET not in "".join(sender.raw)


def test_start_telemetry_never_raises() -> None:
    assert start_telemetry(asyncio.new_event_loop(), "s", FakeSender(), secrets=42) is None  # type: ignore[arg-type]


# ----- privacy -----------------------------------------------------------------------------------
def test_the_api_key_never_appears_in_any_event(loop_thread: EventLoopThread) -> None:
    sender = FakeSender()
    telemetry = start_telemetry(loop_thread.loop, "s", sender, secrets=[CANARY])
    assert telemetry is not None

    def failing() -> None:
        try:
            raise BadRequestError(f"bad key {CANARY}", status_code=401, body={"key": CANARY})
        except BadRequestError as exc:
            raise RuntimeError(f"wrapped: X-API-Key: {CANARY}") from exc

    with pytest.raises(RuntimeError), report_exceptions(telemetry):
        failing()
    telemetry.log_exception(ValueError(f"api_key={CANARY[:-1]}Z and {CANARY.upper()}"))
    telemetry.log(f"name-{CANARY}", {"nested": [{"k": CANARY}], CANARY: (CANARY, 1.5)})
    telemetry.log("other", {"msg": f"TINKER_API_KEY={CANARY}", "b": CANARY.encode()})
    telemetry.log_exception(KeyError(CANARY), fatal=True)
    telemetry.stop(timeout=DRAIN_S)
    text = "\n".join(sender.raw)
    assert len(sender.events) == 7
    assert CANARY not in text
    assert CANARY[4:] not in text  # not even the key without its prefix
    assert CANARY.upper() not in text
    assert "<redacted>" in text


def test_token_lists_in_messages_are_collapsed(loop_thread: EventLoopThread) -> None:
    sender = FakeSender()
    telemetry = make(loop_thread, sender)
    tokens = list(range(1000, 1040))
    telemetry.log_exception(ValueError(f"bad datum tokens={tokens}"))
    telemetry.stop(timeout=DRAIN_S)
    event = sender.events[1]
    assert "1017" not in event["error_message"]
    assert "<40 numbers>" in event["error_message"]
    assert "1017, 1018" not in event["traceback"]


# ----- exceptions --------------------------------------------------------------------------------
def _chain(inner: BaseException, implicit: bool = False) -> RuntimeError:
    """A RuntimeError caused by `inner`: explicitly (`from`) or implicitly (`__context__`)."""
    try:
        if implicit:
            try:
                raise inner
            except BaseException:
                raise RuntimeError("while handling")  # noqa: B904
        raise RuntimeError("outer") from inner
    except RuntimeError as outer:
        return outer


@pytest.mark.parametrize(
    ("inner", "implicit", "user_error", "facts"),
    [
        (BadRequestError("x", status_code=400), False, True, {"status_code": 400}),
        (InternalServerError("x", status_code=500), False, False, {"status_code": 500}),
        (RateLimitError("x", status_code=429), False, False, {"status_code": 429}),
        (
            RequestFailedError("x", request_id="req-1", category="user"),
            True,
            True,
            {"request_id": "req-1", "error_category": "user"},
        ),
        (
            RequestFailedError("x", request_id="req-2", category="server"),
            False,
            False,
            {"request_id": "req-2", "error_category": "server"},
        ),
        (ValidationError("data[0]", "bad"), True, True, {}),
        (KeyError("plain"), False, False, {}),
    ],
)
def test_exceptions_record_the_user_error_decision_through_the_cause_chain(
    loop_thread: EventLoopThread,
    inner: BaseException,
    implicit: bool,
    user_error: bool,
    facts: dict[str, Any],
) -> None:
    sender = FakeSender()
    telemetry = make(loop_thread, sender)
    outer = _chain(inner, implicit)
    assert telemetry.log_exception(outer)
    telemetry.stop(timeout=DRAIN_S)
    event = sender.events[1]
    assert event["event"] == "UNHANDLED_EXCEPTION"
    assert event["error_type"] == "RuntimeError"
    assert event["severity"] == "ERROR"
    assert event["user_error"] is user_error and event["fatal"] is False
    assert type(inner).__name__ in event["traceback"]
    for key, value in facts.items():
        assert event[key] == value


def test_fatal_exceptions_are_critical_and_reported_once(loop_thread: EventLoopThread) -> None:
    sender = FakeSender()
    telemetry = make(loop_thread, sender)
    exc = ValueError("once")
    assert telemetry.log_exception(exc)
    assert not telemetry.log_exception(exc)  # already reported
    assert telemetry.log_exception(exc, fatal=True)  # upgraded to fatal: reported again
    assert not telemetry.log_exception(exc, fatal=True)
    telemetry.stop(timeout=DRAIN_S)
    severities = [e["severity"] for e in sender.events if e["event"] == "UNHANDLED_EXCEPTION"]
    assert severities == ["ERROR", "CRITICAL"]
    assert sender.events[2]["fatal"] is True


def test_report_exceptions_as_decorator_context_and_for_futures(
    loop_thread: EventLoopThread,
) -> None:
    sender = FakeSender()
    telemetry = make(loop_thread, sender)
    holder_like = SimpleNamespace(get_telemetry=lambda: telemetry)

    @report_exceptions(holder_like)
    def sync_fail() -> None:
        raise ValueError("sync")

    @report_exceptions(telemetry, fatal=True)
    async def async_fail() -> None:
        raise ValueError("async")

    @report_exceptions(telemetry)
    def ok() -> int:
        return 3

    with pytest.raises(ValueError):
        sync_fail()
    with pytest.raises(ValueError):
        asyncio.run(async_fail())
    assert ok() == 3
    with report_exceptions(None):  # no telemetry: nothing happens
        pass

    async def failing_request() -> None:
        raise InternalServerError("server side", status_code=500)

    future = loop_thread.submit(failing_request())
    report_future_exceptions(SimpleNamespace(holder=SimpleNamespace(telemetry=telemetry)), future)
    with pytest.raises(InternalServerError):
        future.result()
    wait_until(lambda: len(sender.events) == 4, timeout=2)  # exceptions are sent at once
    telemetry.stop(timeout=DRAIN_S)
    messages = [e["error_message"] for e in sender.events if e["event"] == "UNHANDLED_EXCEPTION"]
    assert messages == ["sync", "async", "server side"]
    assert [e["severity"] for e in sender.events[1:4]] == ["ERROR", "CRITICAL", "ERROR"]


def test_log_works_from_many_threads(loop_thread: EventLoopThread) -> None:
    sender = FakeSender()
    telemetry = make(loop_thread, sender, TelemetryConfig(flush_interval_s=0.01))

    def worker(n: int) -> None:
        for i in range(50):
            telemetry.log("threaded", {"worker": n, "i": i})

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    telemetry.stop(timeout=DRAIN_S)
    assert len(sender.events) == 402
    assert len({e["event_id"] for e in sender.events}) == 402
    assert sorted(e["event_session_index"] for e in sender.events) == list(range(402))


def test_event_data_is_made_json_safe(loop_thread: EventLoopThread) -> None:
    import numpy as np

    sender = FakeSender()
    telemetry = make(loop_thread, sender)
    telemetry.log(
        "odd",
        {"nan": float("nan"), "np": np.float32(1.5), "set": {1}, "obj": object(), "n": None},
        "bogus-severity",
    )
    telemetry.stop(timeout=DRAIN_S)
    event = sender.events[1]
    assert event["severity"] == "INFO"
    assert event["event_data"]["nan"] == "nan" and event["event_data"]["np"] == 1.5
    assert event["event_data"]["set"] == [1] and event["event_data"]["n"] is None


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(0, "PT0.000S"), (12.3456, "PT12.346S"), (61, "PT1M1.000S"), (3 * 3600 + 5, "PT3H5.000S")],
)
def test_iso8601_duration(seconds: float, expected: str) -> None:
    assert iso8601_duration(seconds) == expected

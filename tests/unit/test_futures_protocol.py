"""The futures protocol, driven by scripted `retrieve_future` answers (no server)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
import pytest

import tinker_hl._futures as futures
from tinker_hl import APITimeoutError, QueueState, RequestFailedError, RetryConfig
from tinker_hl._exceptions import status_error_for
from tinker_hl._metrics import ClientMetrics
from tinker_hl._pipeline import CallPipeline


class FakeResponse:
    def __init__(self, body: dict[str, Any]) -> None:
        self.content = orjson.dumps(body)


class RecordingMetrics(ClientMetrics):
    def __init__(self) -> None:
        super().__init__()
        self.states: list[tuple[str, str | None]] = []

    def record_queue_state(self, request_id: str, state: str | None) -> None:
        self.states.append((request_id, state))
        super().record_queue_state(request_id, state)


def _no_connection() -> Any:
    raise AssertionError("the scripted pipeline never connects")


class ScriptedPipeline(CallPipeline):
    """A real pipeline whose HTTP call answers each retrieve_future with the next scripted
    body (or raises it)."""

    def __init__(self, script: list[Any], config: RetryConfig | None = None) -> None:
        self.recorded = RecordingMetrics()
        super().__init__(
            _no_connection,
            retry_config=config or RetryConfig(retry_delay_base=0.001, retry_delay_max=0.002),
            metrics=self.recorded,
        )
        self.script = list(script)
        self.headers: list[dict[str, Any]] = []

    @property
    def states(self) -> list[tuple[str, str | None]]:
        return self.recorded.states

    async def call(self, operation: str, endpoint: Any, **kwargs: Any) -> Any:
        self.headers.append(kwargs)
        item = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(item, Exception):
            raise item
        return FakeResponse(item)


class Observer:
    def __init__(self) -> None:
        self.seen: list[tuple[QueueState, str | None]] = []

    def on_queue_state_change(self, queue_state: QueueState, reason: str | None) -> None:
        self.seen.append((queue_state, reason))


def poll(holder: ScriptedPipeline, observer: Observer | None = None) -> Any:
    return asyncio.run(
        futures.poll_until_done(
            holder,
            "req-1",
            lambda body: body,
            request_type="forward",
            submitted_at=0.0,
            observer=observer,
        )
    )


def try_again(state: str, reason: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "try_again", "request_id": "req-1", "queue_state": state}
    if reason:
        body["queue_state_reason"] = reason
    return body


def test_try_again_then_result_with_queue_state_observed() -> None:
    holder = ScriptedPipeline(
        [
            try_again("active"),
            try_again("paused_rate_limit", "too many samplers"),
            try_again("active"),
            {"metrics": {"loss:sum": 1.0}},
        ]
    )
    observer = Observer()
    assert poll(holder, observer) == {"metrics": {"loss:sum": 1.0}}
    assert observer.seen == [
        (QueueState.PAUSED_RATE_LIMIT, "too many samplers"),
        (QueueState.ACTIVE, None),
    ]
    iterations = [h["x_tinker_request_iteration"] for h in holder.headers]
    assert iterations == ["0", "1", "2", "3"]
    assert all(h["x_tinker_request_type"] == "forward" for h in holder.headers)
    assert holder.states[-1] == ("req-1", None)  # the wait is closed in the metrics


def test_unknown_queue_state_from_a_newer_server() -> None:
    observer = Observer()
    assert poll(ScriptedPipeline([try_again("paused_maintenance"), {"ok": 1}]), observer)
    assert observer.seen == [(QueueState.UNKNOWN, None)]


def test_failed_request_raises_with_category() -> None:
    holder = ScriptedPipeline([{"error": "token id 999 is out of range", "category": "user"}])
    with pytest.raises(RequestFailedError, match="out of range") as info:
        poll(holder)
    assert info.value.category == "user" and info.value.is_user_error
    assert info.value.request_id == "req-1"


def test_408_means_pending_and_5xx_is_retried() -> None:
    holder = ScriptedPipeline(
        [
            status_error_for("retrieve_future", 408, {"queue_state": "paused_capacity"}),
            status_error_for("retrieve_future", 503, {"error": "busy"}),
            {"done": True},
        ]
    )
    observer = Observer()
    assert poll(holder, observer) == {"done": True}
    assert observer.seen == [(QueueState.PAUSED_CAPACITY, None)]
    assert holder.retry_handler.retry_count == 1


def test_unknown_request_is_not_retried() -> None:
    holder = ScriptedPipeline([status_error_for("retrieve_future", 404, {"error": "unknown"})])
    with pytest.raises(Exception, match="404"):
        poll(holder)


def test_a_wait_without_progress_logs_and_ends_with_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(futures, "STALL_LOG_INTERVAL_S", 0.0)
    caplog.set_level(logging.INFO, logger="tinker_hl.futures")
    config = RetryConfig(retry_delay_base=0.001, retry_delay_max=0.002, progress_timeout=0.3)
    holder = ScriptedPipeline([try_again("paused_capacity")], config)

    async def slow_call(operation: str, endpoint: Any, **kwargs: Any) -> FakeResponse:
        await asyncio.sleep(0.02)
        return FakeResponse(try_again("paused_capacity"))

    holder.call = slow_call  # type: ignore[method-assign]
    with pytest.raises(APITimeoutError, match="no outcome") as info:
        poll(holder)
    assert "paused_capacity" in str(info.value)
    assert "still waiting for forward req-1" in caplog.text
    assert "queue state paused_capacity" in caplog.text


def test_queue_state_warnings_are_rate_limited(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="tinker_hl.futures")
    warn = futures.QueueStateWarnings("sampling requests", interval_s=3600)
    warn(QueueState.ACTIVE, None)  # active is not worth a warning
    warn(QueueState.PAUSED_RATE_LIMIT, "concurrent sampler limit")
    warn(QueueState.PAUSED_CAPACITY, None)  # within the interval: silent
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "sampling requests are waiting: paused_rate_limit (concurrent sampler limit)"
    ]

"""Never lose a finished result, never hang silently.

- A result whose delivery failed (the connection dropped after the server answered the poll)
  is still there for the next poll of the same request id.
- Finished results are dropped only once delivered AND aged (or never fetched for a day), so
  memory stays bounded.
- A client waiting on a stalled or hung server ends the wait at `progress_timeout` with a clear
  APITimeoutError, and logs the stall while it waits.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import tinker_hl as tinker
import tinker_hl._futures as futures_module
from tinker_local.server.config import user_id_for_key
from tinker_local.server.futures import FutureRegistry

MODEL = "local/tiny-llama"


def _poll(http: httpx.Client, request_id: str) -> httpx.Response:
    return http.post("/api/v1/retrieve_future", json={"request_id": request_id})


@pytest.fixture
def http(chaos_server: Any, key: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=chaos_server.url, headers={"X-API-Key": key}, timeout=10) as client:
        yield client


def test_a_result_whose_delivery_failed_is_delivered_by_the_next_poll(
    chaos_server: Any, faults: Any, http: httpx.Client, key: str
) -> None:
    session = http.post(
        "/api/v1/create_session", json={"tags": [], "user_metadata": None, "sdk_version": "t"}
    ).json()["session_id"]
    body = {
        "session_id": session,
        "model_seq_id": 0,
        "base_model": MODEL,
        "lora_config": {"rank": 2},
    }
    request_id = http.post("/api/v1/create_model", json=body).json()["request_id"]
    record = chaos_server.backend.registry.get(request_id, user_id_for_key(key))
    deadline = time.monotonic() + 10
    while not record.done.is_set() and time.monotonic() < deadline:
        time.sleep(0.01)
    faults.configure(rate=1.0, kinds=("drop_after",), paths=("retrieve_future",), limit=2)
    for _ in range(2):  # the server delivers the finished result; the client never gets it
        with pytest.raises(httpx.TransportError):
            _poll(http, request_id)
    assert record.delivered_at is not None  # as far as the server knows, it was delivered
    first = _poll(http, request_id)
    again = _poll(http, request_id)
    assert first.status_code == 200 and first.json()["type"] == "create_model"
    assert again.json() == first.json()  # and it stays until aged


async def test_results_are_dropped_only_when_delivered_and_aged_so_memory_is_bounded() -> None:
    registry = FutureRegistry(result_ttl_s=60, undelivered_ttl_s=3600, seq_gap_timeout_s=1)
    await registry.start()
    try:
        records = [
            registry.submit(
                user="u",
                request_type="t",
                fn=lambda i=i: {"i": i},
                queue="m" if i % 2 else None,
                seq_id=i // 2 + 1 if i % 2 else None,
                idem_key=("k", i),
            )
            for i in range(2000)
        ]
        for record in records[:1500]:  # delivered
            assert await registry.wait(record, 10)
        for record in records[1500:]:  # finished, never fetched
            await asyncio.wait_for(record.done.wait(), 10)
        blocked = registry.submit(  # waits for a seq_id that never comes
            user="u", request_type="t", fn=lambda: {}, queue="m", seq_id=10**6
        )
        now = time.time()
        assert registry.sweep(now + 59) == 0  # nothing aged yet
        assert len(registry) == 2001
        assert registry.sweep(now + 61) == 1500  # delivered and aged
        assert registry.sweep(now + 3599) == 0
        assert registry.sweep(now + 3601) == 500  # never fetched: dropped after a day-like TTL
        assert len(registry) == 1 and registry.get(blocked.request_id, "u") is blocked  # pending
        assert list(registry._by_key) == []  # idempotency keys go with their records
    finally:
        await registry.stop()


def test_delivered_results_are_purged_by_the_running_server(
    tmp_path: Any, key: str, fast_retry: tinker.RetryConfig, make_datum: Any
) -> None:
    from tinker_local.launcher import serve_local

    with (
        serve_local(tmp_path, api_keys=[key], compute="none", result_ttl_s=0.5) as server,
        tinker.ServiceClient(api_key=key, base_url=server.url, retry_config=fast_retry) as sc,
    ):
        training = sc.create_lora_training_client(MODEL, rank=2)
        pending = [
            training.forward_backward([make_datum(f"datum {i}")], "cross_entropy")
            for i in range(100)
        ]
        assert all(f.result().metrics for f in pending)
        registry = server.backend.registry
        assert len(registry) > 0
        deadline = time.monotonic() + 10  # the sweeper runs every second here
        while len(registry) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(registry) == 0


def test_a_stalled_request_ends_at_progress_timeout_with_a_clear_error(
    chaos_server: Any,
    key: str,
    make_datum: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The server keeps answering "try again" (its compute is stuck): the client logs the stall
    and gives up at progress_timeout instead of waiting forever."""
    release = threading.Event()
    compute = chaos_server.backend.compute
    real_forward = compute.forward

    def stuck(*args: Any, **kwargs: Any) -> Any:
        release.wait(30)
        return real_forward(*args, **kwargs)

    monkeypatch.setattr(futures_module, "STALL_LOG_INTERVAL_S", 0.3)
    retry = tinker.RetryConfig(retry_delay_base=0.01, retry_delay_max=0.1, progress_timeout=1.5)
    with tinker.ServiceClient(api_key=key, base_url=chaos_server.url, retry_config=retry) as sc:
        training = sc.create_lora_training_client(MODEL, rank=2)
        monkeypatch.setattr(compute, "forward", stuck)
        try:
            with caplog.at_level(logging.INFO, logger="tinker_hl.futures"):
                started = time.monotonic()
                future = training.forward_backward([make_datum("stuck")], "cross_entropy")
                with pytest.raises(tinker.APITimeoutError, match="progress_timeout") as info:
                    future.result(timeout=30)
                waited = time.monotonic() - started
        finally:
            release.set()
    assert 1.5 <= waited < 10
    assert "forward_backward request req-" in str(info.value)
    assert "queue state active" in str(info.value)
    assert any("still waiting for forward_backward" in r.getMessage() for r in caplog.records)


def test_a_hung_server_ends_at_progress_timeout_with_a_clear_error(
    chaos_server: Any, faults: Any, key: str
) -> None:
    """Every poll hangs (slow fault longer than the client's HTTP timeout): the HTTP timeouts
    are retried until progress_timeout, then the wait ends with APITimeoutError."""
    retry = tinker.RetryConfig(retry_delay_base=0.01, retry_delay_max=0.1, progress_timeout=1.5)
    with tinker.ServiceClient(
        api_key=key, base_url=chaos_server.url, retry_config=retry, timeout=0.4
    ) as sc:
        faults.configure(rate=1.0, kinds=("slow",), paths=("retrieve_future",), delay_s=2.0)
        started = time.monotonic()
        with pytest.raises(tinker.APITimeoutError, match="no progress") as info:
            sc.create_lora_training_client(MODEL, rank=2)
        waited = time.monotonic() - started
        faults.configure(rate=0.0)
    assert 1.5 <= waited < 10
    assert "retrieve_future" in str(info.value)
    assert faults.counts["slow"] >= 2

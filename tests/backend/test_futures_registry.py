"""The futures registry on its own (no HTTP): ordering, gaps, idempotency, retention."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from tinker_local.server.errors import UserError
from tinker_local.server.futures import FutureRegistry


def _recorder(log: list[str], name: str) -> Callable[[], dict[str, Any]]:
    def job() -> dict[str, Any]:
        log.append(name)
        return {"name": name}

    return job


async def test_seq_ids_run_in_order_and_unsequenced_in_arrival_order(
    registry: FutureRegistry,
) -> None:
    log: list[str] = []
    registry.open_queue("m")
    records = [
        registry.submit(user="u", request_type="t", fn=_recorder(log, "s3"), queue="m", seq_id=3),
        registry.submit(user="u", request_type="t", fn=_recorder(log, "s2"), queue="m", seq_id=2),
        registry.submit(user="u", request_type="t", fn=_recorder(log, "free"), queue="m"),
        registry.submit(user="u", request_type="t", fn=_recorder(log, "s1"), queue="m", seq_id=1),
    ]
    for r in records:
        assert await registry.wait(r, 5)
    assert log == ["free", "s1", "s2", "s3"]


async def test_a_missing_seq_id_is_skipped_after_the_gap_timeout(registry: FutureRegistry) -> None:
    log: list[str] = []
    start = time.monotonic()
    late = registry.submit(user="u", request_type="t", fn=_recorder(log, "s2"), queue="m", seq_id=2)
    assert not await registry.wait(late, 0.1)
    assert await registry.wait(late, 5)
    assert time.monotonic() - start >= 0.3
    assert log == ["s2"]


async def test_consumed_seq_ids_do_not_stall_the_queue(registry: FutureRegistry) -> None:
    log: list[str] = []
    registry.open_queue("m")
    registry.consume_seq("m", 1)
    r = registry.submit(user="u", request_type="t", fn=_recorder(log, "s2"), queue="m", seq_id=2)
    assert await registry.wait(r, 0.2)


async def test_idempotency_key_returns_the_same_record(registry: FutureRegistry) -> None:
    log: list[str] = []
    a = registry.submit(user="u", request_type="t", fn=_recorder(log, "a"), idem_key=("k", 1))
    b = registry.submit(user="u", request_type="t", fn=_recorder(log, "b"), idem_key=("k", 1))
    assert a is b
    assert await registry.wait(a, 5)
    await asyncio.sleep(0.05)
    assert log == ["a"]


async def test_errors_are_categorised(registry: FutureRegistry) -> None:
    def user_mistake() -> dict[str, Any]:
        raise UserError("bad input")

    def bug() -> dict[str, Any]:
        raise RuntimeError("boom")

    u = registry.submit(user="u", request_type="t", fn=user_mistake)
    s = registry.submit(user="u", request_type="t", fn=bug)
    assert await registry.wait(u, 5) and await registry.wait(s, 5)
    assert u.outcome() == {"error": "bad input", "category": "user"}
    assert s.outcome()["category"] == "server" and "boom" in s.outcome()["error"]


async def test_results_are_kept_until_delivered_and_aged(registry: FutureRegistry) -> None:
    delivered = registry.submit(user="u", request_type="t", fn=lambda: {"x": 1}, idem_key="d")
    waiting = registry.submit(user="u", request_type="t", fn=lambda: {"x": 2})
    assert await registry.wait(delivered, 5)
    await asyncio.sleep(0.05)
    assert registry.get(waiting.request_id, "other-user") is None  # ids are private
    now = time.time()
    assert registry.sweep(now + 5) == 0  # delivered, but younger than result_ttl_s
    assert registry.sweep(now + 11) == 1  # delivered and aged: dropped
    assert registry.get(delivered.request_id, "u") is None and registry.find("d") is None
    assert registry.get(waiting.request_id, "u") is not None  # never delivered: kept
    assert registry.sweep(now + 101) == 1  # ...until undelivered_ttl_s

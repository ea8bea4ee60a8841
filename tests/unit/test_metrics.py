"""Client metrics: counts, errors, retries by cause, latency percentiles, queue-state time."""

from __future__ import annotations

import time

from tinker_hl._metrics import ClientMetrics


def test_snapshot_counts_and_percentiles() -> None:
    metrics = ClientMetrics()
    for ms in range(1, 101):
        metrics.record_request("asample", ms / 1000)
    metrics.record_request("asample", 0.5, error="503")
    metrics.record_retry("asample", "http_503")
    snap = metrics.snapshot()["endpoints"]["asample"]
    assert snap["requests"] == 101
    assert snap["errors"] == {"503": 1}
    assert snap["retries"] == {"http_503": 1}
    assert 0.049 <= snap["latency_s"]["p50"] <= 0.052
    assert snap["latency_s"]["p99"] >= 0.099
    assert snap["latency_s"]["max"] == 0.5


def test_histogram_buckets() -> None:
    metrics = ClientMetrics()
    for seconds in (0.001, 0.01, 0.1, 1.0, 10.0):
        metrics.record_request("forward", seconds)
    assert metrics.histogram("forward", [0.005, 0.05, 0.5, 5.0]) == [1, 1, 1, 1, 1]


def test_queue_state_time_accumulates() -> None:
    metrics = ClientMetrics()
    metrics.record_queue_state("r1", "paused_rate_limit")
    time.sleep(0.02)
    metrics.record_queue_state("r1", "active")
    metrics.record_queue_state("r1", None)
    seconds = metrics.snapshot()["queue_state_seconds"]
    assert seconds["paused_rate_limit"] >= 0.02

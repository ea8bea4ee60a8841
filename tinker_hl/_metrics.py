"""Client-side metrics: per-endpoint request counts, errors, retries by cause, latency
percentiles, and time spent in each queue state. Read with `ServiceClient.metrics()`."""

from __future__ import annotations

import bisect
import threading
import time
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

# Latencies kept per endpoint for percentiles: a bounded window keeps memory constant.
LATENCY_WINDOW = 2048


@dataclass
class _EndpointStats:
    requests: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    retries: Counter[str] = field(default_factory=Counter)
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=LATENCY_WINDOW))
    total_latency: float = 0.0


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


class ClientMetrics:
    """Thread-safe counters; updated on the client's loop, read from anywhere."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._endpoints: dict[str, _EndpointStats] = defaultdict(_EndpointStats)
        self._queue_state_time: defaultdict[str, float] = defaultdict(float)
        self._queue_state_since: dict[str, tuple[str, float]] = {}

    def record_request(self, endpoint: str, seconds: float, error: str | None = None) -> None:
        with self._lock:
            stats = self._endpoints[endpoint]
            stats.requests += 1
            stats.latencies.append(seconds)
            stats.total_latency += seconds
            if error is not None:
                stats.errors[error] += 1

    def record_retry(self, endpoint: str, cause: str) -> None:
        with self._lock:
            self._endpoints[endpoint].retries[cause] += 1

    def record_queue_state(self, request_id: str, state: str | None) -> None:
        """Track how long requests spend in each queue state (None: the request finished)."""
        now = time.monotonic()
        with self._lock:
            previous = self._queue_state_since.pop(request_id, None)
            if previous is not None:
                self._queue_state_time[previous[0]] += now - previous[1]
            if state is not None:
                self._queue_state_since[request_id] = (state, now)

    def snapshot(self) -> dict[str, Any]:
        """A plain-dict copy: per endpoint requests, errors, retries and latency percentiles."""
        with self._lock:
            endpoints: dict[str, Any] = {}
            for name, stats in sorted(self._endpoints.items()):
                ordered = sorted(stats.latencies)
                endpoints[name] = {
                    "requests": stats.requests,
                    "errors": dict(stats.errors),
                    "retries": dict(stats.retries),
                    "latency_s": {
                        "mean": stats.total_latency / stats.requests if stats.requests else 0.0,
                        "p50": _percentile(ordered, 0.50),
                        "p90": _percentile(ordered, 0.90),
                        "p99": _percentile(ordered, 0.99),
                        "max": ordered[-1] if ordered else 0.0,
                    },
                }
            now = time.monotonic()
            queue_time: defaultdict[str, float] = defaultdict(float, self._queue_state_time)
            for state, since in self._queue_state_since.values():
                queue_time[state] += now - since
            return {"endpoints": endpoints, "queue_state_seconds": dict(queue_time)}

    def waiting_summary(self) -> str:
        """Why requests may be waiting, in words: retries by cause, requests per queue state."""
        with self._lock:
            retries: Counter[str] = Counter()
            errors: Counter[str] = Counter()
            for stats in self._endpoints.values():
                retries.update(stats.retries)
                errors.update(stats.errors)
            states = Counter(state for state, _ in self._queue_state_since.values())
        parts = [
            f"retries so far: {dict(retries)}" if retries else "no retries so far",
            f"failed attempts: {dict(errors)}" if errors else "no failed attempts",
        ]
        if states:
            parts.append(f"server queue: {dict(states)}")
        return "; ".join(parts)

    def histogram(self, endpoint: str, bounds: list[float]) -> list[int]:
        """Counts of latencies (in the window) below each bound, plus one overflow bucket."""
        with self._lock:
            values = list(self._endpoints[endpoint].latencies)
        counts = [0] * (len(bounds) + 1)
        for value in values:
            counts[bisect.bisect_left(bounds, value)] += 1
        return counts

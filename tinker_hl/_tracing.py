"""Optional OpenTelemetry: a span per request and W3C trace-context headers on the wire.

Active only when the `opentelemetry` packages are importable; otherwise every function here is
a no-op and nothing is imported.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from typing import Any


@functools.cache
def _otel() -> tuple[Any, Any] | None:
    try:
        from opentelemetry import propagate, trace
    except ImportError:
        return None
    return trace.get_tracer("tinker_hl"), propagate


def enabled() -> bool:
    return _otel() is not None


def span(operation: str, **attributes: Any) -> contextlib.AbstractContextManager[None]:
    """A span around one request; a free no-op without opentelemetry (this is a hot path)."""
    otel = _otel()
    if otel is None:
        return contextlib.nullcontext()
    return _span(otel[0], operation, attributes)


@contextlib.contextmanager
def _span(tracer: Any, operation: str, attributes: dict[str, Any]) -> Iterator[None]:
    with tracer.start_as_current_span(f"tinker {operation}") as current:
        for key, value in attributes.items():
            current.set_attribute(f"tinker.{key}", value)
        yield


def trace_headers() -> dict[str, str]:
    """`traceparent`/`tracestate` for the current span (empty without opentelemetry)."""
    otel = _otel()
    carrier: dict[str, str] = {}
    if otel is not None:
        otel[1].inject(carrier)
    return carrier

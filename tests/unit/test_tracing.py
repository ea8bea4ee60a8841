"""Optional OpenTelemetry: spans around requests and W3C trace context on the wire."""

from __future__ import annotations

import contextlib
import sys
import types
from collections.abc import Iterator
from typing import Any

import pytest

from tinker_hl import _tracing


@pytest.fixture
def fake_otel(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """A stand-in for the opentelemetry packages (not installed in this environment)."""
    spans: list[str] = []
    current: list[str] = []

    class Span:
        def set_attribute(self, key: str, value: Any) -> None:
            spans.append(f"{key}={value}")

    class Tracer:
        @contextlib.contextmanager
        def start_as_current_span(self, name: str) -> Iterator[Span]:
            spans.append(name)
            current.append("4bf92f3577b34da6a3ce929d0e0e4736")
            try:
                yield Span()
            finally:
                current.pop()

    trace = types.SimpleNamespace(get_tracer=lambda name: Tracer())

    def inject(carrier: dict[str, str]) -> None:
        if current:
            carrier["traceparent"] = f"00-{current[-1]}-00f067aa0ba902b7-01"

    package = types.ModuleType("opentelemetry")
    package.trace = trace  # type: ignore[attr-defined]
    package.propagate = types.SimpleNamespace(inject=inject)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "opentelemetry", package)
    _tracing._otel.cache_clear()
    yield spans
    _tracing._otel.cache_clear()


def test_without_opentelemetry_everything_is_a_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry", None)  # import fails
    _tracing._otel.cache_clear()
    try:
        assert not _tracing.enabled()
        with _tracing.span("forward"):
            pass
        assert _tracing.trace_headers() == {}
    finally:
        _tracing._otel.cache_clear()


def test_spans_and_traceparent_headers(fake_otel: list[str]) -> None:
    assert _tracing.enabled()
    with _tracing.span("forward", model_id="run-1"):
        headers = _tracing.trace_headers()
    assert fake_otel == ["tinker forward", "tinker.model_id=run-1"]
    assert headers["traceparent"].startswith("00-4bf92f3577b34da6a3ce929d0e0e4736-")

"""Telemetry: a batching reporter of session, generic and exception events, one per ServiceClient.

What is sent (`POST /api/v1/telemetry`, `TelemetrySendRequest`): a session start event when the
ServiceClient is created, a session end event (with the session's ISO 8601 duration) when it is
closed, exceptions (`log_exception`, e.g. the one that ends a `with ServiceClient(...)` block)
and generic events (`log`). Every batch carries the session id, the platform and the SDK version.

What is never sent: the API key (every string is scrubbed of it, and of anything shaped like a
Tinker key or an API-key header) or training data: events carry no datums or tokens, and long
runs of numbers in exception messages (token lists) are collapsed.

How: events are queued (thread-safe; `log` works from any thread) and sent in batches of at most
100 by a task on the client's event loop, every 10 s and as soon as 100 are queued. The queue
holds at most 10,000 events; beyond that the oldest are dropped, and the count is reported in
the next batch. Each send has a 5 s timeout. `stop()` (called by `ServiceClient.close()`) queues
the session end event and waits, at most 5 s, until the queue is drained. A failure of telemetry
never reaches the caller: everything is caught and logged at DEBUG level.

`TINKER_TELEMETRY=0` (or false/no/off) turns it off completely: no task, no request, and
`ServiceClient.get_telemetry()` returns None.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import inspect
import itertools
import logging
import math
import os
import platform
import re
import threading
import time
import traceback
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, TypeAlias, TypeVar, cast

from tinker_api_client import AuthenticatedClient
from tinker_api_client.models import (
    GenericEvent,
    GenericEventEventData,
    SessionEndEvent,
    SessionStartEvent,
    TelemetrySendRequest,
    UnhandledExceptionEvent,
)
from tinker_api_client.models.severity import SEVERITY_VALUES, Severity

__all__ = [
    "Telemetry",
    "TelemetryConfig",
    "iso8601_duration",
    "report_exceptions",
    "report_future_exceptions",
    "start_telemetry",
    "telemetry_enabled",
]

logger = logging.getLogger("tinker_hl.telemetry")

TelemetryEvent: TypeAlias = (
    GenericEvent | SessionEndEvent | SessionStartEvent | UnhandledExceptionEvent
)
Sender: TypeAlias = Callable[[TelemetrySendRequest], Awaitable[object]]
"""Sends one batch; raises on failure."""

F = TypeVar("F", bound=Callable[..., Any])

DROPPED_EVENT_NAME = "telemetry_events_dropped"
_DISABLED_VALUES = frozenset({"0", "false", "no", "off"})
_MAX_MESSAGE_CHARS = 2_000
_MAX_TRACEBACK_CHARS = 16_000
_MAX_DATA_STRING_CHARS = 2_000
_MAX_DATA_DEPTH = 6
_LOGGED_ATTR = "_tinker_hl_telemetry_logged"


@dataclass(frozen=True)
class TelemetryConfig:
    """Batching and timing of the reporter (the defaults are those of the 0.7.0 SDK)."""

    flush_interval_s: float = 10.0
    max_batch_size: int = 100
    max_queue_size: int = 10_000
    http_timeout_s: float = 5.0
    drain_timeout_s: float = 5.0
    send_attempts: int = 3
    retry_delay_s: float = 0.5


def telemetry_enabled() -> bool:
    """False when `TINKER_TELEMETRY` is 0 / false / no / off."""
    return os.environ.get("TINKER_TELEMETRY", "1").strip().lower() not in _DISABLED_VALUES


def iso8601_duration(seconds: float) -> str:
    """`PT1H2M3.456S`-style ISO 8601 duration (days folded into hours)."""
    seconds = max(0.0, float(seconds))
    hours, rest = divmod(seconds, 3600.0)
    minutes, secs = divmod(rest, 60.0)
    out = "PT"
    if hours:
        out += f"{int(hours)}H"
    if minutes:
        out += f"{int(minutes)}M"
    return out + f"{secs:.3f}S"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


# ----- scrubbing ---------------------------------------------------------------------------------
_KEY_SHAPED = re.compile(r"(?i)\btml-[a-z0-9_\-]{6,}")
_KEY_ASSIGNMENT = re.compile(
    r"(?i)\b(x-api-key|api[_-]?key|authorization|bearer|token)(['\"]?\s*[:=]\s*['\"]?|\s+)"
    r"([^\s'\",;)}\]]{6,})"
)
_NUMBER_RUN = re.compile(r"(?:-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?\s*,\s*){7,}-?\d+(?:\.\d+)?")


class _Scrubber:
    """Removes secrets (exact strings and key-shaped text) and long number runs from text."""

    def __init__(self, secrets: Iterable[str]) -> None:
        unique = sorted(
            {s for s in secrets if isinstance(s, str) and len(s) >= 4}, key=len, reverse=True
        )
        self._secrets = (
            re.compile("|".join(re.escape(s) for s in unique), re.IGNORECASE) if unique else None
        )

    def text(self, value: str, limit: int | None = None) -> str:
        if self._secrets is not None:
            value = self._secrets.sub("<redacted>", value)
        value = _KEY_SHAPED.sub("<redacted>", value)
        value = _KEY_ASSIGNMENT.sub(lambda m: f"{m.group(1)}{m.group(2)}<redacted>", value)
        value = _NUMBER_RUN.sub(lambda m: f"<{m.group(0).count(',') + 1} numbers>", value)
        if limit is not None and len(value) > limit:
            value = value[: limit // 2] + " ... " + value[-(limit // 2) :]
        return value

    def data(self, value: object, depth: int = 0) -> Any:
        """A JSON-safe, scrubbed copy of event data."""
        if value is None or isinstance(value, bool | int):
            return value
        if isinstance(value, float):
            return value if math.isfinite(value) else str(value)
        if isinstance(value, str):
            return self.text(value, _MAX_DATA_STRING_CHARS)
        if depth >= _MAX_DATA_DEPTH:
            return "<nested too deep>"
        if isinstance(value, Mapping):
            return {self.text(str(k), 200): self.data(v, depth + 1) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self.data(v, depth + 1) for v in list(value)[:1000]]
        if isinstance(value, bytes):
            return f"<{len(value)} bytes>"
        item = getattr(value, "item", None)  # numpy / torch scalars
        if callable(item):
            try:
                return self.data(item(), depth + 1)
            except Exception:
                pass
        return self.text(repr(value), _MAX_DATA_STRING_CHARS)


def _exception_facts(exc: BaseException) -> dict[str, Any]:
    """What the cause chain says about an exception: status code, request id, category."""
    from ._exceptions import APIStatusError, RequestFailedError

    facts: dict[str, Any] = {}
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, APIStatusError) and "status_code" not in facts:
            facts["status_code"] = current.status_code
        if isinstance(current, RequestFailedError) and "request_id" not in facts:
            facts["request_id"] = current.request_id
            facts["error_category"] = current.category
        current = current.__cause__ or current.__context__
    return facts


# ----- the reporter ------------------------------------------------------------------------------
class Telemetry:
    """Queues events and sends them in batches from a task on `loop`.

    Thread-safe: every public method may be called from any thread, and none raises.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        session_id: str,
        send: Sender,
        *,
        secrets: Iterable[str] = (),
        config: TelemetryConfig | None = None,
        platform_name: str | None = None,
        sdk_version: str | None = None,
    ) -> None:
        from ._version import __version__

        self.config = config or TelemetryConfig()
        self.session_id = session_id
        self.platform = platform_name or _platform_name()
        self.sdk_version = sdk_version or f"tinker-hl/{__version__}"
        self._loop = loop
        self._send = send
        self._scrub = _Scrubber(secrets)
        self._lock = threading.Lock()
        self._queue: deque[TelemetryEvent] = deque()
        self._dropped_pending = 0
        self._index = itertools.count()
        self._started_at = time.monotonic()
        self._wake = asyncio.Event()
        self._stopping = False
        self._stopped = False
        self._task: concurrent.futures.Future[None] | None = None
        # Counters, for tests and debugging.
        self.dropped_total = 0
        self.batches_sent = 0
        self.batches_failed = 0
        self._enqueue(
            SessionStartEvent(
                event="SESSION_START",
                event_id=_event_id(),
                event_session_index=next(self._index),
                severity="INFO",
                timestamp=_now(),
            )
        )

    def __repr__(self) -> str:
        return f"Telemetry(session_id={getattr(self, 'session_id', None)!r})"

    # ----- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Start the flush task on the loop (once)."""
        if self._task is None and not self._stopping:
            self._task = asyncio.run_coroutine_threadsafe(self._run(), self._loop)

    def stop(self, timeout: float | None = None) -> None:
        """Queue the session end event and wait (at most `config.drain_timeout_s`) until every
        queued event was sent. Idempotent; later events are ignored."""
        with self._lock:
            if self._stopping:
                return
            self._stopping = True
        try:
            elapsed = time.monotonic() - self._started_at
            self._enqueue(
                SessionEndEvent(
                    duration=iso8601_duration(elapsed),
                    event="SESSION_END",
                    event_id=_event_id(),
                    event_session_index=next(self._index),
                    severity="INFO",
                    timestamp=_now(),
                ),
                force=True,
            )
            task = self._task
            if task is None:
                return
            self._trigger()
            if _in_loop(self._loop):
                return  # cannot block the loop that does the sending: it drains on its own
            wait = self.config.drain_timeout_s if timeout is None else timeout
            try:
                task.result(timeout=wait)
            except concurrent.futures.TimeoutError:
                logger.debug(
                    "telemetry: not drained within %.1fs; %d events lost", wait, self.queued
                )
                task.cancel()
        except Exception:
            logger.debug("telemetry: stop failed", exc_info=True)
        finally:
            self._stopped = True

    @property
    def queued(self) -> int:
        with self._lock:
            return len(self._queue)

    def flush(self) -> None:
        """Send what is queued now instead of at the next interval (does not wait)."""
        self._trigger()

    # ----- events ----------------------------------------------------------------------------
    def log(
        self,
        event_name: str,
        event_data: Mapping[str, object] | None = None,
        severity: Severity | str = "INFO",
    ) -> bool:
        """Queue a generic event. `event_name` should be low-cardinality; `event_data` is
        scrubbed and made JSON-safe. Returns False when the event was not queued."""
        try:
            return self._enqueue(self._generic_event(event_name, event_data, severity))
        except Exception:
            logger.debug("telemetry: log failed", exc_info=True)
            return False

    def log_exception(
        self,
        exc: BaseException,
        fatal: bool = False,
        *,
        severity: Severity | str | None = None,
        user_error: bool | None = None,
    ) -> bool:
        """Queue an UnhandledExceptionEvent for `exc` and send it soon.

        Severity is CRITICAL when `fatal`, else ERROR (unless given). The event also records
        `user_error` (the caller's fault, per `tinker_hl._errors.is_user_error` on the cause
        chain, unless given), `fatal`, and when known the HTTP `status_code`, `request_id` and
        `error_category`. An exception is reported once (again only to upgrade it to fatal).
        """
        try:
            previous = getattr(exc, _LOGGED_ATTR, None)
            if previous is not None and (previous or not fatal):
                return False
            event = self._exception_event(exc, fatal, severity, user_error)
            logged = self._enqueue(event)
            if logged:
                with contextlib.suppress(Exception):  # exceptions without a __dict__
                    setattr(exc, _LOGGED_ATTR, fatal)
                self._trigger()
            return logged
        except Exception:
            logger.debug("telemetry: log_exception failed", exc_info=True)
            return False

    def capture_exceptions(self, fatal: bool = False) -> _ExceptionReporter:
        """`with telemetry.capture_exceptions(): ...`: see `report_exceptions`."""
        return _ExceptionReporter(self, fatal)

    def _generic_event(
        self, name: str, data: Mapping[str, object] | None, severity: Severity | str
    ) -> GenericEvent:
        event = GenericEvent(
            event="GENERIC_EVENT",
            event_id=_event_id(),
            event_name=self._scrub.text(str(name), 200),
            event_session_index=next(self._index),
            severity=_severity(severity),
            timestamp=_now(),
        )
        if data is not None:
            payload = self._scrub.data(dict(data) if isinstance(data, Mapping) else {"value": data})
            event.event_data = GenericEventEventData.from_dict(payload)
        return event

    def _exception_event(
        self,
        exc: BaseException,
        fatal: bool,
        severity: Severity | str | None,
        user_error: bool | None,
    ) -> UnhandledExceptionEvent:
        from ._errors import is_user_error

        if user_error is None:
            user_error = is_user_error(exc)
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        event = UnhandledExceptionEvent(
            error_message=self._scrub.text(str(exc), _MAX_MESSAGE_CHARS),
            error_type=type(exc).__name__,
            event="UNHANDLED_EXCEPTION",
            event_id=_event_id(),
            event_session_index=next(self._index),
            severity=_severity(severity or ("CRITICAL" if fatal else "ERROR")),
            timestamp=_now(),
            traceback=self._scrub.text(text, _MAX_TRACEBACK_CHARS),
        )
        event.additional_properties.update(
            self._scrub.data(
                {"user_error": bool(user_error), "fatal": bool(fatal), **_exception_facts(exc)}
            )
        )
        return event

    # ----- queue -----------------------------------------------------------------------------
    def _enqueue(self, event: TelemetryEvent, force: bool = False) -> bool:
        with self._lock:
            if self._stopping and not force:
                return False
            if len(self._queue) >= self.config.max_queue_size:
                self._queue.popleft()
                self._dropped_pending += 1
                self.dropped_total += 1
            self._queue.append(event)
            full = len(self._queue) == self.config.max_batch_size
        if full:
            self._trigger()
        return True

    def _take_batch(self) -> TelemetrySendRequest | None:
        with self._lock:
            dropped, self._dropped_pending = self._dropped_pending, 0
            if not self._queue and not dropped:
                return None
            room = self.config.max_batch_size - (1 if dropped else 0)
            events: list[TelemetryEvent] = [
                self._queue.popleft() for _ in range(min(room, len(self._queue)))
            ]
        if dropped:
            events.insert(
                0,
                self._generic_event(
                    DROPPED_EVENT_NAME,
                    {"count": dropped, "max_queue_size": self.config.max_queue_size},
                    "WARNING",
                ),
            )
        return TelemetrySendRequest(
            events=events,
            platform=self.platform,
            sdk_version=self.sdk_version,
            session_id=self.session_id,
        )

    def _trigger(self) -> None:
        if self._task is None:
            return
        try:
            if _in_loop(self._loop):
                self._wake.set()
            else:
                self._loop.call_soon_threadsafe(self._wake.set)
        except RuntimeError:  # the loop is closed
            logger.debug("telemetry: event loop closed", exc_info=True)

    # ----- sending ---------------------------------------------------------------------------
    async def _run(self) -> None:
        while True:
            if not self._stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.config.flush_interval_s)
                self._wake.clear()
            await self._flush_all()
            if self._stopping:
                with self._lock:
                    if not self._queue and not self._dropped_pending:
                        return

    async def _flush_all(self) -> None:
        while True:
            try:
                batch = self._take_batch()
            except Exception:
                logger.debug("telemetry: could not build a batch", exc_info=True)
                return
            if batch is None:
                return
            await self._send_with_retry(batch)

    async def _send_with_retry(self, batch: TelemetrySendRequest) -> None:
        attempts = max(1, self.config.send_attempts)
        for attempt in range(attempts):
            try:
                await asyncio.wait_for(self._send(batch), self.config.http_timeout_s)
                self.batches_sent += 1
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.debug(
                    "telemetry: sending %d events failed (attempt %d): %s",
                    len(batch.events),
                    attempt + 1,
                    self._scrub.text(f"{type(exc).__name__}: {exc}"),
                )
                if self._stopping or not _retryable(exc) or attempt == attempts - 1:
                    break
                await asyncio.sleep(self.config.retry_delay_s * 2**attempt)
        self.batches_failed += 1


def _retryable(exc: BaseException) -> bool:
    from ._exceptions import APIStatusError

    if isinstance(exc, APIStatusError):
        return exc.status_code in (408, 409, 429) or exc.status_code >= 500
    return True


def _severity(value: object) -> Severity:
    text = str(value).upper()
    if text in SEVERITY_VALUES:
        return cast(Severity, text)
    logger.debug("telemetry: unknown severity %r, using INFO", value)
    return "INFO"


def _event_id() -> str:
    return str(uuid.uuid4())


def _in_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def _platform_name() -> str:
    return f"{platform.system()}-{platform.machine()} python-{platform.python_version()}"


# ----- construction ------------------------------------------------------------------------------
def http_sender(
    http: Callable[[], AuthenticatedClient],
    header_provider: Callable[[], Any] | None = None,
) -> Sender:
    """Send batches with a client's HTTP connection directly (not through its call pipeline:
    telemetry must not count as, or trip the breakers of, the user's traffic).
    `header_provider()`: the pipeline's current header provider (a JWT in JWT mode), if any."""
    from dataclasses import replace

    from tinker_api_client.api.telemetry import send_telemetry

    from ._http import call, prepare

    async def send(request: TelemetrySendRequest) -> object:
        provider = header_provider() if header_provider is not None else None
        if provider is None:
            return await call("send_telemetry", send_telemetry, http(), body=request)
        headers = provider("send_telemetry")
        if inspect.isawaitable(headers):
            headers = await headers
        prepared = prepare("send_telemetry", send_telemetry, body=request)
        prepared = replace(prepared, headers={**prepared.headers, **headers})
        return await call("send_telemetry", send_telemetry, http(), prepared=prepared)

    return send


def start_telemetry(
    loop: asyncio.AbstractEventLoop,
    session_id: str,
    send: Sender,
    *,
    secrets: Sequence[str] = (),
    config: TelemetryConfig | None = None,
) -> Telemetry | None:
    """A reporter for one session, started on `loop`; `secrets` are scrubbed from every event.
    None when `TINKER_TELEMETRY=0` or when it cannot start (never raises)."""
    if not telemetry_enabled():
        return None
    try:
        telemetry = Telemetry(
            loop,
            session_id,
            send,
            secrets=list(secrets),
            config=config,
        )
        telemetry.start()
        return telemetry
    except Exception:
        logger.debug("telemetry: could not start", exc_info=True)
        return None


# ----- reporting helpers -------------------------------------------------------------------------
def _resolve(source: object) -> Telemetry | None:
    if source is None or isinstance(source, Telemetry):
        return source
    getter = getattr(source, "get_telemetry", None)
    if callable(getter):
        found = getter()
        return found if isinstance(found, Telemetry) else None
    holder = getattr(source, "holder", None)
    found = getattr(holder, "telemetry", None)
    return found if isinstance(found, Telemetry) else None


class _ExceptionReporter:
    """Context manager (sync and async) and decorator: reports escaping exceptions."""

    def __init__(self, source: object, fatal: bool) -> None:
        self._source = source
        self._fatal = fatal

    def _report(self, exc: BaseException | None) -> None:
        if exc is None or isinstance(exc, GeneratorExit | asyncio.CancelledError):
            return
        telemetry = _resolve(self._source)
        if telemetry is not None:
            telemetry.log_exception(exc, fatal=self._fatal)

    def __enter__(self) -> _ExceptionReporter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._report(exc)

    async def __aenter__(self) -> _ExceptionReporter:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._report(exc)

    def __call__(self, fn: F) -> F:
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                async with self:
                    return await fn(*args, **kwargs)

            return cast(F, async_wrapper)

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self:
                return fn(*args, **kwargs)

        return cast(F, wrapper)


def report_exceptions(source: object, *, fatal: bool = False) -> _ExceptionReporter:
    """Report exceptions escaping a block or function to telemetry, then let them propagate.

    `source` is a Telemetry, None (does nothing), or anything with `get_telemetry()` (a
    ServiceClient, TrainingClient, SamplingClient, RestClient). Use it as `with` / `async with`
    or as a decorator of a sync or async function:

        with report_exceptions(training_client):
            training_client.forward_backward(data, "cross_entropy").result()
    """
    return _ExceptionReporter(source, fatal)


def report_future_exceptions(source: object, future: Any, *, fatal: bool = False) -> Any:
    """Report the exception of `future` (an APIFuture or concurrent future), if it fails, as
    soon as it completes. Returns the future."""

    def done(f: concurrent.futures.Future[Any]) -> None:
        try:
            if f.cancelled():
                return
            exc = f.exception()
            if exc is not None:
                telemetry = _resolve(source)
                if telemetry is not None:
                    telemetry.log_exception(exc, fatal=fatal)
        except Exception:
            logger.debug("telemetry: future callback failed", exc_info=True)

    future.add_done_callback(done)
    return future

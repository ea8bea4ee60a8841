"""APIFuture and the futures protocol: poll `retrieve_future` until a request has an outcome.

The one place that knows the protocol: `try_again` (with its queue state) and 408 mean "poll
again", `{error, category}` means the request failed, anything else is the typed result.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import enum
import logging
import time
from collections.abc import Callable, Coroutine, Generator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from tinker_api_client.api.futures import retrieve_future
from tinker_api_client.models import FutureRetrieveRequest
from tinker_api_client.types import UNSET

from ._exceptions import (
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    RequestFailedError,
)
from ._http import PARSE_ERRORS, content_type, decode_json, prepare
from ._retry import RetryableException
from ._waiting import wait, wait_async
from ._wire_formats import ACCEPT_PROTOBUF, PROTOBUF, PROTOBUF_RESULT_TYPES
from .types._shapes import to_official_shape

if TYPE_CHECKING:
    from ._loop import EventLoopThread
    from ._pipeline import CallPipeline
    from ._telemetry import Telemetry

T = TypeVar("T")
U = TypeVar("U")
logger = logging.getLogger("tinker_hl.futures")

# How long one long-poll may take before the client gives up on that poll and polls again.
POLL_HTTP_TIMEOUT_S = 45.0
# How often a wait without an outcome is reported at INFO level.
STALL_LOG_INTERVAL_S = 60.0


class QueueState(enum.Enum):
    ACTIVE = "active"
    PAUSED_RATE_LIMIT = "paused_rate_limit"
    PAUSED_CAPACITY = "paused_capacity"
    UNKNOWN = "unknown"

    @classmethod
    def parse(cls, value: object) -> QueueState:
        try:
            return cls(value)
        except ValueError:
            return cls.UNKNOWN


class QueueStateObserver(Protocol):
    def on_queue_state_change(
        self, queue_state: QueueState, queue_state_reason: str | None
    ) -> None: ...


class QueueStateWarnings:
    """Warn that requests are waiting (rate limit, capacity), at most once a minute."""

    def __init__(self, what: str, interval_s: float = 60.0) -> None:
        self.what = what
        self.interval_s = interval_s
        self._last = float("-inf")

    def __call__(self, queue_state: QueueState, queue_state_reason: str | None) -> None:
        if queue_state is QueueState.ACTIVE or time.monotonic() - self._last < self.interval_s:
            return
        self._last = time.monotonic()
        reason = f" ({queue_state_reason})" if queue_state_reason else ""
        logger.warning("%s are waiting: %s%s", self.what, queue_state.value, reason)


class APIFuture(Generic[T]):
    """The outcome of a request: `result()` blocks, `await future` / `result_async()` don't.

    The result is computed once and cached: waiting twice never polls again.
    """

    def __init__(
        self,
        future: concurrent.futures.Future[T],
        loop: EventLoopThread | None = None,
        request_id: str | None = None,
    ) -> None:
        self._future = future
        self._loop_thread = loop
        self._request_id = request_id

    @property
    def request_id(self) -> str | None:
        return self._request_id

    def result(self, timeout: float | None = None) -> T:
        if self._loop_thread is not None and self._loop_thread.in_loop_thread():
            raise RuntimeError(
                "APIFuture.result() was called from tinker_hl's own event loop, where it would "
                "deadlock; use `await future` instead"
            )
        why = self._loop_thread.why if self._loop_thread is not None else None
        try:
            return wait(self._future, timeout, why)
        except concurrent.futures.TimeoutError:
            raise TimeoutError(
                f"no result within {timeout}s (request {self._request_id or 'pending'}); "
                "the request keeps running: call result() again to keep waiting"
            ) from None

    async def result_async(self, timeout: float | None = None) -> T:
        why = self._loop_thread.why if self._loop_thread is not None else None
        try:
            return await wait_async(self._future, timeout, why)
        except TimeoutError:
            raise TimeoutError(
                f"no result within {timeout}s (request {self._request_id or 'pending'})"
            ) from None

    def __await__(self) -> Generator[Any, None, T]:
        return self.result_async().__await__()

    async def coroutine(self) -> T:
        """The result, as a coroutine (for `asyncio.create_task`, `asyncio.gather`, ...)."""
        return await self.result_async()

    def done(self) -> bool:
        return self._future.done()

    def exception(self, timeout: float | None = None) -> BaseException | None:
        return self._future.exception(timeout)

    def add_done_callback(self, fn: Callable[[concurrent.futures.Future[T]], object]) -> None:
        self._future.add_done_callback(fn)

    def future(self) -> concurrent.futures.Future[T]:
        """The underlying thread-safe future."""
        return self._future


AwaitableConcurrentFuture = APIFuture
"""The 0.7.0 SDK's name for an APIFuture over a `concurrent.futures.Future`."""


def submit_future(
    loop: EventLoopThread, coro: Coroutine[Any, Any, T], what: str | None = None
) -> APIFuture[T]:
    """Run `coro` on `loop`; its APIFuture. `what` names it in "still waiting" warnings."""
    return APIFuture(loop.submit(coro, what), loop)


def combine_futures(
    loop: EventLoopThread, futures: Sequence[APIFuture[T]], combine: Callable[[list[T]], U]
) -> APIFuture[U]:
    """One future for several (for example the chunks of a large forward_backward)."""

    async def gather() -> U:
        results = await asyncio.gather(*(f.result_async() for f in futures))
        return combine(list(results))

    return submit_future(loop, gather())


def report_failure(telemetry: Telemetry | None, exc: BaseException) -> None:
    """Tell telemetry about a request that failed (after its retries); never raises."""
    if telemetry is None:
        return
    try:
        telemetry.log_exception(exc, fatal=False)
    except Exception:  # telemetry must never disturb training
        logger.debug("telemetry failed", exc_info=True)


async def poll_until_done(
    pipeline: CallPipeline,
    request_id: str,
    decode: Callable[[dict[str, Any]], T],
    *,
    request_type: str,
    submitted_at: float,
    observer: QueueStateObserver | None = None,
) -> T:
    """Poll `retrieve_future` for `request_id` until it has an outcome; decode the result."""
    started = time.monotonic()
    last_log = started
    queue_state = QueueState.ACTIVE
    metrics = pipeline.metrics
    metrics.record_queue_state(request_id, queue_state.value)
    retries_before = pipeline.retry_handler.retry_count
    iteration = 0
    while True:
        headers = {"iteration": str(iteration), "type": request_type}
        if iteration == 0:
            headers["roundtrip"] = f"{time.time() - submitted_at:.6f}"
        iteration += 1
        body = await pipeline.retry_handler.execute(
            lambda headers=headers: _retrieve_once(pipeline, request_id, headers),  # type: ignore[misc]
            "retrieve_future",
            long_poll=True,
        )
        if body.get("type") == "try_again" or body.get("_pending"):
            new_state = QueueState.parse(body.get("queue_state", "active"))
            if new_state != queue_state:
                queue_state = new_state
                metrics.record_queue_state(request_id, new_state.value)
                if observer is not None:
                    observer.on_queue_state_change(new_state, body.get("queue_state_reason"))
            now = time.monotonic()
            waited = now - started
            if waited > pipeline.retry_config.progress_timeout:
                raise APITimeoutError(
                    f"{request_type} request {request_id} has had no outcome for {waited:.0f}s "
                    f"(progress_timeout): queue state {queue_state.value}, {iteration} poll(s), "
                    f"{pipeline.retry_handler.retry_count - retries_before} retries"
                )
            if now - last_log > STALL_LOG_INTERVAL_S:
                last_log = now
                logger.info(
                    "still waiting for %s %s after %.0fs: queue state %s, %d poll(s), %d retries",
                    request_type,
                    request_id,
                    now - started,
                    queue_state.value,
                    iteration,
                    pipeline.retry_handler.retry_count - retries_before,
                )
            continue
        metrics.record_queue_state(request_id, None)
        if "error" in body and "category" in body:
            category = str(body.get("category") or "unknown")
            raise RequestFailedError(
                f"{request_type} request {request_id} failed ({category} error): {body['error']}",
                request_id=request_id,
                category=category,
            )
        try:
            result = decode(body)
        except PARSE_ERRORS as exc:  # a result the generated model cannot read: never a KeyError
            raise APIResponseValidationError(
                f"{request_type} request {request_id}: unexpected result body "
                f"({type(exc).__name__}: {exc})",
                body=body,
            ) from exc
        return to_official_shape(result)


async def _retrieve_once(
    pipeline: CallPipeline, request_id: str, headers: dict[str, str]
) -> dict[str, Any]:
    request_type = headers["type"]
    fields: dict[str, Any] = {
        "body": FutureRetrieveRequest(request_id=request_id),
        "x_tinker_request_iteration": headers["iteration"],
        "x_tinker_request_type": request_type,
        "x_tinker_create_promise_roundtrip_time": headers.get("roundtrip", UNSET),
    }
    protobuf = pipeline.features.protobuf_results and request_type in PROTOBUF_RESULT_TYPES
    prepared = None
    if protobuf:  # ask for the protobuf result; a JSON answer is still read as JSON
        prepared = prepare("retrieve_future", retrieve_future, **fields)
        prepared = replace(prepared, headers={**prepared.headers, "Accept": ACCEPT_PROTOBUF})
    try:
        response = await pipeline.call(
            "retrieve_future",
            retrieve_future,
            prepared=prepared,
            raw_types=(PROTOBUF,) if protobuf else (),
            **fields,
        )
    except APIStatusError as exc:
        if exc.status_code == 408:  # long-poll window elapsed: still pending
            body = exc.body if isinstance(exc.body, dict) else {}
            return {"_pending": True, **body}
        raise
    if protobuf and content_type(response.headers) == PROTOBUF:
        return _decode_protobuf(request_type, request_id, response.content)
    body = decode_json(response.content)
    if not isinstance(body, dict):
        raise RetryableException(f"retrieve_future returned a non-object body for {request_id}")
    return body


def _decode_protobuf(request_type: str, request_id: str, content: bytes) -> dict[str, Any]:
    """A protobuf result as the JSON result's dict (the generated parsers read JSON only)."""
    from ._protobuf_codec import decode_result

    try:
        decoded = decode_result(request_type, content)
    except Exception as exc:  # protobuf's DecodeError, or a message that breaks its own layout
        raise APIResponseValidationError(
            f"{request_type} request {request_id}: unreadable protobuf result "
            f"({type(exc).__name__}: {exc})",
            body=content[:500].decode("utf-8", "replace"),
        ) from exc
    if decoded is None:
        raise APIResponseValidationError(
            f"{request_type} request {request_id}: a protobuf result, which this request "
            "type does not have"
        )
    return decoded

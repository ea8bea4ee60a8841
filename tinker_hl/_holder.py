"""ClientHolder: what one ServiceClient and all clients it creates share.

One background event loop, one HTTP connection pool, the session and its heartbeat, the
counters that number training clients and sampling sessions, and the shared sampling limiter.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import platform
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

import httpx
from tinker_api_client import AuthenticatedClient
from tinker_api_client.api.service import create_sampling_session, create_session, session_heartbeat
from tinker_api_client.models import (
    CreateSamplingSessionRequest,
    CreateSamplingSessionResponse,
    CreateSessionRequest,
    CreateSessionRequestUserMetadataType0,
    CreateSessionResponse,
    SessionHeartbeatRequest,
)
from tinker_api_client.types import Response

from . import __version__
from ._backpressure import SamplingLimiter, SamplingLimits
from ._circuit import CircuitBreakerConfig, CircuitBreakers
from ._errors import counts_against_service, is_user_error
from ._exceptions import APIStatusError, TinkerError, ValidationError
from ._futures import QueueState
from ._http import (
    DEFAULT_TIMEOUT,
    Endpoint,
    PreparedRequest,
    call,
    check_api_key,
    check_base_url,
    make_client,
    parsed,
)
from ._loop import EventLoopThread
from ._metrics import ClientMetrics
from ._retry import RetryConfig, RetryHandler
from ._secrets import Secret
from ._tracing import span
from ._waiting import describe, name_of

T = TypeVar("T")
logger = logging.getLogger("tinker_hl")

DEFAULT_BASE_URL = "https://tinker.thinkingmachines.dev/services/tinker-prod"
HEARTBEAT_INTERVAL_S = 10.0
HEARTBEAT_WARN_AFTER_S = 60.0


def resolve_api_key(api_key: str | Secret | None) -> Secret:
    """The key, wrapped at once so that no repr, log line or traceback shows it."""
    __tracebackhide__ = True  # pytest: this frame's arguments hold the key
    if isinstance(api_key, Secret):
        return api_key
    key = api_key or os.environ.get("TINKER_API_KEY")
    del api_key
    if not key:
        raise TinkerError(
            "api_key: no API key given; pass api_key=... or set TINKER_API_KEY "
            "(for the local backend, `tinker-hl serve` prints one)"
        )
    if not isinstance(key, str):
        raise ValidationError("api_key", f"expected a string, got {type(key).__name__}")
    secret = Secret(key)
    del key
    check_api_key(secret)
    return secret


def resolve_base_url(base_url: str | None) -> str:
    return check_base_url(base_url or os.environ.get("TINKER_BASE_URL") or DEFAULT_BASE_URL)


class ClientHolder:
    def __init__(
        self,
        *,
        api_key: str | Secret | None = None,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        user_metadata: dict[str, str] | None = None,
        retry_config: RetryConfig | None = None,
        default_headers: dict[str, str] | None = None,
        verify: bool = True,
        heartbeat_interval: float = HEARTBEAT_INTERVAL_S,
        circuit_breaker: CircuitBreakerConfig | None = None,
        sampling_limits: SamplingLimits | None = None,
        open_session: bool = True,
    ) -> None:
        __tracebackhide__ = True  # pytest: this frame's arguments hold the API key
        self.session_id: str = ""
        self._closed = True  # until started: close() and repr() work on a half-built holder
        self._api_key = resolve_api_key(api_key)
        del api_key
        self.base_url = resolve_base_url(base_url)
        if isinstance(timeout, int | float):
            timeout = httpx.Timeout(float(timeout), connect=5.0)
        self._timeout = timeout or DEFAULT_TIMEOUT
        self._headers = dict(default_headers or {})
        self._verify = verify
        self.retry_config = retry_config or RetryConfig()
        self.metrics = ClientMetrics()
        self.breakers = CircuitBreakers(circuit_breaker)
        self.sampling_limiter = SamplingLimiter(sampling_limits)
        self.retry_handler = self.make_retry_handler(self.retry_config, "tinker_hl")
        self.heartbeat_interval = heartbeat_interval
        self._training_counter = itertools.count()
        self._sampling_counter = itertools.count()
        self.loop_thread = EventLoopThread()
        self.loop_thread.why = self.metrics.waiting_summary
        self._http: AuthenticatedClient | None = None
        self._heartbeat_task: asyncio.Task[None] | None = None
        self.heartbeat_failures = 0
        self.telemetry: Any = None
        self._closed = False
        self._open_session = open_session
        try:
            self.session_id = self.loop_thread.run(self._start(user_metadata))
        except BaseException:
            with contextlib.suppress(Exception):
                self.loop_thread.run(self._aclose(), timeout=10)
            self.loop_thread.close()
            raise

    def __repr__(self) -> str:  # never shows the API key, never raises
        base_url = getattr(self, "base_url", None)
        session_id = getattr(self, "session_id", "")
        return f"ClientHolder(base_url={base_url!r}, session_id={session_id!r})"

    # ----- lifecycle ---------------------------------------------------------------------
    async def _start(self, user_metadata: dict[str, str] | None) -> str:
        self._http = make_client(
            self.base_url,
            self._api_key,
            timeout=self._timeout,
            max_connections=max(self.retry_config.max_connections, 100),
            headers=self._headers,
            verify=self._verify,
        )
        if not self._open_session:  # REST-only use: no session, no heartbeat
            return ""
        tags = [t for t in os.environ.get("TINKER_TAGS", "").split(",") if t]
        metadata = CreateSessionRequestUserMetadataType0.from_dict(dict(user_metadata or {}))
        request = CreateSessionRequest(
            tags=sorted(set(tags)), user_metadata=metadata, sdk_version=f"tinker-hl/{__version__}"
        )

        result = await self.request(
            "create_session", create_session, CreateSessionResponse, body=request
        )
        for level, message in (
            (logging.INFO, result.info_message),
            (logging.WARNING, result.warning_message),
            (logging.ERROR, result.error_message),
        ):
            if isinstance(message, str) and message:
                logger.log(level, "server: %s", message)
        if self.heartbeat_interval > 0:
            self._heartbeat_task = asyncio.get_running_loop().create_task(
                self._heartbeat(result.session_id)
            )
        return result.session_id

    async def _heartbeat(self, session_id: str) -> None:
        last_ok = time.monotonic()
        last_warning = 0.0
        while True:
            await asyncio.sleep(self.heartbeat_interval)
            try:
                await self.call(
                    "session_heartbeat",
                    session_heartbeat,
                    body=SessionHeartbeatRequest(session_id=session_id),
                )
                last_ok = time.monotonic()
                self.heartbeat_failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.heartbeat_failures += 1
                failing_for = time.monotonic() - last_ok
                # Warn once a minute at most: one failed heartbeat is routine, a minute is not.
                if failing_for > HEARTBEAT_WARN_AFTER_S and time.monotonic() - last_warning > 60:
                    last_warning = time.monotonic()
                    logger.warning(
                        "session %s: heartbeats failing for %.0fs (%d in a row); last error: %s",
                        session_id,
                        failing_for,
                        self.heartbeat_failures,
                        exc,
                    )
                else:
                    logger.debug("heartbeat failed: %s", exc)

    def close(self) -> None:
        """Stop the heartbeat, close connections and the background thread."""
        if self._closed:
            return
        self._closed = True
        if self.telemetry is not None:
            try:
                self.telemetry.stop()
            except Exception:  # telemetry must never disturb shutdown
                logger.debug("telemetry shutdown failed", exc_info=True)
        try:
            self.loop_thread.run(self._aclose(), timeout=10)
        except Exception:
            logger.debug("error while closing", exc_info=True)
        self.loop_thread.close()

    async def _aclose(self) -> None:
        if self._heartbeat_task is not None:
            self._heartbeat_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._heartbeat_task
        if self._http is not None:
            await self._http.get_async_httpx_client().aclose()

    @property
    def closed(self) -> bool:
        return self._closed

    # ----- shared services ---------------------------------------------------------------
    @property
    def http(self) -> AuthenticatedClient:
        if self._http is None:
            raise RuntimeError("the HTTP client is not started yet")
        return self._http

    def submit(self, coro: Coroutine[Any, Any, T], what: str | None = None) -> Any:
        """Schedule `coro`; `what` names it in "still waiting" warnings."""
        future = self.loop_thread.submit(coro)
        describe(future, what or name_of(coro))
        return future

    def next_training_client_id(self) -> int:
        return next(self._training_counter)

    def next_sampling_session_seq_id(self) -> int:
        return next(self._sampling_counter)

    def make_retry_handler(self, config: RetryConfig, name: str) -> RetryHandler:
        handler = RetryHandler(config, name=name)
        handler.on_retry = lambda operation, exc, wait: self.metrics.record_retry(
            operation, _retry_cause(exc)
        )
        return handler

    def metrics_queue_state(self, request_id: str, state: QueueState | None) -> None:
        self.metrics.record_queue_state(request_id, state.value if state is not None else None)

    async def request(
        self,
        operation: str,
        endpoint: Endpoint,
        model: type[T],
        *,
        retry_handler: RetryHandler | None = None,
        prepared: PreparedRequest | None = None,
        **kwargs: Any,
    ) -> T:
        """`call()` with retries, the 200 body decoded as `model`. `prepared`: a request already
        built and encoded (in the caller's thread) by `_http.prepare`."""

        async def send() -> T:
            response = await self.call(operation, endpoint, prepared=prepared, **kwargs)
            return parsed(operation, response, model)

        return await (retry_handler or self.retry_handler).execute(send, operation)

    async def call(
        self,
        operation: str,
        endpoint: Endpoint,
        *,
        ok: tuple[int, ...] = (200,),
        prepared: PreparedRequest | None = None,
        **kwargs: Any,
    ) -> Response[Any]:
        """One HTTP call through the circuit breaker, with metrics and an optional span."""
        breaker = self.breakers.for_operation(operation)
        if breaker is not None:
            breaker.before_call()
        started = time.monotonic()
        failure: BaseException | None = None
        try:
            with span(operation):
                return await call(
                    operation, endpoint, self.http, ok=ok, prepared=prepared, **kwargs
                )
        except Exception as exc:
            failure = exc
            if isinstance(exc, APIStatusError) and exc.status_code == 429:
                self.sampling_limiter.signal_rate_limited("http 429")
            raise
        finally:
            error = None if failure is None else _retry_cause(failure)
            self.metrics.record_request(operation, time.monotonic() - started, error)
            if breaker is not None:
                # Only the service's failures count against it, not the caller's mistakes.
                if failure is not None and counts_against_service(failure):
                    breaker.record_failure()
                else:
                    breaker.record_success()

    async def create_sampling_session(
        self, *, model_path: str | None, base_model: str | None
    ) -> str:
        request = CreateSamplingSessionRequest(
            session_id=self.session_id,
            sampling_session_seq_id=self.next_sampling_session_seq_id(),
        )
        if model_path is not None:
            request.model_path = model_path
        if base_model is not None:
            request.base_model = base_model

        created = await self.request(
            "create_sampling_session",
            create_sampling_session,
            CreateSamplingSessionResponse,
            body=request,
        )
        return created.sampling_session_id

    @staticmethod
    def platform_name() -> str:
        return f"{platform.system()}-{platform.machine()} python-{platform.python_version()}"


def _retry_cause(exc: BaseException) -> str:
    if isinstance(exc, APIStatusError):
        return f"http_{exc.status_code}"
    return type(exc).__name__


__all__ = ["ClientHolder", "is_user_error", "resolve_api_key", "resolve_base_url"]

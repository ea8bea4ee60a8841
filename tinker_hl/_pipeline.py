"""CallPipeline: the one path every API request of a client takes.

In order: the operation's circuit breaker, a tracing span, the HTTP call (`_http.call`), then
on the way back the metrics, the 429 back-pressure signal to the sampling limiter, and the
breaker's verdict. `request()` adds the retry handler and decodes a 200 body.

Protocol negotiation: `features` holds what the server offered at client/config (JSON only
until the probe answered), read by the parts that choose a wire format; `header_provider` (if
set) is asked on every call, with the operation, for headers that replace the connection's
defaults (a JWT in `X-API-Key`, for example), and `reauthenticate` (if set) after a refused one.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from tinker_api_client import AuthenticatedClient
from tinker_api_client.types import Response

from ._backpressure import SamplingLimiter
from ._circuit import CircuitBreakers
from ._errors import counts_against_service
from ._exceptions import APIStatusError
from ._http import Endpoint, PreparedRequest, call, parsed, prepare
from ._metrics import ClientMetrics
from ._retry import RetryConfig, RetryHandler
from ._server_features import JSON_ONLY, ServerFeatures
from ._tracing import span

T = TypeVar("T")
# Given the operation; may be a coroutine function (a JWT exchange sends a request itself).
HeaderProvider = Callable[[str], Mapping[str, str] | Awaitable[Mapping[str, str]]]
# Given the operation and its failure: whether credentials were renewed (then it is resent).
Reauthenticate = Callable[[str, BaseException], Awaitable[bool]]


def retry_cause(exc: BaseException) -> str:
    """How metrics name a failure: `http_<status>` or the exception's type."""
    if isinstance(exc, APIStatusError):
        return f"http_{exc.status_code}"
    return type(exc).__name__


class CallPipeline:
    """Sends requests over `http()` (the connection, asked on each call: it opens in the loop)
    with breaker, span, metrics and back-pressure; retries through `retry_handler`."""

    def __init__(
        self,
        http: Callable[[], AuthenticatedClient],
        *,
        retry_config: RetryConfig | None = None,
        metrics: ClientMetrics | None = None,
        breakers: CircuitBreakers | None = None,
        sampling_limiter: SamplingLimiter | None = None,
    ) -> None:
        self._http = http
        self.retry_config = retry_config or RetryConfig()
        self.metrics = metrics or ClientMetrics()
        self.breakers = breakers or CircuitBreakers()
        self.sampling_limiter = sampling_limiter or SamplingLimiter()
        self.retry_handler = self.make_retry_handler(self.retry_config, "tinker_hl")
        self.header_provider: HeaderProvider | None = None
        self.reauthenticate: Reauthenticate | None = None
        self.features: ServerFeatures = JSON_ONLY

    def make_retry_handler(self, config: RetryConfig, name: str) -> RetryHandler:
        """A retry handler whose retries are counted in this pipeline's metrics."""
        handler = RetryHandler(config, name=name)
        handler.on_retry = lambda operation, exc, wait: self.metrics.record_retry(
            operation, retry_cause(exc)
        )
        return handler

    @property
    def http(self) -> AuthenticatedClient:
        return self._http()

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
        raw_types: tuple[str, ...] = (),
        **kwargs: Any,
    ) -> Response[Any]:
        """One HTTP call through the circuit breaker, with metrics and an optional span;
        `raw_types`: see `_http.call`. A call refused for its credentials is sent once more
        when `reauthenticate` renewed them (JWT mode, see `_auth`)."""
        try:
            return await self._call_once(operation, endpoint, ok, prepared, raw_types, kwargs)
        except APIStatusError as exc:
            renew = self.reauthenticate
            if renew is None or not await renew(operation, exc):
                raise
        return await self._call_once(operation, endpoint, ok, prepared, raw_types, kwargs)

    async def _call_once(
        self,
        operation: str,
        endpoint: Endpoint,
        ok: tuple[int, ...],
        prepared: PreparedRequest | None,
        raw_types: tuple[str, ...],
        kwargs: dict[str, Any],
    ) -> Response[Any]:
        if self.header_provider is not None:
            headers = self.header_provider(operation)
            if inspect.isawaitable(headers):
                headers = await headers
            prepared = _with_headers(prepared or prepare(operation, endpoint, **kwargs), headers)
        breaker = self.breakers.for_operation(operation)
        if breaker is not None:
            breaker.before_call()
        started = time.monotonic()
        failure: BaseException | None = None
        try:
            with span(operation):
                return await call(
                    operation,
                    endpoint,
                    self.http,
                    ok=ok,
                    prepared=prepared,
                    raw_types=raw_types,
                    **kwargs,
                )
        except Exception as exc:
            failure = exc
            if isinstance(exc, APIStatusError) and exc.status_code == 429:
                self.sampling_limiter.signal_rate_limited("http 429")
            raise
        finally:
            error = None if failure is None else retry_cause(failure)
            self.metrics.record_request(operation, time.monotonic() - started, error)
            if breaker is not None:
                # Only the service's failures count against it, not the caller's mistakes.
                if failure is not None and counts_against_service(failure):
                    breaker.record_failure()
                else:
                    breaker.record_success()


def _with_headers(request: PreparedRequest, headers: Mapping[str, str]) -> PreparedRequest:
    if not headers:
        return request
    return PreparedRequest(
        request.operation,
        request.endpoint,
        request.method,
        request.url,
        request.content,
        request.params,
        {**request.headers, **headers},
    )

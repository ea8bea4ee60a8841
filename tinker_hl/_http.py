"""The HTTP layer: builds the generated client and turns generated `Response`s into results or
precise exceptions. Every request of tinker_hl goes through `call()`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

import httpx
import orjson
from tinker_api_client import AuthenticatedClient
from tinker_api_client.types import Response

from ._exceptions import (
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
    status_error_for,
)
from ._transport import AiohttpClient

T = TypeVar("T")
logger = logging.getLogger("tinker_hl.http")

DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=5.0)


class Endpoint(Protocol):
    """A generated endpoint module (it has `asyncio_detailed`)."""

    asyncio_detailed: Callable[..., Awaitable[Response[Any]]]


def make_client(
    base_url: str,
    api_key: str,
    *,
    timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    max_connections: int = 1000,
    headers: dict[str, str] | None = None,
    verify: bool = True,
) -> AuthenticatedClient:
    """The generated client over `AiohttpClient` (see `_transport`: several times cheaper per
    request than httpx's own HTTP/1.1 stack). Call from the event loop that will use it."""
    base_url = base_url.rstrip("/")
    client = AuthenticatedClient(
        base_url=base_url,
        token=api_key,
        prefix="",
        auth_header_name="X-API-Key",
        timeout=timeout,
        headers=headers or {},
        verify_ssl=verify,
        follow_redirects=False,
    )
    client.set_async_httpx_client(
        AiohttpClient(
            base_url,
            headers={**(headers or {}), "X-API-Key": api_key},
            timeout=timeout,
            verify=verify,
            max_connections=max_connections,
        )
    )
    return client


def decode_json(content: bytes) -> Any:
    try:
        return orjson.loads(content) if content else None
    except orjson.JSONDecodeError:
        return {"error": content[:500].decode("utf-8", "replace")}


async def call(
    operation: str,
    endpoint: Endpoint,
    client: AuthenticatedClient,
    *,
    ok: tuple[int, ...] = (200,),
    **kwargs: Any,
) -> Response[Any]:
    """Call a generated endpoint; return the Response when its status is in `ok`, else raise the
    matching APIStatusError. Transport failures become APIConnectionError / APITimeoutError."""
    try:
        response = await endpoint.asyncio_detailed(client=client, **kwargs)
    except (httpx.TransportError, OSError) as exc:
        # Describe the underlying (aiohttp or socket) error, not only its httpx category.
        cause = exc.__cause__ or exc.__context__ or exc
        detail = f"{type(cause).__name__}: {cause}"
        if isinstance(exc, httpx.TimeoutException) or isinstance(cause, TimeoutError):
            raise APITimeoutError(f"{operation}: request timed out ({detail})") from exc
        raise APIConnectionError(f"{operation}: {detail}") from exc
    except ValueError as exc:  # a 200 body that the generated model could not parse
        raise APIResponseValidationError(f"{operation}: unexpected response body: {exc}") from exc
    except Exception as exc:
        # aiohttp errors that the transport did not translate (server disconnects, ...).
        if type(exc).__module__.startswith("aiohttp"):
            raise APIConnectionError(f"{operation}: {type(exc).__name__}: {exc}") from exc
        raise
    status = int(response.status_code)
    if status in ok:
        return response
    raise status_error_for(
        operation, status, decode_json(response.content), dict(response.headers.items())
    )


def parsed(operation: str, response: Response[Any], model: type[T]) -> T:
    """The typed body of a successful response."""
    value = response.parsed
    if not isinstance(value, model):
        raise APIResponseValidationError(
            f"{operation}: expected a {model.__name__} body, got {type(value).__name__}"
        )
    return value

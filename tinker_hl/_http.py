"""The HTTP layer: builds the generated client, encodes requests, and turns answers into results
or precise exceptions. Every request of tinker_hl goes through `call()`.

The order in `call()` is the error boundary: a request is built and encoded (`prepare`, whose
failures are the caller's), sent (transport failures become tinker exceptions through the one
table in `_errors`), its status is checked (any error answer becomes an APIStatusError, whatever
its body), and only a success is handed to the generated parser (whose failures are
APIResponseValidationError).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

import httpx
import orjson
from tinker_api_client import AuthenticatedClient
from tinker_api_client.types import Response

from ._errors import transport_error_class
from ._exceptions import (
    APIResponseValidationError,
    APITimeoutError,
    ValidationError,
    decode_error_body,
    status_error_for,
)
from ._secrets import Secret
from ._transport import AiohttpClient
from ._wire_formats import JSON_OPTIONS
from .types._number_lists import Certified
from .types._shapes import to_official_shape

T = TypeVar("T")
logger = logging.getLogger("tinker_hl.http")

DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=5.0)
# What a generated parser raises on a body it cannot read.
PARSE_ERRORS = (ValueError, KeyError, TypeError, AttributeError, IndexError)


class Endpoint(Protocol):
    """A generated endpoint module."""

    _get_kwargs: Callable[..., dict[str, Any]]
    _build_response: Callable[..., Response[Any]]


class _Client(AuthenticatedClient):
    """The generated client, with a repr that never shows the API key (attrs' repr would)."""

    def __repr__(self) -> str:
        return f"AuthenticatedClient(base_url={self._base_url!r})"


def check_base_url(base_url: str) -> str:
    """The URL without trailing slashes; ValidationError for what cannot work (a scheme other
    than http/https, no host, a bad port), before any request."""
    if not isinstance(base_url, str):
        raise ValidationError("base_url", f"expected a URL string, got {type(base_url).__name__}")
    url = base_url.rstrip("/")
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError for a port out of range or not a number
    except ValueError as exc:
        raise ValidationError("base_url", f"{url!r} is not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise ValidationError(
            "base_url", f"unsupported URL scheme in {url!r}: expected http:// or https://"
        )
    if not parts.hostname:
        raise ValidationError("base_url", f"{url!r} has no host")
    if port == 0:
        raise ValidationError("base_url", f"{url!r}: port 0 cannot be connected to")
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        raise ValidationError("base_url", f"{url!r} contains whitespace or control characters")
    return url


def check_api_key(api_key: Secret) -> None:
    """An HTTP header cannot carry control characters: say so now (without the key)."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in api_key.reveal()):
        raise ValidationError("api_key", "contains control characters (a newline pasted with it?)")


def make_client(
    base_url: str,
    api_key: Secret | str,
    *,
    timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    max_connections: int = 1000,
    headers: dict[str, str] | None = None,
    verify: bool = True,
) -> AuthenticatedClient:
    """The generated client over `AiohttpClient` (see `_transport`: several times cheaper per
    request than httpx's own HTTP/1.1 stack). Call from the event loop that will use it."""
    secret = api_key if isinstance(api_key, Secret) else Secret(api_key)
    del api_key
    base_url = check_base_url(base_url)
    check_api_key(secret)
    client = _Client(
        base_url=base_url,
        token=secret.reveal(),
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
            headers=headers or {},
            secret_headers={"X-API-Key": secret},
            timeout=timeout,
            verify=verify,
            max_connections=max_connections,
        )
    )
    return client


def decode_json(content: bytes, operation: str = "request") -> Any:
    """A successful answer's JSON body (None when empty)."""
    try:
        return orjson.loads(content) if content else None
    except orjson.JSONDecodeError as exc:
        raise APIResponseValidationError(
            f"{operation}: the answer is not JSON ({exc}): {content[:200]!r}",
            body=content[:500].decode("utf-8", "replace"),
        ) from None


@dataclass(frozen=True, slots=True)
class PreparedRequest:
    """A request built and encoded: sending it (again, on retries) reads nothing the caller
    holds."""

    operation: str
    endpoint: Endpoint
    method: str
    url: str
    content: bytes | None
    params: Any
    headers: dict[str, str]


def prepare(
    operation: str, endpoint: Endpoint, *, certified: Certified | None = None, **kwargs: Any
) -> PreparedRequest:
    """Build the generated endpoint's request and encode its body now, in the calling thread.

    `certified` holds the JSON text of lists validation wrote out just before (in this thread,
    so they have not changed since): they are embedded as they are, not encoded again."""
    try:
        built = endpoint._get_kwargs(**kwargs)
        body = built.get("json")
        if body is not None and certified:
            body = _embed_certified(body, certified)
        content = (
            orjson.dumps(body, option=JSON_OPTIONS) if body is not None else built.get("content")
        )
    except ValidationError:
        raise
    except (TypeError, ValueError, AttributeError) as exc:  # orjson's errors are TypeErrors
        raise ValidationError(operation, f"the request cannot be encoded: {exc}") from exc
    return PreparedRequest(
        operation,
        endpoint,
        str(built["method"]).upper(),
        str(built["url"]),
        content,
        built.get("params") or None,
        dict(built.get("headers") or {}),
    )


def _embed_certified(node: Any, certified: Certified) -> Any:
    """`node` (a request's JSON tree) with each list `certified` holds a text for replaced by
    that text. Containers on the way are copied (the tree may share them with the caller)."""
    if isinstance(node, list):
        text = certified.get(node)
        if text is not None:
            return orjson.Fragment(text)
        if any(isinstance(v, list | dict) for v in node):
            return [_embed_certified(v, certified) for v in node]
        return node
    if isinstance(node, dict):
        return {k: _embed_certified(v, certified) for k, v in node.items()}
    return node


def prepare_content(
    operation: str,
    endpoint: Endpoint,
    content: bytes,
    content_headers: Mapping[str, str],
    **kwargs: Any,
) -> PreparedRequest:
    """The generated endpoint's request (method, URL, parameters, headers) carrying `content`,
    a body the caller encoded in another format (a protobuf message): `kwargs` build the
    request as usual, with a stand-in body whose JSON is discarded (keep it small)."""
    request = prepare(operation, endpoint, **kwargs)
    headers = {k: v for k, v in request.headers.items() if k.lower() != "content-type"}
    headers.update(content_headers)
    return PreparedRequest(
        operation, endpoint, request.method, request.url, content, request.params, headers
    )


def content_type(headers: Mapping[str, str]) -> str:
    """The media type of an answer ("application/json"), lower case, without parameters."""
    for name, value in headers.items():
        if name.lower() == "content-type":
            return value.split(";")[0].strip().lower()
    return ""


async def call(
    operation: str,
    endpoint: Endpoint,
    client: AuthenticatedClient,
    *,
    ok: tuple[int, ...] = (200,),
    prepared: PreparedRequest | None = None,
    raw_types: tuple[str, ...] = (),
    **kwargs: Any,
) -> Response[Any]:
    """Send a request; return the Response when its status is in `ok`, else raise the matching
    APIStatusError. Transport failures become APIConnectionError / APITimeoutError. A success
    whose media type is in `raw_types` (protobuf) is returned unparsed (`parsed` None): the
    generated parsers read JSON only."""
    request = prepared or prepare(operation, endpoint, **kwargs)
    wire = client.get_async_httpx_client()
    try:
        answer = await wire.request(
            request.method,
            request.url,
            content=request.content,
            params=request.params,
            headers=request.headers,
        )
    except Exception as exc:
        tinker_type = transport_error_class(exc)
        if tinker_type is None:
            raise
        # Name the underlying error when httpx wrapped one (aiohttp's names its own cause).
        cause = exc.__cause__ if isinstance(exc, httpx.HTTPError) and exc.__cause__ else exc
        detail = f"{type(cause).__name__}: {cause}"
        if tinker_type is APITimeoutError:
            detail = f"request timed out ({detail})"
        raise tinker_type(f"{operation}: {detail}", request=_describe(client, request)) from exc
    status = int(answer.status_code)
    if status not in ok:
        described = _describe(client, request)
        headers = dict(answer.headers.items())
        raise status_error_for(
            operation,
            status,
            decode_error_body(answer.content),
            headers,
            request=described,
            response=httpx.Response(
                status, headers=headers, content=answer.content, request=described
            ),
        )
    if raw_types and content_type(answer.headers) in raw_types:
        return Response(
            status_code=HTTPStatus(status),
            content=answer.content,
            headers=dict(answer.headers.items()),
            parsed=None,
        )
    try:
        return request.endpoint._build_response(client=client, response=answer)
    except PARSE_ERRORS as exc:
        described = _describe(client, request)
        raise APIResponseValidationError(
            f"{operation}: unexpected response body ({type(exc).__name__}: {exc})",
            body=answer.content[:500].decode("utf-8", "replace"),
            request=described,
            response=httpx.Response(status, content=answer.content, request=described),
        ) from exc


def _describe(client: AuthenticatedClient, request: PreparedRequest) -> httpx.Request | None:
    """The request as an httpx.Request for exceptions: method and URL, never the API key."""
    try:
        return httpx.Request(request.method, client._base_url + request.url, params=request.params)
    except Exception:  # a URL httpx cannot represent: the message still names the operation
        return None


def parsed(operation: str, response: Response[Any], model: type[T]) -> T:
    """The typed body of a successful response."""
    value = response.parsed
    if not isinstance(value, model):
        raise APIResponseValidationError(
            f"{operation}: expected a {model.__name__} body, got {type(value).__name__}"
        )
    return to_official_shape(value)

"""The wire under the generated endpoints: an `httpx.AsyncClient` whose `request()` goes straight
to an aiohttp session.

The generated endpoints call `client.get_async_httpx_client().request(method=, url=, json=,
params=, headers=)` and read `status_code`, `content`, `headers` and `json()` from what comes
back. Building httpx `Request`/`Response` objects around every aiohttp exchange (what an httpx
transport adapter does) was a third of the client's CPU per sample call in the profiles, so this
client skips them: the body is encoded once with orjson, the URL object is cached per path, and
the answer is a `WireResponse` holding exactly those four things. Anything else (streams,
uploads, cookies) falls back to plain httpx. Transport failures are raised as the httpx
exceptions they correspond to, with the aiohttp error as their cause, so error handling above
this module sees one family of exceptions.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, cast

import aiohttp
import httpx
import orjson
from yarl import URL

from ._tracing import enabled as tracing_enabled
from ._tracing import trace_headers

# Seconds an idle connection is kept: below the server's keep-alive timeout (uvicorn's is 5 s),
# so a request never races the server closing its connection.
KEEPALIVE_S = 4.0
_URL_CACHE_SIZE = 512
_PROXY_ENV = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


class WireResponse:
    """The parts of an HTTP answer the generated endpoints read. `headers` has lower-case keys,
    as `dict(httpx.Headers.items())` does."""

    __slots__ = ("content", "headers", "status_code")

    def __init__(self, status_code: int, content: bytes, headers: dict[str, str]) -> None:
        self.status_code = status_code
        self.content = content
        self.headers = headers

    def json(self) -> Any:
        return orjson.loads(self.content)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def __repr__(self) -> str:
        return f"<WireResponse [{self.status_code}]>"


class AiohttpClient(httpx.AsyncClient):
    """httpx.AsyncClient whose `request()` uses an aiohttp session (created on first use, in
    the running loop). Call `aclose()` from that loop."""

    def __init__(
        self,
        base_url: str,
        *,
        headers: Mapping[str, str],
        timeout: httpx.Timeout,
        verify: bool = True,
        max_connections: int = 1000,
    ) -> None:
        super().__init__(base_url=base_url, headers=dict(headers), timeout=timeout, verify=verify)
        self._root = base_url.rstrip("/")
        self._default_headers = dict(headers)
        self._verify = verify
        self._max_connections = max_connections
        self._client_timeout = aiohttp.ClientTimeout(
            total=None,
            sock_connect=timeout.connect,
            sock_read=timeout.read,
        )
        self._session: aiohttp.ClientSession | None = None
        self._urls: dict[str, URL] = {}
        self._trace = tracing_enabled()

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self._max_connections,
            limit_per_host=0,
            keepalive_timeout=KEEPALIVE_S,
            ssl=self._verify,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=self._client_timeout,
            cookie_jar=aiohttp.DummyCookieJar(),  # the API sets no cookies
            trust_env=any(name in os.environ for name in _PROXY_ENV),
            raise_for_status=False,
        )
        return self._session

    def _url(self, path: str, params: Any) -> URL:
        if params:
            query = str(httpx.QueryParams(params))
            return URL(f"{self._root}{path}?{query}" if query else f"{self._root}{path}")
        url = self._urls.get(path)
        if url is None:
            if len(self._urls) >= _URL_CACHE_SIZE:  # REST paths carry ids: keep it bounded
                self._urls.clear()
            url = self._urls[path] = URL(self._root + path)
        return url

    async def request(  # type: ignore[override]
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        params: Any = None,
        headers: Mapping[str, str] | None = None,
        **rest: Any,
    ) -> httpx.Response:
        if rest or not isinstance(url, str) or not url.startswith("/"):
            # Not a generated-endpoint call: plain httpx (no aiohttp session involved).
            return await super().request(
                method, url, json=json, content=content, params=params, headers=headers, **rest
            )
        send_headers = {**self._default_headers, **(headers or {})}
        if json is not None and content is None:
            content = orjson.dumps(json, option=orjson.OPT_SERIALIZE_NUMPY)
            send_headers["Content-Type"] = "application/json"
        if self._trace:
            send_headers.update(trace_headers())
        answer = await self.send_raw(method.upper(), self._url(url, params), send_headers, content)
        # The generated endpoints only read status_code, content, headers and json().
        return cast(httpx.Response, answer)

    async def send_raw(
        self, method: str, url: URL, headers: dict[str, str], body: bytes | None
    ) -> WireResponse:
        """One HTTP exchange; aiohttp failures are raised as the matching httpx exception."""
        session = self._session or self._open()
        try:
            async with session.request(
                method, url, data=body, headers=headers, allow_redirects=False
            ) as response:
                content = await response.read()
                return WireResponse(
                    response.status,
                    content,
                    {key.lower(): value for key, value in response.headers.items()},
                )
        except aiohttp.ClientConnectorError as exc:
            raise httpx.ConnectError(str(exc)) from exc
        except (aiohttp.ConnectionTimeoutError, aiohttp.SocketTimeoutError) as exc:
            if isinstance(exc, aiohttp.ConnectionTimeoutError):
                raise httpx.ConnectTimeout(f"connect timed out: {exc}") from exc
            raise httpx.ReadTimeout(f"read timed out: {exc}") from exc
        except TimeoutError as exc:
            raise httpx.ReadTimeout(f"timed out: {exc}") from exc
        except aiohttp.ServerDisconnectedError as exc:
            raise httpx.RemoteProtocolError(str(exc) or "server disconnected") from exc
        except aiohttp.ClientError as exc:
            raise httpx.ReadError(f"{type(exc).__name__}: {exc}") from exc

    async def aclose(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()
        await super().aclose()

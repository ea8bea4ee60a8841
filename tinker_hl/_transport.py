"""The wire under the generated endpoints: an `httpx.AsyncClient` whose `request()` goes straight
to an aiohttp session.

The generated endpoints call `client.get_async_httpx_client().request(method=, url=, json=,
params=, headers=)` and read `status_code`, `content`, `headers` and `json()` from what comes
back. Building httpx `Request`/`Response` objects around every aiohttp exchange (what an httpx
transport adapter does) was a third of the client's CPU per sample call in the profiles, so this
client skips them: the body is encoded once with orjson, the URL object is cached per path, and
the answer is a `WireResponse` holding exactly those four things. Anything else (streams,
uploads, cookies) falls back to plain httpx. Transport failures propagate as aiohttp (or httpx)
raised them; `_errors.TRANSPORT_ERRORS` maps both families to tinker exceptions.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, cast

import aiohttp
import httpx
import orjson
from yarl import URL

from ._secrets import Secret
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


class _HeaderValues(dict[str, str]):
    """The headers sent with every request (the API key among them); repr shows names only."""

    def __repr__(self) -> str:
        return f"<headers {sorted(self)}>"


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
        secret_headers: Mapping[str, Secret] | None = None,
    ) -> None:
        # httpx's own headers get no secret: httpx's repr of them would show it.
        super().__init__(base_url=base_url, headers=dict(headers), timeout=timeout, verify=verify)
        self._root = base_url.rstrip("/")
        self._default_headers = _HeaderValues(
            {**headers, **{k: v.reveal() for k, v in (secret_headers or {}).items()}}
        )
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

    def __repr__(self) -> str:  # never the headers: they hold the API key
        return f"<AiohttpClient {getattr(self, '_root', None)!r}>"

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
        """One HTTP exchange. aiohttp's failures propagate as they are: `_errors.TRANSPORT_ERRORS`
        is the one table that turns them (and httpx's) into tinker exceptions."""
        session = self._session or self._open()
        async with session.request(
            method, url, data=body, headers=headers, allow_redirects=False
        ) as response:
            content = await response.read()
            return WireResponse(
                response.status,
                content,
                {key.lower(): value for key, value in response.headers.items()},
            )

    async def aclose(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()
        await super().aclose()

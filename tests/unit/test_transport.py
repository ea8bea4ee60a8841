"""The aiohttp wire under the generated endpoints, against a real aiohttp server on localhost."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from aiohttp import web
from tinker_api_client import AuthenticatedClient
from tinker_api_client.api.rest import list_training_runs
from tinker_api_client.api.service import healthz

from tinker_hl import _transport as transport
from tinker_hl._exceptions import APIConnectionError, APITimeoutError, NotFoundError
from tinker_hl._http import call, make_client
from tinker_hl._transport import AiohttpClient, WireResponse

Seen = list[dict[str, Any]]


@contextlib.asynccontextmanager
async def _served(
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ssl_context: ssl.SSLContext | None = None,
) -> AsyncIterator[str]:
    """An aiohttp server on a free localhost port answering every path with `handler`."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context).start()
        scheme = "https" if ssl_context else "http"
        yield f"{scheme}://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def _client(url: str, **options: Any) -> AsyncIterator[AuthenticatedClient]:
    """tinker_hl's generated client for `url`, closed afterwards."""
    client = make_client(url, "tml-k", **options)
    try:
        yield client
    finally:
        await client.get_async_httpx_client().aclose()


def _echo(seen: Seen) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        seen.append(
            {
                "method": request.method,
                "path": request.path,
                "query": dict(request.query),
                "headers": dict(request.headers),
                "body": await request.read(),
            }
        )
        if request.path.endswith("/missing"):
            return web.json_response({"error": "no such thing"}, status=404)
        if request.path.endswith("/training_runs"):
            cursor = {"offset": 10, "limit": 5, "total_count": 10}
            return web.json_response({"training_runs": [], "cursor": cursor})
        return web.json_response({"status": "ok"}, headers={"X-Request-Id": "r-1"})

    return handler


def run(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(main())


def test_json_body_headers_and_answer_reach_the_wire() -> None:
    seen: Seen = []

    async def main() -> None:
        async with _served(_echo(seen)) as url:
            client = AiohttpClient(
                url + "/prefix/",
                headers={"X-API-Key": "tml-k", "X-Extra": "1"},
                timeout=httpx.Timeout(5.0),
            )
            try:
                response = await client.request(
                    "post",
                    "/api/v1/thing",
                    json={"tokens": [1, 2, 3]},
                    headers={"X-Per-Call": "2"},
                )
            finally:
                await client.aclose()
        assert isinstance(response, WireResponse)
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}
        assert response.headers["x-request-id"] == "r-1"  # lower-case keys, as httpx gives

    run(main)
    (request,) = seen
    assert request["method"] == "POST"
    assert request["path"] == "/prefix/api/v1/thing"  # a base URL's path is kept
    assert orjson.loads(request["body"]) == {"tokens": [1, 2, 3]}
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["headers"]["X-API-Key"] == "tml-k"
    assert request["headers"]["X-Extra"] == "1"
    assert request["headers"]["X-Per-Call"] == "2"


def test_generated_endpoints_work_over_it_with_query_parameters() -> None:
    seen: Seen = []

    async def main() -> None:
        async with _served(_echo(seen)) as url, _client(url) as client:
            await call("healthz", healthz, client)
            runs = await call("list_training_runs", list_training_runs, client, limit=5, offset=10)
        assert runs.parsed is not None and runs.parsed.cursor.offset == 10

    run(main)
    assert [r["path"] for r in seen] == ["/api/v1/healthz", "/api/v1/training_runs"]
    assert seen[1]["query"] == {"limit": "5", "offset": "10"}


def test_error_statuses_become_precise_exceptions() -> None:
    async def main() -> None:
        async with _served(_echo([])) as url, _client(url + "/x") as client:

            class Missing:  # an endpoint module the way the generator writes them
                @staticmethod
                def _get_kwargs() -> dict[str, Any]:
                    return {"method": "get", "url": "/missing"}

                @staticmethod
                def _build_response(*, client: Any, response: Any) -> Any:
                    raise AssertionError("an error answer never reaches the generated parser")

            with pytest.raises(NotFoundError, match="no such thing"):
                await call("get_missing", Missing, client)

    run(main)


def test_refused_connection_is_a_connection_error_naming_the_cause() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    async def main() -> None:
        async with _client(f"http://127.0.0.1:{port}") as client:
            with pytest.raises(APIConnectionError, match="healthz: ClientConnectorError"):
                await call("healthz", healthz, client)

    run(main)


def test_a_silent_server_is_a_timeout() -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.json_response({})

    async def main() -> None:
        async with (
            _served(slow) as url,
            _client(url, timeout=httpx.Timeout(0.3, connect=1.0)) as client,
        ):
            with pytest.raises(APITimeoutError, match="healthz: request timed out"):
                await call("healthz", healthz, client)

    run(main)


def test_trace_context_headers_are_sent_when_opentelemetry_is_active(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: Seen = []
    monkeypatch.setattr(transport, "tracing_enabled", lambda: True)
    monkeypatch.setattr(transport, "trace_headers", lambda: {"traceparent": "00-abc-def-01"})

    async def main() -> None:
        async with _served(_echo(seen)) as url, _client(url) as client:
            await call("healthz", healthz, client)

    run(main)
    assert seen[0]["headers"]["traceparent"] == "00-abc-def-01"


def test_calls_it_does_not_handle_fall_back_to_plain_httpx() -> None:
    seen: Seen = []

    async def main() -> None:
        async with _served(_echo(seen)) as url:
            client = AiohttpClient(url, headers={"X-API-Key": "k"}, timeout=httpx.Timeout(5.0))
            try:
                response = await client.request("get", url + "/absolute", follow_redirects=False)
                assert isinstance(response, httpx.Response)
                assert response.json() == {"status": "ok"}
            finally:
                await client.aclose()

    run(main)
    assert seen[0]["path"] == "/absolute"


def test_verify_false_accepts_a_self_signed_certificate(
    self_signed_cert: tuple[Path, Path],
) -> None:
    cert, key = self_signed_cert
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    seen: Seen = []

    async def main() -> None:
        async with (
            _served(_echo(seen), ssl_context=context) as url,
            _client(url) as strict,
            _client(url, verify=False) as lenient,
        ):
            with pytest.raises(APIConnectionError, match=r"(?i)certificate"):
                await call("healthz", healthz, strict)
            await call("healthz", healthz, lenient)

    run(main)
    assert [r["path"] for r in seen] == ["/api/v1/healthz"]

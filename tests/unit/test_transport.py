"""The aiohttp wire under the generated endpoints, against a real aiohttp server on localhost."""

from __future__ import annotations

import asyncio
import socket
import ssl
import subprocess
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from aiohttp import web
from tinker_api_client.api.rest import list_training_runs
from tinker_api_client.api.service import healthz

from tinker_hl import _transport as transport
from tinker_hl._exceptions import APIConnectionError, APITimeoutError, NotFoundError
from tinker_hl._http import call, make_client
from tinker_hl._transport import AiohttpClient, WireResponse

Seen = list[dict[str, Any]]


async def _serve(
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"


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
        runner, url = await _serve(_echo(seen))
        client = AiohttpClient(
            url + "/prefix/",
            headers={"X-API-Key": "tml-k", "X-Extra": "1"},
            timeout=httpx.Timeout(5.0),
        )
        try:
            response = await client.request(
                "post", "/api/v1/thing", json={"tokens": [1, 2, 3]}, headers={"X-Per-Call": "2"}
            )
        finally:
            await client.aclose()
            await runner.cleanup()
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
        runner, url = await _serve(_echo(seen))
        client = make_client(url, "tml-k")
        try:
            await call("healthz", healthz, client)
            runs = await call("list_training_runs", list_training_runs, client, limit=5, offset=10)
        finally:
            await client.get_async_httpx_client().aclose()
            await runner.cleanup()
        assert runs.parsed is not None and runs.parsed.cursor.offset == 10

    run(main)
    assert [r["path"] for r in seen] == ["/api/v1/healthz", "/api/v1/training_runs"]
    assert seen[1]["query"] == {"limit": "5", "offset": "10"}


def test_error_statuses_become_precise_exceptions() -> None:
    async def main() -> None:
        runner, url = await _serve(_echo([]))
        client = make_client(url + "/x", "tml-k")
        try:

            class Missing:
                @staticmethod
                async def asyncio_detailed(*, client: Any) -> Any:
                    from tinker_api_client.types import Response

                    raw = await client.get_async_httpx_client().request("get", "/missing")
                    return Response(
                        status_code=raw.status_code,
                        content=raw.content,
                        headers=raw.headers,
                        parsed=None,
                    )

            with pytest.raises(NotFoundError, match="no such thing"):
                await call("get_missing", Missing, client)
        finally:
            await client.get_async_httpx_client().aclose()
            await runner.cleanup()

    run(main)


def test_refused_connection_is_a_connection_error_naming_the_cause() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    async def main() -> None:
        client = make_client(f"http://127.0.0.1:{port}", "tml-k")
        try:
            with pytest.raises(APIConnectionError, match="healthz: ClientConnectorError"):
                await call("healthz", healthz, client)
        finally:
            await client.get_async_httpx_client().aclose()

    run(main)


def test_a_silent_server_is_a_timeout() -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.json_response({})

    async def main() -> None:
        runner, url = await _serve(slow)
        client = make_client(url, "tml-k", timeout=httpx.Timeout(0.3, connect=1.0))
        try:
            with pytest.raises(APITimeoutError, match="healthz: request timed out"):
                await call("healthz", healthz, client)
        finally:
            await client.get_async_httpx_client().aclose()
            await runner.cleanup()

    run(main)


def test_trace_context_headers_are_sent_when_opentelemetry_is_active(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: Seen = []
    monkeypatch.setattr(transport, "tracing_enabled", lambda: True)
    monkeypatch.setattr(transport, "trace_headers", lambda: {"traceparent": "00-abc-def-01"})

    async def main() -> None:
        runner, url = await _serve(_echo(seen))
        client = make_client(url, "tml-k")
        try:
            await call("healthz", healthz, client)
        finally:
            await client.get_async_httpx_client().aclose()
            await runner.cleanup()

    run(main)
    assert seen[0]["headers"]["traceparent"] == "00-abc-def-01"


def test_calls_it_does_not_handle_fall_back_to_plain_httpx() -> None:
    seen: Seen = []

    async def main() -> None:
        runner, url = await _serve(_echo(seen))
        client = AiohttpClient(url, headers={"X-API-Key": "k"}, timeout=httpx.Timeout(5.0))
        try:
            response = await client.request("get", url + "/absolute", follow_redirects=False)
            assert isinstance(response, httpx.Response)
            assert response.json() == {"status": "ok"}
        finally:
            await client.aclose()
            await runner.cleanup()

    run(main)
    assert seen[0]["path"] == "/absolute"


def test_verify_false_accepts_a_self_signed_certificate(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    seen: Seen = []

    async def main() -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", _echo(seen))
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context).start()
        url = f"https://127.0.0.1:{runner.addresses[0][1]}"
        strict, lenient = make_client(url, "k"), make_client(url, "k", verify=False)
        try:
            with pytest.raises(APIConnectionError, match=r"(?i)certificate"):
                await call("healthz", healthz, strict)
            await call("healthz", healthz, lenient)
        finally:
            for client in (strict, lenient):
                await client.get_async_httpx_client().aclose()
            await runner.cleanup()

    run(main)
    assert [r["path"] for r in seen] == ["/api/v1/healthz"]

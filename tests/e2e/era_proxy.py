"""A recording reverse proxy in front of the local backend. With `as_07=True` it hides the
protocol steps a 0.7-era server does not have (client/config, session finish, auth/token: 404),
so the real backend is driven in the JSON protocol. It records every path it forwards or
refuses, with the media types sent and answered and the request's body."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

POST_07_PATHS = ("/api/v1/client/config", "/api/v1/auth/token", "/api/v1/client/dynamic_config")
_HOP_HEADERS = {"host", "content-length", "transfer-encoding", "connection"}


@dataclass(frozen=True)
class Exchange:
    path: str
    sent: str  # the request's Content-Type
    accept: str
    answered: str  # the answer's Content-Type
    encoding: str = ""  # the request's Content-Encoding
    credential: str = ""  # what X-API-Key held: "jwt", "key" or ""
    status: int = 0
    body: bytes = field(default=b"", repr=False)  # the request's body, as sent


def paths(seen: list[Exchange], path: str) -> list[Exchange]:
    return [e for e in seen if e.path == path]


def _media(value: str | None) -> str:
    return (value or "").split(";")[0].strip()


def _credential(value: str | None) -> str:
    if not value:
        return ""
    return "jwt" if value.startswith("ey") and value.count(".") == 2 else "key"


def _unknown_in_07(path: str) -> bool:
    return path in POST_07_PATHS or (
        path.startswith("/api/v1/sessions/") and path.endswith("/finish")
    )


@contextmanager
def recording_proxy(upstream: str, *, as_07: bool) -> Iterator[tuple[str, list[Exchange]]]:
    """Yields (proxy url, the exchanges seen)."""
    seen: list[Exchange] = []
    ready = threading.Event()
    state: dict[str, Any] = {}

    async def main() -> None:
        session = aiohttp.ClientSession()

        async def handle(request: web.Request) -> web.StreamResponse:
            sent = await request.read()

            def record(answered: str, status: int) -> None:
                seen.append(
                    Exchange(
                        request.path,
                        _media(request.headers.get("Content-Type")),
                        request.headers.get("Accept", ""),
                        _media(answered),
                        request.headers.get("Content-Encoding", ""),
                        _credential(request.headers.get("X-API-Key")),
                        status,
                        sent,
                    )
                )

            if as_07 and _unknown_in_07(request.path):
                record("application/json", 404)
                return web.json_response({"detail": "Not Found"}, status=404)
            headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
            async with session.request(
                request.method,
                upstream + request.path_qs,
                data=sent,
                headers=headers,
            ) as answer:
                body = await answer.read()
                record(answer.headers.get("Content-Type", ""), answer.status)
                kept = {
                    k: v
                    for k, v in answer.headers.items()
                    if k.lower() not in _HOP_HEADERS | {"content-encoding"}
                }
                return web.Response(status=answer.status, body=body, headers=kept)

        app = web.Application(client_max_size=1 << 30)
        app.router.add_route("*", "/{tail:.*}", handle)
        runner = web.AppRunner(app, auto_decompress=False)  # zstd bodies pass as they are
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        state["url"] = f"http://127.0.0.1:{runner.addresses[0][1]}"
        state["stop"] = stop = asyncio.Event()
        ready.set()
        await stop.wait()
        await session.close()
        await runner.cleanup()

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield state["url"], seen
    finally:
        loop.call_soon_threadsafe(state["stop"].set)
        thread.join(10)
        loop.close()

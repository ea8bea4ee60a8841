"""A tiny Tinker-shaped HTTP server in a background thread, answering whatever a test scripts:
for error shapes and paths the local backend never produces (a proxy's HTML page, FastAPI's
`{"detail": ...}`, a CDN's 522, a two-segment sampler path)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from aiohttp import web

Answer = tuple[int, bytes, dict[str, str]]
Script = Callable[[str, bytes], Answer | None]

SESSION = b'{"session_id": "fake-session"}'


def json_answer(status: int, body: bytes) -> Answer:
    return status, body, {"Content-Type": "application/json"}


def default_answers(path: str, body: bytes) -> Answer:
    if path.endswith("/create_session"):
        return json_answer(200, SESSION)
    if path.endswith("/session_heartbeat"):
        return json_answer(200, b"{}")
    if path.endswith("/create_sampling_session"):
        return json_answer(200, b'{"sampling_session_id": "fake-sampler"}')
    return json_answer(404, b'{"detail": "Not Found"}')


@contextmanager
def fake_server(script: Script) -> Iterator[tuple[str, list[tuple[str, bytes]]]]:
    """Serve `script(path, body)` (None: the defaults above); yields (url, requests seen)."""
    seen: list[tuple[str, bytes]] = []
    ready = threading.Event()
    state: dict[str, Any] = {}

    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        seen.append((request.path, body))
        status, content, headers = script(request.path, body) or default_answers(request.path, body)
        return web.Response(status=status, body=content, headers=headers)

    async def main() -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handle)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        state["url"] = f"http://127.0.0.1:{runner.addresses[0][1]}"
        state["stop"] = stop = asyncio.Event()
        ready.set()
        await stop.wait()
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

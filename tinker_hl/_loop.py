"""The background event loop that runs every request of one ServiceClient.

Sync methods submit coroutines here and return at once; this keeps the caller's own event loop
(a notebook, an async app) free, and lets sync and async callers share one connection pool.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from ._waiting import describe, name_of, wait

T = TypeVar("T")


class EventLoopThread:
    """An asyncio loop on a daemon thread, with a clean `close()`."""

    def __init__(self, name: str = "tinker-hl-loop") -> None:
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        self._ready.wait()
        self._closed = False
        # Why calls may be slow, for "still waiting" warnings (the owner's metrics).
        self.why: Callable[[], str] | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.call_soon(self._ready.set)
        self._loop.run_forever()
        # Let cancelled tasks finish their cleanup before the loop goes away.
        pending = asyncio.all_tasks(self._loop)
        for task in pending:
            task.cancel()
        if pending:
            self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self._loop.run_until_complete(self._loop.shutdown_asyncgens())
        self._loop.close()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def in_loop_thread(self) -> bool:
        return threading.get_ident() == self._thread.ident

    def submit(
        self, coro: Coroutine[Any, Any, T], what: str | None = None
    ) -> concurrent.futures.Future[T]:
        """Schedule `coro` on the loop; the returned future is thread-safe. `what` names it in
        "still waiting" warnings."""
        if self._closed:
            coro.close()
            raise RuntimeError("this client is closed; create a new ServiceClient")
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        describe(future, what or name_of(coro))
        return future

    async def run_async(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await `coro` on this loop from any loop (the caller's, or this one)."""
        if self.in_loop_thread():
            return await coro
        return await asyncio.wrap_future(self.submit(coro))

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run `coro` on the loop and block for its result (never from the loop thread)."""
        if self.in_loop_thread():
            coro.close()
            raise RuntimeError(
                "a blocking tinker_hl call was made from inside tinker_hl's own event loop "
                "(for example in a callback); use the `_async` variant and await it instead"
            )
        return wait(self.submit(coro), timeout, self.why)

    def close(self, timeout: float = 10.0) -> None:
        if self._closed:
            return
        self._closed = True
        self._loop.call_soon_threadsafe(self._loop.stop)
        if not self.in_loop_thread():
            self._thread.join(timeout)

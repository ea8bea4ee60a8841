"""The background event loop thread."""

from __future__ import annotations

import asyncio
import threading

import pytest

from tinker_hl._loop import EventLoopThread


def test_runs_coroutines_and_closes_cleanly() -> None:
    loop_thread = EventLoopThread(name="tinker-hl-test-loop")

    async def add(a: int, b: int) -> int:
        await asyncio.sleep(0)
        return a + b

    assert loop_thread.run(add(1, 2)) == 3
    assert loop_thread.submit(add(2, 3)).result() == 5
    loop_thread.close()
    assert not any(t.name == "tinker-hl-test-loop" for t in threading.enumerate())
    with pytest.raises(RuntimeError, match="closed"):
        loop_thread.submit(add(1, 1))


def test_blocking_from_the_loop_thread_raises_instead_of_deadlocking() -> None:
    loop_thread = EventLoopThread()

    async def inner() -> int:
        return 1

    async def outer() -> str:
        try:
            loop_thread.run(inner())
        except RuntimeError as exc:
            return str(exc)
        return "no error"

    try:
        assert "_async" in loop_thread.run(outer())
    finally:
        loop_thread.close()


def test_close_cancels_pending_tasks() -> None:
    loop_thread = EventLoopThread()
    future = loop_thread.submit(asyncio.sleep(3600))
    loop_thread.close()
    assert future.cancelled() or future.done()

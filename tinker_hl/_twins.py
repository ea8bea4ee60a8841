"""Sync/async twins from one definition.

Every client operation is written once; its other form is one line in the class body:

    def forward(self, ...) -> APIFuture[ForwardBackwardOutput]: ...
    forward_async = future_twin(forward)       # async, returns the same APIFuture

    def get_training_run(self, ...) -> APIFuture[TrainingRun]: ...
    get_training_run_async = awaited_twin(get_training_run)   # async, returns the value

    async def _capabilities(self) -> GetServerCapabilitiesResponse: ...
    get_server_capabilities = blocking(_capabilities)          # sync, returns the value
    get_server_capabilities_async = on_loop(_capabilities)     # async, on the client's loop

The twin keeps its original's signature (`inspect.signature` follows `__wrapped__`; type
checkers see the ParamSpec), and gets a docstring that names its original.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from ._loop import EventLoopThread
from ._waiting import wait

P = ParamSpec("P")
R = TypeVar("R")
S = TypeVar("S")


class HasLoop(Protocol):
    """A client whose operations run on `_loop`."""

    @property
    def _loop(self) -> EventLoopThread: ...


L = TypeVar("L", bound=HasLoop)
F = TypeVar("F")


def _named(twin: Any, original: Callable[..., Any], name: str, doc: str) -> None:
    functools.update_wrapper(twin, original)
    twin.__name__ = name
    twin.__qualname__ = original.__qualname__.rsplit(".", 1)[0] + "." + name
    first = (original.__doc__ or "").strip().split("\n\n")[0]
    twin.__doc__ = f"{doc}\n\n{first}" if first else doc


def _public_name(original: Callable[..., Any]) -> str:
    return original.__name__.lstrip("_")


def future_twin(
    method: Callable[Concatenate[S, P], R],
) -> Callable[Concatenate[S, P], Coroutine[Any, Any, R]]:
    """`async def <name>_async`: the same call, returning what `method` returns (an APIFuture,
    as the official SDK's training methods do)."""

    async def twin(self: S, *args: P.args, **kwargs: P.kwargs) -> R:
        return method(self, *args, **kwargs)

    name = f"{method.__name__}_async"
    _named(twin, method, name, f"Async form of `{method.__name__}`: returns its APIFuture.")
    return twin


def awaited_twin(
    method: Callable[Concatenate[S, P], Awaitable[R]],
) -> Callable[Concatenate[S, P], Coroutine[Any, Any, R]]:
    """`async def <name>_async`: the same call, awaited (returns the result, not a future)."""

    async def twin(self: S, *args: P.args, **kwargs: P.kwargs) -> R:
        return await method(self, *args, **kwargs)

    name = f"{method.__name__}_async"
    _named(twin, method, name, f"Async form of `{method.__name__}`: awaits and returns its result.")
    return twin


def blocking(
    operation: Callable[Concatenate[L, P], Coroutine[Any, Any, R]],
) -> Callable[Concatenate[L, P], R]:
    """The sync form of `operation` (an async method, or one that checks its arguments and
    returns a coroutine): runs it on the client's loop and blocks for the result."""

    def twin(self: L, *args: P.args, **kwargs: P.kwargs) -> R:
        return self._loop.run(operation(self, *args, **kwargs))

    name = _public_name(operation)
    _named(twin, operation, name, f"Blocks until `{name}` is done; returns its result.")
    return twin


def submitted(
    wrap: Callable[[concurrent.futures.Future[R], EventLoopThread], F],
) -> Callable[
    [Callable[Concatenate[L, P], Coroutine[Any, Any, R]]], Callable[Concatenate[L, P], F]
]:
    """The sync form of `operation` that returns a future, `wrap(future, loop)` (an APIFuture
    class), as the 0.38 factories do.

    Called where no event loop runs (plain sync code, the 0.7.0 way), it waits for the outcome
    before returning, so a failure raises at the call as 0.7.0's factories did, and the future
    it returns is already done. Called from async code it returns at once (awaiting it, or
    `.result()`, gives the outcome), so the caller's event loop is never blocked."""

    def make(
        operation: Callable[Concatenate[L, P], Coroutine[Any, Any, R]],
    ) -> Callable[Concatenate[L, P], F]:
        name = _public_name(operation)

        def twin(self: L, *args: P.args, **kwargs: P.kwargs) -> F:
            loop = self._loop
            future = loop.submit(operation(self, *args, **kwargs), name)
            if not _in_async_code():
                wait(future, None, loop.why)  # raises what the operation raised
            return wrap(future, loop)

        _named(twin, operation, name, f"Starts `{name}`; returns a future of its result.")
        return twin

    return make


def _in_async_code() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def on_loop(
    operation: Callable[Concatenate[L, P], Coroutine[Any, Any, R]],
) -> Callable[Concatenate[L, P], Coroutine[Any, Any, R]]:
    """The async form of `operation`: awaited on the client's loop, from any event loop."""

    async def twin(self: L, *args: P.args, **kwargs: P.kwargs) -> R:
        return await self._loop.run_async(operation(self, *args, **kwargs))

    name = f"{_public_name(operation)}_async"
    _named(twin, operation, name, f"Async form of `{_public_name(operation)}`.")
    return twin


__all__ = ["awaited_twin", "blocking", "future_twin", "on_loop", "submitted"]

"""The futures that client factories return (0.38): `.result()` / `await` give the client, and
for scripts written for 0.7.0, whose factories returned the client itself, the future still
works as the client, with the FutureWarning that 0.38 gives for that use.

Which names forward is read from the client class (every public method), so it follows the
client as it grows; type checkers see the methods through the subclassing.
"""

from __future__ import annotations

import inspect
import warnings
from typing import Any, ClassVar, TypeVar

from ._futures import APIFuture

C = TypeVar("C")


class ClientFuture(APIFuture[C]):
    """Subclass as `class XFuture(ClientFuture[X], X)` with `_client_name = "X"`."""

    _client_name: ClassVar[str] = "client"
    # Public method name -> whether it is `async def`; filled per subclass from its client class.
    _forwarded: ClassVar[dict[str, bool]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        client_cls = next(b for b in cls.__mro__ if b.__name__ == cls._client_name)
        cls._forwarded = {
            name: inspect.iscoroutinefunction(member)
            for name, member in inspect.getmembers(client_cls, callable)
            if not name.startswith("_") and not hasattr(APIFuture, name)
        }

    def __getattribute__(self, name: str) -> Any:
        is_async = type(self)._forwarded.get(name)
        if is_async is None:
            return object.__getattribute__(self, name)
        if is_async:

            async def forward(*args: Any, **kwargs: Any) -> Any:
                client = await self._as_client_async()
                return await getattr(client, name)(*args, **kwargs)

            return forward
        return getattr(self._as_client(), name)

    def _as_client(self) -> C:
        warnings.warn(
            f"Using the future as the {self._client_name} is deprecated; call .result() on it, "
            f"or await it, to get the {self._client_name} first",
            FutureWarning,
            stacklevel=3,
        )
        return self.result()

    async def _as_client_async(self) -> C:
        warnings.warn(
            f"Using the future as the {self._client_name} is deprecated; call .result() on it, "
            f"or await it, to get the {self._client_name} first",
            FutureWarning,
            stacklevel=3,
        )
        return await self.result_async()

    def __getattr__(self, name: str) -> Any:
        # Only reached for what the class does not define: the client's instance attributes
        # (`model_id`, `holder`, `_sequencer`, ...). Dunder probes are never forwarded.
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self._as_client(), name)

    def __repr__(self) -> str:
        state = "done" if self.done() else "pending"
        return f"<{type(self).__name__} {state}>"


__all__ = ["ClientFuture"]

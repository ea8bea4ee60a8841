"""Context-manager plumbing shared by the clients that own resources."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class ClosingContext:
    """`with client:` / `async with client:` call `_close_on_exit` (by default `close()`) on
    exit, after `_on_error` when an exception is leaving the block."""

    def close(self) -> object:
        raise NotImplementedError

    def _on_error(self, exc: BaseException) -> None:
        """Hook: an exception is leaving the `with` block."""

    def _close_on_exit(self, exc: BaseException | None) -> None:
        """Hook: how leaving the `with` block closes (`exc`: what is leaving it, if anything)."""
        self.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None:
            self._on_error(exc)
        self._close_on_exit(exc)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)

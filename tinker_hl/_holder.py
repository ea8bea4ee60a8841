"""ClientHolder: the parts one ServiceClient and all clients it creates share, wired together.

Each part has one job and its own module: `options` (arguments and environment, `_options`),
the event loop (`_loop`), the HTTP `connection` (`_connection`), the call `pipeline` every
request passes through (`_pipeline`, which also holds the server's features, asked once at
client/config by `_negotiation` before anything else is sent), and the server `session` with its
heartbeat (`_session`). This class only builds them in order and closes them in reverse.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

from ._auth import TokenAuth
from ._backpressure import SamplingLimiter
from ._circuit import CircuitBreakers
from ._connection import Connection
from ._loop import EventLoopThread
from ._metrics import ClientMetrics
from ._negotiation import fetch_server_features
from ._options import ClientOptions
from ._pipeline import CallPipeline
from ._server_features import ServerFeatures
from ._session import ServerSession
from ._telemetry import Telemetry

T = TypeVar("T")
logger = logging.getLogger("tinker_hl")


class ClientHolder:
    """`open_session=False`: REST-only use (no session, no heartbeat)."""

    def __init__(self, options: ClientOptions, *, open_session: bool = True) -> None:
        self._closed = True  # until started: close() and repr() work on a half-built holder
        self.options = options
        self.loop_thread = EventLoopThread()
        self.connection = Connection(options)
        self.pipeline = CallPipeline(
            self.connection.open,
            retry_config=options.retry_config,
            metrics=ClientMetrics(),
            breakers=CircuitBreakers(options.circuit_breaker),
            sampling_limiter=SamplingLimiter(options.sampling_limits),
        )
        self.loop_thread.why = self.pipeline.metrics.waiting_summary
        self.session = ServerSession(self.pipeline, options)
        self.telemetry: Telemetry | None = None
        self._closed = False
        try:
            self.loop_thread.run(self._start(open_session))
        except BaseException:
            with contextlib.suppress(Exception):
                self.loop_thread.run(self._aclose(), timeout=10)
            self.loop_thread.close()
            raise

    def __repr__(self) -> str:  # never shows the API key, never raises
        options = getattr(self, "options", None)
        session = getattr(self, "session", None)
        return (
            f"ClientHolder(base_url={getattr(options, 'base_url', None)!r}, "
            f"session_id={getattr(session, 'session_id', '')!r})"
        )

    async def _start(self, open_session: bool) -> None:
        self.connection.open()
        self.pipeline.features = await fetch_server_features(self.pipeline)
        if self.pipeline.features.jwt:
            TokenAuth(self.pipeline).install()
        if open_session:
            await self.session.open()

    @property
    def session_id(self) -> str:
        return self.session.session_id

    @property
    def features(self) -> ServerFeatures:
        """What the server offered at client/config (JSON_ONLY for a server without it)."""
        return self.pipeline.features

    @property
    def base_url(self) -> str:
        return self.options.base_url

    def submit(self, coro: Coroutine[Any, Any, T], what: str | None = None) -> Any:
        """Schedule `coro` on the loop; `what` names it in "still waiting" warnings."""
        return self.loop_thread.submit(coro, what)

    def close(self) -> None:
        """Stop telemetry and the heartbeat, close connections and the background thread."""
        if self._closed:
            return
        self._closed = True
        if self.telemetry is not None:
            try:
                self.telemetry.stop()
            except Exception:  # telemetry must never disturb shutdown
                logger.debug("telemetry shutdown failed", exc_info=True)
        try:
            self.loop_thread.run(self._aclose(), timeout=10)
        except Exception:
            logger.debug("error while closing", exc_info=True)
        self.loop_thread.close()

    async def _aclose(self) -> None:
        await self.session.aclose()
        await self.connection.aclose()

    @property
    def closed(self) -> bool:
        return self._closed


__all__ = ["ClientHolder"]

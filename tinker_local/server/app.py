"""The Starlette application: every path of openapi.yaml, plus the signed archive downloads."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response

from . import (
    api_copy_weights,
    api_futures,
    api_protocol,
    api_rest,
    api_sampling,
    api_service,
    api_training,
    checkpoint_ttl,
    log_secrecy,
)
from .config import ServerConfig
from .faults import DelayedCheckpointFiles, FaultInjector, FaultMiddleware, FaultSettings
from .jsonio import JSONResponse
from .request_guards import RequestGuards
from .state import Backend


async def _http_error(request: Request, exc: Exception) -> Response:
    """404/405 from routing, as ErrorResponse bodies."""
    assert isinstance(exc, HTTPException)
    return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)


def create_app(config: ServerConfig) -> Starlette:
    """Build the app. The store is opened (and checkpoints reconciled) right away, so
    `app.state.backend.store` is usable before the server starts; compute starts with the
    ASGI lifespan and stops with it."""
    backend = Backend(config)
    log_secrecy.install()
    if config.checkpoint_write_delay_s > 0:  # test only
        backend.files = DelayedCheckpointFiles(config.data_dir, config.checkpoint_write_delay_s)
    # Fault injection (off unless configured): a pass-through when its rate is 0.
    faults = FaultInjector(FaultSettings.from_config(config))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        log_secrecy.install()
        await backend.start()
        try:
            async with checkpoint_ttl.sweeping(backend):
                yield
        finally:
            await backend.stop()

    # Routing tries the routes in turn (every path is distinct): the per-step ones go first,
    # the result poll and sampling (RL sends hundreds of sample requests a step) before training.
    routes = [
        *api_futures.routes(),
        *api_sampling.routes(),
        *api_training.routes(),
        *api_service.routes(),
        *api_rest.routes(),
        *api_copy_weights.routes(),
        *api_protocol.routes(),
        *checkpoint_ttl.routes(),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_error},
        middleware=[
            Middleware(FaultMiddleware, injector=faults),
            Middleware(RequestGuards, max_request_bytes=config.max_request_bytes),
        ],
    )
    app.state.backend = backend
    app.state.faults = faults
    return app

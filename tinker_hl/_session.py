"""ServerSession: the session a ServiceClient opens on the server, kept alive by heartbeats,
and the session-scoped counters (training clients' `model_seq_id`, sampling sessions'
`sampling_session_seq_id`)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time

from tinker_api_client.api.service import (
    create_sampling_session,
    create_session,
    finish_session,
    session_heartbeat,
)
from tinker_api_client.models import (
    CreateSamplingSessionRequest,
    CreateSamplingSessionResponse,
    CreateSessionRequest,
    CreateSessionRequestUserMetadataType0,
    CreateSessionResponse,
    FinishReason,
    FinishSessionRequest,
    FinishSessionResponse,
    SessionHeartbeatRequest,
)
from tinker_api_client.models.known_finish_reason_type import (
    KNOWN_FINISH_REASON_TYPE_VALUES,
    check_known_finish_reason_type,
)

from ._exceptions import APIStatusError, ValidationError
from ._options import ClientOptions
from ._pipeline import CallPipeline
from ._retry import RetryConfig
from ._version import __version__

logger = logging.getLogger("tinker_hl")

HEARTBEAT_WARN_AFTER_S = 60.0
FINISH_TIMEOUT_S = 10.0
_ONE_ATTEMPT = RetryConfig(enable_retry_logic=False)


class ServerSession:
    """`open()` creates the session (and starts the heartbeat when the interval is > 0); run it
    and `aclose()` on the client's event loop."""

    def __init__(self, pipeline: CallPipeline, options: ClientOptions) -> None:
        self._pipeline = pipeline
        self._options = options
        self.session_id = ""
        self.heartbeat_failures = 0
        self._heartbeat_task: asyncio.Task[None] | None = None
        self._model_counter = itertools.count()
        self._sampling_counter = itertools.count()

    def __repr__(self) -> str:
        return f"ServerSession(session_id={getattr(self, 'session_id', '')!r})"

    def next_model_seq_id(self) -> int:
        return next(self._model_counter)

    def next_sampling_session_seq_id(self) -> int:
        return next(self._sampling_counter)

    async def open(self) -> str:
        options = self._options
        request = CreateSessionRequest(
            tags=list(options.tags),
            user_metadata=CreateSessionRequestUserMetadataType0.from_dict(
                dict(options.user_metadata)
            ),
            sdk_version=f"tinker-hl/{__version__}",
        )
        # Sent only when set: a 0.7-era server's strict schema may not know these fields.
        if options.project_id is not None:
            request.project_id = options.project_id
        if options.display_name is not None:
            request.display_name = options.display_name
        result = await self._pipeline.request(
            "create_session", create_session, CreateSessionResponse, body=request
        )
        for level, message in (
            (logging.INFO, result.info_message),
            (logging.WARNING, result.warning_message),
            (logging.ERROR, result.error_message),
        ):
            if isinstance(message, str) and message:
                logger.log(level, "server: %s", message)
        self.session_id = result.session_id
        if options.heartbeat_interval > 0:
            self._heartbeat_task = asyncio.get_running_loop().create_task(self._heartbeat())
        return self.session_id

    async def _heartbeat(self) -> None:
        interval = self._options.heartbeat_interval
        last_ok = time.monotonic()
        last_warning = 0.0
        while True:
            await asyncio.sleep(interval)
            try:
                await self._pipeline.call(
                    "session_heartbeat",
                    session_heartbeat,
                    body=SessionHeartbeatRequest(session_id=self.session_id),
                )
                last_ok = time.monotonic()
                self.heartbeat_failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.heartbeat_failures += 1
                failing_for = time.monotonic() - last_ok
                # Warn once a minute at most: one failed heartbeat is routine, a minute is not.
                if failing_for > HEARTBEAT_WARN_AFTER_S and time.monotonic() - last_warning > 60:
                    last_warning = time.monotonic()
                    logger.warning(
                        "session %s: heartbeats failing for %.0fs (%d in a row); last error: %s",
                        self.session_id,
                        failing_for,
                        self.heartbeat_failures,
                        exc,
                    )
                else:
                    logger.debug("heartbeat failed: %s", exc)

    async def create_sampling_session(
        self, *, model_path: str | None, base_model: str | None
    ) -> str:
        request = CreateSamplingSessionRequest(
            session_id=self.session_id,
            sampling_session_seq_id=self.next_sampling_session_seq_id(),
        )
        if model_path is not None:
            request.model_path = model_path
        if base_model is not None:
            request.base_model = base_model
        created = await self._pipeline.request(
            "create_sampling_session",
            create_sampling_session,
            CreateSamplingSessionResponse,
            body=request,
        )
        return created.sampling_session_id

    async def finish(self, status: str, detail: str | None) -> None:
        """Mark the session finished on the server (`success`, `errored`, `interrupted`). A
        0.7-era server (no client/config) is not asked; one that answered client/config but
        has no such endpoint answers 404 or 405: nothing to do.
        One attempt, no retries: it runs while the client closes, often because the server is
        gone, and closing must not wait on it."""
        if not self.session_id or not self._pipeline.features.finishes_sessions:
            return
        body = FinishSessionRequest(
            reason=FinishReason(type_=check_known_finish_reason_type(status))
        )
        if detail is not None:
            body.detail = detail
        try:
            await self._pipeline.request(
                "finish_session",
                finish_session,
                FinishSessionResponse,
                retry_handler=self._pipeline.make_retry_handler(_ONE_ATTEMPT, "finish_session"),
                session_id=self.session_id,
                body=body,
            )
        except APIStatusError as exc:
            if exc.status_code not in (404, 405):
                raise
            logger.debug("the server does not finish sessions (%s)", exc.status_code)

    async def aclose(self) -> None:
        """Stop the heartbeat."""
        if self._heartbeat_task is not None:
            task, self._heartbeat_task = self._heartbeat_task, None
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


FINISH_STATUSES = sorted(KNOWN_FINISH_REASON_TYPE_VALUES)  # from openapi.yaml


def check_finish(status: object, detail: object) -> None:
    if status not in FINISH_STATUSES:
        raise ValidationError("status", f"expected one of {FINISH_STATUSES}, got {status!r}")
    if detail is not None and not isinstance(detail, str):
        raise ValidationError("detail", f"expected a string, got {type(detail).__name__}")

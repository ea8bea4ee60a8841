"""RestClient: training runs, checkpoints, sessions and samplers (the REST endpoints).

Every method of the 0.7.0 SDK's RestClient, with the same names and parameters. Each sync method
validates its arguments, sends the request on the client's event loop and returns an `APIFuture`
at once (`.result()` blocks, `await future` doesn't); each `<name>_async` twin returns the value.

Extras: pagination helpers that walk every page (`iter_training_runs`, `iter_user_checkpoints`,
`iter_sessions`), `download_checkpoint_archive` (streams a checkpoint's tar archive to disk in
constant memory and verifies it), `get_server_capabilities`, and `RestClient.from_env()` for a
standalone client that opens no session.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import os
import tarfile
import tempfile
import uuid
from collections.abc import Callable, Coroutine, Iterator
from datetime import UTC
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urljoin

import httpx
from tinker_api_client.api.rest import (
    delete_checkpoint,
    get_checkpoint_archive_url,
    get_sampler,
    get_session,
    get_training_run,
    list_checkpoints,
    list_sessions,
    list_training_runs,
    list_user_checkpoints,
    publish_checkpoint,
    set_checkpoint_ttl,
    unpublish_checkpoint,
)
from tinker_api_client.api.service import get_server_capabilities
from tinker_api_client.api.weights import copy_weights, weights_info
from tinker_api_client.limits import PAGE_LIMIT_MAX
from tinker_api_client.models import (
    Checkpoint,
    CheckpointArchiveUrlResponse,
    CheckpointsListResponse,
    CopyWeightsRequest,
    CopyWeightsResponse,
    GetSamplerResponse,
    GetServerCapabilitiesResponse,
    GetSessionResponse,
    ListSessionsResponse,
    SetCheckpointTtlRequest,
    TrainingRun,
    TrainingRunsResponse,
    WeightsInfoRequest,
    WeightsInfoResponse,
)
from tinker_api_client.models.access_scope import ACCESS_SCOPE_VALUES, AccessScope

from ._exceptions import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    ConflictError,
    TinkerError,
    ValidationError,
    decode_error_body,
    status_error_for,
)
from ._futures import APIFuture, submit_future
from ._holder import ClientHolder
from ._http import Endpoint, parsed
from ._lifecycle import ClosingContext
from ._loop import EventLoopThread
from ._options import ClientOptions
from ._retry import RetryConfig
from ._telemetry import Telemetry
from ._training_client import check_access_token, check_ttl
from ._twins import awaited_twin, blocking, on_loop
from .types import parse_tinker_path, split_checkpoint_id
from .types._shapes import to_official_shape

T = TypeVar("T")

MAX_PAGE_SIZE = PAGE_LIMIT_MAX
"""The largest `limit` the service accepts for one page (openapi.yaml's Limit parameter)."""

ProgressCallback = Callable[[int, int | None], object]
"""`progress(bytes_written, total_bytes_or_None)`, called as an archive download advances."""

_CHUNK_SIZE = 1 << 20


# ----- argument validation ------------------------------------------------------------------
def _check_id(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise ValidationError(field, f"expected a string, got {type(value).__name__}")
    if not value.strip():
        raise ValidationError(field, "must not be empty")
    return value


def _check_int(value: object, field: str, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(field, f"expected an integer, got {value!r}")
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f">= {low}"
        raise ValidationError(field, f"expected an integer {bounds}, got {value}")
    return value


def _check_page(limit: object, offset: object) -> tuple[int, int]:
    return _check_int(limit, "limit", 1, MAX_PAGE_SIZE), _check_int(offset, "offset", 0)


def _scope(access_scope: object) -> dict[str, AccessScope]:
    """The `access_scope` query argument; the default (`owned`) is left off the wire, so a
    server that predates it sees the request it knows."""
    if access_scope not in ACCESS_SCOPE_VALUES:
        raise ValidationError(
            "access_scope", f"expected one of {sorted(ACCESS_SCOPE_VALUES)}, got {access_scope!r}"
        )
    return {} if access_scope == "owned" else {"access_scope": "accessible"}


def _checkpoint_parts(training_run_id: object, checkpoint_id: object) -> tuple[str, str, str]:
    run_id = _check_id(training_run_id, "training_run_id")
    kind, name = split_checkpoint_id(checkpoint_id)  # type: ignore[arg-type]
    return run_id, kind, name


def _path_parts(tinker_path: object) -> tuple[str, str, str]:
    path = parse_tinker_path(tinker_path)  # type: ignore[arg-type]
    kind, name = split_checkpoint_id(path.checkpoint_id)
    return path.training_run_id, kind, name


# Per checkpoint action: its endpoint, and the statuses that mean "already done" on a retry.
_CHECKPOINT_ACTIONS: dict[str, tuple[Endpoint, tuple[int, ...]]] = {
    "delete_checkpoint": (delete_checkpoint, (404,)),
    "publish_checkpoint": (publish_checkpoint, (409,)),
    "unpublish_checkpoint": (unpublish_checkpoint, (409,)),
}


class _Final(Exception):
    """Carries an error out of a retried function without another attempt."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


class RestClient(ClosingContext):
    """Client for the REST endpoints: training runs, checkpoints, sessions and samplers.

    Get one from `service_client.create_rest_client()`, or standalone (no session, no
    heartbeat) from `RestClient.from_env()`.

    ```python
    rest = service_client.create_rest_client()
    run = rest.get_training_run("run-id").result()
    for checkpoint in rest.list_checkpoints("run-id").result().checkpoints:
        print(checkpoint.checkpoint_type, checkpoint.tinker_path)
    ```
    """

    def __init__(
        self,
        holder: ClientHolder | None = None,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
    ) -> None:
        """Without `holder`: a standalone client (as `from_env(api_key, base_url)`)."""
        __tracebackhide__ = True  # pytest: this frame's arguments hold the API key
        self._owns_holder = False
        if holder is None:
            options = ClientOptions.resolve(api_key=api_key, base_url=base_url)
            del api_key
            holder = ClientHolder(options, open_session=False)
            self._owns_holder = True
        elif base_url is not None or api_key is not None:
            raise ValidationError("base_url", "give a holder or base_url/api_key, not both")
        self.holder = holder

    @classmethod
    def from_env(
        cls,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        timeout: float | httpx.Timeout | None = None,
        retry_config: RetryConfig | None = None,
        default_headers: dict[str, str] | None = None,
        verify: bool = True,
    ) -> RestClient:
        """A standalone RestClient with its own connection pool and background loop.

        `api_key` and `base_url` default to `TINKER_API_KEY` and `TINKER_BASE_URL`. It opens no
        session (REST calls need none), so it is the cheapest way to query the service. Close
        it with `close()` or use it as a context manager.
        """
        __tracebackhide__ = True  # pytest: this frame's arguments hold the API key
        options = ClientOptions.resolve(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            retry_config=retry_config,
            default_headers=default_headers,
            verify=verify,
        )
        del api_key
        client = cls(ClientHolder(options, open_session=False))
        client._owns_holder = True
        return client

    def __repr__(self) -> str:  # never shows the API key
        return f"RestClient(base_url={getattr(getattr(self, 'holder', None), 'base_url', None)!r})"

    def close(self) -> None:
        """Close a client made by `from_env()` (a no-op for one borrowed from a ServiceClient,
        which closes with it)."""
        if self._owns_holder:
            self.holder.close()

    # ----- plumbing ----------------------------------------------------------------------
    async def _send(
        self,
        operation: str,
        endpoint: Endpoint,
        decode: Callable[[Any], T],
        *,
        ok: tuple[int, ...] = (200,),
        done_if_retried: tuple[int, ...] = (),
        **kwargs: Any,
    ) -> T:
        """One REST call with retries. A 409 is final here: on these endpoints it reports the
        checkpoint's state (already public / not public), which no retry changes.

        `done_if_retried`: statuses that mean "already done" once an earlier attempt's outcome
        is unknown (its answer was lost): a retried delete that gets 404, or a retried publish
        that gets 409, had in fact succeeded the first time.
        """
        pipeline = self.holder.pipeline
        uncertain = False

        async def send() -> T:
            nonlocal uncertain
            try:
                response = await pipeline.call(operation, endpoint, ok=ok, **kwargs)
            except APIStatusError as exc:
                if uncertain and exc.status_code in done_if_retried:
                    return to_official_shape(decode(None))
                if isinstance(exc, ConflictError):
                    raise _Final(exc) from exc
                uncertain = uncertain or pipeline.retry_config.should_retry(exc)
                raise
            except Exception as exc:
                uncertain = uncertain or pipeline.retry_config.should_retry(exc)
                raise
            return to_official_shape(decode(response))

        try:
            return await pipeline.retry_handler.execute(send, operation)
        except _Final as final:
            raise final.error from None

    def _fetch(
        self, operation: str, endpoint: Endpoint, model: type[T], **kwargs: Any
    ) -> APIFuture[T]:
        """A call whose 200 body is a `model`, sent on the client's loop."""

        def decode(response: Any) -> T:
            return parsed(operation, response, model)

        return self._future(self._send(operation, endpoint, decode, **kwargs), operation)

    def _future(self, coro: Coroutine[Any, Any, T], operation: str) -> APIFuture[T]:
        return submit_future(self._loop, coro, f"RestClient.{operation}")

    @property
    def _loop(self) -> EventLoopThread:
        return self.holder.loop_thread

    # ----- endpoints: each validates its arguments here, in the caller's thread ------------
    def get_training_run(
        self, training_run_id: str, access_scope: Literal["owned", "accessible"] = "owned"
    ) -> APIFuture[TrainingRun]:
        """A training run: base model, owner, LoRA rank, last checkpoints, metadata.
        `access_scope="accessible"` also finds another user's run with a published checkpoint."""
        run_id = _check_id(training_run_id, "training_run_id")
        return self._fetch(
            "get_training_run",
            get_training_run,
            TrainingRun,
            training_run_id=run_id,
            **_scope(access_scope),
        )

    def get_training_run_by_tinker_path(
        self, tinker_path: str, access_scope: Literal["owned", "accessible"] = "owned"
    ) -> APIFuture[TrainingRun]:
        """The training run that a checkpoint (`tinker://run-id/weights/name`) belongs to."""
        return self.get_training_run(parse_tinker_path(tinker_path).training_run_id, access_scope)

    def list_training_runs(
        self,
        limit: int = 20,
        offset: int = 0,
        access_scope: Literal["owned", "accessible"] = "owned",
        project_id: str | None = None,
    ) -> APIFuture[TrainingRunsResponse]:
        """One page of the caller's training runs, newest first (`cursor.total_count` says how
        many there are). `iter_training_runs()` walks every page. `access_scope="accessible"`
        adds the runs the caller can read; `project_id` keeps one project's runs."""
        limit, offset = _check_page(limit, offset)
        query: dict[str, Any] = _scope(access_scope)
        if project_id is not None:
            query["project_id"] = _check_id(project_id, "project_id")
        return self._fetch(
            "list_training_runs",
            list_training_runs,
            TrainingRunsResponse,
            limit=limit,
            offset=offset,
            **query,
        )

    def get_weights_info_by_tinker_path(self, tinker_path: str) -> APIFuture[WeightsInfoResponse]:
        """Base model and LoRA rank of a checkpoint (own, or anyone's published one)."""
        body = WeightsInfoRequest(tinker_path=parse_tinker_path(tinker_path).tinker_path)
        return self._fetch("weights_info", weights_info, WeightsInfoResponse, body=body)

    def list_checkpoints(self, training_run_id: str) -> APIFuture[CheckpointsListResponse]:
        """Every checkpoint (training and sampler) of one of the caller's training runs."""
        run_id = _check_id(training_run_id, "training_run_id")
        return self._fetch(
            "list_checkpoints",
            list_checkpoints,
            CheckpointsListResponse,
            training_run_id=run_id,
        )

    def list_user_checkpoints(
        self, limit: int = 100, offset: int = 0
    ) -> APIFuture[CheckpointsListResponse]:
        """One page of the caller's checkpoints across all training runs, newest first.
        `iter_user_checkpoints()` walks every page."""
        limit, offset = _check_page(limit, offset)
        return self._fetch(
            "list_user_checkpoints",
            list_user_checkpoints,
            CheckpointsListResponse,
            limit=limit,
            offset=offset,
        )

    def get_checkpoint_archive_url(
        self, training_run_id: str, checkpoint_id: str
    ) -> APIFuture[CheckpointArchiveUrlResponse]:
        """A signed, time-limited URL of the checkpoint's tar archive (`url`, and `expires` as
        RFC 3339). `checkpoint_id` is `weights/<name>` or `sampler_weights/<name>`."""
        parts = _checkpoint_parts(training_run_id, checkpoint_id)
        return self._future(self._get_archive_url(*parts), "get_checkpoint_archive_url")

    def get_checkpoint_archive_url_from_tinker_path(
        self, tinker_path: str
    ) -> APIFuture[CheckpointArchiveUrlResponse]:
        """`get_checkpoint_archive_url` for a `tinker://` path."""
        parts = _path_parts(tinker_path)
        return self._future(self._get_archive_url(*parts), "get_checkpoint_archive_url")

    def delete_checkpoint(self, training_run_id: str, checkpoint_id: str) -> APIFuture[None]:
        """Delete one of the caller's checkpoints (permanently)."""
        parts = _checkpoint_parts(training_run_id, checkpoint_id)
        return self._future(
            self._checkpoint_action("delete_checkpoint", *parts), "delete_checkpoint"
        )

    def delete_checkpoint_from_tinker_path(self, tinker_path: str) -> APIFuture[None]:
        """`delete_checkpoint` for a `tinker://` path."""
        parts = _path_parts(tinker_path)
        return self._future(
            self._checkpoint_action("delete_checkpoint", *parts), "delete_checkpoint"
        )

    def publish_checkpoint_from_tinker_path(self, tinker_path: str) -> APIFuture[None]:
        """Make one of the caller's checkpoints readable by every user (ConflictError if it
        already is)."""
        parts = _path_parts(tinker_path)
        return self._future(
            self._checkpoint_action("publish_checkpoint", *parts), "publish_checkpoint"
        )

    def unpublish_checkpoint_from_tinker_path(self, tinker_path: str) -> APIFuture[None]:
        """Make a published checkpoint private again (ConflictError if it is not public)."""
        parts = _path_parts(tinker_path)
        return self._future(
            self._checkpoint_action("unpublish_checkpoint", *parts), "unpublish_checkpoint"
        )

    def set_checkpoint_ttl_from_tinker_path(
        self, tinker_path: str, ttl_seconds: int | None
    ) -> APIFuture[None]:
        """Make one of the caller's checkpoints expire `ttl_seconds` from now (None: never)."""
        run_id, kind, name = _path_parts(tinker_path)
        check_ttl(ttl_seconds)
        body = SetCheckpointTtlRequest(ttl_seconds=ttl_seconds)
        return self._future(
            self._send(
                "set_checkpoint_ttl",
                set_checkpoint_ttl,
                lambda r: None,
                ok=(200, 204),
                training_run_id=run_id,
                checkpoint_kind=kind,
                checkpoint_name=name,
                body=body,
            ),
            "set_checkpoint_ttl",
        )

    def get_session(
        self, session_id: str, access_scope: Literal["owned", "accessible"] = "owned"
    ) -> APIFuture[GetSessionResponse]:
        """The training runs and samplers created in one of the caller's sessions, with its
        `display_name` and `user_metadata`."""
        session_id = _check_id(session_id, "session_id")
        return self._fetch(
            "get_session",
            get_session,
            GetSessionResponse,
            session_id=session_id,
            **_scope(access_scope),
        )

    def list_sessions(
        self,
        limit: int = 20,
        offset: int = 0,
        access_scope: Literal["owned", "accessible"] = "owned",
    ) -> APIFuture[ListSessionsResponse]:
        """One page of the caller's session ids, newest first. `iter_sessions()` walks every
        page."""
        limit, offset = _check_page(limit, offset)
        return self._fetch(
            "list_sessions",
            list_sessions,
            ListSessionsResponse,
            limit=limit,
            offset=offset,
            **_scope(access_scope),
        )

    def copy_weights(
        self,
        path: str,
        destination_project_id: str | None = None,
        *,
        ttl_seconds: int | None = None,
        weights_access_token: str | None = None,
    ) -> APIFuture[str]:
        """Copy a checkpoint (own or published, either kind) into a new training run of the
        project `destination_project_id` (default: `TINKER_PROJECT_ID`); the future gives the
        copy's tinker path. The copy shares the source's storage, expires after `ttl_seconds`
        (None: never) and cannot be trained on."""
        source = parse_tinker_path(path).tinker_path
        if destination_project_id is None:
            # As 0.38: the environment, read now (not the borrowing ServiceClient's project).
            destination_project_id = os.environ.get("TINKER_PROJECT_ID") or None
        if destination_project_id is None:
            raise ValidationError(
                "destination_project_id", "give a destination project or set TINKER_PROJECT_ID"
            )
        project = _check_id(destination_project_id, "destination_project_id")
        check_ttl(ttl_seconds)
        token = check_access_token(weights_access_token)
        body = CopyWeightsRequest(source_path=source, destination_project_id=project)
        if ttl_seconds is not None:
            body.ttl_seconds = ttl_seconds
        headers: dict[str, Any] = {"x_idempotency_key": uuid.uuid4().hex}  # one key, every retry
        if token is not None:
            headers["x_tinker_weights_access_token"] = token

        def decode(response: Any) -> str:
            return parsed("copy_weights", response, CopyWeightsResponse).tinker_path

        return self._future(
            self._send("copy_weights", copy_weights, decode, body=body, **headers), "copy_weights"
        )

    def get_sampler(self, sampler_id: str) -> APIFuture[GetSamplerResponse]:
        """A sampler (sampling session): its base model and the weights it samples from."""
        sampler_id = _check_id(sampler_id, "sampler_id")
        return self._fetch("get_sampler", get_sampler, GetSamplerResponse, sampler_id=sampler_id)

    def get_server_capabilities(self) -> APIFuture[GetServerCapabilitiesResponse]:
        """The models the service supports (as `ServiceClient.get_server_capabilities`)."""
        return self._fetch(
            "get_server_capabilities", get_server_capabilities, GetServerCapabilitiesResponse
        )

    get_training_run_async = awaited_twin(get_training_run)
    get_training_run_by_tinker_path_async = awaited_twin(get_training_run_by_tinker_path)
    list_training_runs_async = awaited_twin(list_training_runs)
    get_weights_info_by_tinker_path_async = awaited_twin(get_weights_info_by_tinker_path)
    list_checkpoints_async = awaited_twin(list_checkpoints)
    list_user_checkpoints_async = awaited_twin(list_user_checkpoints)
    get_checkpoint_archive_url_async = awaited_twin(get_checkpoint_archive_url)
    get_checkpoint_archive_url_from_tinker_path_async = awaited_twin(
        get_checkpoint_archive_url_from_tinker_path
    )
    delete_checkpoint_async = awaited_twin(delete_checkpoint)
    delete_checkpoint_from_tinker_path_async = awaited_twin(delete_checkpoint_from_tinker_path)
    publish_checkpoint_from_tinker_path_async = awaited_twin(publish_checkpoint_from_tinker_path)
    unpublish_checkpoint_from_tinker_path_async = awaited_twin(
        unpublish_checkpoint_from_tinker_path
    )
    set_checkpoint_ttl_from_tinker_path_async = awaited_twin(set_checkpoint_ttl_from_tinker_path)
    get_session_async = awaited_twin(get_session)
    list_sessions_async = awaited_twin(list_sessions)
    get_sampler_async = awaited_twin(get_sampler)
    get_server_capabilities_async = awaited_twin(get_server_capabilities)
    copy_weights_async = awaited_twin(copy_weights)

    def get_telemetry(self) -> Telemetry | None:
        """The telemetry reporter of the ServiceClient this client came from (None for a
        standalone client)."""
        return self.holder.telemetry

    # ----- shared plumbing of the checkpoint endpoints -----------------------------------
    async def _get_archive_url(
        self, training_run_id: str, kind: str, name: str
    ) -> CheckpointArchiveUrlResponse:
        base_url = self.holder.base_url

        def decode(response: Any) -> CheckpointArchiveUrlResponse:
            location = response.headers.get("location")
            if not location:
                raise APIResponseValidationError(
                    "get_checkpoint_archive_url: the 302 answer has no Location header"
                )
            return CheckpointArchiveUrlResponse(
                url=urljoin(base_url + "/", location),
                expires=_rfc3339(response.headers.get("expires")),
            )

        return await self._send(
            "get_checkpoint_archive_url",
            get_checkpoint_archive_url,
            decode,
            ok=(302,),
            training_run_id=training_run_id,
            checkpoint_kind=kind,
            checkpoint_name=name,
        )

    async def _checkpoint_action(self, operation: str, run_id: str, kind: str, name: str) -> None:
        endpoint, done_if_retried = _CHECKPOINT_ACTIONS[operation]
        await self._send(
            operation,
            endpoint,
            lambda r: None,
            ok=(200, 204),
            done_if_retried=done_if_retried,
            training_run_id=run_id,
            checkpoint_kind=kind,
            checkpoint_name=name,
        )

    # ----- extras ------------------------------------------------------------------------
    def iter_training_runs(self, page_size: int = 100) -> Iterator[TrainingRun]:
        """Every training run of the caller, newest first, fetched `page_size` at a time."""
        page_size = _check_int(page_size, "page_size", 1, MAX_PAGE_SIZE)

        def fetch(offset: int) -> tuple[list[TrainingRun], int | None]:
            page = self.list_training_runs(page_size, offset).result()
            return list(page.training_runs), page.cursor.total_count

        return _paginate(fetch, page_size, lambda run: run.training_run_id)

    def iter_user_checkpoints(self, page_size: int = 100) -> Iterator[Checkpoint]:
        """Every checkpoint of the caller across training runs, newest first."""
        page_size = _check_int(page_size, "page_size", 1, MAX_PAGE_SIZE)

        def fetch(offset: int) -> tuple[list[Checkpoint], int | None]:
            page = self.list_user_checkpoints(page_size, offset).result()
            cursor = page.cursor
            total = getattr(cursor, "total_count", None)
            return list(page.checkpoints), total if isinstance(total, int) else None

        return _paginate(fetch, page_size, lambda c: c.tinker_path)

    def iter_sessions(self, page_size: int = 100) -> Iterator[str]:
        """Every session id of the caller, newest first."""
        page_size = _check_int(page_size, "page_size", 1, MAX_PAGE_SIZE)

        def fetch(offset: int) -> tuple[list[str], int | None]:
            return list(self.list_sessions(page_size, offset).result().sessions), None

        return _paginate(fetch, page_size, lambda s: s)

    async def _download_checkpoint_archive(
        self,
        tinker_path: str,
        dest: str | os.PathLike[str],
        progress: ProgressCallback | None = None,
        *,
        overwrite: bool = False,
    ) -> Path:
        """Download a checkpoint's tar archive; return the file's path.

        `dest` is a file path, or an existing folder (the file is then named
        `<run-id>_<kind>_<name>.tar`). The archive streams to a temporary file in constant
        memory, is verified to be a readable tar, then renamed into place, so `dest` never
        holds a partial download. `progress(bytes_written, total_or_None)` is called as it
        advances (from a worker thread). An existing file is only replaced with
        `overwrite=True`.
        """
        target = _archive_target(tinker_path, dest, overwrite)
        url = await self.get_checkpoint_archive_url_from_tinker_path(tinker_path)
        return await asyncio.to_thread(
            _stream_archive, url.url, target, progress, self._download_timeout(), self._verify
        )

    download_checkpoint_archive = blocking(_download_checkpoint_archive)
    download_checkpoint_archive_async = on_loop(_download_checkpoint_archive)

    def _download_timeout(self) -> httpx.Timeout:
        return self.holder.options.timeout

    @property
    def _verify(self) -> bool:
        return self.holder.options.verify


# ----- helpers ------------------------------------------------------------------------------
def _rfc3339(http_date: str | None) -> str:
    """An HTTP-date `Expires` header as RFC 3339 (UTC); "" when absent."""
    if not http_date:
        return ""
    try:
        when = email.utils.parsedate_to_datetime(http_date)
    except (TypeError, ValueError):
        return http_date
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _paginate(
    fetch: Callable[[int], tuple[list[T], int | None]],
    page_size: int,
    key: Callable[[T], object],
) -> Iterator[T]:
    """Walk pages until a short or empty page, or `total` items. Items that shift onto the
    next page while iterating (a new item was created) are not yielded twice."""
    seen: set[object] = set()
    offset = 0
    while True:
        items, total = fetch(offset)
        for item in items:
            k = key(item)
            if k not in seen:
                seen.add(k)
                yield item
        offset += len(items)
        if len(items) < page_size or (total is not None and offset >= total):
            return


def archive_file_name(tinker_path: str) -> str:
    """`tinker://run/weights/step-1` -> `run_weights_step-1.tar`."""
    run_id, kind, name = _path_parts(tinker_path)
    return f"{run_id}_{kind}_{name}.tar"


def _archive_target(tinker_path: str, dest: str | os.PathLike[str], overwrite: bool) -> Path:
    if not isinstance(dest, str | os.PathLike):
        raise ValidationError("dest", f"expected a path, got {type(dest).__name__}")
    target = Path(dest)
    if target.is_dir():
        target = target / archive_file_name(tinker_path)
    else:
        parse_tinker_path(tinker_path)
        if not target.parent.is_dir():
            raise ValidationError("dest", f"folder {str(target.parent)!r} does not exist")
    if target.exists() and not overwrite:
        raise ValidationError("dest", f"{str(target)!r} already exists (pass overwrite=True)")
    return target


def _stream_archive(
    url: str,
    target: Path,
    progress: ProgressCallback | None,
    timeout: httpx.Timeout,
    verify: bool,
) -> Path:
    """GET `url` (no API key: the URL is signed) into a temp file beside `target`, verify the
    tar, rename it into place."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with (
            os.fdopen(fd, "wb") as out,
            httpx.Client(timeout=timeout, verify=verify, follow_redirects=True) as http,
            http.stream("GET", url) as response,
        ):
            if response.status_code != 200:
                response.read()
                raise _download_error(response)
            length = response.headers.get("content-length")
            total = int(length) if length and length.isdigit() else None
            written = 0
            if progress is not None:
                progress(0, total)
            for chunk in response.iter_bytes(_CHUNK_SIZE):
                out.write(chunk)
                written += len(chunk)
                if progress is not None:
                    progress(written, total)
        _verify_tar(tmp, url_hint=target.name)
        os.replace(tmp, target)
        return target
    except httpx.TransportError as exc:
        raise APIConnectionError(
            f"download_checkpoint_archive: {type(exc).__name__}: {exc}"
        ) from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _download_error(response: httpx.Response) -> TinkerError:
    return status_error_for(
        "download_checkpoint_archive",
        response.status_code,
        decode_error_body(response.content),
        dict(response.headers.items()),
        request=response.request,
        response=response,
    )


def _verify_tar(path: Path, url_hint: str) -> None:
    """Read every member header (and stream every member's data) of the archive."""
    try:
        with tarfile.open(path, "r:*") as tar:
            members = 0
            for member in tar:
                members += 1
                if member.isfile():
                    data = tar.extractfile(member)
                    if data is not None:
                        while data.read(_CHUNK_SIZE):
                            pass
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise APIResponseValidationError(
            f"download_checkpoint_archive: {url_hint} is not a readable tar archive: {exc}"
        ) from exc
    if members == 0:
        raise APIResponseValidationError(
            f"download_checkpoint_archive: {url_hint} is an empty archive"
        )


__all__ = ["MAX_PAGE_SIZE", "ProgressCallback", "RestClient", "archive_file_name"]

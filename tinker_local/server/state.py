"""The server's state: configuration, store, files, futures, compute, and the lookups that
enforce ownership (another user's object answers exactly like an unknown one)."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import secrets
import sqlite3
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import ParamSpec, TypeVar

from starlette.requests import Request

from .archive_tokens import ArchiveSigner
from .checkpoint_files import CheckpointFiles, validate_checkpoint_name
from .compute import ComputeBackend, make_compute
from .conditions import storage_condition
from .config import API_KEY_PREFIX, ServerConfig
from .errors import ApiError, UserError, bad_request, not_found, shown, unauthorized
from .futures import FutureRegistry
from .jwt_auth import JwtSigner, looks_like_jwt
from .models import ModelHandle
from .samplers import SamplerCache, SamplerTarget
from .sampling_log import SamplingCompletionLog
from .store import CHECKPOINT_KINDS, CheckpointRow, RunRow, SamplerRow, SessionRow, Store

log = logging.getLogger(__name__)

DB_NAME = "tinker_local.sqlite"
# Threads that run store calls for the event loop (reads proceed in parallel; writes queue).
_STORE_THREADS = 4

P = ParamSpec("P")
T = TypeVar("T")


class DataDirError(ValueError):
    """The data folder cannot be used (read-only, no space, not a folder): the server does not
    start. A ValueError, so the command line reports it like a bad option."""


def _check_data_dir(data_dir: Path) -> None:
    """Fail start-up clearly unless files can be created, synced and removed in `data_dir`."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        probe = data_dir / f".write-probe-{uuid.uuid4().hex}"
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, b"probe")
            os.fsync(fd)
        finally:
            os.close(fd)
            probe.unlink(missing_ok=True)
    except OSError as e:
        raise DataDirError(
            f"data folder {data_dir} is not writable ({e.strerror or e}); the server needs to "
            "create files there: choose another --data-dir or fix its permissions"
        ) from None


def parse_tinker_path(path: str, field: str) -> tuple[str, str, str]:
    """`tinker://<run_id>/<weights|sampler_weights>/<name>` -> (run_id, kind, name); else 400."""
    prefix = "tinker://"
    parts = path[len(prefix) :].split("/") if path.startswith(prefix) else []
    if len(parts) != 3 or not all(parts) or parts[1] not in CHECKPOINT_KINDS:
        raise bad_request(
            f"{field}: expected tinker://<training_run_id>/<weights|sampler_weights>/<name>, "
            f"got {path[:100]!r}",
            field,
        )
    return parts[0], parts[1], parts[2]


def _log_failure(future: Future[None]) -> None:
    if not future.cancelled() and (error := future.exception()) is not None:
        log.warning("could not record a training run's last request time: %s", error)


class Backend:
    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.users = config.users_by_key()
        _check_data_dir(config.data_dir)
        try:
            self.store = Store(config.data_dir / DB_NAME, config.store_busy_timeout_s)
            self.store.check_writable()
        except sqlite3.Error as e:
            raise DataDirError(
                f"the database in data folder {config.data_dir} cannot be written "
                f"({storage_condition(e) or e})"
            ) from None
        self.files = CheckpointFiles(config.data_dir)
        dropped, removed = self.files.reconcile(self.store)
        if dropped or removed:
            log.warning("start-up: dropped %d checkpoint row(s), %d folder(s)", dropped, removed)
        self.registry = FutureRegistry(
            result_ttl_s=config.result_ttl_s,
            undelivered_ttl_s=config.undelivered_ttl_s,
            seq_gap_timeout_s=config.seq_gap_timeout_s,
        )
        self.compute: ComputeBackend = make_compute(config.compute, config)
        self.signer = ArchiveSigner()
        self.samplers = SamplerCache(config.sampler_cache_size)
        self.models: dict[str, ModelHandle] = {}
        # Protocol additions (SDK 0.18+): retrieve_futures' completion order, JWT signing.
        self.sampling_log = SamplingCompletionLog()
        self.jwt: JwtSigner | None = JwtSigner(config.jwt_ttl_s) if config.jwt else None
        self._last_touch: dict[str, float] = {}
        self._store_threads = ThreadPoolExecutor(_STORE_THREADS, thread_name_prefix="tinker-store")
        self._reaper: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        await self.registry.start()
        from .session_reaper import reap_forever

        self._reaper = asyncio.create_task(reap_forever(self), name="session-reaper")

    async def stop(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            await asyncio.gather(self._reaper, return_exceptions=True)
        await self.registry.stop()
        await asyncio.to_thread(self._store_threads.shutdown, wait=True)
        self.store.close()

    async def db(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a (blocking) store call, or a lookup made of them, in a store thread: the event
        loop never waits for the disk or for a database lock."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._store_threads, functools.partial(fn, *args, **kwargs)
        )

    def touch_run(self, run_id: str, min_interval_s: float = 1.0) -> None:
        """Record a request to the run (at most one write per `min_interval_s`, in a store
        thread without waiting for it: a failed write only loses a timestamp)."""
        now = time.time()
        handle = self.models.get(run_id)
        if handle is not None:
            handle.last_used = now
        if now - self._last_touch.get(run_id, 0.0) >= min_interval_s:
            self._last_touch[run_id] = now
            future = self._store_threads.submit(self.store.touch_run, run_id, now)
            future.add_done_callback(_log_failure)

    # -- model lifetime --------------------------------------------------------------------------
    def live_models_of(self, user: str) -> list[ModelHandle]:
        return [h for h in list(self.models.values()) if h.user == user and h.holds_memory]

    def free_model(self, handle: ModelHandle, reason: str) -> None:
        """Drop a model's weights and optimizer state (the handle stays, to answer why) and
        cancel its queued work (the request running finishes). Callable from any thread: the
        queue is the event loop's, so a store thread hands the cancel over to it."""
        if handle.holds_memory:
            log.info("freeing model %s: %s", handle.model_id, reason)
            handle.status, handle.trainer, handle.failure = "unloaded", None, reason
            self._last_touch.pop(handle.model_id, None)
            message = f"cancelled before it ran: model {handle.model_id!r} was unloaded ({reason})"
            self._on_loop(self.registry.cancel_queue, handle.model_id, message)

    def _on_loop(self, fn: Callable[..., object], *args: object) -> None:
        loop = self._loop
        if loop is None:  # pragma: no cover - models exist only once the server started
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            fn(*args)
        else:
            loop.call_soon_threadsafe(fn, *args)

    def forget_model(self, model_id: str) -> None:
        """A model whose creation failed: nothing of it is kept."""
        self.models.pop(model_id, None)
        self._last_touch.pop(model_id, None)

    def create_model(self, handle: ModelHandle, build: Callable[[], object]) -> None:
        """A new model's creation (its job, on a compute thread): `build` makes its trainer
        (loaded as the request asks, its run recorded). If that fails, nothing of the model
        is kept: requests to it answer 404 and it no longer counts against its user."""
        try:
            trainer = build()
        except Exception as e:
            handle.status, handle.failure = "failed", str(e)
            self.forget_model(handle.model_id)
            raise
        if handle.status == "creating":  # (not freed meanwhile: its session may have ended)
            handle.trainer, handle.status = trainer, "ready"

    # -- auth ----------------------------------------------------------------------------------
    def authenticate(self, request: Request) -> str:
        key = request.headers.get("x-api-key")
        if not key:
            raise unauthorized("missing X-API-Key header")
        if self.jwt is not None and looks_like_jwt(key):
            return self.jwt.user_of(key)
        if not key.startswith(API_KEY_PREFIX):
            raise unauthorized(f"invalid API key: keys start with {API_KEY_PREFIX!r}")
        user = self.users.get(key)
        if user is None:
            raise unauthorized("invalid API key")
        return user

    # -- ownership lookups (404 for unknown and foreign alike) ----------------------------------
    def own_session(self, user: str, session_id: str) -> SessionRow:
        row = self.store.get_session(session_id)
        if row is None or row.user != user:
            raise not_found(f"session {shown(session_id)} not found")
        return row

    def note_sdk_version(self, request: Request, session_id: str) -> None:
        """Record the SDK version header (SDK 0.38+ sends it with a public method's requests)
        for the session a request belongs to."""
        version = request.headers.get("x-sdk-version")
        if version:
            self.store.set_session_sdk_header(session_id, version[:200])

    def session_expired(self, row: SessionRow, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        return now - row.last_heartbeat > self.config.session_ttl_s

    def own_run(self, user: str, run_id: str) -> RunRow:
        row = self.store.get_run(run_id)
        if row is None or row.user != user:
            raise not_found(f"training run {shown(run_id)} not found")
        return row

    def readable_run(self, user: str, run_id: str, accessible: bool) -> RunRow:
        """A run the user owns or, with `accessible`, anyone's with a published checkpoint."""
        row = self.store.get_run(run_id)
        if row is not None and (
            row.user == user or (accessible and self.store.run_is_published(run_id))
        ):
            return row
        raise not_found(f"training run {shown(run_id)} not found")

    def readable_session(self, user: str, session_id: str, accessible: bool) -> SessionRow:
        """A session the user owns or, with `accessible`, one holding a published run."""
        row = self.store.get_session(session_id)
        if row is not None and (
            row.user == user or (accessible and self.store.session_has_published_run(session_id))
        ):
            return row
        raise not_found(f"session {shown(session_id)} not found")

    def own_model(self, user: str, model_id: str) -> ModelHandle | RunRow:
        """A model this process knows (any status), else its stored training run."""
        handle = self.models.get(model_id)
        if handle is not None:
            if handle.user != user:
                raise not_found(f"model {shown(model_id)} not found")
            return handle
        return self.own_run(user, model_id)

    def live_model(self, user: str, model_id: str) -> ModelHandle:
        """A model that can take training requests in this process."""
        found = self.own_model(user, model_id)
        if isinstance(found, RunRow):
            raise not_found(
                f"model {shown(model_id)} is not loaded (the server restarted since it was "
                "created); "
                "create a new training client from one of its checkpoints"
            )
        if found.status == "unloaded":
            why = f" ({found.failure})" if found.failure else ""
            raise not_found(f"model {shown(model_id)} was unloaded{why}")
        if found.status == "failed":
            raise not_found(f"model {shown(model_id)} failed to be created: {found.failure}")
        return found

    def own_sampler(self, user: str, sampler_id: str) -> SamplerRow:
        row = self.store.get_sampler(sampler_id)
        if row is None or row.user != user:
            raise not_found(f"sampler {shown(sampler_id)} not found")
        return row

    def own_checkpoint(self, user: str, run_id: str, kind: str, name: str) -> CheckpointRow:
        self.own_run(user, run_id)
        row = self.store.get_checkpoint(run_id, kind, name)
        if row is None:
            raise not_found(
                f"checkpoint {kind}/{shown(name)} of training run {shown(run_id)} not found"
            )
        return row

    def readable_checkpoint(self, user: str, run_id: str, kind: str, name: str) -> CheckpointRow:
        """A checkpoint the user owns, or anyone's once published."""
        row = self.store.get_checkpoint(run_id, kind, name)
        if row is None or not (row.user == user or row.public):
            raise not_found(f"checkpoint {shown(f'tinker://{run_id}/{kind}/{name}')} not found")
        return row

    def checkpoint_by_path(self, user: str, path: str, field: str) -> CheckpointRow:
        run_id, kind, name = parse_tinker_path(path, field)
        return self.readable_checkpoint(user, run_id, kind, name)

    def checkpoint_sampler_target(self, user: str, path: str) -> SamplerTarget:
        """What sampling by `model_path` samples from (an ApiError when it is not readable)."""
        ckpt = self.checkpoint_by_path(user, path, "model_path")
        run = self.store.get_run(ckpt.run_id)
        base = run.base_model if run is not None else ""
        return SamplerTarget(f"path:{ckpt.tinker_path}", base, self.checkpoint_dir(ckpt))

    def checkpoint_dir(self, row: CheckpointRow) -> Path:
        return self.files.final_dir(row.run_id, row.kind, row.name)

    def delete_checkpoint(self, row: CheckpointRow) -> None:
        """Files first, then the row: removing files needs no free space and frees some, so
        the row's delete (a WAL append) can succeed on a full disk. A crash in between leaves
        a row without a folder, which start-up drops; until then it reads as deleted."""
        self.samplers.evict(f"path:{row.tinker_path}")
        self.files.remove_dir(self.checkpoint_dir(row))
        self.store.delete_checkpoint(row.run_id, row.kind, row.name)

    # -- compute-thread helpers ------------------------------------------------------------------
    @staticmethod
    def require_trainer(handle: ModelHandle) -> object:
        if handle.status == "unloaded":
            why = f" ({handle.failure})" if handle.failure else ""
            raise UserError(f"model {handle.model_id!r} was unloaded{why}")
        if handle.status != "ready" or handle.trainer is None:
            raise UserError(
                f"model {handle.model_id!r} is not available: {handle.failure or handle.status}"
            )
        return handle.trainer

    def write_checkpoint(
        self, handle: ModelHandle, kind: str, name: str, write: Callable[[Path], None]
    ) -> CheckpointRow:
        """Write a checkpoint of a model's training run (see `write_run_checkpoint`)."""
        return self.write_run_checkpoint(handle.model_id, handle.user, kind, name, write)

    def write_run_checkpoint(
        self, run_id: str, user: str, kind: str, name: str, write: Callable[[Path], None]
    ) -> CheckpointRow:
        """Write a checkpoint folder atomically, then commit its row (the order matters)."""
        row, final = self.write_checkpoint_folder(run_id, user, kind, name, write)
        try:
            self.store.add_checkpoint(row)
        except BaseException:
            self.files.remove_dir(final)
            raise
        return row

    def write_checkpoint_folder(
        self, run_id: str, user: str, kind: str, name: str, write: Callable[[Path], None]
    ) -> tuple[CheckpointRow, Path]:
        """A checkpoint's folder, written atomically, and the row that is still to be added
        (by the caller, who removes the folder if that fails)."""
        validate_checkpoint_name(name)
        if self.store.get_checkpoint(run_id, kind, name) is not None:
            raise UserError(
                f"path: training run {run_id!r} already has a checkpoint {kind}/{name}; "
                "choose another name (checkpoints are never overwritten)"
            )
        final = self.files.final_dir(run_id, kind, name)
        staging = self.files.new_staging_dir(final.parent)
        try:
            write(staging)
        except BaseException:
            self.files.remove_dir(staging)
            raise
        size = self.files.commit_dir(staging, final)
        row = CheckpointRow(
            run_id=run_id,
            kind=kind,
            name=name,
            user=user,
            created_at=time.time(),
            size_bytes=size,
            nonce=secrets.token_hex(8),
        )
        return row, final

    def default_checkpoint_name(self, run_id: str, kind: str) -> str:
        n = self.store.count_checkpoints(run_id, kind)
        while True:
            name = f"{n:06d}"
            if self.store.get_checkpoint(run_id, kind, name) is None:
                return name
            n += 1

    def sampler_target(self, row: SamplerRow) -> SamplerTarget:
        """Resolve a sampling session's weights (in the compute thread, at sampling time)."""
        if row.weights_dir is not None:
            return SamplerTarget(
                f"sampler:{row.sampler_id}", row.base_model, self.config.data_dir / row.weights_dir
            )
        if row.model_path is not None:
            return self.checkpoint_target(row.user, row.model_path)
        return SamplerTarget(f"base:{row.base_model}", row.base_model)

    def checkpoint_target(self, user: str, path: str) -> SamplerTarget:
        try:
            ckpt = self.checkpoint_by_path(user, path, "model_path")
        except ApiError as e:
            raise UserError(f"model_path: {e.message}") from None
        run = self.store.get_run(ckpt.run_id)
        if run is None:
            raise UserError(f"model_path: training run of {path!r} no longer exists")
        return SamplerTarget(f"path:{ckpt.tinker_path}", run.base_model, self.checkpoint_dir(ckpt))

    def build_sampler(self, target: SamplerTarget) -> object:
        return self.samplers.get_or_build(
            target.cache_key,
            lambda: self.compute.new_sampler(target.base_model, target.weights_dir),
        )

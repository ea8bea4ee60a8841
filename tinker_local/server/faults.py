"""Fault injection for the local backend: OFF by default; for tests and chaos drills only.

`FaultMiddleware` (pure ASGI, inside Starlette's error middleware) picks, with a seeded RNG and
for a fraction `rate` of the requests whose path is selected, one of these faults (dealt from a
shuffled deck of the enabled kinds, so that every kind occurs once in each len(kinds) faults):

- `500`, `502`, `503`: an ErrorResponse with that status; the request is NOT processed.
- `429`: the same, with a `Retry-After` header (`retry_after_s`).
- `408`: the same with status 408 (for retrieve_future the client reads it as "still pending").
- `drop_before`: the connection is closed without a complete response; NOT processed.
- `drop_after`: the request IS processed (the handler runs to completion), then its response is
  discarded and the connection closed: the client cannot know that the server acted.
- `slow`: the request is processed normally after `delay_s` seconds.

`/api/v1/healthz` is never faulted. Injected faults are counted by kind (`FaultInjector.counts`,
reachable as `app.state.faults` and `LocalServer.faults`).

A dropped connection: the middleware starts a response (status 200, a Content-Length it never
sends) and returns, so uvicorn closes the socket mid-response. The client's HTTP stack sees the
connection end before the body (aiohttp: ClientPayloadError / ServerDisconnectedError), which
tinker_hl reports as APIConnectionError. No exception goes through the ASGI server, and uvicorn's
"returned without completing response" error line is filtered out for these drops.

Configuration: ServerConfig fields `fault_rate`, `fault_kinds` (comma-separated, default all),
`fault_seed`, `fault_paths` (comma-separated paths or path prefixes, `/api/v1/` may be left out;
default all), `fault_delay_s`, `fault_retry_after_s`, `fault_limit` (stop after that many
faults; 0 = never); the CLI flags of the same names (`--fault-rate 0.2 --fault-kinds
503,drop_after`); or, when `fault_rate` is 0, the environment variable
`TINKER_LOCAL_FAULTS="rate=0.2;kinds=503,drop_after;seed=1;paths=forward_backward;delay=0.5"`.

`checkpoint_write_delay_s` (test only) sleeps after a checkpoint's files are written to the
staging folder and before it is renamed into place, so a crash can be aimed at that window.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import logging
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from .checkpoint_files import CheckpointFiles
from .log_secrecy import redact_url

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from .config import ServerConfig

log = logging.getLogger(__name__)

ENV_VAR = "TINKER_LOCAL_FAULTS"
STATUS_KINDS = ("500", "502", "503", "429", "408")
KINDS = (*STATUS_KINDS, "drop_before", "drop_after", "slow")
NEVER_FAULTED = frozenset({"/api/v1/healthz"})
_API_PREFIX = "/api/v1/"
# A dropped response announces this many body bytes and sends none.
_DROP_CONTENT_LENGTH = b"1048576"

# Set while a request is being dropped on purpose, so that uvicorn's complaint about the
# incomplete response (logged from the same task, after the app returns) can be filtered out.
_dropping: contextvars.ContextVar[bool] = contextvars.ContextVar("tinker_fault_drop", default=False)


def _split(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _normalise_path(path: str) -> str:
    path = path.strip()
    if not path.startswith("/"):
        path = _API_PREFIX + path
    return path.rstrip("/") or "/"


@dataclass(frozen=True)
class FaultSettings:
    """What to inject. `rate` 0 (the default) injects nothing."""

    rate: float = 0.0
    kinds: tuple[str, ...] = KINDS
    seed: int = 0
    paths: tuple[str, ...] = ()  # paths or path prefixes; empty: every path
    delay_s: float = 1.0
    retry_after_s: float = 1.0
    limit: int = 0  # stop after this many faults; 0: no limit

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"fault_rate: expected a fraction in [0, 1], got {self.rate}")
        if not self.kinds:
            raise ValueError("fault_kinds: expected at least one kind")
        unknown = [k for k in self.kinds if k not in KINDS]
        if unknown:
            raise ValueError(f"fault_kinds: unknown kind(s) {unknown}; known: {', '.join(KINDS)}")
        if self.delay_s < 0 or self.retry_after_s < 0:
            raise ValueError("fault_delay_s / fault_retry_after_s: expected seconds >= 0")
        if self.limit < 0:
            raise ValueError(f"fault_limit: expected >= 0, got {self.limit}")
        object.__setattr__(self, "paths", tuple(_normalise_path(p) for p in self.paths))

    @property
    def active(self) -> bool:
        return self.rate > 0.0

    @classmethod
    def from_config(cls, config: ServerConfig) -> FaultSettings:
        """From the ServerConfig fault_* fields; when fault_rate is 0, from $TINKER_LOCAL_FAULTS."""
        if config.fault_rate <= 0 and os.environ.get(ENV_VAR, "").strip():
            return cls.parse(os.environ[ENV_VAR])
        return cls.from_fields(config)

    @classmethod
    def from_fields(cls, config: ServerConfig) -> FaultSettings:
        """From the ServerConfig fault_* fields only (raises ValueError on bad values)."""
        return cls(
            rate=config.fault_rate,
            kinds=_split(config.fault_kinds) or KINDS,
            seed=config.fault_seed,
            paths=_split(config.fault_paths),
            delay_s=config.fault_delay_s,
            retry_after_s=config.fault_retry_after_s,
            limit=config.fault_limit,
        )

    @classmethod
    def parse(cls, text: str) -> FaultSettings:
        """`rate=0.2;kinds=503,drop_after;seed=1;paths=forward_backward;delay=0.5;
        retry_after=0.1;limit=10` (every item optional)."""
        names: dict[str, tuple[str, Callable[[str], Any]]] = {
            "rate": ("rate", float),
            "kinds": ("kinds", _split),
            "seed": ("seed", int),
            "paths": ("paths", _split),
            "delay": ("delay_s", float),
            "delay_s": ("delay_s", float),
            "retry_after": ("retry_after_s", float),
            "retry_after_s": ("retry_after_s", float),
            "limit": ("limit", int),
        }
        values: dict[str, Any] = {}
        for item in text.split(";"):
            if not item.strip():
                continue
            key, sep, value = item.partition("=")
            key = key.strip().lower()
            if not sep or key not in names:
                raise ValueError(
                    f"{ENV_VAR}: expected key=value items separated by ';' with keys "
                    f"{', '.join(sorted(names))}; got {item.strip()!r}"
                )
            field, convert = names[key]
            try:
                values[field] = convert(value.strip())
            except ValueError:
                raise ValueError(f"{ENV_VAR}: bad value for {key}: {value.strip()!r}") from None
        if "kinds" in values and not values["kinds"]:
            del values["kinds"]
        return cls(**values)

    def describe(self) -> str:
        where = ", ".join(self.paths) if self.paths else "all paths"
        limit = f", at most {self.limit}" if self.limit else ""
        return (
            f"rate {self.rate:g} of {where}; kinds {', '.join(self.kinds)}; seed {self.seed}; "
            f"delay {self.delay_s:g}s; Retry-After {self.retry_after_s:g}s{limit}"
        )


class FaultInjector:
    """Decides which requests get which fault, and counts what was injected."""

    def __init__(self, settings: FaultSettings | None = None) -> None:
        self._lock = threading.Lock()
        self._settings = FaultSettings()
        self.counts: Counter[str] = Counter()
        self.by_path: Counter[tuple[str, str]] = Counter()
        self.configure(settings or FaultSettings())

    @property
    def settings(self) -> FaultSettings:
        return self._settings

    def configure(self, settings: FaultSettings | None = None, **changes: Any) -> None:
        """Replace the settings (or change some fields); reseeds the RNG and restarts `limit`.
        Counts are kept (see reset_counts)."""
        new = settings or self._settings
        if changes:
            new = dataclasses.replace(new, **changes)
        with self._lock:
            self._settings = new
            self._rng = random.Random(new.seed)
            self._deck: list[str] = []
            self._injected = 0
        if new.active:
            log.warning("fault injection ON: %s", new.describe())

    def reset_counts(self) -> None:
        with self._lock:
            self.counts.clear()
            self.by_path.clear()

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def selected(self, path: str) -> bool:
        if path in NEVER_FAULTED:
            return False
        paths = self._settings.paths
        return not paths or any(path == p or path.startswith(p + "/") for p in paths)

    def choose(self, path: str) -> str | None:
        """The fault for a request to `path`, or None (decided in arrival order, seeded)."""
        settings = self._settings
        if not settings.active or not self.selected(path):
            return None
        with self._lock:
            if settings.limit and self._injected >= settings.limit:
                return None
            if self._rng.random() >= settings.rate:
                return None
            if not self._deck:  # kinds are dealt from a shuffled deck: all equally often
                self._deck = list(settings.kinds)
                self._rng.shuffle(self._deck)
            kind = self._deck.pop()
            self._injected += 1
            self.counts[kind] += 1
            self.by_path[(path, kind)] += 1
        log.info("injecting fault %s on %s", kind, redact_url(path))
        return kind


class FaultMiddleware:
    """ASGI middleware applying a FaultInjector's decisions."""

    def __init__(self, app: ASGIApp, injector: FaultInjector) -> None:
        self.app = app
        self.injector = injector
        _install_log_filter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        kind = self.injector.choose(scope["path"])
        if kind is None:
            await self.app(scope, receive, send)
        elif kind == "slow":
            await asyncio.sleep(self.injector.settings.delay_s)
            await self.app(scope, receive, send)
        elif kind == "drop_before":
            await _drop(send)
        elif kind == "drop_after":

            async def discard(message: Message) -> None:
                return None

            await self.app(scope, receive, discard)
            await _drop(send)
        else:
            await _drain(receive)
            await _error(send, int(kind), self.injector.settings.retry_after_s)


async def _drain(receive: Receive) -> None:
    """Read the request body (so the connection stays usable after an error answer)."""
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


async def _error(send: Send, status: int, retry_after_s: float) -> None:
    body = orjson.dumps({"error": f"injected fault: HTTP {status} (tinker_local fault injection)"})
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if status == 429:
        headers.append((b"retry-after", f"{retry_after_s:g}".encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _drop(send: Send) -> None:
    """End the exchange without a complete response: start one, send no body, return."""
    _dropping.set(True)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", _DROP_CONTENT_LENGTH),
            ],
        }
    )


class _DropLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (_dropping.get() and "without completing response" in str(record.msg))


_filter_lock = threading.Lock()


def _install_log_filter() -> None:
    logger = logging.getLogger("uvicorn.error")
    with _filter_lock:
        if not any(isinstance(f, _DropLogFilter) for f in logger.filters):
            logger.addFilter(_DropLogFilter())


class DelayedCheckpointFiles(CheckpointFiles):
    """CheckpointFiles that wait `delay_s` between writing a staging folder and renaming it into
    place (test only: a window in which to kill the server mid-checkpoint)."""

    def __init__(self, data_dir: Path, delay_s: float) -> None:
        super().__init__(data_dir)
        self.delay_s = delay_s

    def commit_dir(self, staging: Path, final: Path) -> int:
        log.warning("checkpoint_write_delay_s: holding %s for %.1fs", staging, self.delay_s)
        time.sleep(self.delay_s)
        return super().commit_dir(staging, final)


__all__ = [
    "ENV_VAR",
    "KINDS",
    "DelayedCheckpointFiles",
    "FaultInjector",
    "FaultMiddleware",
    "FaultSettings",
]

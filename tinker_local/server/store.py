"""Metadata persistence in SQLite (WAL): sessions, training runs, checkpoints, samplers, telemetry.

Writes go through one connection, serialised by a lock; every write is its own committed
transaction. Reads use one connection per thread (WAL readers never wait for a writer), so a
write that waits for a lock held by another process does not hold up reads. Every connection
waits at most `busy_timeout_s` for a lock, then raises sqlite3.OperationalError ("database is
locked"), which the server answers with 503. The server calls the store from worker threads,
never on its event loop. Times are stored as Unix seconds (float).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    created_at REAL NOT NULL,
    last_heartbeat REAL NOT NULL,
    tags TEXT NOT NULL,
    user_metadata TEXT,
    sdk_version TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user, created_at);
CREATE TABLE IF NOT EXISTS training_runs (
    run_id TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    session_id TEXT,
    base_model TEXT NOT NULL,
    lora_rank INTEGER,
    seed INTEGER,
    train_mlp INTEGER NOT NULL,
    train_attn INTEGER NOT NULL,
    train_unembed INTEGER NOT NULL,
    user_metadata TEXT,
    created_at REAL NOT NULL,
    last_request_time REAL NOT NULL,
    corrupted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS runs_user ON training_runs (user, created_at);
CREATE INDEX IF NOT EXISTS runs_session ON training_runs (session_id);
CREATE TABLE IF NOT EXISTS checkpoints (
    run_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    user TEXT NOT NULL,
    created_at REAL NOT NULL,
    size_bytes INTEGER,
    public INTEGER NOT NULL DEFAULT 0,
    nonce TEXT,
    PRIMARY KEY (run_id, kind, name)
);
CREATE INDEX IF NOT EXISTS checkpoints_user ON checkpoints (user, created_at);
CREATE TABLE IF NOT EXISTS samplers (
    sampler_id TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    session_id TEXT,
    sampling_session_seq_id INTEGER,
    base_model TEXT NOT NULL,
    model_path TEXT,
    weights_dir TEXT,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS samplers_session ON samplers (session_id);
CREATE TABLE IF NOT EXISTS session_finishes (
    session_id TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    detail TEXT,
    finished_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS checkpoint_extras (
    run_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    expires_at REAL,
    user_metadata TEXT,
    PRIMARY KEY (run_id, kind, name)
);
CREATE INDEX IF NOT EXISTS checkpoint_extras_expiry ON checkpoint_extras (expires_at);
CREATE TABLE IF NOT EXISTS session_sdk_headers (
    session_id TEXT PRIMARY KEY,
    sdk_version TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS session_labels (
    session_id TEXT PRIMARY KEY,
    project_id TEXT,
    display_name TEXT
);
CREATE INDEX IF NOT EXISTS session_labels_project ON session_labels (project_id);
CREATE TABLE IF NOT EXISTS weight_copies (
    user TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    tinker_path TEXT NOT NULL,
    PRIMARY KEY (user, idempotency_key)
);
CREATE TABLE IF NOT EXISTS telemetry (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user TEXT NOT NULL,
    session_id TEXT NOT NULL,
    platform TEXT NOT NULL,
    sdk_version TEXT NOT NULL,
    events TEXT NOT NULL,
    received_at REAL NOT NULL
);
"""

CHECKPOINT_KINDS = ("weights", "sampler_weights")

# A training run that any user may read: one of its checkpoints is published.
_PUBLISHED_RUN = "run_id IN (SELECT run_id FROM checkpoints WHERE public = 1)"


@dataclass(frozen=True)
class SessionRow:
    session_id: str
    user: str
    created_at: float
    last_heartbeat: float
    tags: list[str]
    user_metadata: dict[str, Any] | None
    sdk_version: str


@dataclass(frozen=True)
class RunRow:
    run_id: str
    user: str
    session_id: str | None
    base_model: str
    lora_rank: int | None
    seed: int | None
    train_mlp: bool
    train_attn: bool
    train_unembed: bool
    user_metadata: dict[str, Any] | None
    created_at: float
    last_request_time: float
    corrupted: bool = False

    @classmethod
    def new_model(
        cls,
        run_id: str,
        user: str,
        session_id: str | None,
        base_model: str,
        lora: Any,
        user_metadata: dict[str, Any] | None,
    ) -> RunRow:
        """The row of a model created now, with its LoRA settings (rank, seed, train_*)."""
        now = time.time()
        return cls(
            run_id=run_id,
            user=user,
            session_id=session_id,
            base_model=base_model,
            lora_rank=lora.rank,
            seed=lora.seed,
            train_mlp=lora.train_mlp,
            train_attn=lora.train_attn,
            train_unembed=lora.train_unembed,
            user_metadata=user_metadata,
            created_at=now,
            last_request_time=now,
        )


@dataclass(frozen=True)
class CheckpointRow:
    run_id: str
    kind: str  # "weights" | "sampler_weights"
    name: str
    user: str
    created_at: float
    size_bytes: int | None
    public: bool = False
    # Random, per creation: a checkpoint deleted and re-created under the same name is a
    # different checkpoint (archive download links name the one they were made for).
    nonce: str = ""

    @property
    def checkpoint_id(self) -> str:
        return f"{self.kind}/{self.name}"

    @property
    def tinker_path(self) -> str:
        return f"tinker://{self.run_id}/{self.kind}/{self.name}"


@dataclass(frozen=True)
class SamplerRow:
    sampler_id: str
    user: str
    session_id: str | None
    sampling_session_seq_id: int | None
    base_model: str
    model_path: str | None
    weights_dir: str | None  # ephemeral sampler weights (relative to data_dir), if any
    created_at: float


def _dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"))


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


class Store:
    """All metadata of one server data directory."""

    def __init__(self, path: str | Path, busy_timeout_s: float = 5.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.busy_timeout_s = busy_timeout_s
        self._lock = threading.RLock()  # the write connection's
        self._connections_lock = threading.Lock()  # never held while waiting for SQLite
        self._readers = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._db = self._connect()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)
        self._migrate()

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(
            self.path, timeout=self.busy_timeout_s, check_same_thread=False, isolation_level=None
        )
        db.row_factory = sqlite3.Row
        with self._connections_lock:
            self._connections.append(db)
        return db

    def _migrate(self) -> None:
        """Bring a data folder made by an older version up to date."""
        columns = {r["name"] for r in self._db.execute("PRAGMA table_info(checkpoints)")}
        with self._tx() as db:
            if "nonce" not in columns:
                db.execute("ALTER TABLE checkpoints ADD COLUMN nonce TEXT")
            db.execute(
                "UPDATE checkpoints SET nonce = lower(hex(randomblob(8))) WHERE nonce IS NULL"
            )

    def check_writable(self) -> None:
        """Raise (sqlite3 error) unless a write transaction can be committed."""
        with self._tx() as db:
            db.execute("PRAGMA user_version = 1")

    def close(self) -> None:
        with self._lock, self._connections_lock:
            for db in self._connections:
                db.close()
            self._connections.clear()

    def _reader(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._readers, "db", None)
        if db is None:
            db = self._readers.db = self._connect()
        return db

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._db.in_transaction:  # inside `transaction()`: its writes join the outer one
                yield self._db
                return
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                # sqlite may have rolled back already (e.g. after SQLITE_FULL): the original
                # error is the one to report.
                with suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
                raise

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """The writes of the store calls made inside (in this thread) commit together, or
        none does. Reads inside do not see them before the commit."""
        with self._tx():
            yield

    def _all(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        return list(self._reader().execute(sql, args).fetchall())

    def _one(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self._reader().execute(sql, args).fetchone()
        return row

    def _count(self, sql: str, args: tuple[Any, ...] = ()) -> int:
        row = self._one(sql, args)
        return int(row[0]) if row is not None else 0

    # -- sessions ---------------------------------------------------------------------------
    def create_session(self, row: SessionRow) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO sessions VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    row.session_id,
                    row.user,
                    row.created_at,
                    row.last_heartbeat,
                    json.dumps(row.tags),
                    _dumps(row.user_metadata),
                    row.sdk_version,
                ),
            )

    def get_session(self, session_id: str) -> SessionRow | None:
        r = self._one("SELECT * FROM sessions WHERE session_id = ?", (session_id,))
        if r is None:
            return None
        return SessionRow(
            session_id=r["session_id"],
            user=r["user"],
            created_at=r["created_at"],
            last_heartbeat=r["last_heartbeat"],
            tags=json.loads(r["tags"]),
            user_metadata=_loads(r["user_metadata"]),
            sdk_version=r["sdk_version"],
        )

    def heartbeat(self, session_id: str, now: float | None = None) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE sessions SET last_heartbeat = ? WHERE session_id = ?",
                (time.time() if now is None else now, session_id),
            )

    def list_sessions(
        self, user: str, limit: int, offset: int, *, accessible: bool = False
    ) -> tuple[list[str], int]:
        """The user's sessions, newest first; `accessible` adds the sessions holding a training
        run with a published checkpoint."""
        where = "user = ?"
        if accessible:
            where += (
                f" OR session_id IN (SELECT session_id FROM training_runs WHERE {_PUBLISHED_RUN})"
            )
        rows = self._all(
            f"SELECT session_id FROM sessions WHERE {where} "
            "ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?",
            (user, limit, offset),
        )
        total = self._count(f"SELECT COUNT(*) FROM sessions WHERE {where}", (user,))
        return [r["session_id"] for r in rows], total

    def session_has_published_run(self, session_id: str) -> bool:
        return (
            self._one(
                f"SELECT 1 FROM training_runs WHERE session_id = ? AND {_PUBLISHED_RUN}",
                (session_id,),
            )
            is not None
        )

    def set_session_labels(
        self, session_id: str, project_id: str | None, display_name: str | None
    ) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO session_labels VALUES (?, ?, ?)",
                (session_id, project_id, display_name),
            )

    def session_labels(self, session_id: str) -> tuple[str | None, str | None]:
        """(project_id, display_name) the session was created with."""
        r = self._one(
            "SELECT project_id, display_name FROM session_labels WHERE session_id = ?",
            (session_id,),
        )
        return (None, None) if r is None else (r["project_id"], r["display_name"])

    def session_contents(self, session_id: str) -> tuple[list[str], list[str]]:
        """(training run ids, sampler ids) created in the session, oldest first."""
        runs = self._all(
            "SELECT run_id FROM training_runs WHERE session_id = ? ORDER BY created_at, rowid",
            (session_id,),
        )
        samplers = self._all(
            "SELECT sampler_id FROM samplers WHERE session_id = ? ORDER BY created_at, rowid",
            (session_id,),
        )
        return [r["run_id"] for r in runs], [r["sampler_id"] for r in samplers]

    # -- training runs ----------------------------------------------------------------------
    def create_run(self, row: RunRow) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO training_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    row.run_id,
                    row.user,
                    row.session_id,
                    row.base_model,
                    row.lora_rank,
                    row.seed,
                    int(row.train_mlp),
                    int(row.train_attn),
                    int(row.train_unembed),
                    _dumps(row.user_metadata),
                    row.created_at,
                    row.last_request_time,
                    int(row.corrupted),
                ),
            )

    @staticmethod
    def _run(r: sqlite3.Row) -> RunRow:
        return RunRow(
            run_id=r["run_id"],
            user=r["user"],
            session_id=r["session_id"],
            base_model=r["base_model"],
            lora_rank=r["lora_rank"],
            seed=r["seed"],
            train_mlp=bool(r["train_mlp"]),
            train_attn=bool(r["train_attn"]),
            train_unembed=bool(r["train_unembed"]),
            user_metadata=_loads(r["user_metadata"]),
            created_at=r["created_at"],
            last_request_time=r["last_request_time"],
            corrupted=bool(r["corrupted"]),
        )

    def get_run(self, run_id: str) -> RunRow | None:
        r = self._one("SELECT * FROM training_runs WHERE run_id = ?", (run_id,))
        return None if r is None else self._run(r)

    def list_runs(
        self,
        user: str,
        limit: int,
        offset: int,
        *,
        accessible: bool = False,
        project_id: str | None = None,
    ) -> tuple[list[RunRow], int]:
        """The user's training runs, newest first; `accessible` adds runs with a published
        checkpoint; `project_id` keeps those created in a session of that project."""
        where = f"(user = ? OR {_PUBLISHED_RUN})" if accessible else "user = ?"
        args: tuple[Any, ...] = (user,)
        if project_id is not None:
            where += (
                " AND session_id IN (SELECT session_id FROM session_labels WHERE project_id = ?)"
            )
            args += (project_id,)
        rows = self._all(
            f"SELECT * FROM training_runs WHERE {where} "
            "ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?",
            (*args, limit, offset),
        )
        total = self._count(f"SELECT COUNT(*) FROM training_runs WHERE {where}", args)
        return [self._run(r) for r in rows], total

    def run_is_published(self, run_id: str) -> bool:
        """Whether any checkpoint of the run is public (so every user may read the run)."""
        return (
            self._one("SELECT 1 FROM checkpoints WHERE run_id = ? AND public = 1", (run_id,))
            is not None
        )

    def touch_run(self, run_id: str, now: float | None = None) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE training_runs SET last_request_time = ? WHERE run_id = ?",
                (time.time() if now is None else now, run_id),
            )

    def mark_run_corrupted(self, run_id: str, corrupted: bool = True) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE training_runs SET corrupted = ? WHERE run_id = ?", (int(corrupted), run_id)
            )

    # -- checkpoints ------------------------------------------------------------------------
    def add_checkpoint(self, row: CheckpointRow) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO checkpoints (run_id, kind, name, user, created_at, size_bytes, "
                "public, nonce) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    row.run_id,
                    row.kind,
                    row.name,
                    row.user,
                    row.created_at,
                    row.size_bytes,
                    int(row.public),
                    row.nonce,
                ),
            )

    @staticmethod
    def _checkpoint(r: sqlite3.Row) -> CheckpointRow:
        return CheckpointRow(
            run_id=r["run_id"],
            kind=r["kind"],
            name=r["name"],
            user=r["user"],
            created_at=r["created_at"],
            size_bytes=r["size_bytes"],
            public=bool(r["public"]),
            nonce=r["nonce"] or "",
        )

    def get_checkpoint(self, run_id: str, kind: str, name: str) -> CheckpointRow | None:
        r = self._one(
            "SELECT * FROM checkpoints WHERE run_id = ? AND kind = ? AND name = ?",
            (run_id, kind, name),
        )
        return None if r is None else self._checkpoint(r)

    def list_run_checkpoints(self, run_id: str) -> list[CheckpointRow]:
        """A run's checkpoints, oldest first."""
        rows = self._all(
            "SELECT * FROM checkpoints WHERE run_id = ? ORDER BY created_at, rowid", (run_id,)
        )
        return [self._checkpoint(r) for r in rows]

    def list_user_checkpoints(
        self, user: str, limit: int, offset: int
    ) -> tuple[list[CheckpointRow], int]:
        """All of a user's checkpoints across runs, newest first."""
        rows = self._all(
            "SELECT * FROM checkpoints WHERE user = ? "
            "ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?",
            (user, limit, offset),
        )
        total = self._count("SELECT COUNT(*) FROM checkpoints WHERE user = ?", (user,))
        return [self._checkpoint(r) for r in rows], total

    def all_checkpoints(self) -> list[CheckpointRow]:
        return [self._checkpoint(r) for r in self._all("SELECT * FROM checkpoints")]

    def last_checkpoint(self, run_id: str, kind: str) -> CheckpointRow | None:
        r = self._one(
            "SELECT * FROM checkpoints WHERE run_id = ? AND kind = ? "
            "ORDER BY created_at DESC, rowid DESC LIMIT 1",
            (run_id, kind),
        )
        return None if r is None else self._checkpoint(r)

    def count_checkpoints(self, run_id: str, kind: str) -> int:
        return self._count(
            "SELECT COUNT(*) FROM checkpoints WHERE run_id = ? AND kind = ?", (run_id, kind)
        )

    def set_checkpoint_public(self, run_id: str, kind: str, name: str, public: bool) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE checkpoints SET public = ? WHERE run_id = ? AND kind = ? AND name = ?",
                (int(public), run_id, kind, name),
            )

    def delete_checkpoint(self, run_id: str, kind: str, name: str) -> None:
        with self._tx() as db:
            db.execute(
                "DELETE FROM checkpoints WHERE run_id = ? AND kind = ? AND name = ?",
                (run_id, kind, name),
            )

    # -- samplers ---------------------------------------------------------------------------
    def create_sampler(self, row: SamplerRow) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO samplers VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    row.sampler_id,
                    row.user,
                    row.session_id,
                    row.sampling_session_seq_id,
                    row.base_model,
                    row.model_path,
                    row.weights_dir,
                    row.created_at,
                ),
            )

    @staticmethod
    def _sampler(r: sqlite3.Row) -> SamplerRow:
        return SamplerRow(
            sampler_id=r["sampler_id"],
            user=r["user"],
            session_id=r["session_id"],
            sampling_session_seq_id=r["sampling_session_seq_id"],
            base_model=r["base_model"],
            model_path=r["model_path"],
            weights_dir=r["weights_dir"],
            created_at=r["created_at"],
        )

    def get_sampler(self, sampler_id: str) -> SamplerRow | None:
        r = self._one("SELECT * FROM samplers WHERE sampler_id = ?", (sampler_id,))
        return None if r is None else self._sampler(r)

    def find_sampler(self, session_id: str, sampling_session_seq_id: int) -> SamplerRow | None:
        """The sampler a session already created under this seq id (idempotent creation)."""
        r = self._one(
            "SELECT * FROM samplers WHERE session_id = ? AND sampling_session_seq_id = ?",
            (session_id, sampling_session_seq_id),
        )
        return None if r is None else self._sampler(r)

    # -- telemetry --------------------------------------------------------------------------
    def add_telemetry(
        self, user: str, session_id: str, platform: str, sdk_version: str, events: list[Any]
    ) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO telemetry (user, session_id, platform, sdk_version, events, "
                "received_at) VALUES (?, ?, ?, ?, ?, ?)",
                (user, session_id, platform, sdk_version, json.dumps(events), time.time()),
            )

    def telemetry_batches(self) -> list[dict[str, Any]]:
        """Every stored telemetry batch, oldest first (for tests and debugging)."""
        return [
            {
                "user": r["user"],
                "session_id": r["session_id"],
                "platform": r["platform"],
                "sdk_version": r["sdk_version"],
                "events": json.loads(r["events"]),
                "received_at": r["received_at"],
            }
            for r in self._all("SELECT * FROM telemetry ORDER BY id")
        ]

    # -- protocol additions (SDK 0.18+): session ends, the SDK version header ------------------
    def finish_session(self, session_id: str, reason: str, detail: str | None, now: float) -> None:
        """Record how a session ended; the first reason wins."""
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO session_finishes VALUES (?, ?, ?, ?)",
                (session_id, reason, detail, now),
            )

    def session_finish(self, session_id: str) -> tuple[str, str | None, float] | None:
        """(reason, detail, finished_at) of a finished session, else None."""
        r = self._one("SELECT * FROM session_finishes WHERE session_id = ?", (session_id,))
        return None if r is None else (r["reason"], r["detail"], r["finished_at"])

    def set_session_sdk_header(self, session_id: str, sdk_version: str) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO session_sdk_headers VALUES (?, ?)",
                (session_id, sdk_version),
            )

    def session_sdk_header(self, session_id: str) -> str | None:
        """The `x-sdk-version` header that came with the session's creation, if any."""
        r = self._one(
            "SELECT sdk_version FROM session_sdk_headers WHERE session_id = ?", (session_id,)
        )
        return None if r is None else str(r["sdk_version"])

    # -- weight copies (SDK 0.38) ------------------------------------------------------------
    def record_copy(self, user: str, idempotency_key: str, tinker_path: str) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO weight_copies VALUES (?, ?, ?)",
                (user, idempotency_key, tinker_path),
            )

    def copied_path(self, user: str, idempotency_key: str) -> str | None:
        """The path of the copy an earlier request with this idempotency key made."""
        r = self._one(
            "SELECT tinker_path FROM weight_copies WHERE user = ? AND idempotency_key = ?",
            (user, idempotency_key),
        )
        return None if r is None else str(r["tinker_path"])

    # -- checkpoint TTLs and metadata (SDK 0.38) --------------------------------------------
    def set_checkpoint_extras(
        self,
        run_id: str,
        kind: str,
        name: str,
        expires_at: float | None,
        user_metadata: dict[str, str] | None,
    ) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO checkpoint_extras VALUES (?, ?, ?, ?, ?)",
                (run_id, kind, name, expires_at, _dumps(user_metadata)),
            )

    def set_checkpoint_expiry(
        self, run_id: str, kind: str, name: str, expires_at: float | None
    ) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO checkpoint_extras VALUES (?, ?, ?, NULL, NULL)",
                (run_id, kind, name),
            )
            db.execute(
                "UPDATE checkpoint_extras SET expires_at = ? "
                "WHERE run_id = ? AND kind = ? AND name = ?",
                (expires_at, run_id, kind, name),
            )

    def checkpoint_extras(
        self, run_id: str, kind: str, name: str
    ) -> tuple[float | None, dict[str, str] | None]:
        """(expires_at, user_metadata) of a checkpoint; (None, None) when it has neither."""
        r = self._one(
            "SELECT expires_at, user_metadata FROM checkpoint_extras "
            "WHERE run_id = ? AND kind = ? AND name = ?",
            (run_id, kind, name),
        )
        return (None, None) if r is None else (r["expires_at"], _loads(r["user_metadata"]))

    def expired_checkpoint_keys(self, now: float) -> list[tuple[str, str, str]]:
        rows = self._all(
            "SELECT run_id, kind, name FROM checkpoint_extras "
            "WHERE expires_at IS NOT NULL AND expires_at <= ?",
            (now,),
        )
        return [(r["run_id"], r["kind"], r["name"]) for r in rows]

    def forget_checkpoint_extras(self, run_id: str, kind: str, name: str) -> None:
        with self._tx() as db:
            db.execute(
                "DELETE FROM checkpoint_extras WHERE run_id = ? AND kind = ? AND name = ?",
                (run_id, kind, name),
            )

"""Finding 5: store writes ran on the event loop with SQLite's default 5 s busy timeout, so
another process holding `BEGIN IMMEDIATE` on the database stalled everything, healthz
included, and then gave 500s.

Now every store call runs in a store thread (the event loop never waits for the disk or a
lock), with a configurable busy timeout; a write that times out answers 503 + Retry-After
saying the database is locked. Reads go on (WAL readers do not wait for writers). The lock
is held by a real second process."""

from __future__ import annotations

import subprocess
import sys
import threading
from typing import Any

import httpx
import pytest

_HOLD_LOCK = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
db.execute("ROLLBACK")
"""


@pytest.fixture(scope="module")
def hardening_options() -> dict[str, Any]:
    return {"store_busy_timeout_s": 0.2}


def _new_session(api: Any) -> httpx.Response:
    body = {"tags": [], "sdk_version": "t", "user_metadata": None}
    response: httpx.Response = api.post("/api/v1/create_session", body)
    return response


def test_a_write_against_a_held_lock_is_a_503_with_retry_after(
    api: Any, hardened_server: Any
) -> None:
    session_id = api.session()
    with _lock(hardened_server) as holder:
        answer = _new_session(api)
        assert answer.status_code == 503, answer.text
        assert int(answer.headers["Retry-After"]) >= 1
        assert "database is locked" in answer.json()["error"]
        # Reads go on, and so does the health check.
        assert api.get(f"/api/v1/sessions/{session_id}").status_code == 200
        assert api.get("/api/v1/healthz").status_code == 200
    assert holder.returncode == 0
    assert _new_session(api).status_code == 200  # the lock is gone: writes work again


def test_a_write_waiting_for_the_lock_does_not_hold_up_the_server(
    tmp_path: Any, raw_api: Any, key: str
) -> None:
    """With a long busy timeout the write waits for the lock; meanwhile healthz and reads
    are answered (the write is still waiting when they are), and the write then succeeds."""
    from tinker_local.launcher import serve_local

    with serve_local(tmp_path, api_keys=[key], compute="none", store_busy_timeout_s=120) as srv:
        api = raw_api(srv.url, key)
        session_id = api.session()
        answers: list[httpx.Response] = []
        with _lock(srv):
            writer = threading.Thread(target=lambda: answers.append(_new_session(api)))
            writer.start()
            with httpx.Client(base_url=srv.url, timeout=60) as http:
                for _ in range(5):
                    assert http.get("/api/v1/healthz").status_code == 200
                got = http.get(f"/api/v1/sessions/{session_id}", headers=api.http.headers)
                assert got.status_code == 200
            assert writer.is_alive() and not answers  # still waiting for the lock
        writer.join(timeout=60)
        api.close()
    assert answers and answers[0].status_code == 200, answers


class _lock:
    """A second process holding `BEGIN IMMEDIATE` on the server's database."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.holder: subprocess.Popen[str] | None = None

    def __enter__(self) -> subprocess.Popen[str]:
        self.holder = subprocess.Popen(
            [sys.executable, "-c", _HOLD_LOCK, str(self.server.store.path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.holder.stdout is not None
        assert self.holder.stdout.readline().strip() == "locked"
        return self.holder

    def __exit__(self, *exc: object) -> None:
        assert self.holder is not None and self.holder.stdin is not None
        self.holder.stdin.close()
        self.holder.wait(timeout=30)

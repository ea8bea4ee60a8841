"""Finding 7: on a read-only data folder the server started healthy and answered every write
with 500; error messages showed absolute server paths.

Now start-up checks that the data folder takes files and the database takes a write, and
fails with a message saying what to fix (the command line prints it and exits 2); a folder
that turns read-only later answers 503 saying so; and no message to a client carries a server
path. The tests run as root, where permissions do not stop writes, so "read-only" is
injected: the probe write and SQLite's writes fail as a read-only file system does."""

from __future__ import annotations

import errno
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tinker_local.server.conditions import scrub_paths
from tinker_local.server.config import ServerConfig
from tinker_local.server.state import Backend, DataDirError


def _read_only_fs(monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> None:
    real_open = os.open

    def refusing_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if str(path).startswith(str(data_dir)) and flags & (os.O_WRONLY | os.O_RDWR):
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", refusing_open)


def test_a_read_only_data_folder_fails_start_up_clearly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _read_only_fs(monkeypatch, tmp_path)
    with pytest.raises(DataDirError, match=r"is not writable \(Read-only file system\)") as caught:
        Backend(ServerConfig(data_dir=tmp_path, api_keys=["tml-k"], compute="none"))
    assert "--data-dir" in str(caught.value)


def test_a_database_that_cannot_be_written_fails_start_up_clearly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def read_only(self: Any) -> None:
        raise sqlite3.OperationalError("attempt to write a readonly database")

    from tinker_local.server.store import Store

    monkeypatch.setattr(Store, "check_writable", read_only)
    with pytest.raises(DataDirError, match=r"cannot be written \(the server.s data folder is not"):
        Backend(ServerConfig(data_dir=tmp_path, api_keys=["tml-k"], compute="none"))


def test_the_command_line_reports_an_unusable_data_folder_and_exits_2(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    done = subprocess.run(
        [sys.executable, "-m", "tinker_local", "serve", "--port", "0", "--data-dir",
         str(not_a_folder), "--api-key", "tml-cli-key"],
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "error: data folder" in done.stderr and "Traceback" not in done.stderr


def test_a_folder_that_turns_read_only_later_answers_503_saying_so(
    api: Any, hardened_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    @contextmanager
    def read_only_tx() -> Iterator[sqlite3.Connection]:
        raise sqlite3.OperationalError("attempt to write a readonly database")
        yield  # pragma: no cover

    monkeypatch.setattr(hardened_server.store, "_tx", read_only_tx)
    answer = api.post(
        "/api/v1/create_session", {"tags": [], "sdk_version": "t", "user_metadata": None}
    )
    assert answer.status_code == 503 and "Retry-After" in answer.headers
    assert "data folder is not writable" in answer.json()["error"]


def test_no_message_to_a_client_carries_a_server_path(
    api: Any, hardened_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    model_id = api.model()
    data_dir = str(hardened_server.data_dir)

    def broken(trainer: Any, folder: Path) -> None:
        raise OSError(errno.EIO, "Input/output error", str(folder / "state.bin"))

    monkeypatch.setattr(hardened_server.backend.compute, "save_training_state", broken)
    failed = api.result(api.submit("/api/v1/save_weights", {"model_id": model_id, "path": "p"}))
    assert failed["category"] == "server" and "Input/output error" in failed["error"]
    assert data_dir not in failed["error"] and "state.bin" not in failed["error"]
    assert scrub_paths("open /srv/data/x.bin failed; see /api/v1/healthz") == (
        "open <server path> failed; see /api/v1/healthz"
    )
    assert scrub_paths("tinker://run/weights/name") == "tinker://run/weights/name"

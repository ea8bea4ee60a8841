"""Finding 4: on a full disk delete_checkpoint deleted the SQLite row first, whose WAL append
failed, so a user could not free space through the API (every DELETE a 500); create_session,
heartbeat and telemetry answered 500 "internal server error".

Now a delete removes the files first (which needs no space and frees some), then the row; and
storage failures the server cannot help answer 503 + Retry-After with a message saying the disk
is full (the client retries, and tells its user). The disk is "filled" by fault injection:
every store write fails with SQLite's disk-full error until files were deleted, and file
writes fail with ENOSPC."""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

import tinker_hl as tinker


class FullDisk:
    """Store writes fail with SQLITE_FULL while `full`; deleting a folder frees space."""

    def __init__(self, backend: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.full = True
        self.refused_writes = 0
        store, files = backend.store, backend.files
        real_tx, real_remove = store._tx, files.remove_dir

        @contextmanager
        def tx() -> Iterator[sqlite3.Connection]:
            if self.full:
                self.refused_writes += 1
                raise sqlite3.OperationalError("database or disk is full")
            with real_tx() as db:
                yield db

        def remove_dir(path: Path) -> None:
            existed = path.exists()
            real_remove(path)
            if existed:
                self.full = False

        monkeypatch.setattr(store, "_tx", tx)
        monkeypatch.setattr(files, "remove_dir", remove_dir)


@pytest.fixture
def full_disk(hardened_server: Any, monkeypatch: pytest.MonkeyPatch) -> FullDisk:
    return FullDisk(hardened_server.backend, monkeypatch)


def _ckpt(model_id: str, name: str) -> str:
    return f"/api/v1/training_runs/{model_id}/checkpoints/weights/{name}"


@pytest.fixture
def saved(api: Any) -> tuple[str, str]:
    model_id = api.model()
    api.done("/api/v1/save_weights", {"model_id": model_id, "path": "big"})
    return model_id, "big"


def test_a_delete_works_on_a_full_disk(
    api: Any, hardened_server: Any, saved: tuple[str, str], request: pytest.FixtureRequest
) -> None:
    model_id, name = saved
    folder = hardened_server.backend.files.final_dir(model_id, "weights", name)
    assert folder.is_dir()
    disk = request.getfixturevalue("full_disk")
    assert api.delete(_ckpt(model_id, name)).status_code == 204
    assert disk.refused_writes == 0 and not disk.full  # the files went first, freeing space
    assert not folder.exists()
    assert hardened_server.store.get_checkpoint(model_id, "weights", name) is None
    listed = api.get(f"/api/v1/training_runs/{model_id}/checkpoints").json()["checkpoints"]
    assert listed == []


def test_writes_on_a_full_disk_are_a_503_with_retry_after_saying_so(
    api: Any, full_disk: FullDisk
) -> None:
    session_id = "any-session"
    attempts = [
        ("/api/v1/create_session", {"tags": [], "sdk_version": "t", "user_metadata": None}),
        ("/api/v1/telemetry", {"session_id": session_id, "platform": "t", "sdk_version": "t",
                               "events": []}),
    ]  # fmt: skip
    for path, body in attempts:
        answer = api.post(path, body)
        assert answer.status_code == 503, (path, answer.text)
        assert int(answer.headers["Retry-After"]) >= 1
        assert "disk is full" in answer.json()["error"]
    assert full_disk.refused_writes == len(attempts)


def test_a_heartbeat_on_a_full_disk_is_a_503(
    api: Any, hardened_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    session_id = api.session()
    FullDisk(hardened_server.backend, monkeypatch)
    answer = api.post("/api/v1/session_heartbeat", {"session_id": session_id})
    assert answer.status_code == 503 and "disk is full" in answer.json()["error"]


def test_a_save_that_runs_out_of_space_fails_saying_so_without_a_path(
    api: Any, hardened_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    model_id = api.model()
    data_dir = str(hardened_server.data_dir)

    def no_space(trainer: Any, folder: Path) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(folder / "state.bin"))

    monkeypatch.setattr(hardened_server.backend.compute, "save_training_state", no_space)
    failed = api.result(api.submit("/api/v1/save_weights", {"model_id": model_id, "path": "x"}))
    assert failed["category"] == "server" and "disk is full" in failed["error"]
    assert data_dir not in failed["error"]
    monkeypatch.undo()
    # Nothing half-written was kept: the name is free and the save works once there is space.
    assert api.done("/api/v1/save_weights", {"model_id": model_id, "path": "x"})["path"]


def test_the_client_retries_a_full_disk_until_space_is_freed(
    hardened_server: Any, monkeypatch: pytest.MonkeyPatch, fast_retry: Any, key: str
) -> None:
    """tinker_hl treats the 503 as retryable: a session created while the disk is full
    succeeds once space was freed (here: after two refused attempts)."""
    disk = FullDisk(hardened_server.backend, monkeypatch)
    real_tx = disk.refused_writes

    original_tx = hardened_server.store._tx

    @contextmanager
    def tx() -> Iterator[sqlite3.Connection]:
        if disk.refused_writes - real_tx >= 2:
            disk.full = False
        with original_tx() as db:
            yield db

    monkeypatch.setattr(hardened_server.store, "_tx", tx)
    with tinker.ServiceClient(
        api_key=key, base_url=hardened_server.url, retry_config=fast_retry
    ) as service:
        assert service.holder.session_id
    assert disk.refused_writes >= 2

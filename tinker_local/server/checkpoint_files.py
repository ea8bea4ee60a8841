"""On-disk checkpoint folders: atomic creation, deletion, start-up reconciliation, tar streaming.

Layout: `<data_dir>/checkpoints/<run_id>/<kind>/<name>/` (kind: weights | sampler_weights) and
`<data_dir>/samplers/<sampler_id>/` for the weights of ephemeral samplers. A folder is written
under a `.tmp-*` name, fsynced, then renamed into place; the SQLite row is committed only after
the rename, so a listed checkpoint always has its complete folder. At start-up, rows whose
folder is missing are dropped and folders without a row (a crash between rename and commit, or
a half-written temp folder) are deleted.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from tinker_api_client.limits import CHECKPOINT_NAME_PATTERN

from ..engine.checkpoints import fsync_path
from .errors import UserError, shown
from .store import CHECKPOINT_KINDS, Store

log = logging.getLogger(__name__)

_NAME_RE = re.compile(CHECKPOINT_NAME_PATTERN)  # openapi.yaml: the client checks the same


def validate_checkpoint_name(name: str, field: str = "path") -> str:
    """A checkpoint name is one safe path segment; anything else is the caller's mistake."""
    if not isinstance(name, str) or not name:
        raise UserError(f"{field}: checkpoint name must be a non-empty string")
    if "/" in name or "\\" in name or name in (".", ".."):
        raise UserError(
            f"{field}: checkpoint name {shown(name)} must not contain slashes or be . / .."
        )
    if not _NAME_RE.fullmatch(name):
        raise UserError(
            f"{field}: checkpoint name {shown(name)} must be 1-128 characters of letters, digits, "
            "'.', '_' or '-', starting with a letter or digit"
        )
    return name


def _dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


class CheckpointFiles:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.root = self.data_dir / "checkpoints"
        self.sampler_root = self.data_dir / "samplers"
        self.root.mkdir(parents=True, exist_ok=True)
        self.sampler_root.mkdir(parents=True, exist_ok=True)

    def final_dir(self, run_id: str, kind: str, name: str) -> Path:
        return self.root / run_id / kind / name

    def sampler_dir(self, sampler_id: str) -> Path:
        return self.sampler_root / sampler_id

    def new_staging_dir(self, parent: Path) -> Path:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = parent / f".tmp-{uuid.uuid4().hex}"
        tmp.mkdir()
        return tmp

    def commit_dir(self, staging: Path, final: Path) -> int:
        """fsync the staged files, rename the folder into place; return its size in bytes."""
        try:
            for path in staging.rglob("*"):
                if path.is_file():
                    fsync_path(path)
            fsync_path(staging)
            if final.exists():
                raise UserError(f"path: a checkpoint named {final.name!r} already exists")
            os.rename(staging, final)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        fsync_path(final.parent)
        return _dir_size(final)

    def remove_new_run_dir(self, run_id: str) -> None:
        """Delete the folders of a run whose creation failed (nothing else is in them)."""
        run_dir = self.root / run_id
        if run_dir.parent == self.root and run_dir.is_dir():  # (a run id is one segment)
            self.remove_dir(run_dir)

    def remove_dir(self, path: Path) -> None:
        """Delete a folder: renamed out of the way first, so it vanishes atomically."""
        if not path.exists():
            return
        trash = path.parent / f".trash-{uuid.uuid4().hex}"
        os.rename(path, trash)
        fsync_path(path.parent)
        shutil.rmtree(trash, ignore_errors=True)

    def reconcile(self, store: Store) -> tuple[int, int]:
        """Drop rows without folders and folders without rows; return (rows, folders) removed."""
        rows = store.all_checkpoints()
        known = {(r.run_id, r.kind, r.name) for r in rows}
        dropped = 0
        for r in rows:
            folder = self.final_dir(r.run_id, r.kind, r.name)
            if not folder.is_dir() or not any(folder.iterdir()):
                log.warning("dropping checkpoint %s: its folder is missing", r.tinker_path)
                store.delete_checkpoint(r.run_id, r.kind, r.name)
                dropped += 1
        removed = 0
        for run_dir in [p for p in self.root.iterdir() if p.is_dir()]:
            for kind_dir in [p for p in run_dir.iterdir() if p.is_dir()]:
                for folder in [p for p in kind_dir.iterdir() if p.is_dir()]:
                    if kind_dir.name in CHECKPOINT_KINDS and (
                        (run_dir.name, kind_dir.name, folder.name) in known
                    ):
                        continue
                    log.warning("deleting checkpoint folder without a record: %s", folder)
                    shutil.rmtree(folder, ignore_errors=True)
                    removed += 1
        for folder in [p for p in self.sampler_root.iterdir() if p.is_dir()]:
            if folder.name.startswith(".") or store.get_sampler(folder.name) is None:
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
        return dropped, removed

    def iter_tar(self, folder: Path, arcname: str) -> Iterator[bytes]:
        """Stream an uncompressed tar of `folder` (entries under `arcname/`) in chunks."""
        sink = _ChunkSink()
        with tarfile.open(fileobj=sink, mode="w|", format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
            tar.add(folder, arcname=arcname, recursive=False)
            for path in sorted(folder.rglob("*")):
                tar.add(path, arcname=f"{arcname}/{path.relative_to(folder)}", recursive=False)
                if chunk := sink.drain():
                    yield chunk
        if chunk := sink.drain():
            yield chunk


class _ChunkSink:
    """A write-only file object collecting what tarfile writes, drained between entries."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def drain(self) -> bytes:
        out = b"".join(self._parts)
        self._parts.clear()
        return out

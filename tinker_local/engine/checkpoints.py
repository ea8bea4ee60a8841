"""Atomic safetensors checkpoint files.

A checkpoint is written to a temporary file in the destination directory, fsynced, then renamed
over the final name (and the directory fsynced), so a crash or kill -9 at any point leaves
either the old file or the complete new one, never a torn file under the final name.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import tempfile
from collections.abc import Mapping
from typing import Literal

import torch

from .errors import UserInputError
from .models import LoraSpec


def save_tensors(
    path: str | pathlib.Path,
    tensors: Mapping[str, torch.Tensor],
    metadata: Mapping[str, str] | None = None,
) -> pathlib.Path:
    """Atomically write `tensors` (+ str->str `metadata`) as a safetensors file at `path`."""
    from safetensors.torch import save

    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # safetensors refuses shared/non-contiguous storage; checkpoints are small, so just copy.
    payload = save(
        {k: t.detach().contiguous().clone() for k, t in tensors.items()},
        metadata=dict(metadata or {}),
    )
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    fsync_path(path.parent)
    return path


def fsync_path(path: pathlib.Path) -> None:
    """fsync a file or (best effort) a directory."""
    flags = os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() and hasattr(os, "O_DIRECTORY") else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def load_tensors(path: str | pathlib.Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Read a safetensors file written by `save_tensors`: (tensors, metadata)."""
    from safetensors import SafetensorError, safe_open

    path = pathlib.Path(path)
    if not path.is_file():
        raise UserInputError(f"checkpoint: no checkpoint file at {str(path)!r}")
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = dict(f.metadata() or {})
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (not a dict)
    except SafetensorError as e:
        raise UserInputError(f"checkpoint: {str(path)!r} is not a valid checkpoint ({e})") from e
    return tensors, metadata


# -- LoRA checkpoints: tensors plus the LoraSpec needed to rebuild the model ----------------------

CheckpointKind = Literal["adapter", "state"]
_FORMATS: dict[str, str] = {
    "adapter": "tinker-local/lora-adapter/v1",  # LoraTrainer.adapter_tensors(): for samplers
    "state": "tinker-local/training-state/v1",  # LoraTrainer.state_tensors(): to resume training
}


def save_lora_checkpoint(
    path: str | pathlib.Path,
    spec: LoraSpec,
    tensors: Mapping[str, torch.Tensor],
    kind: CheckpointKind,
    metadata: Mapping[str, str] | None = None,
) -> pathlib.Path:
    """Atomically save adapter weights or a training state with its LoraSpec in the header."""
    header = {**dict(metadata or {}), **spec.to_metadata(), "format": _FORMATS[kind]}
    return save_tensors(path, tensors, header)


def load_lora_checkpoint(
    path: str | pathlib.Path, kind: CheckpointKind | None = None
) -> tuple[LoraSpec, dict[str, torch.Tensor], dict[str, str]]:
    """Load a `save_lora_checkpoint` file: (spec, tensors, metadata); checks `kind` if given.

    Rebuild with `Sampler(spec.base_model, tensors, spec)` or
    `LoraTrainer(spec.base_model, spec.rank, ...).load_state_tensors(tensors)`.
    """
    tensors, metadata = load_tensors(path)
    found = {v: k for k, v in _FORMATS.items()}.get(metadata.get("format", ""))
    if found is None:
        raise UserInputError(f"checkpoint: {str(path)!r} is not a LoRA checkpoint of this server")
    if kind is not None and found != kind:
        what = {"adapter": "sampler weights", "state": "a training state"}
        raise UserInputError(
            f"checkpoint: {str(path)!r} holds {what[found]}, expected {what[kind]}"
        )
    return LoraSpec.from_metadata(metadata), tensors, metadata

"""Export a local-backend checkpoint as a standard peft adapter folder, or as a merged
transformers model, so it runs anywhere.

    export_checkpoint("ckpt.tar", "out/")               # adapter_config.json + safetensors
    export_checkpoint("ckpt.tar", "out/", merge=True)   # AutoModelForCausalLM.from_pretrained

The source is a checkpoint archive (as downloaded with `tinker-hl checkpoints download`) or its
extracted folder. Only the local backend's own models can be exported: their base weights are
rebuilt on this machine from the presets.
"""

from __future__ import annotations

import json
import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from .server.compute import ADAPTER_FILE, STATE_FILE


class ExportError(ValueError):
    """The source is not an exportable checkpoint."""


def _find_checkpoint_file(folder: Path) -> Path:
    for name in (ADAPTER_FILE, STATE_FILE):
        found = sorted(folder.rglob(name))
        if found:
            return found[0]
    raise ExportError(f"{folder}: no {ADAPTER_FILE} or {STATE_FILE} inside; not a checkpoint")


def _safe_extract(archive: Path, dest: Path) -> None:
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")  # refuses absolute paths and `..`


def load_checkpoint_adapter(source: str | Path) -> tuple[Any, dict[str, Any]]:
    """(LoraSpec, adapter tensors keyed like a peft adapter file) from an archive or folder."""
    from .engine import UserInputError, load_lora_checkpoint
    from .engine.trainer import adapter_from_state

    source = Path(source)
    if not source.exists():
        raise ExportError(f"{source}: no such file or folder")
    with tempfile.TemporaryDirectory() as tmp:
        folder = source
        if source.is_file():
            try:
                _safe_extract(source, Path(tmp))
            except tarfile.TarError as exc:
                raise ExportError(f"{source}: not a checkpoint archive ({exc})") from exc
            folder = Path(tmp)
        path = _find_checkpoint_file(folder)
        try:
            spec, tensors, _ = load_lora_checkpoint(path)
        except UserInputError as exc:
            raise ExportError(str(exc)) from exc
    if path.name == STATE_FILE:
        tensors = adapter_from_state(tensors)
    return spec, tensors


def export_checkpoint(source: str | Path, out_dir: str | Path, *, merge: bool = False) -> Path:
    """Write `out_dir` as a peft adapter folder (default) or a merged transformers model."""
    from safetensors.torch import save_file

    from .engine import save_base_model, save_merged_model
    from .engine.models import LORA_ALPHA

    spec, adapter = load_checkpoint_adapter(source)
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise ExportError(f"{out}: exists and is not empty")
    staging = Path(
        tempfile.mkdtemp(prefix=".export-", dir=out.parent if out.parent.exists() else None)
    )
    try:
        if merge:
            save_merged_model(spec, adapter, staging)
        else:
            config = {
                "peft_type": "LORA",
                "task_type": "CAUSAL_LM",
                "r": spec.rank,
                "lora_alpha": LORA_ALPHA,
                "lora_dropout": 0.0,
                "bias": "none",
                "target_modules": sorted(spec.target_modules()),
                "base_model_name_or_path": spec.base_model,
                "inference_mode": True,
            }
            (staging / "adapter_config.json").write_text(json.dumps(config, indent=2) + "\n")
            tensors = {k: v.detach().contiguous() for k, v in adapter.items()}
            save_file(tensors, str(staging / "adapter_model.safetensors"), {"format": "pt"})
            # The base model beside the adapter, so that peft can load it offline.
            save_base_model(spec.base_model, staging / "base_model")
        if out.exists():
            out.rmdir()
        shutil.move(str(staging), str(out))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out

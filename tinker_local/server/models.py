"""In-memory handles of the models (training runs) this server process has loaded."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from .compute import LoraArgs

ModelStatus = Literal["creating", "ready", "failed", "unloaded"]


@dataclass
class ModelHandle:
    model_id: str
    user: str
    base_model: str
    lora: LoraArgs | None
    session_id: str | None
    user_metadata: dict[str, Any] | None
    status: ModelStatus = "creating"
    trainer: Any = None
    failure: str | None = None

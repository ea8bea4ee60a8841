"""In-memory handles of the models (training runs) this server process has loaded."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
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
    # When a request last used the model (Unix time): a model in use is never reaped.
    last_used: float = field(default_factory=time.time)

    @property
    def holds_memory(self) -> bool:
        """Being created or ready: counts against its user's caps until freed."""
        return self.status in ("creating", "ready")

    @property
    def rank(self) -> int:
        return self.lora.rank if self.lora is not None else 0

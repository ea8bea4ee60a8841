"""Server configuration and the API-key -> user mapping."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from .fault_settings import FaultSettings

API_KEY_PREFIX = "tml-"
ComputeMode = Literal["torch", "none"]


def generate_dev_key() -> str:
    """A fresh development API key (`tml-dev-...`)."""
    return f"{API_KEY_PREFIX}dev-{secrets.token_hex(16)}"


def user_id_for_key(api_key: str) -> str:
    """The stable user id that owns everything created with `api_key` (same key => same user)."""
    return "user-" + hashlib.sha256(api_key.encode()).hexdigest()[:16]


@dataclass
class ServerConfig:
    """Everything `create_app` needs. Times are in seconds."""

    data_dir: Path
    api_keys: list[str] = field(default_factory=list)
    host: str = "127.0.0.1"
    port: int = 8000
    session_ttl_s: float = 120.0
    long_poll_s: float = 5.0
    compute: ComputeMode = "torch"
    result_ttl_s: float = 600.0
    # Undelivered results are dropped after this long (a client that never polls again).
    undelivered_ttl_s: float = 24 * 3600.0
    # How long a model's queue waits for a missing seq_id before running the next one.
    seq_gap_timeout_s: float = 120.0
    # Samplers (built models) kept in memory, least recently used evicted first.
    sampler_cache_size: int = 4
    # Lifetime of a signed archive download URL.
    archive_url_ttl_s: float = 15 * 60.0
    # Fault injection (tests and chaos drills; off by default): see faults.py. `fault_kinds`
    # and `fault_paths` are comma-separated ("" = all kinds / all paths but /healthz).
    fault_rate: float = 0.0
    fault_kinds: str = ""
    fault_seed: int = 0
    fault_paths: str = ""
    fault_delay_s: float = 1.0
    fault_retry_after_s: float = 1.0
    fault_limit: int = 0
    # JWT mode (`serve --jwt`): API keys are exchanged at auth/token for signed tokens that
    # expire after jwt_ttl_s; off by default (API keys are then used as they are).
    jwt: bool = False
    jwt_ttl_s: float = 3600.0
    # Test only: sleep between writing a checkpoint's staging folder and renaming it into place.
    checkpoint_write_delay_s: float = 0.0
    # Real models served besides the presets: "NAME" (from the Hugging Face cache, offline) or
    # "NAME=PATH" (a save_pretrained folder). See tinker_local/engine/hf_models.py.
    models: list[str] = field(default_factory=list)
    # Where the torch engine computes: auto|cpu|cuda|mps, auto|float32|bfloat16|float16, and
    # torch's CPU threads (None: half the cores, at most 8).
    device: str = "auto"
    dtype: str = "auto"
    threads: int | None = None
    # A forward(_backward) larger than this (rows x longest datum) runs in slices of at most
    # this size, handing the compute turn to other users' work between them.
    slice_tokens: int = 8192
    # -- limits: what one request or one user may take (answers 4xx beyond them) --
    # Request bodies larger than this are refused with 413 before they are read in full.
    max_request_bytes: int = 64 * 1024 * 1024
    # JSON nested deeper than this is refused with 400 (deep nesting exhausts recursion).
    max_json_depth: int = 64
    # Input tokens of one forward/forward_backward request (all datums), or one prompt.
    max_tokens_per_request: int = 1024 * 1024
    # Models (LoRA training clients) one user may hold loaded at once, and their total rank.
    max_models_per_user: int = 32
    max_lora_rank: int = 1024
    max_total_rank_per_user: int = 2048
    # How often expired or ended sessions are looked for (their models are then freed).
    session_reap_interval_s: float = 5.0
    # -- the metadata store --
    # How long a write waits for a database lock held elsewhere before answering 503.
    store_busy_timeout_s: float = 2.0
    # Retry-After of the 503s for what the server cannot help (disk full, database locked).
    unavailable_retry_after_s: float = 1.0

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir)
        self.api_keys = list(self.api_keys)
        for key in self.api_keys:
            if not key.startswith(API_KEY_PREFIX) or len(key) <= len(API_KEY_PREFIX):
                raise ValueError(
                    f"API keys must start with {API_KEY_PREFIX!r}: got a key starting {key[:4]!r}"
                )
        if self.compute not in ("torch", "none"):
            raise ValueError(f"compute must be 'torch' or 'none', got {self.compute!r}")
        if self.long_poll_s <= 0:
            raise ValueError("long_poll_s must be positive")
        self.models = [self.models] if isinstance(self.models, str) else list(self.models)
        if self.threads is not None and (
            isinstance(self.threads, bool) or not isinstance(self.threads, int) or self.threads < 1
        ):
            raise ValueError(f"threads must be an integer >= 1, got {self.threads!r}")
        if self.checkpoint_write_delay_s < 0:
            raise ValueError("checkpoint_write_delay_s must be >= 0")
        for name in (
            "max_request_bytes",
            "max_json_depth",
            "max_tokens_per_request",
            "max_models_per_user",
            "max_lora_rank",
            "max_total_rank_per_user",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("session_reap_interval_s", "store_busy_timeout_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.unavailable_retry_after_s < 0:
            raise ValueError("unavailable_retry_after_s must be >= 0")
        FaultSettings.from_fields(self)  # raises ValueError on bad fault_* values

    def users_by_key(self) -> dict[str, str]:
        return {key: user_id_for_key(key) for key in self.api_keys}

"""Registry of the served models: small Llama/Qwen3 configurations built in code (the presets),
plus real Hugging Face models registered at start-up (`hf_models.register_model`).

Every preset uses the byte-level tokenizer from `tinker_hl.local_tokenizers`, so the vocabulary
is exactly 259 tokens (256 bytes + bos/eos/pad) and no sampled id can fall outside it. A
registered model carries its folder (`path`) and uses its own tokenizer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from tinker_hl.local_tokenizers import (
    BOS_TOKEN_ID,
    BYTE_TOKENIZER_ID,
    BYTE_VOCAB_SIZE,
    EOS_TOKEN_ID,
    PAD_TOKEN_ID,
)

from .errors import UserInputError

# The presets' architectures; a registered model's `arch` is its config's `model_type`.
Arch = Literal["llama", "qwen3"]


@dataclass(frozen=True)
class ModelPreset:
    """Everything needed to build a base model deterministically."""

    name: str
    arch: str
    hidden_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    intermediate_size: int
    max_position_embeddings: int
    tie_word_embeddings: bool = True
    tokenizer_id: str = BYTE_TOKENIZER_ID
    init_seed: int = 0
    vocab_size: int = BYTE_VOCAB_SIZE
    bos_token_id: int = BOS_TOKEN_ID
    eos_token_id: int = EOS_TOKEN_ID
    pad_token_id: int = PAD_TOKEN_ID
    # A `save_pretrained` folder (weights, config, tokenizer): a real model, loaded from disk.
    path: str | None = None
    # Tokens that end a sample besides eos (a registered model's generation_config may list some).
    stop_token_ids: tuple[int, ...] = ()

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_heads


PRESETS: dict[str, ModelPreset] = {
    p.name: p
    for p in [
        # The default: tiny enough that a forward_backward is milliseconds on one CPU core.
        ModelPreset(
            name="local/tiny-llama",
            arch="llama",
            hidden_size=64,
            num_layers=2,
            num_heads=4,
            num_kv_heads=2,
            intermediate_size=128,
            max_position_embeddings=1024,
            init_seed=1,
        ),
        ModelPreset(
            name="local/tiny-qwen3",
            arch="qwen3",
            hidden_size=64,
            num_layers=2,
            num_heads=4,
            num_kv_heads=2,
            intermediate_size=128,
            max_position_embeddings=1024,
            init_seed=2,
        ),
        # Larger, with untied embeddings (exercises the separate lm_head path).
        ModelPreset(
            name="local/small-llama",
            arch="llama",
            hidden_size=256,
            num_layers=4,
            num_heads=8,
            num_kv_heads=4,
            intermediate_size=688,
            max_position_embeddings=2048,
            tie_word_embeddings=False,
            init_seed=3,
        ),
    ]
}

DEFAULT_MODEL = "local/tiny-llama"


def get_preset(name: str) -> ModelPreset:
    """Look up a served model by name; unknown names are the caller's mistake."""
    try:
        return PRESETS[name]
    except KeyError:
        known = ", ".join(sorted(PRESETS))
        raise UserInputError(f"base_model: unknown model {name!r}; known models: {known}") from None


def add_model(preset: ModelPreset) -> None:
    """Serve `preset` too (registered models share the presets' name space)."""
    PRESETS[preset.name] = preset

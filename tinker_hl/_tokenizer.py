"""Resolving a tokenizer id to a transformers tokenizer, offline for local-backend models."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase


@functools.lru_cache(maxsize=16)
def load_tokenizer(tokenizer_id: str) -> PreTrainedTokenizerBase:
    from .local_tokenizers import LOCAL_TOKENIZER_IDS, load_local_tokenizer

    if tokenizer_id in LOCAL_TOKENIZER_IDS:
        return load_local_tokenizer(tokenizer_id)
    try:
        from transformers import AutoTokenizer
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError(
            "get_tokenizer needs transformers: pip install 'tinker-hl[torch]'"
        ) from exc
    return AutoTokenizer.from_pretrained(tokenizer_id)

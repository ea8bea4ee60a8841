"""Tokenizers for the local backend's models, built in code (no model hub, no network).

The local models use a byte-level tokenizer: ids 0..255 are the raw bytes 0..255, followed by
three special tokens. It has no merges, so any UTF-8 text round-trips byte-exactly and the
vocabulary is tiny (which keeps the local models small and fast on CPU).

`tokenizers` and `transformers` are imported lazily inside functions so importing this module
stays cheap for SDK users who never touch a local model.
"""

from __future__ import annotations

import functools
import os
import pathlib
import re
import shutil
import tempfile
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

BYTE_TOKENIZER_ID = "local/byte-bpe"
LOCAL_TOKENIZER_IDS = frozenset({BYTE_TOKENIZER_ID})

BOS_TOKEN = "<|bos|>"
EOS_TOKEN = "<|eos|>"
PAD_TOKEN = "<|pad|>"
BOS_TOKEN_ID = 256
EOS_TOKEN_ID = 257
PAD_TOKEN_ID = 258
BYTE_VOCAB_SIZE = 259

# Bump when the saved files change so stale caches are rebuilt rather than reused.
_FORMAT_VERSION = "v1"


def cache_dir() -> pathlib.Path:
    """Root cache directory: `$TINKER_HL_CACHE_DIR`, else `~/.cache/tinker_hl`."""
    env = os.environ.get("TINKER_HL_CACHE_DIR")
    return pathlib.Path(env) if env else pathlib.Path.home() / ".cache" / "tinker_hl"


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte -> printable-character table, which the ByteLevel pre-tokenizer uses.

    Reimplemented here because transformers 5 no longer exports it.
    """
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    chars = list(printable)
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return {b: chr(c) for b, c in zip(printable, chars, strict=True)}


def _build_byte_tokenizer() -> Any:
    """Build the byte-level `PreTrainedTokenizerFast` (ids 0..255 = bytes, then specials)."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    byte_chars = _bytes_to_unicode()
    vocab = {byte_chars[b]: b for b in range(256)}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    # No regex split and no prefix space: the byte stream is exactly the UTF-8 of the input.
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tok.decoder = decoders.ByteLevel()
    specials = [BOS_TOKEN, EOS_TOKEN, PAD_TOKEN]
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
    assert tok.token_to_id(BOS_TOKEN) == BOS_TOKEN_ID
    assert tok.token_to_id(EOS_TOKEN) == EOS_TOKEN_ID
    assert tok.token_to_id(PAD_TOKEN) == PAD_TOKEN_ID
    # Llama-style: `encode(text)` prepends BOS; `add_special_tokens=False` gives raw bytes.
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS_TOKEN} $A",
        pair=f"{BOS_TOKEN} $A {BOS_TOKEN} $B",
        special_tokens=[(BOS_TOKEN, BOS_TOKEN_ID)],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=BOS_TOKEN, eos_token=EOS_TOKEN, pad_token=PAD_TOKEN
    )


_BUILDERS = {BYTE_TOKENIZER_ID: _build_byte_tokenizer}


def _check_id(tokenizer_id: str) -> None:
    if tokenizer_id not in LOCAL_TOKENIZER_IDS:
        known = ", ".join(sorted(LOCAL_TOKENIZER_IDS))
        raise KeyError(f"unknown local tokenizer id {tokenizer_id!r}; known ids: {known}")


def local_tokenizer_dir(tokenizer_id: str) -> pathlib.Path:
    """Return a directory holding the tokenizer's `save_pretrained` files, building it once.

    The build goes to a temporary sibling directory that is renamed into place, so concurrent
    processes never see a half-written directory (the loser of a race discards its copy).
    """
    _check_id(tokenizer_id)
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", tokenizer_id)
    final = cache_dir() / "tokenizers" / f"{safe}-{_FORMAT_VERSION}"
    if (final / "tokenizer.json").is_file():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix=f".{safe}-", dir=final.parent))
    try:
        _BUILDERS[tokenizer_id]().save_pretrained(str(tmp))
        try:
            os.rename(tmp, final)
        except OSError:
            # Another process won the race (the target exists and is non-empty).
            if not (final / "tokenizer.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


@functools.cache
def load_local_tokenizer(tokenizer_id: str) -> PreTrainedTokenizerBase:
    """Load (and cache per id) a local tokenizer with `AutoTokenizer`, never touching the hub."""
    from transformers import AutoTokenizer

    path = local_tokenizer_dir(tokenizer_id)
    tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    tokenizer.bos_token = BOS_TOKEN
    tokenizer.eos_token = EOS_TOKEN
    tokenizer.pad_token = PAD_TOKEN
    return tokenizer

"""Real Hugging Face causal LMs: found in the HF cache by hub name or in a local folder, offline.

`register_model("Qwen/Qwen3-0.6B")` resolves the name in the local Hugging Face cache (never
downloading: `local_files_only`), `register_model("name=/path/to/folder")` serves a
`save_pretrained` folder under `name`. Either way the model is then served like a preset, with
its own tokenizer (and chat template). The tokenizer id reported to clients is the hub name for
cached models and the folder's absolute path for folders, so that `AutoTokenizer` loads it
offline on the client side too.
"""

from __future__ import annotations

import contextlib
import functools
from pathlib import Path
from typing import Any

from .errors import UserInputError
from .presets import PRESETS, ModelPreset, add_model

# Context length used when a config names none (some architectures keep it elsewhere).
FALLBACK_CONTEXT_LENGTH = 2048


def resolve_hub_name(name: str) -> Path:
    """The snapshot folder of `name` in the local Hugging Face cache (HF_HUB_CACHE / HF_HOME)."""
    from huggingface_hub import constants, snapshot_download

    try:
        folder = snapshot_download(
            repo_id=name, local_files_only=True, cache_dir=constants.HF_HUB_CACHE
        )
    except Exception as e:  # huggingface_hub raises several kinds for "not cached"
        raise UserInputError(
            f"model {name!r}: not found in the Hugging Face cache {constants.HF_HUB_CACHE} "
            f"(the local backend never downloads; fetch it first, e.g. `hf download {name}`, "
            f"or serve a folder with --model {name}=PATH): {type(e).__name__}"
        ) from None
    return Path(folder)


@functools.cache
def load_folder_tokenizer(folder: str) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(folder, local_files_only=True)


def _first_id(*candidates: Any) -> int | None:
    for c in candidates:
        if isinstance(c, list | tuple):
            c = c[0] if c else None
        if isinstance(c, int) and not isinstance(c, bool):
            return c
    return None


def _stop_ids(*candidates: Any) -> tuple[int, ...]:
    ids: list[int] = []
    for c in candidates:
        for i in c if isinstance(c, list | tuple) else [c]:
            if isinstance(i, int) and not isinstance(i, bool) and i not in ids:
                ids.append(i)
    return tuple(ids)


def describe_folder(name: str, folder: Path, tokenizer_id: str) -> ModelPreset:
    """A served-model entry for a `save_pretrained` folder (config and tokenizer read only)."""
    from transformers import AutoConfig, AutoModelForCausalLM, GenerationConfig

    if not (folder / "config.json").is_file():
        raise UserInputError(f"model {name!r}: {folder} has no config.json")
    try:
        config = AutoConfig.from_pretrained(str(folder), local_files_only=True)
    except (OSError, ValueError, KeyError) as e:
        raise UserInputError(f"model {name!r}: cannot read {folder}/config.json: {e}") from None
    if type(config) not in AutoModelForCausalLM._model_mapping:
        raise UserInputError(
            f"model {name!r}: {type(config).__name__} ({config.model_type}) has no causal-LM "
            "class in transformers (AutoModelForCausalLM cannot load it)"
        )
    try:
        tokenizer = load_folder_tokenizer(str(folder))
    except (OSError, ValueError) as e:
        raise UserInputError(
            f"model {name!r}: cannot load the tokenizer in {folder}: {e}"
        ) from None
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    try:
        generation = GenerationConfig.from_pretrained(str(folder), local_files_only=True)
        gen_eos: Any = generation.eos_token_id
    except OSError:  # no generation_config.json
        gen_eos = None
    eos = _first_id(tokenizer.eos_token_id, text.eos_token_id, gen_eos)
    if eos is None:
        raise UserInputError(f"model {name!r}: neither the tokenizer nor the config names an eos")
    pad = _first_id(tokenizer.pad_token_id, text.pad_token_id, eos)
    bos = _first_id(tokenizer.bos_token_id, text.bos_token_id, eos)
    assert pad is not None and bos is not None  # eos is a fallback for both
    context = _first_id(
        getattr(text, "max_position_embeddings", None),
        getattr(text, "n_positions", None),
        FALLBACK_CONTEXT_LENGTH,
    )
    heads = getattr(text, "num_attention_heads", 0) or 0
    return ModelPreset(
        name=name,
        arch=str(config.model_type),
        hidden_size=int(getattr(text, "hidden_size", 0) or 0),
        num_layers=int(getattr(text, "num_hidden_layers", 0) or 0),
        num_heads=int(heads),
        num_kv_heads=int(getattr(text, "num_key_value_heads", heads) or heads),
        intermediate_size=int(getattr(text, "intermediate_size", 0) or 0),
        max_position_embeddings=int(context or FALLBACK_CONTEXT_LENGTH),
        tie_word_embeddings=bool(getattr(text, "tie_word_embeddings", False)),
        tokenizer_id=tokenizer_id,
        vocab_size=int(text.vocab_size),
        bos_token_id=bos,
        eos_token_id=eos,
        pad_token_id=pad,
        path=str(folder),
        stop_token_ids=_stop_ids(eos, text.eos_token_id, gen_eos),
    )


def parse_model_option(option: str) -> tuple[str, Path | None]:
    """`NAME` (from the HF cache) or `NAME=PATH` (a local folder) -> (name, folder or None)."""
    name, sep, path = option.partition("=")
    name = name.strip()
    if not name or (sep and not path.strip()):
        raise UserInputError(f"--model: expected NAME or NAME=PATH, got {option!r}")
    return name, Path(path.strip()).expanduser().resolve() if sep else None


def register_model(option: str) -> ModelPreset:
    """Serve the model named by a `--model` option value; returns its entry."""
    name, folder = parse_model_option(option)
    if name in PRESETS and PRESETS[name].path is None:
        raise UserInputError(f"--model: {name!r} is a built-in preset name; pick another name")
    if folder is None:
        entry = describe_folder(name, resolve_hub_name(name), tokenizer_id=name)
    else:
        if not folder.is_dir():
            raise UserInputError(f"--model {name}: {folder} is not a folder")
        entry = describe_folder(name, folder, tokenizer_id=str(folder))
    add_model(entry)
    return entry


def ensure_registered(name: str, folder: str | None = None) -> None:
    """Make `name` known if it is not yet (e.g. when exporting a checkpoint in another process
    than the server): from `folder`, the `--model NAME=PATH` folder a checkpoint records, or as
    a model in the local HF cache; else leave it (the caller reports the unknown name)."""
    if name in PRESETS:
        return
    if folder is not None:
        if not Path(folder).is_dir():
            raise UserInputError(
                f"base model {name!r}: the checkpoint was trained on the model in {folder}, "
                "which no longer exists on this machine"
            )
        register_model(f"{name}={folder}")
        return
    if name.count("/") != 1:
        return
    with contextlib.suppress(UserInputError):  # not cached either: the caller reports it
        register_model(name)

"""Base models and LoRA wrapping.

Presets are built from code (`from_config`) under a fixed seed, so their weights are
bit-identical in every process without downloading or storing anything; registered models
(`hf_models`) load from their folder. One frozen copy per
model name is cached per process; each trainer/sampler gets its own module tree (so peft can
wrap it) whose parameters are the *same tensor objects* as the cached copy: the memory is shared
and peft never writes to base weights (it only adds LoRA submodules around them).
"""

from __future__ import annotations

import copy
import functools
import pathlib
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .errors import UserInputError
from .presets import ModelPreset, get_preset
from .runtime import current as current_runtime
from .runtime import on_change as on_runtime_change

# Tinker-style LoRA hyperparameters: fixed alpha, no dropout (dropout would make training
# nondeterministic for a given seed and the sampler/trainer logprobs disagree).
LORA_ALPHA = 32
DEFAULT_LORA_SEED = 0
# Module path components that mark a linear layer as attention or MLP, in any architecture
# transformers ships (Llama/Qwen `self_attn`/`mlp`, GPT-2 `attn`/`mlp`, NeoX `attention`, ...).
_ATTN_MARKERS = ("attn", "attention")
_MLP_MARKERS = ("mlp", "ffn", "feed_forward", "feedforward", "expert")


def _make_config(preset: ModelPreset) -> Any:
    from transformers import LlamaConfig, Qwen3Config

    cls = {"llama": LlamaConfig, "qwen3": Qwen3Config}[preset.arch]
    return cls(
        vocab_size=preset.vocab_size,
        hidden_size=preset.hidden_size,
        num_hidden_layers=preset.num_layers,
        num_attention_heads=preset.num_heads,
        num_key_value_heads=preset.num_kv_heads,
        # Qwen3Config defaults head_dim to 128, so always set it explicitly.
        head_dim=preset.head_dim,
        intermediate_size=preset.intermediate_size,
        max_position_embeddings=preset.max_position_embeddings,
        tie_word_embeddings=preset.tie_word_embeddings,
        bos_token_id=preset.bos_token_id,
        eos_token_id=preset.eos_token_id,
        pad_token_id=preset.pad_token_id,
    )


def construct_base_model(name: str) -> Any:
    """Build a fresh, frozen base model on the configured device and dtype (`runtime`).

    A preset: same name => bit-identical weights. A registered model: loaded from its folder,
    offline (`local_files_only`).
    """
    from transformers import AutoModelForCausalLM

    preset = get_preset(name)
    runtime = current_runtime()
    model: Any
    if preset.path is not None:
        model = AutoModelForCausalLM.from_pretrained(
            preset.path, local_files_only=True, dtype=runtime.dtype
        )
    else:
        config = _make_config(preset)
        # fork_rng: seed the weight init without disturbing the caller's global RNG state.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(preset.init_seed)
            model = AutoModelForCausalLM.from_config(config)
    model = model.to(device=runtime.device, dtype=runtime.dtype)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


@functools.cache
def build_base_model(name: str) -> Any:
    """The shared frozen base model for `name` (cached per process). Treat it as read-only."""
    return construct_base_model(name)


def forget_built_models() -> None:
    """Drop the cached base models (after the runtime changed device or dtype)."""
    build_base_model.cache_clear()
    lora_module_groups.cache_clear()
    cache_kwarg.cache_clear()


@functools.cache
def lora_module_groups(name: str) -> dict[str, tuple[str, ...]]:
    """The LoRA targets of base model `name` by group (`attn`, `mlp`, `unembed`), found from
    its module names, as peft `target_modules` entries.

    A linear layer belongs to the unembedding if it is the output embedding, else to attention
    or MLP by the path components above it. Entries are the layers' own names (`q_proj`) where
    a name means the same group everywhere in the model, else full module paths.
    """
    from transformers.pytorch_utils import Conv1D

    model = build_base_model(name)
    output = model.get_output_embeddings()
    paths: dict[str, list[str]] = {"attn": [], "mlp": [], "unembed": [], "other": []}
    for path, module in model.named_modules():
        if not isinstance(module, nn.Linear | Conv1D):
            continue
        parts = path.lower().split(".")
        if module is output:
            group = "unembed"
        elif any(m in p for p in parts[:-1] for m in _ATTN_MARKERS):
            group = "attn"
        elif any(m in p for p in parts[:-1] for m in _MLP_MARKERS):
            group = "mlp"
        else:
            group = "other"
        paths[group].append(path)
    leaf_groups: dict[str, set[str]] = {}
    for group, members in paths.items():
        for path in members:
            leaf_groups.setdefault(path.rsplit(".", 1)[-1], set()).add(group)
    out: dict[str, tuple[str, ...]] = {}
    for group in ("attn", "mlp", "unembed"):
        entries: list[str] = []
        for path in paths[group]:
            leaf = path.rsplit(".", 1)[-1]
            entry = leaf if leaf_groups[leaf] == {group} else path
            if entry not in entries:
                entries.append(entry)
        out[group] = tuple(entries)
    return out


def private_base_model(name: str) -> Any:
    """A new module tree for `name` whose parameters are shared with `build_base_model(name)`.

    Callers may wrap/modify the modules (peft does), but must not write to the parameters.
    Buffers (e.g. rotary tables) are copied; they are tiny.
    """
    base = build_base_model(name)
    memo: dict[int, Any] = {id(p): p for p in base.parameters()}
    return copy.deepcopy(base, memo)


@dataclass(frozen=True)
class LoraSpec:
    """Which LoRA adapter to put on a base model: enough to rebuild it from its tensors."""

    base_model: str
    rank: int
    train_mlp: bool = True
    train_attn: bool = True
    train_unembed: bool = True

    def __post_init__(self) -> None:
        from .hf_models import ensure_registered

        ensure_registered(self.base_model)  # a checkpoint of a cached model, in a new process
        get_preset(self.base_model)  # raises UserInputError for unknown names
        if isinstance(self.rank, bool) or not isinstance(self.rank, int) or self.rank < 1:
            raise UserInputError(f"rank: expected an integer >= 1, got {self.rank!r}")
        if not (self.train_mlp or self.train_attn or self.train_unembed):
            raise UserInputError(
                "train_mlp, train_attn, train_unembed: at least one must be true "
                "(otherwise there is nothing to train)"
            )

    def target_modules(self) -> list[str]:
        groups = lora_module_groups(self.base_model)
        mods: list[str] = []
        if self.train_attn:
            mods += groups["attn"]
        if self.train_mlp:
            mods += groups["mlp"]
        if self.train_unembed:
            mods += groups["unembed"]
        if not mods:
            raise UserInputError(
                f"train_mlp, train_attn, train_unembed: {self.base_model} has no linear layers "
                "in the chosen groups, so there is nothing to train"
            )
        return mods

    def to_metadata(self) -> dict[str, str]:
        """String metadata for a checkpoint header (safetensors metadata is str -> str)."""
        folder = _served_folder(self.base_model)
        return {
            "base_model": self.base_model,
            # A `--model NAME=PATH` model is known by its name only to the server that serves
            # it: the folder lets another process (an export) register it too.
            **({"base_model_folder": folder} if folder is not None else {}),
            "lora_rank": str(self.rank),
            "train_mlp": str(self.train_mlp).lower(),
            "train_attn": str(self.train_attn).lower(),
            "train_unembed": str(self.train_unembed).lower(),
        }

    @classmethod
    def from_metadata(cls, meta: Mapping[str, str]) -> LoraSpec:
        from .hf_models import ensure_registered

        if "base_model" in meta:
            ensure_registered(meta["base_model"], meta.get("base_model_folder"))
        try:
            return cls(
                base_model=meta["base_model"],
                rank=int(meta["lora_rank"]),
                train_mlp=meta["train_mlp"] == "true",
                train_attn=meta["train_attn"] == "true",
                train_unembed=meta["train_unembed"] == "true",
            )
        except (KeyError, ValueError) as e:
            raise UserInputError(
                f"checkpoint metadata: missing or malformed LoRA field ({e})"
            ) from e


def _served_folder(name: str) -> str | None:
    """The folder of a model served from a folder (`--model NAME=PATH`), else None."""
    preset = get_preset(name)
    return preset.path if preset.path is not None and preset.tokenizer_id == preset.path else None


@functools.cache
def cache_kwarg(name: str) -> str:
    """The forward() keyword for the KV cache: `cache` in recent transformers 5.x (where
    `past_key_values` is deprecated), `past_key_values` before."""
    import inspect

    params = inspect.signature(type(build_base_model(name)).forward).parameters
    return "cache" if "cache" in params else "past_key_values"


def _peft_key(param_name: str) -> str:
    """Parameter name -> key in peft's adapter file format (adapter name removed)."""
    return param_name.replace(".default.", ".")


def build_lora_model(spec: LoraSpec, seed: int | None) -> tuple[Any, dict[str, nn.Parameter]]:
    """Wrap a private base copy with a LoRA adapter; return (model, adapter params by peft key).

    The adapter init (peft: lora_A Kaiming-uniform, lora_B zeros) draws from the global RNG, so
    it runs under a forked RNG seeded with `seed`: same seed => bit-identical adapter.
    """
    from peft import get_peft_model

    model = private_base_model(spec.base_model)
    config = peft_lora_config(spec)
    with warnings.catch_warnings(), torch.random.fork_rng(devices=[]):
        # LoRA on a tied lm_head only affects the output projection, which is what we want;
        # peft warns because *merging* would also change the embeddings (see save_merged_model).
        warnings.filterwarnings("ignore", message=".*tie_word_embeddings.*")
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*")
        torch.manual_seed(DEFAULT_LORA_SEED if seed is None else seed)
        peft_model = get_peft_model(model, config)
    peft_model.eval()  # no dropout anywhere; train/eval mode makes no numeric difference
    params = {_peft_key(n): p for n, p in peft_model.named_parameters() if p.requires_grad}
    assert params and all(".lora_" in k for k in params), sorted(params)
    return peft_model, params


def load_adapter_into(
    params: Mapping[str, torch.Tensor], tensors: Mapping[str, torch.Tensor], what: str
) -> None:
    """Copy adapter tensors into `params`, checking names and shapes match exactly."""
    missing = sorted(set(params) - set(tensors))
    extra = sorted(set(tensors) - set(params))
    if missing or extra:
        raise UserInputError(
            f"{what}: adapter tensors do not match this model's LoRA layout "
            f"(missing {missing[:3]}{'...' if len(missing) > 3 else ''}, "
            f"unexpected {extra[:3]}{'...' if len(extra) > 3 else ''}); "
            "was it saved with a different base_model, rank or train_* flags?"
        )
    with torch.no_grad():
        for key, p in params.items():
            t = tensors[key]
            if tuple(t.shape) != tuple(p.shape):
                raise UserInputError(
                    f"{what}: tensor {key!r} has shape {tuple(t.shape)}, expected {tuple(p.shape)}"
                )
            p.copy_(t.to(p.dtype))


def sequence_logprobs(
    model: Any, input_ids: torch.Tensor, attention_mask: torch.Tensor | None
) -> torch.Tensor:
    """Full-vocabulary log-probabilities, float32 [B, T, V], for a (right-padded) batch."""
    out = model(input_ids=input_ids, attention_mask=attention_mask, use_cache=False)
    return torch.log_softmax(out.logits.float(), dim=-1)


def load_model_tokenizer(preset: ModelPreset) -> Any:
    """The model's own tokenizer: a registered model's from its folder, else the byte one."""
    if preset.path is not None:
        from .hf_models import load_folder_tokenizer

        return load_folder_tokenizer(preset.path)
    from tinker_hl.local_tokenizers import load_local_tokenizer

    return load_local_tokenizer(preset.tokenizer_id)


def _save_tokenizer(preset: ModelPreset, out_dir: pathlib.Path) -> None:
    load_model_tokenizer(preset).save_pretrained(str(out_dir))


def save_base_model(name: str, out_dir: str | pathlib.Path) -> pathlib.Path:
    """Write a standard `save_pretrained` folder (weights, config, tokenizer) for a base model."""
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    build_base_model(name).save_pretrained(str(out))
    _save_tokenizer(get_preset(name), out)
    return out


def save_merged_model(
    spec: LoraSpec, adapter: Mapping[str, torch.Tensor], out_dir: str | pathlib.Path
) -> pathlib.Path:
    """Merge a LoRA adapter into a private copy of its base and `save_pretrained` the result.

    The folder loads with `AutoModelForCausalLM.from_pretrained`. With tied embeddings and a
    LoRA on lm_head, the copy is untied first: merging into the shared matrix would otherwise
    silently apply the output-projection update to the input embeddings too.
    """
    from peft import get_peft_model

    base = copy.deepcopy(build_base_model(spec.base_model))  # real copy: merging writes weights
    if spec.train_unembed and base.config.tie_word_embeddings:
        base.lm_head.weight = nn.Parameter(
            base.get_input_embeddings().weight.detach().clone(), requires_grad=False
        )
        base.config.tie_word_embeddings = False
        if hasattr(base.config, "get_text_config"):
            base.config.get_text_config().tie_word_embeddings = False
    config = peft_lora_config(spec)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*")
        peft_model: Any = get_peft_model(base, config)
    params = {_peft_key(n): p for n, p in peft_model.named_parameters() if ".lora_" in n}
    load_adapter_into(params, adapter, "adapter")
    merged: Any = peft_model.merge_and_unload()
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    merged.save_pretrained(str(out))
    _save_tokenizer(get_preset(spec.base_model), out)
    return out


def peft_lora_config(spec: LoraSpec) -> Any:
    """peft's LoraConfig for an adapter of this spec (training, merging and batched sampling)."""
    from peft import LoraConfig

    return LoraConfig(
        r=spec.rank,
        lora_alpha=LORA_ALPHA,
        lora_dropout=0.0,
        target_modules=spec.target_modules(),
        bias="none",
    )


on_runtime_change(forget_built_models)

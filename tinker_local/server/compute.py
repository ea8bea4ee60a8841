"""Compute backends: the torch engine, or "none" (instant, correctly shaped, no model at all).

Everything here runs in the compute thread. Inputs and outputs are plain Python / numpy; the
wire format lives in `wire.py`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from .errors import UserError

if TYPE_CHECKING:
    from .config import ServerConfig

STATE_FILE = "state.safetensors"  # training checkpoint: adapter + optimizer state
ADAPTER_FILE = "adapter.safetensors"  # sampler checkpoint: adapter weights only
NULL_FILE = "checkpoint.json"  # what compute="none" writes instead


@dataclass(frozen=True)
class LoraArgs:
    rank: int
    seed: int | None = None
    train_mlp: bool = True
    train_attn: bool = True
    train_unembed: bool = True


@dataclass
class WireDatum:
    """One datum as decoded from the wire: input tokens and loss inputs as numpy arrays."""

    tokens: list[int]
    loss_fn_inputs: dict[str, np.ndarray]


@dataclass(frozen=True)
class SampleArgs:
    prompt: list[int]
    num_samples: int = 1
    max_tokens: int | None = None
    temperature: float = 1.0
    top_k: int = -1
    top_p: float = 1.0
    seed: int | None = None
    stop: str | list[str] | list[int] | None = None
    include_prompt_logprobs: bool = False
    topk_prompt_logprobs: int = 0
    topk_sample_logprobs: int = 0
    target_prompt_ids: np.ndarray | None = None  # [len(prompt) - 1, K] int64, -1 = none
    prompt_alt_tokens_k: int = 0


TopK = list[tuple[int, float]]


@dataclass
class SampleOut:
    sequences: list[tuple[list[int], list[float], str]]
    prompt_logprobs: list[float | None] | None = None
    topk_prompt_logprobs: list[TopK | None] | None = None
    topk_sample_logprobs: list[list[TopK]] | None = None  # per sequence, per sampled token
    target_prompt_logprobs: np.ndarray | None = None  # float32, the shape of target_prompt_ids
    # (int64 ids, float32 logprobs), both [len(prompt) - 1, prompt_alt_tokens_k]
    prompt_alt_tokens: tuple[np.ndarray, np.ndarray] | None = None


ForwardOut = tuple[list[dict[str, np.ndarray]], dict[str, float]]


class ComputeBackend(Protocol):
    def new_trainer(self, base_model: str, lora: LoraArgs) -> Any: ...

    def forward(
        self,
        trainer: Any,
        data: list[WireDatum],
        loss_fn: str,
        loss_fn_config: Mapping[str, float] | None,
        backward: bool,
    ) -> ForwardOut: ...

    def optim_step(self, trainer: Any, adam: Mapping[str, float]) -> dict[str, float]: ...

    def save_training_state(self, trainer: Any, folder: Path) -> None: ...

    def save_sampler_weights(self, trainer: Any, folder: Path) -> None: ...

    def load_training_state(self, trainer: Any, folder: Path, optimizer: bool) -> None: ...

    def new_sampler(self, base_model: str, folder: Path | None) -> Any: ...

    def sample(self, sampler: Any, args: SampleArgs) -> SampleOut: ...


class TorchCompute:
    """The real thing: `tinker_local.engine` (LoRA on the presets and on registered models)."""

    def __init__(
        self,
        models: Sequence[str] = (),
        device: str = "auto",
        dtype: str = "auto",
        threads: int | None = None,
        slice_tokens: int = 8192,
    ) -> None:
        from tinker_local.engine.hf_models import register_model
        from tinker_local.engine.runtime import configure

        self.runtime = configure(device, dtype, threads)
        self.slice_tokens = slice_tokens
        _warm_imports()
        for option in models:
            register_model(option)

    def new_trainer(self, base_model: str, lora: LoraArgs) -> Any:
        from tinker_local.engine import LoraTrainer

        return LoraTrainer(
            base_model,
            lora.rank,
            seed=lora.seed,
            train_mlp=lora.train_mlp,
            train_attn=lora.train_attn,
            train_unembed=lora.train_unembed,
        )

    def forward(
        self,
        trainer: Any,
        data: list[WireDatum],
        loss_fn: str,
        loss_fn_config: Mapping[str, float] | None,
        backward: bool,
    ) -> ForwardOut:
        from tinker_local.engine import DatumArrays

        from .scheduler import current_turns

        batch = [DatumArrays(tokens=d.tokens, loss_fn_inputs=d.loss_fn_inputs) for d in data]
        slices = _slices(batch, self.slice_tokens)
        if len(slices) == 1:
            result = trainer.forward(batch, loss_fn, loss_fn_config, backward=backward)
            return result.loss_fn_outputs, result.metrics
        # A large batch runs in slices, handing the compute turn on between them. Losses are
        # sums over datums and gradients accumulate, so the slices add up to the whole batch.
        trainer.validate(batch, loss_fn, loss_fn_config)
        turns = current_turns()
        outputs: list[dict[str, np.ndarray]] = []
        metrics: dict[str, float] = {}
        for i, part in enumerate(slices):
            if i and turns is not None:
                turns.yield_turn()
            result = trainer.forward(part, loss_fn, loss_fn_config, backward=backward)
            outputs += result.loss_fn_outputs
            for key, value in result.metrics.items():
                metrics[key] = metrics.get(key, 0.0) + value if key.endswith(":sum") else value
        return outputs, metrics

    def optim_step(self, trainer: Any, adam: Mapping[str, float]) -> dict[str, float]:
        metrics: dict[str, float] = trainer.optim_step(**adam)
        return metrics

    def save_training_state(self, trainer: Any, folder: Path) -> None:
        from tinker_local.engine import save_lora_checkpoint

        tensors = trainer.state_tensors(include_optimizer=True)
        save_lora_checkpoint(folder / STATE_FILE, trainer.lora_spec, tensors, "state")

    def save_sampler_weights(self, trainer: Any, folder: Path) -> None:
        from tinker_local.engine import save_lora_checkpoint

        save_lora_checkpoint(
            folder / ADAPTER_FILE, trainer.lora_spec, trainer.adapter_tensors(), "adapter"
        )

    def load_training_state(self, trainer: Any, folder: Path, optimizer: bool) -> None:
        from tinker_local.engine import load_lora_checkpoint

        spec, tensors, _ = load_lora_checkpoint(folder / STATE_FILE, "state")
        if spec != trainer.lora_spec:
            raise UserError(
                f"path: the checkpoint was trained on {spec.base_model} with LoRA rank "
                f"{spec.rank} (train_mlp={spec.train_mlp}, train_attn={spec.train_attn}, "
                f"train_unembed={spec.train_unembed}); this model is {trainer.base_model} with "
                f"rank {trainer.rank} and other settings: they must match"
            )
        trainer.load_state_tensors(tensors, load_optimizer=optimizer)

    def new_sampler(self, base_model: str, folder: Path | None) -> Any:
        from tinker_local.engine import LoraTrainer, Sampler, load_lora_checkpoint

        if folder is None:
            return Sampler(base_model)
        if (folder / ADAPTER_FILE).is_file():
            spec, tensors, _ = load_lora_checkpoint(folder / ADAPTER_FILE, "adapter")
            return Sampler(spec.base_model, tensors, spec)
        # A training checkpoint: rebuild its adapter and snapshot it.
        spec, tensors, _ = load_lora_checkpoint(folder / STATE_FILE, "state")
        trainer = LoraTrainer(
            spec.base_model,
            spec.rank,
            train_mlp=spec.train_mlp,
            train_attn=spec.train_attn,
            train_unembed=spec.train_unembed,
        )
        trainer.load_state_tensors(tensors, load_optimizer=False)
        return Sampler.from_trainer(trainer)

    def sample(self, sampler: Any, args: SampleArgs) -> SampleOut:
        from .scheduler import current_turns

        result = sampler.sample(
            args.prompt,
            num_samples=args.num_samples,
            max_tokens=args.max_tokens,
            temperature=args.temperature,
            top_k=args.top_k,
            top_p=args.top_p,
            seed=args.seed,
            stop=args.stop,
            include_prompt_logprobs=args.include_prompt_logprobs,
            topk_prompt_logprobs=args.topk_prompt_logprobs,
            turns=current_turns(),  # concurrent requests decode together, between turns
            topk_sample_logprobs=args.topk_sample_logprobs,
            target_prompt_ids=args.target_prompt_ids,
            prompt_alt_tokens_k=args.prompt_alt_tokens_k,
        )
        return SampleOut(
            sequences=[(s.tokens, s.logprobs, s.stop_reason) for s in result.sequences],
            prompt_logprobs=result.prompt_logprobs,
            topk_prompt_logprobs=result.topk_prompt_logprobs,
            topk_sample_logprobs=(
                [s.topk_logprobs or [] for s in result.sequences]
                if args.topk_sample_logprobs > 0
                else None
            ),
            target_prompt_logprobs=result.target_prompt_logprobs,
            prompt_alt_tokens=result.prompt_alt_tokens,
        )


@dataclass
class _NullModel:
    base_model: str
    lora: LoraArgs | None
    steps: int = 0


class NullCompute:
    """compute="none": no torch work at all; results have the right shapes, values are zeros.

    For benchmarking the protocol and the server itself. Checkpoints are small JSON files.
    """

    DEFAULT_MAX_TOKENS = 16

    def new_trainer(self, base_model: str, lora: LoraArgs) -> Any:
        return _NullModel(base_model, lora)

    def forward(
        self,
        trainer: Any,
        data: list[WireDatum],
        loss_fn: str,
        loss_fn_config: Mapping[str, float] | None,
        backward: bool,
    ) -> ForwardOut:
        if not data:
            raise UserError("forward_backward_input.data: expected at least one datum")
        outputs = []
        for d in data:
            n = len(d.tokens)
            zeros = np.zeros(n, dtype=np.float32)
            outputs.append({"logprobs": zeros, "elementwise_loss": zeros})
        total = float(sum(len(d.tokens) for d in data))
        metrics = {"loss:sum": 0.0, "num_tokens:sum": total, "num_sequences:sum": float(len(data))}
        return outputs, metrics

    def optim_step(self, trainer: Any, adam: Mapping[str, float]) -> dict[str, float]:
        trainer.steps += 1
        return {
            "grad_norm:mean": 0.0,
            "learning_rate:mean": float(adam.get("learning_rate", 0.0)),
            "optim_step:max": float(trainer.steps),
        }

    def _write(self, trainer: Any, folder: Path, kind: str) -> None:
        lora = trainer.lora
        meta = {
            "kind": kind,
            "base_model": trainer.base_model,
            "lora_rank": lora.rank if lora else None,
        }
        (folder / NULL_FILE).write_text(json.dumps(meta))

    def save_training_state(self, trainer: Any, folder: Path) -> None:
        self._write(trainer, folder, "state")

    def save_sampler_weights(self, trainer: Any, folder: Path) -> None:
        self._write(trainer, folder, "adapter")

    def load_training_state(self, trainer: Any, folder: Path, optimizer: bool) -> None:
        if not (folder / NULL_FILE).is_file():
            raise UserError("path: the checkpoint holds no state this server can load")

    def new_sampler(self, base_model: str, folder: Path | None) -> Any:
        return _NullModel(base_model, None)

    def sample(self, sampler: Any, args: SampleArgs) -> SampleOut:
        if args.num_samples < 1:
            raise UserError(f"num_samples: expected an integer >= 1, got {args.num_samples}")
        n = self.DEFAULT_MAX_TOKENS if args.max_tokens is None else args.max_tokens
        seqs = [([0] * n, [0.0] * n, "length") for _ in range(args.num_samples)]
        out = SampleOut(sequences=seqs)
        rest = max(len(args.prompt) - 1, 0)
        if args.include_prompt_logprobs:
            out.prompt_logprobs = [None, *([0.0] * rest)]
        if args.topk_prompt_logprobs > 0:
            row = [(0, 0.0)] * args.topk_prompt_logprobs
            out.topk_prompt_logprobs = [None, *([list(row)] * rest)]
        if args.topk_sample_logprobs > 0:
            top = [(0, 0.0)] * args.topk_sample_logprobs
            out.topk_sample_logprobs = [[list(top)] * n for _ in seqs]
        if args.target_prompt_ids is not None:
            out.target_prompt_logprobs = np.zeros(args.target_prompt_ids.shape, np.float32)
        if args.prompt_alt_tokens_k > 0:
            shape = (rest, args.prompt_alt_tokens_k)
            out.prompt_alt_tokens = (np.zeros(shape, np.int64), np.zeros(shape, np.float32))
        return out


def make_compute(mode: str, config: ServerConfig | None = None) -> ComputeBackend:
    if mode == "none":
        return NullCompute()
    if config is None:
        return TorchCompute()
    return TorchCompute(
        config.models, config.device, config.dtype, config.threads, config.slice_tokens
    )


def _warm_imports() -> None:
    """Import transformers, peft and the presets' model code now, at start-up (before the
    server reports healthy), rather than inside the first create_model: on a loaded machine
    these imports take seconds, which a client's progress timeout should not have to absorb."""
    import peft  # noqa: F401
    import transformers.models.llama.modeling_llama
    import transformers.models.qwen3.modeling_qwen3  # noqa: F401
    from transformers import AutoModelForCausalLM, DynamicCache  # noqa: F401


def _slices(batch: list[Any], slice_tokens: int) -> list[list[Any]]:
    """Consecutive runs of datums whose padded size (rows x longest) stays within
    `slice_tokens` (a datum longer than that is a slice of its own)."""
    slices: list[list[Any]] = [[]]
    longest = 0
    for datum in batch:
        n = len(datum.tokens)
        width = max(longest, n)
        if slices[-1] and width * (len(slices[-1]) + 1) > slice_tokens:
            slices.append([])
            width = n
        slices[-1].append(datum)
        longest = width
    return slices

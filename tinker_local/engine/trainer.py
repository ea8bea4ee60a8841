"""LoRA training state for one training client: forward(_backward), Adam steps, state I/O."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .errors import UserInputError
from .losses import LossSpec, get_loss_fn, resolve_loss_config
from .models import LoraSpec, build_lora_model, load_adapter_into, sequence_logprobs
from .presets import get_preset
from .runtime import current as current_runtime

_ADAPTER_PREFIX = "adapter/"
_EXP_AVG_PREFIX = "optimizer/exp_avg/"
_EXP_AVG_SQ_PREFIX = "optimizer/exp_avg_sq/"
_STEP_KEY = "optimizer/step"


@dataclass
class DatumArrays:
    """One training example: model input tokens and per-position loss inputs (all length N)."""

    tokens: list[int]
    loss_fn_inputs: dict[str, np.ndarray]


@dataclass
class ForwardResult:
    """Per-datum outputs (`logprobs`, `elementwise_loss`: float32 [N]) and summed metrics."""

    loss_fn_outputs: list[dict[str, np.ndarray]]
    metrics: dict[str, float]


def check_tokens(tokens: Any, vocab_size: int, field: str, ndim: int = 1) -> np.ndarray:
    """Validate a non-empty sequence of token ids in [0, vocab_size) (`ndim` 2: [N, K], K ids
    per position); return it as int64."""
    arr = np.asarray(tokens)
    if arr.ndim != ndim or arr.size == 0:
        what = "1-D list" if ndim == 1 else f"{ndim}-D array"
        raise UserInputError(f"{field}: expected a non-empty {what} of token ids, got {arr.shape}")
    if arr.dtype.kind not in "iu":
        raise UserInputError(f"{field}: expected integer token ids, got dtype {arr.dtype}")
    bad = np.flatnonzero((arr < 0) | (arr >= vocab_size))
    if bad.size:
        where = np.unravel_index(int(bad[0]), arr.shape)
        position = int(where[0]) if ndim == 1 else [int(i) for i in where]
        raise UserInputError(
            f"{field}: token id {int(arr[where])} at position {position} is out of range "
            f"[0, {vocab_size}) ({bad.size} invalid id(s) in total)"
        )
    return arr.astype(np.int64)


def _to_numpy(t: torch.Tensor) -> np.ndarray:
    """A float32 numpy copy of a (possibly GPU, possibly low-precision) tensor."""
    return t.detach().to("cpu", torch.float32).numpy().astype(np.float32, copy=True)


def state_section(tensors: Mapping[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The tensors of a `state_tensors` dict under `prefix`, with the prefix removed."""
    return {k[len(prefix) :]: t for k, t in tensors.items() if k.startswith(prefix)}


def adapter_from_state(tensors: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The LoRA weights (peft adapter keys) inside a saved training state."""
    return state_section(tensors, _ADAPTER_PREFIX)


class LoraTrainer:
    """A LoRA adapter on a shared frozen base model, with Tinker's training semantics.

    Gradients accumulate across `forward(..., backward=True)` calls until `optim_step`, which
    applies AdamW to the LoRA parameters only and then clears the gradients.
    """

    def __init__(
        self,
        base_model: str,
        rank: int,
        seed: int | None = None,
        train_mlp: bool = True,
        train_attn: bool = True,
        train_unembed: bool = True,
    ) -> None:
        self.lora_spec = LoraSpec(base_model, rank, train_mlp, train_attn, train_unembed)
        self.preset = get_preset(base_model)
        self.seed = seed
        self.model, self._params = build_lora_model(self.lora_spec, seed)
        self._exp_avg: dict[str, torch.Tensor] = {}
        self._exp_avg_sq: dict[str, torch.Tensor] = {}
        self.step = 0  # number of optim_step calls applied (Adam's bias-correction step)
        self._reset_optimizer()

    # -- descriptive properties -------------------------------------------------------------
    @property
    def base_model(self) -> str:
        return self.lora_spec.base_model

    @property
    def rank(self) -> int:
        return self.lora_spec.rank

    @property
    def tokenizer_id(self) -> str:
        return self.preset.tokenizer_id

    @property
    def vocab_size(self) -> int:
        return self.preset.vocab_size

    @property
    def arch(self) -> str:
        return self.preset.arch

    @property
    def max_seq_len(self) -> int:
        return self.preset.max_position_embeddings

    def trainable_parameter_names(self) -> list[str]:
        """Adapter parameter names (peft adapter-file keys), sorted."""
        return sorted(self._params)

    def parameters(self) -> dict[str, torch.nn.Parameter]:
        """The live adapter parameters (with their `.grad`), for inspection; don't mutate."""
        return dict(self._params)

    # -- forward / backward -----------------------------------------------------------------
    def _validate_datum(
        self, i: int, datum: DatumArrays, spec: LossSpec
    ) -> tuple[np.ndarray, dict[str, torch.Tensor]]:
        where = f"data[{i}]"
        tokens = check_tokens(datum.tokens, self.vocab_size, f"{where}.model_input")
        n = tokens.size
        if n > self.max_seq_len:
            raise UserInputError(
                f"{where}.model_input: length {n} exceeds the context length "
                f"{self.max_seq_len} of {self.base_model}"
            )
        given = set(datum.loss_fn_inputs)
        missing = [k for k in spec.required_inputs if k not in given]
        if missing:
            raise UserInputError(
                f"{where}.loss_fn_inputs: missing required key(s) {missing} for loss_fn "
                f"{spec.name!r} (expected keys: {list(spec.all_inputs)})"
            )
        unknown = sorted(given - set(spec.all_inputs))
        if unknown:
            raise UserInputError(
                f"{where}.loss_fn_inputs: unexpected key(s) {unknown} for loss_fn "
                f"{spec.name!r} (expected keys: {list(spec.all_inputs)})"
            )
        inputs: dict[str, torch.Tensor] = {}
        # [N] per input; [N, K] too where the loss takes K targets per position (then every
        # input has the target_tokens' shape).
        targets_shape = np.shape(datum.loss_fn_inputs["target_tokens"])
        top_k = spec.top_k_targets and len(targets_shape) == 2 and targets_shape[0] == n
        for key in spec.all_inputs:
            if key not in datum.loss_fn_inputs:
                continue
            field = f"{where}.loss_fn_inputs.{key}"
            arr = np.asarray(datum.loss_fn_inputs[key])
            if top_k and arr.shape != targets_shape:
                raise UserInputError(
                    f"{field}: expected shape {list(targets_shape)} (that of target_tokens: "
                    f"{targets_shape[1]} targets for each of the {n} positions), got shape "
                    f"{list(arr.shape)}"
                )
            if not top_k and (arr.ndim != 1 or arr.size != n):
                also = f" or [{n}, K] (K targets per position)" if spec.top_k_targets else ""
                raise UserInputError(
                    f"{field}: expected {n} values to match model_input length {n}{also}, "
                    f"got shape {list(arr.shape)}"
                )
            if key == "target_tokens":
                ids = check_tokens(arr, self.vocab_size, field, arr.ndim if top_k else 1)
                inputs[key] = torch.from_numpy(ids)
                continue
            if arr.dtype.kind not in "fiu":
                raise UserInputError(f"{field}: expected numbers, got dtype {arr.dtype}")
            values = arr.astype(np.float32)
            if not np.isfinite(values).all():
                raise UserInputError(f"{field}: contains NaN or infinite values")
            inputs[key] = torch.from_numpy(values)
        if spec.check_inputs is not None:
            spec.check_inputs(inputs, where)
        return tokens, inputs

    def validate(
        self,
        data: Sequence[DatumArrays],
        loss_fn: str,
        loss_fn_config: Mapping[str, float] | None = None,
    ) -> None:
        """Raise `UserInputError` for what `forward` would refuse, computing nothing (callers
        that split a batch into slices check it whole first, so no slice runs in vain)."""
        spec = get_loss_fn(loss_fn)
        resolve_loss_config(spec, loss_fn_config)
        if len(data) == 0:
            raise UserInputError("data: expected at least one datum")
        for i, d in enumerate(data):
            self._validate_datum(i, d, spec)

    def forward(
        self,
        data: Sequence[DatumArrays],
        loss_fn: str,
        loss_fn_config: Mapping[str, float] | None = None,
        backward: bool = False,
    ) -> ForwardResult:
        """Compute the loss (and, with `backward`, accumulate its gradients) for a batch.

        Position i of `tokens` predicts `target_tokens[i]` (callers shift beforehand). All datums
        go through one right-padded forward pass; the batch loss is the sum of datum losses.
        """
        spec = get_loss_fn(loss_fn)
        config = resolve_loss_config(spec, loss_fn_config)
        if len(data) == 0:
            raise UserInputError("data: expected at least one datum")
        checked = [self._validate_datum(i, d, spec) for i, d in enumerate(data)]

        lengths = [tokens.size for tokens, _ in checked]
        width = max(lengths)
        input_ids = torch.full((len(checked), width), self.preset.pad_token_id, dtype=torch.long)
        targets = torch.zeros((len(checked), width), dtype=torch.long)
        mask = torch.zeros((len(checked), width), dtype=torch.long)
        for row, (tokens, inputs) in enumerate(checked):
            n = tokens.size
            input_ids[row, :n] = torch.from_numpy(tokens)
            if inputs["target_tokens"].ndim == 1:  # [N, K] targets are gathered by row below
                targets[row, :n] = inputs["target_tokens"]
            mask[row, :n] = 1

        device = current_runtime().device
        if device.type != "cpu":
            input_ids, targets, mask = input_ids.to(device), targets.to(device), mask.to(device)
            checked = [
                (tokens, {k: v.to(device) for k, v in inputs.items()}) for tokens, inputs in checked
            ]
        # no_grad for plain forward: it must neither build a graph nor touch .grad.
        with torch.set_grad_enabled(backward):
            logprobs = sequence_logprobs(self.model, input_ids, mask)
            target_lp = logprobs.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
            total = target_lp.new_zeros(())
            outputs: list[dict[str, np.ndarray]] = []
            for row, (n, (_, inputs)) in enumerate(zip(lengths, checked, strict=True)):
                row_targets = inputs["target_tokens"]
                if row_targets.ndim == 2:  # K targets per position: [N, K] logprobs
                    lp = logprobs[row, :n].gather(-1, row_targets)
                else:
                    lp = target_lp[row, :n]
                loss, elementwise = spec.impl(lp, inputs, config)
                total = total + loss
                outputs.append(
                    {
                        "logprobs": _to_numpy(lp),
                        "elementwise_loss": _to_numpy(elementwise),
                    }
                )
            if backward:
                total.backward()  # adds into .grad: accumulation until optim_step
        metrics = {
            "loss:sum": float(total.detach()),
            "num_tokens:sum": float(sum(lengths)),
            "num_sequences:sum": float(len(lengths)),
        }
        return ForwardResult(loss_fn_outputs=outputs, metrics=metrics)

    def forward_backward(
        self,
        data: Sequence[DatumArrays],
        loss_fn: str,
        loss_fn_config: Mapping[str, float] | None = None,
    ) -> ForwardResult:
        return self.forward(data, loss_fn, loss_fn_config, backward=True)

    # -- optimizer ---------------------------------------------------------------------------
    def _reset_optimizer(self) -> None:
        self._exp_avg = {k: torch.zeros_like(p) for k, p in self._params.items()}
        self._exp_avg_sq = {k: torch.zeros_like(p) for k, p in self._params.items()}
        self.step = 0

    def zero_grad(self) -> None:
        for p in self._params.values():
            p.grad = None

    def optim_step(
        self,
        learning_rate: float,
        beta1: float = 0.9,
        beta2: float = 0.95,
        eps: float = 1e-12,
        weight_decay: float = 0.0,
        grad_clip_norm: float = 0.0,
    ) -> dict[str, float]:
        """One AdamW step on the accumulated gradients (missing gradients count as zero).

        Same math as `torch.optim.AdamW` (decoupled weight decay, bias correction), written out
        so the moments are plain named tensors that save/load cleanly. If `grad_clip_norm > 0`
        the global gradient norm is clipped to it first. Gradients are cleared afterwards.
        """
        checks = [
            ("learning_rate", learning_rate, learning_rate >= 0),
            ("beta1", beta1, 0 <= beta1 < 1),
            ("beta2", beta2, 0 <= beta2 < 1),
            ("eps", eps, eps > 0),
            ("weight_decay", weight_decay, weight_decay >= 0),
            ("grad_clip_norm", grad_clip_norm, grad_clip_norm >= 0),
        ]
        for name, value, ok in checks:
            if not (math.isfinite(value) and ok):
                expected = {
                    "beta1": "in [0, 1)",
                    "beta2": "in [0, 1)",
                    "eps": "> 0",
                }.get(name, ">= 0")
                raise UserInputError(f"adam_params.{name}: expected a finite number {expected}")

        grads = {
            k: (p.grad if p.grad is not None else torch.zeros_like(p))
            for k, p in self._params.items()
        }
        norm = torch.linalg.vector_norm(
            torch.stack([torch.linalg.vector_norm(g) for g in grads.values()])
        )
        grad_norm = float(norm)
        if not math.isfinite(grad_norm):
            self.zero_grad()
            raise UserInputError(
                "optim_step: the accumulated gradient is NaN/inf (check the loss inputs); "
                "the gradients were discarded and the weights left unchanged"
            )
        scale = 1.0
        if grad_clip_norm > 0:
            scale = min(1.0, grad_clip_norm / (grad_norm + 1e-6))  # as torch clip_grad_norm_

        self.step += 1
        bias1 = 1 - beta1**self.step
        bias2_sqrt = math.sqrt(1 - beta2**self.step)
        with torch.no_grad():
            for key, p in self._params.items():
                g = grads[key] * scale if scale != 1.0 else grads[key]
                m, v = self._exp_avg[key], self._exp_avg_sq[key]
                p.mul_(1 - learning_rate * weight_decay)
                m.lerp_(g, 1 - beta1)
                v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
                denom = (v.sqrt() / bias2_sqrt).add_(eps)
                p.addcdiv_(m, denom, value=-learning_rate / bias1)
        self.zero_grad()
        return {
            "grad_norm:mean": grad_norm,
            "grad_norm_clipped:mean": grad_norm * scale,
            "learning_rate:mean": float(learning_rate),
            "optim_step:max": float(self.step),
        }

    # -- state -------------------------------------------------------------------------------
    def adapter_tensors(self) -> dict[str, torch.Tensor]:
        """A snapshot (copies) of the LoRA weights, keyed like a peft adapter file."""
        return {k: p.detach().to("cpu", copy=True) for k, p in self._params.items()}

    def state_tensors(self, include_optimizer: bool = True) -> dict[str, torch.Tensor]:
        """Everything needed to resume training (a snapshot; safe to save asynchronously)."""
        out = {_ADAPTER_PREFIX + k: t for k, t in self.adapter_tensors().items()}
        if include_optimizer:
            for k in self._params:
                out[_EXP_AVG_PREFIX + k] = self._exp_avg[k].to("cpu", copy=True)
                out[_EXP_AVG_SQ_PREFIX + k] = self._exp_avg_sq[k].to("cpu", copy=True)
            out[_STEP_KEY] = torch.tensor(self.step, dtype=torch.int64)
        return out

    def load_state_tensors(
        self, tensors: Mapping[str, torch.Tensor], load_optimizer: bool = True
    ) -> None:
        """Restore `state_tensors` output. Without the optimizer, Adam restarts from scratch.

        Pending (accumulated, not yet applied) gradients are discarded either way.
        """

        def section(prefix: str) -> dict[str, torch.Tensor]:
            return state_section(tensors, prefix)

        adapter = adapter_from_state(tensors)
        if not adapter:
            raise UserInputError("checkpoint: contains no adapter weights (not a training state?)")
        exp_avg, exp_avg_sq = section(_EXP_AVG_PREFIX), section(_EXP_AVG_SQ_PREFIX)
        if load_optimizer and (_STEP_KEY not in tensors or not exp_avg or not exp_avg_sq):
            raise UserInputError(
                "checkpoint: has no optimizer state; it was saved without the optimizer "
                "(load the weights only instead)"
            )
        load_adapter_into(self._params, adapter, "checkpoint")
        self._reset_optimizer()
        if load_optimizer:
            load_adapter_into(self._exp_avg, exp_avg, "checkpoint optimizer exp_avg")
            load_adapter_into(self._exp_avg_sq, exp_avg_sq, "checkpoint optimizer exp_avg_sq")
            self.step = int(tensors[_STEP_KEY].item())
        self.zero_grad()

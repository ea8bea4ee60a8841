"""Sampling (with a KV cache) and prompt log-probabilities from a base model or a LoRA snapshot."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import torch

from .errors import UserInputError
from .models import (
    LoraSpec,
    build_base_model,
    build_lora_model,
    cache_kwarg,
    load_adapter_into,
    load_model_tokenizer,
)
from .presets import ModelPreset, get_preset
from .runtime import current as current_runtime
from .trainer import check_tokens

if TYPE_CHECKING:
    from .trainer import LoraTrainer

DEFAULT_MAX_TOKENS = 64
StopReason = Literal["length", "stop"]


@dataclass
class SampledSequence:
    tokens: list[int]
    logprobs: list[float]  # log p(token) under the model at temperature 1 (see Sampler.sample)
    stop_reason: StopReason


@dataclass
class SampleResult:
    sequences: list[SampledSequence]
    # Entry i is log p(prompt[i] | prompt[:i]); entry 0 is None (nothing predicts it).
    prompt_logprobs: list[float | None] | None = None
    # Entry i: the k most likely (token, logprob) at position i, most likely first; entry 0 None.
    topk_prompt_logprobs: list[list[tuple[int, float]] | None] | None = None


class Sampler:
    """Samples from a base model, optionally with a (frozen snapshot of a) LoRA adapter.

    The adapter is applied unmerged, exactly as in `LoraTrainer`, so prompt logprobs equal the
    trainer's forward logprobs bit for bit when the trainer sees that datum alone (batched with
    longer, right-padded datums they agree to float rounding, ~1e-6).
    """

    def __init__(
        self,
        base_model: str,
        adapter: Mapping[str, torch.Tensor] | None = None,
        lora_spec: LoraSpec | None = None,
    ) -> None:
        self.preset = get_preset(base_model)
        self.lora_spec = lora_spec
        self.model: Any
        if adapter is None:
            self.model = build_base_model(base_model)  # the shared copy: read-only use
        else:
            if lora_spec is None or lora_spec.base_model != base_model:
                raise UserInputError(
                    "lora_spec: an adapter needs the LoraSpec it was trained with, "
                    f"for base_model {base_model!r}"
                )
            self.model, params = build_lora_model(lora_spec, seed=None)
            load_adapter_into(params, adapter, "adapter")
            for p in params.values():
                p.requires_grad_(False)

    @classmethod
    def from_trainer(cls, trainer: LoraTrainer) -> Sampler:
        """A sampler over a snapshot of the trainer's current weights (later steps don't leak)."""
        return cls(trainer.base_model, trainer.adapter_tensors(), trainer.lora_spec)

    @property
    def base_model(self) -> str:
        return self.preset.name

    @property
    def vocab_size(self) -> int:
        return self.preset.vocab_size

    @property
    def max_seq_len(self) -> int:
        return self.preset.max_position_embeddings

    @property
    def tokenizer_id(self) -> str:
        return self.preset.tokenizer_id

    # -- prompt logprobs ---------------------------------------------------------------------
    def _prefill(self, prompt: list[int]) -> tuple[Any, torch.Tensor | None]:
        """Run all prompt tokens but the last; return (cache, logprobs [L-1, V] or None).

        Stopping one token short makes the shapes identical to the trainer's forward on a datum
        whose input is prompt[:-1] (hence bit-identical logprobs); the last prompt token is then
        fed as the first decoding step, which yields the first sampled token's distribution.
        """
        from transformers import DynamicCache

        cache = DynamicCache()
        if len(prompt) == 1:
            return cache, None
        ids = torch.tensor([prompt[:-1]], dtype=torch.long, device=current_runtime().device)
        kwargs = {cache_kwarg(self.base_model): cache}
        out = self.model(
            input_ids=ids, attention_mask=torch.ones_like(ids), use_cache=True, **kwargs
        )
        # The DynamicCache is updated in place, so we keep our own reference to it.
        return cache, torch.log_softmax(out.logits[0].float(), dim=-1)

    def compute_prompt_logprobs(self, prompt: Sequence[int]) -> list[float | None]:
        """log p(prompt[i] | prompt[:i]) for each i; the first entry is None."""
        tokens = self._check_prompt(prompt)
        with torch.no_grad():
            _, lp = self._prefill(tokens)
        return _prompt_logprobs(tokens, lp)

    # -- sampling ----------------------------------------------------------------------------
    def _check_prompt(self, prompt: Sequence[int]) -> list[int]:
        tokens = check_tokens(prompt, self.vocab_size, "prompt").tolist()
        if len(tokens) > self.max_seq_len:
            raise UserInputError(
                f"prompt: length {len(tokens)} exceeds the context length {self.max_seq_len} "
                f"of {self.base_model}"
            )
        return tokens

    def sample(
        self,
        prompt: Sequence[int],
        num_samples: int = 1,
        max_tokens: int | None = None,
        temperature: float = 1.0,
        top_k: int = -1,
        top_p: float = 1.0,
        seed: int | None = None,
        stop: str | Sequence[str] | Sequence[int] | None = None,
        include_prompt_logprobs: bool = False,
        topk_prompt_logprobs: int = 0,
    ) -> SampleResult:
        """Sample `num_samples` continuations of `prompt` together, in one batch.

        - temperature 0 is greedy; top_k -1 (or 0) means no limit; top_p is nucleus sampling.
        - The same `seed` gives the same samples; None draws a fresh random seed.
        - Generation stops (stop_reason "stop") on eos, on a stop token id, or once the decoded
          generated text contains a stop string; the stopping token is included in `tokens`.
          Otherwise it stops after `max_tokens` (stop_reason "length"), default
          min(64, room left in the context).
        - Reported per-token logprobs are log-softmax of the *raw* logits (temperature 1, no
          top-k/top-p truncation): the model's own probability of the token, which is what a
          trainer computes for the same sequence, so importance ratios start at ~1.
        """
        tokens = self._check_prompt(prompt)
        max_new = self._check_params(
            len(tokens), num_samples, max_tokens, temperature, top_k, top_p, topk_prompt_logprobs
        )
        stop_ids, stop_strings = _parse_stop(stop, self.vocab_size)
        stop_ids.add(self.preset.eos_token_id)
        stop_ids.update(self.preset.stop_token_ids)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise UserInputError(f"seed: expected an integer or null, got {seed!r}")
        generator = torch.Generator()
        if seed is None:
            generator.seed()
        else:
            generator.manual_seed(seed % (2**63))

        with torch.no_grad():
            cache, prompt_lp = self._prefill(tokens)
            result = SampleResult(sequences=[])
            if include_prompt_logprobs:
                result.prompt_logprobs = _prompt_logprobs(tokens, prompt_lp)
            if topk_prompt_logprobs > 0:
                result.topk_prompt_logprobs = _topk_prompt_logprobs(prompt_lp, topk_prompt_logprobs)
            result.sequences = self._generate(
                cache,
                tokens[-1],
                num_samples,
                max_new,
                temperature,
                top_k,
                top_p,
                generator,
                stop_ids,
                stop_strings,
            )
        return result

    def _check_params(
        self,
        prompt_len: int,
        num_samples: int,
        max_tokens: int | None,
        temperature: float,
        top_k: int,
        top_p: float,
        topk_prompt_logprobs: int,
    ) -> int:
        def is_int(x: object) -> bool:
            return isinstance(x, int) and not isinstance(x, bool)

        if not is_int(num_samples) or num_samples < 1:
            raise UserInputError(f"num_samples: expected an integer >= 1, got {num_samples!r}")
        room = self.max_seq_len - prompt_len
        if max_tokens is None:
            max_new = min(DEFAULT_MAX_TOKENS, room)
        elif not is_int(max_tokens) or max_tokens < 0:
            raise UserInputError(
                f"sampling_params.max_tokens: expected an integer >= 0, got {max_tokens!r}"
            )
        elif max_tokens > room:
            raise UserInputError(
                f"sampling_params.max_tokens: prompt length {prompt_len} + max_tokens "
                f"{max_tokens} exceeds the context length {self.max_seq_len} of {self.base_model}"
            )
        else:
            max_new = max_tokens
        if not (isinstance(temperature, int | float) and math.isfinite(temperature)) or (
            temperature < 0
        ):
            raise UserInputError(
                f"sampling_params.temperature: expected a finite number >= 0, got {temperature!r}"
            )
        if not is_int(top_k) or top_k < -1:
            raise UserInputError(
                f"sampling_params.top_k: expected -1 (no limit) or an integer >= 1, got {top_k!r}"
            )
        if not (isinstance(top_p, int | float) and 0 < top_p <= 1):
            raise UserInputError(
                f"sampling_params.top_p: expected a number in (0, 1], got {top_p!r}"
            )
        if not is_int(topk_prompt_logprobs) or not 0 <= topk_prompt_logprobs <= self.vocab_size:
            raise UserInputError(
                f"topk_prompt_logprobs: expected an integer in [0, {self.vocab_size}], "
                f"got {topk_prompt_logprobs!r}"
            )
        return max_new

    def _generate(
        self,
        cache: Any,
        last_prompt_token: int,
        num_samples: int,
        max_new: int,
        temperature: float,
        top_k: int,
        top_p: float,
        generator: torch.Generator,
        stop_ids: set[int],
        stop_strings: list[str],
    ) -> list[SampledSequence]:
        seqs = [SampledSequence([], [], "length") for _ in range(num_samples)]
        if max_new == 0:
            return seqs
        if num_samples > 1:
            cache.batch_repeat_interleave(num_samples)
        decode = _decoder(self.preset) if stop_strings else None
        # A stop string of k chars spans at most 4k byte tokens (+ slack for a cut character).
        window = 4 * max((len(s) for s in stop_strings), default=0) + 4

        cache_arg = cache_kwarg(self.base_model)
        active = list(range(num_samples))  # rows of the cache, in order, still generating
        device = current_runtime().device
        next_input = torch.full(
            (num_samples, 1), last_prompt_token, dtype=torch.long, device=device
        )
        for step in range(max_new):
            out = self.model(input_ids=next_input, use_cache=True, **{cache_arg: cache})
            logits = out.logits[:, -1, :].float().cpu()  # sampled on the CPU: seeds portable
            chosen = _choose(logits, temperature, top_k, top_p, generator)
            logprobs = torch.log_softmax(logits, dim=-1).gather(-1, chosen[:, None])[:, 0]
            keep: list[int] = []
            for row, seq_idx in enumerate(active):
                seq = seqs[seq_idx]
                token = int(chosen[row])
                seq.tokens.append(token)
                seq.logprobs.append(float(logprobs[row]))
                if token in stop_ids or (
                    decode is not None
                    and any(s in decode(seq.tokens[-window:]) for s in stop_strings)
                ):
                    seq.stop_reason = "stop"
                else:
                    keep.append(row)
            if not keep or step == max_new - 1:
                break
            if len(keep) < len(active):  # drop finished rows from the batch and the cache
                cache.batch_select_indices(torch.tensor(keep, device=device))
                active = [active[r] for r in keep]
                chosen = chosen[keep]
            next_input = chosen[:, None].to(device)
        return seqs


def _choose(
    logits: torch.Tensor,
    temperature: float,
    top_k: int,
    top_p: float,
    generator: torch.Generator,
) -> torch.Tensor:
    """Pick one token per row: greedy at temperature 0, else temperature/top-k/top-p sampling."""
    if temperature == 0:
        return logits.argmax(dim=-1)
    scores = logits / temperature
    if 0 < top_k < scores.shape[-1]:
        kth = torch.topk(scores, top_k, dim=-1).values[:, -1:]
        scores = scores.masked_fill(scores < kth, float("-inf"))
    if top_p < 1:
        sorted_scores, order = torch.sort(scores, dim=-1, descending=True)
        probs = torch.softmax(sorted_scores, dim=-1)
        # Drop a token if the tokens ranked before it already cover top_p (the top one stays).
        drop_sorted = (torch.cumsum(probs, dim=-1) - probs) >= top_p
        drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
        scores = scores.masked_fill(drop, float("-inf"))
    probs = torch.softmax(scores, dim=-1)
    return torch.multinomial(probs, 1, generator=generator)[:, 0]


def _prompt_logprobs(tokens: list[int], lp: torch.Tensor | None) -> list[float | None]:
    out: list[float | None] = [None]
    if lp is not None:
        targets = torch.tensor(tokens[1:], dtype=torch.long, device=lp.device)
        out += lp.gather(-1, targets[:, None])[:, 0].tolist()
    return out


def _topk_prompt_logprobs(lp: torch.Tensor | None, k: int) -> list[list[tuple[int, float]] | None]:
    out: list[list[tuple[int, float]] | None] = [None]
    if lp is not None:
        values, ids = torch.topk(lp, k, dim=-1)  # sorted, most likely first
        out += [
            list(zip(row_ids, row_vals, strict=True))
            for row_ids, row_vals in zip(ids.tolist(), values.tolist(), strict=True)
        ]
    return out


def _parse_stop(
    stop: str | Sequence[str] | Sequence[int] | None, vocab_size: int
) -> tuple[set[int], list[str]]:
    """Split `stop` into token ids and strings, validating each."""
    if stop is None:
        return set(), []
    items: list[Any] = [stop] if isinstance(stop, str) else list(stop)
    if all(isinstance(s, str) for s in items):
        if any(s == "" for s in items):
            raise UserInputError("sampling_params.stop: stop strings must be non-empty")
        return set(), list(items)
    if all(isinstance(s, int) and not isinstance(s, bool) for s in items):
        bad = [s for s in items if not 0 <= s < vocab_size]
        if bad:
            raise UserInputError(
                f"sampling_params.stop: token id(s) {bad} out of range [0, {vocab_size})"
            )
        return set(items), []
    raise UserInputError(
        "sampling_params.stop: expected a string, a list of strings or a list of token ids "
        f"(not a mix), got {stop!r}"
    )


def _decoder(preset: ModelPreset) -> Any:
    tokenizer = load_model_tokenizer(preset)

    def decode(ids: list[int]) -> str:
        return str(tokenizer.decode(ids))

    return decode

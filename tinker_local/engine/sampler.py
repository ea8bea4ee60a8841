"""Sampling (with a KV cache) and prompt log-probabilities from a base model or a LoRA snapshot."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch

from .batching import DecodeRequest, NoTurns, Turns, decoder_for, new_adapter_key
from .errors import UserInputError
from .models import LoraSpec, build_lora_model, load_adapter_into, load_model_tokenizer
from .presets import ModelPreset, get_preset
from .token_choice import Sampling
from .trainer import check_tokens

if TYPE_CHECKING:
    from .trainer import LoraTrainer

DEFAULT_MAX_TOKENS = 64
# Draws are with replacement, so k may exceed the vocabulary; bounded to keep the answer
# (len(prompt) - 1 rows of k ids and logprobs) a reasonable size.
MAX_PROMPT_ALT_TOKENS_K = 4096
StopReason = Literal["length", "stop"]


@dataclass
class SampledSequence:
    tokens: list[int]
    logprobs: list[float]  # log p(token) under the model at temperature 1 (see Sampler.sample)
    stop_reason: StopReason
    # Per token: the k most likely (token, logprob) at that step, most likely first.
    topk_logprobs: list[list[tuple[int, float]]] | None = None


@dataclass
class SampleResult:
    sequences: list[SampledSequence]
    # Entry i is log p(prompt[i] | prompt[:i]); entry 0 is None (nothing predicts it).
    prompt_logprobs: list[float | None] | None = None
    # Entry i: the k most likely (token, logprob) at position i, most likely first; entry 0 None.
    topk_prompt_logprobs: list[list[tuple[int, float]] | None] | None = None
    # [len(prompt) - 1, K]: cell [i, j] is log p(ids[i, j] | prompt[:i + 1]); 0.0 where id -1.
    target_prompt_logprobs: np.ndarray | None = None
    # prompt_alt_tokens_k draws: (int64 ids, float32 logprobs), both [len(prompt) - 1, k].
    prompt_alt_tokens: tuple[np.ndarray, np.ndarray] | None = None


class Sampler:
    """Samples from a base model, optionally with a (frozen snapshot of a) LoRA adapter.

    Decoding goes through the base model's `BatchDecoder`, so concurrent requests (from other
    threads, taking turns via `turns`) are decoded together; a request alone decodes exactly
    like a one-request batch. The adapter is applied unmerged, exactly as in `LoraTrainer`,
    so prompt logprobs equal the trainer's forward logprobs bit for bit when the trainer sees
    that datum alone (batched with longer, right-padded datums they agree to float rounding).
    """

    def __init__(
        self,
        base_model: str,
        adapter: Mapping[str, torch.Tensor] | None = None,
        lora_spec: LoraSpec | None = None,
    ) -> None:
        self.preset = get_preset(base_model)
        self.lora_spec = lora_spec
        self._adapter: tuple[LoraSpec, dict[str, torch.Tensor]] | None = None
        self.adapter_key: str | None = None
        if adapter is not None:
            if lora_spec is None or lora_spec.base_model != base_model:
                raise UserInputError(
                    "lora_spec: an adapter needs the LoraSpec it was trained with, "
                    f"for base_model {base_model!r}"
                )
            self._check_adapter(lora_spec, adapter)
            tensors = {k: t.detach().to("cpu", copy=True) for k, t in adapter.items()}
            self._adapter = (lora_spec, tensors)
            self.adapter_key = new_adapter_key()

    @staticmethod
    def _check_adapter(spec: LoraSpec, adapter: Mapping[str, torch.Tensor]) -> None:
        """Fail now (not at the first sample) if the tensors do not fit the spec's layout."""
        _, params = build_lora_model(spec, seed=None)
        load_adapter_into(params, adapter, "adapter")

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

    def _request(self, tokens: list[int], **kwargs: Any) -> DecodeRequest:
        return DecodeRequest(
            prompt=tokens, adapter_key=self.adapter_key, adapter=self._adapter, **kwargs
        )

    # -- prompt logprobs ---------------------------------------------------------------------
    def compute_prompt_logprobs(self, prompt: Sequence[int]) -> list[float | None]:
        """log p(prompt[i] | prompt[:i]) for each i; the first entry is None."""
        tokens = self._check_prompt(prompt)
        request = self._request(
            tokens, num_samples=1, max_new=0, sampling=Sampling(temperature=0.0), is_stop=_never
        )
        with torch.no_grad():
            decoder_for(self.base_model).prefill(request)
        return _prompt_logprobs(tokens, request.prompt_logprobs)

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
        turns: Turns | None = None,
        topk_sample_logprobs: int = 0,
        target_prompt_ids: np.ndarray | None = None,
        prompt_alt_tokens_k: int = 0,
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
        - `turns`: how this thread shares the compute with others (the server's scheduler);
          other threads' requests on the same base model are decoded in the same batch.
        - `topk_sample_logprobs` k: each sampled token also gets the k most likely tokens of its
          step with their logprobs (same distribution as `logprobs`).
        - `target_prompt_ids` ([len(prompt) - 1, K] int64, -1 = nothing asked): the logprob of
          each named id at prompt position i + 1, from the same prefill.
        - `prompt_alt_tokens_k` k: k independent draws (with replacement, at `temperature`,
          without top-k/top-p) from the next-token distribution at every prompt position after
          the first, from the same prefill, with their logprobs (same distribution as
          `logprobs`). Drawn from a generator of their own (derived from `seed`), so asking
          for them leaves the sampled sequences unchanged.
        """
        tokens = self._check_prompt(prompt)
        max_new = self._check_params(
            len(tokens), num_samples, max_tokens, temperature, top_k, top_p, topk_prompt_logprobs
        )
        self._check_k("topk_sample_logprobs", topk_sample_logprobs)
        if not (
            isinstance(prompt_alt_tokens_k, int)
            and not isinstance(prompt_alt_tokens_k, bool)
            and 0 <= prompt_alt_tokens_k <= MAX_PROMPT_ALT_TOKENS_K
        ):
            raise UserInputError(
                f"prompt_alt_tokens_k: expected an integer in [0, {MAX_PROMPT_ALT_TOKENS_K}], "
                f"got {prompt_alt_tokens_k!r}"
            )
        if target_prompt_ids is not None:
            _check_target_ids(target_prompt_ids, len(tokens), self.vocab_size)
        stop_ids, stop_strings = _parse_stop(stop, self.vocab_size)
        stop_ids.add(self.preset.eos_token_id)
        stop_ids.update(self.preset.stop_token_ids)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise UserInputError(f"seed: expected an integer or null, got {seed!r}")
        # Seeded by the request alone: its draws do not depend on what it is batched with.
        generator = random.Random(seed % (2**63) if seed is not None else None)
        request = self._request(
            tokens,
            num_samples=num_samples,
            max_new=max_new,
            sampling=Sampling(temperature, top_k, top_p, generator),
            is_stop=_stop_check(self.preset, stop_ids, stop_strings),
            topk=topk_sample_logprobs,
            wants_prompt_logprobs=(
                include_prompt_logprobs
                or topk_prompt_logprobs > 0
                or target_prompt_ids is not None
                or prompt_alt_tokens_k > 0
            ),
        )
        with torch.no_grad():
            decoder_for(self.base_model).run(request, turns or NoTurns())
        result = SampleResult(
            sequences=[
                SampledSequence(
                    t, lp, "stop" if stopped else "length", top if topk_sample_logprobs else None
                )
                for t, lp, stopped, top in zip(
                    request.tokens,
                    request.logprobs,
                    request.stopped,
                    request.topk_logprobs,
                    strict=True,
                )
            ]
        )
        if target_prompt_ids is not None:
            result.target_prompt_logprobs = _target_logprobs(
                request.prompt_logprobs, target_prompt_ids
            )
        if prompt_alt_tokens_k > 0:
            result.prompt_alt_tokens = _alt_tokens(
                request.prompt_logprobs, prompt_alt_tokens_k, temperature, _alt_generator(seed)
            )
        if include_prompt_logprobs:
            result.prompt_logprobs = _prompt_logprobs(tokens, request.prompt_logprobs)
        if topk_prompt_logprobs > 0:
            result.topk_prompt_logprobs = _topk_prompt_logprobs(
                request.prompt_logprobs, topk_prompt_logprobs
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
        self._check_k("topk_prompt_logprobs", topk_prompt_logprobs)
        return max_new

    def _check_k(self, field: str, k: int) -> None:
        if not isinstance(k, int) or isinstance(k, bool) or not 0 <= k <= self.vocab_size:
            raise UserInputError(
                f"{field}: expected an integer in [0, {self.vocab_size}], got {k!r}"
            )


def _never(*_: Any) -> Any:
    raise AssertionError("not called: nothing is decoded")


def _stop_check(
    preset: ModelPreset, stop_ids: set[int], stop_strings: list[str]
) -> Callable[[list[int], int], bool]:
    decode = _decoder(preset) if stop_strings else None
    # A stop string of k chars spans at most 4k byte tokens (+ slack for a cut character).
    window = 4 * max((len(s) for s in stop_strings), default=0) + 4

    def is_stop(tokens: list[int], token: int) -> bool:
        if token in stop_ids:
            return True
        return decode is not None and any(s in decode(tokens[-window:]) for s in stop_strings)

    return is_stop


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


def _alt_generator(seed: int | None) -> torch.Generator:
    """The prompt_alt_tokens draws' own generator: a fixed function of the request's seed (so
    the same seed gives the same draws) that does not share the sampled tokens' stream."""
    generator = torch.Generator()
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed((seed * 6364136223846793005 + 1442695040888963407) % (2**63))
    return generator


def _alt_tokens(
    lp: torch.Tensor | None, k: int, temperature: float, generator: torch.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """k draws per prompt position from softmax(lp / temperature) (argmax at temperature 0),
    and their logprobs under `lp`: int64 and float32 arrays of shape [len(prompt) - 1, k]."""
    if lp is None:  # a one-token prompt: no position after the first
        return np.zeros((0, k), np.int64), np.zeros((0, k), np.float32)
    lp = lp.float().cpu()  # drawn on the CPU: seeds portable across devices
    if temperature == 0:
        ids = lp.argmax(dim=-1, keepdim=True).expand(-1, k)
    else:
        probs = torch.softmax(lp / temperature, dim=-1)
        ids = torch.multinomial(probs, k, replacement=True, generator=generator)
    values = lp.gather(-1, ids)
    return ids.numpy().astype(np.int64), values.numpy().astype(np.float32)


def _check_target_ids(ids: np.ndarray, prompt_len: int, vocab_size: int) -> None:
    field = "target_prompt_logprobs"
    if ids.ndim != 2 or ids.shape[0] != prompt_len - 1:
        raise UserInputError(
            f"{field}: expected shape [len(prompt) - 1, K] = [{prompt_len - 1}, K], "
            f"got {list(ids.shape)}"
        )
    if ids.shape[1] > vocab_size:
        raise UserInputError(f"{field}: at most {vocab_size} ids per position, got {ids.shape[1]}")
    bad = ids[(ids != -1) & ((ids < 0) | (ids >= vocab_size))]
    if bad.size:
        raise UserInputError(
            f"{field}: token id {int(bad[0])} out of range [0, {vocab_size}) (-1 asks nothing)"
        )
    if not (ids >= 0).any():
        raise UserInputError(f"{field}: names no token id (every cell is -1)")


def _target_logprobs(lp: torch.Tensor | None, ids: np.ndarray) -> np.ndarray:
    assert lp is not None  # a prompt of 2+ tokens (checked) was prefilled
    index = torch.from_numpy(np.where(ids < 0, 0, ids)).to(device=lp.device, dtype=torch.long)
    values = lp.gather(-1, index).float().cpu().numpy()
    return np.where(ids < 0, np.float32(0.0), values).astype(np.float32)


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

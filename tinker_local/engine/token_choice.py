"""Choosing the next token of every row of a decode step at once.

Each request has its own sampling settings and its own seeded generator. The batch decoder
used to call a per-request `torch.multinomial` (a softmax, a draw and their overheads per
request per step); here every row of a step is chosen in a few vectorised calls, while a row's
token stays a function of its own logits and its own request's generator only, so a request
decoded in a batch gets exactly the draws it gets alone:

- a sampled row takes one uniform number from its request's generator per step (drawn in row
  order), and picks its token by the inverse CDF of its distribution (the first token whose
  cumulative probability exceeds u * total). The generator is a `random.Random` (Mersenne
  Twister, 53-bit floats): drawing one number costs ~0.1 us, where a `torch.rand` call costs
  ~10-20 us of dispatch, which for 256 requests a step cost more than the forward;
- rows with the same settings (temperature, top-k, top-p) share their softmax, masks and
  search; greedy rows (temperature 0) take the argmax and draw nothing.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

# Rows x vocabulary entries per float64 cumulative-sum block (bounds the search's memory):
# on the CPU a block that stays in cache; on an accelerator one block for a whole decode step
# (256 rows of a 128k vocabulary are 33M entries), each block being a few kernel launches.
_CDF_BLOCK = 1 << 21
_CDF_BLOCK_ACCELERATOR = 1 << 26


@dataclass(frozen=True)
class Sampling:
    """How a request picks its tokens: temperature 0 is greedy; top_k <= 0 means no limit."""

    temperature: float = 1.0
    top_k: int = -1
    top_p: float = 1.0
    generator: random.Random | None = None  # required unless greedy
    key: tuple[float, int, float] = field(init=False)  # rows with one key share their work
    draw: Callable[[], float] = field(init=False, repr=False)  # the next uniform in [0, 1)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", (self.temperature, self.top_k, self.top_p))
        if self.greedy:
            draw: Callable[[], float] = float  # float() is 0.0: greedy rows draw nothing
        else:
            if self.generator is None:
                raise ValueError("a sampled request needs a generator")
            draw = self.generator.random
        object.__setattr__(self, "draw", draw)

    @property
    def greedy(self) -> bool:
        return self.temperature == 0


def choose_tokens(logits: torch.Tensor, samplings: Sequence[Sampling]) -> torch.Tensor:
    """One token id per row of `logits` ([B, V] float32, on the CPU or a device with float64,
    such as CUDA: the choice runs where the logits are, so a GPU does not copy [B, V] to the
    CPU every step); `samplings[i]` is row i's. The uniforms come from the requests' CPU
    generators on every device.

    A request's rows are consecutive and draw their uniforms in row order (one each), so a
    request's tokens do not depend on the other rows of the batch.
    """
    device = logits.device
    u = torch.tensor([s.draw() for s in samplings], dtype=torch.float64, device=device)
    first = samplings[0].key
    if all(s.key == first for s in samplings):  # the common case: one set of settings
        return _choose(logits, u, samplings[0])
    chosen = torch.empty(logits.shape[0], dtype=torch.long, device=device)
    by_key: dict[tuple[float, int, float], list[int]] = {}
    for i, s in enumerate(samplings):
        by_key.setdefault(s.key, []).append(i)
    for rows in by_key.values():
        index = torch.tensor(rows, dtype=torch.long, device=device)
        chosen[index] = _choose(logits[index], u[index], samplings[rows[0]])
    return chosen


def _choose(logits: torch.Tensor, u: torch.Tensor, sampling: Sampling) -> torch.Tensor:
    if sampling.greedy:
        return logits.argmax(dim=-1)
    return _inverse_cdf(_probs(logits, sampling.temperature, sampling.top_k, sampling.top_p), u)


def _probs(logits: torch.Tensor, temperature: float, top_k: int, top_p: float) -> torch.Tensor:
    """softmax(logits / temperature), restricted to the top-k, then to the top-p nucleus."""
    scores = logits / temperature if temperature != 1 else logits
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
    return torch.softmax(scores, dim=-1)


def _inverse_cdf(probs: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Per row, the first token whose cumulative probability exceeds u * total (u in [0, 1)):
    token i with probability probs[i] / total; a zero-probability token is never picked."""
    n, v = probs.shape
    out = torch.empty(n, dtype=torch.long, device=probs.device)
    block = _CDF_BLOCK if probs.device.type == "cpu" else _CDF_BLOCK_ACCELERATOR
    step = max(1, block // max(v, 1))
    for start in range(0, n, step):
        cdf = probs[start : start + step].double().cumsum(dim=-1)
        total = cdf[:, -1:]
        # Strictly below the total, so the search ends on a token of positive probability.
        target = torch.minimum(
            u[start : start + step, None] * total, torch.nextafter(total, total.new_zeros(()))
        )
        out[start : start + step] = torch.searchsorted(cdf, target, right=True)[:, 0]
    return out

"""Choosing the next token of every row of a decode step at once.

Each request has its own sampling settings and its own seeded generator. The batch decoder
used to call a per-request `torch.multinomial` (a softmax, a draw and their overheads per
request per step); here every row of a step is chosen in a few vectorised calls, while a row's
token stays a function of its own logits and its own request's generator only, so a request
decoded in a batch gets exactly the draws it gets alone:

- a sampled row takes one uniform number from its request's generator per step (drawn in row
  order, one call per request), and picks its token by the inverse CDF of its distribution
  (the first token whose cumulative probability exceeds u * total);
- rows with the same settings (temperature, top-k, top-p) share their softmax, masks and
  search; greedy rows (temperature 0) take the argmax and draw nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

# Rows x vocabulary entries per float64 cumulative-sum block (bounds the search's memory).
_CDF_BLOCK = 1 << 21


@dataclass(frozen=True)
class Sampling:
    """How a request picks its tokens: temperature 0 is greedy; top_k <= 0 means no limit."""

    temperature: float = 1.0
    top_k: int = -1
    top_p: float = 1.0
    generator: torch.Generator | None = None  # required unless greedy

    @property
    def greedy(self) -> bool:
        return self.temperature == 0

    def key(self) -> tuple[float, int, float]:
        return (self.temperature, self.top_k, self.top_p)


def choose_tokens(
    logits: torch.Tensor, groups: Sequence[tuple[Sampling, int, int]]
) -> torch.Tensor:
    """One token id per row of `logits` ([B, V] float32, CPU).

    `groups`: (sampling, start, stop) for consecutive row ranges covering the batch, in row
    order (one range per request); a sampled range draws stop - start uniforms from its
    generator, in this order.
    """
    b = logits.shape[0]
    chosen = torch.empty(b, dtype=torch.long)
    by_key: dict[tuple[float, int, float], list[tuple[int, int]]] = {}
    uniforms: list[torch.Tensor] = []
    for sampling, start, stop in groups:
        by_key.setdefault(sampling.key(), []).append((start, stop))
        if not sampling.greedy:
            assert sampling.generator is not None, "a sampled request needs a generator"
            uniforms.append(
                torch.rand(stop - start, generator=sampling.generator, dtype=torch.float64)
            )
    u_by_row = torch.zeros(b, dtype=torch.float64)
    if uniforms:
        index = [r for s, start, stop in groups if not s.greedy for r in range(start, stop)]
        u_by_row[index] = torch.cat(uniforms)
    for (temperature, top_k, top_p), ranges in by_key.items():
        rows = _rows(ranges, b)
        part = logits if rows is None else logits[rows]
        if temperature == 0:
            picked = part.argmax(dim=-1)
        else:
            u = u_by_row if rows is None else u_by_row[rows]
            picked = _inverse_cdf(_probs(part, temperature, top_k, top_p), u)
        if rows is None:
            chosen = picked
        else:
            chosen[rows] = picked
    return chosen


def _rows(ranges: list[tuple[int, int]], b: int) -> torch.Tensor | None:
    """The row indices of `ranges` (None: every row, in order)."""
    if len(ranges) == 1 and ranges[0] == (0, b):
        return None
    return torch.tensor([r for start, stop in ranges for r in range(start, stop)], dtype=torch.long)


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
    out = torch.empty(n, dtype=torch.long)
    step = max(1, _CDF_BLOCK // max(v, 1))
    for start in range(0, n, step):
        cdf = probs[start : start + step].double().cumsum(dim=-1)
        total = cdf[:, -1:]
        # Strictly below the total, so the search ends on a token of positive probability.
        target = torch.minimum(
            u[start : start + step, None] * total, torch.nextafter(total, total.new_zeros(()))
        )
        out[start : start + step] = torch.searchsorted(cdf, target, right=True)[:, 0]
    return out

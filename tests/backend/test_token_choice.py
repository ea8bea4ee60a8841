"""Choosing a decode step's tokens for every row at once (`engine.token_choice`): each row's
token depends only on its logits and its own request's generator, masked tokens are never
picked, and the draws follow the distribution."""

from __future__ import annotations

import random

import torch

from tinker_local.engine.token_choice import Sampling, choose_tokens

VOCAB = 50


def _logits(rows: int, seed: int) -> torch.Tensor:
    return torch.randn(rows, VOCAB, generator=torch.Generator().manual_seed(seed)) * 3


def _sampling(temperature: float, top_k: int, top_p: float, seed: int) -> Sampling:
    return Sampling(temperature, top_k, top_p, random.Random(seed))


SETTINGS = [
    (1.0, -1, 1.0),
    (0.0, -1, 1.0),  # greedy
    (0.7, 5, 1.0),
    (1.3, -1, 0.8),
    (1.0, 10, 0.5),
    (1.0, -1, 1.0),  # same settings as the first: shares its group
]


def test_a_batch_chooses_what_each_request_chooses_alone() -> None:
    counts = [3, 1, 2, 4, 1, 2]
    logits = _logits(sum(counts), 0)
    steps = 5
    batched, alone = [], []
    batch_requests = [_sampling(*s, seed=i) for i, s in enumerate(SETTINGS)]
    solo_requests = [_sampling(*s, seed=i) for i, s in enumerate(SETTINGS)]
    for step in range(steps):
        step_logits = logits + step
        rows = [
            sampling for sampling, n in zip(batch_requests, counts, strict=True) for _ in range(n)
        ]
        batched.append(choose_tokens(step_logits, rows).tolist())
        row = []
        start = 0
        for sampling, n in zip(solo_requests, counts, strict=True):
            row += choose_tokens(step_logits[start : start + n], [sampling] * n).tolist()
            start += n
        alone.append(row)
    assert batched == alone
    # Greedy rows are the argmax; sampled rows do not all follow it.
    greedy_row = counts[0]
    assert all(
        b[greedy_row] == int((logits[greedy_row] + i).argmax()) for i, b in enumerate(batched)
    )
    assert any(b[0] != int((logits[0] + i).argmax()) for i, b in enumerate(batched))


def test_masked_tokens_are_never_chosen() -> None:
    logits = _logits(400, 1)
    sampling = _sampling(1.0, 3, 1.0, 5)
    chosen = choose_tokens(logits, [sampling] * 400)
    top3 = torch.topk(logits, 3, dim=-1).indices
    assert bool((top3 == chosen[:, None]).any(dim=-1).all())
    # A token of probability zero (a -inf logit) is never drawn, wherever it sits.
    spiky = torch.full((400, VOCAB), float("-inf"))
    spiky[:, 0] = 0.0
    spiky[:, VOCAB - 2] = 0.0
    chosen = choose_tokens(spiky, [_sampling(1.0, -1, 1.0, 6)] * 400)
    assert set(chosen.tolist()) == {0, VOCAB - 2}


def test_draws_follow_the_distribution() -> None:
    n = 20_000
    logits = torch.log(torch.tensor([0.5, 0.3, 0.15, 0.05, 0.0]))[None].repeat(n, 1)
    chosen = choose_tokens(logits, [_sampling(1.0, -1, 1.0, 7)] * n)
    freq = torch.bincount(chosen, minlength=5).float() / n
    # 4 standard deviations of a binomial proportion at n = 20,000: at most 0.015.
    assert torch.allclose(freq, torch.tensor([0.5, 0.3, 0.15, 0.05, 0.0]), atol=0.015)
    # Temperature 2 flattens it: probabilities proportional to p ** 0.5.
    chosen = choose_tokens(logits, [_sampling(2.0, -1, 1.0, 8)] * n)
    freq = torch.bincount(chosen, minlength=5).float() / n
    flat = torch.tensor([0.5, 0.3, 0.15, 0.05, 0.0]) ** 0.5
    assert torch.allclose(freq, flat / flat.sum(), atol=0.015)


def test_the_same_seed_gives_the_same_tokens() -> None:
    logits = _logits(8, 2)
    first = choose_tokens(logits, [_sampling(1.0, -1, 1.0, 9)] * 8)
    again = choose_tokens(logits, [_sampling(1.0, -1, 1.0, 9)] * 8)
    other = choose_tokens(logits, [_sampling(1.0, -1, 1.0, 10)] * 8)
    assert first.tolist() == again.tolist() != other.tolist()

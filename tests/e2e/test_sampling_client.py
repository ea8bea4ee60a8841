"""SamplingClient end to end against the local backend."""

from __future__ import annotations

import asyncio

import pytest

import tinker_hl as tinker
from tinker_hl import types

MODEL = "local/tiny-llama"
PROMPT = types.ModelInput.from_ints(list(b"Once upon a time"))


@pytest.fixture(scope="module")
def sampler(service: tinker.ServiceClient) -> tinker.SamplingClient:
    return service.create_sampling_client(base_model=MODEL)


def test_sample_with_logprobs_and_stop_reasons(sampler: tinker.SamplingClient) -> None:
    response = sampler.sample(
        PROMPT, num_samples=3, sampling_params=types.SamplingParams(max_tokens=6, seed=7)
    ).result()
    assert len(response.sequences) == 3
    for seq in response.sequences:
        assert seq.stop_reason in ("length", "stop")
        assert len(seq.logprobs) == len(seq.tokens) <= 6
        assert all(lp <= 0 for lp in seq.logprobs)


def test_seeded_sampling_is_reproducible(sampler: tinker.SamplingClient) -> None:
    params = types.SamplingParams(max_tokens=8, seed=123, temperature=1.0)
    a = sampler.sample(PROMPT, 2, params).result()
    b = sampler.sample(PROMPT, 2, params).result()
    assert [s.tokens for s in a.sequences] == [s.tokens for s in b.sequences]


def test_prompt_logprobs_and_topk(sampler: tinker.SamplingClient) -> None:
    response = sampler.sample(
        PROMPT,
        1,
        types.SamplingParams(max_tokens=1),
        include_prompt_logprobs=True,
        topk_prompt_logprobs=3,
    ).result()
    assert response.prompt_logprobs[0] is None
    assert len(response.prompt_logprobs) == PROMPT.length
    topk = response.topk_prompt_logprobs
    assert topk[0] is None and len(topk[1]) == 3
    logprobs = sampler.compute_logprobs(PROMPT).result()
    assert logprobs[1:] == pytest.approx(response.prompt_logprobs[1:], rel=1e-5)


def test_stop_token(sampler: tinker.SamplingClient) -> None:
    greedy = sampler.sample(PROMPT, 1, types.SamplingParams(max_tokens=8, temperature=0.0))
    tokens = greedy.result().sequences[0].tokens
    stop_at = tokens[2]
    stopped = sampler.sample(
        PROMPT, 1, types.SamplingParams(max_tokens=8, temperature=0.0, stop=[stop_at])
    ).result()
    seq = stopped.sequences[0]
    assert seq.stop_reason == "stop"
    assert seq.tokens[-1] == stop_at and len(seq.tokens) <= 3


def test_invalid_sampling_params_rejected_before_sending(sampler: tinker.SamplingClient) -> None:
    with pytest.raises(tinker.ValidationError, match="top_p"):
        sampler.sample(PROMPT, 1, types.SamplingParams(max_tokens=4, top_p=1.5))
    with pytest.raises(tinker.ValidationError, match="num_samples"):
        sampler.sample(PROMPT, 0, types.SamplingParams(max_tokens=4))
    with pytest.raises(tinker.ValidationError, match="prompt"):
        sampler.sample(types.ModelInput.from_ints([]), 1, types.SamplingParams(max_tokens=4))


async def test_async_sampling_concurrently(sampler: tinker.SamplingClient) -> None:
    params = types.SamplingParams(max_tokens=3)
    results = await asyncio.gather(*(sampler.sample_async(PROMPT, 1, params) for _ in range(8)))
    assert all(len(r.sequences) == 1 for r in results)
    logprobs = await sampler.compute_logprobs_async(PROMPT)
    assert len(logprobs) == PROMPT.length


def test_unknown_sampler_checkpoint_is_an_error(service: tinker.ServiceClient) -> None:
    with pytest.raises((tinker.NotFoundError, tinker.RequestFailedError, tinker.BadRequestError)):
        service.create_sampling_client(model_path="tinker://no-such-run/sampler_weights/x")
    # The client passes paths on as given (a server knows its own layout); the server names
    # the field it refuses. Only what cannot be a path at all is refused before sending.
    with pytest.raises(tinker.BadRequestError, match="model_path"):
        service.create_sampling_client(model_path="not-a-tinker-path")
    with pytest.raises(tinker.ValidationError):
        service.create_sampling_client(model_path="")

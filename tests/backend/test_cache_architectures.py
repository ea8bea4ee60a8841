"""Sampling from architectures whose cache is not plain attention: a sliding-window model
(Mistral; its rows share the batch's cache) and a hybrid of convolution and attention layers
(LFM2; its requests decode one at a time). Each sampled token's logprob must equal a plain
forward over the whole sequence, which a wrong cache (a window or a convolution state lost,
rows mixed up) would break."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import torch

from tinker_local.engine import Sampler, build_base_model
from tinker_local.engine.batching import decoder_for
from tinker_local.engine.hf_models import register_model

from .test_real_models import llama3_tokenizer

WINDOW = 4
PROMPTS = [list(range(1000, 1012)), list(range(2000, 2005)), list(range(3000, 3009))]


def _config(arch: str, vocab: int, **extra: Any) -> Any:
    from transformers import Lfm2Config, MistralConfig

    common: dict[str, Any] = dict(
        vocab_size=vocab,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        intermediate_size=64,
        max_position_embeddings=256,
        bos_token_id=128000,
        eos_token_id=128009,
        pad_token_id=128004,
        initializer_range=0.2,  # spread-out logits: varied tokens, even greedily
    )
    if arch == "mistral":
        return MistralConfig(head_dim=16, **common, **extra)
    return Lfm2Config(layer_types=["conv", "full_attention"], **common, **extra)


def _serve(arch: str, folder: Path, name: str, **extra: Any) -> Sampler:
    from transformers import AutoModelForCausalLM

    tok = llama3_tokenizer()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = AutoModelForCausalLM.from_config(_config(arch, len(tok), **extra))
    model.save_pretrained(str(folder))
    tok.save_pretrained(str(folder))
    register_model(f"{name}={folder}")
    return Sampler(name)


@pytest.fixture(scope="module")
def sliding(tmp_path_factory: pytest.TempPathFactory) -> Sampler:
    folder = tmp_path_factory.mktemp("mistral")
    return _serve("mistral", folder, "acme/sliding-mistral", sliding_window=WINDOW)


@pytest.fixture(scope="module")
def hybrid(tmp_path_factory: pytest.TempPathFactory) -> Sampler:
    return _serve("lfm2", tmp_path_factory.mktemp("lfm2"), "acme/conv-attention-lfm2")


def _forward_logprobs(sampler: Sampler, prompt: list[int], tokens: list[int]) -> list[float]:
    """The logprob of each sampled token from one forward over prompt + tokens, no cache."""
    model = build_base_model(sampler.base_model)
    ids = torch.tensor([prompt + tokens[:-1]])
    with torch.no_grad():
        logits = model(input_ids=ids, use_cache=False).logits[0, len(prompt) - 1 :].float()
    picked = torch.log_softmax(logits, dim=-1).gather(-1, torch.tensor(tokens)[:, None])
    return picked[:, 0].tolist()


def _sample(sampler: Sampler, prompt: list[int], seed: int) -> Any:
    # Stopping on a seventh of the vocabulary: rows of one request end at different steps
    # (finished rows are compacted away mid-request).
    stop = list(range(0, 128000, 7))
    return sampler.sample(prompt, 3, 24, temperature=1.0, seed=seed, stop=stop)


def _check_against_forward(sampler: Sampler, prompt: list[int], result: Any) -> None:
    for sequence in result.sequences:
        expected = _forward_logprobs(sampler, prompt, sequence.tokens)
        assert sequence.logprobs == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize("which", ["sliding", "hybrid"])
def test_sampled_logprobs_equal_a_plain_forward(which: str, request: Any) -> None:
    sampler: Sampler = request.getfixturevalue(which)
    ended_apart = False
    for seed, prompt in enumerate(PROMPTS):
        result = _sample(sampler, prompt, seed)
        ended_apart |= len({len(s.tokens) for s in result.sequences}) > 1
        _check_against_forward(sampler, prompt, result)
    assert ended_apart  # some rows left while others decoded on
    greedy = sampler.sample(PROMPTS[0], 1, 3 * WINDOW, temperature=0.0)
    assert len(set(greedy.sequences[0].tokens)) > 2  # the check above sees varied tokens
    _check_against_forward(sampler, PROMPTS[0], greedy)


def test_the_window_changes_the_outcome(sliding: Sampler, tmp_path: Path) -> None:
    # Otherwise the sliding-window check above could not tell a window from none.
    unwindowed = _serve("mistral", tmp_path, "acme/unwindowed-mistral")
    prompt = PROMPTS[0]
    tokens = sliding.sample(prompt, 1, 8, temperature=0.0).sequences[0].tokens
    assert _forward_logprobs(unwindowed, prompt, tokens) != pytest.approx(
        _forward_logprobs(sliding, prompt, tokens), abs=1e-3
    )


@pytest.mark.parametrize(("which", "batched"), [("sliding", True), ("hybrid", False)])
def test_concurrent_requests_equal_one_at_a_time(which: str, batched: bool, request: Any) -> None:
    sampler: Sampler = request.getfixturevalue(which)
    decoder = decoder_for(sampler.base_model)
    assert decoder.mergeable is batched
    alone = [_sample(sampler, p, seed) for seed, p in enumerate(PROMPTS)]
    together: list[Any] = [None] * len(PROMPTS)

    def run(i: int) -> None:
        together[i] = _sample(sampler, PROMPTS[i], i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(PROMPTS))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for one, other in zip(alone, together, strict=True):
        assert other is not None
        for a, b in zip(one.sequences, other.sequences, strict=True):
            assert a.tokens == b.tokens and a.stop_reason == b.stop_reason
            assert a.logprobs == pytest.approx(b.logprobs, abs=1e-5)
    rows = 3 * len(PROMPTS)
    if batched:  # (the threads may not all arrive within one burst: at least two did)
        assert decoder.max_rows_seen > 3
    else:
        assert decoder.max_rows_seen == 3 < rows

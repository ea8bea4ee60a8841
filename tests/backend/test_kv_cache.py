"""The decoder's KV cache layers grow in place and hold what concatenation would."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from transformers import DynamicCache
from transformers.cache_utils import DynamicLayer

from tinker_local.engine import Sampler, kv_cache
from tinker_local.engine.kv_cache import GrowingLayer, new_cache, trim_leading_columns

MODEL = "local/tiny-llama"


def _kv(rows: int, length: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    shape = (rows, 2, length, 8)
    return torch.randn(shape, generator=g), torch.randn(shape, generator=g)


def _same(layer: GrowingLayer, reference: DynamicLayer) -> None:
    assert layer.get_seq_length() == reference.get_seq_length()
    assert torch.equal(layer.keys, reference.keys)
    assert torch.equal(layer.values, reference.values)


def test_appends_hold_what_concatenation_holds_and_reallocate_rarely() -> None:
    layer, reference = GrowingLayer(), DynamicLayer()
    buffers = set()
    for step, length in enumerate([12, *[1] * 300, 5, *[1] * 50]):
        k, v = _kv(3, length, step)
        keys, values = layer.update(k, v)
        ref_keys, ref_values = reference.update(k, v)
        assert torch.equal(keys, ref_keys) and torch.equal(values, ref_values)
        buffers.add(layer._keys.buffer.data_ptr())  # type: ignore[union-attr]
    _same(layer, reference)
    # Grown by half again each time it fills: a dozen buffers for 368 positions, not 352.
    assert len(buffers) <= 12


def test_batch_operations_then_appends_match_dynamic_layers() -> None:
    layer, reference = GrowingLayer(), DynamicLayer()
    for step, length in enumerate([7, 1, 1, 1]):
        k, v = _kv(4, length, step)
        layer.update(k, v)
        reference.update(k, v)
    index = torch.tensor([3, 0, 2])
    layer.batch_select_indices(index)
    reference.batch_select_indices(index)
    _same(layer, reference)
    layer.batch_repeat_interleave(2)
    reference.batch_repeat_interleave(2)
    _same(layer, reference)
    for step in range(20):
        k, v = _kv(6, 1, 100 + step)
        layer.update(k, v)
        reference.update(k, v)
    _same(layer, reference)


def test_trimming_leading_columns_then_appending() -> None:
    cache, reference = new_cache(), DynamicCache()
    for step, length in enumerate([9, 1, 1]):
        for layer_index in range(2):
            k, v = _kv(2, length, 10 * step + layer_index)
            cache.update(k, v, layer_index)
            reference.update(k, v, layer_index)
    assert all(type(layer) is GrowingLayer for layer in cache.layers)
    trim_leading_columns(cache, 4)
    trim_leading_columns(reference, 4)
    k, v = _kv(2, 1, 99)
    cache.update(k, v, 0)
    reference.update(k, v, 0)
    for layer, ref in zip(cache.layers, reference.layers, strict=True):
        _same(layer, ref)
    assert cache.get_seq_length() == 9 + 2 - 4 + 1


@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_long_decodes_equal_those_with_concatenating_layers(
    monkeypatch: pytest.MonkeyPatch, temperature: float
) -> None:
    sampler = Sampler(MODEL)
    # Never stopping early, so every row decodes all its tokens (past several regrowths).
    sampler.preset = dataclasses.replace(sampler.preset, eos_token_id=10**6, stop_token_ids=())

    def sample() -> list[tuple[list[int], list[float]]]:
        prompt = list(range(40, 60))
        out = sampler.sample(prompt, 3, max_tokens=200, temperature=temperature, seed=5)
        return [(s.tokens, s.logprobs) for s in out.sequences]

    growing = sample()
    monkeypatch.setattr("tinker_local.engine.batching.new_cache", DynamicCache)
    concatenating = sample()
    assert kv_cache.new_cache is new_cache  # only the decoder's name was replaced
    for (tokens, logprobs), (ref_tokens, ref_logprobs) in zip(growing, concatenating, strict=True):
        assert len(tokens) == 200
        assert tokens == ref_tokens
        assert logprobs == pytest.approx(ref_logprobs, abs=1e-5)

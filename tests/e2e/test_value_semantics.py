"""A training or sampling call encodes the caller's data before it returns: whatever the caller
does to its objects afterwards, the server gets what was there at the call."""

from __future__ import annotations

import tinker_hl as tinker
from tinker_hl import types

TEXT = list(b"value semantics: what you pass is what is sent")


def _datum() -> types.Datum:
    return types.Datum(
        model_input=types.ModelInput.from_ints(TEXT[:-1]),
        loss_fn_inputs={"target_tokens": TEXT[1:], "weights": [1.0] * (len(TEXT) - 1)},
    )


def test_changing_a_datum_after_the_call_returned_changes_nothing_sent(
    service: tinker.ServiceClient,
) -> None:
    training = service.create_lora_training_client("local/tiny-llama", rank=2, seed=0)
    reference = training.forward([_datum()], "cross_entropy").result().metrics["loss:sum"]

    mutated = _datum()
    futures = []
    for _ in range(3):
        futures.append(training.forward([mutated], "cross_entropy"))
        # Right after the call returned, before the background loop could have sent it:
        mutated.model_input.chunks[0].tokens[:] = [0] * (len(TEXT) - 1)
        mutated.loss_fn_inputs["weights"].data[:] = [0.0] * (len(TEXT) - 1)
        mutated = _datum()
    losses = [f.result().metrics["loss:sum"] for f in futures]
    assert losses == [reference] * 3


def test_changing_a_prompt_after_sample_returned_changes_nothing_sent(
    service: tinker.ServiceClient,
) -> None:
    sampler = service.create_sampling_client(base_model="local/tiny-llama")
    params = types.SamplingParams(max_tokens=4, temperature=0.0)
    expected = sampler.sample(types.ModelInput.from_ints(TEXT[:6]), 1, params).result()
    prompt = types.ModelInput.from_ints(TEXT[:6])
    future = sampler.sample(prompt, 1, params)
    prompt.chunks[0].tokens[:] = [1] * 6
    assert future.result().sequences[0].tokens == expected.sequences[0].tokens

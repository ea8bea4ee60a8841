"""TrainingClient end to end against the local backend: the way research code uses it."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

import tinker_hl as tinker
from tinker_hl import types

MODEL = "local/tiny-llama"
TEXT = b"tinker-hl trains tiny models"


def sft_datum(text: bytes = TEXT) -> types.Datum:
    tokens = list(text)
    return types.Datum(
        model_input=types.ModelInput.from_ints(tokens[:-1]),
        loss_fn_inputs={"target_tokens": tokens[1:], "weights": [1.0] * (len(tokens) - 1)},
    )


@pytest.fixture(scope="module")
def training(service: tinker.ServiceClient) -> tinker.TrainingClient:
    return service.create_lora_training_client(MODEL, rank=4, seed=1)


def test_loss_falls_with_pipelined_steps(service: tinker.ServiceClient) -> None:
    client = service.create_lora_training_client(MODEL, rank=8, seed=0)
    adam = types.AdamParams(learning_rate=5e-2)
    futures = []
    for _ in range(8):  # submitted back to back, nothing awaited in between
        futures.append(client.forward_backward([sft_datum()], "cross_entropy"))
        futures.append(client.optim_step(adam))
    losses = [f.result().metrics["loss:sum"] for f in futures[::2]]
    assert losses[-1] < losses[0] * 0.8, losses


def test_forward_returns_logprobs_per_datum(training: tinker.TrainingClient) -> None:
    data = [sft_datum(b"abc def"), sft_datum(b"hello")]
    out = training.forward(data, "cross_entropy").result()
    assert len(out.loss_fn_outputs) == 2
    logprobs = out.loss_fn_outputs[1]["logprobs"].to_numpy()
    assert logprobs.shape == (4,) and np.all(logprobs <= 0)
    expected_loss = -sum(float(o["logprobs"].to_numpy().sum()) for o in out.loss_fn_outputs)
    assert out.metrics["loss:sum"] == pytest.approx(expected_loss, rel=1e-4)


def test_forward_does_not_change_weights(training: tinker.TrainingClient) -> None:
    first = training.forward([sft_datum()], "cross_entropy").result().metrics["loss:sum"]
    second = training.forward([sft_datum()], "cross_entropy").result().metrics["loss:sum"]
    assert first == second


def test_large_batch_is_chunked_and_combined(
    training: tinker.TrainingClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tinker_hl._chunking as chunking

    data = [sft_datum(bytes([97 + i % 20]) * 6 + TEXT[:10]) for i in range(7)]
    whole = training.forward(data, "cross_entropy").result()
    monkeypatch.setattr(chunking, "MAX_CHUNK_LEN", 3)  # 7 datums -> chunks of 3, 3, 1
    chunked = training.forward(data, "cross_entropy").result()
    assert len(chunked.loss_fn_outputs) == 7
    assert chunked.metrics["loss:sum"] == pytest.approx(whole.metrics["loss:sum"], rel=1e-5)
    for a, b in zip(whole.loss_fn_outputs, chunked.loss_fn_outputs, strict=True):
        np.testing.assert_allclose(a["logprobs"].to_numpy(), b["logprobs"].to_numpy(), rtol=1e-5)


def test_importance_sampling_and_ppo_losses(training: tinker.TrainingClient) -> None:
    tokens = list(TEXT)
    n = len(tokens) - 1
    datum = types.Datum(
        model_input=types.ModelInput.from_ints(tokens[:-1]),
        loss_fn_inputs={
            "target_tokens": tokens[1:],
            # Far below the model's own logprobs (about -5.6 for 259 tokens): every ratio is large.
            "logprobs": np.full(n, -12.0, dtype=np.float32),
            "advantages": np.ones(n, dtype=np.float32),
        },
    )
    is_out = training.forward([datum], "importance_sampling").result()
    ppo_out = training.forward(
        [datum], "ppo", {"clip_low_threshold": 0.9, "clip_high_threshold": 1.1}
    ).result()
    # Every ratio exp(logp + 12) is far above 1.1, so PPO clips each token's objective at 1.1.
    assert ppo_out.metrics["loss:sum"] == pytest.approx(-1.1 * n, rel=1e-4)
    assert is_out.metrics["loss:sum"] < ppo_out.metrics["loss:sum"]


def test_user_error_from_server_is_request_failed(training: tinker.TrainingClient) -> None:
    bad = types.Datum(
        model_input=types.ModelInput.from_ints([1, 2, 100000]),
        loss_fn_inputs={"target_tokens": [2, 3, 4], "weights": [1.0, 1.0, 1.0]},
    )
    with pytest.raises(tinker.RequestFailedError) as info:
        training.forward([bad], "cross_entropy").result()
    assert info.value.category == "user"
    # The model keeps working after a failed request.
    assert training.forward([sft_datum()], "cross_entropy").result().loss_fn_outputs


def test_bad_input_is_rejected_before_sending(training: tinker.TrainingClient) -> None:
    with pytest.raises(tinker.ValidationError) as info:
        training.forward_backward([], "cross_entropy")
    assert "data" in info.value.field
    mismatched = types.Datum(
        model_input=types.ModelInput.from_ints([1, 2, 3]),
        loss_fn_inputs={"target_tokens": [2, 3], "weights": [1.0, 1.0]},
    )
    with pytest.raises(tinker.ValidationError, match="target_tokens"):
        training.forward_backward([mismatched], "cross_entropy")
    with pytest.raises(tinker.ValidationError, match="loss_fn"):
        training.forward_backward([sft_datum()], "not_a_loss")  # type: ignore[arg-type]


def test_save_load_restart_reproduces_next_step_loss(service: tinker.ServiceClient) -> None:
    client = service.create_lora_training_client(MODEL, rank=4, seed=3)
    adam = types.AdamParams(learning_rate=2e-2)
    for _ in range(3):
        client.forward_backward([sft_datum()], "cross_entropy")
        client.optim_step(adam)
    saved = client.save_state("restart-point").result()
    assert saved.path.startswith(f"tinker://{client.model_id}/weights/")

    client.forward_backward([sft_datum()], "cross_entropy")
    client.optim_step(adam).result()
    expected = client.forward([sft_datum()], "cross_entropy").result().metrics["loss:sum"]

    resumed = service.create_training_client_from_state_with_optimizer(saved.path)
    resumed.forward_backward([sft_datum()], "cross_entropy")
    resumed.optim_step(adam).result()
    actual = resumed.forward([sft_datum()], "cross_entropy").result().metrics["loss:sum"]
    assert actual == pytest.approx(expected, rel=1e-6)

    # Without optimizer state the Adam moments restart, so the next step differs.
    fresh = service.create_training_client_from_state(saved.path)
    fresh.forward_backward([sft_datum()], "cross_entropy")
    fresh.optim_step(adam).result()
    restarted = fresh.forward([sft_datum()], "cross_entropy").result().metrics["loss:sum"]
    assert restarted != pytest.approx(expected, rel=1e-9)

    loaded = client.load_state(saved.path).result()
    assert loaded.path in (saved.path, None) or isinstance(loaded.path, str)
    client.load_state_with_optimizer(saved.path).result()


def test_sampling_clients_from_training(training: tinker.TrainingClient) -> None:
    saved = training.save_weights_for_sampler("sampler-e2e").result()
    assert "/sampler_weights/" in saved.path
    named = training.create_sampling_client(saved.path)
    snapshot = training.save_weights_and_get_sampling_client()
    prompt = types.ModelInput.from_ints(list(b"tinker"))
    params = types.SamplingParams(max_tokens=5, temperature=0.0)
    a = named.sample(prompt, 1, params).result().sequences[0].tokens
    b = snapshot.sample(prompt, 1, params).result().sequences[0].tokens
    assert a == b and len(a) <= 5


def test_get_info_and_tokenizer(training: tinker.TrainingClient) -> None:
    info = training.get_info()
    assert info.model_id == training.model_id
    assert info.lora_rank == 4
    tokenizer = training.get_tokenizer()
    assert tokenizer.decode(tokenizer.encode("héllo", add_special_tokens=False)) == "héllo"


async def test_async_twins(service: tinker.ServiceClient) -> None:
    client = await service.create_lora_training_client_async(MODEL, rank=4, seed=5)
    fwd = await client.forward_backward_async([sft_datum()], "cross_entropy")
    step = await client.optim_step_async(types.AdamParams(learning_rate=1e-2))
    result, _ = await asyncio.gather(fwd, step.result_async())
    assert result.metrics["loss:sum"] > 0
    again = await (await client.forward_async([sft_datum()], "cross_entropy"))
    assert again.metrics["loss:sum"] < result.metrics["loss:sum"]
    saved = await (await client.save_state_async("async-ckpt"))
    await (await client.load_state_async(saved.path))
    await (await client.load_state_with_optimizer_async(saved.path))
    sampler_path = (await (await client.save_weights_for_sampler_async("async-sampler"))).path
    sampler = await client.create_sampling_client_async(sampler_path)
    snap = await client.save_weights_and_get_sampling_client_async()
    info = await client.get_info_async()
    assert info.model_id == client.model_id
    assert isinstance(sampler, tinker.SamplingClient) and isinstance(snap, tinker.SamplingClient)
    restored = await service.create_training_client_from_state_async(saved.path)
    restored2 = await service.create_training_client_from_state_with_optimizer_async(saved.path)
    assert restored.model_id != restored2.model_id


def test_futures_are_cached_and_awaitable_twice(training: tinker.TrainingClient) -> None:
    future = training.forward([sft_datum()], "cross_entropy")
    first = future.result()
    assert future.result() is first

    async def twice() -> None:
        assert await future is first
        assert await future.result_async() is first

    asyncio.run(twice())


def test_sync_call_inside_running_loop_does_not_deadlock(training: tinker.TrainingClient) -> None:
    async def notebook_cell() -> float:
        # A sync call inside a running event loop (as in Jupyter) must still complete.
        return (
            training.forward([sft_datum()], "cross_entropy").result(timeout=120).metrics["loss:sum"]
        )

    assert asyncio.run(notebook_cell()) > 0

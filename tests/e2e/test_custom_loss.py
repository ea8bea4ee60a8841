"""forward_backward_custom end to end: real LoRA training of the tiny model on the local backend."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import torch

import tinker_hl as tinker
from tinker_hl import types
from tinker_hl.regularizers import RegularizedLoss, RegularizerTerm, cross_entropy, entropy, l2

MODEL = "local/tiny-llama"
TEXTS = [b"custom losses train too", b"hello tinker", b"abc abc abc abc"]
ADAM = types.AdamParams(learning_rate=2e-2)


def datum(text: bytes, prompt: int = 2) -> types.Datum:
    tokens = list(text)
    n = len(tokens) - 1
    weights = [0.0] * prompt + [1.0] * (n - prompt)
    return types.Datum(
        model_input=types.ModelInput.from_ints(tokens[:-1]),
        loss_fn_inputs={"target_tokens": tokens[1:], "weights": weights},
    )


def batch() -> list[types.Datum]:
    return [datum(t) for t in TEXTS]


def ce_loss(
    data: list[types.Datum], logprobs: list[torch.Tensor]
) -> tuple[torch.Tensor, dict[str, float]]:
    """cross_entropy written by hand: sum(-logprob * weight)."""
    total = torch.stack(
        [
            (-lp * d.loss_fn_inputs["weights"].to_torch()).sum()
            for d, lp in zip(data, logprobs, strict=True)
        ]
    ).sum()
    return total, {"tokens": float(sum(lp.numel() for lp in logprobs))}


def msq_loss(
    data: list[types.Datum], logprobs: list[torch.Tensor]
) -> tuple[torch.Tensor, dict[str, float]]:
    """Nonlinear: the mean over datums of the mean squared logprob."""
    loss = torch.stack([(lp**2).mean() for lp in logprobs]).mean()
    return loss, {
        "msq": loss.item(),
        "max_abs_logprob": max(lp.abs().max().item() for lp in logprobs),
    }


def logprobs_of(client: tinker.TrainingClient, data: list[types.Datum]) -> list[np.ndarray]:
    out = client.forward(data, "cross_entropy").result()
    return [o["logprobs"].to_numpy() for o in out.loss_fn_outputs]


@pytest.fixture(scope="module")
def svc(local_server: Any, owner_key: str) -> Iterator[tinker.ServiceClient]:
    client = tinker.ServiceClient(api_key=owner_key, base_url=local_server.url)
    yield client
    client.close()


def pair(svc: tinker.ServiceClient, seed: int) -> tuple[tinker.TrainingClient, ...]:
    return tuple(svc.create_lora_training_client(MODEL, rank=4, seed=seed) for _ in range(2))


def assert_same(a: list[np.ndarray], b: list[np.ndarray], atol: float = 1e-5) -> None:
    for x, y in zip(a, b, strict=True):
        np.testing.assert_allclose(x, y, atol=atol, rtol=1e-5)


def test_cross_entropy_as_custom_loss_matches_forward_backward(svc: tinker.ServiceClient) -> None:
    plain, custom = pair(svc, seed=7)
    data = batch()
    before = logprobs_of(plain, data)
    assert_same(before, logprobs_of(custom, data))  # same seed, same start

    expected = plain.forward_backward(data, "cross_entropy").result()
    got = custom.forward_backward_custom(data, ce_loss).result()
    assert got.metrics["loss:sum"] == pytest.approx(expected.metrics["loss:sum"], rel=1e-4)
    assert got.metrics["tokens"] == sum(len(t) - 1 for t in TEXTS)  # the user's metric
    assert "surrogate_loss:sum" in got.metrics
    assert len(got.loss_fn_outputs) == len(data)

    plain.optim_step(ADAM).result()
    custom.optim_step(ADAM).result()
    after_plain, after_custom = logprobs_of(plain, data), logprobs_of(custom, data)
    assert_same(after_plain, after_custom)
    # The step did something (so the comparison above is meaningful).
    assert max(float(np.abs(a - b).max()) for a, b in zip(before, after_plain, strict=True)) > 1e-3


def test_nonlinear_custom_loss_trains(svc: tinker.ServiceClient) -> None:
    client = svc.create_lora_training_client(MODEL, rank=4, seed=3)
    data = batch()
    losses = []
    for _ in range(5):
        result = client.forward_backward_custom(data, msq_loss).result()
        assert result.metrics["loss:sum"] == pytest.approx(result.metrics["msq"], rel=1e-6)
        assert "max_abs_logprob" in result.metrics
        losses.append(result.metrics["loss:sum"])
        client.optim_step(ADAM).result()
    assert losses[-1] < losses[0] * 0.9, losses


def test_chunked_batches(svc: tinker.ServiceClient, monkeypatch: pytest.MonkeyPatch) -> None:
    import tinker_hl._chunking as chunking

    whole, chunked = pair(svc, seed=11)
    data = [datum(bytes([97 + i]) * 4 + TEXTS[i % 3]) for i in range(5)]
    expected = whole.forward_backward_custom(data, msq_loss).result()

    requests_before = svc.metrics()["endpoints"]["forward_backward"]["requests"]
    # Chunks of 2 datums (3 chunks) for both the forward pass and the surrogate.
    monkeypatch.setattr(chunking, "MAX_CHUNK_LEN", 2)
    monkeypatch.setattr(chunking.chunk_datums, "__defaults__", (2, chunking.MAX_CHUNK_BYTES_COUNT))
    got = chunked.forward_backward_custom(data, msq_loss).result()
    requests = svc.metrics()["endpoints"]["forward_backward"]["requests"] - requests_before
    assert requests == 3
    assert len(got.loss_fn_outputs) == 5
    assert got.metrics["loss:sum"] == pytest.approx(expected.metrics["loss:sum"], rel=1e-5)
    for a, b in zip(expected.loss_fn_outputs, got.loss_fn_outputs, strict=True):
        np.testing.assert_allclose(a["logprobs"].to_numpy(), b["logprobs"].to_numpy(), rtol=1e-5)

    whole.optim_step(ADAM).result()
    chunked.optim_step(ADAM).result()
    assert_same(logprobs_of(whole, data), logprobs_of(chunked, data))


def test_pipelined_custom_and_optim_steps_keep_their_order(svc: tinker.ServiceClient) -> None:
    waited, pipelined = pair(svc, seed=5)
    data = batch()
    for _ in range(2):  # one call at a time, each awaited
        waited.forward_backward_custom(data, msq_loss).result()
        waited.optim_step(ADAM).result()

    futures: list[Any] = []
    for _ in range(2):  # all submitted back to back, nothing awaited in between
        futures.append(pipelined.forward_backward_custom(data, msq_loss))
        futures.append(pipelined.optim_step(ADAM))
    final = pipelined.forward(data, "cross_entropy")
    for f in futures:
        f.result(timeout=120)
    got = [o["logprobs"].to_numpy() for o in final.result(timeout=120).loss_fn_outputs]
    # Had an optim_step overtaken its custom gradient, the weights would differ.
    assert_same(logprobs_of(waited, data), got)


def test_a_failing_loss_function_does_not_stall_the_client(
    svc: tinker.ServiceClient, local_server: Any
) -> None:
    client = svc.create_lora_training_client(MODEL, rank=4, seed=9)
    data = batch()
    before = logprobs_of(client, data)

    def broken(d: list[types.Datum], lps: list[torch.Tensor]) -> Any:
        raise ZeroDivisionError("user bug")

    failed = client.forward_backward_custom(data, broken)
    step = client.optim_step(ADAM)  # submitted behind the failing call
    started = time.monotonic()
    with pytest.raises(ZeroDivisionError, match="user bug"):
        failed.result(timeout=60)
    step.result(timeout=60)
    assert time.monotonic() - started < 30  # no wait for a missing sequence number
    # No gradient was applied: the step changed nothing.
    assert_same(before, logprobs_of(client, data))

    with pytest.raises(tinker.ValidationError, match="scalar"):
        client.forward_backward_custom(data, lambda d, lps: (lps[0], {})).result(timeout=60)
    client.forward_backward_custom(data, msq_loss).result(timeout=60)  # still works

    if svc.get_telemetry() is not None:  # reported as the caller's error (sent at once)
        deadline = time.monotonic() + 10
        reported: list[dict[str, Any]] = []
        while not reported and time.monotonic() < deadline:
            time.sleep(0.05)
            reported = [
                e
                for b in local_server.store.telemetry_batches()
                if b["session_id"] == svc.session_id
                for e in b["events"]
                if e.get("error_type") == "ZeroDivisionError"
            ]
        assert reported and reported[0]["user_error"] is True


async def test_async_variant(svc: tinker.ServiceClient) -> None:
    client = await svc.create_lora_training_client_async(MODEL, rank=4, seed=2)
    future = await client.forward_backward_custom_async(batch(), msq_loss)
    result = await future
    assert result.metrics["loss:sum"] > 0


def test_regularized_loss_end_to_end(svc: tinker.ServiceClient) -> None:
    client = svc.create_lora_training_client(MODEL, rank=4, seed=4)
    loss = RegularizedLoss(
        base=cross_entropy(),
        terms=[
            RegularizerTerm("l2", l2(center=-1.0), 0.01),
            RegularizerTerm("entropy", entropy(), -0.01),
        ],
        max_workers=2,
    )
    data = batch()
    first = client.forward_backward_custom(data, loss).result()
    metrics = first.metrics
    for name in ("l2", "entropy"):
        for suffix in ("value", "contribution", "grad_norm"):
            assert f"{name}/{suffix}" in metrics
    assert metrics["base/grad_norm"] > 0
    total = metrics["base/value"] + metrics["l2/contribution"] + metrics["entropy/contribution"]
    assert metrics["loss:sum"] == pytest.approx(total, rel=1e-5)
    # The base is cross_entropy: its value is what the server computes for the same batch.
    reference = client.forward(data, "cross_entropy").result()
    assert metrics["base/value"] == pytest.approx(reference.metrics["loss:sum"], rel=1e-4)
    for _ in range(3):
        client.optim_step(types.AdamParams(learning_rate=5e-3)).result()
        last = client.forward_backward_custom(data, loss).result()
    assert last.metrics["loss:sum"] < metrics["loss:sum"]

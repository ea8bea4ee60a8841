"""Operational depth against the local backend: back-pressure, circuit breaker, run recovery,
client metrics."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import pytest

import tinker_hl as tinker
from tinker_hl import types
from tinker_hl._backpressure import SamplingLimits
from tinker_hl._circuit import CircuitBreakerConfig
from tinker_hl.recovery import RunRecovery

MODEL = "local/tiny-llama"


def sft_datum() -> types.Datum:
    tokens = list(b"recover me, please")
    return types.Datum(
        model_input=types.ModelInput.from_ints(tokens[:-1]),
        loss_fn_inputs={"target_tokens": tokens[1:], "weights": [1.0] * (len(tokens) - 1)},
    )


def test_back_pressure_keeps_inflight_bytes_under_budget(
    local_server: object, owner_key: str
) -> None:
    budget = 3_000  # bytes: about three 100-token prompts at 10 bytes a token
    limits = SamplingLimits(max_concurrent=64, max_inflight_bytes=budget)
    with tinker.ServiceClient(
        api_key=owner_key,
        base_url=local_server.url,  # type: ignore[attr-defined]
        sampling_limits=limits,
    ) as service:
        sampler = service.create_sampling_client(base_model=MODEL)
        prompt = types.ModelInput.from_ints([65 + i % 26 for i in range(100)])

        async def burst() -> list[types.SampleResponse]:
            params = types.SamplingParams(max_tokens=2)
            return await asyncio.gather(
                *(sampler.sample_async(prompt, 1, params) for _ in range(12))
            )

        assert len(asyncio.run(burst())) == 12
        sampling = service.metrics()["sampling"]
        assert 0 < sampling["peak_inflight_bytes"] <= budget
        assert sampling["inflight_requests"] == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_circuit_breaker_opens_when_the_service_is_down_and_closes_after(
    tmp_path: Path, owner_key: str
) -> None:
    from tinker_local.launcher import serve_local

    port = _free_port()
    config = CircuitBreakerConfig(enabled=True, failure_threshold=2, cooldown_s=1.0)
    retry = tinker.RetryConfig(enable_retry_logic=False)
    with serve_local(tmp_path, api_keys=[owner_key], port=port) as server:
        service = tinker.ServiceClient(
            api_key=owner_key, base_url=server.url, circuit_breaker=config, retry_config=retry
        )
        assert service.get_server_capabilities().supported_models
    try:
        for _ in range(2):  # the server is gone: connection errors
            with pytest.raises(tinker.APIConnectionError):
                service.get_server_capabilities()
        started = time.monotonic()
        with pytest.raises(tinker.CircuitOpenError):
            service.get_server_capabilities()
        assert time.monotonic() - started < 0.5  # failed fast, no connection attempt
        assert service.metrics()["circuit_breakers"]["get_server_capabilities"] == "open"
        with serve_local(tmp_path, api_keys=[owner_key], port=port):
            time.sleep(1.1)  # the cool-down passes; the next call is the trial
            assert service.get_server_capabilities().supported_models
            assert service.metrics()["circuit_breakers"]["get_server_capabilities"] == "closed"
    finally:
        service.close()


def test_corrupted_run_resumes_from_checkpoint_with_same_next_step_loss(
    local_server: object, service: tinker.ServiceClient
) -> None:
    adam = types.AdamParams(learning_rate=1e-2)
    client = service.create_lora_training_client(MODEL, rank=4, seed=11)
    for _ in range(2):
        client.forward_backward([sft_datum()], "cross_entropy")
        client.optim_step(adam)
    client.save_state("before-corruption").result()

    def step(tc: tinker.TrainingClient) -> float:
        loss = tc.forward_backward([sft_datum()], "cross_entropy").result().metrics["loss:sum"]
        tc.optim_step(adam).result()
        return loss

    recovery = RunRecovery(service, client)
    expected_next = step(client)  # the step taken right after the checkpoint
    local_server.store.mark_run_corrupted(client.model_id)  # type: ignore[attr-defined]

    assert recovery.check() is True
    assert recovery.client.model_id != client.model_id
    assert recovery.run(step) == pytest.approx(expected_next, rel=1e-6)
    assert [event.reason for event in recovery.history] == ["the server marked the run corrupted"]


def test_metrics_match_the_requests_made(local_server: object, owner_key: str) -> None:
    with tinker.ServiceClient(api_key=owner_key, base_url=local_server.url) as service:  # type: ignore[attr-defined]
        client = service.create_lora_training_client(MODEL, rank=2, seed=0)
        for _ in range(3):
            client.forward([sft_datum()], "cross_entropy").result()
        snapshot = service.metrics()
    forward = snapshot["endpoints"]["forward"]
    assert forward["requests"] == 3
    assert forward["errors"] == {}
    assert 0 < forward["latency_s"]["p50"] <= forward["latency_s"]["max"]
    assert snapshot["endpoints"]["create_model"]["requests"] == 1
    assert snapshot["endpoints"]["retrieve_future"]["requests"] >= 4

"""JWT mode end to end, against a local backend run with `jwt=True` (`tinker-hl serve --jwt`):
the client exchanges its API key at auth/token once, sends the token in X-API-Key on every
other request, and exchanges again when the server refuses the token as invalid (a rotated
secret, as after a restart), resending the refused request; sync and async calls, the
standalone RestClient too."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import tinker_hl as tinker
from tinker_hl import types

from .era_proxy import paths, recording_proxy

KEY = "tml-jwt-e2e-key"
MODEL = "local/tiny-llama"
TOKENS = list(b"a token, not the key")


def _datum() -> types.Datum:
    return types.Datum(
        model_input=types.ModelInput.from_ints(TOKENS[:-1]),
        loss_fn_inputs={"target_tokens": TOKENS[1:], "weights": [1.0] * (len(TOKENS) - 1)},
    )


@pytest.fixture(scope="module")
def jwt_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from tinker_local.launcher import serve_local

    data_dir: Path = tmp_path_factory.mktemp("jwt-backend")
    with serve_local(data_dir, api_keys=[KEY], jwt=True) as server:
        yield server


def test_the_key_is_exchanged_once_and_the_token_sent(jwt_server: Any) -> None:
    signer = jwt_server.backend.jwt
    issued_before = signer.issued
    with recording_proxy(jwt_server.url, as_07=False) as (url, seen):
        service = tinker.ServiceClient(api_key=KEY, base_url=url)
        try:
            assert service.holder.features.jwt
            training = service.create_lora_training_client(MODEL, rank=2, seed=1).result()
            loss = training.forward_backward([_datum()], "cross_entropy").result()
            assert loss.metrics["loss:sum"] > 0
            sampler = service.create_sampling_client(base_model=MODEL).result()
            params = types.SamplingParams(max_tokens=2, temperature=0.0)
            assert sampler.sample(types.ModelInput.from_ints(TOKENS), 1, params).result()
        finally:
            service.close()
    assert signer.issued - issued_before == 1
    assert [e.credential for e in paths(seen, "/api/v1/auth/token")] == ["key"]
    assert seen[0].path == "/api/v1/client/config" and seen[0].credential == "key"
    others = [e for e in seen if e.path not in ("/api/v1/client/config", "/api/v1/auth/token")]
    assert others and {e.credential for e in others} == {"jwt"}
    assert {e.status for e in seen} == {200}


def test_a_refused_token_is_exchanged_again_and_the_request_resent(jwt_server: Any) -> None:
    signer = jwt_server.backend.jwt
    with recording_proxy(jwt_server.url, as_07=False) as (url, seen):
        service = tinker.ServiceClient(api_key=KEY, base_url=url)
        try:
            training = service.create_lora_training_client(MODEL, rank=2, seed=1).result()
            first = training.forward([_datum()], "cross_entropy").result()
            issued = signer.issued
            signer.rotate()  # every token issued so far is now refused
            again = training.forward([_datum()], "cross_entropy").result()
            assert signer.issued == issued + 1
            assert again.metrics == first.metrics

            async def after_another_rotation() -> Any:
                signer.rotate()
                return await training.forward_backward_async([_datum()], "cross_entropy")

            output = asyncio.run(after_another_rotation())
            assert output.result().metrics["loss:sum"] > 0
            assert signer.issued == issued + 2
        finally:
            service.close()
    refused = [e for e in seen if e.status == 401]
    assert len(refused) == 2 and {e.credential for e in refused} == {"jwt"}
    assert len(paths(seen, "/api/v1/auth/token")) == 3


def test_standalone_rest_client_uses_the_token(jwt_server: Any) -> None:
    with recording_proxy(jwt_server.url, as_07=False) as (url, seen):
        rest = tinker.RestClient(base_url=url, api_key=KEY)
        try:
            assert rest.list_training_runs(limit=1).result() is not None
        finally:
            rest.close()
    assert [e.path for e in seen[:2]] == ["/api/v1/client/config", "/api/v1/auth/token"]
    assert {e.credential for e in seen[2:]} == {"jwt"}

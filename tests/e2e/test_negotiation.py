"""The client/config probe: what the local backend offers is read from its answer; a server
that does not know client/config gets the JSON protocol, after one request and no retries. A
ServiceClient follows the answer: load_weights-create, sequence ids and session finish against
a current server; weights_info + create_model, JSON and no finish against a 0.7-era one."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import tinker_hl as tinker
from tinker_hl import types
from tinker_hl._http import make_client
from tinker_hl._negotiation import JSON_ONLY, ServerFeatures, fetch_server_features
from tinker_hl._pipeline import CallPipeline

from .era_proxy import paths, recording_proxy
from .fake_server import fake_server, json_answer


def _probe(base_url: str, api_key: str) -> ServerFeatures:
    async def run() -> ServerFeatures:
        client = make_client(base_url, api_key)
        try:
            return await fetch_server_features(CallPipeline(lambda: client))
        finally:
            await client.get_async_httpx_client().aclose()

    return asyncio.run(run())


def test_local_backend_offers_protobuf_and_model_creation(
    local_server: Any, owner_key: str
) -> None:
    features = _probe(local_server.url, owner_key)
    assert features.negotiated
    assert features.protobuf_requests and features.protobuf_results
    assert features.compressed_requests and features.forward_via_forward_backward
    assert features.model_via_load_weights
    assert not features.jwt  # this server runs without --jwt


@pytest.mark.parametrize(
    "status, body",
    [
        (404, b'{"detail": "Not Found"}'),
        (405, b'{"detail": "Method Not Allowed"}'),
        (500, b"<html>oops</html>"),
        (200, b"not json"),
    ],
)
def test_server_without_client_config_gets_json_after_one_probe(status: int, body: bytes) -> None:

    def script(path: str, _body: bytes) -> Any:
        if path.endswith("/client/config"):
            return json_answer(status, body)
        return None

    with fake_server(script) as (url, seen):
        assert _probe(url, "tml-anything") == JSON_ONLY
    assert [path for path, _ in seen] == ["/api/v1/client/config"]  # no retry


def test_unknown_or_missing_flags_are_off() -> None:
    from tinker_api_client.models import ClientConfigResponse

    config = ClientConfigResponse.from_dict({"proto_compress_fwdbwd": True, "new_flag": 1})
    features = ServerFeatures.from_config(config)
    assert features.negotiated
    # zstd alone means nothing without protobuf bodies
    assert not features.protobuf_requests and not features.compressed_requests


# ----- a ServiceClient follows what the server offered ----------------------------------------
MODEL = "local/tiny-llama"
TEXT = b"negotiated protocol"
PROMPT = types.ModelInput.from_ints(list(b"tinker"))
GREEDY = types.SamplingParams(max_tokens=3, temperature=0.0)


def _datum() -> types.Datum:
    tokens = list(TEXT)
    return types.Datum(
        model_input=types.ModelInput.from_ints(tokens[:-1]),
        loss_fn_inputs={"target_tokens": tokens[1:], "weights": [1.0] * (len(tokens) - 1)},
    )


def _sequence_id(sequence: Any) -> Any:
    """SampledSequence.sequence_id, wherever this commit's type keeps a field it may not declare."""
    value = getattr(sequence, "sequence_id", None)
    return value if value is not None else sequence.additional_properties.get("sequence_id")


def _train_restore_sample(service: tinker.ServiceClient) -> tuple[str, str, float, float, Any]:
    training = service.create_lora_training_client(MODEL, rank=4, seed=7).result()
    training.forward_backward([_datum()], "cross_entropy").result()
    training.optim_step(types.AdamParams(learning_rate=1e-2)).result()
    path = training.save_state("negotiated").result().path
    restored = service.create_training_client_from_state(path).result()
    before = training.forward([_datum()], "cross_entropy").result().metrics["loss:sum"]
    after = restored.forward([_datum()], "cross_entropy").result().metrics["loss:sum"]
    sampler = service.create_sampling_client(base_model=MODEL).result()
    sampled = sampler.sample(PROMPT, 2, GREEDY).result()
    return path, restored.model_id, before, after, sampled


def test_current_server_gets_its_protocol(local_server: Any, owner_key: str) -> None:
    with recording_proxy(local_server.url, as_07=False) as (url, seen):
        service = tinker.ServiceClient(api_key=owner_key, base_url=url)
        features = service.holder.features
        assert features.negotiated and features.model_via_load_weights
        _path, model_id, before, after, sampled = _train_restore_sample(service)
        session = service.session_id
        service.close("success").result()
    assert len(paths(seen, "/api/v1/client/config")) == 1  # once per ServiceClient
    # The restored model was created by its load_weights, under the id the protocol defines.
    assert model_id == f"{session}:train:1"
    assert after == pytest.approx(before)  # the weights came with it
    assert not paths(seen, "/api/v1/weights_info") and len(paths(seen, "/api/v1/create_model")) == 1
    ids = [_sequence_id(s) for s in sampled.sequences]
    assert len(ids) == 2 and len(set(ids)) == 2 and all(isinstance(i, str) and i for i in ids)
    assert local_server.store.session_finish(session)[0] == "success"
    assert len(paths(seen, f"/api/v1/sessions/{session}/finish")) == 1


def test_07_era_server_gets_the_json_protocol(local_server: Any, owner_key: str) -> None:
    with recording_proxy(local_server.url, as_07=True) as (url, seen):
        service = tinker.ServiceClient(api_key=owner_key, base_url=url)
        assert service.holder.features == JSON_ONLY
        _path, _model_id, before, after, sampled = _train_restore_sample(service)
        session = service.session_id
        service.close("success").result()
    assert len(paths(seen, "/api/v1/client/config")) == 1  # asked once, never retried
    assert seen[0].path == "/api/v1/client/config"  # before anything else
    # The restored model: weights_info, create_model, then load_weights into it.
    assert len(paths(seen, "/api/v1/weights_info")) == 1
    assert len(paths(seen, "/api/v1/create_model")) == 2
    assert after == pytest.approx(before)
    assert len(sampled.sequences) == 2
    # No finish request to a server of that era; every body was JSON.
    assert not [e for e in seen if e.path.endswith("/finish")]
    assert local_server.store.session_finish(session) is None
    assert {e.sent for e in seen} == {"application/json"}
    assert {e.answered for e in seen} == {"application/json"}

"""The generated layer, replayed from recorded HTTP cassettes (vcrpy): no server, no network.

`make cassettes` re-records them against a fresh local backend (TINKER_HL_RECORD_CASSETTES=1).
The API key travels in the `X-API-Key` header, which is filtered out of every recording.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import vcr
from tinker_api_client import AuthenticatedClient
from tinker_api_client.api.futures import retrieve_future
from tinker_api_client.api.models import create_model, get_info
from tinker_api_client.api.rest import list_training_runs
from tinker_api_client.api.service import create_session, get_server_capabilities, healthz
from tinker_api_client.models import (
    CreateModelRequest,
    CreateModelResponse,
    CreateSessionRequest,
    CreateSessionRequestUserMetadataType0,
    CreateSessionResponse,
    FutureRetrieveRequest,
    GetInfoRequest,
    GetInfoResponse,
    GetServerCapabilitiesResponse,
    HealthResponse,
    LoraConfig,
    TrainingRunsResponse,
    TryAgainResponse,
    UntypedAPIFuture,
)

CASSETTES = Path(__file__).parent / "cassettes"
RECORDING = os.environ.get("TINKER_HL_RECORD_CASSETTES") == "1"
CANARY_KEY = "tml-canary-0123456789abcdef-do-not-leak"
REPLAY_URL = "http://127.0.0.1:8000"

recorder = vcr.VCR(
    cassette_library_dir=str(CASSETTES),
    record_mode="all" if RECORDING else "none",
    # Ports are picked at random when recording; requests replay in order per path.
    match_on=["method", "path", "query"],
    filter_headers=["x-api-key"],
    decode_compressed_response=True,
)


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not RECORDING:
        yield REPLAY_URL
        return
    from tinker_local.launcher import serve_local

    with serve_local(tmp_path_factory.mktemp("cassettes"), api_keys=[CANARY_KEY]) as server:
        yield server.url


def client_for(base_url: str) -> AuthenticatedClient:
    return AuthenticatedClient(
        base_url=base_url, token=CANARY_KEY, prefix="", auth_header_name="X-API-Key"
    )


def wait_for(client: AuthenticatedClient, request_id: str) -> dict[str, Any]:
    while True:
        response = retrieve_future.sync_detailed(
            client=client, body=FutureRetrieveRequest(request_id=request_id)
        )
        assert response.status_code == 200
        if isinstance(response.parsed, TryAgainResponse):
            time.sleep(0.05 if RECORDING else 0)
            continue
        return response.parsed.to_dict()  # type: ignore[union-attr]


def test_service_endpoints(base_url: str) -> None:
    with recorder.use_cassette("service.yaml"):
        client = client_for(base_url)
        assert isinstance(healthz.sync(client=client), HealthResponse)
        caps = get_server_capabilities.sync(client=client)
        assert isinstance(caps, GetServerCapabilitiesResponse)
        assert "local/tiny-llama" in [m.model_name for m in caps.supported_models]


def test_create_model_and_poll_its_future(base_url: str) -> None:
    with recorder.use_cassette("create_model.yaml"):
        client = client_for(base_url)
        session = create_session.sync(
            client=client,
            body=CreateSessionRequest(
                tags=["cassette"],
                user_metadata=CreateSessionRequestUserMetadataType0.from_dict({}),
                sdk_version="tinker-hl-test",
            ),
        )
        assert isinstance(session, CreateSessionResponse)
        submitted = create_model.sync(
            client=client,
            body=CreateModelRequest(
                session_id=session.session_id,
                model_seq_id=0,
                base_model="local/tiny-llama",
                lora_config=LoraConfig(rank=2, seed=0),
            ),
        )
        assert isinstance(submitted, UntypedAPIFuture)
        created = CreateModelResponse.from_dict(wait_for(client, submitted.request_id))
        info = get_info.sync(client=client, body=GetInfoRequest(model_id=created.model_id))
        assert isinstance(info, GetInfoResponse)
        assert info.model_data.tokenizer_id == "local/byte-bpe"
        runs = list_training_runs.sync(client=client, limit=5, offset=0)
        assert isinstance(runs, TrainingRunsResponse)
        assert created.model_id in [r.training_run_id for r in runs.training_runs]


def test_cassettes_never_hold_the_api_key() -> None:
    files = sorted(CASSETTES.glob("*.yaml"))
    assert files, "no cassettes recorded: run `make cassettes`"
    for path in files:
        text = path.read_text()
        assert CANARY_KEY not in text, path
        assert "tml-" not in text, path

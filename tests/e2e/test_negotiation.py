"""The client/config probe: what the local backend offers is read from its answer; a server
that does not know client/config gets the JSON protocol, after one request and no retries."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tinker_hl._http import make_client
from tinker_hl._negotiation import JSON_ONLY, ServerFeatures, fetch_server_features
from tinker_hl._pipeline import CallPipeline

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

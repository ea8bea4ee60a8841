"""Request-encoding workers: build the Datums of one forward_backward from plain lists and
produce the exact HTTP bodies each client puts on the wire (chunked as that client chunks).

The HTTP layer is each client's own (tinker_hl's `make_client` + the generated endpoint; the
Stainless resource + httpx for the official SDK) down to the transport, which answers at once
from memory, so the bytes measured are the bytes that would be sent. The official SDK's aiohttp
option changes only the transport, so its two configurations encode identically (both are
measured). Both official
configurations encode identically (the aiohttp option changes only the transport).
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable, Coroutine
from typing import Any

from _common import REAL_VOCAB, Sizes, sft_rows

Body = bytes
Encoder = Callable[[list[dict[str, list[Any]]]], Coroutine[Any, Any, tuple[float, list[Body]]]]


def _mock_transport(bodies: list[Body]) -> Any:
    import httpx

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content)
        return httpx.Response(200, json={"request_id": "bench-1"})

    return httpx.MockTransport(handler)


def _tinker_hl_forward_backward_encoder(features: Any) -> Encoder:
    """What `TrainingClient.forward_backward` does before the transport, for a server with
    `features`: Datums from lists, `validate_datums_certified` (leaving each list's encoding for
    the encoder), `chunk_datums`, `_forward_wire.prepare_forward` (JSON through the generated
    request model, or protobuf through numpy then zstd), then `_http.call` on the HTTP client
    tinker_hl really uses (`tinker_hl._http.make_client`), whose last step
    (`AiohttpClient.send_raw`, the aiohttp exchange) is swapped for an in-memory answer."""
    from tinker_api_client.api.training import forward_backward

    from tinker_hl import types
    from tinker_hl._chunking import chunk_datums
    from tinker_hl._forward_wire import certification_for, prepare_forward
    from tinker_hl._http import call, make_client
    from tinker_hl._transport import AiohttpClient, WireResponse
    from tinker_hl.types._validation import validate_datums_certified

    bodies: list[Body] = []

    async def answer(self: Any, method: str, url: Any, headers: Any, body: bytes) -> Any:
        bodies.append(body)
        return WireResponse(200, b'{"request_id": "bench-1"}', {})

    # Only in this worker process: the bytes reach the wire's edge, nothing is sent.
    AiohttpClient.send_raw = answer  # type: ignore[method-assign]
    clients: list[Any] = []

    async def encode(rows: list[dict[str, list[Any]]]) -> tuple[float, list[Body]]:
        if not clients:  # built on the loop that uses it, as tinker_hl does
            clients.append(make_client("http://bench.invalid", "tml-bench"))
        client = clients[0]
        bodies.clear()
        data = [
            types.Datum(
                model_input=types.ModelInput.from_ints(r["tokens"]),
                loss_fn_inputs={"target_tokens": r["targets"], "weights": r["weights"]},
            )
            for r in rows
        ]
        built = time.process_time()
        certified = certification_for(features, True)
        data = validate_datums_certified(data, "cross_entropy", certified)
        prepared = [
            prepare_forward(
                features,
                "bench:train:0",
                seq_id,
                types.ForwardBackwardInput(
                    data=chunk,  # type: ignore[arg-type]
                    loss_fn="cross_entropy",  # type: ignore[arg-type]
                ),
                True,
                certified,
            )
            for seq_id, chunk in enumerate(chunk_datums(data), 1)
        ]
        for request in prepared:
            await call("forward_backward", forward_backward, client, prepared=request)
        return built, list(bodies)

    return encode


def tinker_hl_encoder() -> Encoder:
    """tinker_hl against a 0.7-era server: JSON bodies."""
    from tinker_hl._server_features import ServerFeatures

    return _tinker_hl_forward_backward_encoder(ServerFeatures())


def tinker_hl_protobuf_encoder() -> Encoder:
    """tinker_hl against a current server (client/config: protobuf bodies, zstd)."""
    from tinker_hl._server_features import ServerFeatures

    return _tinker_hl_forward_backward_encoder(
        ServerFeatures(
            negotiated=True,
            protobuf_requests=True,
            compressed_requests=True,
            forward_via_forward_backward=True,
        )
    )


def official_038_encoder() -> Encoder:
    """What tinker 0.38.0's `TrainingClient.forward_backward` does before the transport, on a
    server that advertises zstd (as the local backend does): pydantic Datums from lists (its
    TensorData keeps a numpy copy), its proto-size chunking, `ForwardBackwardRequest`, then
    its training resource (the protobuf message, `SerializeToString`, zstd in a thread)."""
    import httpx
    from tinker import types
    from tinker._client import AsyncTinker
    from tinker.lib.public_interfaces.training_client import TrainingClient
    from tinker.types.client_config_response import ClientConfigResponse

    config = ClientConfigResponse(proto_write_fwdbwd=True, proto_compress_fwdbwd=True)

    class Chunker:
        """Borrows the official chunking method without a live client."""

        chunks = TrainingClient._chunked_requests_generator

        def __init__(self) -> None:
            self.holder = self
            self._client_config = config

    chunker = Chunker()
    bodies: list[Body] = []
    client = AsyncTinker(
        api_key="tml-bench",
        base_url="http://bench.invalid",
        http_client=httpx.AsyncClient(transport=_mock_transport(bodies)),
        _client_config=config,
    )

    async def encode(rows: list[dict[str, list[Any]]]) -> tuple[float, list[Body]]:
        bodies.clear()
        data = [
            types.Datum(
                model_input=types.ModelInput.from_ints(r["tokens"]),
                loss_fn_inputs={"target_tokens": r["targets"], "weights": r["weights"]},
            )
            for r in rows
        ]
        built = time.process_time()
        for seq_id, chunk in enumerate(chunker.chunks(data), 1):
            request = types.ForwardBackwardRequest(
                forward_backward_input=types.ForwardBackwardInput(
                    data=chunk.data, loss_fn="cross_entropy", loss_fn_config=None
                ),
                model_id="bench:train:0",
                seq_id=seq_id,
            )
            await client.training.forward_backward(request=request)
        return built, list(bodies)

    return encode


def official_encoder(aiohttp: bool = False) -> Encoder:
    """What tinker 0.7.0's `TrainingClient.forward_backward` does before the transport:
    pydantic Datums from lists, its chunking, `ForwardBackwardRequest`, the Stainless resource
    (`model_dump(mode="json")` then httpx's JSON encoder)."""
    import httpx
    from tinker import types
    from tinker._client import AsyncTinker
    from tinker.lib.internal_client_holder import InternalClientHolder
    from tinker.lib.public_interfaces.training_client import TrainingClient

    class Chunker:
        """Borrows the official chunking methods without a live client."""

        estimate_bytes_count_in_chunk = InternalClientHolder.estimate_bytes_count_in_chunk
        estimate_bytes_count_in_model_input = (
            InternalClientHolder.estimate_bytes_count_in_model_input
        )
        _estimate_bytes_count = TrainingClient._estimate_bytes_count
        chunks = TrainingClient._chunked_requests_generator

        def __init__(self) -> None:
            self.holder = self

    chunker = Chunker()
    bodies: list[Body] = []
    if aiohttp:
        from tinker._base_client import DefaultAioHttpClient

        http_client: Any = DefaultAioHttpClient(transport=_mock_transport(bodies))
    else:
        http_client = httpx.AsyncClient(transport=_mock_transport(bodies))
    client = AsyncTinker(
        api_key="tml-bench", base_url="http://bench.invalid", http_client=http_client
    )

    async def encode(rows: list[dict[str, list[Any]]]) -> tuple[float, list[Body]]:
        bodies.clear()
        data = [
            types.Datum(
                model_input=types.ModelInput.from_ints(r["tokens"]),
                loss_fn_inputs={"target_tokens": r["targets"], "weights": r["weights"]},
            )
            for r in rows
        ]
        built = time.process_time()
        for seq_id, chunk in enumerate(chunker.chunks(data), 1):
            request = types.ForwardBackwardRequest(
                forward_backward_input=types.ForwardBackwardInput(
                    data=chunk, loss_fn="cross_entropy", loss_fn_config=None
                ),
                model_id="bench:train:0",
                seq_id=seq_id,
            )
            await client.training.forward_backward(request=request)
        return built, list(bodies)

    return encode


def bare_encoder() -> Encoder:
    """The floor: plain dicts, one orjson call per chunk (chunked like the SDKs)."""
    import orjson
    from _overhead import bare_datum

    async def encode(rows: list[dict[str, list[Any]]]) -> tuple[float, list[Body]]:
        data = [bare_datum(r) for r in rows]
        built = time.process_time()
        bodies = []
        per_chunk = max(1, 5_000_000 // (30 * len(rows[0]["tokens"])))
        for seq_id, start in enumerate(range(0, len(data), per_chunk), 1):
            body = {
                "forward_backward_input": {
                    "data": data[start : start + per_chunk],
                    "loss_fn": "cross_entropy",
                },
                "model_id": "bench:train:0",
                "seq_id": seq_id,
            }
            bodies.append(orjson.dumps(body))
        return built, bodies

    return encode


ENCODERS: dict[str, Callable[[], Encoder]] = {
    "tinker_hl": tinker_hl_encoder,
    "tinker_hl_protobuf": tinker_hl_protobuf_encoder,
    "official_038": official_038_encoder,
    "official": official_encoder,
    "official_aiohttp": lambda: official_encoder(aiohttp=True),
    "bare_orjson": bare_encoder,
}


def normalized(bodies: list[Body]) -> str:
    """A digest of what the bodies say, ignoring key order, the optional chunk `type` and
    explicit nulls."""
    import hashlib
    import json

    digest = hashlib.sha256()
    if bodies and bodies[0][:4] == b"\x28\xb5\x2f\xfd":  # zstd frames of protobuf bodies
        import zstandard

        reader = zstandard.ZstdDecompressor()
        for body in bodies:  # the message bytes (both SDKs write fields in number order)
            digest.update(reader.decompressobj().decompress(body))
        return "pb:" + digest.hexdigest()[:13]
    for body in bodies:
        payload = json.loads(body)
        fb_input = payload["forward_backward_input"]
        for key in [k for k, v in fb_input.items() if v is None]:  # "loss_fn_config": null
            del fb_input[key]
        for datum in payload["forward_backward_input"]["data"]:
            for chunk in datum["model_input"]["chunks"]:
                chunk.pop("type", None)
        digest.update(json.dumps(payload, sort_keys=True).encode())
    return digest.hexdigest()[:16]


def encode_worker(spec: dict[str, Any], sizes: Sizes) -> dict[str, Any]:
    encode = ENCODERS[spec["client"]]()
    rows = sft_rows(
        spec.get("batch", sizes.encode_datums),
        spec.get("seq", sizes.encode_seq),
        REAL_VOCAB,
        seed=3,
    )

    async def main() -> dict[str, Any]:
        await encode(rows[:2])  # imports, first-call caches
        runs = []
        bodies: list[Body] = []
        for _ in range(spec.get("repeats", sizes.encode_repeats)):
            gc.collect()
            cpu0, wall0 = time.process_time(), time.perf_counter()
            built, bodies = await encode(rows)
            cpu1, wall1 = time.process_time(), time.perf_counter()
            runs.append(
                {"cpu_s": cpu1 - cpu0, "wall_s": wall1 - wall0, "build_cpu_s": built - cpu0}
            )
        best = min(runs, key=lambda r: r["cpu_s"])
        return {
            "datums": len(rows),
            "seq": len(rows[0]["tokens"]),
            "requests": len(bodies),
            "body_bytes": sum(len(b) for b in bodies),
            "cpu_s": best["cpu_s"],
            "wall_s": best["wall_s"],
            "build_cpu_s": best["build_cpu_s"],
            "encode_cpu_s": best["cpu_s"] - best["build_cpu_s"],
            "cpu_s_all": [r["cpu_s"] for r in runs],
            "payload_digest": normalized(bodies),
        }

    return asyncio.run(main())

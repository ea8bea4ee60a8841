"""Secrets and isolation: a canary API key never shows up in logs (DEBUG included), reprs or
exception messages; TLS certificates are verified by default; checkpoint names cannot escape."""

from __future__ import annotations

import logging
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import tinker_hl as tinker
from tinker_hl import types

CANARY = "tml-canary-5f3e9a1c-never-print-me"


@pytest.fixture(scope="module")
def canary_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from tinker_local.launcher import serve_local

    with serve_local(tmp_path_factory.mktemp("canary"), api_keys=[CANARY]) as server:
        yield server


def test_canary_key_never_appears_in_logs_reprs_or_errors(
    canary_server: object, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, httpx and aiohttp included
    texts: list[str] = []
    with tinker.ServiceClient(api_key=CANARY, base_url=canary_server.url) as service:  # type: ignore[attr-defined]
        texts.append(repr(service))
        training = service.create_lora_training_client("local/tiny-llama", rank=2)
        texts.append(repr(training))
        texts.append(repr(service.holder))
        bad = types.Datum(
            model_input=types.ModelInput.from_ints([1, 2, 999_999]),
            loss_fn_inputs={"target_tokens": [1, 2, 3], "weights": [1.0, 1.0, 1.0]},
        )
        for action in (
            lambda: training.forward([bad], "cross_entropy").result(),
            lambda: service.create_rest_client().get_training_run("no-such-run").result(),
            lambda: training.save_state("../escape"),
            lambda: service.create_sampling_client(model_path="tinker://x/sampler_weights/none"),
        ):
            with pytest.raises(tinker.TinkerError) as info:
                action()
            texts.append(str(info.value))
            texts.append(repr(info.value))
        texts.append(repr(service.metrics()))
    texts.append(caplog.text)
    assert caplog.text  # DEBUG logging was really captured
    for text in texts:
        assert CANARY not in text


def test_server_refuses_path_traversal_in_checkpoint_names(canary_server: object) -> None:
    url = canary_server.url  # type: ignore[attr-defined]
    headers = {"X-API-Key": CANARY}
    for name in ("../escape", "a/b", "..", "x\\y"):
        response = httpx.post(
            f"{url}/api/v1/save_weights",
            json={"model_id": "run-nonexistent", "path": name},
            headers=headers,
        )
        assert response.status_code in (400, 404), (name, response.text)
    traversal = httpx.get(
        f"{url}/api/v1/training_runs/..%2F..%2Fetc/checkpoints/weights/passwd/archive",
        headers=headers,
    )
    assert traversal.status_code in (400, 404, 422)


def test_tls_certificates_are_verified_by_default(self_signed_cert: tuple[Path, Path]) -> None:
    cert, key = self_signed_cert
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    handshakes: list[str] = []

    def serve() -> None:
        for _ in range(10):
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            try:
                with context.wrap_socket(conn, server_side=True):
                    handshakes.append("completed")
            except (ssl.SSLError, OSError) as exc:
                handshakes.append(type(exc).__name__)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    retry = tinker.RetryConfig(enable_retry_logic=False)
    try:
        with pytest.raises(tinker.APIConnectionError) as info:
            tinker.ServiceClient(
                api_key=CANARY, base_url=f"https://127.0.0.1:{port}", retry_config=retry
            )
        assert "certificate" in str(info.value).lower() or "ssl" in str(info.value).lower()
        assert CANARY not in str(info.value)
        assert "completed" not in handshakes  # the client refused the untrusted certificate
    finally:
        listener.close()

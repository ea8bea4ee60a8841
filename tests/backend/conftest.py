"""Shared fixtures for the backend server tests: ONE in-process server per test module, with
two users' API keys, and small raw-HTTP clients (httpx) for each user.

A module can change the server's options by defining its own `server_options` fixture.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tinker_local.server.futures import FutureRegistry

KEY_A = "tml-backend-test-user-a"
KEY_B = "tml-backend-test-user-b"
BASE_MODEL = "local/tiny-llama"


@functools.cache
def _operations() -> list[tuple[re.Pattern[str], str, dict[str, Any]]]:
    from tinker_local.server.validation import load_spec

    ops = []
    for path, item in load_spec()["paths"].items():
        pattern = re.compile("^" + re.sub(r"\{[^/]+\}", "[^/]+", path) + "$")
        ops += [(pattern, method.upper(), op) for method, op in item.items()]
    return ops


def check_against_spec(response: httpx.Response) -> None:
    """Every answer of a documented operation must have a documented status and a body that
    matches the spec's schema for it (an httpx response hook)."""
    from tinker_local.server.errors import ApiError
    from tinker_local.server.validation import load_spec, validate

    request = response.request
    path = request.url.path
    op = next((o for p, m, o in _operations() if m == request.method and p.match(path)), None)
    if op is None:
        return  # not an operation of the spec (e.g. the signed archive downloads)
    status = str(response.status_code)
    assert status in op["responses"], f"{request.method} {path}: undocumented status {status}"
    spec_response = op["responses"][status]
    if "$ref" in spec_response:
        spec_response = load_spec()["components"]["responses"][spec_response["$ref"].split("/")[-1]]
    content = spec_response.get("content", {}).get("application/json")
    if content is None or "protobuf" in response.headers.get("content-type", ""):
        return  # protobuf results are checked by decoding them (test_server_protocol.py)
    response.read()
    schema_name = content["schema"]["$ref"].split("/")[-1]
    try:
        validate(schema_name, response.json())
    except ApiError as e:
        raise AssertionError(f"{request.method} {path} -> {status}: {e.message}") from None


class Api:
    """Raw HTTP access to the server as one user, plus a few protocol conveniences. Every
    response is checked against openapi.yaml."""

    def __init__(self, url: str, api_key: str | None) -> None:
        headers = {"X-API-Key": api_key} if api_key else {}
        self.url = url
        self.http = httpx.Client(
            base_url=url,
            headers=headers,
            timeout=60,
            event_hooks={"response": [check_against_spec]},
        )

    def close(self) -> None:
        self.http.close()

    def post(self, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        return self.http.post(path, json=body, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.delete(path, **kwargs)

    def ok(self, path: str, body: Any = None) -> dict[str, Any]:
        """POST and expect 200."""
        response = self.post(path, body)
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data

    def submit(self, path: str, body: Any) -> dict[str, Any]:
        """POST a submitting endpoint; return its UntypedAPIFuture."""
        future = self.ok(path, body)
        assert isinstance(future["request_id"], str)
        return future

    def poll(self, request_id: str) -> dict[str, Any]:
        return self.ok("/api/v1/retrieve_future", {"request_id": request_id})

    def result(self, future: dict[str, Any] | str, timeout: float = 120) -> dict[str, Any]:
        """Poll retrieve_future until the outcome (result or RequestFailedResponse) arrives."""
        request_id = future if isinstance(future, str) else future["request_id"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            body = self.poll(request_id)
            if body.get("type") != "try_again":
                return body
        raise TimeoutError(f"request {request_id} did not finish in {timeout} s")

    def done(self, path: str, body: Any) -> dict[str, Any]:
        """Submit and wait for a successful result."""
        result = self.result(self.submit(path, body))
        assert "error" not in result, result
        return result

    def session(self, **extra: Any) -> str:
        body = {"tags": ["test"], "user_metadata": None, "sdk_version": "test", **extra}
        session_id: str = self.ok("/api/v1/create_session", body)["session_id"]
        return session_id

    def model(self, session_id: str | None = None, rank: int = 4, seed: int = 0) -> str:
        """Create a LoRA model on the tiny preset and wait until it exists."""
        session_id = session_id or self.session()
        body = {
            "session_id": session_id,
            "model_seq_id": _next_seq(),
            "base_model": BASE_MODEL,
            "lora_config": {"rank": rank, "seed": seed},
        }
        model_id: str = self.done("/api/v1/create_model", body)["model_id"]
        return model_id

    @staticmethod
    def datum(tokens: list[int], weights: list[float] | None = None) -> dict[str, Any]:
        """A cross-entropy datum: input tokens[:-1] predicting tokens[1:]."""
        inputs: dict[str, Any] = {"target_tokens": {"data": tokens[1:], "dtype": "int64"}}
        if weights is not None:
            inputs["weights"] = {"data": weights, "dtype": "float32"}
        return {"model_input": {"chunks": [{"tokens": tokens[:-1]}]}, "loss_fn_inputs": inputs}

    @staticmethod
    def fb_body(
        model_id: str,
        seq_id: int | None,
        data: list[dict[str, Any]],
        key: str = "forward_backward_input",
    ) -> dict[str, Any]:
        """A forward_backward (or, with key="forward_input", forward) request body."""
        body: dict[str, Any] = {
            "model_id": model_id,
            key: {"data": data, "loss_fn": "cross_entropy"},
        }
        if seq_id is not None:
            body["seq_id"] = seq_id
        return body


_seq = iter(range(10**9))


def _next_seq() -> int:
    return next(_seq)


@pytest.fixture(scope="module")
def server_options() -> dict[str, Any]:
    return {"long_poll_s": 0.3}


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, server_options: dict[str, Any]
) -> Iterator[Any]:
    from tinker_local.launcher import serve_local

    data_dir: Path = tmp_path_factory.mktemp("backend-server")
    with serve_local(data_dir, api_keys=[KEY_A, KEY_B], **server_options) as running:
        yield running


@pytest.fixture(scope="module")
def api(server: Any) -> Iterator[Api]:
    client = Api(server.url, KEY_A)
    yield client
    client.close()


@pytest.fixture(scope="module")
def other(server: Any) -> Iterator[Api]:
    """A second user: everything of the first user's must look unknown (404) to them."""
    client = Api(server.url, KEY_B)
    yield client
    client.close()


@pytest.fixture(scope="module")
def anonymous(server: Any) -> Iterator[Api]:
    client = Api(server.url, None)
    yield client
    client.close()


@pytest.fixture(scope="module")
def model_id(api: Api) -> str:
    """A model shared by the tests of a module that only read from it."""
    return api.model()


@pytest.fixture(scope="session")
def api_class() -> type[Api]:
    """The Api helper class, for tests that start their own servers."""
    return Api


@pytest.fixture
async def registry() -> AsyncIterator[FutureRegistry]:
    """A started futures registry on its own (no HTTP), with a short seq-gap timeout."""
    reg = FutureRegistry(result_ttl_s=10, undelivered_ttl_s=100, seq_gap_timeout_s=0.3)
    await reg.start()
    yield reg
    await reg.stop()

"""Finding 6: nothing was bounded. Models were never freed (not on session expiry, not on
client close), a user could load any number of rank-1024 models, request bodies of any size
were read into memory, a 5M-token datum was accepted (and failed later), and a 200 MB request
id came back whole in a 404.

Now (every limit a ServerConfig field, so `serve_local(...)` and the command line set them):
models are freed when their session ends (the client's SESSION_END telemetry on close) or
expires (no heartbeat and no use for `session_ttl_s`); `max_models_per_user`,
`max_lora_rank` and `max_total_rank_per_user` cap what one user holds; `max_request_bytes`
caps a body (413, before it is read); `max_tokens_per_request` caps a request's input tokens
and a prompt (400 at submission, naming the datum or the prompt); error messages quote ids
only in part."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import tinker_hl as tinker

LIMITS = {
    "max_models_per_user": 3,
    "max_lora_rank": 8,
    "max_total_rank_per_user": 12,
    "max_request_bytes": 100_000,
    "max_tokens_per_request": 1_000,
}


@pytest.fixture(scope="module")
def hardening_options() -> dict[str, Any]:
    return dict(LIMITS)


def _wait_until(condition: Any, what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s:.0f} s: {what}")
        time.sleep(0.05)


def _create(api: Any, session_id: str, rank: int) -> dict[str, Any]:
    body = {
        "session_id": session_id,
        "model_seq_id": int(time.monotonic_ns() % 2**62),
        "base_model": "local/tiny-llama",
        "lora_config": {"rank": rank},
    }
    outcome: dict[str, Any] = api.result(api.submit("/api/v1/create_model", body))
    return outcome


def _session_end(session_id: str) -> dict[str, Any]:
    event = {
        "event": "SESSION_END",
        "event_id": "end",
        "event_session_index": 1,
        "severity": "INFO",
        "timestamp": "2026-01-01T00:00:00Z",
        "duration": "PT1S",
    }
    return {"session_id": session_id, "platform": "t", "sdk_version": "t", "events": [event]}


@pytest.fixture
def fresh_user(api: Any) -> Iterator[Any]:
    """The module's user with no model loaded (every test leaves its sessions ended)."""
    sessions: list[str] = []
    original = api.session

    def session(**extra: Any) -> str:
        sessions.append(original(**extra))
        return sessions[-1]

    api.session = session
    yield api
    for session_id in sessions:
        api.post("/api/v1/telemetry", _session_end(session_id))


def test_the_models_of_a_session_are_freed_when_its_client_says_it_ended(
    fresh_user: Any, other: Any, hardened_server: Any
) -> None:
    api, backend = fresh_user, hardened_server.backend
    ending, staying = api.session(), api.session()
    gone = api.model(ending, rank=2)
    kept = api.model(staying, rank=2)
    # Another user cannot end someone else's session.
    assert other.post("/api/v1/telemetry", _session_end(ending)).status_code == 200
    assert backend.models[gone].status == "ready"

    assert api.post("/api/v1/telemetry", _session_end(ending)).status_code == 200
    assert backend.models[gone].status == "unloaded" and backend.models[gone].trainer is None
    assert backend.models[kept].status == "ready"
    answer = api.post(
        "/api/v1/forward", api.fb_body(gone, None, [api.datum([1, 2])], "forward_input")
    )
    assert answer.status_code == 404 and "client closed" in answer.json()["error"]
    # Its checkpoints and run stay; the slot it held is free again.
    assert api.get(f"/api/v1/training_runs/{gone}").status_code == 200


def test_closing_a_tinker_hl_client_frees_its_models(
    hardened_server: Any, key: str, fast_retry: Any
) -> None:
    backend = hardened_server.backend
    with tinker.ServiceClient(
        api_key=key, base_url=hardened_server.url, retry_config=fast_retry
    ) as service:
        training = service.create_lora_training_client("local/tiny-llama", rank=2)
        model_id = training.model_id
        assert backend.models[model_id].status == "ready"
    _wait_until(lambda: backend.models[model_id].status == "unloaded", "model freed on close")


def test_the_models_of_an_expired_session_are_freed(tmp_path: Any, raw_api: Any, key: str) -> None:
    from tinker_local.launcher import serve_local

    options = {"compute": "none", "session_ttl_s": 0.5, "session_reap_interval_s": 0.1}
    with serve_local(tmp_path, api_keys=[key], **options) as server:
        api = raw_api(server.url, key)
        idle, alive = api.session(), api.session()
        idle_model, alive_model = api.model(idle, rank=1), api.model(alive, rank=1)
        models = server.backend.models

        def idle_freed() -> bool:
            api.post("/api/v1/session_heartbeat", {"session_id": alive})  # keeps `alive`
            return models[idle_model].status == "unloaded"

        _wait_until(idle_freed, "the idle session's model freed")
        assert models[alive_model].status == "ready"
        assert "expired" in (models[idle_model].failure or "")
        api.close()


def test_per_user_caps_on_models_and_rank(fresh_user: Any, other: Any) -> None:
    api = fresh_user
    session_id = api.session()
    too_big = _create(api, session_id, LIMITS["max_lora_rank"] + 1)
    assert too_big["category"] == "user" and "at most 8" in too_big["error"]
    first = _create(api, session_id, 8)["model_id"]
    over_rank = _create(api, session_id, 5)  # 8 + 5 > 12
    assert over_rank["category"] == "user" and "rank 8 of the 12" in over_rank["error"]
    _create(api, session_id, 2)
    _create(api, session_id, 2)
    over_count = _create(api, session_id, 1)
    assert over_count["category"] == "user" and "3 models loaded" in over_count["error"]
    # Another user has their own allowance.
    other_session = other.session()
    assert "model_id" in _create(other, other_session, 8)
    other.post("/api/v1/telemetry", _session_end(other_session))
    # Unloading a model frees its share.
    api.done("/api/v1/unload_model", {"model_id": first})
    assert "model_id" in _create(api, session_id, 1)


def test_a_body_over_the_limit_is_a_413_before_it_is_read(api: Any) -> None:
    big = b'{"tags": [], "sdk_version": "' + b"x" * 200_000 + b'", "user_metadata": null}'
    answer = api.http.post(
        "/api/v1/create_session", content=big, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 413 and "100000 bytes" in answer.json()["error"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams in
        yield b'{"tags": [], "sdk_version": "'
        for _ in range(50):
            yield b"y" * 10_000
        yield b'", "user_metadata": null}'

    streamed = api.http.post(
        "/api/v1/create_session", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert streamed.status_code == 413, streamed.text


def test_too_many_tokens_in_one_request_is_a_400_at_submission(fresh_user: Any) -> None:
    api = fresh_user
    model_id = api.model(api.session(), rank=1)
    data = [api.datum(list(range(1, 400))) for _ in range(3)]  # 3 x 398 input tokens
    answer = api.post("/api/v1/forward_backward", api.fb_body(model_id, 1, data))
    assert answer.status_code == 400, answer.text
    assert answer.json()["field"] == "forward_backward_input.data.2.model_input"
    assert "1000 input tokens" in answer.json()["error"]
    # Its seq id was consumed: the next request runs.
    ok = api.done("/api/v1/forward_backward", api.fb_body(model_id, 2, data[:2]))
    assert "loss_fn_outputs" in ok


def test_a_prompt_over_the_token_limit_is_a_400_at_submission(api: Any) -> None:
    body = {
        "base_model": "local/tiny-llama",
        "prompt": {"chunks": [{"tokens": [1] * 1_001}]},
        "sampling_params": {"max_tokens": 1},
    }
    answer = api.post("/api/v1/asample", body)
    assert answer.status_code == 400 and answer.json()["field"] == "prompt", answer.text
    body["prompt"] = {"chunks": [{"tokens": [1] * 1_000}]}
    assert "sequences" in api.result(api.submit("/api/v1/asample", body))


def test_error_messages_quote_huge_ids_only_in_part(api: Any) -> None:
    huge = "r" * 90_000
    for path, body in [
        ("/api/v1/retrieve_future", {"request_id": huge}),
        ("/api/v1/session_heartbeat", {"session_id": huge}),
        ("/api/v1/get_info", {"model_id": huge}),
    ]:
        answer = api.post(path, body)
        assert answer.status_code == 404, answer.text[:200]
        assert len(answer.content) < 500 and "90000 characters" in answer.json()["error"]
    answer = httpx.get(f"{api.url}/api/v1/training_runs/{huge[:8000]}", headers=api.http.headers)
    assert answer.status_code == 404 and len(answer.content) < 500

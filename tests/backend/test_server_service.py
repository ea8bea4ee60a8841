"""Service endpoints over raw HTTP: health, auth, capabilities, sessions, heartbeats, telemetry."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tinker_local.server.config import user_id_for_key


@pytest.fixture(scope="module")
def server_options() -> dict[str, Any]:
    return {"long_poll_s": 0.3, "session_ttl_s": 0.5}


def test_healthz_needs_no_key(anonymous: Any) -> None:
    response = anonymous.get("/api/v1/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.parametrize(
    ("key", "reason"),
    [(None, "missing"), ("not-a-tml-key", "tml-"), ("tml-unknown-key", "invalid API key")],
)
def test_every_other_endpoint_needs_a_valid_key(server: Any, key: str | None, reason: str) -> None:
    import httpx

    headers = {"X-API-Key": key} if key else {}
    for method, path in [
        ("GET", "/api/v1/get_server_capabilities"),
        ("POST", "/api/v1/create_session"),
        ("POST", "/api/v1/retrieve_future"),
        ("GET", "/api/v1/training_runs"),
        ("GET", "/api/v1/sessions"),
    ]:
        response = httpx.request(method, server.url + path, headers=headers, json={})
        assert response.status_code == 401, (path, response.text)
        assert reason in response.json()["error"]


def test_capabilities_list_the_presets(api: Any) -> None:
    from tinker_local.engine.presets import PRESETS

    body = api.get("/api/v1/get_server_capabilities").json()
    assert [m["model_name"] for m in body["supported_models"]] == list(PRESETS)


def test_create_session_and_list_and_get(api: Any, other: Any) -> None:
    session_id = api.session(tags=["a", "b"], user_metadata={"purpose": "test"})
    assert session_id in api.get("/api/v1/sessions", params={"limit": 1000}).json()["sessions"]
    assert session_id not in other.get("/api/v1/sessions").json()["sessions"]
    got = api.get(f"/api/v1/sessions/{session_id}").json()
    assert got["training_run_ids"] == [] and got["sampler_ids"] == []
    assert other.get(f"/api/v1/sessions/{session_id}").status_code == 404
    assert api.get("/api/v1/sessions/no-such-session").status_code == 404


def test_list_sessions_newest_first_and_paginated(api: Any) -> None:
    ids = [api.session() for _ in range(3)]
    page = api.get("/api/v1/sessions", params={"limit": 2}).json()["sessions"]
    assert page == ids[::-1][:2]
    nxt = api.get("/api/v1/sessions", params={"limit": 2, "offset": 1}).json()["sessions"]
    assert nxt == ids[::-1][1:3]
    bad = api.get("/api/v1/sessions", params={"limit": "many"})
    assert bad.status_code == 400 and bad.json()["field"] == "limit"
    assert api.get("/api/v1/sessions", params={"offset": -1}).json()["field"] == "offset"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"user_metadata": None, "sdk_version": "x"}, "tags"),
        ({"tags": "x", "user_metadata": None, "sdk_version": "x"}, "tags"),
        ({"tags": [1], "user_metadata": None, "sdk_version": "x"}, "tags.0"),
        ({"tags": [], "user_metadata": None}, "sdk_version"),
        ({"tags": [], "user_metadata": 3, "sdk_version": "x"}, "user_metadata"),
    ],
)
def test_create_session_bad_input_names_the_field(api: Any, body: Any, field: str) -> None:
    response = api.post("/api/v1/create_session", body)
    assert response.status_code == 400
    assert response.json()["field"] == field
    assert field in response.json()["error"]


def test_malformed_json_is_a_400_not_a_500(api: Any) -> None:
    for content in [b"{not json", b"", b"[]", b"null"]:
        response = api.http.post("/api/v1/create_session", content=content)
        assert response.status_code == 400, content
        assert "error" in response.json()


def test_heartbeat(api: Any, other: Any) -> None:
    session_id = api.session()
    body = api.ok("/api/v1/session_heartbeat", {"session_id": session_id})
    assert body == {"type": "session_heartbeat"}
    assert other.post("/api/v1/session_heartbeat", {"session_id": session_id}).status_code == 404
    assert api.post("/api/v1/session_heartbeat", {"session_id": "nope"}).status_code == 404
    bad = api.post("/api/v1/session_heartbeat", {"session_id": 5})
    assert bad.status_code == 400 and bad.json()["field"] == "session_id"


def test_sessions_expire_without_heartbeats_but_stay_readable(api: Any) -> None:
    session_id = api.session()
    assert api.get(f"/api/v1/sessions/{session_id}").json()["expired"] is False
    time.sleep(0.7)  # session_ttl_s is 0.5 in this module
    assert api.get(f"/api/v1/sessions/{session_id}").json()["expired"] is True
    api.ok("/api/v1/session_heartbeat", {"session_id": session_id})
    assert api.get(f"/api/v1/sessions/{session_id}").json()["expired"] is False


def test_telemetry_is_stored(api: Any, server: Any) -> None:
    event = {
        "event": "SESSION_END",
        "event_id": "e1",
        "event_session_index": 3,
        "severity": "INFO",
        "timestamp": "2025-01-01T00:00:00Z",
        "duration": "PT1S",
    }
    body = {"events": [event], "platform": "linux", "sdk_version": "9.9", "session_id": "s-1"}
    assert api.ok("/api/v1/telemetry", body) == {"status": "accepted"}
    batch = server.store.telemetry_batches()[-1]
    assert batch["user"] == user_id_for_key(server.api_keys[0])
    assert (batch["session_id"], batch["platform"], batch["sdk_version"]) == ("s-1", "linux", "9.9")
    assert batch["events"] == [event]


def test_telemetry_bad_input(api: Any) -> None:
    body = {"events": [{"event": "SESSION_START"}], "platform": "p", "sdk_version": "v"}
    response = api.post("/api/v1/telemetry", body)
    assert response.status_code == 400
    assert response.json()["field"] == "session_id"
    body["session_id"] = "s"
    response = api.post("/api/v1/telemetry", body)
    assert response.status_code == 400
    assert response.json()["field"].startswith("events.0")


def test_unknown_route_and_method(api: Any) -> None:
    assert api.get("/api/v1/nope").status_code == 404
    assert api.get("/api/v1/create_session").status_code == 405

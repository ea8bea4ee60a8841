"""Telemetry end to end: what a ServiceClient sends to the local backend, and never sends."""

from __future__ import annotations

import json
from typing import Any

import pytest

import tinker_hl as tinker
from tinker_hl._telemetry import Telemetry, report_exceptions


def batches_for(server: Any, session_id: str) -> list[dict[str, Any]]:
    return [b for b in server.store.telemetry_batches() if b["session_id"] == session_id]


def test_a_session_reports_its_events_and_never_the_key(
    local_server: Any, owner_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TINKER_TELEMETRY", raising=False)
    client = tinker.ServiceClient(api_key=owner_key, base_url=local_server.url)
    session_id = client.session_id
    telemetry = client.get_telemetry()
    assert isinstance(telemetry, Telemetry)

    assert telemetry.log("e2e_event", {"step": 3, "note": f"configured with {owner_key}"})
    try:
        raise tinker.InternalServerError(f"server trouble for {owner_key}", status_code=503)
    except tinker.InternalServerError as exc:
        assert telemetry.log_exception(exc)
    # A real failing request, reported through the helper: the server says it was our fault.
    with pytest.raises(tinker.TinkerError), report_exceptions(client):
        client.create_lora_training_client("no-such/model", rank=4)
    # The exception that ends a `with` block is reported as fatal, then close() drains.
    with pytest.raises(RuntimeError, match="the end"), client:
        raise RuntimeError(f"the end (key {owner_key})")

    batches = batches_for(local_server, session_id)
    assert batches, "no telemetry arrived"
    for batch in batches:
        assert batch["platform"] and batch["sdk_version"].startswith("tinker-hl/")
        assert len(batch["events"]) <= 100
    events = [e for b in batches for e in b["events"]]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "SESSION_START" and kinds[-1] == "SESSION_END"
    assert events[-1]["duration"].startswith("PT")
    generic = [e for e in events if e["event"] == "GENERIC_EVENT"]
    assert [e["event_name"] for e in generic] == ["e2e_event"]
    assert generic[0]["event_data"]["step"] == 3

    exceptions = [e for e in events if e["event"] == "UNHANDLED_EXCEPTION"]
    assert [e["error_type"] for e in exceptions[:1]] == ["InternalServerError"]
    server_error, user_error, fatal = exceptions
    assert server_error["user_error"] is False and server_error["status_code"] == 503
    assert server_error["severity"] == "ERROR"
    assert user_error["user_error"] is True, user_error
    assert fatal["error_type"] == "RuntimeError" and fatal["severity"] == "CRITICAL"
    assert fatal["fatal"] is True and "the end" in fatal["traceback"]

    stored = json.dumps(batches)
    assert owner_key not in stored
    assert "<redacted>" in stored


def test_tinker_telemetry_0_sends_nothing(
    local_server: Any, owner_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TINKER_TELEMETRY", "0")
    with tinker.ServiceClient(api_key=owner_key, base_url=local_server.url) as client:
        assert client.get_telemetry() is None
        session_id = client.session_id
    assert batches_for(local_server, session_id) == []

"""ServiceClient end to end: configuration, capabilities, sessions, shutdown."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import tinker_hl as tinker


def test_capabilities_list_the_local_models(service: tinker.ServiceClient) -> None:
    names = [m.model_name for m in service.get_server_capabilities().supported_models]
    assert "local/tiny-llama" in names
    again = asyncio.run(service.get_server_capabilities_async())
    assert [m.model_name for m in again.supported_models] == names


def test_environment_configuration(
    local_server: object, owner_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TINKER_API_KEY", owner_key)
    monkeypatch.setenv("TINKER_BASE_URL", local_server.url)  # type: ignore[attr-defined]
    before = {t.name for t in threading.enumerate()}
    with tinker.ServiceClient() as client:
        assert client.session_id
        assert owner_key not in repr(client)
    leftover = {t.name for t in threading.enumerate()} - before
    assert not any(name.startswith("tinker-hl") for name in leftover), leftover


def test_missing_or_wrong_key(local_server: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TINKER_API_KEY", raising=False)
    with pytest.raises(tinker.TinkerError, match="api_key"):
        tinker.ServiceClient(base_url=local_server.url)  # type: ignore[attr-defined]
    with pytest.raises(tinker.AuthenticationError):
        tinker.ServiceClient(api_key="tml-wrong", base_url=local_server.url)  # type: ignore[attr-defined]


def test_create_lora_validates_arguments(service: tinker.ServiceClient) -> None:
    with pytest.raises(tinker.ValidationError, match="rank"):
        service.create_lora_training_client("local/tiny-llama", rank=0)
    with pytest.raises(tinker.ValidationError, match="train_"):
        service.create_lora_training_client(
            "local/tiny-llama", train_mlp=False, train_attn=False, train_unembed=False
        )
    with pytest.raises(tinker.RequestFailedError) as info:
        service.create_lora_training_client("no/such-model", rank=2)
    assert info.value.category == "user"


def test_unknown_keyword_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="bogus"):
        tinker.ServiceClient(api_key="tml-x", base_url="http://127.0.0.1:9", bogus=1)


def eventually(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    """Whether `condition` holds within `timeout` seconds (polled)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_heartbeats_keep_the_session_alive_and_warn_when_failing(
    tmp_path: Path,
    owner_key: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import tinker_hl._session as session_module
    from tinker_hl._holder import ClientHolder
    from tinker_hl._options import ClientOptions
    from tinker_local.launcher import serve_local

    monkeypatch.setattr(session_module, "HEARTBEAT_WARN_AFTER_S", 0.3)
    caplog.set_level(logging.DEBUG, logger="tinker_hl")
    with serve_local(tmp_path, api_keys=[owner_key]) as server:
        holder = ClientHolder(
            ClientOptions.resolve(api_key=owner_key, base_url=server.url, heartbeat_interval=0.05)
        )
        created = time.time()

        def heartbeat_seen() -> bool:
            session = server.store.get_session(holder.session_id)
            return session is not None and session.last_heartbeat > created + 0.1

        # Polled, not slept: on a loaded machine a heartbeat may come late, but it comes.
        assert eventually(heartbeat_seen)
        assert holder.session.heartbeat_failures == 0

    def failing_and_warned() -> bool:
        return holder.session.heartbeat_failures >= 3 and bool(warnings())

    def warnings() -> list[logging.LogRecord]:
        return [r for r in caplog.records if "heartbeats failing" in r.getMessage()]

    try:
        assert eventually(failing_and_warned)  # the server is gone: heartbeats fail
        time.sleep(0.5)  # more failures, and no second warning
        assert len(warnings()) == 1  # rate limited: one warning a minute at most
    finally:
        holder.close()

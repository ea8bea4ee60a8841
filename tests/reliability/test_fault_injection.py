"""The fault-injection middleware itself: every kind answers as documented, the client sees what
it should (status errors, connection errors, Retry-After), /healthz is never faulted, decisions
are seeded and reproducible, and the switches (ServerConfig, CLI flags, environment) work."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

import tinker_hl as tinker
from tinker_local.server.config import ServerConfig
from tinker_local.server.faults import ENV_VAR, KINDS, FaultInjector, FaultSettings

CAPS = "/api/v1/get_server_capabilities"


def _http(server: Any, key: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"X-API-Key": key}, timeout=10)


def test_faults_are_off_by_default(tmp_path: Path, key: str) -> None:
    from tinker_local.launcher import serve_local

    config = ServerConfig(data_dir=tmp_path)
    assert config.fault_rate == 0.0 and config.checkpoint_write_delay_s == 0.0
    assert not FaultSettings.from_config(config).active
    with serve_local(tmp_path, api_keys=[key], compute="none") as server, _http(server, key) as h:
        assert server.faults is not None and not server.faults.settings.active
        assert all(h.get(CAPS).status_code == 200 for _ in range(30))
        assert server.faults.total == 0


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_answers_as_documented(
    chaos_server: Any, faults: Any, key: str, kind: str
) -> None:
    faults.configure(rate=1.0, kinds=(kind,), paths=(CAPS,), limit=1, delay_s=0.3)
    with _http(chaos_server, key) as h:
        started = time.monotonic()
        if kind.startswith("drop"):
            with pytest.raises(httpx.TransportError):  # the connection ends mid-response
                h.get(CAPS)
        else:
            response = h.get(CAPS)
            if kind == "slow":
                assert response.status_code == 200
                assert time.monotonic() - started >= 0.3
            else:
                assert response.status_code == int(kind)
                assert response.headers["content-type"] == "application/json"
                assert "injected fault" in response.json()["error"]  # an ErrorResponse
                assert ("retry-after" in response.headers) == (kind == "429")
        assert h.get(CAPS).status_code == 200  # limit=1: the next request is untouched
    assert dict(faults.counts) == {kind: 1}
    assert dict(faults.by_path) == {(CAPS, kind): 1}


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("500", tinker.InternalServerError),
        ("503", tinker.InternalServerError),
        ("429", tinker.RateLimitError),
        ("408", tinker.APIStatusError),
        ("drop_before", tinker.APIConnectionError),
        ("drop_after", tinker.APIConnectionError),
    ],
)
def test_the_client_sees_each_fault_as_the_matching_error(
    chaos_server: Any, faults: Any, key: str, kind: str, error: type[Exception]
) -> None:
    no_retry = tinker.RetryConfig(enable_retry_logic=False)
    with tinker.ServiceClient(api_key=key, base_url=chaos_server.url, retry_config=no_retry) as sc:
        faults.configure(rate=1.0, kinds=(kind,), paths=(CAPS,), limit=1)
        with pytest.raises(error):
            sc.get_server_capabilities()
        assert sc.get_server_capabilities().supported_models


def test_the_client_retries_through_faults_and_honours_retry_after(
    chaos_server: Any, faults: Any, chaos_service: tinker.ServiceClient
) -> None:
    faults.configure(rate=1.0, kinds=("429",), paths=(CAPS,), limit=2, retry_after_s=0.4)
    started = time.monotonic()
    assert chaos_service.get_server_capabilities().supported_models
    assert time.monotonic() - started >= 0.8  # two waits of Retry-After (the backoff is 0.1 s)
    faults.configure(rate=1.0, kinds=KINDS, paths=(CAPS,), limit=len(KINDS), delay_s=0.05)
    assert chaos_service.get_server_capabilities().supported_models  # after 8 faults in a row
    assert faults.counts["429"] == 3 and all(faults.counts[k] >= 1 for k in KINDS)


def test_drop_before_does_not_act_and_drop_after_does(
    chaos_server: Any, faults: Any, key: str
) -> None:
    from tinker_local.server.config import user_id_for_key

    store, user = chaos_server.store, user_id_for_key(key)
    body = {"tags": [], "user_metadata": None, "sdk_version": "test"}

    def sessions() -> int:
        return store.list_sessions(user, 1000, 0)[1]

    with _http(chaos_server, key) as h:
        before = sessions()
        faults.configure(rate=1.0, kinds=("drop_before",), paths=("create_session",), limit=1)
        with pytest.raises(httpx.TransportError):
            h.post("/api/v1/create_session", json=body)
        assert sessions() == before  # not processed
        assert h.post("/api/v1/create_session", json=body).status_code == 200
        before += 1
        faults.configure(rate=1.0, kinds=("drop_after",), paths=("create_session",), limit=1)
        with pytest.raises(httpx.TransportError):
            h.post("/api/v1/create_session", json=body)
        assert sessions() == before + 1  # processed, answer lost


def test_healthz_is_never_faulted_and_paths_restrict_faults(
    chaos_server: Any, faults: Any, key: str
) -> None:
    faults.configure(rate=1.0, kinds=("503",))  # every path
    with _http(chaos_server, key) as h:
        assert all(h.get("/api/v1/healthz").status_code == 200 for _ in range(20))
        assert h.get("/api/v1/sessions").status_code == 503
        faults.configure(rate=1.0, kinds=("503",), paths=("training_runs",))  # a prefix
        assert h.get("/api/v1/sessions").status_code == 200
        assert h.get("/api/v1/training_runs").status_code == 503
        assert h.get("/api/v1/training_runs/nope/checkpoints").status_code == 503
    assert faults.settings.paths == ("/api/v1/training_runs",)
    assert faults.counts["503"] == 3


def test_decisions_are_seeded_and_every_kind_is_dealt_equally() -> None:
    def decisions(seed: int) -> list[str | None]:
        injector = FaultInjector(FaultSettings(rate=0.3, seed=seed))
        return [injector.choose("/api/v1/forward_backward") for _ in range(800)]

    first = decisions(7)
    assert first == decisions(7)
    assert first != decisions(8)
    dealt = [k for k in first if k is not None]
    assert 0.2 < len(dealt) / len(first) < 0.4
    for start in range(0, len(dealt) - len(KINDS) + 1, len(KINDS)):  # a shuffled deck
        assert sorted(dealt[start : start + len(KINDS)]) == sorted(KINDS)
    limited = FaultInjector(FaultSettings(rate=1.0, limit=3))
    assert sum(limited.choose("/x") is not None for _ in range(10)) == 3


def test_settings_from_config_environment_and_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tinker_local.cli import serve
    from tinker_local.launcher import _make_config

    config = ServerConfig(
        data_dir=tmp_path,
        fault_rate=0.2,
        fault_kinds="503, drop_after",
        fault_paths="forward_backward,/api/v1/optim_step/",
        fault_seed=3,
        fault_limit=5,
    )
    settings = FaultSettings.from_config(config)
    assert settings.kinds == ("503", "drop_after") and settings.seed == 3 and settings.limit == 5
    assert settings.paths == ("/api/v1/forward_backward", "/api/v1/optim_step")

    monkeypatch.setenv(ENV_VAR, "rate=0.5; kinds=slow,408; seed=9; delay=0.25; paths=asample")
    from_env = FaultSettings.from_config(ServerConfig(data_dir=tmp_path))
    assert (from_env.rate, from_env.kinds, from_env.seed, from_env.delay_s) == (
        0.5,
        ("slow", "408"),
        9,
        0.25,
    )
    assert FaultSettings.from_config(config) == settings  # explicit settings win over the env
    monkeypatch.setenv(ENV_VAR, "rate=lots")
    with pytest.raises(ValueError, match="rate"):
        FaultSettings.from_config(ServerConfig(data_dir=tmp_path))

    for bad in ({"fault_rate": 1.5}, {"fault_kinds": "500,boom"}, {"fault_limit": -1}):
        with pytest.raises(ValueError, match="fault_"):
            ServerConfig(data_dir=tmp_path, **bad)

    argv = ["--fault-rate", "0.2", "--fault-kinds", "503,drop_after", "--fault-seed", "4"]
    argv += ["--fault-paths", "save_weights", "--checkpoint-write-delay-s", "1.5"]
    params = serve.make_context("serve", argv).params
    explicit = ("host", "port", "data_dir", "api_keys", "log_level")
    options = {n: v for n, v in params.items() if n not in explicit and v is not None}
    cli_config = _make_config(tmp_path, ["tml-x"], "127.0.0.1", 0, options)
    assert FaultSettings.from_config(cli_config) == FaultSettings(
        rate=0.2, kinds=("503", "drop_after"), seed=4, paths=("/api/v1/save_weights",)
    )
    assert cli_config.checkpoint_write_delay_s == 1.5


def test_the_app_exposes_its_injector(tmp_path: Path) -> None:
    from tinker_local.server.app import create_app

    app = create_app(ServerConfig(data_dir=tmp_path, compute="none", fault_rate=0.1))
    assert isinstance(app.state.faults, FaultInjector)
    assert app.state.faults.settings.rate == 0.1
    app.state.backend.store.close()

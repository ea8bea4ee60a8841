"""Shared set-up of the reliability tests: fault-injecting local backends and fast-retrying
clients.

`chaos_server` is ONE in-process backend per module with compute="none" (instant, correctly
shaped results) whose fault injector starts OFF; the `faults` fixture hands a test that injector
and turns it off again (and clears its counts) afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import tinker_hl as tinker
from tinker_hl import types

KEY = "tml-reliability-test-key"
OTHER_KEY = "tml-reliability-other-user"
MODEL = "local/tiny-llama"
# Retries as fast as the client allows: the faults are injected, not real overload.
FAST_RETRY = tinker.RetryConfig(retry_delay_base=0.01, retry_delay_max=0.1)


def _datum(text: str) -> types.Datum:
    tokens = list(text.encode())
    return types.Datum(
        model_input=types.ModelInput.from_ints(tokens[:-1]),
        loss_fn_inputs={"target_tokens": tokens[1:], "weights": [1.0] * (len(tokens) - 1)},
    )


@pytest.fixture(scope="session")
def key() -> str:
    return KEY


@pytest.fixture(scope="session")
def fast_retry() -> tinker.RetryConfig:
    return FAST_RETRY


@pytest.fixture(scope="session")
def make_datum() -> Any:
    """`make_datum(text)`: a cross-entropy datum predicting each byte of `text` from the last."""
    return _datum


@pytest.fixture(scope="module")
def chaos_options() -> dict[str, Any]:
    return {}


@pytest.fixture(scope="module")
def chaos_server(
    tmp_path_factory: pytest.TempPathFactory, chaos_options: dict[str, Any]
) -> Iterator[Any]:
    from tinker_local.launcher import serve_local

    options: dict[str, Any] = {
        "compute": "none",
        "long_poll_s": 0.2,
        "fault_delay_s": 0.05,
        "fault_retry_after_s": 0.01,
        **chaos_options,
    }
    with serve_local(tmp_path_factory.mktemp("chaos"), api_keys=[KEY], **options) as server:
        yield server


@pytest.fixture
def faults(chaos_server: Any) -> Iterator[Any]:
    """The chaos server's FaultInjector; switched off and its counts cleared afterwards."""
    injector = chaos_server.faults
    original = injector.settings
    injector.configure(original, rate=0.0)
    injector.reset_counts()
    yield injector
    injector.configure(original, rate=0.0)
    injector.reset_counts()


@pytest.fixture
def chaos_service(chaos_server: Any) -> Iterator[tinker.ServiceClient]:
    with tinker.ServiceClient(
        api_key=KEY, base_url=chaos_server.url, retry_config=FAST_RETRY
    ) as service:
        yield service


@pytest.fixture(scope="session")
def raw_api() -> type[Any]:
    """The raw-HTTP `Api` helper of tests/backend/conftest.py (every answer checked against
    openapi.yaml), for the hardening tests that start their own servers."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "backend" / "conftest.py"
    spec = importlib.util.spec_from_file_location("_backend_api_helpers", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    api: type[Any] = module.Api
    return api


@pytest.fixture(scope="module")
def hardening_options() -> dict[str, Any]:
    return {}


@pytest.fixture(scope="module")
def hardened_server(
    tmp_path_factory: pytest.TempPathFactory, hardening_options: dict[str, Any]
) -> Iterator[Any]:
    """An in-process backend (compute "none": instant, shaped results) for two users,
    KEY and OTHER_KEY; a module sets its options with a `hardening_options` fixture."""
    from tinker_local.launcher import serve_local

    options: dict[str, Any] = {"compute": "none", "long_poll_s": 0.2, **hardening_options}
    data_dir = tmp_path_factory.mktemp("hardened")
    with serve_local(data_dir, api_keys=[KEY, OTHER_KEY], **options) as server:
        yield server


@pytest.fixture
def api(hardened_server: Any, raw_api: type[Any]) -> Iterator[Any]:
    client = raw_api(hardened_server.url, KEY)
    yield client
    client.close()


@pytest.fixture
def other(hardened_server: Any, raw_api: type[Any]) -> Iterator[Any]:
    client = raw_api(hardened_server.url, OTHER_KEY)
    yield client
    client.close()

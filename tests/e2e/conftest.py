"""End-to-end fixtures: one real local backend per test session, and clients connected to it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import tinker_hl as tinker

OWNER_KEY = "tml-e2e-owner-key"
OTHER_KEY = "tml-e2e-other-key"


@pytest.fixture(scope="session")
def local_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from tinker_local.launcher import serve_local

    data_dir: Path = tmp_path_factory.mktemp("backend")
    with serve_local(data_dir, api_keys=[OWNER_KEY, OTHER_KEY]) as server:
        yield server


@pytest.fixture(scope="session")
def owner_key() -> str:
    return OWNER_KEY


@pytest.fixture(scope="session")
def service(local_server: object) -> Iterator[tinker.ServiceClient]:
    client = tinker.ServiceClient(api_key=OWNER_KEY, base_url=local_server.url)  # type: ignore[attr-defined]
    yield client
    client.close()


@pytest.fixture(scope="session")
def other_service(local_server: object) -> Iterator[tinker.ServiceClient]:
    client = tinker.ServiceClient(api_key=OTHER_KEY, base_url=local_server.url)  # type: ignore[attr-defined]
    yield client
    client.close()

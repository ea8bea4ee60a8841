"""openapi.yaml covers every endpoint the official tinker 0.7.0 SDK calls, and every operation in
the spec has a generated endpoint module.

The SDK's calls are read from the installed `tinker` package's source at test time (its
`resources/*.py` and `lib/public_interfaces/rest_client.py`), so a newer SDK that adds an endpoint
fails here until the spec has it.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SPEC = yaml.safe_load((ROOT / "openapi.yaml").read_text())
METHODS = {"get", "post", "put", "patch", "delete"}

# `self._post(`, `client.get(`, ... then (maybe on the next line) a literal or f-string path.
CALL = re.compile(r"\.\s*_?(get|post|put|patch|delete)\(\s*f?\"(/api/v1/[^\"]*)\"", re.S)
PARAM = re.compile(r"\{[^}]*\}")


def normalise(path: str) -> str:
    """Ignore parameter names; a checkpoint id travels as two segments."""
    path = path.replace("{checkpoint_id}", "{checkpoint_kind}/{checkpoint_name}")
    return PARAM.sub("{}", path)


def sdk_calls() -> set[tuple[str, str]]:
    spec = importlib.util.find_spec("tinker")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("the official tinker SDK is not installed")
    root = Path(next(iter(spec.submodule_search_locations)))
    files = [
        *sorted((root / "resources").glob("*.py")),
        root / "lib/public_interfaces/rest_client.py",
    ]
    calls: set[tuple[str, str]] = set()
    for file in files:
        for method, path in CALL.findall(file.read_text()):
            calls.add((method.upper(), normalise(path)))
    return calls


def spec_operations() -> dict[tuple[str, str], dict]:
    return {
        (method.upper(), normalise(path)): op
        for path, item in SPEC["paths"].items()
        for method, op in item.items()
        if method in METHODS
    }


def test_the_sdk_source_was_found_and_parsed() -> None:
    calls = sdk_calls()
    assert len(calls) >= 25, sorted(calls)
    assert ("POST", "/api/v1/retrieve_future") in calls
    assert ("DELETE", "/api/v1/training_runs/{}/checkpoints/{}/{}/publish") in calls


def test_every_endpoint_the_sdk_calls_is_in_the_spec() -> None:
    missing = sorted(sdk_calls() - set(spec_operations()))
    assert not missing, f"endpoints the 0.7.0 SDK calls but openapi.yaml lacks: {missing}"


def test_normalise_splits_checkpoint_ids() -> None:
    assert normalise("/api/v1/training_runs/{model_id}/checkpoints/{checkpoint_id}/archive") == (
        "/api/v1/training_runs/{}/checkpoints/{}/{}/archive"
    )


@pytest.mark.parametrize(
    "operation",
    sorted(spec_operations().values(), key=lambda op: op["operationId"]),
    ids=lambda op: op["operationId"],
)
def test_every_spec_operation_has_a_generated_endpoint(operation: dict) -> None:
    module = importlib.import_module(
        f"tinker_api_client.api.{operation['tags'][0]}.{operation['operationId']}"
    )
    for name in ["sync", "sync_detailed", "asyncio", "asyncio_detailed"]:
        assert callable(getattr(module, name, None)), f"{module.__name__}.{name}"

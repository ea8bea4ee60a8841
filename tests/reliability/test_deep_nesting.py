"""Finding 1: JSON nested ~950-1,020 levels passed the JSON parser and then hit Python's
recursion limit (storing user_metadata / telemetry event_data, describing a loss_fn_config
error, creating a model): a 500. Now nesting is bounded when the body is parsed: a 400 that
says so, for every depth, and the limit is a server option."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from tinker_local.server.jsonio import nesting_depth, parse_json

DEPTHS = [65, 500, 950, 980, 1000, 1020, 1023, 1024, 1100, 5000]


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"k": value}
    return value


_DEEP = "__deep__"


def _with_deep_value(body: Any, depth: int) -> bytes:
    """`body` as JSON text with its `_DEEP` placeholder replaced by a value nested `depth`
    levels (built as text: neither this test nor its JSON encoder recurses)."""
    deep = b"[" * depth + b"1" + b"]" * depth
    return orjson.dumps(body).replace(orjson.dumps(_DEEP), deep)


def _bodies(api: Any, session_id: str, model_id: str) -> dict[str, Any]:
    return {
        "/api/v1/create_session": {"tags": [], "sdk_version": "t", "user_metadata": {"m": _DEEP}},
        "/api/v1/telemetry": {
            "session_id": session_id,
            "platform": "t",
            "sdk_version": "t",
            "events": [
                {
                    "event": "GENERIC_EVENT",
                    "event_id": "e",
                    "event_session_index": 0,
                    "severity": "INFO",
                    "timestamp": "2026-01-01T00:00:00Z",
                    "event_name": "n",
                    "event_data": {"d": _DEEP},
                }
            ],
        },
        "/api/v1/forward": {
            "model_id": model_id,
            "forward_input": {
                "data": [api.datum([1, 2, 3])],
                "loss_fn": "cross_entropy",
                "loss_fn_config": {"c": _DEEP},
            },
        },
        "/api/v1/create_model": {
            "session_id": session_id,
            "model_seq_id": 10_000,
            "base_model": "local/tiny-llama",
            "lora_config": {"rank": 1},
            "user_metadata": {"m": _DEEP},
        },
    }


def test_nesting_is_measured_without_recursion_and_ignores_brackets_in_strings() -> None:
    assert nesting_depth(b'{"a": "[[[[{{{{", "b": [[1], {"c": "]]]"}]}') == 3
    assert nesting_depth(b'["\\"[[[", [[]]]') == 3
    assert nesting_depth(b"[" * 100_000 + b"]" * 100_000) == 100_000
    assert parse_json(b'{"x": [[[1]]]}', max_depth=4) == {"x": [[[1]]]}
    with pytest.raises(Exception, match="nested 5 levels deep; at most 4"):
        parse_json(b'{"x": [[[[1]]]]}', max_depth=4)


@pytest.mark.parametrize("depth", DEPTHS)
def test_deeply_nested_bodies_get_a_400_on_every_endpoint_that_once_failed(
    api: Any, depth: int
) -> None:
    session_id = api.session()
    model_id = api.model(session_id)
    for path, body in _bodies(api, session_id, model_id).items():
        answer = api.http.post(
            path,
            content=_with_deep_value(body, depth),
            headers={"Content-Type": "application/json"},
        )
        assert answer.status_code == 400, (path, depth, answer.text[:200])
        assert "nested" in answer.json()["error"], answer.json()


def test_bodies_as_deep_as_the_spec_needs_are_accepted(api: Any) -> None:
    session_id = api.session(user_metadata={"nested": _nested(10)})
    assert api.get(f"/api/v1/sessions/{session_id}").status_code == 200


@pytest.fixture(scope="module")
def hardening_options() -> dict[str, Any]:
    return {"max_json_depth": 64, "max_models_per_user": 100}

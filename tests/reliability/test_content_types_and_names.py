"""Finding 8: Content-Type was ignored (text/plain, form and XML bodies were parsed as JSON);
a bad checkpoint name was rejected inside the job, echoing a 100k-character name; and
save_weights with path="" got a default name where save_weights_for_sampler failed.

Now every body-carrying operation accepts the media types its requestBody lists in
openapi.yaml (table-driven: an operation the spec opens to application/x-protobuf accepts
that too) and answers others with 415; a missing Content-Type reads as JSON. Checkpoint names
are checked at submission (400 naming `path`, the name quoted only in part), and path=""
asks for a default name on both save endpoints."""

from __future__ import annotations

from typing import Any

import pytest

from tinker_local.server.request_guards import accepted_media_types, media_types_by_route
from tinker_local.server.validation import load_spec

WRONG_TYPES = [
    ("text/plain", b'{"session_id": "x"}'),
    ("application/x-www-form-urlencoded", b"session_id=x"),
    ("application/xml", b"<session_id>x</session_id>"),
    ("multipart/form-data; boundary=b", b"--b\r\n\r\nx\r\n--b--"),
]


def _json_operations() -> list[tuple[str, str]]:
    out = []
    for path, item in load_spec()["paths"].items():
        for method, op in item.items():
            if "requestBody" in op:
                out.append((method.upper(), path.replace("{", "").replace("}", "")))
    return out


def test_the_accepted_types_come_from_the_spec() -> None:
    spec = load_spec()["paths"]
    assert media_types_by_route()
    for path, item in spec.items():
        for method, op in item.items():
            concrete = path.replace("{", "x").replace("}", "")
            accepted = accepted_media_types(method.upper(), concrete)
            if "requestBody" in op:
                assert accepted == frozenset(op["requestBody"]["content"]), (method, path)
            else:
                assert accepted is None, (method, path)


@pytest.mark.parametrize(("method", "path"), _json_operations())
def test_a_body_of_another_media_type_is_a_415_on_every_json_endpoint(
    api: Any, method: str, path: str
) -> None:
    for content_type, body in WRONG_TYPES:
        answer = api.http.request(
            method, path, content=body, headers={"Content-Type": content_type}
        )
        assert answer.status_code == 415, (path, content_type, answer.text)
        assert "Content-Type: expected application/json" in answer.json()["error"]


def test_json_with_parameters_and_without_a_content_type_is_read(api: Any) -> None:
    body = b'{"tags": [], "sdk_version": "t", "user_metadata": null}'
    for headers in ({"Content-Type": "application/json; charset=utf-8"}, {}):
        answer = api.http.post("/api/v1/create_session", content=body, headers=headers)
        assert answer.status_code == 200, (headers, answer.text)


@pytest.mark.parametrize("endpoint", ["save_weights", "save_weights_for_sampler"])
def test_a_bad_checkpoint_name_is_rejected_at_submission_without_echoing_it(
    api: Any, endpoint: str
) -> None:
    model_id = api.model()
    for name in ["x" * 100_000, "../up", "a/b", ".hidden", "é"]:
        answer = api.post(f"/api/v1/{endpoint}", {"model_id": model_id, "path": name})
        assert answer.status_code == 400, (name[:20], answer.text[:200])
        assert answer.json()["field"] == "path"
        assert len(answer.content) < 1_000
    # The rejected requests consumed nothing: the next save works.
    saved = api.done(f"/api/v1/{endpoint}", {"model_id": model_id, "path": "fine"})
    assert saved["path"].endswith("/fine")


def test_an_empty_path_asks_for_a_default_name_on_both_save_endpoints(api: Any) -> None:
    model_id = api.model()
    weights = api.done("/api/v1/save_weights", {"model_id": model_id, "path": ""})
    sampler = api.done("/api/v1/save_weights_for_sampler", {"model_id": model_id, "path": ""})
    assert weights["path"].startswith(f"tinker://{model_id}/weights/")
    assert sampler["path"].startswith(f"tinker://{model_id}/sampler_weights/")
    # Without a path at all, save_weights_for_sampler makes an ephemeral sampler (protocol).
    ephemeral = api.done("/api/v1/save_weights_for_sampler", {"model_id": model_id})
    assert ephemeral.get("path") is None and ephemeral["sampling_session_id"]

"""Provenance spans on a Datum (SDK 0.38) at the server, in both protocols: well-formed spans
are accepted and change nothing of the result (they are not trained on); a malformed span, a
lone list or a list that does not tile its field is a 400 naming the field (never a 500), and
consumes its seq id so that the model's later requests still run."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from tinker_proto import tinker_public_pb2 as pb

PROTO = {"Content-Type": "application/x-protobuf"}
TEXT = list(b"spans ride along")  # N input tokens, N targets
N = len(TEXT) - 1


@pytest.fixture(scope="module")
def server_options() -> dict[str, Any]:
    # A seq id a refusal failed to consume would hold the next request this long: a stall
    # shows as a failure, not as a slow pass.
    return {"long_poll_s": 0.3, "seq_gap_timeout_s": 600.0}


def _json_span(kind: str, length: int, offset: int = 0, sequence_id: str = "seq-1") -> Any:
    return {"type": kind, "sequence_id": sequence_id, "offset": offset, "length": length}


GOOD_JSON = {
    "model_input_spans": [_json_span("prompt_tokens", 5), _json_span("sampled_tokens", N - 5)],
    "loss_fn_input_spans": [_json_span("prompt_tokens", 4, 1), _json_span("sampled_tokens", N - 4)],
}


def _proto_request(model_id: str, seq_id: int, spans: dict[str, list[Any]]) -> bytes:
    msg = pb.ForwardBackwardRequest(
        model_id=model_id, seq_id=seq_id, loss_fn="cross_entropy", forward_only=True
    )
    datum = msg.data.add()
    datum.model_input.add().encoded_text.tokens = np.asarray(TEXT[:-1], np.int32).tobytes()
    target = datum.loss_fn_inputs["target_tokens"]
    target.dtype, target.dense = pb.DTYPE_INT64, np.asarray(TEXT[1:], np.int64).tobytes()
    for name, items in spans.items():
        for kind, sequence_id, offset, length in items:
            span = getattr(datum, name).add()
            if kind:
                arm = getattr(span, kind)
                arm.sequence_id, arm.offset, arm.length = sequence_id, offset, length
    return bytes(msg.SerializeToString())


GOOD_PROTO = {
    "model_input_spans": [("prompt_tokens", "seq-1", 0, 5), ("sampled_tokens", "seq-1", 0, N - 5)],
    "loss_fn_input_spans": [
        ("prompt_tokens", "seq-1", 1, 4),
        ("sampled_tokens", "seq-1", 0, N - 4),
    ],
}


def _proto_logprobs(api: Any, future: dict[str, Any]) -> list[float]:
    result = api.result(future)
    assert "error" not in result, result
    return _f32(result["loss_fn_outputs"][0]["logprobs"]["data"])


def _f32(values: list[float]) -> list[float]:
    """As float32 (the wire's precision; JSON spells a float32 in its shortest form)."""
    return [float(np.float32(v)) for v in values]


def test_spans_are_accepted_and_left_out_of_training(api: Any) -> None:
    model_id = api.model()
    plain = api.result(
        api.submit("/api/v1/forward", api.fb_body(model_id, 1, [api.datum(TEXT)], "forward_input"))
    )
    with_spans = api.result(
        api.submit(
            "/api/v1/forward",
            api.fb_body(model_id, 2, [{**api.datum(TEXT), **GOOD_JSON}], "forward_input"),
        )
    )
    assert with_spans["loss_fn_outputs"] == plain["loss_fn_outputs"]
    assert with_spans["metrics"] == plain["metrics"]
    response = api.http.post(
        "/api/v1/forward_backward", content=_proto_request(model_id, 3, GOOD_PROTO), headers=PROTO
    )
    assert response.status_code == 200, response.text
    expected = _f32(plain["loss_fn_outputs"][0]["logprobs"]["data"])
    assert _proto_logprobs(api, response.json()) == expected


BAD_JSON = [
    ({"model_input_spans": GOOD_JSON["model_input_spans"]}, "data.0.loss_fn_input_spans"),
    ({"loss_fn_input_spans": GOOD_JSON["loss_fn_input_spans"]}, "data.0.model_input_spans"),
    (
        {**GOOD_JSON, "model_input_spans": [_json_span("prompt_tokens", N - 1)]},
        "data.0.model_input_spans",
    ),
    (
        {**GOOD_JSON, "loss_fn_input_spans": [_json_span("sampled_tokens", N + 1)]},
        "data.0.loss_fn_input_spans",
    ),
    (
        {**GOOD_JSON, "model_input_spans": [_json_span("prompt_tokens", N, -1)]},
        "data.0.model_input_spans.0.offset",
    ),
    (
        {**GOOD_JSON, "model_input_spans": [_json_span("prompt_tokens", N, 0, "")]},
        "data.0.model_input_spans.0",
    ),
    (
        {**GOOD_JSON, "model_input_spans": [_json_span("other_tokens", N)]},
        "data.0.model_input_spans.0",
    ),
    ({**GOOD_JSON, "model_input_spans": [{"length": N}]}, "data.0.model_input_spans.0"),
    ({**GOOD_JSON, "model_input_spans": "all of it"}, "data.0.model_input_spans"),
]


@pytest.mark.parametrize(("spans", "field"), BAD_JSON)
def test_bad_json_spans_are_a_400_naming_the_field(
    api: Any, spans: dict[str, Any], field: str
) -> None:
    model_id = api.model()
    body = api.fb_body(model_id, 1, [{**api.datum(TEXT), **spans}])
    answer = api.post("/api/v1/forward_backward", body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["field"].startswith(f"forward_backward_input.{field}"), answer.json()
    # The refusal consumed seq id 1: the model's next request runs.
    api.done("/api/v1/forward_backward", api.fb_body(model_id, 2, [api.datum(TEXT)]))


BAD_PROTO = [
    ({"model_input_spans": GOOD_PROTO["model_input_spans"]}, "data.0.loss_fn_input_spans"),
    (
        {**GOOD_PROTO, "model_input_spans": [("prompt_tokens", "seq-1", 0, N + 3)]},
        "data.0.model_input_spans",
    ),
    (
        {**GOOD_PROTO, "loss_fn_input_spans": [("sampled_tokens", "seq-1", 0, 2)]},
        "data.0.loss_fn_input_spans",
    ),
    (
        {**GOOD_PROTO, "model_input_spans": [("sampled_tokens", "seq-1", -2, N)]},
        "data.0.model_input_spans.0.sampled_tokens.offset",
    ),
    (
        {**GOOD_PROTO, "loss_fn_input_spans": [("prompt_tokens", "seq-1", 0, -1)]},
        "data.0.loss_fn_input_spans.0.prompt_tokens.length",
    ),
    (
        {**GOOD_PROTO, "model_input_spans": [("prompt_tokens", "", 0, N)]},
        "data.0.model_input_spans.0.prompt_tokens.sequence_id",
    ),
    ({**GOOD_PROTO, "model_input_spans": [(None, "", 0, 0)]}, "data.0.model_input_spans.0"),
]


@pytest.mark.parametrize(("spans", "field"), BAD_PROTO)
def test_bad_protobuf_spans_are_a_400_naming_the_field(
    api: Any, spans: dict[str, list[Any]], field: str
) -> None:
    model_id = api.model()
    answer = api.http.post(
        "/api/v1/forward_backward", content=_proto_request(model_id, 1, spans), headers=PROTO
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["field"] == field, answer.json()
    api.done("/api/v1/forward_backward", api.fb_body(model_id, 2, [api.datum(TEXT)]))

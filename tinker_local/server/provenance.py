"""Provenance spans on a Datum (SDK 0.38): checked at submission, then left out of training.

A Datum may say where its tokens came from: `model_input_spans` tiling the input tokens and
`loss_fn_input_spans` tiling a 1-D `target_tokens`, each a list of runs naming a sampled
sequence. Nothing here trains on them; a request whose spans are malformed is refused with a
400 naming the field, in either protocol. The form of one span (a non-empty sequence id,
offset and length >= 0) is the schema's business in JSON (openapi.yaml) and `span_from_proto`'s
in protobuf; the pairing and tiling, which no schema can say, are `check_spans`'s for both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import bad_request

__all__ = ["Span", "check_json_datum", "check_proto_datum", "check_spans", "span_from_proto"]

_KINDS = ("prompt_tokens", "sampled_tokens")


@dataclass(frozen=True, slots=True)
class Span:
    kind: str  # "prompt_tokens" or "sampled_tokens"
    sequence_id: str
    offset: int
    length: int


def span_from_proto(msg: Any, field: str) -> Span:
    """One ProvenanceSpan message, checked (the oneof set, the sequence id, the counts)."""
    kind = msg.WhichOneof("span")
    if kind not in _KINDS:
        raise bad_request(f"{field}: a span needs prompt_tokens or sampled_tokens", field)
    arm = getattr(msg, kind)
    where = f"{field}.{kind}"
    if not arm.sequence_id:
        raise bad_request(
            f"{where}.sequence_id: expected a non-empty sequence id", f"{where}.sequence_id"
        )
    for name in ("offset", "length"):
        value = getattr(arm, name)
        if value < 0:
            raise bad_request(
                f"{where}.{name}: expected a value >= 0, got {value}", f"{where}.{name}"
            )
    return Span(kind, arm.sequence_id, arm.offset, arm.length)


def check_spans(
    field: str,
    model_input_spans: Sequence[Span],
    loss_fn_input_spans: Sequence[Span],
    input_tokens: int | None,
    target_tokens: int | None,
) -> None:
    """Both lists or neither; each tiles its field where that field's length is known (None:
    not known, e.g. a 2-D target_tokens)."""
    if not model_input_spans and not loss_fn_input_spans:
        return
    for name, spans in (
        ("model_input_spans", model_input_spans),
        ("loss_fn_input_spans", loss_fn_input_spans),
    ):
        if not spans:
            where = f"{field}.{name}"
            raise bad_request(
                f"{where}: provenance comes as a pair: give both model_input_spans and "
                "loss_fn_input_spans, or neither",
                where,
            )
    for name, spans, expected, what in (
        ("model_input_spans", model_input_spans, input_tokens, "input tokens"),
        ("loss_fn_input_spans", loss_fn_input_spans, target_tokens, "target_tokens"),
    ):
        covered = sum(span.length for span in spans)
        if expected is not None and covered != expected:
            where = f"{field}.{name}"
            raise bad_request(
                f"{where}: the spans cover {covered} positions but the datum has {expected} "
                f"{what}; the runs must tile them exactly",
                where,
            )


def _json_spans(spans: Any) -> list[Span]:
    # Schema-validated already: a list of objects with the span's keys.
    return [
        Span(s["type"], s["sequence_id"], int(s.get("offset", 0)), int(s["length"]))
        for s in spans or ()
    ]


def _json_target_length(inputs: Mapping[str, Any]) -> int | None:
    target = inputs.get("target_tokens")
    if not isinstance(target, Mapping):
        return None
    shape = target.get("shape")
    if shape is None:
        return len(target["data"])
    return int(shape[0]) if len(shape) == 1 else None


def check_json_datum(datum: Mapping[str, Any], field: str) -> None:
    """The spans of one (schema-validated) JSON Datum."""
    mi, lf = datum.get("model_input_spans"), datum.get("loss_fn_input_spans")
    if not mi and not lf:
        return
    chunks = datum["model_input"]["chunks"]
    text_only = all("tokens" in chunk and "format" not in chunk for chunk in chunks)
    input_tokens = sum(len(chunk["tokens"]) for chunk in chunks) if text_only else None
    check_spans(
        field,
        _json_spans(mi),
        _json_spans(lf),
        input_tokens,
        _json_target_length(datum["loss_fn_inputs"]),
    )


def check_proto_datum(msg: Any, field: str, input_tokens: int, target: Any) -> None:
    """The spans of one protobuf Datum message (`target`: its decoded target_tokens array)."""
    if not msg.model_input_spans and not msg.loss_fn_input_spans:
        return
    spans = {
        name: [span_from_proto(s, f"{field}.{name}.{j}") for j, s in enumerate(getattr(msg, name))]
        for name in ("model_input_spans", "loss_fn_input_spans")
    }
    targets = int(target.size) if target is not None and target.ndim == 1 else None
    check_spans(
        field, spans["model_input_spans"], spans["loss_fn_input_spans"], input_tokens, targets
    )

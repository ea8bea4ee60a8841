"""Provenance spans (SDK 0.38): where a Datum's tokens came from, as consecutive runs.

`Datum.model_input_spans` tiles the model input (the runs' lengths sum to its length) and
`Datum.loss_fn_input_spans` tiles `loss_fn_inputs["target_tokens"]`; each run names a sampled
sequence (`SampledSequence.sequence_id`) and either a stretch of the prompt it was sampled from
(`PromptProvenanceSpan`) or of the tokens it produced (`SampledProvenanceSpan`). They come as
a pair or not at all. The server records nothing of them for training; they travel with the
Datum in both protocols (protobuf: the Datum message's span fields; JSON: the Datum's
`*_spans` lists, a `type` telling the kinds apart).

Checked here, once, for everything the client sends: the span objects (a non-empty
sequence_id, offset and length integers >= 0), the pairing, and the tiling where the length of
the tiled field is known.
"""

from __future__ import annotations

from typing import Any, TypeAlias

from tinker_api_client.models import PromptProvenanceSpan, SampledProvenanceSpan
from tinker_api_client.types import Unset

from .._exceptions import ValidationError

__all__ = [
    "PromptProvenanceSpan",
    "ProvenanceSpans",
    "SampledProvenanceSpan",
    "check_span_types",
    "check_tiling",
    "target_length",
    "validate_provenance",
]

ProvenanceSpans: TypeAlias = list[PromptProvenanceSpan | SampledProvenanceSpan]
"""Consecutive runs tiling one Datum field; see `Datum.with_provenance`."""

_SPANS = (PromptProvenanceSpan, SampledProvenanceSpan)


def _absent(spans: object) -> bool:
    return spans is None or isinstance(spans, Unset)


def check_span_types(field: str, spans: object) -> None:
    """A list of span objects, or None (TypeError otherwise, as 0.38's Datum raises)."""
    if _absent(spans):
        return
    if not isinstance(spans, list | tuple):
        raise TypeError(f"{field} must be a list of provenance spans, got {type(spans).__name__}")
    for span in spans:
        if not isinstance(span, _SPANS):
            raise TypeError(
                f"{field} entries must be PromptProvenanceSpan or SampledProvenanceSpan, "
                f"got {type(span).__name__}"
            )


def check_pairing(model_input_spans: object, loss_fn_input_spans: object, field: str) -> None:
    if _absent(model_input_spans) != _absent(loss_fn_input_spans):
        given = "model_input_spans" if _absent(loss_fn_input_spans) else "loss_fn_input_spans"
        raise ValidationError(
            f"{field}.{given}",
            "provenance comes as a pair: set both model_input_spans and loss_fn_input_spans, "
            "or neither (Datum.with_provenance sets both)",
        )


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_span(span: Any, field: str) -> None:
    if not isinstance(span, _SPANS):
        raise ValidationError(
            field,
            f"expected a PromptProvenanceSpan or SampledProvenanceSpan, got {type(span).__name__}",
        )
    if not isinstance(span.sequence_id, str) or not span.sequence_id:
        raise ValidationError(
            f"{field}.sequence_id", f"expected a non-empty string, got {span.sequence_id!r}"
        )
    offset = 0 if isinstance(span.offset, Unset) else span.offset
    for name, value in (("offset", offset), ("length", span.length)):
        if not _is_count(value):
            raise ValidationError(f"{field}.{name}", f"expected an int >= 0, got {value!r}")


def _total(spans: list[Any]) -> int:
    return sum(int(span.length) for span in spans)


def check_tiling(field: str, spans: list[Any], expected: int, what: str) -> None:
    total = _total(spans)
    if total != expected:
        raise ValidationError(
            field,
            f"the spans cover {total} positions but {what} has {expected}; the runs must "
            "tile it exactly",
        )


def target_length(loss_fn_inputs: Any) -> int | None:
    """The length of a 1-D `target_tokens` (what loss_fn_input_spans tile), else None."""
    tensors = getattr(loss_fn_inputs, "additional_properties", loss_fn_inputs)
    target = tensors.get("target_tokens") if hasattr(tensors, "get") else None
    if target is None:
        return None
    shape = target.shape
    if isinstance(shape, list):
        return int(shape[0]) if len(shape) == 1 else None
    return len(target.data)


def validate_provenance(datum: Any, field: str, model_input_length: int | None) -> None:
    """The Datum's spans, before sending: each span well formed, both lists or neither, and
    each list tiling its field (where that field's length is known)."""
    mi_spans, lf_spans = datum.model_input_spans, datum.loss_fn_input_spans
    if _absent(mi_spans) and _absent(lf_spans):
        return
    check_pairing(mi_spans, lf_spans, field)
    for name, spans in (("model_input_spans", mi_spans), ("loss_fn_input_spans", lf_spans)):
        if not isinstance(spans, list):
            raise ValidationError(
                f"{field}.{name}", f"expected a list of spans, got {type(spans).__name__}"
            )
        for j, span in enumerate(spans):
            _check_span(span, f"{field}.{name}[{j}]")
    if model_input_length is not None:
        check_tiling(f"{field}.model_input_spans", mi_spans, model_input_length, "the model input")
    targets = target_length(datum.loss_fn_inputs)
    if targets is not None:
        check_tiling(
            f"{field}.loss_fn_input_spans", lf_spans, targets, "loss_fn_inputs.target_tokens"
        )

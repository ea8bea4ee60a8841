"""Provenance spans (SDK 0.38) on the client: the span types, `Datum.with_provenance` with
0.38's checks, the checks before sending (each naming its field), and both wire forms."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from tinker_hl.types.provenance_spans import (
    PromptProvenanceSpan,
    ProvenanceSpans,
    SampledProvenanceSpan,
)
from tinker_proto import tinker_public_pb2 as pb

from tinker_hl import ValidationError, types
from tinker_hl._protobuf_codec import encode_forward_backward

TOKENS = [5, 6, 7, 8, 9]


def _datum(**extra: object) -> types.Datum:
    return types.Datum(
        model_input=types.ModelInput.from_ints(TOKENS[:-1]),
        loss_fn_inputs={"target_tokens": TOKENS[1:], "weights": [1.0] * 4},
        **extra,  # type: ignore[arg-type]
    )


def _prompt(length: int, offset: int = 0) -> PromptProvenanceSpan:
    return PromptProvenanceSpan(sequence_id="seq-a", offset=offset, length=length)


def _sampled(length: int, offset: int = 0) -> SampledProvenanceSpan:
    return SampledProvenanceSpan(sequence_id="seq-a", offset=offset, length=length)


def test_the_span_types_are_0_38s() -> None:
    assert types.PromptProvenanceSpan is PromptProvenanceSpan
    assert ProvenanceSpans == list[PromptProvenanceSpan | SampledProvenanceSpan]
    for cls in (PromptProvenanceSpan, SampledProvenanceSpan):
        assert {f.name for f in dataclasses.fields(cls)} == {"sequence_id", "offset", "length"}
        span = cls(sequence_id="s", length=3)
        assert span.offset == 0 and span.length == 3
    assert _prompt(2) != _sampled(2)  # the two kinds never compare equal


def test_with_provenance_returns_a_copy_carrying_both_lists() -> None:
    datum = _datum()
    model_input: ProvenanceSpans = [_prompt(3), _sampled(1)]
    loss: ProvenanceSpans = [_prompt(2, offset=1), _sampled(2)]
    annotated = datum.with_provenance(model_input=model_input, loss_fn_inputs=loss)
    assert datum.model_input_spans is None and datum.loss_fn_input_spans is None
    assert annotated.model_input_spans == model_input
    assert annotated.loss_fn_input_spans == loss
    assert annotated.model_input_spans is not model_input  # its own list
    assert annotated.model_input is datum.model_input
    # replace() keeps them; fields() lists them.
    names = [f.name for f in dataclasses.fields(annotated)]
    assert "model_input_spans" in names and "loss_fn_input_spans" in names
    moved = dataclasses.replace(annotated, loss_fn_inputs={"target_tokens": TOKENS[1:]})
    assert moved.model_input_spans == model_input


@pytest.mark.parametrize(
    ("model_input", "loss", "field"),
    [
        ([_prompt(3)], [_sampled(4)], "model_input"),
        ([_prompt(4)], [_sampled(5)], "loss_fn_inputs"),
        ([], [_sampled(4)], "model_input"),
    ],
)
def test_with_provenance_checks_the_tiling(
    model_input: ProvenanceSpans, loss: ProvenanceSpans, field: str
) -> None:
    with pytest.raises(ValueError, match="must tile") as caught:
        _datum().with_provenance(model_input=model_input, loss_fn_inputs=loss)
    assert isinstance(caught.value, ValidationError) and caught.value.field == field


def test_with_provenance_does_not_tile_a_2d_target() -> None:
    datum = types.Datum(
        model_input=types.ModelInput.from_ints([1, 2]),
        loss_fn_inputs={"target_tokens": np.array([[3, 0], [4, 5]])},
    )
    annotated = datum.with_provenance(model_input=[_sampled(2)], loss_fn_inputs=[_sampled(7)])
    assert annotated.loss_fn_input_spans == [_sampled(7)]


def test_the_constructor_checks_span_types_and_pairing() -> None:
    with pytest.raises(TypeError, match="model_input_spans entries"):
        _datum(model_input_spans=[{"length": 4}], loss_fn_input_spans=[_sampled(4)])
    with pytest.raises(ValidationError, match="pair"):
        _datum(model_input_spans=[_sampled(4)])
    with pytest.raises(TypeError, match="loss_fn_inputs"):
        _datum().with_provenance(model_input=[_sampled(4)], loss_fn_inputs="spans")  # type: ignore[arg-type]


def _annotated() -> types.Datum:
    return _datum().with_provenance(
        model_input=[_prompt(3), _sampled(1)], loss_fn_inputs=[_prompt(2, 1), _sampled(2)]
    )


def _broken(change: str) -> types.Datum:
    datum = _annotated()
    assert datum.model_input_spans is not None and datum.loss_fn_input_spans is not None
    if change == "empty id":
        datum.model_input_spans[1].sequence_id = ""
    elif change == "negative offset":
        datum.loss_fn_input_spans[0].offset = -1
    elif change == "bool length":
        datum.loss_fn_input_spans[1].length = True
    elif change == "not a span":
        datum.model_input_spans[0] = "prompt"  # type: ignore[call-overload]
    elif change == "lone list":
        datum.loss_fn_input_spans = None
    elif change == "input not tiled":
        datum.model_input_spans.pop()
    elif change == "targets not tiled":
        datum.loss_fn_input_spans.append(_sampled(1))
    return datum


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ("empty id", "data[0].model_input_spans[1].sequence_id"),
        ("negative offset", "data[0].loss_fn_input_spans[0].offset"),
        ("bool length", "data[0].loss_fn_input_spans[1].length"),
        ("not a span", "data[0].model_input_spans[0]"),
        ("lone list", "data[0].model_input_spans"),
        ("input not tiled", "data[0].model_input_spans"),
        ("targets not tiled", "data[0].loss_fn_input_spans"),
    ],
)
def test_validation_before_sending_names_the_field(change: str, field: str) -> None:
    types.validate_datums([_annotated()], "cross_entropy")
    with pytest.raises(ValidationError) as caught:
        types.validate_datums([_broken(change)], "cross_entropy")
    assert caught.value.field == field


def test_the_json_form() -> None:
    body = _annotated().to_dict()
    assert body["model_input_spans"] == [
        {"type": "prompt_tokens", "sequence_id": "seq-a", "offset": 0, "length": 3},
        {"type": "sampled_tokens", "sequence_id": "seq-a", "offset": 0, "length": 1},
    ]
    assert body["loss_fn_input_spans"][0]["offset"] == 1
    assert "model_input_spans" not in _datum().to_dict()  # none: nothing on the wire
    decoded = types.Datum.from_dict(body)
    assert decoded.model_input_spans == _annotated().model_input_spans


def test_the_protobuf_form() -> None:
    content = encode_forward_backward(
        model_id="m",
        seq_id=1,
        data=[_annotated(), _datum()],
        loss_fn="cross_entropy",
        loss_fn_config=None,
        forward_only=False,
    )
    msg = pb.ForwardBackwardRequest()
    msg.ParseFromString(content)
    first, second = msg.data
    kinds = [span.WhichOneof("span") for span in first.model_input_spans]
    assert kinds == ["prompt_tokens", "sampled_tokens"]
    loss = first.loss_fn_input_spans[0].prompt_tokens
    assert (loss.sequence_id, loss.offset, loss.length) == ("seq-a", 1, 2)
    assert not second.model_input_spans and not second.loss_fn_input_spans

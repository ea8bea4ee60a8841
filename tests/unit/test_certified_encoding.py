"""Validation leaves each list's encoding for the request encoder (`Certified`), which embeds it
instead of reading the list again: the bytes on the wire are exactly those of encoding the
request from scratch, in both protocols, for lists the scans vouch for and for those they do not."""

from __future__ import annotations

import numpy as np
import pytest
from tinker_api_client.models import EncodedTextChunk, ForwardBackwardInput, TensorData

from tinker_hl import types
from tinker_hl._forward_wire import certification_for, prepare_forward, uses_protobuf
from tinker_hl._server_features import ServerFeatures
from tinker_hl.types._copying import build
from tinker_hl.types._validation import validate_datums_certified

JSON = ServerFeatures()
PROTOBUF = ServerFeatures(negotiated=True, protobuf_requests=True)


def batch() -> list[types.Datum]:
    plain = types.Datum(
        model_input=types.ModelInput.from_ints(list(range(1, 300))),
        loss_fn_inputs={"target_tokens": list(range(2, 301)), "weights": [0.25] * 299},
    )
    # Built without the constructors' conversion, so the unusual values stay as they are (as
    # after a caller puts them into a built Datum's lists): numpy scalars, ints beyond 2**31
    # and 2**53, negative int64 values, ints among floats.
    unusual_tokens = [1, np.int64(7), 2**31 - 1, 3]
    unusual = types.Datum(
        model_input=types.ModelInput(chunks=[build(EncodedTextChunk, tokens=unusual_tokens)]),
        loss_fn_inputs={
            "target_tokens": build(TensorData, data=[5, 2**60, np.int32(2), 1], dtype="int64"),
            "weights": build(TensorData, data=[1, np.float32(0.5), 0.1, -2.0], dtype="float32"),
            "advantages": build(TensorData, data=[-(2**62), 0, -3, 4], dtype="int64"),
        },
    )
    two_chunks = types.Datum(
        model_input=types.ModelInput(
            chunks=[EncodedTextChunk(tokens=[4, 5]), EncodedTextChunk(tokens=[6])]
        ),
        loss_fn_inputs={"target_tokens": [5, 6, 7], "weights": [1.0, 1.0, 1.0]},
    )
    return [plain, unusual, two_chunks]


@pytest.mark.parametrize("features", [JSON, PROTOBUF], ids=["json", "protobuf"])
@pytest.mark.parametrize("backward", [True, False])
def test_certified_bodies_are_the_bodies_encoded_from_scratch(
    features: ServerFeatures, backward: bool
) -> None:
    data = batch()
    certified = certification_for(features, backward)
    validate_datums_certified(data, "cross_entropy", certified)
    assert len(certified) > 0 and certified.json == (not uses_protobuf(features, backward))
    fb_input = ForwardBackwardInput(data=data, loss_fn="cross_entropy")  # type: ignore[arg-type]
    fast = prepare_forward(features, "m:train:0", 1, fb_input, backward, certified)
    slow = prepare_forward(features, "m:train:0", 1, fb_input, backward)
    assert fast.content == slow.content
    assert fast.url == slow.url and fast.headers == slow.headers


def test_a_json_certified_embeds_no_list_of_another_request() -> None:
    data = batch()
    certified = certification_for(JSON, True)
    validate_datums_certified(data, "cross_entropy", certified)
    other = batch()  # equal values, other lists: encoded from scratch, and the same bytes
    fb_input = ForwardBackwardInput(data=other, loss_fn="cross_entropy")  # type: ignore[arg-type]
    assert (
        prepare_forward(JSON, "m:train:0", 1, fb_input, True, certified).content
        == prepare_forward(JSON, "m:train:0", 1, fb_input, True).content
    )
    assert all(certified.get(d.model_input.chunks[0].tokens) is None for d in other)

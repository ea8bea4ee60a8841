"""The client's protobuf codec against the local backend's (tinker_local.server.protobuf_wire):
request bodies the client encodes are what the server decodes, results the server encodes are
what the JSON protocol would give; what the message cannot carry goes as JSON, and what no
encoder can take is the caller's error, before sending."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from tinker_api_client.models import ForwardBackwardInput, LossFnConfig, TensorData

from tinker_hl import types
from tinker_hl._exceptions import APIResponseValidationError, ValidationError
from tinker_hl._forward_wire import prepare_forward
from tinker_hl._futures import _decode_protobuf
from tinker_hl._protobuf_codec import (
    NotEncodable,
    compress,
    decode_forward_backward_output,
    decode_sample_response,
    encode_forward_backward,
)
from tinker_hl._server_features import ServerFeatures
from tinker_local.server import protobuf_wire as server

CURRENT = ServerFeatures(
    negotiated=True,
    protobuf_requests=True,
    compressed_requests=True,
    forward_via_forward_backward=True,
)


def _datum(tokens: list[int], **inputs: Any) -> types.Datum:
    return types.Datum(model_input=types.ModelInput.from_ints(tokens), loss_fn_inputs=inputs)


def _encode(data: list[Any], **kwargs: Any) -> bytes:
    args: dict[str, Any] = {
        "model_id": "m:train:0",
        "seq_id": 7,
        "data": data,
        "loss_fn": "cross_entropy",
        "loss_fn_config": None,
        "forward_only": False,
    }
    return encode_forward_backward(**{**args, **kwargs})


def test_request_bodies_decode_on_the_server_as_sent() -> None:
    logprobs = np.arange(6, dtype=np.float32).reshape(2, 3) / 7
    data = [
        _datum([1, 2, 3], target_tokens=[2, 3, 4], weights=[1.0, 0.5, 0.0]),
        _datum(
            [9, 2**31 - 1],
            target_tokens=types.TensorData.from_numpy(np.array([5, 6], dtype=np.int64)),
            logprobs=types.TensorData.from_numpy(logprobs),
        ),
    ]
    body = _encode(data, loss_fn="ppo", loss_fn_config={"clip_low_threshold": 0.7})
    for raw, encoding in ((body, None), (compress(body), "zstd")):
        decoded = server.decode_forward_backward(raw, encoding)
        assert (decoded.model_id, decoded.seq_id, decoded.loss_fn) == ("m:train:0", 7, "ppo")
        assert decoded.loss_fn_config == {"clip_low_threshold": 0.7}
        assert not decoded.forward_only
        first, second = decoded.data
        assert first.tokens == [1, 2, 3] and second.tokens == [9, 2**31 - 1]
        assert first.loss_fn_inputs["target_tokens"].tolist() == [2, 3, 4]
        assert first.loss_fn_inputs["target_tokens"].dtype == np.int64
        assert first.loss_fn_inputs["weights"].tolist() == [1.0, 0.5, 0.0]
        np.testing.assert_array_equal(second.loss_fn_inputs["logprobs"], logprobs)
    forward = server.decode_forward_backward(_encode(data[:1], forward_only=True), None)
    assert forward.forward_only


def test_sparse_tensors_travel_as_csr() -> None:
    sparse = TensorData.from_dict(
        {
            "data": [0.5, -1.0],
            "dtype": "float32",
            "shape": [2, 3],
            "sparse_crow_indices": [0, 1, 2],
            "sparse_col_indices": [2, 0],
        }
    )
    datum = _datum([1, 2], target_tokens=[2, 3], weights=sparse)
    decoded = server.decode_forward_backward(_encode([datum]), None)
    np.testing.assert_array_equal(
        decoded.data[0].loss_fn_inputs["weights"], [[0, 0, 0.5], [-1.0, 0, 0]]
    )


def test_what_the_message_cannot_carry_goes_as_json() -> None:
    datum = _datum([1, 2], target_tokens=[2, 3], weights=[1.0, 1.0])
    datum.additional_properties["future_field"] = {"x": 1}
    with pytest.raises(NotEncodable, match=r"data\.0"):
        _encode([datum])
    fb_input = ForwardBackwardInput(data=[datum], loss_fn="cross_entropy")
    prepared = prepare_forward(CURRENT, "m:train:0", 3, fb_input, backward=True)
    assert prepared.headers["Content-Type"] == "application/json"
    assert b"future_field" in (prepared.content or b"")
    plain = _datum([1, 2], target_tokens=[2, 3], weights=[1.0, 1.0])
    fb_input = ForwardBackwardInput(
        data=[plain], loss_fn="cross_entropy", loss_fn_config=LossFnConfig.from_dict({"a": 2.0})
    )
    prepared = prepare_forward(CURRENT, "m:train:0", 3, fb_input, backward=False)
    assert prepared.url == "/api/v1/forward_backward"  # forward as forward_only
    assert prepared.headers["Content-Encoding"] == "zstd"
    decoded = server.decode_forward_backward(prepared.content or b"", "zstd")
    assert decoded.forward_only and decoded.seq_id == 3 and decoded.loss_fn_config == {"a": 2.0}
    json_only = prepare_forward(ServerFeatures(negotiated=True), "m:train:0", 3, fb_input, False)
    assert json_only.url == "/api/v1/forward"


@pytest.mark.parametrize(
    "inputs, field",
    [
        ({"target_tokens": [2, 3], "weights": [1.0, 2**70]}, "loss_fn_inputs.weights"),
        ({"target_tokens": [2, 3], "weights": [1.0, 1e39]}, "loss_fn_inputs.weights"),
        ({"target_tokens": [2, 2**64], "weights": [1.0, 1.0]}, "loss_fn_inputs.target_tokens"),
    ],
)
def test_what_no_encoder_takes_is_the_callers_error(inputs: dict[str, Any], field: str) -> None:
    datum = types.Datum(
        model_input=types.ModelInput.from_ints([1, 2]),
        loss_fn_inputs={
            k: TensorData.from_dict(
                {"data": v, "dtype": "int64" if k == "target_tokens" else "float32"}
            )
            for k, v in inputs.items()
        },
    )
    with pytest.raises(ValidationError, match="cannot be encoded") as caught:
        _encode([datum])
    assert field in str(caught.value)


def test_tokens_beyond_int32_are_refused() -> None:
    with pytest.raises(ValidationError, match="int32 range"):
        _encode([_datum([1, 2**31], target_tokens=[2, 3], weights=[1.0, 1.0])])


def test_forward_backward_results_read_as_the_json_result() -> None:
    rng = np.random.default_rng(0)
    outputs = [
        {
            "logprobs": rng.standard_normal(n).astype(np.float32),
            "elementwise_loss": rng.standard_normal(n).astype(np.float32),
            "topk": rng.standard_normal((n, 2)).astype(np.float32),
            "ids": np.arange(n, dtype=np.int64),
        }
        for n in (3, 1, 4)
    ]
    json_result = {
        "loss_fn_output_type": "TorchLossReturn",
        "loss_fn_outputs": [
            {
                k: {
                    "data": v.ravel().tolist(),
                    "dtype": "int64" if v.dtype.kind == "i" else "float32",
                    "shape": list(v.shape),
                }
                for k, v in per_datum.items()
            }
            for per_datum in outputs
        ],
        "metrics": {"loss:sum": 1.25, "tokens:sum": 8.0},
    }
    decoded = decode_forward_backward_output(server.encode_forward_output(json_result))
    assert decoded == json_result  # float32 values in, the same float32 values out


def test_sample_results_read_as_the_json_result() -> None:
    json_result = {
        "sequences": [
            {
                "stop_reason": "length",
                "tokens": [5, 6],
                "logprobs": [-0.5, -1.25],
                "topk_logprobs": [[[5, -0.5], [7, -2.0]], [[6, -1.25]]],
            },
            {"stop_reason": "stop", "tokens": [], "logprobs": []},
        ],
        "type": "sample",
        "prompt_cache_hit_tokens": 0,
        "prompt_logprobs": [None, -3.5, -0.25],
        "topk_prompt_logprobs": [None, [[1, -3.5], [2, -4.0]], [[3, -0.25], [4, -1.5]]],
        "target_prompt_logprobs": {
            "data": [-1.0, -2.0],
            "dtype": "float32",
            "shape": [2, 2],
            "sparse_crow_indices": [0, 1, 2],
            "sparse_col_indices": [1, 0],
        },
    }
    assert decode_sample_response(server.encode_sample_response(json_result)) == json_result
    dense = {"data": [-1.0, -2.0, -0.5, -4.0], "dtype": "float32", "shape": [2, 2]}
    plain = {"sequences": [{"stop_reason": "stop", "tokens": [1]}], "target_prompt_logprobs": dense}
    decoded = decode_sample_response(server.encode_sample_response(plain))
    assert decoded["sequences"] == [{"stop_reason": "stop", "tokens": [1]}]  # no logprobs: none
    assert decoded["target_prompt_logprobs"] == dense
    assert "prompt_logprobs" not in decoded and "topk_prompt_logprobs" not in decoded


def test_an_unreadable_protobuf_result_is_a_validation_error() -> None:
    with pytest.raises(APIResponseValidationError, match="unreadable protobuf result"):
        _decode_protobuf("forward_backward", "req-1", b"\xff\xff\xff")
    with pytest.raises(APIResponseValidationError, match="does not have"):
        _decode_protobuf("optim_step", "req-2", b"")

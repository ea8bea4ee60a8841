"""The protobuf codec's conventions, without a server: packed arrays, sparse CSR, bfloat16,
loss configs, salvaging the ids of a damaged body, and the result encoders."""

from __future__ import annotations

import numpy as np
import pytest
import zstandard
from tinker_proto import tinker_public_pb2 as pb

from tinker_local.server.errors import ApiError
from tinker_local.server.jwt_auth import JwtSigner
from tinker_local.server.protobuf_wire import (
    UnreadableBody,
    decode_forward_backward,
    encode_forward_output,
    encode_sample_response,
)


def request() -> pb.ForwardBackwardRequest:
    msg = pb.ForwardBackwardRequest(model_id="m", seq_id=7, loss_fn="importance_sampling")
    datum = msg.data.add()
    datum.model_input.add().encoded_text.tokens = np.asarray([1, 2], np.int32).tobytes()
    datum.model_input.add().encoded_text.tokens = np.asarray([3], np.int32).tobytes()
    return msg


def test_dense_sparse_and_bfloat16_tensors_decode_to_arrays() -> None:
    msg = request()
    inputs = msg.data[0].loss_fn_inputs
    inputs["target_tokens"].dtype = pb.DTYPE_INT32
    inputs["target_tokens"].dense = np.asarray([2, 3, 4], np.int32).tobytes()
    sparse = inputs["table"]
    sparse.dtype, sparse.shape[:] = pb.DTYPE_FLOAT32, [2, 3]
    sparse.sparse_csr.values = np.asarray([1.5, -2.0], np.float32).tobytes()
    sparse.sparse_csr.crow_indices = np.asarray([0, 1, 2], np.int64).tobytes()
    sparse.sparse_csr.col_indices = np.asarray([2, 0], np.int64).tobytes()
    half = inputs["advantages"]
    half.dtype = pb.DTYPE_BFLOAT16
    half.dense = (
        (np.asarray([1.0, -0.5, 2.0], np.float32).view(np.uint32) >> 16).astype(np.uint16).tobytes()
    )
    msg.loss_fn_config["clip"] = 0.1
    decoded = decode_forward_backward(msg.SerializeToString(), None)
    (datum,) = decoded.data
    assert datum.tokens == [1, 2, 3]
    assert datum.loss_fn_inputs["target_tokens"].dtype == np.int64
    assert datum.loss_fn_inputs["target_tokens"].tolist() == [2, 3, 4]
    assert datum.loss_fn_inputs["table"].tolist() == [[0, 0, 1.5], [-2.0, 0, 0]]
    assert datum.loss_fn_inputs["advantages"].tolist() == [1.0, -0.5, 2.0]
    assert decoded.loss_fn_config == {"clip": pytest.approx(0.1)}
    assert (decoded.model_id, decoded.seq_id, decoded.forward_only) == ("m", 7, False)


def test_loss_fn_config_v2_supersedes_the_numbers_only_map() -> None:
    msg = request()
    msg.loss_fn_config["clip"] = 1.0
    msg.loss_fn_config_v2["clip"].number = 2.0
    assert decode_forward_backward(msg.SerializeToString(), None).loss_fn_config == {"clip": 2.0}


def test_bad_sparse_indices_are_named() -> None:
    msg = request()
    sparse = msg.data[0].loss_fn_inputs["table"]
    sparse.dtype, sparse.shape[:] = pb.DTYPE_FLOAT32, [1, 2]
    sparse.sparse_csr.values = np.asarray([1.0], np.float32).tobytes()
    sparse.sparse_csr.crow_indices = np.asarray([0, 1], np.int64).tobytes()
    sparse.sparse_csr.col_indices = np.asarray([5], np.int64).tobytes()  # out of range
    with pytest.raises(ApiError, match=r"data\.0\.loss_fn_inputs\.table\.sparse_csr"):
        decode_forward_backward(msg.SerializeToString(), None)


def test_damaged_bodies_keep_their_ids_when_the_start_reads() -> None:
    body = request().SerializeToString()
    with pytest.raises(UnreadableBody) as info:
        decode_forward_backward(body[:-3], None)  # truncated inside a datum
    assert info.value.salvaged == ("m", 7)
    frame = zstandard.ZstdCompressor().compress(body)
    with pytest.raises(UnreadableBody, match="zstd") as info:
        decode_forward_backward(frame[:-4], "zstd")
    assert info.value.status == 400
    with pytest.raises(ApiError, match="Content-Encoding"):
        decode_forward_backward(body, "br")
    assert decode_forward_backward(frame, "zstd").model_id == "m"


def test_result_encoders_round_trip() -> None:
    result = {
        "loss_fn_output_type": "TorchLossReturn",
        "metrics": {"loss:sum": 1.5},
        "loss_fn_outputs": [
            {
                "logprobs": {
                    "data": np.asarray([-1.0, -2.0], np.float32),
                    "dtype": "float32",
                    "shape": [2],
                }
            },
            {
                "logprobs": {
                    "data": np.asarray([-3.0], np.float32),
                    "dtype": "float32",
                    "shape": [1],
                }
            },
        ],
    }
    out = pb.ForwardBackwardOutput.FromString(encode_forward_output(result))
    field = out.loss_fn_outputs[0].fields["logprobs"]
    assert np.frombuffer(field.offsets, np.int64).tolist() == [0, 8, 12]
    assert np.frombuffer(field.data, np.float32).tolist() == [-1.0, -2.0, -3.0]
    sample = {
        "sequences": [{"tokens": [5, 6], "logprobs": [-0.5, -0.25], "stop_reason": "length"}],
        "prompt_logprobs": [None, -1.0],
        "topk_prompt_logprobs": [None, [[4, -0.5], [9, -1.5]]],
    }
    decoded = pb.SampleResponse.FromString(encode_sample_response(sample))
    assert decoded.sequences[0].stop_reason == pb.STOP_REASON_LENGTH
    assert np.frombuffer(decoded.sequences[0].tokens, np.int32).tolist() == [5, 6]
    assert np.isnan(np.frombuffer(decoded.prompt_logprobs, np.float32)[0])
    topk = decoded.topk_prompt_logprobs
    assert (topk.k, topk.length) == (2, 2)
    assert np.frombuffer(topk.token_ids, np.int32).tolist() == [0, 0, 4, 9]


def test_jwt_tokens_expire_and_die_with_their_secret() -> None:
    signer = JwtSigner(ttl_s=60)
    token = signer.issue("user-1", now=1000)
    assert signer.user_of(token, now=1059) == "user-1"
    with pytest.raises(ApiError) as info:
        signer.user_of(token, now=1060)
    assert info.value.status == 401 and "expired" in info.value.message
    assert info.value.headers == {"WWW-Authenticate": 'Bearer error="invalid_token"'}
    fresh = signer.issue("user-1")
    signer.rotate()
    with pytest.raises(ApiError, match="not issued by this server"):
        signer.user_of(fresh)
    forged = fresh.rsplit(".", 1)[0] + ".c2lnbmF0dXJl"
    with pytest.raises(ApiError, match="not issued by this server"):
        signer.user_of(forged)

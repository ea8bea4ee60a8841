"""Protobuf forward_backward request bodies and protobuf results (SDK 0.22+ protocol), with the
messages of generated/tinker_proto. Arrays become packed bytes through numpy in one call each,
never element by element; results are read with `np.frombuffer` and handed on in the shapes the
JSON protocol gives (lists via `tolist()`), so both modes return identical values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from tinker_proto import tinker_public_pb2 as pb

PROTOBUF = "application/x-protobuf"
_NP_DTYPE: dict[str, np.dtype[Any]] = {"float32": np.dtype("<f4"), "int64": np.dtype("<i8")}
_PB_DTYPE = {"float32": pb.DTYPE_FLOAT32, "int64": pb.DTYPE_INT64}
_FROM_PB: dict[int, np.dtype[Any]] = {
    pb.DTYPE_FLOAT32: np.dtype("<f4"),
    pb.DTYPE_INT64: np.dtype("<i8"),
    pb.DTYPE_INT32: np.dtype("<i4"),
}


def _dtype_name(value: Any) -> str:
    return str(getattr(value, "value", value))


def encode_forward_backward(
    *,
    model_id: str,
    seq_id: int,
    data: Sequence[Any],
    loss_fn: str,
    loss_fn_config: Mapping[str, float] | None,
    forward_only: bool,
) -> bytes:
    """A tinker_public.ForwardBackwardRequest for validated Datums (generated models)."""
    msg = pb.ForwardBackwardRequest(
        model_id=model_id, seq_id=seq_id, loss_fn=loss_fn, forward_only=forward_only
    )
    if loss_fn_config:
        for key, value in loss_fn_config.items():
            msg.loss_fn_config[key] = float(value)
    for datum in data:
        out = msg.data.add()
        for chunk in datum.model_input.chunks:
            out.model_input.add().encoded_text.tokens = np.asarray(
                chunk.tokens, dtype="<i4"
            ).tobytes()
        inputs = datum.loss_fn_inputs
        items = getattr(inputs, "additional_properties", inputs)
        for name, tensor in items.items():
            dtype = _dtype_name(tensor.dtype)
            target = out.loss_fn_inputs[name]
            target.dtype = _PB_DTYPE[dtype]
            target.dense = np.asarray(tensor.data, dtype=_NP_DTYPE[dtype]).tobytes()
            shape = tensor.shape
            if isinstance(shape, list):
                target.shape.extend(shape)
    return bytes(msg.SerializeToString())


def decode_forward_backward_output(content: bytes) -> dict[str, Any]:
    """A protobuf ForwardBackwardOutput as the JSON result's dict."""
    msg = pb.ForwardBackwardOutput()
    msg.ParseFromString(content)
    outputs: list[dict[str, Any]] = []
    for record in msg.loss_fn_outputs:
        per_datum: list[dict[str, Any]] = [{} for _ in range(record.num_datums)]
        for name, batched in record.fields.items():
            dtype = _FROM_PB[batched.dtype]
            offsets = np.frombuffer(batched.offsets, dtype="<i8") // dtype.itemsize
            values = np.frombuffer(batched.data, dtype=dtype)
            trailing = list(batched.trailing_shape)
            wire = "int64" if dtype.kind in "iu" else "float32"
            for i in range(record.num_datums):  # one step per datum, not per element
                part = values[offsets[i] : offsets[i + 1]]
                rows = part.size // max(int(np.prod(trailing)), 1) if trailing else part.size
                per_datum[i][name] = {
                    "data": part.tolist(),
                    "dtype": wire,
                    "shape": [rows, *trailing],
                }
        outputs.extend(per_datum)
    return {
        "loss_fn_output_type": msg.loss_fn_output_type,
        "loss_fn_outputs": outputs,
        "metrics": dict(msg.metrics.items()),
    }


def _floats_with_none(buffer: bytes) -> list[float | None]:
    array = np.frombuffer(buffer, dtype="<f4")
    values: list[float | None] = array.tolist()
    for index in np.flatnonzero(np.isnan(array)).tolist():  # NaN marks "no value" (usually 1)
        values[index] = None
    return values


def decode_sample_response(content: bytes) -> dict[str, Any]:
    """A protobuf SampleResponse as the JSON result's dict (top-k tables not yet decoded)."""
    msg = pb.SampleResponse()
    msg.ParseFromString(content)
    sequences = []
    for seq in msg.sequences:
        item: dict[str, Any] = {
            "stop_reason": "stop" if seq.stop_reason == pb.STOP_REASON_STOP else "length",
            "tokens": np.frombuffer(seq.tokens, dtype="<i4").tolist(),
        }
        if seq.logprobs:
            item["logprobs"] = np.frombuffer(seq.logprobs, dtype="<f4").tolist()
        sequences.append(item)
    result: dict[str, Any] = {"type": "sample", "sequences": sequences}
    if msg.prompt_logprobs:
        result["prompt_logprobs"] = _floats_with_none(msg.prompt_logprobs)
    if msg.prompt_cache_hit_tokens:
        result["prompt_cache_hit_tokens"] = msg.prompt_cache_hit_tokens
    return result

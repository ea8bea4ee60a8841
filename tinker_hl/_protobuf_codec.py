"""Protobuf forward_backward request bodies and protobuf results (the SDK 0.22+ protocol), with
the messages of generated/tinker_proto.

Arrays travel as packed bytes: a list becomes bytes in C (from marshal's records, or numpy),
never element by element; results are read with `np.frombuffer` and handed on in the JSON
protocol's shapes (lists through `tolist()`), so a caller sees the same types in both modes.
Values are the wire's float32 values exactly (as the official SDK's arrays hold them); a JSON
answer spells the same float32 values in decimal.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from tinker_api_client.models import SampledProvenanceSpan
from tinker_api_client.types import Unset
from tinker_proto import tinker_public_pb2 as pb

from ._exceptions import ValidationError
from ._wire_formats import PROTOBUF

# The scan validation already uses on every list: marshal's records, checked at import.
from .types._number_lists import _HEADER as _MARSHAL_HEADER
from .types._number_lists import Certified, _records
from .types._sampled import TOPK_MASK_LOGPROB

# Wire dtype -> (protobuf DType, numpy dtype).
_WIRE: dict[str, tuple[int, np.dtype[Any]]] = {
    "float32": (pb.DTYPE_FLOAT32, np.dtype("<f4")),
    "int64": (pb.DTYPE_INT64, np.dtype("<i8")),
}
_FROM_PB: dict[int, np.dtype[Any]] = {
    pb.DTYPE_FLOAT32: np.dtype("<f4"),
    pb.DTYPE_INT64: np.dtype("<i8"),
    pb.DTYPE_INT32: np.dtype("<i4"),
}
_INT32 = np.dtype("<i4")
_FLOAT32 = np.dtype("<f4")
_INT64 = np.dtype("<i8")


class NotEncodable(Exception):
    """The request holds something the protobuf message has no place for: send it as JSON."""


# ----- requests --------------------------------------------------------------------------------
def _pack(
    values: Any, dtype: np.dtype[Any], where: str, certified: Certified | None = None
) -> bytes:
    """Packed little-endian bytes of a list (or ndarray) of numbers, converted in C. Strict as
    the JSON encoder is: what it cannot encode (an integer beyond 64 bits) or what the wire
    dtype cannot hold (an int32 token id out of range, a float32 overflow) is the caller's
    error, before anything is sent."""
    if isinstance(values, list):
        fast = _from_marshal(values, dtype, certified)
        if fast is not None:
            return fast
    if dtype.kind in "iu":
        try:  # one pass; numpy refuses a value out of the dtype's range
            return np.asarray(values, dtype=dtype).tobytes()
        except (OverflowError, ValueError, TypeError) as exc:
            raise ValidationError(
                where, f"the request cannot be encoded: beyond the {dtype.name} range ({exc})"
            ) from None
    # Floats: numpy's own dtype first, which shows an integer beyond 64 bits (an object array).
    array_ = np.asarray(values)
    if array_.dtype.kind not in "biuf":
        raise ValidationError(
            where,
            f"the request cannot be encoded: values of type {array_.dtype} (an integer beyond "
            "64 bits?)",
        )
    with np.errstate(over="ignore"):  # an overflow to infinity is refused just below
        packed = array_.astype(dtype)
    if not np.isfinite(packed).all():
        raise ValidationError(where, "the request cannot be encoded: beyond the float32 range")
    return packed.tobytes()


# marshal's fixed-size records (see types/_number_lists): an int in the int32 range is b"i" +
# 4 bytes, a float b"g" + 8 bytes, both little-endian. As numpy record dtypes, the values are
# one strided view of marshal's output.
_INT_RECORDS = np.dtype([("kind", "u1"), ("value", "<i4")])
_FLOAT_RECORDS = np.dtype([("kind", "u1"), ("value", "<f8")])


def _from_marshal(
    values: list[Any], dtype: np.dtype[Any], certified: Certified | None
) -> bytes | None:
    """The packed bytes of a list that holds only Python ints of the int32 range (or only
    Python floats, for a float dtype), read from marshal's output (validation's, when
    `certified` kept it): a third of numpy's cost of converting Python numbers. None for any
    other list (the numpy path decides)."""
    if dtype.kind == "f":
        out = _records(values, _FLOAT_RECORDS.itemsize, b"g", certified)
        if out is None:
            return None
        floats = np.frombuffer(out, dtype=_FLOAT_RECORDS, offset=_MARSHAL_HEADER)["value"]
        with np.errstate(over="ignore"):
            packed = floats.astype(dtype)
        if not np.isfinite(packed).all():
            return None  # the numpy path names the error
        return packed.tobytes()
    out = _records(values, _INT_RECORDS.itemsize, b"i", certified)
    if out is None:
        return None
    ints = np.frombuffer(out, dtype=_INT_RECORDS, offset=_MARSHAL_HEADER)["value"]
    if dtype.itemsize < 4 or (dtype.kind == "u" and ints.size and ints.min() < 0):
        return None
    return ints.astype(dtype).tobytes()


def _extra(model: Any, name: str) -> Any:
    """A field a generated model may declare, or carry among its additional properties."""
    value = getattr(model, name, None)
    if value is None:
        value = getattr(model, "additional_properties", {}).get(name)
    return None if value is None or type(value).__name__ == "Unset" else value


def _unknown_fields(model: Any, known: frozenset[str]) -> list[str]:
    extras = getattr(model, "additional_properties", None) or {}
    return [name for name, value in extras.items() if name not in known and value is not None]


_TENSOR_EXTRAS = frozenset({"sparse_crow_indices", "sparse_col_indices"})


def _tensor(target: Any, tensor: Any, where: str, certified: Certified | None) -> None:
    wire = str(getattr(tensor.dtype, "value", tensor.dtype))
    if wire not in _WIRE or _unknown_fields(tensor, _TENSOR_EXTRAS):
        raise NotEncodable(f"{where}: dtype {wire!r} or fields the protobuf Tensor lacks")
    proto_dtype, dtype = _WIRE[wire]
    target.dtype = proto_dtype
    crow = _extra(tensor, "sparse_crow_indices")
    if crow is not None:
        csr = target.sparse_csr
        csr.values = _pack(tensor.data, dtype, where, certified)
        csr.crow_indices = _pack(crow, _INT64, f"{where}.sparse_crow_indices")
        col = _extra(tensor, "sparse_col_indices") or []
        csr.col_indices = _pack(col, _INT64, f"{where}.sparse_col_indices")
    else:
        target.dense = _pack(tensor.data, dtype, where, certified)
    shape = tensor.shape
    if isinstance(shape, list):
        target.shape.extend(shape)


def _chunk(target: Any, chunk: Any, where: str, certified: Certified | None) -> None:
    kind = str(getattr(chunk.type_, "value", chunk.type_))
    if kind == "encoded_text":
        target.encoded_text.tokens = _pack(chunk.tokens, _INT32, f"{where}.tokens", certified)
        return
    if kind == "image":
        image = target.image
        image.data = base64.b64decode(chunk.data)
        image.format = str(getattr(chunk.format_, "value", chunk.format_))
        expected = getattr(chunk, "expected_tokens", None)
        if isinstance(expected, int):
            image.expected_tokens = expected
        return
    raise NotEncodable(f"{where}: {kind} chunks have no protobuf form")


def _datum(target: Any, datum: Any, where: str, certified: Certified | None) -> None:
    if _unknown_fields(datum, frozenset()):
        raise NotEncodable(f"{where}: fields the protobuf Datum lacks")
    for j, chunk in enumerate(datum.model_input.chunks):
        _chunk(target.model_input.add(), chunk, f"{where}.model_input.{j}", certified)
    inputs = datum.loss_fn_inputs
    items = getattr(inputs, "additional_properties", inputs)
    for name, tensor in items.items():
        _tensor(target.loss_fn_inputs[name], tensor, f"{where}.loss_fn_inputs.{name}", certified)
    for name in _SPAN_FIELDS:
        spans = getattr(datum, name, None)
        if isinstance(spans, list):
            repeated = getattr(target, name)
            for span in spans:
                _span(repeated.add(), span)


_SPAN_FIELDS = ("model_input_spans", "loss_fn_input_spans")


def _span(target: Any, span: Any) -> None:
    """A (validated) provenance span into the ProvenanceSpan message's oneof."""
    arm = target.sampled_tokens if isinstance(span, SampledProvenanceSpan) else target.prompt_tokens
    arm.sequence_id = span.sequence_id
    arm.offset = 0 if isinstance(span.offset, Unset) else span.offset
    arm.length = span.length


def encode_forward_backward(
    *,
    model_id: str,
    seq_id: int,
    data: Sequence[Any],
    loss_fn: str,
    loss_fn_config: Mapping[str, float] | None,
    forward_only: bool,
    certified: Certified | None = None,
) -> bytes:
    """A tinker_public.ForwardBackwardRequest of validated Datums (the generated models).
    NotEncodable when a datum holds what the message cannot carry. `certified`: marshal's
    output that validation kept (`Certified(json=False)`), packed instead of a second pass."""
    msg = pb.ForwardBackwardRequest(
        model_id=model_id, seq_id=seq_id, loss_fn=loss_fn, forward_only=forward_only
    )
    if loss_fn_config:
        for key, value in loss_fn_config.items():
            msg.loss_fn_config[key] = float(value)
    for i, datum in enumerate(data):
        _datum(msg.data.add(), datum, f"data.{i}", certified)
    return bytes(msg.SerializeToString())


# zstd level 1: a third of the CPU of the default level 3 on token ids and loss inputs, at about
# the same ratio (measured on the bench's 64 x 4,096-token request: 2.8x either way).
ZSTD_LEVEL = 1


def compress(body: bytes) -> bytes:
    import zstandard

    return bytes(zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(body))


# ----- results ---------------------------------------------------------------------------------
def _floats(buffer: bytes) -> list[float | None]:
    """float32 values as Python floats; NaN (the protobuf "no value") as None."""
    values = np.frombuffer(buffer, dtype=_FLOAT32)
    decoded: list[float | None] = values.tolist()
    for index in np.flatnonzero(np.isnan(values)).tolist():  # few: the first prompt token
        decoded[index] = None
    return decoded


def _values(array_: np.ndarray) -> list[Any]:
    if array_.dtype.kind == "f":
        floats: list[Any] = array_.tolist()
        return floats
    ints: list[Any] = array_.astype(np.int64).tolist()
    return ints


def _tensor_json(msg: Any) -> dict[str, Any]:
    dtype = _FROM_PB[msg.dtype]
    wire = "int64" if dtype.kind in "iu" else "float32"
    out: dict[str, Any] = {"dtype": wire, "shape": list(msg.shape)}
    if msg.WhichOneof("encoding") == "sparse_csr":
        csr = msg.sparse_csr
        out["data"] = _values(np.frombuffer(csr.values, dtype=dtype))
        out["sparse_crow_indices"] = np.frombuffer(csr.crow_indices, dtype=_INT64).tolist()
        out["sparse_col_indices"] = np.frombuffer(csr.col_indices, dtype=_INT64).tolist()
    else:
        out["data"] = _values(np.frombuffer(msg.dense, dtype=dtype))
    return out


def decode_forward_backward_output(content: bytes) -> dict[str, Any]:
    """A protobuf ForwardBackwardOutput as the JSON result's dict."""
    msg = pb.ForwardBackwardOutput()
    msg.ParseFromString(content)
    outputs: list[dict[str, Any]] = []
    for record in msg.loss_fn_outputs:
        per_datum: list[dict[str, Any]] = [{} for _ in range(record.num_datums)]
        for name, batched in record.fields.items():
            dtype = _FROM_PB[batched.dtype]
            offsets = (np.frombuffer(batched.offsets, dtype=_INT64) // dtype.itemsize).tolist()
            values = _values(np.frombuffer(batched.data, dtype=dtype))
            trailing = [int(n) for n in batched.trailing_shape]
            width = int(np.prod(trailing)) if trailing else 1
            wire = "int64" if dtype.kind in "iu" else "float32"
            for i in range(record.num_datums):  # one step per datum, not per element
                part = values[offsets[i] : offsets[i + 1]]
                rows = len(part) // width if width else 0
                per_datum[i][name] = {"data": part, "dtype": wire, "shape": [rows, *trailing]}
        outputs.extend(per_datum)
    return {
        "loss_fn_output_type": msg.loss_fn_output_type,
        "loss_fn_outputs": outputs,
        "metrics": dict(msg.metrics.items()),
    }


def _topk_rows(table: Any) -> list[list[list[float | int]] | None]:
    """A top-k table as the JSON's rows of [token, logprob]. A server fills each row from the
    start and pads it with masked entries (token 0, TOPK_MASK_LOGPROB): those are cut off, and
    a row with nothing left is None (a position without a table, as the first prompt token)."""
    length, k = int(table.length), int(table.k)
    if not length:
        return []
    ids = np.frombuffer(table.token_ids, dtype=_INT32).reshape(length, k)
    lps = np.frombuffer(table.logprobs, dtype=_FLOAT32).reshape(length, k)
    pairs = np.empty((length, k, 2), dtype=object)
    pairs[..., 0] = ids.astype(np.int64).astype(object)
    pairs[..., 1] = lps.astype(np.float64).astype(object)
    kept = (lps != np.float32(TOPK_MASK_LOGPROB)).sum(axis=1).tolist()
    rows: list[Any] = pairs.tolist()
    for i, n in enumerate(kept):  # one step per row
        if n < k:
            rows[i] = rows[i][:n] if n else None
    return rows


def decode_sample_response(content: bytes) -> dict[str, Any]:
    """A protobuf SampleResponse as the JSON result's dict."""
    msg = pb.SampleResponse()
    msg.ParseFromString(content)
    sequences = []
    for seq in msg.sequences:
        item: dict[str, Any] = {
            "stop_reason": "stop" if seq.stop_reason == pb.STOP_REASON_STOP else "length",
            "tokens": np.frombuffer(seq.tokens, dtype=_INT32).tolist(),
        }
        if seq.HasField("logprobs"):
            item["logprobs"] = _floats(seq.logprobs)
        if seq.HasField("topk_sampled_logprobs"):
            item["topk_logprobs"] = [row or [] for row in _topk_rows(seq.topk_sampled_logprobs)]
        sequences.append(item)
    result: dict[str, Any] = {
        "sequences": sequences,
        "type": "sample",
        "prompt_cache_hit_tokens": msg.prompt_cache_hit_tokens,
    }
    if msg.HasField("prompt_logprobs"):
        result["prompt_logprobs"] = _floats(msg.prompt_logprobs)
    if msg.HasField("topk_prompt_logprobs"):
        result["topk_prompt_logprobs"] = _topk_rows(msg.topk_prompt_logprobs)
    if msg.HasField("target_prompt_logprobs"):
        result["target_prompt_logprobs"] = _tensor_json(msg.target_prompt_logprobs)
    if msg.HasField("prompt_alt_tokens"):
        alt = msg.prompt_alt_tokens
        result["prompt_alt_tokens"] = {
            "tokens": _tensor_json(alt.tokens),
            "logprobs": _tensor_json(alt.logprobs),
        }
    return result


def decode_result(request_type: str, content: bytes) -> dict[str, Any] | None:
    """A protobuf result of `request_type` as its JSON dict; None for a type without one."""
    if request_type in ("forward_backward", "forward"):
        return decode_forward_backward_output(content)
    if request_type == "sample":
        return decode_sample_response(content)
    return None


__all__ = [
    "PROTOBUF",
    "NotEncodable",
    "compress",
    "decode_result",
    "encode_forward_backward",
]

"""The protobuf side of the protocol (SDK 0.22+): forward_backward request bodies in, and
ForwardBackwardOutput / SampleResponse results out, for polls whose Accept asks for them.

Messages come from generated/tinker_proto (compiled from tinker_public.proto). Every array
travels as packed bytes and is read with `np.frombuffer`, never element by element.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from tinker_api_client.limits import TOPK_MASK_LOGPROB

from .compute import WireDatum
from .csr import densify
from .errors import ApiError, UserError, bad_request
from .provenance import check_proto_datum

PROTOBUF = "application/x-protobuf"
# A decompressed body larger than this is refused (a zstd bomb cannot exhaust memory).
MAX_DECOMPRESSED_BYTES = 1 << 30

_INT32, _INT64, _FLOAT32 = np.dtype("<i4"), np.dtype("<i8"), np.dtype("<f4")


def _pb() -> Any:
    from tinker_proto import tinker_public_pb2

    return tinker_public_pb2


def wants_protobuf(accept: str | None) -> bool:
    return accept is not None and PROTOBUF in accept


def is_protobuf(content_type: str | None) -> bool:
    return content_type is not None and content_type.split(";")[0].strip().lower() == PROTOBUF


# -- request bodies -----------------------------------------------------------------------------
@dataclass(frozen=True)
class ProtoForwardBackward:
    model_id: str
    seq_id: int
    loss_fn: str
    loss_fn_config: dict[str, float] | None
    forward_only: bool
    data: list[WireDatum]


class UnreadableBody(ApiError):
    """A 400 for a body that could not be read; `salvaged` is (model_id, seq_id) when the
    readable start of the body still named them (so the model's queue can skip that seq)."""

    def __init__(
        self, message: str, salvaged: tuple[str, int] | None, field: str | None = None
    ) -> None:
        super().__init__(400, message, field)
        self.salvaged = salvaged


def decompress(raw: bytes, content_encoding: str | None) -> bytes:
    encoding = (content_encoding or "identity").strip().lower()
    if encoding in ("identity", ""):
        return raw
    if encoding != "zstd":
        raise bad_request(
            f"Content-Encoding: {encoding!r} is not supported (expected zstd or none)",
            "Content-Encoding",
        )
    import zstandard

    reader = zstandard.ZstdDecompressor().decompressobj()
    try:
        out = reader.decompress(raw)
        if not reader.eof:
            raise zstandard.ZstdError("the frame is truncated")
    except zstandard.ZstdError as e:
        raise UnreadableBody(
            f"Content-Encoding zstd: corrupt or truncated frame ({e})", _salvage(_readable(raw))
        ) from None
    if len(out) > MAX_DECOMPRESSED_BYTES:
        raise bad_request(f"request body: more than {MAX_DECOMPRESSED_BYTES} bytes decompressed")
    return out


def _readable(raw: bytes) -> bytes:
    """What a damaged zstd frame still yields before the damage (its intact blocks)."""
    import zstandard

    reader = zstandard.ZstdDecompressor().decompressobj()
    out = b""
    step = 1 << 16
    try:
        for start in range(0, len(raw), step):
            out += reader.decompress(raw[start : start + step])
    except zstandard.ZstdError:
        pass
    return out


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while pos < len(data) and shift < 64:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
    raise ValueError("truncated varint")


def _salvage(data: bytes) -> tuple[str, int] | None:
    """model_id (field 1) and seq_id (field 2): the SDKs write them first."""
    try:
        if data[:1] != b"\x0a":
            return None
        length, pos = _varint(data, 1)
        model_id = data[pos : pos + length].decode()
        pos += length
        if len(model_id) != length or data[pos : pos + 1] != b"\x10":
            return None
        seq_id, _ = _varint(data, pos + 1)
    except (ValueError, UnicodeDecodeError):
        return None
    return model_id, seq_id if seq_id < 2**31 else seq_id - 2**64


def decode_forward_backward(raw: bytes, content_encoding: str | None) -> ProtoForwardBackward:
    body = decompress(raw, content_encoding)
    pb = _pb()
    msg = pb.ForwardBackwardRequest()
    try:
        msg.ParseFromString(body)
    except Exception as e:  # google.protobuf.message.DecodeError
        raise UnreadableBody(
            f"request body: not a valid protobuf ForwardBackwardRequest ({e})", _salvage(body)
        ) from None
    try:
        data = [_datum(d, f"data.{i}") for i, d in enumerate(msg.data)]
        config = _loss_config(msg)
    except ApiError as e:
        raise UnreadableBody(e.message, (msg.model_id, msg.seq_id), e.field) from None
    if not msg.model_id:
        raise bad_request("model_id: required", "model_id")
    return ProtoForwardBackward(
        model_id=msg.model_id,
        seq_id=msg.seq_id,
        loss_fn=msg.loss_fn,
        loss_fn_config=config,
        forward_only=msg.forward_only,
        data=data,
    )


def _loss_config(msg: Any) -> dict[str, float] | None:
    """loss_fn_config_v2 when set (it supersedes the numbers-only map), else loss_fn_config."""
    if msg.loss_fn_config_v2:
        out: dict[str, float] = {}
        for key, value in msg.loss_fn_config_v2.items():
            if value.WhichOneof("value") != "number":
                raise bad_request(
                    f"loss_fn_config_v2.{key}: expected a number (the local backend's losses "
                    "take numeric parameters only)",
                    f"loss_fn_config_v2.{key}",
                )
            out[key] = value.number
        return out
    if msg.loss_fn_config:
        return dict(msg.loss_fn_config.items())
    return None


def _tokens(datum: Any, field: str) -> list[int]:
    parts = []
    for j, chunk in enumerate(datum.model_input):
        kind = chunk.WhichOneof("chunk")
        if kind != "encoded_text":
            raise bad_request(
                f"{field}.model_input.{j}: {kind or 'empty'} chunks are not supported by the "
                "local backend (text only)",
                f"{field}.model_input.{j}",
            )
        parts.append(_packed(chunk.encoded_text.tokens, _INT32, f"{field}.model_input.{j}.tokens"))
    if not parts:
        return []
    tokens: list[int] = np.concatenate(parts).astype(np.int64).tolist()
    return tokens


def _packed(buffer: bytes, dtype: np.dtype, field: str) -> np.ndarray:
    if len(buffer) % dtype.itemsize:
        raise bad_request(
            f"{field}: {len(buffer)} bytes is not a whole number of {dtype.name} values", field
        )
    return np.frombuffer(buffer, dtype=dtype)


def _values(buffer: bytes, proto_dtype: int, field: str) -> np.ndarray:
    """Packed values of the given DType, as the compute layer's int64 / float32."""
    pb = _pb()
    if proto_dtype == pb.DTYPE_INT64:
        return _packed(buffer, _INT64, field)
    if proto_dtype == pb.DTYPE_INT32:
        return _packed(buffer, _INT32, field).astype(np.int64)
    if proto_dtype == pb.DTYPE_FLOAT32:
        array = _packed(buffer, _FLOAT32, field)
    elif proto_dtype == pb.DTYPE_BFLOAT16:
        halves = _packed(buffer, np.dtype("<u2"), field)
        array = (halves.astype(np.uint32) << 16).view(np.float32)
    else:
        raise bad_request(f"{field}: unsupported dtype {proto_dtype}", field)
    if not np.isfinite(array).all():
        raise bad_request(f"{field}: contains NaN or infinite values", field)
    return array


def _tensor(msg: Any, field: str) -> np.ndarray:
    shape = [int(s) for s in msg.shape]
    if any(s < 0 for s in shape):
        raise bad_request(f"{field}.shape: negative dimension in {shape}", f"{field}.shape")
    if msg.WhichOneof("encoding") == "sparse_csr":
        return _sparse(msg, shape, field)
    values = _values(msg.dense, msg.dtype, f"{field}.dense")
    if shape:
        if math.prod(shape) != values.size:
            raise bad_request(
                f"{field}.shape: shape {shape} does not fit {values.size} value(s)",
                f"{field}.shape",
            )
        values = values.reshape(shape)
    return values


def _sparse(msg: Any, shape: list[int], field: str) -> np.ndarray:
    """A CSR matrix (2-D) made dense: the losses read dense arrays."""
    csr = msg.sparse_csr
    values = _values(csr.values, msg.dtype, f"{field}.sparse_csr.values")
    crow = _packed(csr.crow_indices, _INT64, f"{field}.sparse_csr.crow_indices")
    col = _packed(csr.col_indices, _INT64, f"{field}.sparse_csr.col_indices")
    try:
        return densify(values, crow, col, shape, f"{field}.sparse_csr")
    except UserError as e:  # decoded at submission: the request's 400
        raise bad_request(str(e), f"{field}.sparse_csr") from None


def _datum(msg: Any, field: str) -> WireDatum:
    inputs = {
        name: _tensor(tensor, f"{field}.loss_fn_inputs.{name}")
        for name, tensor in msg.loss_fn_inputs.items()
    }
    tokens = _tokens(msg, field)
    check_proto_datum(msg, field, len(tokens), inputs.get("target_tokens"))  # then left out
    return WireDatum(tokens=tokens, loss_fn_inputs=inputs)


# -- results ------------------------------------------------------------------------------------
def _as_array(tensor: Mapping[str, Any]) -> np.ndarray:
    dtype = np.int64 if tensor["dtype"] == "int64" else np.float32
    array = np.asarray(tensor["data"], dtype=dtype)
    shape = tensor.get("shape")
    return array.reshape(shape) if shape else array


def encode_forward_output(result: Mapping[str, Any]) -> bytes | None:
    """A ForwardBackwardOutput JSON result (arrays inside) as the protobuf message: one
    ArrayRecord batching every datum's value of each output field. None when the datums'
    values of a field differ in trailing shape (top-K [N, K] logprobs beside per-token [N]
    ones), which one ArrayRecord cannot carry: that result is answered in JSON."""
    pb = _pb()
    out = pb.ForwardBackwardOutput(loss_fn_output_type=str(result["loss_fn_output_type"]))
    for key, value in result["metrics"].items():
        out.metrics[key] = float(value)
    per_datum: list[Mapping[str, Any]] = result["loss_fn_outputs"]
    record = out.loss_fn_outputs.add(type_tag=out.loss_fn_output_type, num_datums=len(per_datum))
    names = list(per_datum[0]) if per_datum else []
    for name in names:
        arrays = [_as_array(d[name]) for d in per_datum]
        if len({a.shape[1:] for a in arrays}) > 1:
            return None
        batched = record.fields[name]
        int_valued = arrays[0].dtype.kind in "iu"
        dtype = _INT64 if int_valued else _FLOAT32
        batched.dtype = pb.DTYPE_INT64 if int_valued else pb.DTYPE_FLOAT32
        trailing = list(arrays[0].shape[1:])
        batched.trailing_shape.extend(trailing)
        chunks = [np.ascontiguousarray(a, dtype=dtype).tobytes() for a in arrays]
        offsets = np.zeros(len(chunks) + 1, dtype=_INT64)
        offsets[1:] = np.cumsum([len(c) for c in chunks])
        batched.data = b"".join(chunks)
        batched.offsets = offsets.tobytes()
    return bytes(out.SerializeToString())


def _topk_table(rows: list[Any], msg: Any) -> None:
    k = max((len(r) for r in rows if r), default=0)
    ids = np.zeros((len(rows), k), dtype=_INT32)
    lps = np.full((len(rows), k), TOPK_MASK_LOGPROB, dtype=_FLOAT32)
    for i, row in enumerate(rows):
        for j, (token, logprob) in enumerate(row or []):
            ids[i, j], lps[i, j] = token, logprob
    msg.token_ids, msg.logprobs = ids.tobytes(), lps.tobytes()
    msg.k, msg.length = k, len(rows)


def encode_sample_response(result: Mapping[str, Any]) -> bytes:
    pb = _pb()
    out = pb.SampleResponse(prompt_cache_hit_tokens=int(result.get("prompt_cache_hit_tokens", 0)))
    for seq in result["sequences"]:
        msg = out.sequences.add()
        msg.stop_reason = (
            pb.STOP_REASON_STOP if seq["stop_reason"] == "stop" else pb.STOP_REASON_LENGTH
        )
        msg.tokens = np.asarray(seq["tokens"], dtype=_INT32).tobytes()
        if seq.get("logprobs") is not None:
            msg.logprobs = np.asarray(seq["logprobs"], dtype=_FLOAT32).tobytes()
        if seq.get("topk_logprobs") is not None:
            _topk_table(seq["topk_logprobs"], msg.topk_sampled_logprobs)
    prompt = result.get("prompt_logprobs")
    if prompt is not None:
        values = [math.nan if v is None else v for v in prompt]
        out.prompt_logprobs = np.asarray(values, dtype=_FLOAT32).tobytes()
    topk = result.get("topk_prompt_logprobs")
    if topk is not None:
        _topk_table(topk, out.topk_prompt_logprobs)
    target = result.get("target_prompt_logprobs")
    if target is not None:
        tensor = out.target_prompt_logprobs
        tensor.dtype = pb.DTYPE_FLOAT32
        packed = np.asarray(target["data"], dtype=_FLOAT32).tobytes()
        if target.get("sparse_crow_indices") is not None:  # the request's own CSR layout
            tensor.sparse_csr.values = packed
            tensor.sparse_csr.crow_indices = np.asarray(
                target["sparse_crow_indices"], dtype=_INT64
            ).tobytes()
            tensor.sparse_csr.col_indices = np.asarray(
                target["sparse_col_indices"], dtype=_INT64
            ).tobytes()
        else:
            tensor.dense = packed
        tensor.shape.extend(target.get("shape") or [])
    alt = result.get("prompt_alt_tokens")
    if alt is not None:
        for name, dtype, np_dtype in (
            ("tokens", pb.DTYPE_INT64, _INT64),
            ("logprobs", pb.DTYPE_FLOAT32, _FLOAT32),
        ):
            part, tensor = alt[name], getattr(out.prompt_alt_tokens, name)
            tensor.dtype = dtype
            tensor.dense = np.asarray(part["data"], dtype=np_dtype).tobytes()
            tensor.shape.extend(part["shape"])
    return bytes(out.SerializeToString())


def encode_result(request_type: str, result: Mapping[str, Any]) -> bytes | None:
    """The protobuf body of a finished request's result, for the types that have one."""
    if request_type in ("forward_backward", "forward"):
        return encode_forward_output(result)
    if request_type == "sample":
        return encode_sample_response(result)
    return None

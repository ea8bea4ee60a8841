"""Conversions between the generated wire models and the compute layer's plain values."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import numpy as np
from tinker_api_client.models import (
    Checkpoint,
    CheckpointUserMetadataType0,
    Cursor,
    EncodedTextChunk,
    Metrics,
    ModelInput,
    SampledSequence,
    SampleResponse,
    TrainingRun,
    TrainingRunUserMetadataType0,
)
from tinker_api_client.types import Unset

from .compute import SampleOut, WireDatum
from .csr import CsrLayout, densify, json_indices
from .errors import UserError
from .store import CheckpointRow, RunRow

T = TypeVar("T")

_DTYPES: dict[str, Any] = {"int64": np.int64, "float32": np.float32}
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def opt(value: T | Unset | None, default: T) -> T:
    """A generated model's optional field, with UNSET and null replaced by `default`."""
    return default if value is None or isinstance(value, Unset) else value


def opt_none(value: T | Unset | None) -> T | None:
    return None if isinstance(value, Unset) else value


def rfc3339(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).isoformat().replace("+00:00", "Z")


# -- inputs -----------------------------------------------------------------------------------
def tokens_from_model_input(model_input: ModelInput, field: str) -> list[int]:
    """Concatenate the text chunks' tokens; images are not supported locally."""
    tokens: list[int] = []
    for j, chunk in enumerate(model_input.chunks):
        if not isinstance(chunk, EncodedTextChunk):
            raise UserError(
                f"{field}.chunks.{j}: image inputs are not supported by the local backend"
            )
        tokens.extend(chunk.tokens)
    return tokens


def _plain_array(values: list[Any], dtype: Any) -> np.ndarray | None:
    """`values` (already schema-validated: JSON numbers, no booleans) as an array of `dtype`
    when nothing about them needs a closer look; None sends them through the checks below.

    One pass in C instead of several in Python: int64 takes lists that numpy reads as int64
    by itself (plain integers, all in range); float32 takes finite results."""
    try:
        if dtype is np.int64:
            array = np.array(values)
            return array if array.dtype == np.int64 and array.ndim == 1 else None
        with np.errstate(over="ignore"):
            array = np.array(values, dtype=np.float32)
    except (OverflowError, ValueError, TypeError):
        return None
    return array if array.ndim == 1 and bool(np.isfinite(array).all()) else None


def _tensor(values: list[Any], dtype_name: str, shape: list[int] | None, field: str) -> np.ndarray:
    dtype = _DTYPES[dtype_name]
    plain = _plain_array(values, dtype)
    if plain is not None:
        return _shaped(plain, shape, field)
    if dtype is np.int64 and not all(
        type(v) is int or (isinstance(v, float) and v.is_integer()) for v in values
    ):
        raise UserError(f"{field}.data: dtype int64 needs integer values")
    if dtype is np.int64 and not all(_INT64_MIN <= v <= _INT64_MAX for v in values):
        raise UserError(f"{field}.data: dtype int64 values must fit in 64 bits")
    if dtype is np.float32 and not all(math.isfinite(v) for v in values):
        raise UserError(f"{field}.data: contains NaN or infinite values")
    with np.errstate(over="ignore"):  # a finite float64 may overflow float32: checked below
        array = np.asarray(values, dtype=dtype)
    if dtype is np.float32 and not np.isfinite(array).all():
        raise UserError(f"{field}.data: contains values outside the float32 range")
    return _shaped(array, shape, field)


def _shaped(array: np.ndarray, shape: list[int] | None, field: str) -> np.ndarray:
    if shape is not None:
        if any(s < 0 for s in shape) or math.prod(shape) != array.size:
            raise UserError(
                f"{field}.shape: shape {list(shape)} does not fit {array.size} value(s)"
            )
        array = array.reshape(shape)
    return array


_TEXT_CHUNK_KEYS = frozenset({"tokens", "type"})


def datum_from_json(datum: Mapping[str, Any], field: str) -> WireDatum:
    """A Datum's schema-validated JSON as arrays, without building the generated models (which
    cost more than the rest of a training request's decoding).

    A chunk with no keys but `tokens`/`type` can only be a text chunk (the image variants need
    `format`); anything else goes through the generated ModelInput, as before."""
    model_input = datum["model_input"]
    chunks = model_input["chunks"]
    if all(chunk.keys() <= _TEXT_CHUNK_KEYS for chunk in chunks):
        tokens: list[int] = []
        for chunk in chunks:
            tokens.extend(chunk["tokens"])
    else:
        tokens = tokens_from_model_input(ModelInput.from_dict(model_input), f"{field}.model_input")
    inputs = {
        name: tensor_from_json(tensor, f"{field}.loss_fn_inputs.{name}")
        for name, tensor in datum["loss_fn_inputs"].items()
    }
    return WireDatum(tokens=tokens, loss_fn_inputs=inputs)


def tensor_from_json(tensor: Mapping[str, Any], field: str, pad: int = 0) -> np.ndarray:
    """A (schema-validated) TensorData as a dense array; a sparse CSR one gets `pad` in every
    cell it does not list."""
    layout = json_indices(tensor, field)
    if layout is None:
        return _tensor(tensor["data"], tensor["dtype"], tensor.get("shape"), field)
    values = _tensor(tensor["data"], tensor["dtype"], None, field)
    return densify(values, *layout, list(tensor["shape"]), field, pad)


def data_from_json(data: Sequence[Mapping[str, Any]], field: str) -> list[WireDatum]:
    return [datum_from_json(d, f"{field}.{i}") for i, d in enumerate(data)]


# -- outputs ----------------------------------------------------------------------------------
def _check_finite(ok: bool, what: str) -> None:
    """JSON numbers cannot be NaN or infinite: such a result fails as the caller's problem."""
    if not ok:
        raise UserError(
            f"{what}: the result contains NaN or infinite values, which cannot be sent as JSON "
            "(inputs such as weights, advantages or logprobs made the computation overflow)"
        )


def _finite_logprobs(values: list[float]) -> bool:
    """Whether logprobs (float32 values, as Python floats) are all finite, at C speed: their
    sum is NaN or infinite exactly when one of them is (values below 3.5e38 in magnitude
    cannot overflow a double's sum). A per-value check cost ~0.2 ms per sample response."""
    return math.isfinite(sum(values))


def metrics_to_wire(metrics: Mapping[str, float]) -> Metrics:
    out = Metrics()
    out.additional_properties = {k: float(v) for k, v in metrics.items()}
    _check_finite(all(map(math.isfinite, out.additional_properties.values())), "metrics")
    return out


def _tensor_json(array: np.ndarray) -> dict[str, Any]:
    """A result array as TensorData JSON (int64 or finite float32), without the generated model.

    The data stays a numpy array: the response's orjson renders it in C, float32 values in
    their shortest float32 form (which reads back to the same float32, in half the bytes of
    the float64 expansion)."""
    array = np.asarray(array)
    shape = list(array.shape)
    if array.dtype.kind in "iub":
        return {"data": array.astype(np.int64).ravel(), "dtype": "int64", "shape": shape}
    values = np.ascontiguousarray(array, dtype=np.float32).ravel()
    _check_finite(bool(np.isfinite(values).all()), "loss_fn_outputs")
    return {"data": values, "dtype": "float32", "shape": shape}


def forward_output(
    outputs: list[dict[str, np.ndarray]], metrics: Mapping[str, float]
) -> dict[str, Any]:
    """The ForwardBackwardOutput body (as `ForwardBackwardOutput(...).to_dict()` builds it)."""
    loss_fn_outputs = [{k: _tensor_json(v) for k, v in per_datum.items()} for per_datum in outputs]
    return {
        "loss_fn_output_type": "TorchLossReturn",
        "loss_fn_outputs": loss_fn_outputs,
        "metrics": metrics_to_wire(metrics).to_dict(),
    }


def sample_output(out: SampleOut, target: CsrLayout | None = None) -> dict[str, Any]:
    """`target`: the CSR layout (crow, col) of a sparse target_prompt_logprobs request."""
    values = [lp for _, seq_lps, _ in out.sequences for lp in seq_lps]
    values += [lp for lp in out.prompt_logprobs or [] if lp is not None]
    values += [lp for row in out.topk_prompt_logprobs or [] if row for _, lp in row]
    _check_finite(_finite_logprobs(values), "logprobs")
    response = SampleResponse(
        sequences=[
            SampledSequence(stop_reason=reason, tokens=list(tokens), logprobs=list(logprobs))
            for tokens, logprobs, reason in out.sequences
        ],
        type_="sample",
        prompt_cache_hit_tokens=0,  # no prefix cache: nothing is ever served from one
    )
    if out.prompt_logprobs is not None:
        response.prompt_logprobs = list(out.prompt_logprobs)
    if out.topk_prompt_logprobs is not None:
        response.topk_prompt_logprobs = [
            None if row is None else [[int(t), float(lp)] for t, lp in row]
            for row in out.topk_prompt_logprobs
        ]
    body = response.to_dict()
    if out.topk_sample_logprobs is not None:
        values = [lp for seq in out.topk_sample_logprobs for row in seq for _, lp in row]
        _check_finite(_finite_logprobs(values), "topk_logprobs")
        for wire_seq, seq in zip(body["sequences"], out.topk_sample_logprobs, strict=True):
            wire_seq["topk_logprobs"] = [[[int(t), float(lp)] for t, lp in row] for row in seq]
    if out.target_prompt_logprobs is not None:
        body["target_prompt_logprobs"] = target_logprobs_json(out.target_prompt_logprobs, target)
    if out.prompt_alt_tokens is not None:
        body["prompt_alt_tokens"] = alt_tokens_json(*out.prompt_alt_tokens)
    return body


def alt_tokens_json(ids: np.ndarray, logprobs: np.ndarray) -> dict[str, Any]:
    """The PromptAltTokens body: two dense [len(prompt) - 1, k] tensors."""
    _check_finite(bool(np.isfinite(logprobs).all()), "prompt_alt_tokens.logprobs")
    shape = list(ids.shape)
    return {
        "tokens": {"data": ids.ravel(), "dtype": "int64", "shape": shape},
        "logprobs": {"data": logprobs.ravel(), "dtype": "float32", "shape": shape},
    }


def target_logprobs_json(values: np.ndarray, layout: CsrLayout | None) -> dict[str, Any]:
    """The target logprobs as TensorData JSON in the request's layout: dense, or only the
    cells its CSR `layout` (crow, col) listed."""
    _check_finite(bool(np.isfinite(values).all()), "target_prompt_logprobs")
    shape = list(values.shape)
    if layout is None:
        return {"data": values.ravel(), "dtype": "float32", "shape": shape}
    crow, col = layout
    rows = np.repeat(np.arange(shape[0]), np.diff(crow))
    return {
        "data": values[rows, col],
        "dtype": "float32",
        "shape": shape,
        "sparse_crow_indices": crow.tolist(),
        "sparse_col_indices": col.tolist(),
    }


def checkpoint_to_wire(
    row: CheckpointRow,
    extras: tuple[float | None, dict[str, str] | None] = (None, None),
) -> Checkpoint:
    """`extras`: the checkpoint's (expires_at, user_metadata), see Store.checkpoint_extras."""
    expires_at, meta = extras
    out = Checkpoint(
        checkpoint_id=row.checkpoint_id,
        checkpoint_type="training" if row.kind == "weights" else "sampler",
        time=rfc3339(row.created_at),
        tinker_path=row.tinker_path,
        size_bytes=row.size_bytes,
        public=row.public,
        expires_at=None if expires_at is None else rfc3339(expires_at),
    )
    if meta is not None:
        wire_meta = CheckpointUserMetadataType0()
        wire_meta.additional_properties = dict(meta)
        out.user_metadata = wire_meta
    else:
        out.user_metadata = None
    return out


def _string_metadata(meta: Mapping[str, Any]) -> dict[str, str]:
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in meta.items()}


def training_run_to_wire(
    run: RunRow, last: CheckpointRow | None, last_sampler: CheckpointRow | None
) -> TrainingRun:
    out = TrainingRun(
        training_run_id=run.run_id,
        base_model=run.base_model,
        model_owner=run.user,
        is_lora=run.lora_rank is not None,
        last_request_time=rfc3339(run.last_request_time),
        corrupted=run.corrupted,
        lora_rank=run.lora_rank,
        last_checkpoint=None if last is None else checkpoint_to_wire(last),
        last_sampler_checkpoint=None if last_sampler is None else checkpoint_to_wire(last_sampler),
    )
    if run.user_metadata is not None:
        meta = TrainingRunUserMetadataType0()
        meta.additional_properties = _string_metadata(run.user_metadata)
        out.user_metadata = meta
    else:
        out.user_metadata = None
    return out


def cursor(offset: int, limit: int, total: int) -> Cursor:
    return Cursor(offset=offset, limit=limit, total_count=total)

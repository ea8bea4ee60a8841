"""Client-side validation of request inputs, run by the clients before anything is sent.

Every check raises `ValidationError(field, message)`: `field` is the dotted path of the offending
value (`data[3].loss_fn_inputs.weights`, `sampling_params.top_p`) and the message says what was
expected. The checks are linear in the input size: a list of numbers first gets the one-pass
C-speed scan of `_number_lists`, and only a list that scan cannot vouch for gets the exact
per-element check, which names the first bad element. Lists are checked every time (they may have
changed since the Datum was built). The clients validate a request with a `Certified`, in which
the scans leave the encoding they produced for the encoder to reuse.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from tinker_api_client.models import (
    AdamParams,
    EncodedTextChunk,
    ImageAssetPointerChunk,
    ImageChunk,
    LoraConfig,
    LossFnInputs,
    ModelInput,
    SamplingParams,
    TensorData,
)
from tinker_api_client.models import Datum as _WireDatum
from tinker_api_client.models.image_format import IMAGE_FORMAT_VALUES
from tinker_api_client.models.loss_fn_type import LOSS_FN_TYPE_VALUES
from tinker_api_client.types import Unset

from .._exceptions import ValidationError
from ._number_lists import Certified, finite_reals, ints_within
from ._provenance import validate_provenance
from ._shapes import WireMap
from ._tensor import check_csr, tensor_is_sparse

__all__ = [
    "LOSS_FN_REQUIRED_KEYS",
    "PER_TOKEN_KEYS",
    "validate_adam_params",
    "validate_datums",
    "validate_datums_certified",
    "validate_lora",
    "validate_lora_config",
    "validate_loss_fn",
    "validate_model_input",
    "validate_sampling_params",
    "validate_tensor_data",
]

PER_TOKEN_KEYS: frozenset[str] = frozenset(
    {"target_tokens", "weights", "logprobs", "advantages", "sequence_ratio_mask"}
)
"""Loss inputs with one value per model_input token."""

_RL_KEYS = ("target_tokens", "logprobs", "advantages")
# The loss names come from the spec's LossFnType; most are policy gradients needing _RL_KEYS.
_KEYS_OTHER_THAN_RL: dict[str, tuple[str, ...]] = {
    "cross_entropy": ("target_tokens",),
    "gspo": (*_RL_KEYS, "sequence_ratio_mask"),
    # Their other inputs are the service's business; every loss needs its targets.
    "stable_reinforce": ("target_tokens",),
    "custom": ("target_tokens",),
}
LOSS_FN_REQUIRED_KEYS: dict[str, tuple[str, ...]] = {
    name: _KEYS_OTHER_THAN_RL.get(name, _RL_KEYS) for name in sorted(LOSS_FN_TYPE_VALUES)
}
"""Loss function -> the loss_fn_inputs keys it needs."""

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_TOKEN_ID_MAX = _INT64_MAX  # int64 on the wire: say so here, not in the encoder or the server
_IMAGE_FORMATS = tuple(sorted(IMAGE_FORMAT_VALUES, reverse=True))  # openapi.yaml's ImageFormat
_IMAGE_FORMATS_SAID = " or ".join(repr(f) for f in _IMAGE_FORMATS)  # 'png' or 'jpeg'


def _is_int(v: object) -> bool:
    return type(v) is int or (
        isinstance(v, int | np.integer) and not isinstance(v, bool | np.bool_)
    )


def _is_real(v: object) -> bool:
    return type(v) is float or _is_int(v) or isinstance(v, float | np.floating)


def _unset(v: object) -> bool:
    return isinstance(v, Unset)


def _check_ints(
    values: object,
    field: str,
    what: str,
    low: int,
    high: int | None = None,
    certified: Certified | None = None,
) -> None:
    """`values` is a list of ints (Python or numpy, never bool) in [low, high]."""
    if not isinstance(values, list):
        raise ValidationError(field, f"expected a list of {what}s, got {type(values).__name__}")
    if ints_within(values, low, high, certified):
        return
    if not set(map(type, values)) <= {int}:
        for j, v in enumerate(values):
            if not _is_int(v):
                raise ValidationError(
                    f"{field}[{j}]", f"expected {what} (an int), got {type(v).__name__} {v!r}"
                )
    if not values:
        return
    if min(values) < low or (high is not None and max(values) > high):
        j, v = next(
            (j, v) for j, v in enumerate(values) if v < low or (high is not None and v > high)
        )
        bound = f">= {low}" if v < low else f"<= {high}"
        raise ValidationError(f"{field}[{j}]", f"expected {what} {bound}, got {v!r}")


def _check_reals(values: object, field: str, certified: Certified | None = None) -> None:
    """`values` is a list of finite numbers (never bool)."""
    if not isinstance(values, list):
        raise ValidationError(field, f"expected a list of numbers, got {type(values).__name__}")
    if finite_reals(values, certified):
        return
    if not set(map(type, values)) <= {float, int}:
        for j, v in enumerate(values):
            if not _is_real(v):
                raise ValidationError(
                    f"{field}[{j}]", f"expected a number, got {type(v).__name__} {v!r}"
                )
    try:
        total_finite = math.isfinite(sum(values))
    except OverflowError:  # an int too large for a float
        total_finite = False
    if not total_finite:
        for j, v in enumerate(values):
            try:
                ok = math.isfinite(v)
            except OverflowError:
                ok = False
            if not ok:
                raise ValidationError(
                    f"{field}[{j}]",
                    f"expected a finite number (JSON carries no NaN or infinity), got {v!r}",
                )


def _check_real(
    value: object,
    field: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> None:
    if not _is_real(value) or not math.isfinite(float(value)):  # type: ignore[arg-type]
        raise ValidationError(field, f"expected a finite number, got {value!r}")
    x = float(value)  # type: ignore[arg-type]
    bad_low = low is not None and (x <= low if low_open else x < low)
    bad_high = high is not None and (x >= high if high_open else x > high)
    if bad_low or bad_high:
        lo = "" if low is None else f"{low} {'<' if low_open else '<='} "
        hi = "" if high is None else f" {'<' if high_open else '<='} {high}"
        raise ValidationError(field, f"expected {lo}{field.rsplit('.', 1)[-1]}{hi}, got {value!r}")


def _check_optional_count(value: object, field: str) -> None:
    if _unset(value) or value is None:
        return
    if not _is_int(value) or value < 0:  # type: ignore[operator]
        raise ValidationError(field, f"expected an int >= 0 or None, got {value!r}")


def _check_format(value: object, field: str) -> None:
    if value not in _IMAGE_FORMATS:
        raise ValidationError(field, f"expected {_IMAGE_FORMATS_SAID}, got {value!r}")


def _check_type_literal(value: object, expected: str, field: str) -> None:
    if not _unset(value) and value != expected:
        raise ValidationError(field, f"expected {expected!r} (or unset), got {value!r}")


def validate_tensor_data(td: object, field: str = "tensor", *, token_ids: bool = False) -> None:
    """A known dtype, a flat list of numbers of that dtype, and `len(data) == prod(shape)`.

    With `token_ids`, the dtype must be int64 and every value >= 0.
    """
    _validate_tensor_data(td, field, token_ids, None)


def _validate_tensor_data(
    td: object, field: str, token_ids: bool, certified: Certified | None
) -> None:
    if not isinstance(td, TensorData):
        raise ValidationError(
            field,
            f"expected TensorData (or a list / numpy array / torch tensor passed to Datum), "
            f"got {type(td).__name__}",
        )
    if td.dtype not in ("int64", "float32"):
        raise ValidationError(f"{field}.dtype", f"expected 'int64' or 'float32', got {td.dtype!r}")
    data = td.data
    if not isinstance(data, list):
        raise ValidationError(
            f"{field}.data",
            f"expected a flat list of numbers, got {type(data).__name__} "
            "(TensorData.from_numpy / from_torch convert arrays)",
        )
    shape = td.shape
    if tensor_is_sparse(td):  # CSR: `data` holds only the listed cells of the 2-D shape
        check_csr(td, field)
    elif not _unset(shape) and shape is not None:
        if not isinstance(shape, list) or not all(_is_int(s) and s >= 0 for s in shape):
            raise ValidationError(f"{field}.shape", f"expected a list of ints >= 0, got {shape!r}")
        size = math.prod(shape)
        if size != len(data):
            raise ValidationError(
                f"{field}.data", f"shape {shape} needs {size} values, got {len(data)}"
            )
    if token_ids and td.dtype != "int64":
        raise ValidationError(f"{field}.dtype", f"expected 'int64' token ids, got {td.dtype!r}")
    if token_ids:
        _check_ints(data, f"{field}.data", "a token id", 0, _TOKEN_ID_MAX, certified)
    elif td.dtype == "int64":
        _check_ints(data, f"{field}.data", "an int64 value", _INT64_MIN, _INT64_MAX, certified)
    else:
        _check_reals(data, f"{field}.data", certified)


def _validate_chunk(chunk: object, field: str, certified: Certified | None) -> bool:
    """Validate one chunk; return whether it has content (tokens or an image)."""
    if isinstance(chunk, EncodedTextChunk):
        _check_ints(chunk.tokens, f"{field}.tokens", "a token id", 0, _TOKEN_ID_MAX, certified)
        _check_type_literal(chunk.type_, "encoded_text", f"{field}.type")
        return bool(chunk.tokens)
    if isinstance(chunk, ImageChunk):
        data: object = chunk.data
        if not isinstance(data, bytes | str) or not data:
            raise ValidationError(
                f"{field}.data",
                f"expected the image as non-empty bytes (or a base64 string), got "
                f"{type(data).__name__}",
            )
        if isinstance(data, str):
            try:
                base64.b64decode(data, validate=True)
            except (binascii.Error, ValueError):
                raise ValidationError(f"{field}.data", "expected valid base64") from None
        _check_format(chunk.format_, f"{field}.format")
        _check_optional_count(chunk.expected_tokens, f"{field}.expected_tokens")
        _check_type_literal(chunk.type_, "image", f"{field}.type")
        return True
    if isinstance(chunk, ImageAssetPointerChunk):
        if not isinstance(chunk.location, str) or not chunk.location:
            raise ValidationError(f"{field}.location", "expected a non-empty path or URL")
        _check_format(chunk.format_, f"{field}.format")
        _check_optional_count(chunk.expected_tokens, f"{field}.expected_tokens")
        _check_type_literal(chunk.type_, "image_asset_pointer", f"{field}.type")
        return True
    raise ValidationError(
        field,
        f"unknown chunk type {type(chunk).__name__}: expected EncodedTextChunk, ImageChunk "
        "or ImageAssetPointerChunk",
    )


def validate_model_input(
    model_input: object, field: str = "model_input", *, allow_empty: bool = False
) -> None:
    """Known chunk types with valid contents; at least one token or image unless allow_empty."""
    _validate_model_input(model_input, field, allow_empty, None)


def _validate_model_input(
    model_input: object, field: str, allow_empty: bool, certified: Certified | None
) -> None:
    if not isinstance(model_input, ModelInput):
        raise ValidationError(
            field,
            f"expected a ModelInput (for example ModelInput.from_ints(tokens)), "
            f"got {type(model_input).__name__}",
        )
    chunks = model_input.chunks
    if not isinstance(chunks, list):
        raise ValidationError(f"{field}.chunks", f"expected a list, got {type(chunks).__name__}")
    has_content = False
    for i, chunk in enumerate(chunks):
        has_content |= _validate_chunk(chunk, f"{field}.chunks[{i}]", certified)
    if not has_content and not allow_empty:
        raise ValidationError(field, "must not be empty: expected at least one token or image")


def _known_length(model_input: ModelInput) -> int | None:
    """Context length, or None when an image chunk has no expected_tokens."""
    total = 0
    for chunk in model_input.chunks:
        if isinstance(chunk, EncodedTextChunk):
            total += len(chunk.tokens)
        elif _unset(chunk.expected_tokens) or chunk.expected_tokens is None:
            return None
        else:
            total += chunk.expected_tokens
    return total


def validate_loss_fn(loss_fn: object, field: str = "loss_fn") -> None:
    if loss_fn not in LOSS_FN_REQUIRED_KEYS:
        raise ValidationError(
            field,
            f"unknown loss function {loss_fn!r}: expected one of "
            f"{', '.join(sorted(LOSS_FN_REQUIRED_KEYS))}",
        )


def validate_datums(
    data: object, loss_fn: str | None = None, field: str = "data"
) -> list[_WireDatum]:
    """Validate a batch for forward / forward_backward; return it as a list.

    Checks: a non-empty list of Datum; valid, non-empty model inputs; valid TensorData; per-token
    inputs (target_tokens, weights, logprobs, advantages) with one value per model_input token
    (skipped when an image chunk has no expected_tokens); target_tokens int64 and >= 0; the keys
    `loss_fn` needs (when given).
    """
    return _validate_datums(data, loss_fn, field, None)


def validate_datums_certified(
    data: object, loss_fn: str, certified: Certified, field: str = "data"
) -> list[_WireDatum]:
    """`validate_datums`, leaving in `certified` the encoding of each list it vouched for (what
    the clients call before encoding the request)."""
    return _validate_datums(data, loss_fn, field, certified)


def _validate_datums(
    data: object, loss_fn: str | None, field: str, certified: Certified | None
) -> list[_WireDatum]:
    required: tuple[str, ...] = ()
    if loss_fn is not None:
        validate_loss_fn(loss_fn)
        required = LOSS_FN_REQUIRED_KEYS[loss_fn]
    if isinstance(data, str | bytes | Mapping) or not isinstance(data, Sequence):
        raise ValidationError(
            field, f"expected a non-empty list of Datum, got {type(data).__name__}"
        )
    items = list(data)
    if not items:
        raise ValidationError(field, "expected a non-empty list of Datum, got an empty list")
    for i, datum in enumerate(items):
        _validate_datum(datum, f"{field}[{i}]", loss_fn, required, certified)
    return items


def _validate_datum(
    datum: object,
    field: str,
    loss_fn: str | None,
    required: tuple[str, ...],
    certified: Certified | None,
) -> None:
    if not isinstance(datum, _WireDatum):
        raise ValidationError(field, f"expected a Datum, got {type(datum).__name__}")
    _validate_model_input(datum.model_input, f"{field}.model_input", False, certified)
    inputs = datum.loss_fn_inputs
    if not isinstance(inputs, LossFnInputs | WireMap):
        raise ValidationError(
            f"{field}.loss_fn_inputs",
            f"expected LossFnInputs, got {type(inputs).__name__} "
            "(tinker_hl.types.Datum converts a dict)",
        )
    tensors: dict[str, Any] = inputs.additional_properties
    for key in required:
        if key not in tensors:
            raise ValidationError(
                f"{field}.loss_fn_inputs.{key}",
                f"missing: loss_fn {loss_fn!r} needs {', '.join(required)}",
            )
    length = _known_length(datum.model_input)
    for key, td in tensors.items():
        key_field = f"{field}.loss_fn_inputs.{key}"
        _validate_tensor_data(td, key_field, key == "target_tokens", certified)
        if key in PER_TOKEN_KEYS and length is not None and not _one_row_per_token(td, length):
            raise ValidationError(
                key_field,
                f"expected {length} values (one per model_input token) or shape [{length}, K] "
                f"(K per token, as cross_entropy's top-K form takes), got {_described(td)}",
            )
    validate_provenance(datum, field, length)


def _one_row_per_token(td: TensorData, length: int) -> bool:
    """One value per token, or a [length, K] tensor (its size was checked against its shape)."""
    shape = td.shape
    if isinstance(shape, list) and len(shape) == 2:
        return bool(shape[0] == length)
    return len(td.data) == length


def _described(td: TensorData) -> str:
    shape = td.shape
    if isinstance(shape, list) and len(shape) > 1:
        return f"shape {shape}"
    return f"{len(td.data)}"


def validate_sampling_params(params: object, field: str = "sampling_params") -> None:
    """max_tokens >= 1 (or unset/None), temperature >= 0, 0 < top_p <= 1, top_k -1 or >= 1,
    stop a non-empty string, a list of non-empty strings or a list of token ids."""
    if not isinstance(params, SamplingParams):
        raise ValidationError(field, f"expected SamplingParams, got {type(params).__name__}")
    max_tokens = params.max_tokens
    if not (_unset(max_tokens) or max_tokens is None) and (
        not _is_int(max_tokens) or max_tokens < 1
    ):
        raise ValidationError(
            f"{field}.max_tokens", f"expected an int >= 1 or None, got {max_tokens!r}"
        )
    seed = params.seed
    if not (_unset(seed) or seed is None or _is_int(seed)):
        raise ValidationError(f"{field}.seed", f"expected an int or None, got {seed!r}")
    if not _unset(params.temperature):
        _check_real(params.temperature, f"{field}.temperature", low=0)
    if not _unset(params.top_p):
        _check_real(params.top_p, f"{field}.top_p", low=0, high=1, low_open=True)
    top_k = params.top_k
    if not _unset(top_k) and (not _is_int(top_k) or not (top_k == -1 or top_k >= 1)):
        raise ValidationError(
            f"{field}.top_k", f"expected -1 (no limit) or an int >= 1, got {top_k!r}"
        )
    _check_stop(params.stop, f"{field}.stop")


def _check_stop(stop: object, field: str) -> None:
    if _unset(stop) or stop is None:
        return
    expected = "a string, a list of strings or a list of token ids"
    if isinstance(stop, str):
        if not stop:
            raise ValidationError(field, "expected a non-empty stop string, got ''")
        return
    if not isinstance(stop, list):
        raise ValidationError(field, f"expected {expected}, got {type(stop).__name__}")
    if all(isinstance(s, str) for s in stop):
        for j, s in enumerate(stop):
            if not s:
                raise ValidationError(f"{field}[{j}]", "expected a non-empty stop string, got ''")
        return
    if any(isinstance(s, str) for s in stop):
        raise ValidationError(field, f"expected {expected}, not a mix of strings and ids")
    _check_ints(stop, field, "a stop token id", 0, _TOKEN_ID_MAX)


def validate_adam_params(params: object, field: str = "adam_params") -> None:
    """learning_rate >= 0, 0 <= beta1, beta2 < 1, eps > 0, weight_decay >= 0,
    grad_clip_norm >= 0 (0 disables clipping). Unset fields take the server's defaults."""
    if not isinstance(params, AdamParams):
        raise ValidationError(field, f"expected AdamParams, got {type(params).__name__}")
    checks: list[tuple[str, dict[str, Any]]] = [
        ("learning_rate", {"low": 0}),
        ("beta1", {"low": 0, "high": 1, "high_open": True}),
        ("beta2", {"low": 0, "high": 1, "high_open": True}),
        ("eps", {"low": 0, "low_open": True}),
        ("weight_decay", {"low": 0}),
        ("grad_clip_norm", {"low": 0}),
    ]
    for name, bounds in checks:
        value = getattr(params, name)
        if not _unset(value):
            _check_real(value, f"{field}.{name}", **bounds)


def validate_lora(
    rank: object,
    *,
    seed: object = None,
    train_mlp: object = True,
    train_attn: object = True,
    train_unembed: object = True,
    field: str = "",
) -> None:
    """rank an int >= 1; seed an int or None; train_* booleans, at least one True."""
    prefix = f"{field}." if field else ""
    if not _is_int(rank) or rank < 1:  # type: ignore[operator]
        raise ValidationError(f"{prefix}rank", f"expected an int >= 1, got {rank!r}")
    if not (seed is None or _unset(seed) or _is_int(seed)):
        raise ValidationError(f"{prefix}seed", f"expected an int or None, got {seed!r}")
    flags = {"train_mlp": train_mlp, "train_attn": train_attn, "train_unembed": train_unembed}
    for name, value in flags.items():
        if not (_unset(value) or isinstance(value, bool | np.bool_)):
            raise ValidationError(f"{prefix}{name}", f"expected True or False, got {value!r}")
    if not any(v is True or (isinstance(v, np.bool_) and v) or _unset(v) for v in flags.values()):
        raise ValidationError(
            f"{prefix}train_mlp",
            "at least one of train_mlp, train_attn, train_unembed must be True",
        )


def validate_lora_config(config: object, field: str = "lora_config") -> None:
    if not isinstance(config, LoraConfig):
        raise ValidationError(field, f"expected LoraConfig, got {type(config).__name__}")
    validate_lora(
        config.rank,
        seed=config.seed,
        train_mlp=config.train_mlp,
        train_attn=config.train_attn,
        train_unembed=config.train_unembed,
        field=field,
    )

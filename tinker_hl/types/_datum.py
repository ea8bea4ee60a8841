"""`Datum`: the generated wire class, with a constructor that accepts what research code passes.

Research code writes `Datum(model_input=..., loss_fn_inputs={"target_tokens": [...], "weights":
np.array(...)})` with plain lists, numpy arrays, torch tensors or TensorData as values. This thin
subclass converts each value to TensorData and keeps `loss_fn_inputs` a plain dict of them, as the
official type does (a `WireMap`, which the generated `to_dict` encodes like the `LossFnInputs` it
stands for); otherwise it is the generated class (`isinstance(d, tinker_api_client.models.Datum)`,
same `to_dict`/`from_dict`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from tinker_api_client.models import Datum as _WireDatum
from tinker_api_client.models import LossFnInputs, ModelInput, TensorData

from .._exceptions import ValidationError
from ._model_input import model_input_from_ints, model_input_length, token_list
from ._provenance import (
    ProvenanceSpans,
    check_pairing,
    check_span_types,
    check_tiling,
    target_length,
)
from ._shapes import WireMap
from ._tensor import fresh_tensor, tensor_from_numpy, tensor_from_torch, tensor_from_torch_sparse

__all__ = ["KEY_DTYPES", "Datum", "datum_from_tokens", "to_loss_fn_inputs", "to_tensor_data"]

KEY_DTYPES: dict[str, str] = {
    "target_tokens": "int64",
    "weights": "float32",
    "advantages": "float32",
    "logprobs": "float32",
    "clip_low_threshold": "float32",
    "clip_high_threshold": "float32",
}
"""Wire dtype of a plain-list loss input, by key (as the 0.7.0 SDK does); other keys infer it."""


# The loss inputs a 2-D torch tensor of is sent as sparse CSR when that is smaller (the top-K
# distillation form, [N, K] target_tokens and weights, is mostly padding), as in SDK 0.38.
SPARSE_ELIGIBLE_KEYS = frozenset({"target_tokens", "weights"})


def _is_torch_tensor(value: object) -> bool:
    # Checked without importing torch: only a process that made a tensor has torch loaded.
    return type(value).__module__.startswith("torch") and hasattr(value, "detach")


def to_tensor_data(key: str, value: object, field: str | None = None) -> TensorData:
    """Convert one loss input (TensorData, numpy array, torch tensor, list or tuple)."""
    if type(value) is list:  # the common case first: research code passes plain lists
        return fresh_tensor(token_list(value), KEY_DTYPES.get(key))  # token_list copied it
    field = field or f"loss_fn_inputs.{key}"
    if isinstance(value, TensorData):
        return value
    if isinstance(value, np.ndarray):
        return tensor_from_numpy(value, field)
    if _is_torch_tensor(value):
        if key in SPARSE_ELIGIBLE_KEYS and value.ndim == 2:  # type: ignore[attr-defined]
            return tensor_from_torch_sparse(value, field=field)  # type: ignore[arg-type]
        return tensor_from_torch(value, field)  # type: ignore[arg-type]
    if isinstance(value, list | tuple):
        return fresh_tensor(token_list(value), KEY_DTYPES.get(key))  # token_list copied it
    raise ValidationError(
        field,
        f"expected a list, numpy array, torch tensor or TensorData, got {type(value).__name__}",
    )


def to_loss_fn_inputs(inputs: object, field: str = "loss_fn_inputs") -> LossFnInputs:
    """A `LossFnInputs` from a LossFnInputs or a mapping of key -> convertible value."""
    if isinstance(inputs, LossFnInputs):
        return inputs
    if not isinstance(inputs, Mapping):
        raise ValidationError(
            field, f"expected a dict of name -> tensor, got {type(inputs).__name__}"
        )
    out = LossFnInputs()
    out.additional_properties = _tensors_by_key(inputs, field)
    return out


def _tensors_by_key(inputs: Mapping[Any, object], field: str) -> dict[str, TensorData]:
    out: dict[str, TensorData] = {}
    for key, value in inputs.items():
        if not isinstance(key, str):
            raise ValidationError(field, f"keys must be strings, got {key!r}")
        if type(value) is list:  # as in to_tensor_data, without making the error's field name
            out[key] = fresh_tensor(token_list(value), KEY_DTYPES.get(key))
        else:
            out[key] = to_tensor_data(key, value, f"{field}.{key}")
    return out


class Datum(_WireDatum):
    """One training example: `model_input` plus the loss function's inputs.

    `loss_fn_inputs` may be a dict whose values are lists, numpy arrays, torch tensors or
    TensorData; it is kept as a dict of TensorData (empty when left out, as in 0.38).
    `model_input_spans` / `loss_fn_input_spans` (SDK 0.38) say where the tokens came from; they
    come as a pair, best attached with `with_provenance`, which checks that they tile.
    """

    __slots__ = ()

    def __init__(  # 0.38's order (a dataclass); 0.7.0's callers pass keywords
        self,
        model_input: ModelInput,
        loss_fn_inputs: object = None,
        model_input_spans: ProvenanceSpans | None = None,
        loss_fn_input_spans: ProvenanceSpans | None = None,
    ) -> None:
        if type(loss_fn_inputs) is dict:  # the common case, without an intermediate object
            converted = WireMap(_tensors_by_key(loss_fn_inputs, "loss_fn_inputs"))
        elif loss_fn_inputs is None:
            converted = WireMap()
        else:
            converted = WireMap(to_loss_fn_inputs(loss_fn_inputs).additional_properties)
        if model_input_spans is None and loss_fn_input_spans is None:
            super().__init__(loss_fn_inputs=converted, model_input=model_input)
            return
        check_span_types("model_input_spans", model_input_spans)
        check_span_types("loss_fn_input_spans", loss_fn_input_spans)
        check_pairing(model_input_spans, loss_fn_input_spans, "Datum")
        super().__init__(
            loss_fn_inputs=converted,
            model_input=model_input,
            model_input_spans=model_input_spans,
            loss_fn_input_spans=loss_fn_input_spans,
        )

    def with_provenance(
        self, model_input: ProvenanceSpans, loss_fn_inputs: ProvenanceSpans
    ) -> Datum:
        """A copy carrying provenance for both fields: `model_input` runs tile the input
        tokens, `loss_fn_inputs` runs tile `loss_fn_inputs["target_tokens"]` (when it is 1-D).
        A miscounted partition fails here (ValidationError, a ValueError) rather than as a
        request error."""
        check_span_types("model_input", model_input)
        check_span_types("loss_fn_inputs", loss_fn_inputs)
        check_tiling(
            "model_input",
            list(model_input),
            model_input_length(self.model_input),
            "the model input",
        )
        targets = target_length(self.loss_fn_inputs)
        if targets is not None:
            check_tiling(
                "loss_fn_inputs", list(loss_fn_inputs), targets, "loss_fn_inputs.target_tokens"
            )
        return dataclasses.replace(
            self, model_input_spans=list(model_input), loss_fn_input_spans=list(loss_fn_inputs)
        )

    @classmethod
    def from_tokens(
        cls,
        input_tokens: Sequence[int] | np.ndarray,
        target_tokens: Sequence[int] | np.ndarray,
        weights: Sequence[float] | np.ndarray | None = None,
    ) -> Datum:
        return datum_from_tokens(input_tokens, target_tokens, weights)


def datum_from_tokens(
    input_tokens: Sequence[int] | np.ndarray,
    target_tokens: Sequence[int] | np.ndarray,
    weights: Sequence[float] | np.ndarray | None = None,
) -> Datum:
    """The usual supervised example: `weights` default to 1.0 for every target token."""
    model_input = model_input_from_ints(input_tokens)
    n = len(model_input.chunks[0].tokens)
    targets = token_list(target_tokens)
    if len(targets) != n:
        raise ValidationError(
            "loss_fn_inputs.target_tokens",
            f"expected {n} target tokens (one per input token), got {len(targets)}",
        )
    inputs: dict[str, Any] = {"target_tokens": targets}
    if weights is None:
        inputs["weights"] = [1.0] * n
    else:
        w = token_list(weights)
        if len(w) != n:
            raise ValidationError(
                "loss_fn_inputs.weights",
                f"expected {n} weights (one per input token), got {len(w)}",
            )
        inputs["weights"] = w
    return Datum(model_input=model_input, loss_fn_inputs=inputs)

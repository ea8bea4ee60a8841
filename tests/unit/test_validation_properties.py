"""Property tests of the client-side validation: valid inputs never raise and survive a JSON round
trip through to_dict / from_dict; generated mutations of them always raise a ValidationError that
names the offending field."""

from __future__ import annotations

import base64
import json
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinker_hl import ValidationError, types

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

token = st.integers(min_value=0, max_value=2**31 - 1)
finite = st.floats(allow_nan=False, allow_infinity=False, width=32)


def json_round_trip(body: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(json.dumps(body, allow_nan=False))
    return out


# ----- Datum ----------------------------------------------------------------------------------
@st.composite
def per_token_value(draw: st.DrawFn, values: list[Any], dtype: Any) -> Any:
    """The same values as a list, a numpy array or a TensorData (as research code passes them)."""
    form = draw(st.sampled_from(["list", "numpy", "tensor"]))
    if form == "list":
        return list(values)
    if form == "numpy":
        return np.array(values, dtype=dtype)
    return types.TensorData(
        data=list(values), dtype="int64" if dtype is np.int64 else "float32", shape=[len(values)]
    )


@st.composite
def datums(draw: st.DrawFn, loss_fn: str) -> types.Datum:
    n = draw(st.integers(min_value=1, max_value=24))
    tokens = draw(st.lists(token, min_size=n, max_size=n))
    floats = st.lists(finite, min_size=n, max_size=n)
    inputs: dict[str, Any] = {
        "target_tokens": draw(
            per_token_value(draw(st.lists(token, min_size=n, max_size=n)), np.int64)
        )
    }
    if loss_fn == "cross_entropy" or draw(st.booleans()):
        inputs["weights"] = draw(per_token_value(draw(floats), np.float32))
    for key in ("logprobs", "advantages", "sequence_ratio_mask"):
        if key in types.LOSS_FN_REQUIRED_KEYS[loss_fn]:
            inputs[key] = draw(per_token_value(draw(floats), np.float32))
    return types.Datum(model_input=types.ModelInput.from_ints(tokens), loss_fn_inputs=inputs)


loss_fns = st.sampled_from(sorted(types.LOSS_FN_REQUIRED_KEYS))


@st.composite
def batches(draw: st.DrawFn) -> tuple[str, list[types.Datum]]:
    loss_fn = draw(loss_fns)
    return loss_fn, draw(st.lists(datums(loss_fn), min_size=1, max_size=4))


@SETTINGS
@given(batches())
def test_valid_datums_pass_and_round_trip(batch: tuple[str, list[types.Datum]]) -> None:
    loss_fn, data = batch
    assert types.validate_datums(data, loss_fn=loss_fn) == data
    for datum in data:
        body = json_round_trip(datum.to_dict())
        back = types.Datum.from_dict(body)
        assert back == datum
        assert back.to_dict() == body
        types.validate_datums([back], loss_fn=loss_fn)


def _tensor(datum: types.Datum, key: str) -> types.TensorData:
    td: types.TensorData = datum.loss_fn_inputs[key]
    return td


MUTATIONS = [
    "longer",
    "shorter",
    "negative_token",
    "float_token",
    "bool_token",
    "negative_target",
    "float_target",
    "nan_value",
    "bad_dtype",
    "shape_mismatch",
    "missing_key",
    "not_a_datum",
    "empty_input",
]


def mutate(data: list[types.Datum], loss_fn: str, index: int, how: str, key: str, pos: int) -> str:
    """Break data[index] in place; return the field path the error must start with."""
    datum = data[index]
    tokens = datum.model_input.chunks[0].tokens
    pos %= len(tokens)
    base = f"data[{index}]"
    present = sorted(datum.loss_fn_inputs.keys())
    key = present[sum(map(ord, key)) % len(present)]
    td = _tensor(datum, key)
    if how == "longer":
        td.data = [*td.data, 0]
        td.shape = [len(td.data)]
        return f"{base}.loss_fn_inputs.{key}"
    if how == "shorter":
        td.data = td.data[:-1]
        td.shape = [len(td.data)]
        return f"{base}.loss_fn_inputs.{key}"
    if how == "negative_token":
        tokens[pos] = -1 - tokens[pos]
        return f"{base}.model_input.chunks[0].tokens[{pos}]"
    if how == "float_token":
        tokens[pos] = float(tokens[pos])
        return f"{base}.model_input.chunks[0].tokens[{pos}]"
    if how == "bool_token":
        tokens[pos] = True
        return f"{base}.model_input.chunks[0].tokens[{pos}]"
    if how == "negative_target":
        _tensor(datum, "target_tokens").data[pos] = -5
        return f"{base}.loss_fn_inputs.target_tokens.data[{pos}]"
    if how == "float_target":
        _tensor(datum, "target_tokens").data[pos] = 0.5
        return f"{base}.loss_fn_inputs.target_tokens.data[{pos}]"
    if how == "nan_value":
        key = next((k for k in present if k != "target_tokens"), "target_tokens")
        _tensor(datum, key).data[pos] = math.nan
        return f"{base}.loss_fn_inputs.{key}.data[{pos}]"
    if how == "bad_dtype":
        td.dtype = "float64"
        return f"{base}.loss_fn_inputs.{key}.dtype"
    if how == "shape_mismatch":
        td.shape = [len(td.data) + 1]
        return f"{base}.loss_fn_inputs.{key}.data"
    if how == "missing_key":
        required = types.LOSS_FN_REQUIRED_KEYS[loss_fn]
        gone = required[pos % len(required)]
        del datum.loss_fn_inputs[gone]
        return f"{base}.loss_fn_inputs.{gone}"
    if how == "not_a_datum":
        data[index] = datum.to_dict()  # type: ignore[call-overload]
        return base
    if how == "empty_input":
        datum.model_input.chunks[0].tokens = []
        return f"{base}.model_input"
    raise AssertionError(how)


@SETTINGS
@given(
    batches(),
    st.data(),
    st.sampled_from(MUTATIONS),
    st.text(max_size=3),
    st.integers(min_value=0, max_value=100),
)
def test_mutated_datums_always_raise(
    batch: tuple[str, list[types.Datum]], data: st.DataObject, how: str, key: str, pos: int
) -> None:
    loss_fn, items = batch
    index = data.draw(st.integers(min_value=0, max_value=len(items) - 1))
    field = mutate(items, loss_fn, index, how, key, pos)
    with pytest.raises(ValidationError) as info:
        types.validate_datums(items, loss_fn=loss_fn)
    assert info.value.field.startswith(field), (how, info.value.field, field)
    assert str(info.value).startswith(info.value.field)


@SETTINGS
@given(st.lists(datums("cross_entropy"), max_size=0) | st.just([]))
def test_empty_batches_raise(data: list[types.Datum]) -> None:
    with pytest.raises(ValidationError) as info:
        types.validate_datums(data, loss_fn="cross_entropy")
    assert info.value.field == "data"


@SETTINGS
@given(st.text(min_size=1).filter(lambda s: s not in types.LOSS_FN_REQUIRED_KEYS))
def test_unknown_loss_fns_raise(loss_fn: str) -> None:
    datum = types.Datum.from_tokens([1], [2])
    with pytest.raises(ValidationError) as info:
        types.validate_datums([datum], loss_fn=loss_fn)
    assert info.value.field == "loss_fn"


# ----- ModelInput -----------------------------------------------------------------------------
b64 = st.binary(min_size=1, max_size=16).map(lambda b: base64.b64encode(b).decode())
expected = st.none() | st.integers(min_value=0, max_value=64)
chunks = st.one_of(
    st.lists(token, max_size=12).map(lambda t: types.EncodedTextChunk(tokens=t)),
    st.builds(
        types.ImageChunk,
        data=b64,
        format_=st.sampled_from(["png", "jpeg"]),
        expected_tokens=expected,
    ),
    st.builds(
        types.ImageAssetPointerChunk,
        location=st.text(min_size=1, max_size=10),
        format_=st.sampled_from(["png", "jpeg"]),
        expected_tokens=expected,
    ),
)
model_inputs = st.lists(chunks, min_size=1, max_size=5).map(lambda c: types.ModelInput(chunks=c))


def has_content(mi: types.ModelInput) -> bool:
    return any(not isinstance(c, types.EncodedTextChunk) or c.tokens for c in mi.chunks)


@SETTINGS
@given(model_inputs.filter(has_content))
def test_valid_model_inputs_pass_and_round_trip(mi: types.ModelInput) -> None:
    types.validate_model_input(mi, "prompt")
    back = types.ModelInput.from_dict(json_round_trip(mi.to_dict()))
    assert [type(c) for c in back.chunks] == [type(c) for c in mi.chunks]
    assert back.to_dict() == mi.to_dict()
    types.validate_model_input(back, "prompt")


@SETTINGS
@given(
    model_inputs.filter(
        lambda mi: any(isinstance(c, types.EncodedTextChunk) and c.tokens for c in mi.chunks)
    ),
    st.sampled_from([-1, -(2**40), 1.0, True, None, "7", np.float64(2.0)]),
    st.integers(min_value=0),
)
def test_bad_tokens_always_raise(mi: types.ModelInput, bad: object, pos: int) -> None:
    i, chunk = next(
        (i, c)
        for i, c in enumerate(mi.chunks)
        if isinstance(c, types.EncodedTextChunk) and c.tokens
    )
    pos %= len(chunk.tokens)
    chunk.tokens[pos] = bad
    with pytest.raises(ValidationError) as info:
        types.validate_model_input(mi, "prompt")
    assert info.value.field == f"prompt.chunks[{i}].tokens[{pos}]"


# ----- TensorData -----------------------------------------------------------------------------
good_dtypes = st.sampled_from(
    [np.float16, np.float32, np.float64, np.int8, np.int32, np.int64, np.uint8, np.uint32, np.bool_]
)


def float_elements(dtype: Any) -> dict[str, Any] | None:
    """Finite values that fit float32, the wire dtype of every floating point tensor."""
    if np.dtype(dtype).kind != "f":
        return None
    bound = (
        {} if np.dtype(dtype).itemsize == 2 else {"min_value": -(2.0**126), "max_value": 2.0**126}
    )
    return {"allow_nan": False, "allow_infinity": False, **bound}


@SETTINGS
@given(
    good_dtypes.flatmap(
        lambda dt: hnp.arrays(
            dt,
            hnp.array_shapes(min_dims=1, max_dims=3, max_side=5),
            elements=float_elements(dt),
        )
    )
)
def test_tensor_from_numpy_is_valid_and_round_trips(arr: np.ndarray) -> None:
    td = types.TensorData.from_numpy(arr)
    types.validate_tensor_data(td, "t")
    back = types.TensorData.from_dict(json_round_trip(td.to_dict()))
    assert back == td
    expected_dtype = np.float32 if arr.dtype.kind == "f" else np.int64
    np.testing.assert_array_equal(back.to_numpy(), arr.astype(expected_dtype))
    assert back.to_numpy().dtype == expected_dtype


@SETTINGS
@given(
    st.sampled_from([np.complex64, np.complex128, np.str_, np.bytes_, np.object_, "datetime64[s]"]),
    st.integers(min_value=1, max_value=4),
)
def test_tensor_from_numpy_rejects_bad_dtypes(dtype: Any, n: int) -> None:
    arr = np.zeros(n, dtype=dtype)
    with pytest.raises(ValidationError) as info:
        types.TensorData.from_numpy(arr)
    assert info.value.field == "array"
    assert str(arr.dtype) in str(info.value)


@SETTINGS
@given(
    st.lists(finite, min_size=1, max_size=12),
    st.sampled_from(["extra", "missing", "negative", "dtype", "nan", "bool"]),
)
def test_mutated_tensor_data_raises(values: list[float], how: str) -> None:
    td = types.TensorData(data=list(values), dtype="float32", shape=[len(values)])
    types.validate_tensor_data(td, "t")
    field = {
        "extra": "t.data",
        "missing": "t.data",
        "negative": "t.shape",
        "dtype": "t.dtype",
        "nan": "t.data[0]",
        "bool": "t.data[0]",
    }[how]
    if how == "extra":
        td.shape = [len(values) + 1]
    elif how == "missing":
        td.shape = [len(values), 2]
    elif how == "negative":
        td.shape = [-len(values)]
    elif how == "dtype":
        td.dtype = "complex64"
    elif how == "nan":
        td.data[0] = math.nan
    else:
        td.data[0] = False
    with pytest.raises(ValidationError) as info:
        types.validate_tensor_data(td, "t")
    assert info.value.field == field


# ----- SamplingParams -------------------------------------------------------------------------
unset = st.just(types.UNSET)
valid_params = st.builds(
    types.SamplingParams,
    max_tokens=unset | st.none() | st.integers(min_value=1, max_value=10**6),
    seed=unset | st.none() | st.integers(min_value=-(2**31), max_value=2**31),
    temperature=unset | st.floats(min_value=0, max_value=100) | st.integers(0, 5),
    top_p=unset | st.floats(min_value=0, max_value=1, exclude_min=True),
    top_k=unset | st.just(-1) | st.integers(min_value=1, max_value=1000),
    stop=unset
    | st.none()
    | st.text(min_size=1, max_size=5)
    | st.lists(st.text(min_size=1, max_size=5), max_size=3)
    | st.lists(token, max_size=3),
)


@SETTINGS
@given(valid_params)
def test_valid_sampling_params_pass_and_round_trip(params: types.SamplingParams) -> None:
    types.validate_sampling_params(params)
    back = types.SamplingParams.from_dict(json_round_trip(params.to_dict()))
    assert back == params
    types.validate_sampling_params(back)


bad_values = {
    "max_tokens": st.integers(max_value=0) | st.floats(allow_nan=True) | st.just(True),
    "temperature": st.floats(max_value=-1e-9)
    | st.sampled_from([math.nan, math.inf, None, "1", True]),
    "top_p": st.floats(max_value=0) | st.floats(min_value=1.0000001) | st.just(math.nan),
    "top_k": st.integers(max_value=-2) | st.just(0) | st.floats(min_value=1, max_value=5),
    "seed": st.floats() | st.text() | st.just(False),
    "stop": st.just("")
    | st.lists(st.integers(max_value=-1), min_size=1, max_size=3)
    | st.tuples(st.text(min_size=1))
    | st.just(["a", 1])
    | st.just([None]),
}


@SETTINGS
@given(valid_params, st.sampled_from(sorted(bad_values)), st.data())
def test_out_of_range_sampling_params_raise(
    params: types.SamplingParams, name: str, data: st.DataObject
) -> None:
    setattr(params, name, data.draw(bad_values[name]))
    with pytest.raises(ValidationError) as info:
        types.validate_sampling_params(params)
    assert info.value.field.startswith(f"sampling_params.{name}")

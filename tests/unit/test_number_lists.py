"""The C-speed list scans behind validation (`tinker_hl.types._number_lists`): True is a guarantee,
False sends the list to the exact check. Every bad element a scan lets through would reach the
wire, so each kind of bad element is tried both against the scan and through the public
validators, at several positions of a long list."""

from __future__ import annotations

import enum
import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinker_hl import ValidationError, types
from tinker_hl.types import _number_lists as nl
from tinker_hl.types._copying import build
from tinker_hl.types._validation import validate_datums_certified


class Color(enum.Enum):
    RED = 1


class Small(enum.IntEnum):
    ONE = 1


N = 4096
POSITIONS = [0, 1, N // 2, N - 1]
INT64_MAX = 2**63 - 1


@contextmanager
def raises(field: str, match: str) -> Iterator[None]:
    with pytest.raises(ValidationError, match=match) as info:
        yield
    assert info.value.field == field, str(info.value)


def tokens() -> list[int]:
    return [(i * 7919) % 128_000 for i in range(N)]


def weights() -> list[float]:
    return [0.0] * (N // 4) + [1.0] * (N - N // 4)


def datum(
    toks: list[Any] | None = None, targets: list[Any] | None = None, w: list[Any] | None = None
) -> types.Datum:
    return types.Datum(
        model_input=types.ModelInput.from_ints(tokens() if toks is None else toks),
        loss_fn_inputs={
            "target_tokens": tokens() if targets is None else targets,
            "weights": weights() if w is None else w,
        },
    )


def with_value(values: list[Any], pos: int, value: object) -> list[Any]:
    out = list(values)
    out[pos] = value
    return out


# ----- the scans ------------------------------------------------------------------------------
def test_the_marshal_layout_is_the_one_the_scans_read() -> None:
    assert nl._MARSHAL_OK


def test_plain_lists_pass_the_fast_scans() -> None:
    assert nl.ints_within(tokens(), 0, INT64_MAX)
    assert nl.ints_within([0, 2**31 - 1], 0, None)
    assert nl.ints_within([-(2**31), 2**31 - 1], -(2**63), INT64_MAX)
    assert nl.ints_within([], 0, None)
    assert nl.finite_reals(weights())
    assert nl.finite_reals([-0.0, 5e-324, -1.5e300, 3.4e38])
    assert nl.finite_reals([])
    assert nl.no_numpy_scalars(tokens())
    assert nl.no_numpy_scalars(weights())
    assert nl.no_numpy_scalars([1, 2.5, True, 2**80, math.nan])


BAD_INTS: list[object] = [
    -1,
    -(2**40),
    2**31,
    2**70,
    True,
    False,
    1.0,
    math.nan,
    None,
    "7",
    b"7",
    [1],
    (1,),
    {"a": 1},
    np.int64(1),
    np.float64(1.0),
    Color.RED,
    Small.ONE,
    orjson.Fragment(b"1"),
]


@pytest.mark.parametrize("bad", BAD_INTS, ids=repr)
@pytest.mark.parametrize("pos", POSITIONS)
def test_the_int_scan_never_vouches_for_a_bad_or_unusual_element(bad: object, pos: int) -> None:
    # Unusual but valid elements (2**31, IntEnum, numpy ints) go to the exact check too.
    assert not nl.ints_within(with_value(tokens(), pos, bad), 0, INT64_MAX)


def test_the_int_scan_declines_bounds_it_cannot_certify() -> None:
    assert not nl.ints_within([1, 2], 1, None)
    assert not nl.ints_within([1, 2], -5, None)
    assert not nl.ints_within([1, 2], 0, 100)
    assert not nl.ints_within([-(2**31) - 1], -(2**63), INT64_MAX)
    assert not nl.ints_within([-1], 0, None)


BAD_REALS: list[object] = [
    math.nan,
    math.inf,
    -math.inf,
    1e308,  # finite, but marshal's top byte looks like a non-finite one: the exact check decides
    True,
    False,
    1,
    2**70,
    None,
    "1.0",
    [1.0],
    np.float32(1.0),
    np.float64(1.0),
    Color.RED,
    orjson.Fragment(b"1.0"),
]


@pytest.mark.parametrize("bad", BAD_REALS, ids=repr)
@pytest.mark.parametrize("pos", POSITIONS)
def test_the_float_scan_never_vouches_for_a_bad_or_unusual_element(bad: object, pos: int) -> None:
    assert not nl.finite_reals(with_value(weights(), pos, bad))


# With a JSON `Certified` the scans read orjson's text of the list (which the encoder then embeds):
# certain ints are the ones in [0, 2**53) (or, with negatives allowed, [-2**53, 2**53)).
VALID_INTS = (Small.ONE, 2**31)
BAD_JSON_INTS = [b for b in BAD_INTS if not any(b is v for v in VALID_INTS)] + [2**53, -(2**53)]


@pytest.mark.parametrize("bad", BAD_JSON_INTS, ids=repr)
@pytest.mark.parametrize("pos", POSITIONS)
def test_the_json_int_scan_never_vouches_for_a_bad_or_unusual_element(
    bad: object, pos: int
) -> None:
    values = with_value(tokens(), pos, bad)
    certified = nl.Certified(json=True)
    assert not nl.ints_within(values, 0, INT64_MAX, certified)
    assert certified.get(values) is None and not certified


def test_the_json_int_scan_keeps_the_text_the_encoder_would_write() -> None:
    for values, low in [(tokens(), 0), ([-5, 0, 2**53 - 1, -(2**53) + 1], -(2**63)), ([], 0)]:
        certified = nl.Certified(json=True)
        assert nl.ints_within(values, low, INT64_MAX, certified)
        assert certified.get(values) == orjson.dumps(values)
        assert certified.get(list(values)) is None  # by identity, not by value
    ints = with_value(tokens(), 1, Small.ONE)  # an IntEnum is an int, and written as one
    assert nl.ints_within(ints, 0, INT64_MAX, nl.Certified(json=True))
    assert not nl.ints_within([1, 2], 1, None, nl.Certified(json=True))
    assert not nl.ints_within([1, 2], 0, 100, nl.Certified(json=True))


BAD_JSON_REALS = [b for b in BAD_REALS if not (type(b) in (int, float) and math.isfinite(b))]


@pytest.mark.parametrize("bad", BAD_JSON_REALS, ids=repr)
@pytest.mark.parametrize("pos", POSITIONS)
def test_the_json_float_scan_never_vouches_for_a_bad_or_unusual_element(
    bad: object, pos: int
) -> None:
    values = with_value(weights(), pos, bad)
    certified = nl.Certified(json=True)
    assert not nl.finite_reals(values, certified)
    assert not certified


def test_the_json_float_scan_keeps_the_text_the_encoder_would_write() -> None:
    values = [-0.0, 5e-324, -1.5e300, 3.4e38, 1e308, 1e-7, 1, 2**62, 0.1]
    certified = nl.Certified(json=True)
    assert nl.finite_reals(values, certified)
    assert certified.get(values) == orjson.dumps(values)


def test_a_marshal_certified_keeps_the_output_the_protobuf_packer_reads() -> None:
    values = tokens()
    certified = nl.Certified(json=False)
    assert nl.ints_within(values, 0, INT64_MAX, certified)
    assert certified.get(values) is not None
    assert nl._records(values, 5, b"i", certified) is certified.get(values)


@pytest.mark.parametrize(
    "bad", [np.int64(1), np.float32(0.5), np.float64(0.5), np.bool_(True)], ids=repr
)
@pytest.mark.parametrize("pos", POSITIONS)
def test_the_numpy_scan_finds_every_numpy_scalar(bad: object, pos: int) -> None:
    assert not nl.no_numpy_scalars(with_value(tokens(), pos, bad))
    assert not nl.no_numpy_scalars(with_value(weights(), pos, bad))


@pytest.mark.parametrize(
    "bad", [np.int64(1), np.float32(0.5), np.float64(0.5), np.bool_(True)], ids=repr
)
@pytest.mark.parametrize("pos", [0, 1, 2])
def test_the_numpy_scan_finds_numpy_scalars_in_short_lists_too(bad: object, pos: int) -> None:
    # Short lists take the type-scan path (no np.errstate); it must find them all the same.
    assert len([1, 2, 3]) <= nl._SHORT
    assert not nl.no_numpy_scalars(with_value([1, 2, 3], pos, bad))
    assert not nl.no_numpy_scalars(with_value([0.5, 1.0, 2.0], pos, bad))
    assert nl.no_numpy_scalars([1, 2.5, True])


def test_a_short_numpy_list_that_overflows_warns_nothing() -> None:
    huge = [np.int64(2**62)] * 4
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not nl.no_numpy_scalars(huge)
        assert not nl.no_numpy_scalars(huge * nl._SHORT)  # the long-list path too
    tokens = types.ModelInput.from_ints(huge).to_ints()
    assert tokens == [2**62] * 4 and {type(t) for t in tokens} == {int}


def test_non_numbers_make_the_numpy_scan_look_closer() -> None:
    assert not nl.no_numpy_scalars([1, "a"])
    assert not nl.no_numpy_scalars([1, None])
    assert not nl.no_numpy_scalars([2**2000, 1.0])  # int too large for a float


# ----- through the validators -----------------------------------------------------------------
Validate = Any


@pytest.fixture(params=["public", "json", "marshal"])
def validate_datums(request: pytest.FixtureRequest) -> Validate:
    """`types.validate_datums`, and the clients' validation leaving JSON texts or marshal's
    records for the encoder: each must refuse the same elements, naming the same field."""
    if request.param == "public":
        return types.validate_datums

    def certified_validation(data: list[types.Datum], loss_fn: str) -> Any:
        certified = nl.Certified(json=request.param == "json")
        return validate_datums_certified(data, loss_fn, certified)

    return certified_validation


TOKEN_FIELD = "data[0].model_input.chunks[0].tokens"
TARGET_FIELD = "data[0].loss_fn_inputs.target_tokens.data"
WEIGHT_FIELD = "data[0].loss_fn_inputs.weights.data"


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (-1, ">= 0, got -1"),
        (2**63, r"<= 9223372036854775807, got 9223372036854775808"),
        (2**70, "<= 9223372036854775807"),
        (True, "got bool True"),
        (1.0, "got float 1.0"),
        (None, "got NoneType"),
        ("7", "got str"),
        (Color.RED, "got Color"),
        (orjson.Fragment(b"1"), "got Fragment"),
        (np.float64(2.0), "got float 2.0"),  # a numpy scalar becomes a Python number
    ],
    ids=repr,
)
@pytest.mark.parametrize("pos", POSITIONS)
def test_bad_token_ids_name_datum_and_element(
    bad: object, match: str, pos: int, validate_datums: Validate
) -> None:
    with raises(f"{TOKEN_FIELD}[{pos}]", match):
        validate_datums([datum(toks=with_value(tokens(), pos, bad))], "cross_entropy")
    with raises(f"{TARGET_FIELD}[{pos}]", match):
        validate_datums([datum(targets=with_value(tokens(), pos, bad))], "cross_entropy")


def test_the_failing_datum_is_named(validate_datums: Validate) -> None:
    data = [datum(), datum(), datum(w=with_value(weights(), 7, math.inf)), datum()]
    with raises("data[2].loss_fn_inputs.weights.data[7]", "finite"):
        validate_datums(data, "cross_entropy")


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (math.nan, "finite"),
        (math.inf, "finite"),
        (-math.inf, "finite"),
        (2**1100, "finite"),
        (True, "got bool True"),
        (None, "got NoneType"),
        ("1.0", "got str"),
        (Color.RED, "got Color"),
        (orjson.Fragment(b"1.0"), "got Fragment"),
    ],
    ids=repr,
)
@pytest.mark.parametrize("pos", POSITIONS)
def test_bad_weights_name_datum_and_element(
    bad: object, match: str, pos: int, validate_datums: Validate
) -> None:
    with raises(f"{WEIGHT_FIELD}[{pos}]", match):
        validate_datums([datum(w=with_value(weights(), pos, bad))], "cross_entropy")


@pytest.mark.parametrize(
    "good", [2**31, 2**62, Small.ONE, np.int64(5), np.uint32(5), np.int8(0)], ids=repr
)
def test_unusual_but_valid_token_ids_pass(good: object) -> None:
    # Built without the constructors' conversion, so the values stay as they are (as after a
    # caller puts them into a built chunk's list).
    toks = with_value(tokens(), 3, good)
    chunk = build(types.EncodedTextChunk, tokens=toks)
    types.validate_model_input(types.ModelInput(chunks=[chunk]))
    td = build(types.TensorData, data=toks, dtype="int64", shape=[N])
    types.validate_tensor_data(td, "t", token_ids=True)


@pytest.mark.parametrize(
    "good", [1e308, -1e308, 1, 2**70, np.float32(0.5), np.float64(0.5), np.int64(3)], ids=repr
)
def test_unusual_but_valid_weights_pass(good: object) -> None:
    td = build(types.TensorData, data=with_value(weights(), 5, good), dtype="float32", shape=[N])
    types.validate_tensor_data(td, "t")


def test_int64_values_beyond_32_bits_are_checked_exactly() -> None:
    ok = [-(2**63), 2**63 - 1, -(2**31) - 1, 0]
    types.validate_tensor_data(types.TensorData(data=ok, dtype="int64"), "t")
    with raises("t.data[1]", ">= -9223372036854775808"):
        types.validate_tensor_data(types.TensorData(data=[0, -(2**63) - 1], dtype="int64"), "t")


def test_lists_changed_after_construction_are_checked_again(validate_datums: Validate) -> None:
    d = datum()
    validate_datums([d], "cross_entropy")
    d.model_input.chunks[0].tokens[10] = True
    with raises(f"{TOKEN_FIELD}[10]", "got bool"):
        validate_datums([d], "cross_entropy")
    d = datum()
    d.loss_fn_inputs["weights"].data[20] = math.nan
    with raises(f"{WEIGHT_FIELD}[20]", "finite"):
        validate_datums([d], "cross_entropy")


def test_stop_token_ids_use_the_same_checks() -> None:
    types.validate_sampling_params(types.SamplingParams(max_tokens=3, stop=tokens()))
    with raises("sampling_params.stop[2]", "<= 9223372036854775807"):
        types.validate_sampling_params(types.SamplingParams(max_tokens=3, stop=[1, 2, 2**64]))


def test_without_the_marshal_layout_the_exact_checks_decide(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(nl, "_MARSHAL_OK", False)
    assert not nl.ints_within([1, 2], 0, None)
    assert not nl.finite_reals([1.0])
    types.validate_datums([datum()], "cross_entropy")
    with raises(f"{TOKEN_FIELD}[3]", "got bool"):
        types.validate_datums([datum(toks=with_value(tokens(), 3, True))], "cross_entropy")
    with raises(f"{WEIGHT_FIELD}[4]", "finite"):
        types.validate_datums([datum(w=with_value(weights(), 4, math.nan))], "cross_entropy")


# ----- building Datums ------------------------------------------------------------------------
def test_plain_lists_are_copied_once_like_the_official_types() -> None:
    toks, targets, w = tokens(), tokens(), weights()
    d = datum(toks, targets, w)
    assert d.model_input.chunks[0].tokens == toks
    assert d.loss_fn_inputs["target_tokens"].data == targets
    assert d.loss_fn_inputs["weights"].data == w
    expected = (list(toks), list(targets), list(w))
    toks.clear(), targets.append(1), w.reverse()  # the caller reuses its buffers
    assert d.model_input.chunks[0].tokens == expected[0]
    assert d.loss_fn_inputs["target_tokens"].data == expected[1]
    assert d.loss_fn_inputs["weights"].data == expected[2]


def test_numpy_scalars_in_lists_become_python_numbers_when_built() -> None:
    toks = with_value(tokens(), 9, np.int64(17))
    w = with_value(weights(), 9, np.float32(0.1))
    d = datum(toks, list(np.array(tokens())), w)
    assert type(d.model_input.chunks[0].tokens[9]) is int
    assert all(type(t) is int for t in d.loss_fn_inputs["target_tokens"].data)
    assert d.loss_fn_inputs["weights"].data[9] == float(np.float32(0.1))
    assert type(d.loss_fn_inputs["weights"].data[9]) is float
    types.validate_datums([d], "cross_entropy")
    # The wire carries the same bytes as for the equivalent Python numbers.
    w_plain = with_value(weights(), 9, float(np.float32(0.1)))
    plain = datum(with_value(tokens(), 9, 17), tokens(), w_plain)
    assert orjson.dumps(plain.to_dict()) == orjson.dumps(d.to_dict())


def test_arrays_and_tensors_still_convert() -> None:
    import torch

    d = types.Datum(
        model_input=types.ModelInput.from_ints(np.arange(1, 5)),
        loss_fn_inputs={
            "target_tokens": torch.arange(2, 6),
            "weights": np.ones(4, dtype=np.float32),
        },
    )
    types.validate_datums([d], "cross_entropy")
    assert d.model_input.chunks[0].tokens == [1, 2, 3, 4]
    assert d.loss_fn_inputs["target_tokens"].data == [2, 3, 4, 5]
    assert d.loss_fn_inputs["weights"].data == [1.0] * 4
    bad = types.Datum(
        model_input=types.ModelInput.from_ints([1, 2]),
        loss_fn_inputs={"target_tokens": torch.tensor([2, -3]), "weights": [1.0, 1.0]},
    )
    with raises(f"{TARGET_FIELD}[1]", ">= 0"):
        types.validate_datums([bad], "cross_entropy")
    nan = types.Datum(
        model_input=types.ModelInput.from_ints([1, 2]),
        loss_fn_inputs={"target_tokens": [2, 3], "weights": torch.tensor([1.0, math.nan])},
    )
    with raises(f"{WEIGHT_FIELD}[1]", "finite"):
        types.validate_datums([nan], "cross_entropy")


# ----- properties: a True is never wrong --------------------------------------------------------
SETTINGS = settings(max_examples=200, deadline=None, derandomize=True)
elements = st.one_of(
    st.integers(min_value=-(2**66), max_value=2**66),
    st.integers(min_value=0, max_value=2**31 - 1),
    st.floats(),
    st.booleans(),
    st.none(),
    st.sampled_from([np.int64(3), np.float32(0.5), Small.ONE, Color.RED, "1", [1], 1.0, -0.0]),
)


@SETTINGS
@given(st.lists(elements, max_size=40))
def test_a_true_from_a_scan_is_a_guarantee(values: list[Any]) -> None:
    if nl.ints_within(values, 0, INT64_MAX):
        assert all(type(v) is int and 0 <= v <= INT64_MAX for v in values)
    if nl.ints_within(values, -(2**63), INT64_MAX):
        assert all(type(v) is int and -(2**63) <= v <= INT64_MAX for v in values)
    if nl.finite_reals(values):
        assert all(type(v) is float and math.isfinite(v) for v in values)
    if any(isinstance(v, np.generic) for v in values):
        assert not nl.no_numpy_scalars(values)


@SETTINGS
@given(
    st.lists(st.integers(min_value=0, max_value=2**31 - 1), max_size=40),
    st.lists(st.floats(allow_nan=False, allow_infinity=False, width=32), max_size=40),
)
def test_plain_values_get_a_true(ints: list[int], floats: list[float]) -> None:
    assert nl.ints_within(ints, 0, INT64_MAX)
    assert nl.finite_reals(floats)
    assert nl.no_numpy_scalars(ints) and nl.no_numpy_scalars(floats)


def test_token_list_gives_a_new_list_of_python_numbers_from_any_iterable() -> None:
    from tinker_hl.types._model_input import token_list

    given_list = [1, 2, 3]
    copied = token_list(given_list)
    assert copied == given_list and copied is not given_list  # value semantics
    for iterable in ((1, np.int64(2), 3), range(1, 4), (v for v in [1, np.int32(2), 3])):
        out = token_list(iterable)
        assert out == [1, 2, 3] and all(type(v) is int for v in out)
    assert token_list(np.array([[1, 2], [3, 4]])) == [1, 2, 3, 4]

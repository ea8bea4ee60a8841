"""The types the official SDK 0.38 made dataclasses work with the `dataclasses` functions
(`fields`, `replace`, `asdict`, `is_dataclass`), while staying the mutable generated classes
0.7.0 code expects: `replace` builds its copy with our constructors (value semantics, loss
input conversion), and an unknown field is a TypeError as for a real dataclass."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tinker_hl import types
from tinker_hl.types._shapes import to_official_shape

DATACLASSES = [
    types.Datum,
    types.TensorData,
    types.SampleResponse,
    types.SampledSequence,
    types.ForwardBackwardOutput,
    types.ForwardBackwardInput,
    types.ForwardBackwardRequest,
    types.ForwardRequest,
    types.PromptAltTokens,
]


def _datum(weights: list[float] | None = None) -> types.Datum:
    return types.Datum(
        model_input=types.ModelInput.from_ints([1, 2, 3]),
        loss_fn_inputs={"target_tokens": [2, 3, 4], "weights": weights or [1.0, 1.0, 1.0]},
    )


@pytest.mark.parametrize("cls", DATACLASSES, ids=lambda c: c.__name__)
def test_the_038_dataclasses_are_dataclasses(cls: type) -> None:
    assert dataclasses.is_dataclass(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    assert names, cls
    # Neither unknown wire keys nor the wire's `type` literal are fields of the official class.
    assert "additional_properties" not in names and "type_" not in names


def test_types_0_38_keeps_pydantic_are_not_dataclasses() -> None:
    assert not dataclasses.is_dataclass(types.ModelInput)
    assert not dataclasses.is_dataclass(types.SamplingParams)


def test_fields_name_what_the_constructor_takes() -> None:
    assert {f.name for f in dataclasses.fields(types.Datum)} >= {"model_input", "loss_fn_inputs"}
    assert [f.name for f in dataclasses.fields(types.ForwardBackwardOutput)] == [
        "loss_fn_output_type",
        "loss_fn_outputs",
        "metrics",
    ]
    tensor = {f.name: f for f in dataclasses.fields(types.TensorData)}
    assert tensor["data"].default is dataclasses.MISSING
    assert tensor["shape"].default is not dataclasses.MISSING  # optional
    assert dataclasses.fields(_datum()) == dataclasses.fields(types.Datum)


def test_replace_builds_the_copy_with_our_constructor() -> None:
    datum = _datum()
    tokens = [7, 8, 9]
    replaced = dataclasses.replace(datum, model_input=types.ModelInput.from_ints(tokens))
    assert type(replaced) is types.Datum
    assert replaced.model_input.to_ints() == [7, 8, 9]
    assert datum.model_input.to_ints() == [1, 2, 3]  # the original is unchanged
    # Loss inputs go through Datum's conversion: numpy arrays become TensorData.
    reweighted = dataclasses.replace(
        datum,
        loss_fn_inputs={
            "target_tokens": np.array([4, 5, 6]),
            "weights": np.zeros(3, dtype=np.float32),
        },
    )
    assert reweighted.loss_fn_inputs["weights"].data == [0.0, 0.0, 0.0]
    assert reweighted.loss_fn_inputs["target_tokens"].dtype == "int64"
    assert reweighted.model_input is datum.model_input  # unchanged fields are carried over
    assert datum.loss_fn_inputs["weights"].data == [1.0, 1.0, 1.0]
    assert reweighted.loss_fn_inputs is not datum.loss_fn_inputs


def test_replace_copies_the_lists_it_is_given() -> None:
    tensor = types.TensorData(data=[1.0, 2.0], dtype="float32", shape=[2])
    data = [3.0, 4.0]
    replaced = dataclasses.replace(tensor, data=data)
    data.append(5.0)
    assert replaced.data == [3.0, 4.0] and replaced.shape == [2] and replaced.dtype == "float32"
    assert tensor.data == [1.0, 2.0]


def test_replace_with_an_unknown_field_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="bogus"):
        dataclasses.replace(_datum(), bogus=1)
    with pytest.raises(TypeError, match="bogus"):
        dataclasses.replace(types.TensorData(data=[1], dtype="int64"), bogus=1)


def test_replace_and_asdict_on_decoded_results() -> None:
    # Decoded as the client returns results: in the official shapes (plain dicts, None).
    output = to_official_shape(
        types.ForwardBackwardOutput.from_dict(
            {
                "loss_fn_output_type": "TorchLossReturn",
                "loss_fn_outputs": [{"logprobs": {"data": [-1.0, -2.0], "dtype": "float32"}}],
                "metrics": {"loss:sum": 3.0},
            }
        )
    )
    plain = dataclasses.asdict(output)
    assert plain["metrics"] == {"loss:sum": 3.0}
    assert plain["loss_fn_outputs"][0]["logprobs"]["data"] == [-1.0, -2.0]
    response = to_official_shape(
        types.SampleResponse.from_dict(
            {"sequences": [{"stop_reason": "stop", "tokens": [1, 2], "sequence_id": "s-1"}]}
        )
    )
    sequence = dataclasses.replace(response.sequences[0], tokens=[5])
    assert sequence.tokens == [5] and sequence.sequence_id == "s-1"
    trimmed = dataclasses.replace(response, sequences=[sequence])
    assert trimmed.type_ == "sample" and trimmed.sequences[0] is sequence
    assert dataclasses.asdict(trimmed)["sequences"][0] == {
        "stop_reason": "stop",
        "tokens": [5],
        "sequence_id": "s-1",
        "logprobs": None,
        "topk_logprobs": None,
    }


def test_asdict_of_a_datum_nests_its_tensors() -> None:
    plain = dataclasses.asdict(_datum())
    assert plain["loss_fn_inputs"]["target_tokens"] == {
        "data": [2, 3, 4],
        "dtype": "int64",
        "shape": [3],
        "sparse_crow_indices": None,
        "sparse_col_indices": None,
    }
    assert plain["model_input"].to_ints() == [1, 2, 3]  # a copy (ModelInput is no dataclass)


def test_the_types_stay_mutable_for_0_7_0_code() -> None:
    datum = _datum()
    datum.model_input = types.ModelInput.from_ints([9])
    datum.loss_fn_inputs["weights"] = types.TensorData(data=[0.5], dtype="float32")
    tensor = types.TensorData(data=[1], dtype="int64")
    tensor.shape = [1]
    assert datum.model_input.to_ints() == [9] and tensor.shape == [1]

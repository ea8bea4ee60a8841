"""Value semantics: the public types copy the lists and arrays they are given (as the official
SDK's pydantic models do), so a caller reusing its buffers changes nothing already built."""

from __future__ import annotations

import numpy as np

from tinker_hl import types


def test_constructors_copy_the_lists_they_are_given() -> None:
    tokens = [1, 2, 3]
    chunk = types.EncodedTextChunk(tokens=tokens)
    from_ints = types.ModelInput.from_ints(tokens)
    chunks = [chunk]
    model_input = types.ModelInput(chunks=chunks)
    data, shape = [0.5, 1.5, 2.5], [3]
    tensor = types.TensorData(data=data, dtype="float32", shape=shape)
    stop = ["\n"]
    params = types.SamplingParams(max_tokens=4, stop=stop)
    targets, weights = [2, 3, 4], [1.0, 1.0, 1.0]
    datum = types.Datum(
        model_input=from_ints, loss_fn_inputs={"target_tokens": targets, "weights": weights}
    )

    tokens.clear(), chunks.append(chunk), data.clear(), shape.append(9), stop.append("x")
    targets[:] = [0, 0, 0]
    weights.clear()

    assert chunk.tokens == [1, 2, 3] and from_ints.to_ints() == [1, 2, 3]
    assert len(model_input.chunks) == 1 and model_input.chunks[0] is chunk  # objects are kept
    assert tensor.data == [0.5, 1.5, 2.5] and tensor.shape == [3]
    assert params.stop == ["\n"]
    assert datum.loss_fn_inputs["target_tokens"].data == [2, 3, 4]
    assert datum.loss_fn_inputs["weights"].data == [1.0, 1.0, 1.0]


def test_positional_arguments_are_copied_too() -> None:
    tokens = [7, 8]
    chunk = types.EncodedTextChunk(tokens)
    tokens.append(9)
    assert chunk.tokens == [7, 8]


def test_numpy_arrays_are_copied_into_lists() -> None:
    array = np.arange(4, dtype=np.int64)
    from_numpy = types.TensorData.from_numpy(array)
    direct = types.TensorData(data=array, dtype="int64")
    datum = types.Datum(
        model_input=types.ModelInput.from_ints(array),
        loss_fn_inputs={"target_tokens": array, "weights": np.ones(4, dtype=np.float32)},
    )
    array[:] = 99
    assert from_numpy.data == [0, 1, 2, 3] and direct.data == [0, 1, 2, 3]
    assert type(direct.data) is list
    assert datum.model_input.to_ints() == [0, 1, 2, 3]
    assert datum.loss_fn_inputs["target_tokens"].data == [0, 1, 2, 3]


def test_numpy_scalars_in_lists_become_python_numbers_as_in_the_official_types() -> None:
    chunk = types.EncodedTextChunk(tokens=[np.int64(7), 8])
    tensor = types.TensorData(data=[np.float32(0.5), 1.5], dtype="float32", shape=[np.int64(2)])
    assert chunk.tokens == [7, 8] and [type(t) for t in chunk.tokens] == [int, int]
    assert tensor.data == [0.5, 1.5] and [type(v) for v in tensor.data] == [float, float]
    assert tensor.shape == [2] and type(tensor.shape[0]) is int


def test_decoded_results_own_their_lists() -> None:
    body = {"sequences": [{"tokens": [1, 2], "stop_reason": "length"}], "type": "sample"}
    response = types.SampleResponse.from_dict(body)
    body["sequences"][0]["tokens"].append(3)  # type: ignore[index]
    assert response.sequences[0].tokens == [1, 2]

"""Sparse CSR TensorData (SDK 0.38's `from_torch_sparse`) and the numpy views of sampling
results (`tokens_np`, `logprobs_np`, `prompt_logprobs_np`)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tinker_proto import tinker_public_pb2 as pb

from tinker_hl import ValidationError, types
from tinker_hl._protobuf_codec import encode_forward_backward

IDS = torch.tensor([[5, -1, -1, -1], [-1, -1, 7, -1], [-1, -1, -1, -1]])


def test_from_torch_sparse_lists_the_cells_that_are_not_the_pad() -> None:
    sparse = types.TensorData.from_torch_sparse(IDS, pad_value=-1)
    assert sparse.dtype == "int64" and sparse.shape == [3, 4]
    assert sparse.data == [5, 7]
    assert sparse.sparse_crow_indices == [0, 1, 2, 2]
    assert sparse.sparse_col_indices == [0, 2]
    assert torch.equal(sparse.to_torch(-1), IDS)
    assert sparse.to_numpy(pad_value=-1).tolist() == IDS.tolist()
    assert sparse.tolist(-1) == IDS.tolist()
    assert sparse.to_numpy().tolist() == [[5, 0, 0, 0], [0, 0, 7, 0], [0, 0, 0, 0]]  # pad 0


def test_from_torch_sparse_stays_dense_where_csr_is_not_smaller() -> None:
    mostly_set = types.TensorData.from_torch_sparse(torch.ones(3, 3))
    assert mostly_set.sparse_crow_indices is None and mostly_set.data == [1.0] * 9
    one_d = types.TensorData.from_torch_sparse(torch.zeros(6, dtype=torch.long))
    assert one_d.sparse_crow_indices is None and one_d.shape == [6]
    floats = types.TensorData.from_torch_sparse(
        torch.tensor([[0.0, 0.0, 0.0, 2.5]] * 1 + [[0.0] * 4] * 3)
    )
    assert floats.dtype == "float32" and floats.data == [2.5]


@pytest.mark.parametrize("pad", [1.0, True, "0", None])
def test_the_pad_must_be_an_int(pad: object) -> None:
    with pytest.raises(TypeError, match="pad_value must be an integer"):
        types.TensorData.from_torch_sparse(IDS, pad)  # type: ignore[arg-type]
    sparse = types.TensorData.from_torch_sparse(IDS, np.int64(-1))  # numpy ints are ints
    with pytest.raises(TypeError, match="pad_value"):
        sparse.to_numpy(pad)  # type: ignore[arg-type]


def _tensor(**fields: object) -> types.TensorData:
    base: dict[str, object] = {
        "data": [5, 7],
        "dtype": "int64",
        "shape": [3, 4],
        "sparse_crow_indices": [0, 1, 2, 2],
        "sparse_col_indices": [0, 2],
    }
    return types.TensorData(**{**base, **fields})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"shape": [12]}, "shape"),
        ({"shape": None}, "shape"),
        ({"sparse_crow_indices": [0, 1, 2]}, "sparse_crow_indices"),
        ({"sparse_crow_indices": [0, 2, 1, 2]}, "sparse_crow_indices"),
        ({"sparse_crow_indices": [0, 1, 2, 3]}, "sparse_crow_indices"),
        ({"sparse_col_indices": [0, 4]}, "sparse_col_indices"),
        ({"sparse_col_indices": [0]}, "sparse_col_indices"),
        ({"sparse_col_indices": None}, "sparse_col_indices"),
    ],
)
def test_bad_csr_layouts_are_refused_naming_the_field(
    fields: dict[str, object], field: str
) -> None:
    bad = _tensor(**fields)
    with pytest.raises(ValidationError) as caught:
        bad.to_numpy()
    assert caught.value.field == f"tensor.{field}"
    datum = types.Datum(
        model_input=types.ModelInput.from_ints([1, 2]), loss_fn_inputs={"mask": bad}
    )
    with pytest.raises(ValidationError) as before_sending:
        types.validate_datums([datum])
    assert before_sending.value.field == f"data[0].loss_fn_inputs.mask.{field}"


def test_a_sparse_loss_input_passes_validation_and_travels_in_both_forms() -> None:
    datum = types.Datum(
        model_input=types.ModelInput.from_ints([1, 2]),
        loss_fn_inputs={"mask": types.TensorData.from_torch_sparse(IDS, -1)},
    )
    types.validate_datums([datum])
    wire = datum.to_dict()["loss_fn_inputs"]["mask"]
    assert wire["sparse_crow_indices"] == [0, 1, 2, 2] and wire["sparse_col_indices"] == [0, 2]
    dense_wire = types.TensorData.from_torch(IDS).to_dict()
    assert "sparse_crow_indices" not in dense_wire and "sparse_col_indices" not in dense_wire
    content = encode_forward_backward(
        model_id="m",
        seq_id=1,
        data=[datum],
        loss_fn="cross_entropy",
        loss_fn_config=None,
        forward_only=True,
    )
    msg = pb.ForwardBackwardRequest()
    msg.ParseFromString(content)
    tensor = msg.data[0].loss_fn_inputs["mask"]
    assert tensor.WhichOneof("encoding") == "sparse_csr"
    assert np.frombuffer(tensor.sparse_csr.crow_indices, "<i8").tolist() == [0, 1, 2, 2]
    assert np.frombuffer(tensor.sparse_csr.values, "<i8").tolist() == [5, 7]


def test_numpy_views_of_sampling_results() -> None:
    response = types.SampleResponse.from_dict(
        {
            "sequences": [
                {"stop_reason": "stop", "tokens": [3, 4, 5], "logprobs": [-0.5, -1.0, -2.0]},
                {"stop_reason": "length", "tokens": []},
            ],
            "prompt_logprobs": [None, -1.5, -0.25],
        }
    )
    first, second = response.sequences
    assert first.tokens_np.dtype == np.int32 and first.tokens_np.tolist() == [3, 4, 5]
    logprobs = first.logprobs_np
    assert logprobs is not None and logprobs.dtype == np.float32
    assert logprobs.tolist() == [-0.5, -1.0, -2.0]
    assert second.tokens_np.shape == (0,) and second.logprobs_np is None
    prompt = response.prompt_logprobs_np
    assert prompt is not None and np.isnan(prompt[0]) and prompt[1:].tolist() == [-1.5, -0.25]
    assert types.SampleResponse.from_dict({"sequences": []}).prompt_logprobs_np is None
    first.tokens.append(6)  # the lists stay the values: a view is made from them
    assert first.tokens_np.tolist() == [3, 4, 5, 6]

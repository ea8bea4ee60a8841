"""`tinker_hl.types`: the generated wire classes with research-code conveniences, and the
client-side validation. Each test is a small readable example."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
import tinker_api_client.models as wire

from tinker_hl import ValidationError, types
from tinker_hl.types import UNSET


def sft_datum(n: int = 3) -> types.Datum:
    return types.Datum(
        model_input=types.ModelInput.from_ints(list(range(1, n + 1))),
        loss_fn_inputs={"target_tokens": list(range(2, n + 2)), "weights": [1.0] * n},
    )


@contextmanager
def raises(field: str, match: str | None = None) -> Iterator[None]:
    """Expect a ValidationError whose field is exactly `field` (and whose message matches)."""
    with pytest.raises(ValidationError, match=match) as info:
        yield
    assert info.value.field == field, str(info.value)
    assert str(info.value).startswith(f"{field}: ")


# ----- the same classes as the generated client -----------------------------------------------
def test_wire_types_are_the_generated_classes() -> None:
    for name in ["ModelInput", "TensorData", "SamplingParams", "AdamParams", "SampleResponse"]:
        assert getattr(types, name) is getattr(wire, name)
    assert types.ForwardBackwardOutput is wire.ForwardBackwardOutput
    assert issubclass(types.Datum, wire.Datum)


def test_decoded_nested_results_carry_the_conveniences() -> None:
    out = types.ForwardBackwardOutput.from_dict(
        {
            "loss_fn_output_type": "TorchLossReturn",
            "loss_fn_outputs": [{"logprobs": {"data": [-1.0, -2.0], "dtype": "float32"}}],
            "metrics": {"loss:sum": 3.0},
        }
    )
    logprobs = out.loss_fn_outputs[0]["logprobs"]
    assert logprobs.tolist() == [-1.0, -2.0]
    assert logprobs.to_numpy().dtype == np.float32
    assert dict(out.metrics) == {"loss:sum": 3.0}
    assert list(out.loss_fn_outputs[0]) == ["logprobs"]
    assert len(out.loss_fn_outputs[0]) == 1
    assert out.loss_fn_outputs[0].get("missing") is None


def test_everything_research_code_imports_exists() -> None:
    official = pytest.importorskip("tinker")
    names = [n for n in dir(official.types) if n[:1].isupper()]
    missing = [n for n in names if not hasattr(types, n)]
    assert not missing
    assert set(types.__all__) <= set(dir(types))


def test_request_error_category_compares_with_wire_strings() -> None:
    assert types.RequestErrorCategory.User == "user"
    assert types.ModelID is str


# ----- ModelInput -----------------------------------------------------------------------------
def test_model_input_from_ints_and_back() -> None:
    mi = types.ModelInput.from_ints([5, 6, 7])
    assert mi.to_ints() == [5, 6, 7]
    assert mi.length == 3
    assert mi.chunks[0].length == 3
    assert mi.to_dict() == {"chunks": [{"tokens": [5, 6, 7], "type": "encoded_text"}]}
    assert types.model_input_from_ints(np.array([5, 6, 7])).to_ints() == [5, 6, 7]
    assert type(types.model_input_from_ints(np.array([5])).to_ints()[0]) is int


def test_model_input_empty_append_append_int() -> None:
    mi = types.ModelInput.empty()
    assert mi.length == 0
    longer = mi.append(types.EncodedTextChunk(tokens=[1, 2])).append_int(3)
    assert longer.to_ints() == [1, 2, 3]
    assert mi.length == 0, "append returns a new ModelInput"


def test_image_chunks_count_expected_tokens() -> None:
    image = types.ImageChunk.from_bytes(b"\x89PNG", "png", expected_tokens=4)
    pointer = types.ImageAssetPointerChunk(format_="jpeg", location="s3://x.jpg", expected_tokens=2)
    mi = types.ModelInput.from_ints([1]).append(image).append(pointer)
    assert mi.length == 7
    assert image.to_bytes() == b"\x89PNG"
    assert image.data == b"\x89PNG"  # bytes, as in the official SDK
    assert image.to_dict()["data"] == base64.b64encode(b"\x89PNG").decode()  # base64 on the wire
    assert image.type == "image" and image.format == "png"
    assert pointer.type == "image_asset_pointer"
    assert types.EncodedTextChunk(tokens=[]).type == "encoded_text"


def test_image_length_without_expected_tokens_is_an_error() -> None:
    mi = types.ModelInput(chunks=[types.ImageChunk(data="AAAA", format_="png")])
    with raises("model_input.chunks[0].expected_tokens", "expected_tokens must be set"):
        _ = mi.length


def test_to_ints_rejects_image_chunks() -> None:
    mi = types.ModelInput(chunks=[types.ImageAssetPointerChunk(format_="png", location="a.png")])
    with raises("model_input.chunks[0]", "text chunks only"):
        mi.to_ints()


# ----- TensorData -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("array", "dtype"),
    [
        (np.array([[1.5, 2.0]], dtype=np.float64), "float32"),
        (np.array([1.5], dtype=np.float16), "float32"),
        (np.array([1, 2], dtype=np.int32), "int64"),
        (np.array([1, 2], dtype=np.uint8), "int64"),
        (np.array([True, False]), "int64"),
    ],
)
def test_tensor_from_numpy_maps_dtypes(array: np.ndarray, dtype: str) -> None:
    td = types.TensorData.from_numpy(array)
    assert td.dtype == dtype
    assert td.shape == list(array.shape)
    assert td.to_numpy().shape == array.shape
    assert all(type(v) in (int, float) for v in td.data), "plain Python numbers on the wire"


@pytest.mark.parametrize(
    "array", [np.array([1j]), np.array(["a"]), np.array([object()], dtype=object)]
)
def test_tensor_from_numpy_rejects_other_dtypes(array: np.ndarray) -> None:
    with raises("array", str(array.dtype)):
        types.TensorData.from_numpy(array)


def test_tensor_round_trips_shape_and_values() -> None:
    td = types.TensorData.from_numpy(np.arange(6, dtype=np.int64).reshape(2, 3))
    assert td.to_dict() == {"data": [0, 1, 2, 3, 4, 5], "dtype": "int64", "shape": [2, 3]}
    assert td.tolist() == [[0, 1, 2], [3, 4, 5]]
    flat = types.TensorData(data=[1.0, 2.0], dtype="float32")
    assert flat.to_numpy().shape == (2,)
    assert "shape" not in flat.to_dict()


def test_tensor_torch_round_trip() -> None:
    torch = pytest.importorskip("torch")
    t = torch.tensor([[1.0, 2.0]], requires_grad=True) * 2
    td = types.TensorData.from_torch(t)
    assert (td.dtype, td.shape, td.data) == ("float32", [1, 2], [2.0, 4.0])
    assert torch.equal(td.to_torch(), torch.tensor([[2.0, 4.0]]))
    assert types.TensorData.from_torch(torch.tensor([True])).data == [1]
    assert types.TensorData.from_torch(torch.tensor([1], dtype=torch.int8)).dtype == "int64"
    assert types.TensorData.from_torch(torch.tensor([1.0], dtype=torch.bfloat16)).dtype == "float32"
    with raises("tensor", "complex"):
        types.TensorData.from_torch(torch.tensor([1j]))


# ----- Datum ----------------------------------------------------------------------------------
def test_datum_converts_lists_arrays_and_tensors() -> None:
    torch = pytest.importorskip("torch")
    datum = types.Datum(
        model_input=types.ModelInput.from_ints([1, 2, 3]),
        loss_fn_inputs={
            "target_tokens": [2, 3, 4],
            "weights": np.array([0.0, 1.0, 1.0]),
            "advantages": torch.tensor([0.5, 0.5, 0.5]),
            "logprobs": types.TensorData(data=[-1.0, -1.0, -1.0], dtype="float32"),
            "mask": [1, 0, 1],
            "scale": [1, 0.5],
        },
    )
    assert isinstance(datum, wire.Datum)
    inputs = datum.loss_fn_inputs
    assert isinstance(inputs, dict), "a plain dict of TensorData, as in the official Datum"
    assert all(isinstance(v, wire.TensorData) for v in inputs.values())
    assert {k: v.dtype for k, v in inputs.items()} == {
        "target_tokens": "int64",
        "weights": "float32",
        "advantages": "float32",
        "logprobs": "float32",
        "mask": "int64",
        "scale": "float32",
    }
    body = json.loads(json.dumps(datum.to_dict()))
    assert types.Datum.from_dict(body) == datum
    assert wire.Datum.from_dict(body).to_dict() == body


def test_weights_given_as_ints_are_float32_by_key() -> None:
    datum = types.Datum(
        model_input=types.ModelInput.from_ints([1]),
        loss_fn_inputs={"weights": [1], "target_tokens": np.array([2])},
    )
    assert datum.loss_fn_inputs["weights"].dtype == "float32"
    assert datum.loss_fn_inputs["target_tokens"].dtype == "int64"


def test_datum_rejects_unconvertible_inputs() -> None:
    with raises("loss_fn_inputs.weights", "expected a list, numpy array"):
        types.Datum(model_input=types.ModelInput.from_ints([1]), loss_fn_inputs={"weights": 1.0})
    with raises("loss_fn_inputs", "expected a dict"):
        types.Datum(model_input=types.ModelInput.from_ints([1]), loss_fn_inputs=[1, 2])
    with raises("loss_fn_inputs.weights", "complex"):
        types.Datum(
            model_input=types.ModelInput.from_ints([1]),
            loss_fn_inputs={"weights": np.array([1j])},
        )


def test_datum_from_tokens() -> None:
    datum = types.Datum.from_tokens([1, 2, 3], [2, 3, 4])
    assert datum.loss_fn_inputs["weights"].data == [1.0, 1.0, 1.0]
    weighted = types.datum_from_tokens([1, 2], [2, 3], weights=np.array([0.0, 1.0]))
    assert weighted.loss_fn_inputs["weights"].data == [0.0, 1.0]
    with raises("loss_fn_inputs.target_tokens", "expected 2 target tokens"):
        types.datum_from_tokens([1, 2], [2])
    with raises("loss_fn_inputs.weights", "expected 2 weights"):
        types.datum_from_tokens([1, 2], [2, 3], weights=[1.0])


# ----- parameters with generated defaults -----------------------------------------------------
def test_sampling_params_defaults_serialize() -> None:
    params = types.SamplingParams(max_tokens=20, temperature=0.7, stop=["\n"])
    assert params.to_dict() == {
        "max_tokens": 20,
        "stop": ["\n"],
        "temperature": 0.7,
        "top_k": -1,
        "top_p": 1.0,
    }
    types.validate_sampling_params(params)
    decoded = types.SamplingParams.from_dict({"max_tokens": 5})
    assert decoded.temperature is UNSET, "a decoded absent field is UNSET, not the default"
    types.validate_sampling_params(decoded)


def test_adam_params_defaults_serialize() -> None:
    params = types.AdamParams(learning_rate=1e-4)
    assert params.to_dict() == {
        "learning_rate": 1e-4,
        "beta1": 0.9,
        "beta2": 0.95,
        "eps": 1e-12,
        "weight_decay": 0.0,
        "grad_clip_norm": 0.0,
    }
    types.validate_adam_params(params)
    types.validate_adam_params(types.AdamParams.from_dict({}))


# ----- tinker paths ---------------------------------------------------------------------------
def test_parse_tinker_path() -> None:
    parsed = types.ParsedCheckpointTinkerPath.from_tinker_path("tinker://run-1/weights/step-10")
    assert isinstance(parsed, wire.ParsedCheckpointTinkerPath)
    assert parsed.to_dict() == {
        "tinker_path": "tinker://run-1/weights/step-10",
        "training_run_id": "run-1",
        "checkpoint_type": "training",
        "checkpoint_id": "weights/step-10",
    }
    assert (parsed.checkpoint_kind, parsed.checkpoint_name) == ("weights", "step-10")
    sampler = types.parse_tinker_path("tinker://run-1/sampler_weights/final")
    assert sampler.checkpoint_type == "sampler"
    assert types.split_checkpoint_id("sampler_weights/final") == ("sampler_weights", "final")
    assert types.make_tinker_path("r", "weights", "n") == "tinker://r/weights/n"


def test_checkpoint_has_kind_and_name() -> None:
    checkpoint = types.Checkpoint(
        checkpoint_id="sampler_weights/s1",
        checkpoint_type="sampler",
        time="2025-01-01T00:00:00Z",
        tinker_path="tinker://r/sampler_weights/s1",
    )
    assert (checkpoint.checkpoint_kind, checkpoint.checkpoint_name) == ("sampler_weights", "s1")


@pytest.mark.parametrize(
    ("path", "match"),
    [
        ("run-1/weights/x", "lacks the tinker:// scheme"),
        ("http://run-1/weights/x", "lacks the tinker:// scheme"),
        ("tinker://run-1/checkpoints/x", "not 'weights' or 'sampler_weights'"),
        ("tinker:///weights/x", "training run id is empty"),
        ("tinker://run-1/weights/", "checkpoint name is empty"),
        ("tinker://run-1/weights/x/y", "too many segments"),
        ("tinker://run-1/weights", "too few segments"),
    ],
)
def test_malformed_tinker_paths(path: str, match: str) -> None:
    with raises("tinker_path", match):
        types.parse_tinker_path(path)


@pytest.mark.parametrize("checkpoint_id", ["weights", "weights/a/b", "optimizer/a", "weights/"])
def test_malformed_checkpoint_ids(checkpoint_id: str) -> None:
    with raises("checkpoint_id"):
        types.split_checkpoint_id(checkpoint_id)


# ----- validate_datums ------------------------------------------------------------------------
def test_valid_batches_pass_and_come_back_as_a_list() -> None:
    data = (sft_datum(), sft_datum(4))
    assert types.validate_datums(data, loss_fn="cross_entropy") == list(data)
    rl = types.Datum(
        model_input=types.ModelInput.from_ints([1, 2]),
        loss_fn_inputs={"target_tokens": [2, 3], "logprobs": [-1.0, -2.0], "advantages": [1, 1]},
    )
    for loss_fn in ["importance_sampling", "ppo", "cispo", "dro"]:
        types.validate_datums([rl], loss_fn=loss_fn)


def test_numpy_int_tokens_are_accepted() -> None:
    mi = types.ModelInput(chunks=[types.EncodedTextChunk(tokens=[np.int64(1), np.int32(2)])])
    types.validate_model_input(mi)


def make(tokens: list, **inputs: object) -> types.Datum:
    return types.Datum(model_input=types.ModelInput.from_ints(tokens), loss_fn_inputs=inputs)


@pytest.mark.parametrize(
    ("data", "loss_fn", "field", "match"),
    [
        ([], None, "data", "non-empty list"),
        ("abc", None, "data", "non-empty list of Datum"),
        ([{"model_input": {}}], None, "data[0]", "expected a Datum"),
        ([make([1, 2], target_tokens=[2, 3])], "sft", "loss_fn", "unknown loss function 'sft'"),
        (
            [make([1, 2], target_tokens=[2])],
            None,
            "data[0].loss_fn_inputs.target_tokens",
            "expected 2 values",
        ),
        (
            [make([1, 2], target_tokens=[2, 3], weights=[1.0])],
            None,
            "data[0].loss_fn_inputs.weights",
            "one per model_input token",
        ),
        (
            [make([1, 2], weights=[1.0, 1.0])],
            "cross_entropy",
            "data[0].loss_fn_inputs.target_tokens",
            "missing",
        ),
        (
            [make([1], target_tokens=[2])],
            "ppo",
            "data[0].loss_fn_inputs.logprobs",
            "needs target_tokens, logprobs, advantages",
        ),
        (
            [make([1, -2], target_tokens=[2, 3])],
            None,
            "data[0].model_input.chunks[0].tokens[1]",
            ">= 0",
        ),
        (
            [make([1, 2.0], target_tokens=[2, 3])],
            None,
            "data[0].model_input.chunks[0].tokens[1]",
            "got float",
        ),
        (
            [make([True], target_tokens=[2])],
            None,
            "data[0].model_input.chunks[0].tokens[0]",
            "got bool",
        ),
        ([make([], target_tokens=[])], None, "data[0].model_input", "must not be empty"),
        (
            [make([1], target_tokens=[-1])],
            None,
            "data[0].loss_fn_inputs.target_tokens.data[0]",
            ">= 0",
        ),
        (
            [make([1], target_tokens=np.array([2.0]))],
            None,
            "data[0].loss_fn_inputs.target_tokens.dtype",
            "int64",
        ),
        (
            [make([1], weights=[float("nan")])],
            None,
            "data[0].loss_fn_inputs.weights.data[0]",
            "finite",
        ),
        (
            [make([1], weights=[None])],
            None,
            "data[0].loss_fn_inputs.weights.data[0]",
            "expected a number",
        ),
        (
            [make([1], weights=[[1.0]])],
            None,
            "data[0].loss_fn_inputs.weights.data[0]",
            "expected a number",
        ),
    ],
)
def test_invalid_batches_name_the_field(
    data: list, loss_fn: str | None, field: str, match: str
) -> None:
    with raises(field, match):
        types.validate_datums(data, loss_fn=loss_fn)


def test_per_token_inputs_may_hold_k_values_per_token() -> None:
    # cross_entropy's top-K form: [N, K] target_tokens and weights (N = model_input length).
    targets = types.TensorData(data=[2, 5, 3, 6], dtype="int64", shape=[2, 2])
    weights = types.TensorData(data=[0.5, 0.5, 1.0, 0.0], dtype="float32", shape=[2, 2])
    types.validate_datums([make([1, 2], target_tokens=targets, weights=weights)], "cross_entropy")
    wrong = types.TensorData(data=[2, 5, 3, 6, 1, 1], dtype="int64", shape=[3, 2])
    with pytest.raises(ValidationError, match=r"or shape \[2, K\].*got shape \[3, 2\]") as info:
        types.validate_datums([make([1, 2], target_tokens=wrong)], "cross_entropy")
    assert info.value.field == "data[0].loss_fn_inputs.target_tokens"


def test_tensor_shape_must_match_data() -> None:
    datum = make([1], extra=types.TensorData(data=[1.0, 2.0, 3.0], dtype="float32", shape=[2, 2]))
    with raises("data[0].loss_fn_inputs.extra.data", r"shape \[2, 2\] needs 4 values, got 3"):
        types.validate_datums([datum])
    datum = make([1], extra=types.TensorData(data=[1.0], dtype="float32", shape=[-1]))
    with raises("data[0].loss_fn_inputs.extra.shape", "ints >= 0"):
        types.validate_datums([datum])


def test_tensor_dtype_and_data_kind() -> None:
    with raises("t.dtype", "'int64' or 'float32'"):
        types.validate_tensor_data(types.TensorData(data=[1], dtype="bfloat16"), "t")
    # A numpy array is copied into a list when given, as the official TensorData does.
    from_array = types.TensorData(data=np.array([1.0]), dtype="float32")
    assert from_array.data == [1.0] and type(from_array.data) is list
    types.validate_tensor_data(from_array, "t")
    with raises("t.data", "expected a flat list"):
        types.validate_tensor_data(types.TensorData(data={1.0}, dtype="float32"), "t")  # type: ignore[arg-type]
    with raises("t.data[0]", "expected an int64 value"):
        types.validate_tensor_data(types.TensorData(data=[1.5], dtype="int64"), "t")
    with raises("t.data[0]", "<= 9223372036854775807"):
        types.validate_tensor_data(types.TensorData(data=[2**63], dtype="int64"), "t")
    with raises("t", "expected TensorData"):
        types.validate_tensor_data([1.0], "t")


def test_loss_fn_inputs_must_be_converted() -> None:
    raw = wire.Datum(
        model_input=types.ModelInput.from_ints([1]),
        loss_fn_inputs={"weights": [1.0]},  # the generated class does not convert
    )
    with raises("data[0].loss_fn_inputs", "tinker_hl.types.Datum converts a dict"):
        types.validate_datums([raw])


def test_unknown_image_lengths_skip_the_per_token_check() -> None:
    mi = types.ModelInput.from_ints([1]).append(types.ImageChunk.from_bytes(b"x", "png"))
    datum = types.Datum(model_input=mi, loss_fn_inputs={"target_tokens": [2, 3, 4]})
    types.validate_datums([datum])


# ----- validate_model_input -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("model_input", "field", "match"),
    [
        ([1, 2, 3], "prompt", "expected a ModelInput"),
        (types.ModelInput.empty(), "prompt", "must not be empty"),
        (types.ModelInput.from_ints([]), "prompt", "must not be empty"),
        (types.ModelInput(chunks=[[1, 2]]), "prompt.chunks[0]", "unknown chunk type list"),
        (
            types.ModelInput(chunks=[types.EncodedTextChunk(tokens=(1, 2))]),
            "prompt.chunks[0].tokens",
            "expected a list",
        ),
        (
            types.ModelInput(chunks=[types.EncodedTextChunk(tokens=[1], type_="image")]),
            "prompt.chunks[0].type",
            "'encoded_text'",
        ),
        (
            types.ModelInput(chunks=[types.ImageChunk(data=b"", format_="png")]),
            "prompt.chunks[0].data",
            "non-empty bytes",
        ),
        (
            types.ModelInput(chunks=[types.ImageChunk(data="!!", format_="png")]),
            "prompt.chunks[0].data",
            "valid base64",
        ),
        (
            types.ModelInput(chunks=[types.ImageChunk(data="AAAA", format_="gif")]),
            "prompt.chunks[0].format",
            "'png' or 'jpeg'",
        ),
        (
            types.ModelInput(
                chunks=[types.ImageChunk(data="AAAA", format_="png", expected_tokens=-1)]
            ),
            "prompt.chunks[0].expected_tokens",
            "int >= 0",
        ),
        (
            types.ModelInput(chunks=[types.ImageAssetPointerChunk(format_="png", location="")]),
            "prompt.chunks[0].location",
            "non-empty",
        ),
    ],
)
def test_invalid_model_inputs(model_input: object, field: str, match: str) -> None:
    with raises(field, match):
        types.validate_model_input(model_input, "prompt")


def test_empty_model_input_allowed_when_asked() -> None:
    types.validate_model_input(types.ModelInput.empty(), allow_empty=True)


# ----- validate_sampling_params ---------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"max_tokens": 1, "temperature": 0, "top_p": 1, "top_k": -1},
        {"max_tokens": None, "seed": 3, "top_k": 5, "top_p": 0.01},
        {"stop": "\n"},
        {"stop": []},
        {"stop": [13, 0]},
        {"stop": ["a", "bc"]},
    ],
)
def test_valid_sampling_params(kwargs: dict) -> None:
    types.validate_sampling_params(types.SamplingParams(**kwargs))


@pytest.mark.parametrize(
    ("kwargs", "field", "match"),
    [
        ({"max_tokens": 0}, "max_tokens", "int >= 1"),
        ({"max_tokens": 2.5}, "max_tokens", "int >= 1"),
        ({"max_tokens": True}, "max_tokens", "int >= 1"),
        ({"temperature": -0.1}, "temperature", "0 <= temperature"),
        ({"temperature": float("inf")}, "temperature", "finite"),
        ({"temperature": None}, "temperature", "finite number"),
        ({"top_p": 0}, "top_p", "0 < top_p <= 1"),
        ({"top_p": 1.5}, "top_p", "0 < top_p <= 1"),
        ({"top_k": 0}, "top_k", "-1 .no limit. or an int >= 1"),
        ({"top_k": -2}, "top_k", "-1"),
        ({"seed": "7"}, "seed", "int or None"),
        ({"stop": ""}, "stop", "non-empty stop string"),
        ({"stop": ["a", 1]}, "stop", "not a mix"),
        ({"stop": [1, -1]}, "stop[1]", ">= 0"),
        ({"stop": [True]}, "stop[0]", "got bool"),
        ({"stop": ("a",)}, "stop", "got tuple"),
        ({"stop": ["a", ""]}, "stop[1]", "non-empty"),
    ],
)
def test_invalid_sampling_params(kwargs: dict, field: str, match: str) -> None:
    with raises(f"sampling_params.{field}", match):
        types.validate_sampling_params(types.SamplingParams(**kwargs))


def test_sampling_params_must_be_the_class() -> None:
    with raises("sampling_params", "expected SamplingParams, got dict"):
        types.validate_sampling_params({"max_tokens": 3})


# ----- validate_adam_params / validate_lora ---------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "field", "match"),
    [
        ({"learning_rate": -1e-4}, "learning_rate", "0 <= learning_rate"),
        ({"learning_rate": float("nan")}, "learning_rate", "finite"),
        ({"beta1": 1.0}, "beta1", "0 <= beta1 < 1"),
        ({"beta2": -0.1}, "beta2", "0 <= beta2 < 1"),
        ({"eps": 0.0}, "eps", "0 < eps"),
        ({"weight_decay": -1}, "weight_decay", "0 <= weight_decay"),
        ({"grad_clip_norm": -1}, "grad_clip_norm", "0 <= grad_clip_norm"),
        ({"learning_rate": "1e-4"}, "learning_rate", "finite number"),
    ],
)
def test_invalid_adam_params(kwargs: dict, field: str, match: str) -> None:
    with raises(f"adam_params.{field}", match):
        types.validate_adam_params(types.AdamParams(**kwargs))
    with raises("adam_params", "expected AdamParams"):
        types.validate_adam_params({"learning_rate": 1e-4})


def test_lora_validation() -> None:
    types.validate_lora(32, seed=1)
    types.validate_lora_config(types.LoraConfig(rank=8))
    with raises("rank", "int >= 1"):
        types.validate_lora(0)
    with raises("rank", "int >= 1"):
        types.validate_lora(True)
    with raises("seed", "int or None"):
        types.validate_lora(8, seed=1.5)
    with raises("train_attn", "True or False"):
        types.validate_lora(8, train_attn="yes")
    with raises("train_mlp", "at least one"):
        types.validate_lora(8, train_mlp=False, train_attn=False, train_unembed=False)
    with raises("lora_config.rank"):
        types.validate_lora_config(types.LoraConfig(rank=-3))

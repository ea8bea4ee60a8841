"""Same shapes as the official types: every value the client returns has, field by field, the
Python type the installed official 0.7.0 type gives it (dicts are dicts, lists are lists,
absent optional values are None, timestamps are datetimes), for every wire fixture body that
both decode, and for results of a real session against the local backend."""

from __future__ import annotations

import datetime
import enum
import json
from pathlib import Path
from typing import Any

import pytest

from tinker_hl import types
from tinker_hl.types._shapes import to_official_shape

official_types = pytest.importorskip("tinker.types")
pydantic = pytest.importorskip("pydantic")

FIXTURES = Path(__file__).parent / "wire_fixtures"


def shape_of(value: Any) -> str:
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str | enum.Enum):
        return "str"
    if isinstance(value, datetime.datetime):
        return "datetime"
    if isinstance(value, bytes):
        return "bytes"
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, dict):
        return "dict"
    return "object"


def differences(ours: Any, theirs: Any, where: str) -> list[str]:
    """Where `ours` and `theirs` differ in shape, following models, lists and dicts."""
    if isinstance(theirs, pydantic.BaseModel):
        out = []
        for name in type(theirs).model_fields:
            attr = name if hasattr(ours, name) else f"{name}_"  # type -> type_, format -> format_
            if not hasattr(ours, attr):
                out.append(f"{where}.{name}: missing")
                continue
            out += differences(getattr(ours, attr), getattr(theirs, name), f"{where}.{name}")
        return out
    if shape_of(ours) != shape_of(theirs):
        return [f"{where}: {shape_of(ours)} ({type(ours).__name__}) != {shape_of(theirs)}"]
    if isinstance(theirs, list):
        return [
            d
            for i, (a, b) in enumerate(zip(ours, theirs, strict=False))
            for d in differences(a, b, f"{where}[{i}]")
        ]
    if isinstance(theirs, dict):
        return [d for k in theirs for d in differences(ours.get(k), theirs[k], f"{where}[{k!r}]")]
    return []


def _pairs() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(FIXTURES.glob("*.json")):
        name = path.name.split(".")[0]
        if hasattr(official_types, name) and hasattr(types, name):
            theirs = getattr(official_types, name)
            if isinstance(theirs, type) and issubclass(theirs, pydantic.BaseModel):
                out.append((name, path))
    return out


PAIRS = _pairs()


def test_the_fixtures_cover_the_public_result_types() -> None:
    names = {name for name, _ in PAIRS}
    for wanted in ("TrainingRun", "Checkpoint", "ForwardBackwardOutput", "SampleResponse"):
        assert wanted in names
    assert len(names) > 30


@pytest.mark.parametrize(("name", "path"), PAIRS, ids=[p.name for _, p in PAIRS])
def test_decoded_values_have_the_official_shapes(name: str, path: Path) -> None:
    body = json.loads(path.read_text())
    theirs = getattr(official_types, name).model_validate(body)
    ours = to_official_shape(getattr(types, name).from_dict(body))
    assert differences(ours, theirs, name) == []


def test_user_metadata_is_a_plain_dict() -> None:
    body = json.loads((FIXTURES / "TrainingRun.full.json").read_text())
    run = to_official_shape(types.TrainingRun.from_dict(body))
    assert type(run.user_metadata) is not dict and isinstance(run.user_metadata, dict)
    assert run.user_metadata.get("key") == "user_metadata-example"
    assert json.loads(json.dumps(run.user_metadata)) == {"key": "user_metadata-example"}
    assert run.to_dict()["user_metadata"] == {"key": "user_metadata-example"}  # still encodes


# ----- types the caller builds ----------------------------------------------------------------
# (type name, keyword arguments as written for the official SDK). Each is built with the same
# arguments through tinker_hl and through the installed official 0.7.0 types.
CONSTRUCTED: list[tuple[str, dict[str, Any]]] = [
    ("SamplingParams", {}),
    ("SamplingParams", {"max_tokens": 5, "stop": ["\n"], "temperature": 0.5}),
    ("AdamParams", {}),
    ("AdamParams", {"learning_rate": 1e-4, "beta1": 0.8}),
    ("LoraConfig", {"rank": 4}),
    ("EncodedTextChunk", {"tokens": [1, 2, 3]}),
    ("ImageChunk", {"data": b"\x89PNG", "format": "png"}),
    ("ImageChunk", {"data": b"\xff\xd8", "format": "jpeg", "expected_tokens": 4}),
    ("ImageAssetPointerChunk", {"location": "s3://b/x.png", "format": "png"}),
    ("TensorData", {"data": [1.0, 2.0], "dtype": "float32"}),
    ("TensorData", {"data": [1, 2, 3, 4], "dtype": "int64", "shape": [2, 2]}),
    ("ModelInput", {"chunks": []}),
]


def _build(module: Any, name: str, kwargs: dict[str, Any]) -> Any:
    return getattr(module, name)(**kwargs)


@pytest.mark.parametrize(
    ("name", "kwargs"), CONSTRUCTED, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CONSTRUCTED)]
)
def test_constructed_values_have_the_official_shapes(name: str, kwargs: dict[str, Any]) -> None:
    ours, theirs = _build(types, name, kwargs), _build(official_types, name, kwargs)
    assert differences(ours, theirs, name) == []


def test_constructed_datums_and_model_inputs_have_the_official_shapes() -> None:
    np = pytest.importorskip("numpy")

    def datum(module: Any) -> Any:
        return module.Datum(
            model_input=module.ModelInput.from_ints([1, 2, 3]),
            loss_fn_inputs={
                "target_tokens": [2, 3, 4],
                "weights": np.array([0.0, 1.0, 1.0], dtype=np.float32),
                "advantages": module.TensorData(data=[0.5, 0.5, 0.5], dtype="float32"),
            },
        )

    ours, theirs = datum(types), datum(official_types)
    assert differences(ours, theirs, "Datum") == []
    assert type(ours.loss_fn_inputs) is not types.LossFnInputs
    assert isinstance(ours.loss_fn_inputs, dict)
    array = np.arange(6, dtype=np.int64).reshape(2, 3)
    assert (
        differences(
            types.TensorData.from_numpy(array),
            official_types.TensorData.from_numpy(array),
            "TensorData",
        )
        == []
    )
    chunk = types.ImageChunk(data=b"\x89PNG", format="png")
    assert chunk.data == b"\x89PNG" and chunk.format == "png" and chunk.expected_tokens is None
    assert chunk.to_dict() == {"data": "iVBORw==", "format": "png", "type": "image"}
    assert types.ImageChunk.from_dict(chunk.to_dict()) == chunk


def test_left_out_optional_values_stay_off_the_wire() -> None:
    # None where the caller left a value out (the official default), and still absent on the wire
    # (as the official SDK sends only what was set).
    params = types.SamplingParams(max_tokens=8)
    assert params.seed is None and params.stop is None
    assert params.to_dict() == {"max_tokens": 8, "temperature": 1.0, "top_k": -1, "top_p": 1.0}
    assert types.SamplingParams.from_dict(params.to_dict()) == params
    assert "shape" not in types.TensorData(data=[1.0], dtype="float32").to_dict()

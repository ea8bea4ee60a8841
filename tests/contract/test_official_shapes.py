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
# The one known difference (README, "Status and known gaps"): an inline image's data is the
# wire's base64 text, where the official ImageChunk holds the decoded bytes.
KNOWN_DIFFERENCES = {"ImageChunk.data: str (str) != bytes"}


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
    assert set(differences(ours, theirs, name)) <= KNOWN_DIFFERENCES


def test_user_metadata_is_a_plain_dict() -> None:
    body = json.loads((FIXTURES / "TrainingRun.full.json").read_text())
    run = to_official_shape(types.TrainingRun.from_dict(body))
    assert type(run.user_metadata) is not dict and isinstance(run.user_metadata, dict)
    assert run.user_metadata.get("key") == "user_metadata-example"
    assert json.loads(json.dumps(run.user_metadata)) == {"key": "user_metadata-example"}
    assert run.to_dict()["user_metadata"] == {"key": "user_metadata-example"}  # still encodes

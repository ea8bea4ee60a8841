"""Our tinker_public.proto against the official SDK's compiled descriptor: the same package,
messages, field names, numbers, types and labels (the bytes on the wire depend on nothing
else). The official descriptor is read from the serialized blob in its tinker_public_pb2.py,
without importing it (both would claim the same names in protobuf's default pool)."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import descriptor_pb2

ROOT = Path(__file__).resolve().parents[2]
# Each SDK version's messages must be a subset of ours (0.38 has them all).
OFFICIAL = ["0.22.7", "0.30.4", "0.38.0"]


def official_descriptor(version: str) -> descriptor_pb2.FileDescriptorProto:
    source = ROOT / ".sdk" / f"tinker-{version}" / "tinker" / "proto" / "tinker_public_pb2.py"
    if not source.exists():
        pytest.fail(f"{source} is missing: `make install` installs every tested SDK version")
    blob = re.search(r"AddSerializedFile\((b'.*?')\)\n", source.read_text(), re.S)
    assert blob is not None
    return descriptor_pb2.FileDescriptorProto.FromString(ast.literal_eval(blob.group(1)))


def ours() -> descriptor_pb2.FileDescriptorProto:
    from tinker_proto import tinker_public_pb2

    proto = descriptor_pb2.FileDescriptorProto()
    tinker_public_pb2.DESCRIPTOR.CopyToProto(proto)
    return proto


def wire_shape(proto: descriptor_pb2.FileDescriptorProto) -> dict[tuple[str, int], Any]:
    """(message, field number) -> (name, type, label); (enum, number) -> name. Message type
    names are left out: 0.22's TopkPromptLogprobs is 0.38's TopkLogprobs, byte for byte."""
    out: dict[tuple[str, int], Any] = {}

    def walk(message: Any, prefix: str) -> None:
        for f in message.field:
            out[(prefix + message.name, f.number)] = (f.name, f.type, f.label)
        for nested in message.nested_type:
            walk(nested, prefix + message.name + ".")

    for message in proto.message_type:
        walk(message, "")
    for enum in proto.enum_type:
        for value in enum.value:
            out[(enum.name, value.number)] = value.name
    return out


def test_the_latest_official_descriptor_is_ours_exactly() -> None:
    official, mine = official_descriptor("0.38.0"), ours()
    assert mine.package == official.package == "tinker_public"
    assert mine.name == official.name

    def full(proto: descriptor_pb2.FileDescriptorProto) -> dict[Any, Any]:
        shape = wire_shape(proto)
        for message in proto.message_type:  # here type names and proto3 optional too
            for f in message.field:
                shape[(message.name, f.number, "detail")] = (f.type_name, f.proto3_optional)
        return shape

    assert full(mine) == full(official)


@pytest.mark.parametrize("version", OFFICIAL)
def test_every_official_field_has_our_number(version: str) -> None:
    theirs, mine = wire_shape(official_descriptor(version)), wire_shape(ours())
    renamed = {("TopkPromptLogprobs", 4): ("TopkLogprobs", 4)}  # prompt_length -> length
    for key, shape in theirs.items():
        message = key[0].replace("TopkPromptLogprobs", "TopkLogprobs")
        mapped = renamed.get(key, (message, key[1]))
        assert mapped in mine, f"{version}: {key} {shape} missing from tinker_public.proto"
        if key not in renamed and not isinstance(shape, str) and shape[0] != "seed":
            assert mine[mapped] == shape, f"{version}: {key}: {shape} != {mine[mapped]}"

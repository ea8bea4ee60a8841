"""Attach the research-code conveniences to the generated wire classes.

Why attach instead of subclassing: the generated models ARE the wire types. Results are decoded by
the generated `from_dict` functions, which build the generated classes (for example the TensorData
in `ForwardBackwardOutput.loss_fn_outputs[i]["logprobs"]`), so a convenience defined on a subclass
would be missing exactly where research code needs it. `generated/` is never edited by hand (it is
regenerated from openapi.yaml), so the methods are added here, once, explicitly, when
`tinker_hl.types` is imported. Every method is a thin wrapper over a plain typed function
(`model_input_from_ints`, `tensor_to_numpy`, ...) that the handwritten client calls directly.

`install()` is idempotent. It only adds attributes that the generated classes do not define
(checked, so a regenerated model that gains a same-named field fails loudly here).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy.typing as npt
from tinker_api_client.models import (
    Checkpoint,
    EncodedTextChunk,
    ImageAssetPointerChunk,
    ImageChunk,
    LossFnInputs,
    LossFnOutput,
    Metrics,
    ModelInput,
    ParsedCheckpointTinkerPath,
    TensorData,
)

from . import _model_input as mi
from . import _paths, _tensor

__all__ = ["install"]


# ----- ModelInput and chunks ----------------------------------------------------------------------
def _from_ints(cls: type[Any], tokens: Any) -> Any:
    built = mi.model_input_from_ints(tokens)
    return built if cls is ModelInput else cls(chunks=built.chunks)


def _empty(cls: type[Any]) -> Any:
    return cls(chunks=[])


def _chunk_type(kind: str) -> property:
    return property(lambda self: kind, doc=f"The chunk's `type` literal, {kind!r}.")


def _format(self: Any) -> str:
    return str(self.format_)


def _image_from_bytes(
    cls: type[Any], data: bytes, format: str, expected_tokens: int | None = None
) -> Any:
    return mi.image_chunk_from_bytes(data, format, expected_tokens)


# ----- TensorData ---------------------------------------------------------------------------------
def _from_numpy(cls: type[Any], array: npt.NDArray[Any]) -> TensorData:
    return _tensor.tensor_from_numpy(array)


def _from_torch(cls: type[Any], tensor: Any) -> TensorData:
    return _tensor.tensor_from_torch(tensor)


# ----- dict-like string-keyed maps (LossFnInputs, LossFnOutput, Metrics) ------------------------
def _keys(self: Any) -> Any:
    return self.additional_properties.keys()


def _values(self: Any) -> Any:
    return self.additional_properties.values()


def _items(self: Any) -> Any:
    return self.additional_properties.items()


def _get(self: Any, key: str, default: Any = None) -> Any:
    return self.additional_properties.get(key, default)


def _iter(self: Any) -> Iterator[str]:
    return iter(self.additional_properties)


def _len(self: Any) -> int:
    return len(self.additional_properties)


# ----- checkpoints ------------------------------------------------------------------------------
def _from_tinker_path(cls: type[Any], tinker_path: str) -> ParsedCheckpointTinkerPath:
    return _paths.parse_tinker_path(tinker_path)


def _checkpoint_kind(self: Any) -> str:
    return _paths.split_checkpoint_id(self.checkpoint_id)[0]


def _checkpoint_name(self: Any) -> str:
    return _paths.split_checkpoint_id(self.checkpoint_id)[1]


_ATTACHED: set[tuple[type, str]] = set()


def _attach_all(cls: type, members: dict[str, Any]) -> None:
    for name, value in members.items():
        if (cls, name) in _ATTACHED:
            continue
        if name in cls.__dict__:
            raise RuntimeError(
                f"generated {cls.__name__} already defines {name!r}: rename the convenience"
            )
        setattr(cls, name, value)
        _ATTACHED.add((cls, name))


def install() -> None:
    """Add the conveniences to the generated classes (idempotent)."""
    _attach_all(
        ModelInput,
        {
            "from_ints": classmethod(_from_ints),
            "empty": classmethod(_empty),
            "to_ints": mi.model_input_to_ints,
            "length": property(mi.model_input_length, doc="Total context length."),
            "append": mi.model_input_append,
            "append_int": mi.model_input_append_int,
        },
    )
    for cls, kind in (
        (EncodedTextChunk, "encoded_text"),
        (ImageChunk, "image"),
        (ImageAssetPointerChunk, "image_asset_pointer"),
    ):
        length = property(mi.chunk_length, doc="Context length.")
        _attach_all(cls, {"length": length, "type": _chunk_type(kind)})
    for cls in (ImageChunk, ImageAssetPointerChunk):
        _attach_all(cls, {"format": property(_format, doc="Alias of `format_`.")})
    _attach_all(
        ImageChunk,
        {"from_bytes": classmethod(_image_from_bytes), "to_bytes": mi.image_chunk_to_bytes},
    )
    _attach_all(
        TensorData,
        {
            "from_numpy": classmethod(_from_numpy),
            "from_torch": classmethod(_from_torch),
            "to_numpy": _tensor.tensor_to_numpy,
            "to_torch": _tensor.tensor_to_torch,
            "tolist": _tensor.tensor_tolist,
        },
    )
    for cls in (LossFnInputs, LossFnOutput, Metrics):
        _attach_all(
            cls,
            {
                "keys": _keys,
                "values": _values,
                "items": _items,
                "get": _get,
                "__iter__": _iter,
                "__len__": _len,
            },
        )
    _attach_all(ParsedCheckpointTinkerPath, {"from_tinker_path": classmethod(_from_tinker_path)})
    for cls in (ParsedCheckpointTinkerPath, Checkpoint):
        _attach_all(
            cls,
            {
                "checkpoint_kind": property(_checkpoint_kind, doc="weights or sampler_weights"),
                "checkpoint_name": property(_checkpoint_name, doc="The checkpoint's name."),
            },
        )

"""The methods research code calls on the wire models (`ModelInput.from_ints`,
`TensorData.to_numpy`, `Checkpoint.checkpoint_name`, ...), as base classes of the generated models.

codegen/generate.py copies this file into the generated package as `conveniences.py`, and the
model template (codegen/templates/model.py.jinja) makes each model named in its table inherit
from the class here: the methods are real, typed and visible to type checkers, and decoded
results (nested ones included) have them, since they are the generated classes themselves.

The work is done by the client (`tinker_hl.types`), which hands its functions to `install` when it
is imported: the generated package imports nothing of the client (the arrows stay
tinker_hl -> tinker_api_client), and the client keeps one implementation of each conversion,
which its own code calls directly.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, ItemsView, Iterable, Iterator, KeysView, ValuesView
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

if TYPE_CHECKING:
    import numpy.typing as npt
    import torch

    from .models.encoded_text_chunk import EncodedTextChunk
    from .models.image_asset_pointer_chunk import ImageAssetPointerChunk
    from .models.image_chunk import ImageChunk
    from .models.model_input import ModelInput
    from .models.parsed_checkpoint_tinker_path import ParsedCheckpointTinkerPath
    from .models.sample_response import SampleResponse
    from .models.sampled_sequence import SampledSequence
    from .models.tensor_data import TensorData

    Chunk = EncodedTextChunk | ImageChunk | ImageAssetPointerChunk

__all__ = [
    "CheckpointMethods",
    "DataclassMethods",
    "EncodedTextChunkMethods",
    "ImageAssetPointerChunkMethods",
    "ImageChunkMethods",
    "Implementation",
    "ModelInputMethods",
    "ParsedCheckpointTinkerPathMethods",
    "SampleResponseMethods",
    "SampledSequenceMethods",
    "StringMapMethods",
    "TensorDataMethods",
    "install",
]


@dataclass(frozen=True)
class Implementation:
    """The client's functions behind the methods."""

    model_input_from_ints: Callable[[Iterable[int]], ModelInput]
    model_input_to_ints: Callable[[ModelInput], list[int]]
    model_input_length: Callable[[ModelInput], int]
    model_input_append: Callable[[ModelInput, Chunk], ModelInput]
    model_input_append_int: Callable[[ModelInput, int], ModelInput]
    chunk_length: Callable[[Chunk], int]
    image_chunk_from_bytes: Callable[[bytes, str, int | None], ImageChunk]
    image_chunk_to_bytes: Callable[[ImageChunk], bytes]
    tensor_from_numpy: Callable[[npt.NDArray[Any]], TensorData]
    tensor_from_torch: Callable[[torch.Tensor], TensorData]
    tensor_from_torch_sparse: Callable[[torch.Tensor, int], TensorData]
    tensor_to_numpy: Callable[[TensorData, int], npt.NDArray[Any]]
    tensor_to_torch: Callable[[TensorData, int], torch.Tensor]
    tensor_tolist: Callable[[TensorData, int], list[Any]]
    sequence_tokens_np: Callable[[SampledSequence], npt.NDArray[Any]]
    sequence_logprobs_np: Callable[[SampledSequence], npt.NDArray[Any] | None]
    prompt_logprobs_np: Callable[[SampleResponse], npt.NDArray[Any] | None]
    sequence_topk_logprobs_np: Callable[[SampledSequence], Any]
    topk_prompt_logprobs_np: Callable[[SampleResponse], Any]
    parse_tinker_path: Callable[[str], ParsedCheckpointTinkerPath]
    split_checkpoint_id: Callable[[str], tuple[str, str]]


_installed: list[Implementation] = []


def install(implementation: Implementation) -> None:
    """Set the functions behind the methods (the client does this when it is imported)."""
    _installed[:] = [implementation]


def _impl() -> Implementation:
    if not _installed:
        raise RuntimeError("these conveniences are the client's: import tinker_hl.types first")
    return _installed[0]


# Fields of the attrs models that the official dataclasses do not have: unknown wire keys
# (`additional_properties`, not a constructor argument) and the wire's `type` literal (always its
# default; the official classes have none).
_NOT_DATACLASS_FIELDS = frozenset({"additional_properties", "type_"})
_DATACLASS_FIELDS: dict[type, dict[str, dataclasses.Field[Any]]] = {}


def _as_dataclass_field(field: attrs.Attribute[Any]) -> tuple[str, Any, dataclasses.Field[Any]]:
    default = field.default
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        spec = dataclasses.field(default_factory=default.factory, kw_only=True)
    elif default is attrs.NOTHING:
        spec = dataclasses.field(kw_only=True)
    else:
        spec = dataclasses.field(default=default, kw_only=True)
    return field.name, field.type or Any, spec


def _dataclass_fields(cls: type) -> dict[str, dataclasses.Field[Any]]:
    # `make_dataclass` builds the Field objects as `@dataclass` does (the stand-in class is
    # dropped), so nothing here depends on the dataclasses module's private names.
    specs = [
        _as_dataclass_field(f)
        for f in attrs.fields(cls)
        if f.init and f.name not in _NOT_DATACLASS_FIELDS
    ]
    stand_in = dataclasses.make_dataclass(cls.__name__, specs)
    return dict(stand_in.__dataclass_fields__)


class _DataclassFields:
    """`__dataclass_fields__` of a model class: its attrs fields as `dataclasses.Field`s,
    worked out on first use, once per class (subclasses included)."""

    def __get__(self, instance: object, owner: type) -> dict[str, dataclasses.Field[Any]]:
        fields = _DATACLASS_FIELDS.get(owner)
        if fields is None:
            fields = _DATACLASS_FIELDS[owner] = _dataclass_fields(owner)
        return fields


class DataclassMethods:
    """The dataclass protocol, for the types the official SDK 0.38 made dataclasses (`Datum`,
    `TensorData`, `SampleResponse`, ...): `dataclasses.fields`, `replace`, `asdict` and
    `is_dataclass` work on them. `replace` builds the copy with the class's own constructor
    (which copies the lists it is given); the instances stay mutable, as 0.7.0's were."""

    __slots__ = ()
    if TYPE_CHECKING:
        __dataclass_fields__: ClassVar[dict[str, dataclasses.Field[Any]]]
    else:
        __dataclass_fields__ = _DataclassFields()


class ModelInputMethods:
    __slots__ = ()

    @classmethod
    def from_ints(cls, tokens: Iterable[int]) -> ModelInput:
        """A ModelInput of one text chunk holding `tokens` (a copy)."""
        built = _impl().model_input_from_ints(tokens)
        return built if type(built) is cls else cls(chunks=built.chunks)  # type: ignore[call-arg]

    @classmethod
    def empty(cls) -> ModelInput:
        """A ModelInput without chunks."""
        return cls(chunks=[])  # type: ignore[call-arg,no-any-return]

    def to_ints(self) -> list[int]:
        """All tokens of a text-only ModelInput (ValidationError if a chunk is not text)."""
        return _impl().model_input_to_ints(self)  # type: ignore[arg-type]

    @property
    def length(self) -> int:
        """Total context length (image chunks count their `expected_tokens`)."""
        return _impl().model_input_length(self)  # type: ignore[arg-type]

    def append(self, chunk: Chunk) -> ModelInput:
        """A new ModelInput with `chunk` added at the end (this one is unchanged)."""
        return _impl().model_input_append(self, chunk)  # type: ignore[arg-type]

    def append_int(self, token: int) -> ModelInput:
        """A new ModelInput with one more text chunk holding `token`."""
        return _impl().model_input_append_int(self, token)  # type: ignore[arg-type]


class _ChunkMethods:
    __slots__ = ()
    _TYPE = ""

    @property
    def length(self) -> int:
        """Context length: the token count, or an image's `expected_tokens`."""
        return _impl().chunk_length(self)  # type: ignore[arg-type]

    @property
    def type(self) -> str:
        """The chunk's `type` literal (the field itself is `type_`)."""
        return self._TYPE


class EncodedTextChunkMethods(_ChunkMethods):
    __slots__ = ()
    _TYPE = "encoded_text"


class _ImageMethods(_ChunkMethods):
    __slots__ = ()
    format_: str

    @property
    def format(self) -> str:
        """The image format, "png" or "jpeg" (the field itself is `format_`)."""
        return str(self.format_)


class ImageChunkMethods(_ImageMethods):
    __slots__ = ()
    _TYPE = "image"

    @classmethod
    def from_bytes(cls, data: bytes, format: str, expected_tokens: int | None = None) -> ImageChunk:
        """An inline image chunk; the wire carries the bytes base64-encoded."""
        return _impl().image_chunk_from_bytes(data, format, expected_tokens)

    def to_bytes(self) -> bytes:
        """The image's bytes."""
        return _impl().image_chunk_to_bytes(self)  # type: ignore[arg-type]


class ImageAssetPointerChunkMethods(_ImageMethods):
    __slots__ = ()
    _TYPE = "image_asset_pointer"


class TensorDataMethods(DataclassMethods):
    __slots__ = ()

    @classmethod
    def from_numpy(cls, array: npt.NDArray[Any]) -> TensorData:
        """A TensorData of the array's values and shape (floats as float32, ints as int64)."""
        return _impl().tensor_from_numpy(array)

    @classmethod
    def from_torch(cls, tensor: torch.Tensor) -> TensorData:
        """A TensorData of the tensor's values and shape (any device; detached)."""
        return _impl().tensor_from_torch(tensor)

    @classmethod
    def from_torch_sparse(cls, tensor: torch.Tensor, pad_value: int = 0) -> TensorData:
        """A 2-D tensor as a sparse CSR TensorData, leaving out the cells equal to `pad_value`
        (an int); dense, as `from_torch`, when not 2-D or when CSR would not be smaller."""
        return _impl().tensor_from_torch_sparse(tensor, pad_value)

    def to_numpy(self, pad_value: int = 0) -> npt.NDArray[Any]:
        """The values as a numpy array (float32 or int64), shaped when a shape is recorded; a
        sparse tensor with `pad_value` in the cells it does not list."""
        return _impl().tensor_to_numpy(self, pad_value)  # type: ignore[arg-type]

    def to_torch(self, pad_value: int = 0) -> torch.Tensor:
        """The values as a torch tensor (float32 or int64), shaped when a shape is recorded; a
        sparse tensor with `pad_value` in the cells it does not list."""
        return _impl().tensor_to_torch(self, pad_value)  # type: ignore[arg-type]

    def tolist(self, pad_value: int = 0) -> list[Any]:
        """The values as (nested, when a shape is recorded) Python lists; a sparse tensor with
        `pad_value` in the cells it does not list."""
        return _impl().tensor_tolist(self, pad_value)  # type: ignore[arg-type]


class SampledSequenceMethods(DataclassMethods):
    __slots__ = ()

    @property
    def tokens_np(self) -> npt.NDArray[Any]:
        """The sampled token ids as a 1-D int32 numpy array (a new array of `tokens`)."""
        return _impl().sequence_tokens_np(self)  # type: ignore[arg-type]

    @property
    def logprobs_np(self) -> npt.NDArray[Any] | None:
        """The sampled tokens' logprobs as a 1-D float32 numpy array; None when not returned."""
        return _impl().sequence_logprobs_np(self)  # type: ignore[arg-type]

    @property
    def topk_logprobs_np(self) -> Any:
        """`topk_logprobs` as a `tinker_hl.types.TopkLogprobs` of two (tokens, k) matrices;
        None when not requested."""
        return _impl().sequence_topk_logprobs_np(self)  # type: ignore[arg-type]


class SampleResponseMethods(DataclassMethods):
    __slots__ = ()

    @property
    def prompt_logprobs_np(self) -> npt.NDArray[Any] | None:
        """The prompt logprobs as a 1-D float32 numpy array, NaN where there is none (the first
        token); None when not requested."""
        return _impl().prompt_logprobs_np(self)  # type: ignore[arg-type]

    @property
    def topk_prompt_logprobs_np(self) -> Any:
        """`topk_prompt_logprobs` as a `tinker_hl.types.TopkLogprobs` of two (prompt length, k)
        matrices; None when not requested."""
        return _impl().topk_prompt_logprobs_np(self)  # type: ignore[arg-type]


class StringMapMethods:
    """Dict-style reading of a string-keyed map model (`keys`, `items`, `get`, `len`, ...)."""

    __slots__ = ()
    additional_properties: dict[str, Any]

    def keys(self) -> KeysView[str]:
        return self.additional_properties.keys()

    def values(self) -> ValuesView[Any]:
        return self.additional_properties.values()

    def items(self) -> ItemsView[str, Any]:
        return self.additional_properties.items()

    def get(self, key: str, default: Any = None) -> Any:
        return self.additional_properties.get(key, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self.additional_properties)

    def __len__(self) -> int:
        return len(self.additional_properties)


class _CheckpointIdMethods:
    __slots__ = ()
    checkpoint_id: str

    @property
    def checkpoint_kind(self) -> str:
        """ "weights" or "sampler_weights" (the first part of `checkpoint_id`)."""
        return _impl().split_checkpoint_id(self.checkpoint_id)[0]

    @property
    def checkpoint_name(self) -> str:
        """The checkpoint's name (the second part of `checkpoint_id`)."""
        return _impl().split_checkpoint_id(self.checkpoint_id)[1]


class ParsedCheckpointTinkerPathMethods(_CheckpointIdMethods):
    __slots__ = ()

    @classmethod
    def from_tinker_path(cls, tinker_path: str) -> ParsedCheckpointTinkerPath:
        """Parse `tinker://<training_run_id>/<weights|sampler_weights>/<name>`."""
        return _impl().parse_tinker_path(tinker_path)


class CheckpointMethods(_CheckpointIdMethods):
    __slots__ = ()

"""ModelInput and chunk conveniences, as plain typed functions."""

from __future__ import annotations

import base64
from collections.abc import Iterable
from typing import Any, TypeAlias

import numpy as np
from tinker_api_client.models import (
    EncodedTextChunk,
    ImageAssetPointerChunk,
    ImageChunk,
    ModelInput,
)
from tinker_api_client.types import Unset

from .._exceptions import ValidationError
from ._copying import build
from ._number_lists import python_numbers

__all__ = [
    "ModelInputChunk",
    "chunk_length",
    "image_chunk_from_bytes",
    "image_chunk_to_bytes",
    "model_input_append",
    "model_input_append_int",
    "model_input_empty",
    "model_input_from_ints",
    "model_input_length",
    "model_input_to_ints",
    "token_list",
]

ModelInputChunk: TypeAlias = EncodedTextChunk | ImageAssetPointerChunk | ImageChunk
"""One chunk of model input: text tokens, an inline image or an image by reference."""

CHUNK_TYPES: tuple[type, ...] = (EncodedTextChunk, ImageChunk, ImageAssetPointerChunk)


def token_list(values: Iterable[Any]) -> list[Any]:
    """Values as a plain list of Python numbers: numpy arrays and numpy scalars are converted.

    Anything else is kept as is, for validation to report with its position. The result is
    always a new list (value semantics: the caller may reuse its own): a list without numpy
    scalars (checked in one C-speed pass: this runs for every list of every Datum) is copied
    at C speed.
    """
    if isinstance(values, np.ndarray):
        out: list[Any] = values.ravel().tolist()
        return out
    if isinstance(values, list):
        return python_numbers(values)
    return python_numbers(list(values), owned=True)  # (a tuple, range, generator: one copy)


def model_input_from_ints(tokens: Iterable[int]) -> ModelInput:
    """A ModelInput of one text chunk holding `tokens`."""
    # token_list made a new list: built without a second copy (the hot path of every Datum).
    return build(ModelInput, chunks=[build(EncodedTextChunk, tokens=token_list(tokens))])


def model_input_empty() -> ModelInput:
    return ModelInput(chunks=[])


def model_input_to_ints(model_input: ModelInput) -> list[int]:
    """All tokens of a text-only ModelInput; ValidationError if a chunk is not text."""
    out: list[int] = []
    for i, chunk in enumerate(model_input.chunks):
        if not isinstance(chunk, EncodedTextChunk):
            raise ValidationError(
                f"model_input.chunks[{i}]",
                f"to_ints needs text chunks only, got {type(chunk).__name__}",
            )
        out.extend(chunk.tokens)
    return out


def chunk_length(chunk: ModelInputChunk, field: str = "chunk") -> int:
    """Context length of a chunk: its token count, or an image's `expected_tokens`."""
    if isinstance(chunk, EncodedTextChunk):
        return len(chunk.tokens)
    if isinstance(chunk, ImageChunk | ImageAssetPointerChunk):
        expected = chunk.expected_tokens
        if isinstance(expected, Unset) or expected is None:
            raise ValidationError(
                f"{field}.expected_tokens",
                f"{type(chunk).__name__}.expected_tokens must be set to compute the length",
            )
        return int(expected)
    raise ValidationError(field, f"not a model input chunk: {type(chunk).__name__}")


def model_input_length(model_input: ModelInput) -> int:
    """Total context length (image chunks count their `expected_tokens`)."""
    return sum(
        chunk_length(c, f"model_input.chunks[{i}]") for i, c in enumerate(model_input.chunks)
    )


def model_input_append(model_input: ModelInput, chunk: ModelInputChunk) -> ModelInput:
    """A new ModelInput with `chunk` added at the end (the original is unchanged)."""
    return ModelInput(chunks=[*model_input.chunks, chunk])


def model_input_append_int(model_input: ModelInput, token: int) -> ModelInput:
    """A new ModelInput with one more text chunk holding `token`."""
    return model_input_append(model_input, EncodedTextChunk(tokens=token_list([token])))


def image_chunk_from_bytes(
    data: bytes, format: str, expected_tokens: int | None = None
) -> ImageChunk:
    """An inline image chunk; the wire carries the bytes base64-encoded."""
    kwargs: dict[str, Any] = {}
    if expected_tokens is not None:
        kwargs["expected_tokens"] = expected_tokens
    return ImageChunk(data=data, format_=format, **kwargs)


def image_chunk_to_bytes(chunk: ImageChunk) -> bytes:
    data: object = chunk.data
    return data if isinstance(data, bytes) else base64.b64decode(chunk.data)

from typing import Literal

EncodedTextChunkType = Literal["encoded_text"]

ENCODED_TEXT_CHUNK_TYPE_VALUES: set[EncodedTextChunkType] = {
    "encoded_text",
}


def check_encoded_text_chunk_type(value: str) -> EncodedTextChunkType:
    if value in ENCODED_TEXT_CHUNK_TYPE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {ENCODED_TEXT_CHUNK_TYPE_VALUES!r}"
    )

from typing import Literal

ImageChunkType = Literal["image"]

IMAGE_CHUNK_TYPE_VALUES: set[ImageChunkType] = {
    "image",
}


def check_image_chunk_type(value: str) -> ImageChunkType:
    if value in IMAGE_CHUNK_TYPE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {IMAGE_CHUNK_TYPE_VALUES!r}"
    )

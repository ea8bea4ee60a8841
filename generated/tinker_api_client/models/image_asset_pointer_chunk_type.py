from typing import Literal

ImageAssetPointerChunkType = Literal["image_asset_pointer"]

IMAGE_ASSET_POINTER_CHUNK_TYPE_VALUES: set[ImageAssetPointerChunkType] = {
    "image_asset_pointer",
}


def check_image_asset_pointer_chunk_type(value: str) -> ImageAssetPointerChunkType:
    if value in IMAGE_ASSET_POINTER_CHUNK_TYPE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {IMAGE_ASSET_POINTER_CHUNK_TYPE_VALUES!r}"
    )

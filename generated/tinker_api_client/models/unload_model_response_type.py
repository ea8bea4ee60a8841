from typing import Literal

UnloadModelResponseType = Literal["unload_model"]

UNLOAD_MODEL_RESPONSE_TYPE_VALUES: set[UnloadModelResponseType] = {
    "unload_model",
}


def check_unload_model_response_type(value: str) -> UnloadModelResponseType:
    if value in UNLOAD_MODEL_RESPONSE_TYPE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {UNLOAD_MODEL_RESPONSE_TYPE_VALUES!r}"
    )

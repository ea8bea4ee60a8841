from typing import Literal

UnloadModelRequestType = Literal["unload_model"]

UNLOAD_MODEL_REQUEST_TYPE_VALUES: set[UnloadModelRequestType] = {
    "unload_model",
}


def check_unload_model_request_type(value: str) -> UnloadModelRequestType:
    if value in UNLOAD_MODEL_REQUEST_TYPE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {UNLOAD_MODEL_REQUEST_TYPE_VALUES!r}"
    )

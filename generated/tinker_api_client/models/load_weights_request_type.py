from typing import Literal

LoadWeightsRequestType = Literal["load_weights"]

LOAD_WEIGHTS_REQUEST_TYPE_VALUES: set[LoadWeightsRequestType] = {
    "load_weights",
}


def check_load_weights_request_type(value: str) -> LoadWeightsRequestType:
    if value in LOAD_WEIGHTS_REQUEST_TYPE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {LOAD_WEIGHTS_REQUEST_TYPE_VALUES!r}"
    )

from typing import Literal

LoadWeightsResponseType = Literal["load_weights"]

LOAD_WEIGHTS_RESPONSE_TYPE_VALUES: set[LoadWeightsResponseType] = {
    "load_weights",
}


def check_load_weights_response_type(value: str) -> LoadWeightsResponseType:
    if value in LOAD_WEIGHTS_RESPONSE_TYPE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {LOAD_WEIGHTS_RESPONSE_TYPE_VALUES!r}"
    )

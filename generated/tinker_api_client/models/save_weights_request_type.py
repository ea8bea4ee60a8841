from typing import Literal

SaveWeightsRequestType = Literal["save_weights"]

SAVE_WEIGHTS_REQUEST_TYPE_VALUES: set[SaveWeightsRequestType] = {
    "save_weights",
}


def check_save_weights_request_type(value: str) -> SaveWeightsRequestType:
    if value in SAVE_WEIGHTS_REQUEST_TYPE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {SAVE_WEIGHTS_REQUEST_TYPE_VALUES!r}"
    )

from typing import Literal

SaveWeightsResponseType = Literal["save_weights"]

SAVE_WEIGHTS_RESPONSE_TYPE_VALUES: set[SaveWeightsResponseType] = {
    "save_weights",
}


def check_save_weights_response_type(value: str) -> SaveWeightsResponseType:
    if value in SAVE_WEIGHTS_RESPONSE_TYPE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {SAVE_WEIGHTS_RESPONSE_TYPE_VALUES!r}"
    )

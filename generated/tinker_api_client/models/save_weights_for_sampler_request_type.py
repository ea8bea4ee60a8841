from typing import Literal

SaveWeightsForSamplerRequestType = Literal["save_weights_for_sampler"]

SAVE_WEIGHTS_FOR_SAMPLER_REQUEST_TYPE_VALUES: set[SaveWeightsForSamplerRequestType] = {
    "save_weights_for_sampler",
}


def check_save_weights_for_sampler_request_type(
    value: str,
) -> SaveWeightsForSamplerRequestType:
    if value in SAVE_WEIGHTS_FOR_SAMPLER_REQUEST_TYPE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {SAVE_WEIGHTS_FOR_SAMPLER_REQUEST_TYPE_VALUES!r}"
    )

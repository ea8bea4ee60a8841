from typing import Literal

SaveWeightsForSamplerResponseType = Literal["save_weights_for_sampler"]

SAVE_WEIGHTS_FOR_SAMPLER_RESPONSE_TYPE_VALUES: set[
    SaveWeightsForSamplerResponseType
] = {
    "save_weights_for_sampler",
}


def check_save_weights_for_sampler_response_type(
    value: str,
) -> SaveWeightsForSamplerResponseType:
    if value in SAVE_WEIGHTS_FOR_SAMPLER_RESPONSE_TYPE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {SAVE_WEIGHTS_FOR_SAMPLER_RESPONSE_TYPE_VALUES!r}"
    )

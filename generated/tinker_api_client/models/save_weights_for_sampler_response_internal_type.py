from typing import Literal

SaveWeightsForSamplerResponseInternalType = Literal["save_weights_for_sampler"]

SAVE_WEIGHTS_FOR_SAMPLER_RESPONSE_INTERNAL_TYPE_VALUES: set[
    SaveWeightsForSamplerResponseInternalType
] = {
    "save_weights_for_sampler",
}


def check_save_weights_for_sampler_response_internal_type(
    value: str,
) -> SaveWeightsForSamplerResponseInternalType:
    if value in SAVE_WEIGHTS_FOR_SAMPLER_RESPONSE_INTERNAL_TYPE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {SAVE_WEIGHTS_FOR_SAMPLER_RESPONSE_INTERNAL_TYPE_VALUES!r}"
    )

from typing import Literal

SampleResponseType = Literal["sample"]

SAMPLE_RESPONSE_TYPE_VALUES: set[SampleResponseType] = {
    "sample",
}


def check_sample_response_type(value: str) -> SampleResponseType:
    if value in SAMPLE_RESPONSE_TYPE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {SAMPLE_RESPONSE_TYPE_VALUES!r}"
    )

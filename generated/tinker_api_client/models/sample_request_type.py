from typing import Literal

SampleRequestType = Literal["sample"]

SAMPLE_REQUEST_TYPE_VALUES: set[SampleRequestType] = {
    "sample",
}


def check_sample_request_type(value: str) -> SampleRequestType:
    if value in SAMPLE_REQUEST_TYPE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {SAMPLE_REQUEST_TYPE_VALUES!r}"
    )

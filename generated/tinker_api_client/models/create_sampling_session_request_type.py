from typing import Literal

CreateSamplingSessionRequestType = Literal["create_sampling_session"]

CREATE_SAMPLING_SESSION_REQUEST_TYPE_VALUES: set[CreateSamplingSessionRequestType] = {
    "create_sampling_session",
}


def check_create_sampling_session_request_type(
    value: str,
) -> CreateSamplingSessionRequestType:
    if value in CREATE_SAMPLING_SESSION_REQUEST_TYPE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {CREATE_SAMPLING_SESSION_REQUEST_TYPE_VALUES!r}"
    )

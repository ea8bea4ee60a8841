from typing import Literal

CreateSamplingSessionResponseType = Literal["create_sampling_session"]

CREATE_SAMPLING_SESSION_RESPONSE_TYPE_VALUES: set[CreateSamplingSessionResponseType] = {
    "create_sampling_session",
}


def check_create_sampling_session_response_type(
    value: str,
) -> CreateSamplingSessionResponseType:
    if value in CREATE_SAMPLING_SESSION_RESPONSE_TYPE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {CREATE_SAMPLING_SESSION_RESPONSE_TYPE_VALUES!r}"
    )

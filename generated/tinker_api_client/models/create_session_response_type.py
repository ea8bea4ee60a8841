from typing import Literal

CreateSessionResponseType = Literal["create_session"]

CREATE_SESSION_RESPONSE_TYPE_VALUES: set[CreateSessionResponseType] = {
    "create_session",
}


def check_create_session_response_type(value: str) -> CreateSessionResponseType:
    if value in CREATE_SESSION_RESPONSE_TYPE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {CREATE_SESSION_RESPONSE_TYPE_VALUES!r}"
    )

from typing import Literal

CreateSessionRequestType = Literal["create_session"]

CREATE_SESSION_REQUEST_TYPE_VALUES: set[CreateSessionRequestType] = {
    "create_session",
}


def check_create_session_request_type(value: str) -> CreateSessionRequestType:
    if value in CREATE_SESSION_REQUEST_TYPE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {CREATE_SESSION_REQUEST_TYPE_VALUES!r}"
    )

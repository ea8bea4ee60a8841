from typing import Literal

SessionHeartbeatRequestType = Literal["session_heartbeat"]

SESSION_HEARTBEAT_REQUEST_TYPE_VALUES: set[SessionHeartbeatRequestType] = {
    "session_heartbeat",
}


def check_session_heartbeat_request_type(value: str) -> SessionHeartbeatRequestType:
    if value in SESSION_HEARTBEAT_REQUEST_TYPE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {SESSION_HEARTBEAT_REQUEST_TYPE_VALUES!r}"
    )

from typing import Literal

SessionHeartbeatResponseType = Literal["session_heartbeat"]

SESSION_HEARTBEAT_RESPONSE_TYPE_VALUES: set[SessionHeartbeatResponseType] = {
    "session_heartbeat",
}


def check_session_heartbeat_response_type(value: str) -> SessionHeartbeatResponseType:
    if value in SESSION_HEARTBEAT_RESPONSE_TYPE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {SESSION_HEARTBEAT_RESPONSE_TYPE_VALUES!r}"
    )

from typing import Literal

EventType = Literal[
    "GENERIC_EVENT", "SESSION_END", "SESSION_START", "UNHANDLED_EXCEPTION"
]

EVENT_TYPE_VALUES: set[EventType] = {
    "GENERIC_EVENT",
    "SESSION_END",
    "SESSION_START",
    "UNHANDLED_EXCEPTION",
}


def check_event_type(value: str) -> EventType:
    if value in EVENT_TYPE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {EVENT_TYPE_VALUES!r}"
    )

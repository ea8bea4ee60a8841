from typing import Literal

KnownQueueState = Literal["active", "paused_capacity", "paused_rate_limit"]

KNOWN_QUEUE_STATE_VALUES: set[KnownQueueState] = {
    "active",
    "paused_capacity",
    "paused_rate_limit",
}


def check_known_queue_state(value: str) -> KnownQueueState:
    if value in KNOWN_QUEUE_STATE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {KNOWN_QUEUE_STATE_VALUES!r}"
    )

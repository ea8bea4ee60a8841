from typing import Literal

KnownStopReason = Literal["length", "stop"]

KNOWN_STOP_REASON_VALUES: set[KnownStopReason] = {
    "length",
    "stop",
}


def check_known_stop_reason(value: str) -> KnownStopReason:
    if value in KNOWN_STOP_REASON_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {KNOWN_STOP_REASON_VALUES!r}"
    )

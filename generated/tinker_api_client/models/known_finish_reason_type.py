from typing import Literal

KnownFinishReasonType = Literal["errored", "interrupted", "success"]

KNOWN_FINISH_REASON_TYPE_VALUES: set[KnownFinishReasonType] = {
    "errored",
    "interrupted",
    "success",
}


def check_known_finish_reason_type(value: str) -> KnownFinishReasonType:
    if value in KNOWN_FINISH_REASON_TYPE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {KNOWN_FINISH_REASON_TYPE_VALUES!r}"
    )

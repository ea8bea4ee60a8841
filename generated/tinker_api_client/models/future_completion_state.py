from typing import Literal

FutureCompletionState = Literal["failed", "finished"]

FUTURE_COMPLETION_STATE_VALUES: set[FutureCompletionState] = {
    "failed",
    "finished",
}


def check_future_completion_state(value: str) -> FutureCompletionState:
    if value in FUTURE_COMPLETION_STATE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {FUTURE_COMPLETION_STATE_VALUES!r}"
    )

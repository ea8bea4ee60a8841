from typing import Literal

SamplingSessionFuturesTargetType = Literal["sampling_session"]

SAMPLING_SESSION_FUTURES_TARGET_TYPE_VALUES: set[SamplingSessionFuturesTargetType] = {
    "sampling_session",
}


def check_sampling_session_futures_target_type(
    value: str,
) -> SamplingSessionFuturesTargetType:
    if value in SAMPLING_SESSION_FUTURES_TARGET_TYPE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {SAMPLING_SESSION_FUTURES_TARGET_TYPE_VALUES!r}"
    )

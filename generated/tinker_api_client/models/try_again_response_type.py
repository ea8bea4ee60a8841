from typing import Literal

TryAgainResponseType = Literal["try_again"]

TRY_AGAIN_RESPONSE_TYPE_VALUES: set[TryAgainResponseType] = {
    "try_again",
}


def check_try_again_response_type(value: str) -> TryAgainResponseType:
    if value in TRY_AGAIN_RESPONSE_TYPE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {TRY_AGAIN_RESPONSE_TYPE_VALUES!r}"
    )

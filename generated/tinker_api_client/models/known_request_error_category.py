from typing import Literal

KnownRequestErrorCategory = Literal["server", "unknown", "user"]

KNOWN_REQUEST_ERROR_CATEGORY_VALUES: set[KnownRequestErrorCategory] = {
    "server",
    "unknown",
    "user",
}


def check_known_request_error_category(value: str) -> KnownRequestErrorCategory:
    if value in KNOWN_REQUEST_ERROR_CATEGORY_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {KNOWN_REQUEST_ERROR_CATEGORY_VALUES!r}"
    )

from typing import Literal

GetInfoResponseType = Literal["get_info"]

GET_INFO_RESPONSE_TYPE_VALUES: set[GetInfoResponseType] = {
    "get_info",
}


def check_get_info_response_type(value: str) -> GetInfoResponseType:
    if value in GET_INFO_RESPONSE_TYPE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {GET_INFO_RESPONSE_TYPE_VALUES!r}"
    )

from typing import Literal

GetInfoRequestType = Literal["get_info"]

GET_INFO_REQUEST_TYPE_VALUES: set[GetInfoRequestType] = {
    "get_info",
}


def check_get_info_request_type(value: str) -> GetInfoRequestType:
    if value in GET_INFO_REQUEST_TYPE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {GET_INFO_REQUEST_TYPE_VALUES!r}"
    )

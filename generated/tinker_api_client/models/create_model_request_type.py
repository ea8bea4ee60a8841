from typing import Literal

CreateModelRequestType = Literal["create_model"]

CREATE_MODEL_REQUEST_TYPE_VALUES: set[CreateModelRequestType] = {
    "create_model",
}


def check_create_model_request_type(value: str) -> CreateModelRequestType:
    if value in CREATE_MODEL_REQUEST_TYPE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {CREATE_MODEL_REQUEST_TYPE_VALUES!r}"
    )

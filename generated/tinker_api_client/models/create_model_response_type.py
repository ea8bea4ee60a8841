from typing import Literal

CreateModelResponseType = Literal["create_model"]

CREATE_MODEL_RESPONSE_TYPE_VALUES: set[CreateModelResponseType] = {
    "create_model",
}


def check_create_model_response_type(value: str) -> CreateModelResponseType:
    if value in CREATE_MODEL_RESPONSE_TYPE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {CREATE_MODEL_RESPONSE_TYPE_VALUES!r}"
    )

from typing import Literal

OptimStepRequestType = Literal["optim_step"]

OPTIM_STEP_REQUEST_TYPE_VALUES: set[OptimStepRequestType] = {
    "optim_step",
}


def check_optim_step_request_type(value: str) -> OptimStepRequestType:
    if value in OPTIM_STEP_REQUEST_TYPE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {OPTIM_STEP_REQUEST_TYPE_VALUES!r}"
    )

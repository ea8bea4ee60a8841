from typing import Literal

LossFnType = Literal["cispo", "cross_entropy", "dro", "importance_sampling", "ppo"]

LOSS_FN_TYPE_VALUES: set[LossFnType] = {
    "cispo",
    "cross_entropy",
    "dro",
    "importance_sampling",
    "ppo",
}


def check_loss_fn_type(value: str) -> LossFnType:
    if value in LOSS_FN_TYPE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {LOSS_FN_TYPE_VALUES!r}"
    )

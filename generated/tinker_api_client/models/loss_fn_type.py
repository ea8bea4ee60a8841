from typing import Literal

LossFnType = Literal[
    "cispo",
    "cross_entropy",
    "custom",
    "dro",
    "gspo",
    "importance_sampling",
    "ppo",
    "stable_reinforce",
]

LOSS_FN_TYPE_VALUES: set[LossFnType] = {
    "cispo",
    "cross_entropy",
    "custom",
    "dro",
    "gspo",
    "importance_sampling",
    "ppo",
    "stable_reinforce",
}


def check_loss_fn_type(value: str) -> LossFnType:
    if value in LOSS_FN_TYPE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {LOSS_FN_TYPE_VALUES!r}"
    )

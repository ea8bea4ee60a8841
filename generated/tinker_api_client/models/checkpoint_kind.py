from typing import Literal

CheckpointKind = Literal["sampler_weights", "weights"]

CHECKPOINT_KIND_VALUES: set[CheckpointKind] = {
    "sampler_weights",
    "weights",
}


def check_checkpoint_kind(value: str) -> CheckpointKind:
    if value in CHECKPOINT_KIND_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {CHECKPOINT_KIND_VALUES!r}"
    )

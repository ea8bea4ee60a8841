from typing import Literal

KnownCheckpointType = Literal["sampler", "training"]

KNOWN_CHECKPOINT_TYPE_VALUES: set[KnownCheckpointType] = {
    "sampler",
    "training",
}


def check_known_checkpoint_type(value: str) -> KnownCheckpointType:
    if value in KNOWN_CHECKPOINT_TYPE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {KNOWN_CHECKPOINT_TYPE_VALUES!r}"
    )

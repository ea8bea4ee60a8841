from typing import Literal

TensorDtype = Literal["float32", "int64"]

TENSOR_DTYPE_VALUES: set[TensorDtype] = {
    "float32",
    "int64",
}


def check_tensor_dtype(value: str) -> TensorDtype:
    if value in TENSOR_DTYPE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {TENSOR_DTYPE_VALUES!r}"
    )

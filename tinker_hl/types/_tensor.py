"""TensorData conversions to and from numpy arrays, torch tensors and plain lists.

The wire carries two dtypes only: floating point values travel as "float32", integers and booleans
as "int64". torch is imported lazily, only by the functions that need it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from tinker_api_client.models import TensorData
from tinker_api_client.types import Unset

from .._exceptions import ValidationError
from ._copying import build

if TYPE_CHECKING:
    import torch

__all__ = [
    "infer_tensor_dtype",
    "numpy_dtype_to_tensor_dtype",
    "tensor_from_list",
    "tensor_from_numpy",
    "tensor_from_torch",
    "tensor_to_numpy",
    "tensor_to_torch",
    "tensor_tolist",
]

_NUMPY_DTYPES: dict[str, type[np.generic]] = {"float32": np.float32, "int64": np.int64}


def numpy_dtype_to_tensor_dtype(dtype: np.dtype[Any], field: str = "array") -> str:
    """Map a numpy dtype to a wire dtype: floats -> "float32"; ints, uints and bool -> "int64"."""
    if dtype.kind == "f":
        return "float32"
    if dtype.kind in "iub":
        return "int64"
    raise ValidationError(
        field,
        f"unsupported dtype {dtype}: TensorData holds floating point (sent as float32) "
        "or integer/bool (sent as int64) values",
    )


def tensor_from_numpy(array: npt.NDArray[Any], field: str = "array") -> TensorData:
    """Build a TensorData from a numpy array, recording its shape."""
    arr = np.asarray(array)
    dtype = numpy_dtype_to_tensor_dtype(arr.dtype, field)
    if arr.dtype.kind in "ub":
        # bools would serialize as true/false, and uint64 may not fit: go through int64.
        arr = arr.astype(np.int64)
    return build(TensorData, data=arr.ravel().tolist(), dtype=dtype, shape=list(arr.shape))


def tensor_from_torch(tensor: torch.Tensor, field: str = "tensor") -> TensorData:
    """Build a TensorData from a torch tensor (any device; gradients are detached)."""
    t = tensor.detach()
    if t.is_complex() or t.is_quantized:
        raise ValidationError(
            field,
            f"unsupported dtype {t.dtype}: TensorData holds floating point (sent as float32) "
            "or integer/bool (sent as int64) values",
        )
    if t.is_floating_point():
        dtype = "float32"
    else:
        import torch

        dtype = "int64"
        if t.dtype == torch.bool or t.dtype == getattr(torch, "uint64", None):
            t = t.to(torch.int64)
    return build(TensorData, data=t.cpu().reshape(-1).tolist(), dtype=dtype, shape=list(t.shape))


def infer_tensor_dtype(values: Sequence[Any]) -> str:
    """ "int64" when every value is an integer (not a bool), else "float32"; empty -> "float32"."""
    if not values:
        return "float32"
    kinds = set(map(type, values))
    if kinds == {int}:
        return "int64"
    ok = all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in values)
    return "int64" if ok else "float32"


def tensor_from_list(values: Sequence[Any], dtype: str | None = None) -> TensorData:
    """Build a 1-D TensorData from a list; dtype inferred with `infer_tensor_dtype` if not given."""
    return fresh_tensor(list(values), dtype)  # a copy: the caller may reuse its list


def fresh_tensor(data: list[Any], dtype: str | None = None) -> TensorData:
    """A 1-D TensorData holding `data` itself: for a list the client has just made."""
    return build(TensorData, data=data, dtype=dtype or infer_tensor_dtype(data), shape=[len(data)])


def _shape(td: TensorData) -> list[int] | None:
    shape = td.shape
    return None if shape is None or isinstance(shape, Unset) else list(shape)


def _numpy_dtype(td: TensorData) -> type[np.generic]:
    try:
        return _NUMPY_DTYPES[td.dtype]
    except KeyError:
        raise ValidationError("dtype", f"unknown TensorData dtype {td.dtype!r}") from None


def tensor_to_numpy(td: TensorData) -> npt.NDArray[Any]:
    """The tensor as a numpy array of dtype float32 or int64, reshaped when a shape is recorded."""
    arr = np.asarray(td.data, dtype=_numpy_dtype(td))
    shape = _shape(td)
    return arr.reshape(shape) if shape is not None else arr


def tensor_to_torch(td: TensorData) -> torch.Tensor:
    """The tensor as a torch tensor of dtype float32 or int64 (imports torch)."""
    import torch

    dtype = {"float32": torch.float32, "int64": torch.int64}.get(td.dtype)
    if dtype is None:
        raise ValidationError("dtype", f"unknown TensorData dtype {td.dtype!r}")
    t = torch.tensor(td.data, dtype=dtype)
    shape = _shape(td)
    return t.reshape(shape) if shape is not None else t


def tensor_tolist(td: TensorData) -> list[Any]:
    """The values as (nested, when a shape is recorded) Python lists."""
    out: list[Any] = tensor_to_numpy(td).tolist()
    return out

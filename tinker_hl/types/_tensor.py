"""TensorData conversions to and from numpy arrays, torch tensors and plain lists.

The wire carries two dtypes only: floating point values travel as "float32", integers and booleans
as "int64". torch is imported lazily, only by the functions that need it.

A TensorData may be a sparse CSR matrix (SDK 0.38's `from_torch_sparse`): `data` holds the
listed values only, `sparse_crow_indices` / `sparse_col_indices` say where they go in the 2-D
`shape`, and every other cell is the `pad_value` the reader names when it densifies
(`to_numpy(pad_value)`, default 0).
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
    "check_csr",
    "infer_tensor_dtype",
    "numpy_dtype_to_tensor_dtype",
    "tensor_from_list",
    "tensor_from_numpy",
    "tensor_from_torch",
    "tensor_from_torch_sparse",
    "tensor_is_sparse",
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
    return _dense(arr.ravel().tolist(), dtype, list(arr.shape))


def _dense(data: list[Any], dtype: str, shape: list[int]) -> TensorData:
    # The sparse fields None, as the constructor leaves them (`is None` means dense).
    return build(
        TensorData,
        data=data,
        dtype=dtype,
        shape=shape,
        sparse_crow_indices=None,
        sparse_col_indices=None,
    )


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
    return _dense(t.cpu().reshape(-1).tolist(), dtype, list(t.shape))


def _pad(pad_value: object) -> int:
    """`pad_value` as an int (numpy integers too; a bool or anything else is a TypeError, as
    in 0.38: the shift by the pad must be exact for int64 tensors)."""
    if isinstance(pad_value, bool) or not isinstance(pad_value, int | np.integer):
        raise TypeError(
            f"pad_value must be an integer, got {type(pad_value).__name__}: {pad_value!r}"
        )
    return int(pad_value)


def tensor_from_torch_sparse(
    tensor: torch.Tensor, pad_value: int = 0, field: str = "tensor"
) -> TensorData:
    """A 2-D tensor as a sparse CSR TensorData: the cells equal to `pad_value` are left out.
    Dense (as `tensor_from_torch`) when the tensor is not 2-D or when CSR would not be smaller
    (rows + 1 row pointers plus a column index and a value per listed cell)."""
    pad = _pad(pad_value)
    t = tensor.detach().cpu()
    if t.ndim != 2 or t.is_complex() or t.is_quantized:
        return tensor_from_torch(tensor, field)  # dense (or the dtype's error)
    listed = t != pad
    rows, cols = (int(n) for n in t.shape)
    count = int(listed.sum())
    if (rows + 1) + 2 * count >= rows * cols:
        return tensor_from_torch(tensor, field)
    import torch

    crow = torch.zeros(rows + 1, dtype=torch.int64)
    crow[1:] = torch.cumsum(listed.sum(dim=1), 0)
    values = t[listed]
    dtype = "float32" if t.is_floating_point() else "int64"
    if dtype == "int64":
        values = values.to(torch.int64)
    return build(
        TensorData,
        data=values.tolist(),
        dtype=dtype,
        shape=[rows, cols],
        sparse_crow_indices=crow.tolist(),
        sparse_col_indices=listed.nonzero()[:, 1].tolist(),
    )


def tensor_is_sparse(td: TensorData) -> bool:
    crow = td.sparse_crow_indices
    return crow is not None and not isinstance(crow, Unset)


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
    return _dense(data, dtype or infer_tensor_dtype(data), [len(data)])


def _shape(td: TensorData) -> list[int] | None:
    shape = td.shape
    return None if shape is None or isinstance(shape, Unset) else list(shape)


def _numpy_dtype(td: TensorData) -> type[np.generic]:
    try:
        return _NUMPY_DTYPES[td.dtype]
    except KeyError:
        raise ValidationError("dtype", f"unknown TensorData dtype {td.dtype!r}") from None


def tensor_to_numpy(td: TensorData, pad_value: int = 0) -> npt.NDArray[Any]:
    """The tensor as a numpy array of dtype float32 or int64, reshaped when a shape is recorded;
    a sparse one densified with `pad_value` in the cells it does not list."""
    arr = np.asarray(td.data, dtype=_numpy_dtype(td))
    if tensor_is_sparse(td):
        return _densify(td, arr, _pad(pad_value))
    shape = _shape(td)
    return arr.reshape(shape) if shape is not None else arr


def check_csr(td: TensorData, field: str = "tensor") -> tuple[Any, Any]:
    """The (row, column) of each listed value of a sparse TensorData, after checking that its
    indices describe a CSR matrix of its 2-D shape (ValidationError naming the field)."""
    shape = _shape(td)
    if (
        shape is None
        or len(shape) != 2
        or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)
    ):
        raise ValidationError(
            f"{field}.shape", f"a sparse TensorData needs a 2-D shape, got {shape}"
        )
    rows, cols = shape
    count = len(td.data)
    crow = _indices(td.sparse_crow_indices, f"{field}.sparse_crow_indices")
    col = _indices(td.sparse_col_indices, f"{field}.sparse_col_indices")
    if not (
        crow.size == rows + 1
        and crow[0] == 0
        and crow[-1] == count
        and bool((np.diff(crow) >= 0).all())
    ):
        raise ValidationError(
            f"{field}.sparse_crow_indices",
            f"expected {rows + 1} non-decreasing row pointers from 0 to {count} (the number "
            "of values)",
        )
    if col.size != count or not bool(((col >= 0) & (col < cols)).all()):
        raise ValidationError(
            f"{field}.sparse_col_indices",
            f"expected {count} column indices in [0, {cols})",
        )
    return np.repeat(np.arange(rows), np.diff(crow)), col


def _indices(values: object, field: str) -> npt.NDArray[Any]:
    if not isinstance(values, list) or not all(
        isinstance(v, int | np.integer) and not isinstance(v, bool) for v in values
    ):
        raise ValidationError(field, f"expected a list of int indices, got {type(values).__name__}")
    try:
        return np.asarray(values, dtype=np.int64)
    except OverflowError:
        raise ValidationError(field, "an index beyond the int64 range") from None


def _densify(td: TensorData, values: npt.NDArray[Any], pad: int) -> npt.NDArray[Any]:
    row_of, col_of = check_csr(td)
    rows, cols = _shape(td) or (0, 0)
    dense = np.full((rows, cols), pad, dtype=values.dtype)
    dense[row_of, col_of] = values
    return dense


def tensor_to_torch(td: TensorData, pad_value: int = 0) -> torch.Tensor:
    """The tensor as a torch tensor of dtype float32 or int64 (imports torch); a sparse one
    densified with `pad_value`."""
    import torch

    dtype = {"float32": torch.float32, "int64": torch.int64}.get(td.dtype)
    if dtype is None:
        raise ValidationError("dtype", f"unknown TensorData dtype {td.dtype!r}")
    if tensor_is_sparse(td):
        return torch.from_numpy(tensor_to_numpy(td, pad_value))
    t = torch.tensor(td.data, dtype=dtype)
    shape = _shape(td)
    return t.reshape(shape) if shape is not None else t


def tensor_tolist(td: TensorData, pad_value: int = 0) -> list[Any]:
    """The values as (nested, when a shape is recorded) Python lists; a sparse tensor
    densified with `pad_value`."""
    out: list[Any] = tensor_to_numpy(td, pad_value).tolist()
    return out

"""Sparse CSR tensors (SDK 0.38's `TensorData.from_torch_sparse`, JSON and protobuf alike).

Errors are UserError (a job's input error); a request handler turns them into 400s."""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import UserError

CsrLayout = tuple[np.ndarray, np.ndarray]  # (crow_indices, col_indices)
# Cells a sparse tensor may stand for once dense (int64: 256 MiB): a few values must not make
# the server allocate a matrix of any size their `shape` names.
MAX_DENSE_CELLS = 2**25


def csr_cells(
    crow: np.ndarray, col: np.ndarray, count: int, shape: list[int], field: str
) -> tuple[np.ndarray, np.ndarray]:
    """The (row, column) of each of the `count` stored values, after checking that the indices
    describe a CSR matrix of `shape` (2-D)."""
    if len(shape) != 2:
        raise UserError(f"{field}.shape: a sparse tensor needs a 2-D shape, got {shape}")
    rows, cols = shape
    if rows < 0 or cols < 0 or rows * cols > MAX_DENSE_CELLS:
        raise UserError(
            f"{field}.shape: {shape} is negative or over {MAX_DENSE_CELLS} cells once dense"
        )
    ok = (
        crow.size == rows + 1
        and col.size == count
        and crow[0] == 0
        and crow[-1] == count
        and bool((np.diff(crow) >= 0).all())
        and bool(((col >= 0) & (col < cols)).all())
    )
    if not ok:
        raise UserError(
            f"{field}: sparse indices do not describe a {rows}x{cols} CSR matrix with "
            f"{count} value(s)"
        )
    return np.repeat(np.arange(rows), np.diff(crow)), col


def densify(
    values: np.ndarray,
    crow: np.ndarray,
    col: np.ndarray,
    shape: list[int],
    field: str,
    pad: Any = 0,
) -> np.ndarray:
    """The dense matrix: `pad` in every cell the CSR layout does not list."""
    row_of, col_of = csr_cells(crow, col, values.size, shape, field)
    dense = np.full((shape[0], shape[1]), pad, dtype=values.dtype)
    dense[row_of, col_of] = values
    return dense


def json_indices(tensor: Any, field: str) -> CsrLayout | None:
    """A JSON TensorData's (crow, col) indices, or None for a dense one."""
    crow, col = tensor.get("sparse_crow_indices"), tensor.get("sparse_col_indices")
    if crow is None and col is None:
        return None
    if crow is None or col is None or tensor.get("shape") is None:
        raise UserError(
            f"{field}: a sparse tensor needs sparse_crow_indices, sparse_col_indices and shape"
        )
    return _index_list(crow, f"{field}.sparse_crow_indices"), _index_list(
        col, f"{field}.sparse_col_indices"
    )


def _index_list(values: Any, field: str) -> np.ndarray:
    # The schema says integers; that they are indices (>= 0, int64) is checked here.
    if not isinstance(values, list) or not all(type(v) is int and 0 <= v < 2**63 for v in values):
        raise UserError(f"{field}: expected a list of non-negative integers")
    return np.asarray(values, dtype=np.int64)

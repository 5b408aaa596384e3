"""Storage of an incidence matrix: index width and read-only canonical compressed arrays."""

from __future__ import annotations

import numpy as np

# Largest index value stored with int32 indices; beyond it, indices and pointers are int64.
INT32_LIMIT = np.iinfo(np.int32).max


def index_dtype_for(n_rows, n_cols, nnz):
    """int32 while every index and pointer fits in it, int64 beyond."""
    return np.int32 if max(n_rows, n_cols, nnz) <= INT32_LIMIT else np.int64


def _readonly(arr):
    arr.flags.writeable = False
    return arr


def _freeze(M, index_dtype):
    """Set the index width of a canonical compressed matrix and make its arrays read-only."""
    M.indices = _readonly(np.ascontiguousarray(M.indices, dtype=index_dtype))
    M.indptr = _readonly(np.ascontiguousarray(M.indptr, dtype=index_dtype))
    M.data = _readonly(np.ascontiguousarray(M.data))
    M.has_sorted_indices = True
    M.has_canonical_format = True
    return M

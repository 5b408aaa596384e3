"""Argument checks shared by the assertions.

Scalars go through :mod:`hyperlearn.utils._validation` (``TypeError`` for a wrong type,
``ValueError`` for a wrong value); this module adds only what the assertions need beyond it:
operators of three kinds, dense factors that must be finite, and the ``safety`` factor.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ..utils._validation import check_real, describe

__all__ = [
    "check_dense",
    "check_operator",
    "check_probability",
    "check_safety",
    "check_tolerance",
    "is_operator",
]


def is_operator(value):
    """True for ndarray, scipy sparse and LinearOperator-like inputs of dimension 2."""
    if isinstance(value, np.ndarray) or sp.issparse(value):
        return value.ndim == 2
    return isinstance(value, spla.LinearOperator) or (
        hasattr(value, "shape") and hasattr(value, "matvec") and len(value.shape) == 2
    )


def check_operator(value, name):
    """Return ``value`` if it is a 2-D ndarray, sparse matrix or LinearOperator, else raise.

    Raises
    ------
    TypeError
        Any other type, or an array of a non-real dtype.
    """
    if isinstance(value, (list, tuple)):
        value = np.asarray(value)
    if not is_operator(value):
        raise TypeError(
            f"{name}={describe(value)} is not supported: expected a 2-D numpy array, a scipy "
            "sparse matrix or a scipy.sparse.linalg.LinearOperator."
        )
    dtype = getattr(value, "dtype", None)
    if dtype is not None and np.dtype(dtype).kind not in "biuf":
        raise TypeError(f"{name} has dtype {np.dtype(dtype)}: expected real numbers.")
    return value


def _count_not_finite(array):
    return int(array.size - np.count_nonzero(np.isfinite(array)))


def check_dense(value, name, ndim, *, computed=False):
    """A finite real ndarray of one of the dimensions ``ndim`` (a tuple such as ``(1, 2)``).

    ``computed=True`` marks the result under test (factors, a solution): NaN or infinite entries
    there are a failed check, reported as ``AssertionError``; in the reference data (the matrix,
    the right-hand side, the true values) they are a ``ValueError``.

    Raises
    ------
    TypeError
        Sparse matrix, LinearOperator or a non-real dtype.
    ValueError
        Wrong dimension; NaN or infinite entries in reference data.
    AssertionError
        NaN or infinite entries in a computed result.
    """
    if sp.issparse(value) or isinstance(value, spla.LinearOperator):
        raise TypeError(f"{name}={describe(value)} must be a dense numpy array.")
    array = np.asarray(value)
    if array.ndim not in ndim:
        raise ValueError(
            f"{name} has shape {array.shape}: expected {' or '.join(f'{d}-D' for d in ndim)}."
        )
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} has dtype {array.dtype}: expected real numbers.")
    n_bad = _count_not_finite(array)
    if n_bad and computed:
        raise AssertionError(
            f"{name} contains {n_bad} NaN or infinite value(s) out of {array.size}: a correct "
            "result is finite."
        )
    if n_bad:
        raise ValueError(f"{name} contains {n_bad} NaN or infinite value(s): expected finite.")
    return array


def check_safety(safety):
    """The ``safety`` factor: a finite real ≥ 1 (it multiplies a bound)."""
    return check_real(safety, "safety", low=1.0)


def check_probability(value, name="failure_probability"):
    """A probability in the open interval (0, 1)."""
    return check_real(value, name, low=0.0, high=1.0, low_open=True, high_open=True)


def check_tolerance(value, name):
    """A finite real ≥ 0 (``tol``, ``scale``, ``rtol``, ``atol``)."""
    return check_real(value, name, low=0.0)

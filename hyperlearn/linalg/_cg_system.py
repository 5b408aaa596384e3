"""Coercion of the inputs of the CG solvers (the role of SciPy's ``_isolve/utils.py``).

:func:`make_system` is the only place that inspects user input of :func:`~hyperlearn.linalg.cg`
and :func:`~hyperlearn.linalg.block_cg`; the solver engines (``_cg.py``, ``_cg_block.py``,
``_cg_lockstep.py``, ``_cg_mixed.py``) receive a :class:`System` and only apply operators and
update vectors.  The ``info`` codes and the safeguards shared by every engine live here too, at
the bottom of the import graph.
"""

from __future__ import annotations

import numbers
import os
import sys
import warnings
from dataclasses import dataclass

import numpy as np
from scipy.sparse import issparse
from scipy.sparse.linalg import LinearOperator, aslinearoperator

from ..utils._validation import check_int, check_real, describe

# ---------------------------------------------------------------------------------------------
# ``info`` codes for breakdown (negative), documented in the docstrings of cg and block_cg.
# ---------------------------------------------------------------------------------------------
#: A search direction p with pᴴAp <= 0 was met (block: the Gram matrix PᴴAP is not positive
#: definite): A is not symmetric positive definite, so CG is not applicable.
INFO_A_NOT_POSITIVE_DEFINITE = -1
#: A residual r with rᴴMr <= 0 was met: the preconditioner M is not positive definite.
INFO_M_NOT_POSITIVE_DEFINITE = -2
#: A product with A or M returned NaN or infinity.
INFO_NONFINITE = -3

# Residual replacement stagnation guard: a column whose true residual fails STAGNATION_LIMIT
# consecutive replacements without falling below STAGNATION_FACTOR times its best is given up
# (info > 0) instead of iterating to maxiter below the attainable accuracy.
# See benchmarks/TUNING.md.
STAGNATION_LIMIT = 3
STAGNATION_FACTOR = 0.5


@dataclass
class System:
    """A validated CG problem: operators, working copies and per-column tolerances."""

    A: LinearOperator
    M: LinearOperator | None  # None means the identity
    x: np.ndarray  # working copy of the initial guess, (n,) for cg, (n, s) for block_cg
    b: np.ndarray  # (n,) for cg, (n, s) for block_cg, C-contiguous, dtype of the solution
    bnorm: np.ndarray  # norm of b (scalar array for cg, (s,) for block_cg)
    tol: np.ndarray  # max(rtol * bnorm, atol), same shape as bnorm
    maxiter: int
    dtype: np.dtype
    squeeze: bool  # block_cg called with a 1-D B: return a 1-D X
    name: str = "cg"  # the public solver, for error messages

    def columns(self, cols, maxiter=None):
        """The sub-problem of the columns ``cols`` (copies), from their current iterates."""
        return System(
            self.A,
            self.M,
            np.ascontiguousarray(self.x[:, cols]),
            np.ascontiguousarray(self.b[:, cols]),
            self.bnorm[cols],
            self.tol[cols],
            self.maxiter if maxiter is None else maxiter,
            self.dtype,
            False,
            self.name,
        )


def solution_dtype(a_char, b_char):
    """SciPy's rule -- non-floating types count as float64, then the usual promotion -- with
    the library's one float16 rule (``utils._validation.float_dtype_of``): float16 counts as
    float32."""
    chars = [("f" if c == "e" else c) if c in "efdFD" else "d" for c in (a_char, b_char)]
    return np.promote_types(*chars)


def as_operator(name, param, op):
    """``aslinearoperator(op)`` with an error naming the solver and the parameter."""
    try:
        return aslinearoperator(op)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"{name}: `{param}` of type {type(op).__name__} is not usable as a linear operator; "
            "expected an ndarray, a scipy sparse matrix/array or a LinearOperator."
        ) from exc


def _explicit_entries(A):
    """The stored entries of an explicit ``A`` (ndarray or sparse) of a floating or complex
    dtype, or None (a LinearOperator, or a dtype that cannot hold NaN)."""
    if issparse(A):
        # the compressed formats store their entries in ``data``; DIA pads its diagonals with
        # values outside the matrix, and LIL/DOK keep Python objects, so those go through CSR
        entries = A.data if A.format in ("csr", "csc", "coo", "bsr") else A.tocsr().data
    elif isinstance(A, np.ndarray):
        entries = A
    else:
        return None
    return entries if entries.dtype.kind in "fc" else None


def _coerce_operator(name, A):
    """``A`` as a square LinearOperator.  An explicit ``A`` (ndarray or sparse) is checked for
    NaN and infinity once, in O(nnz), and a float16 one is widened to float32 (the one float16
    rule); a LinearOperator's products are checked as the solver runs (``INFO_NONFINITE``)."""
    entries = _explicit_entries(A)
    if entries is not None and not np.all(np.isfinite(entries)):
        raise ValueError(f"{name}: `A` contains NaN or infinity; expected finite entries.")
    if isinstance(A, np.ndarray) and A.dtype == np.float16:
        A = A.astype(np.float32)
    A = as_operator(name, "A", A)
    if len(A.shape) != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"{name}: `A` must be square; got shape {A.shape}.")
    return A


def _coerce_rhs(name, A, b, block):
    """``b`` as a C-contiguous (n,) or (n, s) array of the solution dtype; returns
    ``(b, dtype, squeeze)``."""
    n = A.shape[0]
    rhs = "B" if block else "b"
    if issparse(b):
        b = b.toarray()  # e.g. a sparse 0/1 tag matrix: the solution is dense anyway
    b = np.asarray(b)
    if block and (b.ndim not in (1, 2) or b.shape[0] != n):
        raise ValueError(
            f"{name}: shapes of A {A.shape} and {rhs} {b.shape} are incompatible; "
            f"expected {rhs} of shape ({n}, s) or ({n},)."
        )
    if not block and b.shape not in ((n,), (n, 1)):
        raise ValueError(
            f"{name}: shapes of A {A.shape} and {rhs} {b.shape} are incompatible; "
            f"expected {rhs} of shape ({n},) or ({n}, 1)."
        )
    if b.dtype.char not in "fdFD" and not (np.issubdtype(b.dtype, np.number) or b.dtype == bool):
        raise TypeError(f"{name}: `{rhs}` must be numeric; got dtype {b.dtype}.")
    dtype = np.dtype(solution_dtype(A.dtype.char if A.dtype is not None else "d", b.dtype.char))
    squeeze = block and b.ndim == 1
    b = np.ascontiguousarray(b, dtype=dtype)
    b = b.reshape(n, -1) if block else b.reshape(n)
    if not np.all(np.isfinite(b)):
        raise ValueError(f"{name}: `{rhs}` contains NaN or infinity.")
    return b, dtype, squeeze


def _check_options(name, callback, residuals):
    if callback is not None and not callable(callback):
        raise TypeError(f"{name}: `callback` must be callable or None; got {describe(callback)}.")
    if residuals is not None and not isinstance(residuals, list):
        raise TypeError(
            f"{name}: `residuals` must be a list (its contents are replaced by the residual "
            f"norm history) or None; got {type(residuals).__name__}."
        )


def _coerce_preconditioner(name, A_in, A, M, dtype):
    if M is None:
        # SciPy's convention: an operator that carries its own ``psolve`` preconditions itself.
        psolve = getattr(A_in, "psolve", None)
        if callable(psolve):
            return LinearOperator(A.shape, matvec=psolve, dtype=dtype)
        return None
    M = as_operator(name, "M", M)
    if M.shape != A.shape:
        raise ValueError(
            f"{name}: shapes of A {A.shape} and M {M.shape} differ; M must be {A.shape}."
        )
    return M


def _coerce_initial_guess(name, x0, b, M, dtype, block):
    """A working copy of ``x0`` of the shape of ``b`` (``x0`` itself is never mutated)."""
    n = b.shape[0]
    x0_name, rhs = ("X0", "B") if block else ("x0", "b")
    if x0 is None:
        return np.zeros_like(b)
    if isinstance(x0, str):
        if x0 != "Mb":
            raise ValueError(f"{name}: `{x0_name}`={x0!r}; the only string accepted is 'Mb'.")
        return b.copy() if M is None else apply(M, b, dtype, copy=True, name=name, param="M")
    x = np.array(x0, dtype=dtype, order="C")
    if block and (x.size != b.size or x.shape[0] != n):
        raise ValueError(
            f"{name}: shapes of {rhs} {b.shape} and {x0_name} {x.shape} are incompatible."
        )
    if not block and x.shape not in ((n,), (n, 1)):
        raise ValueError(
            f"{name}: shapes of A {(n, n)} and {x0_name} {x.shape} are incompatible; "
            f"expected ({n},) or ({n}, 1)."
        )
    x = x.reshape(b.shape)
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name}: `{x0_name}` contains NaN or infinity.")
    return x


def _check_tolerance(value, param):
    """A non-negative real or infinity.  Any invalid tolerance is a ValueError, as in SciPy's
    ``cg`` (whose own tests run against ours), also when its type is wrong: the documented
    exception to the TypeError rule of ``utils._validation``."""
    real = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
    if real and value == np.inf:
        return np.inf  # SciPy accepts it: every iterate then meets the tolerance
    try:
        return check_real(value, param, low=0)
    except (TypeError, ValueError):
        raise ValueError(
            f"{param}={describe(value)} is not valid: expected a finite real number >= 0 "
            "or infinity."
        ) from None


def make_system(name, A, b, x0, M, *, rtol, atol, maxiter, callback, residuals, block):
    """Validate and coerce every input of a CG solver; return a :class:`System`."""
    A_in = A
    A = _coerce_operator(name, A)
    b, dtype, squeeze = _coerce_rhs(name, A, b, block)
    rtol = _check_tolerance(rtol, "rtol")
    atol = _check_tolerance(atol, "atol")
    maxiter = check_int(maxiter, "maxiter", low=1, allow=(None,))
    if maxiter is None:
        maxiter = 10 * A.shape[0]
    _check_options(name, callback, residuals)
    M = _coerce_preconditioner(name, A_in, A, M, dtype)
    x = _coerce_initial_guess(name, x0, b, M, dtype, block)
    bnorm = np.linalg.norm(b, axis=0)
    tol = np.maximum(rtol * bnorm, atol)
    return System(A, M, x, b, bnorm, tol, maxiter, dtype, squeeze, name)


def apply(op, v, dtype, copy=False, *, name="cg", param="A"):
    """``op @ v`` for a vector or a block, returned in the working dtype.

    The result must have the shape of ``v``: an operator returning another number of rows gets
    an error naming the solver, the operator and both shapes, instead of a reshape error from
    inside SciPy's ``LinearOperator`` (or a wrong result further on).
    """
    try:
        out = op.matvec(v) if v.ndim == 1 else op.matmat(v)
    except ValueError as exc:
        raw = _raw_output_shape(op, v)
        if raw is None or (len(raw) >= 1 and raw[0] == v.shape[0]):
            raise  # not a shape problem of the operator's output
        _wrong_shape(name, param, op, v.shape, raw, exc)
    out = np.asarray(out)
    if out.shape != v.shape:
        if out.size != v.size or out.ndim == 0 or out.shape[0] != v.shape[0]:
            _wrong_shape(name, param, op, v.shape, out.shape)
        out = out.reshape(v.shape)
    out = np.asarray(out, dtype=dtype)
    return out.copy() if copy and np.shares_memory(out, v) else out


def _raw_output_shape(op, v):
    """Shape of what the user's product returns for one column of ``v`` (error path only),
    or None when that cannot be told."""
    try:
        return np.shape(op._matvec(v if v.ndim == 1 else np.ascontiguousarray(v[:, 0])))
    except Exception:
        return None


def _wrong_shape(name, param, op, in_shape, out_shape, cause=None):
    column = "" if len(in_shape) == 1 else " (one column)"
    raise ValueError(
        f"{name}: the operator `{param}` ({describe(op)}) returned an array of shape "
        f"{tuple(out_shape)}{column if cause is not None else ''} for an input of shape "
        f"{in_shape}; expected {in_shape[0]} rows, one per row of the input."
    ) from cause


def nonfinite(system, param, output):
    """``INFO_NONFINITE``, with a RuntimeWarning naming the operator ``param`` ("A" or "M")
    when its ``output`` holds NaN or infinity (rather than a dot product overflowing)."""
    if output is not None and not np.all(np.isfinite(output)):
        op = system.A if param == "A" else system.M
        warnings.warn(
            f"{system.name}: the operator `{param}` ({describe(op)}) returned NaN or infinity "
            f"from a product with an input of shape {output.shape} (finite); returning "
            f"info={INFO_NONFINITE} with the last iterate.",
            RuntimeWarning,
            stacklevel=_caller_stacklevel(),
        )
    return INFO_NONFINITE


def _caller_stacklevel():
    """``stacklevel`` of the first frame outside this package directory (the user's call)."""
    here = os.path.dirname(os.path.abspath(__file__))
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.dirname(os.path.abspath(frame.f_code.co_filename)) == here:
        frame, level = frame.f_back, level + 1
    return level


def positive(values):
    """All finite and > 0 (threshold 0: the exact test for the curvatures of CG)."""
    return bool(np.all(np.isfinite(values) & (values > 0)))


def herm(X):
    """Conjugate transpose as a view for real arrays (``ndarray.conj`` would copy them)."""
    return X.conj().T if np.iscomplexobj(X) else X.T


def column_dots(X, Y):
    """``[x_jᴴ y_j for each column j]`` (real part), without an n x s temporary."""
    return np.einsum("ij,ij->j", X.conj() if np.iscomplexobj(X) else X, Y).real


class _DiagonalInverse(LinearOperator):
    """``x -> x / d`` for a positive diagonal ``d`` (Hermitian positive definite)."""

    def __init__(self, inverse_diagonal):
        self.inverse_diagonal = inverse_diagonal
        n = inverse_diagonal.shape[0]
        super().__init__(dtype=inverse_diagonal.dtype, shape=(n, n))

    def _matvec(self, x):
        return self.inverse_diagonal * np.asarray(x).reshape(-1)

    def _matmat(self, X):
        return self.inverse_diagonal[:, None] * X

    def _adjoint(self):
        return self

    def diagonal(self):
        return self.inverse_diagonal.copy()

    def astype(self, dtype):
        """The same preconditioner in ``dtype`` (the diagonal in its real counterpart)."""
        real = np.finfo(np.dtype(dtype)).dtype
        if real == self.inverse_diagonal.dtype:
            return self
        return _DiagonalInverse(self.inverse_diagonal.astype(real))

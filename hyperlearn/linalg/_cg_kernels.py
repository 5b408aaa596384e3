"""Numba kernels of the lockstep ("batched") CG of :func:`hyperlearn.linalg.block_cg`.

Kernels only: every argument is a C-contiguous real 2-D array of shape (n, m) (float32 or
float64, one dtype per call) or a float64 vector of length m, already validated by the callers
(``_cg_lockstep.py``, ``_cg_mixed.py``).
They compile lazily on first call (nothing is compiled on import) and are cached on disk.

Each iteration of m simultaneous CG recurrences streams its n x m blocks through memory a
fixed number of times; these kernels fuse the updates so that an iteration makes 10 passes
(P·Q: 2, the residual update with its norms: 3, the iterate and direction update: 5) instead
of the 15-20 of the equivalent NumPy expressions, which allocate temporaries.

Reductions (column dot products) are computed per chunk of ``ROWS_PER_CHUNK`` rows in parallel
and the chunk sums added in a fixed order, so the result does not depend on the number of
threads.  Partial sums are accumulated in float64 for float32 blocks too.

Outside the one ``prange`` loop every kernel uses explicit scalar loops, never array
expressions (``out += partial[c]``, ``np.zeros``, ``astype``): with ``parallel=True`` Numba turns
each array expression into a parallel region of its own, and with the OpenMP threads sleeping
between regions (``OMP_WAIT_POLICY=PASSIVE``, set by ``configure_openmp``) every region costs a
wake-up.  See benchmarks/TUNING.md.

The NumPy twins in ``_cg_reference.py`` compute the same updates and are the kernels' oracle in
the tests.
"""

from __future__ import annotations

from ..utils._numba import configure_openmp

# must run before Numba's OpenMP pool starts (see configure_openmp)
configure_openmp()

import numpy as np  # noqa: E402
from numba import njit, prange  # noqa: E402

# Rows per chunk of a parallel reduction: a chunk's work must dwarf its overhead and still
# balance a few threads at n = 10⁴.  See benchmarks/TUNING.md.
ROWS_PER_CHUNK = 512


@njit(cache=True)
def _sum_chunks(partial):
    """Column sums of ``partial`` in chunk order (serial, fixed order)."""
    n_chunks, m = partial.shape
    out = np.empty(m)
    for j in range(m):
        out[j] = 0.0
    for c in range(n_chunks):
        for j in range(m):
            out[j] += partial[c, j]
    return out


@njit(cache=True, parallel=True)
def column_dots(P, Q):
    """``out[j] = Σ_i P[i, j] Q[i, j]`` (float64)."""
    n, m = P.shape
    n_chunks = (n + ROWS_PER_CHUNK - 1) // ROWS_PER_CHUNK
    partial = np.empty((n_chunks, m))
    for c in prange(n_chunks):
        for j in range(m):
            partial[c, j] = 0.0
        for i in range(c * ROWS_PER_CHUNK, min(n, (c + 1) * ROWS_PER_CHUNK)):
            for j in range(m):
                partial[c, j] += np.float64(P[i, j]) * np.float64(Q[i, j])
    return _sum_chunks(partial)


@njit(cache=True, parallel=True)
def residual_update(R, Q, a):
    """``R -= Q · diag(a)`` in place; returns the squared column norms of the new ``R``."""
    n, m = R.shape
    n_chunks = (n + ROWS_PER_CHUNK - 1) // ROWS_PER_CHUNK
    partial = np.empty((n_chunks, m))
    for c in prange(n_chunks):
        for j in range(m):
            partial[c, j] = 0.0
        for i in range(c * ROWS_PER_CHUNK, min(n, (c + 1) * ROWS_PER_CHUNK)):
            for j in range(m):
                r = R[i, j] - R.dtype.type(a[j]) * Q[i, j]
                R[i, j] = r
                partial[c, j] += np.float64(r) * np.float64(r)
    return _sum_chunks(partial)


@njit(cache=True, parallel=True)
def direction_update(X, P, Z, a, beta):
    """``X += P · diag(a)`` and then ``P = Z + P · diag(beta)``, in place, in one pass."""
    n, m = X.shape
    for i in prange(n):
        for j in range(m):
            p = P[i, j]
            X[i, j] += X.dtype.type(a[j]) * p
            P[i, j] = Z[i, j] + X.dtype.type(beta[j]) * p


@njit(cache=True, parallel=True)
def fold_update(X, x_cols, X_lo, P, a, scale, cols):
    """Reliable update of ``block_cg(precision="mixed")`` for the columns ``c = cols[k]`` of the
    low-precision blocks: ``X[:, x_cols[k]] += scale[c] * (X_lo[:, c] + a[c] P[:, c])`` (in
    float64) and ``X_lo[:, c] = 0``.  One pass over the rows; ``X`` is float64, ``X_lo`` and
    ``P`` low precision, ``a`` and ``scale`` float64 vectors over all columns of ``X_lo``."""
    n = X.shape[0]
    for i in prange(n):
        for k in range(cols.shape[0]):
            c = cols[k]
            step = np.float64(X_lo[i, c]) + a[c] * np.float64(P[i, c])
            X[i, x_cols[k]] += scale[c] * step
            X_lo[i, c] = 0


@njit(cache=True, parallel=True)
def replace_residuals(R, P, cols, R_true, inv_norm, rescale):
    """``R[:, c] = R_true[:, k] * inv_norm[k]`` (cast to ``R``'s dtype) and
    ``P[:, c] *= rescale[k]`` for ``c = cols[k]``, in one pass over the rows."""
    n = R.shape[0]
    for i in prange(n):
        for k in range(cols.shape[0]):
            c = cols[k]
            R[i, c] = R.dtype.type(R_true[i, k] * inv_norm[k])
            P[i, c] = P.dtype.type(np.float64(P[i, c]) * rescale[k])

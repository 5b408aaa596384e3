"""Small exact or certified linear-algebra measurements used by the assertions.

Everything here measures in float64.  Matrices small enough to be formed densely are measured
exactly (LAPACK); larger operators are probed with a block Krylov subspace, whose Ritz values are
*certificates*: they always lie inside the true spectrum, so a violation found by probing is a
real violation, while a pass is only evidence.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.sparse as sp
import scipy.sparse.linalg as spla

# Operators with at most this many rows and columns are formed densely (n matvecs with the
# identity, 8 MB in float64) and measured exactly; larger ones are probed.
DENSE_MAX_N = 1000

# Block Krylov probe: PROBE_BLOCK random vectors, PROBE_DEPTH powers of the operator.  The
# basis has at most PROBE_BLOCK * (PROBE_DEPTH + 1) columns; extreme Ritz values converge fast
# (Kaniel–Paige–Saad), so a few steps find eigenvalues near the edges of the spectrum.
PROBE_BLOCK = 8
PROBE_DEPTH = 6


class NonFiniteError(ArithmeticError):
    """A measured matrix or probe product holds NaN or infinite values."""

    def __init__(self, n_bad, size, where):
        super().__init__(f"{n_bad} NaN or infinite value(s) out of {size} in {where}")
        self.n_bad = n_bad


def _require_finite(M, where):
    n_bad = int(M.size - np.count_nonzero(np.isfinite(M)))
    if n_bad:
        raise NonFiniteError(n_bad, M.size, where)
    return M


def machine_eps(*dtypes):
    """Largest unit roundoff among the floating dtypes given (float64 if none is floating)."""
    eps = np.finfo(np.float64).eps
    for dtype in dtypes:
        if dtype is None:
            continue
        dtype = np.dtype(dtype)
        if dtype.kind in "fc":
            eps = max(eps, float(np.finfo(dtype).eps))
    return eps


def operator_dtype(op):
    """Dtype of an operator, float64 when it has none."""
    dtype = getattr(op, "dtype", None)
    return np.dtype(np.float64) if dtype is None else np.dtype(dtype)


def apply(op, X):
    """``op @ X`` for a (n, k) block, in the operator's own arithmetic, returned as float64.

    ndarray and sparse inputs are used as given (their dtype); LinearOperators receive ``X`` in
    their own dtype, because matrix-free kernels may be compiled for that dtype only.
    """
    if isinstance(op, np.ndarray) or sp.issparse(op):
        if op.dtype.kind != "f":  # bool/int matrices: never truncate the probe vectors
            op = op.astype(np.float64)
        return np.asarray(op @ X.astype(op.dtype, copy=False), dtype=np.float64)
    lin = spla.aslinearoperator(op)
    return np.asarray(lin.matmat(X.astype(operator_dtype(op), copy=False)), dtype=np.float64)


def to_dense64(op):
    """Dense float64 copy of an operator (LinearOperators are applied to the identity)."""
    if isinstance(op, np.ndarray):
        return np.asarray(op, dtype=np.float64)
    if sp.issparse(op):
        return op.toarray().astype(np.float64, copy=False)
    return apply(op, np.eye(op.shape[1]))


def can_densify(op, max_n=DENSE_MAX_N):
    return max(op.shape) <= max_n


def abs_norm_bound(op):
    """An upper bound on ‖|A|‖₂ (≥ ‖A‖₂): √(‖A‖₁·‖A‖_∞), exact entries for arrays and sparse.

    ‖|A|‖₂ is the factor that multiplies the unit roundoff in the rounding error of ``A @ x``
    (Higham 2002, §3.5); the bound ‖M‖₂² ≤ ‖M‖₁‖M‖_∞ holds for every matrix M.  For a
    LinearOperator the entries are unknown: it is densified when small, otherwise ‖A‖₂ is
    estimated by power iteration on AᵀA (an estimate, not a bound; see ``norm2_estimate``).
    """
    if isinstance(op, np.ndarray) or sp.issparse(op):
        absolute = abs(op.astype(np.float64)) if sp.issparse(op) else np.abs(op.astype(np.float64))
        col = float(np.max(np.asarray(absolute.sum(axis=0)))) if op.size else 0.0
        row = float(np.max(np.asarray(absolute.sum(axis=1)))) if op.size else 0.0
        return float(np.sqrt(col * row))
    if can_densify(op):
        return abs_norm_bound(to_dense64(op))
    return norm2_estimate(op)


def norm2_estimate(op, n_iter=30, random_state=0):
    """Estimate ‖A‖₂ by power iteration on AᵀA (lower estimate, converges from below).

    A LinearOperator without ``rmatvec`` is assumed symmetric (Aᵀ = A).
    """
    lin = spla.aslinearoperator(op)
    if op.shape[0] == op.shape[1]:
        try:
            lin.rmatvec(np.zeros(op.shape[0], dtype=operator_dtype(op)))
        except NotImplementedError:
            lin = spla.LinearOperator(
                op.shape, matvec=lin.matvec, rmatvec=lin.matvec, dtype=operator_dtype(op)
            )
    rng = np.random.default_rng(random_state)
    x = rng.standard_normal(op.shape[1])
    x /= np.linalg.norm(x)
    estimate = 0.0
    dtype = operator_dtype(op)
    for _ in range(n_iter):
        y = np.asarray(lin.matvec(x.astype(dtype)), dtype=np.float64)
        estimate = float(np.linalg.norm(y))
        if estimate == 0.0:
            return 0.0
        z = np.asarray(lin.rmatvec(y.astype(dtype)), dtype=np.float64)
        norm_z = np.linalg.norm(z)
        if norm_z == 0.0:
            return estimate
        x = z / norm_z
    return estimate


def symmetric_summary(op, random_state=0, tolerance=None):
    """Asymmetry and extreme eigenvalues of the symmetric part of a square operator.

    Parameters
    ----------
    tolerance : callable, optional
        ``tolerance(norm) -> allowed asymmetry``.  In dense mode the Frobenius norm of A − Aᵀ
        (an upper bound on the spectral norm) is reported when it is already within the
        allowed value, saving an SVD; otherwise the exact spectral norm is computed.

    Returns
    -------
    summary : dict
        ``asymmetry`` (‖A − Aᵀ‖₂: exact, an upper bound ‖A − Aᵀ‖_F when that passes, or a lower
        bound when probed), ``lambda_min`` and ``lambda_max`` of (A + Aᵀ)/2 (exact, or Ritz
        values, which lie inside the spectrum, when probed), ``norm`` = max(|λ_min|, |λ_max|),
        and ``mode`` ("dense" or "probe").

    Raises
    ------
    NonFiniteError
        The dense matrix, or a product with the probe vectors, holds NaN or infinite values.
    """
    n = op.shape[0]
    if n == 0:
        return {
            "asymmetry": 0.0,
            "lambda_min": 0.0,
            "lambda_max": 0.0,
            "norm": 0.0,
            "mode": "dense",
        }
    if can_densify(op):
        M = _require_finite(to_dense64(op), "its entries")
        K = M - M.T
        eigenvalues = scipy.linalg.eigvalsh(0.5 * (M + M.T), check_finite=False)
        norm = float(max(abs(eigenvalues[0]), abs(eigenvalues[-1])))
        asymmetry = float(np.linalg.norm(K, "fro"))
        if asymmetry > 0.0 and (tolerance is None or asymmetry > tolerance(norm)):
            asymmetry = float(np.linalg.norm(K, 2))  # ‖K‖₂ ≤ ‖K‖_F: exact value when it matters
        mode = "dense"
    else:
        Q, AQ = _block_krylov(op, random_state)
        T = Q.T @ AQ
        asymmetry = float(np.linalg.norm(T - T.T, 2))
        eigenvalues = scipy.linalg.eigvalsh(0.5 * (T + T.T), check_finite=False)
        mode = "probe"
    lam_min, lam_max = float(eigenvalues[0]), float(eigenvalues[-1])
    return {
        "asymmetry": asymmetry,
        "lambda_min": lam_min,
        "lambda_max": lam_max,
        "norm": max(abs(lam_min), abs(lam_max)),
        "mode": mode,
    }


def _block_krylov(op, random_state):
    """Orthonormal basis Q of span[X, AX, ..., A^d X] and the product A Q (both float64)."""
    n = op.shape[0]
    rng = np.random.default_rng(random_state)
    block = min(PROBE_BLOCK, n)
    Q, _ = np.linalg.qr(rng.standard_normal((n, block)))
    basis, images = [Q], []
    for _ in range(PROBE_DEPTH):
        Z = _require_finite(apply(op, basis[-1]), "its products with the probe vectors")
        images.append(Z)
        scale = np.linalg.norm(Z)
        if scale == 0.0:
            break
        Z = Z / scale
        for _ in range(2):  # two Gram–Schmidt passes: one loses orthogonality in float64
            for V in basis:
                Z -= V @ (V.T @ Z)
        Q_new, R = np.linalg.qr(Z)
        keep = np.abs(np.diag(R)) > 1e-10
        if not np.any(keep):
            break
        basis.append(Q_new[:, keep])
        if sum(B.shape[1] for B in basis) >= n:
            break
    Q = np.hstack(basis)
    if len(images) < len(basis):
        last = _require_finite(apply(op, basis[-1]), "its products with the probe vectors")
        AQ = np.hstack([*images, last])
    else:
        AQ = None
    if AQ is None or AQ.shape[1] != Q.shape[1]:
        AQ = _require_finite(apply(op, Q), "its products with the probe vectors")
    return Q, AQ

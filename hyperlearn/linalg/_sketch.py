"""Building blocks of the randomized methods: operands, products, Gaussian blocks, small QRs.

Everything here is private and shared by ``_randomized`` (the public functions), ``_krylov_svd``,
``_fixed_accuracy`` and ``_lanczos``:

- :func:`_as_operand` turns an array, sparse matrix or LinearOperator into something
  :class:`_Products` can multiply (the one dtype rule of :mod:`hyperlearn.utils._validation`);
- :class:`_Products` forms ``A @ X`` and ``A.T @ Y`` for blocks in the fastest formulation for how
  ``A`` is stored, and checks what a user's LinearOperator returns;
- Gaussian test matrices drawn as scikit-learn draws them;
- thin QR factorisations (Householder, CholeskyQR2, LU, block Gram-Schmidt) and the sign convention.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator

from ..utils._validation import check_choice, describe, float_dtype_of

# Gram-Schmidt: a second pass when a column kept less than 1/sqrt(2) of its norm (Kahan/Parlett);
# a block is rank deficient when a diagonal entry of R is below sqrt(eps) times its largest norm.
_KAHAN_TWICE = 1.0 / math.sqrt(2.0)
_RANK_DEFICIENT_EPS_POWER = 0.5  # threshold = eps**0.5

NORMALIZERS = ("auto", "QR", "LU", "none")

# c in the symmetry test ||A - A^T||_F <= c sqrt(n) eps ||A||_F (see _check_symmetric); computed
# matrices sit far below it.  See benchmarks/TUNING.md
SYMMETRY_RTOL_FACTOR = 10.0
# pairs of Gaussian vectors of the LinearOperator probe (one product of 2 * this columns)
SYMMETRY_PROBES = 2
_SYMMETRY_PROBE_SEED = 0
# tile side of the dense test (two tiles fit in cache)
_SYMMETRY_TILE = 256


# --- operands --------------------------------------------------------------------------------


def _as_operand(M, name="M"):
    """Validate ``M`` and return ``(A, dtype)`` ready for ``A @ X`` and ``A.T @ X``.

    Dense input becomes a 2-D float array in its own memory order (``float_dtype_of``: float32
    and float16 become float32, everything else real float64), sparse input a float sparse matrix
    (LIL/DOK warn, as scikit-learn does, and become CSR), LinearOperators pass through untouched.
    """
    if isinstance(M, LinearOperator):
        if len(M.shape) != 2:
            raise ValueError(f"{name}={describe(M)} must be 2-D.")
        dtype = np.dtype(float_dtype_of(M.dtype if M.dtype is not None else np.float64, name))
        A = M
    elif sp.issparse(M):
        if M.format in ("lil", "dok"):
            warnings.warn(
                f"Calculating SVD of a {type(M).__name__} is expensive. "
                "CSR format is more efficient.",
                sp.SparseEfficiencyWarning,
                stacklevel=3,
            )
            M = M.tocsr()
        dtype = np.dtype(float_dtype_of(M.dtype, name))
        A = M if M.dtype == dtype else M.astype(dtype)
        data = A.data if hasattr(A, "data") else A.tocoo().data
        if not np.isfinite(data).all():
            raise ValueError(f"{name}={describe(M)} contains NaN or infinity.")
    else:
        try:
            arr = np.asarray(M)
        except Exception as exc:  # pragma: no cover - exotic inputs
            raise TypeError(f"{name}={describe(M)} cannot be converted to an array.") from exc
        if arr.ndim != 2:
            raise ValueError(
                f"{name} must be a 2-D array, sparse matrix or LinearOperator; "
                f"got an array of shape {arr.shape}."
            )
        dtype = np.dtype(float_dtype_of(arr.dtype, name))
        A = arr.astype(dtype, copy=False)
        if not np.isfinite(A).all():
            raise ValueError(f"{name}={describe(arr)} contains NaN or infinity.")
    if min(A.shape) < 1:
        raise ValueError(f"{name}={describe(A)} is empty: expected at least one row and column.")
    return A, dtype


# --- symmetry --------------------------------------------------------------------------------


def _dense_symmetry_defect(A):
    """``(||A - A^T||_F, ||A||_F)`` of a square array in one pass over square tiles (each pair
    of mirrored tiles read once, cache-friendly in either memory order, no n x n temporary)."""
    n, t = A.shape[0], _SYMMETRY_TILE
    defect = total = 0.0
    for i in range(0, n, t):
        for j in range(i, n, t):
            upper, lower = A[i : i + t, j : j + t], A[j : j + t, i : i + t]
            D = upper - lower.T
            weight = 1.0 if i == j else 2.0  # a mirrored pair stands for both tiles
            defect += weight * float(np.einsum("ij,ij->", D, D, dtype=np.float64))
            total += float(np.einsum("ij,ij->", upper, upper, dtype=np.float64))
            if i != j:
                total += float(np.einsum("ij,ij->", lower, lower, dtype=np.float64))
    return math.sqrt(defect), math.sqrt(total)


def _symmetry_defect(A, dtype):
    """``(||A - A^T||_F, ||A||_F, how)`` of a square operand: exact for arrays and sparse
    matrices; for a LinearOperator estimated from one product with
    SYMMETRY_PROBES pairs of Gaussian vectors, since ``E (y^T K x)^2 = ||K||_F^2`` and
    ``E ||A x||^2 = ||A||_F^2``: ``K = A - A^T`` is probed by ``y^T A x - x^T A y``."""
    n = A.shape[0]
    if isinstance(A, np.ndarray):
        return (*_dense_symmetry_defect(A), "exact")
    if sp.issparse(A):
        K = sp.csr_matrix(A - A.T)
        norm_a = float(np.linalg.norm(sp.csr_matrix(A).data))
        return float(np.linalg.norm(K.data)), norm_a, "exact"
    probe = np.random.default_rng(_SYMMETRY_PROBE_SEED).standard_normal((n, 2 * SYMMETRY_PROBES))
    AP = _Products(A, dtype).mm(probe.astype(dtype)).astype(np.float64)
    X, Y = probe[:, :SYMMETRY_PROBES], probe[:, SYMMETRY_PROBES:]
    ax, ay = AP[:, :SYMMETRY_PROBES], AP[:, SYMMETRY_PROBES:]
    defect = np.einsum("ij,ij->j", Y, ax) - np.einsum("ij,ij->j", X, ay)
    norm_k = float(np.sqrt(np.mean(defect**2)))
    norm_a = float(np.sqrt(np.mean(np.sum(AP**2, axis=0))))
    return (
        norm_k,
        norm_a,
        f"estimated by a random probe |y^T A x - x^T A y| ({SYMMETRY_PROBES} pairs)",
    )


def _check_symmetric(A, dtype, name="A"):
    """Refuse a square operand that is not symmetric to rounding:
    ``||A - A^T||_F <= SYMMETRY_RTOL_FACTOR * sqrt(n) * eps * ||A||_F``.

    Each entry of a computed matrix (a sum of at most n rounded terms) carries a rounding error
    of about ``sqrt(n) eps`` relative (probabilistic rounding analysis, Higham & Mary 2019);
    SYMMETRY_RTOL_FACTOR covers the few operations that produced ``A``.
    """
    n = A.shape[0]
    norm_k, norm_a, how = _symmetry_defect(A, dtype)
    eps = float(np.finfo(dtype).eps)
    tolerance = SYMMETRY_RTOL_FACTOR * math.sqrt(n) * eps * norm_a
    if not norm_k <= tolerance:
        relative = norm_k / norm_a if norm_a > 0 else math.inf
        raise ValueError(
            f"{name}={describe(A)} is not symmetric: ||{name} - {name}^T||_F = {norm_k:.3g} "
            f"({how}) is {relative:.3g} * ||{name}||_F, above the rounding tolerance "
            f"{SYMMETRY_RTOL_FACTOR:g} * sqrt(n) * eps = {tolerance / max(norm_a, 1e-300):.3g} "
            f"for n = {n} in {np.dtype(dtype).name}.  Pass ({name} + {name}.T) / 2, or "
            "check_symmetric=False to skip this check."
        )


# --- randomness ------------------------------------------------------------------------------


def _rng_of(random_state):
    """Return a RandomState/Generator so that successive draws continue one stream."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    from sklearn.utils import check_random_state

    try:
        return check_random_state(random_state)
    except ValueError as exc:
        raise ValueError(
            f"random_state={random_state!r} is invalid: expected None, an int, a "
            "numpy.random.RandomState or a numpy.random.Generator."
        ) from exc


def _normal(rng, shape, dtype):
    """Standard Gaussian block from a RandomState or Generator (continuing its stream)."""
    if isinstance(rng, np.random.Generator):
        return rng.standard_normal(size=shape).astype(dtype, copy=False)
    return rng.normal(size=shape).astype(dtype, copy=False)


def _gaussian(random_state, shape, dtype):
    """Standard Gaussian test matrix from the single source of randomness.

    ``int``/``None``/``RandomState`` draw with ``RandomState.normal`` exactly as scikit-learn does
    (so the same seed gives the same test matrix); a ``numpy.random.Generator`` is also accepted.
    """
    return _normal(_rng_of(random_state), shape, dtype)


# --- small dense kernels ---------------------------------------------------------------------


def _qr(Y):
    """Thin QR, orthonormal factor only; overwrites ``Y``."""
    Q, _ = sla.qr(Y, mode="economic", overwrite_a=True, check_finite=False)
    return Q


def _qr_r(Y):
    """Thin QR returning both factors; overwrites ``Y``."""
    return sla.qr(Y, mode="economic", overwrite_a=True, check_finite=False)


def _cholesky_qr2(W, threshold):
    """Thin QR of the tall ``W`` by Cholesky QR applied twice, or None if ``W`` is too ill
    conditioned for it.

    Two Gram matrices, two small Cholesky factors and two triangular solves: BLAS-3 work of
    about 4 m b^2 flops at GEMM speed (see benchmarks/TUNING.md for its speed against LAPACK's
    Householder QR).  One pass loses orthogonality like eps * cond(W)^2, the second restores it
    to rounding when cond(W) < eps^-1/2 (Yamamoto et al. 2015).  float32 blocks are factored in
    float64 (the blocks are thin, so the copy is cheap).  None is returned - and the caller uses
    Householder QR - when the Cholesky factorisation fails or a diagonal entry of R is at most
    ``threshold`` (numerical rank deficiency).  ``W`` is never overwritten.
    """
    # always a copy: the triangular solves overwrite X, and for an F-ordered W (A^T U blocks)
    # np.asfortranarray(X) would be W itself, which the Householder fallback still needs
    X = np.array(W, dtype=np.float64, order="F")
    R = None
    for _ in range(2):
        G = X.T @ X
        try:
            R_j = sla.cholesky(G, lower=False, check_finite=False)
        except np.linalg.LinAlgError:
            return None
        R = R_j if R is None else R_j @ R
        if np.abs(np.diag(R)).min() <= threshold or not np.isfinite(R_j).all():
            return None
        trsm = sla.get_blas_funcs("trsm", (R_j, X))
        # X <- X R_j^{-1} (right side, upper, no transpose)
        X = trsm(1.0, R_j, np.asfortranarray(X), side=1, lower=0, overwrite_b=1)
    return X.astype(W.dtype, copy=False), R.astype(W.dtype, copy=False)


def _lu(Y):
    """Row-permuted unit lower-triangular factor P L of Y (a cheap, well-conditioned basis)."""
    pl, _ = sla.lu(Y, permute_l=True, overwrite_a=True, check_finite=False)
    return pl


def _orthogonalize_against(Y, Q):
    """Remove from ``Y`` (in place) its components in range(Q), Q orthonormal.

    Classical Gram-Schmidt applied twice ("twice is enough", Giraud et al. 2005): two BLAS-3
    products per pass, and orthogonality to working precision afterwards.
    """
    if Q is None or Q.shape[1] == 0:
        return Y
    for _ in range(2):
        Y -= Q @ (Q.T @ Y)
    return Y


def _project_out(W, Q_old):
    """``C = Q_old^T W`` and ``W -= Q_old C`` in place, with Kahan's second pass where needed."""
    norms0 = np.linalg.norm(W, axis=0)
    if Q_old is None or not Q_old.shape[1]:
        return None, norms0
    C = Q_old.T @ W
    W -= Q_old @ C
    norms1 = np.linalg.norm(W, axis=0)
    if np.any(norms1 < _KAHAN_TWICE * norms0):
        c2 = Q_old.T @ W
        W -= Q_old @ c2
        C += c2
    return C, norms0


def _orth_block(W, Q_old, eps):
    """Orthonormalise the block ``W`` (overwritten) against ``Q_old`` and within itself.

    Returns ``(Q, R, C)`` with ``W_in = Q_old @ C + Q @ R`` up to rounding and ``[Q_old, Q]``
    orthonormal.  Classical Gram-Schmidt with a second pass only where a column lost more than
    ``1 - 1/sqrt(2)`` of its norm (Kahan's "twice is enough" test); in the Lanczos recurrence the
    first pass removes only rounding-level components, so the second pass is usually skipped.

    If the projected block is numerically rank deficient (the Krylov space is exhausted, e.g. for
    exactly low-rank input) Householder QR would invent completion columns that are not
    orthogonal to ``Q_old``.  Then a column-pivoted QR keeps the ``r`` significant directions,
    the other ``b - r`` columns are deterministic Gaussian vectors orthogonalised against
    everything (a block Lanczos restart), and ``R = Q^T W`` holds the exact coefficients (no
    longer triangular, which nothing downstream needs).
    """
    C, norms0 = _project_out(W, Q_old)
    reference = max(float(norms0.max()) if norms0.size else 0.0, np.finfo(W.dtype).tiny)
    threshold = eps**_RANK_DEFICIENT_EPS_POWER * reference
    factors = _cholesky_qr2(W, threshold) if W.shape[1] else None
    if factors is not None:
        return factors[0], factors[1], C
    W_keep = W.copy() if Q_old is not None and Q_old.shape[1] else None
    Q, R = _qr_r(W)
    if W_keep is None or not W.shape[1] or np.abs(np.diag(R)).min() > threshold:
        return Q, R, C
    Q_p, r_piv, _ = sla.qr(W_keep, mode="economic", pivoting=True, check_finite=False)
    r = int(np.sum(np.abs(np.diag(r_piv)) > threshold))
    rows, b = W_keep.shape
    basis = np.concatenate([Q_old, Q_p[:, :r]], axis=1)
    fill = np.random.default_rng(basis.shape[1]).standard_normal((rows, b - r)).astype(W.dtype)
    for _ in range(2):
        fill -= basis @ (basis.T @ fill)
    Q = np.concatenate([Q_p[:, :r], _qr(fill)], axis=1)
    return Q, Q.T @ W_keep, C


def _sign_flip_columns(U, V=None):
    """Make the largest-|.| entry of each column of ``U`` positive (scikit-learn's convention).

    ``V`` (rows aligned with U's columns, as ``Vt``) gets the same signs.  Ties go to the first
    index, as ``np.argmax`` does in ``sklearn.utils.extmath.svd_flip``; a zero column keeps its
    sign.
    """
    idx = np.argmax(np.abs(U), axis=0)
    signs = np.sign(U[idx, np.arange(U.shape[1])])
    signs[signs == 0] = 1
    U *= signs
    if V is not None:
        V *= signs[:, np.newaxis]
    return U, V


# --- products --------------------------------------------------------------------------------


def _writable(out, dtype):
    """``out`` as an array of ``dtype`` that the caller may overwrite (the Krylov recurrences
    update product blocks in place; a LinearOperator may return a read-only array)."""
    out = np.asarray(out, dtype=dtype)
    return out if out.flags.writeable else out.copy()


class _Products:
    """``A @ X`` and ``A.T @ Y`` for blocks, in the fastest formulation for how ``A`` is stored.

    For a C-ordered dense ``A`` the product ``A.T @ Y`` is written ``(Y.T @ A).T``, so that GEMM
    streams ``A`` in its storage order; for an F-ordered ``A`` (a transposed view) the roles swap
    (see benchmarks/TUNING.md).  Sparse matrices get C-ordered blocks, LinearOperators their own
    ``matmat``/``rmatmat``.  ``.T`` swaps the two products without touching ``A``.
    """

    def __init__(self, A, dtype, transposed=False, name="A"):
        self.A, self.dtype, self.transposed, self.name = A, np.dtype(dtype), transposed, name
        self.shape = A.shape[::-1] if transposed else A.shape
        if isinstance(A, np.ndarray) and A.flags.c_contiguous:
            self._kind = "C"
        elif isinstance(A, np.ndarray) and A.flags.f_contiguous:
            self._kind = "F"
        elif isinstance(A, np.ndarray):
            self.A, self._kind = np.ascontiguousarray(A), "C"
        elif sp.issparse(A):
            self._kind = "sparse"
        else:
            self._kind = "operator"

    @property
    def T(self):
        return _Products(self.A, self.dtype, not self.transposed, self.name)

    def _forward(self, X):
        A, kind = self.A, self._kind
        if kind == "C":
            # float64: the transposed formulation is faster for 20-60 columns, float32 the
            # direct one.  See benchmarks/TUNING.md
            return (X.T @ A.T).T if A.dtype == np.float64 else A @ X
        if kind == "F":
            return (X.T @ A.T).T
        if kind == "sparse":
            return A @ np.ascontiguousarray(X)
        return self._operator_call(A.matmat, "matvec/matmat", X, A.shape[0])

    def _backward(self, Y):
        A, kind = self.A, self._kind
        if kind == "C":
            return (Y.T @ A).T
        if kind == "F":
            return A.T @ Y
        if kind == "sparse":
            return A.T @ np.ascontiguousarray(Y)
        try:
            return self._operator_call(A.rmatmat, "rmatvec/rmatmat", Y, A.shape[1])
        except (NotImplementedError, TypeError) as exc:  # scipy: TypeError if rmatvec is None
            raise TypeError(
                f"the LinearOperator {self.name}={describe(A)} defines no rmatvec/"
                "rmatmat, but products with its transpose are needed here: give it rmatvec or "
                "rmatmat (for a symmetric operator, the same function as matvec/matmat)."
            ) from exc

    def _operator_call(self, fn, what, X, rows):
        """``fn(X)`` of a user's LinearOperator, checked: ``rows`` rows, one column per column
        of ``X``, finite (one pass over the result, cheap beside the product)."""
        op = f"{self.name}={describe(self.A)}"
        try:
            out = fn(X)
        except ValueError as exc:  # e.g. scipy reshaping a matvec result of the wrong length
            raise ValueError(
                f"the LinearOperator {op} failed in its {what} on a block of shape {X.shape} "
                f"(expected a result of shape {(rows, X.shape[1])}): {exc}"
            ) from exc
        out = np.asarray(out)
        expected = (rows, X.shape[1])
        if out.shape != expected:
            raise ValueError(
                f"the LinearOperator {op} returned a result of shape {out.shape} from its {what} "
                f"on a block of shape {X.shape}: expected shape {expected}."
            )
        if not np.isfinite(out).all():
            n_bad = int(out.size - np.count_nonzero(np.isfinite(out)))
            raise ValueError(
                f"the LinearOperator {op} returned {n_bad} NaN or infinite value(s) from its "
                f"{what} on a finite block of shape {X.shape}: expected finite values."
            )
        return out

    def mm(self, X):
        """``A @ X`` (of the possibly transposed ``A``) as an array of the working dtype."""
        out = self._backward(X) if self.transposed else self._forward(X)
        return _writable(out, self.dtype)

    def rmm(self, Y):
        """``A.T @ Y`` as an array of the working dtype."""
        out = self._forward(Y) if self.transposed else self._backward(Y)
        return _writable(out, self.dtype)

    def sym_mm(self, X):
        """``A @ X`` for a symmetric ``A``: whichever of ``A @ X``, ``A.T @ X`` is faster."""
        out = self._backward(X) if self._kind == "C" else self._forward(X)
        return _writable(out, self.dtype)


# --- subspace iteration (scikit-learn's Algorithm 4.3/4.4 with a normalizer) --------------------


def _resolve_normalizer(power_iteration_normalizer, n_iter):
    """'auto' is LU (scikit-learn: 'none' for ``n_iter <= 2``).

    Unnormalised, the sample loses the small directions to rounding; LU spans the same subspace
    in exact arithmetic at ~1/20 of a product.  See benchmarks/TUNING.md.
    """
    check_choice(power_iteration_normalizer, "power_iteration_normalizer", NORMALIZERS)
    if power_iteration_normalizer == "auto":
        return "none" if n_iter == 0 else "LU"
    return power_iteration_normalizer


def _subspace_range(A, Omega, n_iter, normalizer):
    """HMT Alg. 4.4 (normalized subspace iteration) exactly as scikit-learn runs it."""
    norm = {"QR": _qr, "LU": _lu, "none": lambda Y: Y}[normalizer]
    Q = Omega
    for _ in range(n_iter):
        Q = norm(A.mm(Q))
        Q = norm(A.rmm(Q))
    return _qr(A.mm(Q))


def _stage_b(Q, Z, svd_lapack_driver):
    """SVD of B = Q^T A given Z = A^T Q (tall): B = (U_z S V_z^T)^T."""
    V_z, s, U_zt = sla.svd(
        Z, full_matrices=False, lapack_driver=svd_lapack_driver, check_finite=False
    )
    return Q @ U_zt.T, s, V_z.T

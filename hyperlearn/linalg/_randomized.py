"""Randomized range finders, truncated SVD and symmetric eigendecompositions.

The functions here follow Halko, Martinsson & Tropp (2011).  ``randomized_range_finder`` and
``randomized_svd`` keep the argument names, defaults and result contract of
``sklearn.utils.extmath`` (same Gaussian test matrix for the same ``random_state``, same sign
convention, dtype preserved), so that code written for scikit-learn switches by changing one import.
What differs is *how* the default call spends its passes over the matrix (see ``randomized_svd``).

Inputs may be NumPy arrays, SciPy sparse matrices/arrays, or
:class:`scipy.sparse.linalg.LinearOperator` objects; operators are only ever applied to blocks of
vectors (``A @ X`` and ``A.T @ X``), never materialised.
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator

__all__ = [
    "nystrom",
    "randomized_eigh",
    "randomized_range_finder",
    "randomized_svd",
]

# --- named constants -------------------------------------------------------------------------

# n_iter="auto": scikit-learn's rule (7 iterations for few components, otherwise 4).  Our adaptive
# Krylov path uses it as a *cap* on the number of iterations, so it never makes more passes over
# the matrix than scikit-learn's default call does.
_SKLEARN_AUTO_ITER_SMALL_K = 7
_SKLEARN_AUTO_ITER_LARGE_K = 4
_SKLEARN_SMALL_K_FRACTION = 0.1

# Adaptive stopping of randomized_eigh's block Lanczos iteration.  With d_s the largest relative
# change of the top-k Ritz values between iterations s-1 and s, the iteration converges
# geometrically, so the error left after iteration s is estimated by d_s * min(1, d_s / d_{s-1})
# (the next change).  We stop when that estimate is <= RITZ_RTOL (relative) + RITZ_ATOL_FACTOR *
# eps * sigma_1 (the rounding floor of a Ritz value).  randomized_svd's Krylov path uses a
# residual-based estimate and a scikit-learn-relative target instead (below).
RITZ_RTOL_F64 = 1e-6
RITZ_RTOL_F32 = 1e-4
RITZ_ATOL_FACTOR = 100.0
# randomized_svd's default 'auto' stops instead when the estimated error of every top-k Ritz
# value is below the error predicted for scikit-learn's default call (_sklearn_accuracy):
# c * (1 - r^2) * r^(4q+2).  The constant c was measured for scikit-learn itself: over 330 calls
# (10 seeds; 500 x 400 and 900 x 700; spectra j^-1/4, j^-1/2, j^-1, exp(-j/10), exp(-j/30),
# flat and step; k = 5, 20, 60) its largest relative singular-value error divided by the
# c = 1 prediction had quantiles 5% 0.17, 10% 0.21, median 0.79.  We take the 5% quantile, rounded
# down; our error estimate itself overestimates the error (the geometric extrapolation ignores
# the superlinear convergence of block Krylov), which adds margin.
SKLEARN_RATE_CONSTANT = 0.3
# c in c * eps (relative): below this the estimated error of a Ritz value is treated as rounding.
# A floor relative to sigma_1 (c * eps * sigma_1 / sigma_j) was too generous: scikit-learn's
# Ritz values of small singular values are relatively accurate (float32, 2000 x 2000, fast decay,
# k = 50: 7.1e-7 = 6 eps at sigma_1 / sigma_50 = 134), and with c = 10 ours stopped at 2.9e-6.
SVD_ROUNDING_FLOOR = 10.0

# Block Krylov keeps every block, and full re-orthogonalisation costs about 6 (m + n) b^2 s^2
# flops over s blocks of width b, while the 2 s products cost 2 s * P, P the cost of one product
# of width b in GEMM-flop equivalents (2 m n b dense; SPARSE_FLOP_PENALTY * 2 nnz b sparse, since
# a sparse product is memory bound and runs ~an order of magnitude below GEMM speed).  'auto'
# uses block Krylov when that overhead is at most KRYLOV_MAX_OVERHEAD of the products, otherwise
# scikit-learn's scheme (LU-normalised subspace iteration, 7 or 4 iterations) with our faster
# products.  A QR-normalised subspace iteration with the Ritz stopping rule was measured as the
# fallback and lost to it in all six k = 200 benchmark cases (it rarely stops early there and QR
# costs 4x LU; 20000 x 2000 slow decay: 12.5 s vs 5.7 s, sklearn 10.2 s).  Measured: dense
# 2000 x 2000 with k = 200 (overhead ~ products) was 2-4x slower with Krylov; a kNN hypergraph
# Theta (n = 5000, 36 nnz/row, k = 10) was 3x slower with Krylov than with subspace iteration.
KRYLOV_MAX_OVERHEAD = 0.5
SPARSE_FLOP_PENALTY = 8.0
# the model counts min(max blocks, TYPICAL_KRYLOV_BLOCKS): with the Ritz stopping rule the
# benchmark runs stopped after 3-5 blocks
TYPICAL_KRYLOV_BLOCKS = 5

# randomized_eigh 'auto': block Lanczos gains one polynomial degree per product whatever the
# block width, so a block of k + EIGH_KRYLOV_OVERSAMPLES columns (enough for a boundary
# eigenvalue of multiplicity up to 3) reaches a given accuracy with fewer matrix-vector products
# than a block of k + n_oversamples.  Measured on the digits kNN+tag hypergraph Theta (n = 1797,
# k = 6, clustered top eigenvalues 0.81..0.76 above a dense bulk): error 1e-6 after 160 columns
# with a block of 16, after ~100 with a block of 8, after ~96 with a block of 6.
EIGH_KRYLOV_OVERSAMPLES = 2
# the residual test (eigenvectors of the projected matrix) runs only once the top Ritz values
# changed by at most EIGH_CHECK_FACTOR * rtol (relative) in the last step: a Ritz value that
# still moves by more cannot be within rtol unless convergence jumps by that factor in one
# step (measured on the digits hypergraph: about 3-10x per step).  Skipping costs at most one
# extra step, never accuracy.
EIGH_CHECK_FACTOR = 1e3

# randomized_svd 'auto': the block Krylov block has n_components + KRYLOV_SVD_OVERSAMPLES
# columns (capped by n_components + n_oversamples) and the iteration may use as many columns
# in all as scikit-learn's q + 1 blocks of n_components + n_oversamples.  Krylov gains one
# polynomial degree per block whatever its width; measured on the 2000 x 2000 benchmark matrices
# (quiet machine, time of scikit-learn's default / ours, both at least as accurate): slow
# decay k = 50: 1.14 with a block of 60, 1.65 with 52; fast decay k = 50: 2.10 vs 2.47; slow
# k = 10: 1.98 vs 1.97.
KRYLOV_SVD_OVERSAMPLES = 2
# ... narrowed further to max(KRYLOV_SVD_MIN_BLOCK, n_components // 2 + 2) columns: narrower
# blocks reach the same accuracy with fewer columns in all (block Lanczos), and the smaller
# basis also needs less re-orthogonalisation.  Measured on the 2000 x 2000 benchmark matrices
# (scikit-learn's default / ours, one thread, columns multiplied): slow decay k = 50, block 52:
# 572 columns, 1.78x; block 27: 375 columns, 2.17x (error 1.9e-4 against scikit-learn's 4.9e-3);
# fast k = 50: 364 -> 270 columns.  For k = 10 blocks of 5-7 multiplied fewer columns but were
# not faster (thin products run below GEMM speed), hence the minimum of 12.  A block of b
# columns resolves a singular value of multiplicity at most b.
KRYLOV_SVD_MIN_BLOCK = 12
# ... and the narrow block is abandoned (the iteration restarts with n_components + 2 columns)
# as soon as b of the top n_components Ritz values lie within a relative spread of
# CLUSTER_RTOL: block Lanczos with b columns finds at most b copies of a repeated singular
# value (exactly; for a cluster narrower than about 1/degree^2 it finds more only slowly), and
# the residual test cannot see the copies it never found.  Measured (1500 x 1200, forty
# singular values 1 above 0.1, k = 30): a block of 17 returned 17 ones and 13 values 0.1 with
# every residual at rounding level (relative error 0.9).  A cluster of width 1e-2 is not
# resolved by the polynomial degrees reached within the budget (about 10-20), hence the 1e-2.
CLUSTER_RTOL = 1e-2
# see _residual_error_estimate: a Ritz value marks the edge of a cluster for the block error
# estimate only if its residual is at most this fraction of its distance to the cluster
CLUSTER_GAP_TRUST = 0.1
# Budget of the adaptive iteration on dense input, in GEMM-flop equivalents: a product of b
# columns costs about 2 m n (b + DENSE_PASS_FIXED_COLUMNS) (measured with OpenBLAS, one thread,
# 2000^2 and 5000^2, float64 and float32: 2000^2 float64 7.9 ms for 12 columns, 7.6 for 20, 14.2
# for 60, 20.3 for 100; the fixed part is streaming A), re-orthogonalising a block of b against
# h columns 4 (m + n) h b on each side, and the stopping test's eigendecomposition of an h x h
# Gram matrix EIGH_FLOP_FACTOR h^3 (measured 12-30 for h = 100-300).  The iteration may spend
# what scikit-learn's q + 1 blocks of l columns cost (2 (q + 1) products of l columns): counting
# columns alone let a block of 17 run 34 passes where scikit-learn makes 16, and 3x its time on
# a flat spectrum (1500 x 1200, k = 30: 282 ms vs 95 ms).
DENSE_PASS_FIXED_COLUMNS = 32
EIGH_FLOP_FACTOR = 15.0
# float32 GEMM against float64, one thread (2000^2, 60 columns: 6.7 ms vs 14.2 ms); without it
# the budget let float32 runs on clustered spectra take up to 1.5x scikit-learn's time
FLOAT32_GEMM_SPEEDUP = 2.0


# ... and when the budget (or the matrix's size) allows fewer blocks than this, scikit-learn's
# scheme is used instead: block Lanczos reaches subspace iteration's accuracy with about half
# its polynomial degree (Chebyshev), and a run cut off after one or two blocks was measured
# far less accurate (a forced sweep of 300 clustered 200-500 x 150-500 matrices: relative
# singular-value errors up to 0.7 where scikit-learn's were 4e-3, none after this rule)
def _krylov_min_blocks(n_iter):
    return max(2, (n_iter + 1) // 2 + 1)


# the half-step test is skipped while the last full test's estimate exceeded its goal by more
# than HALF_STEP_SKIP_RATIO: measured, one half step reduced the estimate by 1.4-20x on the
# benchmark spectra, so it could not have passed (saves its eigendecomposition on long runs)
HALF_STEP_SKIP_RATIO = 1e3

# Fixed-accuracy mode: the a-posteriori estimate of ||(I - QQ^T) A|| uses the Gaussian test vectors
# of the next block (HMT 2011, Lemma 4.1):  P[ ||E|| > a * sqrt(2/pi) * max_i ||E w_i|| ] <= a^-r.
# We choose `a` so that the failure probability a^-r is at most TOL_FAILURE_PROBABILITY.
TOL_FAILURE_PROBABILITY = 1e-6
_TOL_MIN_BLOCK = 10
# power steps per block in fixed-accuracy mode with n_iter='auto': they sharpen both the basis and
# the error estimate (the estimate's slack factor a*sqrt(2/pi) is raised to the power 1/(2q+1)).
_TOL_AUTO_POWER_STEPS = 2

# Gram-Schmidt: a second pass when a column kept less than 1/sqrt(2) of its norm (Kahan/Parlett);
# a block is treated as rank deficient when a diagonal entry of R is below sqrt(eps) times the
# largest column norm (then its Householder completion is re-orthogonalised).
_KAHAN_TWICE = 1.0 / math.sqrt(2.0)
_RANK_DEFICIENT_EPS_POWER = 0.5  # threshold = eps**0.5


# --- validation ------------------------------------------------------------------------------


def _describe(value):
    if isinstance(value, np.ndarray) or sp.issparse(value) or isinstance(value, LinearOperator):
        return f"{type(value).__name__}(shape={value.shape}, dtype={value.dtype})"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _work_dtype(dtype, name):
    dtype = np.dtype(dtype)
    if dtype == np.float32:
        return np.dtype(np.float32)
    if dtype.kind in "biuf":
        return np.dtype(np.float64)
    raise TypeError(
        f"{name} has dtype {dtype}, which is not supported: expected real numbers "
        "(float32, float64; bool/int/float16 are converted to float64)."
    )


def _check_matrix(M, name="M"):
    """Validate ``M`` and return ``(A, dtype)`` ready for ``A @ X`` and ``A.T @ X``.

    Dense input becomes a 2-D float array (float32 kept, everything else float64), sparse input a
    float sparse matrix (LIL/DOK warn, as scikit-learn does, and are converted to CSR), and
    LinearOperators pass through untouched.
    """
    if isinstance(M, LinearOperator):
        if len(M.shape) != 2:
            raise ValueError(f"{name}={_describe(M)} must be 2-D.")
        dtype = _work_dtype(M.dtype if M.dtype is not None else np.float64, name)
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
        dtype = _work_dtype(M.dtype, name)
        A = M if M.dtype == dtype else M.astype(dtype)
        data = A.data if hasattr(A, "data") else A.tocoo().data
        if not np.isfinite(data).all():
            raise ValueError(f"{name}={_describe(M)} contains NaN or infinity.")
    else:
        try:
            arr = np.asarray(M)
        except Exception as exc:  # pragma: no cover - exotic inputs
            raise TypeError(f"{name}={_describe(M)} cannot be converted to an array.") from exc
        if arr.ndim != 2:
            raise ValueError(
                f"{name} must be a 2-D array, sparse matrix or LinearOperator; "
                f"got an array of shape {arr.shape}."
            )
        dtype = _work_dtype(arr.dtype, name)
        A = arr.astype(dtype, copy=False)
        if not np.isfinite(A).all():
            raise ValueError(f"{name}={_describe(arr)} contains NaN or infinity.")
    if min(A.shape) < 1:
        raise ValueError(f"{name}={_describe(A)} is empty: expected at least one row and column.")
    return A, dtype


def _check_int(value, name, *, low, high=None, allow=()):
    if value in allow and isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        options = " or ".join([repr(a) for a in allow] + ["an integer"])
        raise TypeError(f"{name}={value!r} is invalid: expected {options}.")
    value = int(value)
    if value < low or (high is not None and value > high):
        bounds = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name}={value} is out of range: expected an integer {bounds}.")
    return value


def _check_choice(value, name, choices):
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name}={value!r} is invalid: expected one of {sorted(choices)}.")
    return value


def _gaussian(random_state, shape, dtype):
    """Standard Gaussian test matrix from the single source of randomness.

    ``int``/``None``/``RandomState`` draw with ``RandomState.normal`` exactly as scikit-learn does
    (so the same seed gives the same test matrix); a ``numpy.random.Generator`` is also accepted.
    """
    if isinstance(random_state, np.random.Generator):
        G = random_state.standard_normal(size=shape)
    else:
        from sklearn.utils import check_random_state

        try:
            rs = check_random_state(random_state)
        except ValueError as exc:
            raise ValueError(
                f"random_state={random_state!r} is invalid: expected None, an int, a "
                "numpy.random.RandomState or a numpy.random.Generator."
            ) from exc
        G = rs.normal(size=shape)
    return G.astype(dtype, copy=False)


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
    about 4 m b^2 flops at GEMM speed, measured 2-3x faster than LAPACK's Householder QR with
    explicit Q for 2000 x 60 blocks.  One pass loses orthogonality like eps * cond(W)^2, the
    second restores it to rounding when cond(W) < eps^-1/2 (Yamamoto et al. 2015).  float32 blocks
    are factored in float64 (the blocks are thin, so the copy is cheap).  None is returned - and
    the caller uses Householder QR - when the Cholesky factorisation fails or a diagonal entry of
    R is at most ``threshold`` (numerical rank deficiency).
    """
    # always a copy: the triangular solves overwrite X, and when W is F-ordered (A^T U blocks
    # are) np.asfortranarray(X) would be W itself - a bail-out after the first solve then left
    # W overwritten with W R^-1 for the caller's Householder fallback (found on a block that
    # became rank deficient in the second pass: the relation W = Q_old C + Q R was off by 0.7)
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


def _writable(out, dtype):
    """``out`` as an array of ``dtype`` that the caller may overwrite (the Krylov recurrences
    update product blocks in place; a LinearOperator may return a read-only array)."""
    out = np.asarray(out, dtype=dtype)
    return out if out.flags.writeable else out.copy()


class _Products:
    """``A @ X`` and ``A.T @ Y`` for blocks, in the fastest formulation for how ``A`` is stored.

    Measured (OpenBLAS, one thread): for a C-ordered dense ``A`` the product ``A.T @ Y`` is
    1.4-5x slower than the same product written ``(Y.T @ A).T`` (20000 x 2000, 20 columns:
    334 ms vs 145 ms; 1000 x 800: 7.0 ms vs 1.2 ms), because GEMM then streams ``A`` in its
    storage order.  For an F-ordered ``A`` (a transposed view) the roles swap.  Sparse matrices
    get C-ordered blocks (CSR products with F-ordered blocks were slower) and LinearOperators
    their own ``matmat``/``rmatmat``.  ``.T`` swaps the two products without touching ``A``.
    """

    def __init__(self, A, dtype, transposed=False):
        self.A, self.dtype, self.transposed = A, np.dtype(dtype), transposed
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
        return _Products(self.A, self.dtype, not self.transposed)

    def _forward(self, X):
        A, kind = self.A, self._kind
        if kind == "C":
            # float64: the transposed formulation measured 1.1-1.3x faster for 20-60 columns
            # (2000 x 2000, 60 columns: 11.3 ms vs 14.0 ms); float32: A @ X was faster
            return (X.T @ A.T).T if A.dtype == np.float64 else A @ X
        if kind == "F":
            return (X.T @ A.T).T
        if kind == "sparse":
            return A @ np.ascontiguousarray(X)
        return A.matmat(X)

    def _backward(self, Y):
        A, kind = self.A, self._kind
        if kind == "C":
            return (Y.T @ A).T
        if kind == "F":
            return A.T @ Y
        if kind == "sparse":
            return A.T @ np.ascontiguousarray(Y)
        try:
            return A.rmatmat(Y)
        except (NotImplementedError, TypeError) as exc:  # scipy: TypeError if rmatvec is None
            raise TypeError(
                f"the LinearOperator {type(A).__name__}(shape={A.shape}) defines no rmatvec/"
                "rmatmat, but products with its transpose are needed here: give it rmatvec or "
                "rmatmat (for a symmetric operator, the same function as matvec/matmat)."
            ) from exc

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


# --- range finder (scikit-learn's Algorithm 4.3/4.4 with a normalizer) -------------------------


def _resolve_normalizer(power_iteration_normalizer, n_iter):
    _check_choice(
        power_iteration_normalizer, "power_iteration_normalizer", {"auto", "QR", "LU", "none"}
    )
    if power_iteration_normalizer == "auto":
        # scikit-learn's 'auto' is 'none' for n_iter <= 2.  Unnormalised, (AA^T)^q A Omega has
        # condition number ~ kappa^(2q+1) and its basis loses the small directions: on exactly
        # low-rank input with singular values in [1e-4, 1] we measured errors up to 4e6 (q = 1)
        # and 1.5e11 (q = 2) times the rounding term sqrt(max(m, n)) eps ||A||, against <= 8 with
        # LU.  LU spans the same subspace in exact arithmetic (so the results equal
        # scikit-learn's up to its rounding) and costs ~1/20 of a product, so we always use it.
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


def randomized_range_finder(
    A, *, size, n_iter, power_iteration_normalizer="auto", random_state=None
):
    """Orthonormal matrix whose range approximates the range of ``A``.

    Same contract as ``sklearn.utils.extmath.randomized_range_finder``: ``n_iter`` normalized power
    iterations on an ``(A.shape[1], size)`` Gaussian test matrix, then a QR factorisation; the same
    ``random_state`` draws the same test matrix as scikit-learn.

    Parameters
    ----------
    A : {ndarray, sparse matrix, LinearOperator} of shape (m, n)
        Input matrix.  Operators are applied to blocks (``A @ X``, ``A.T @ X``) only.
    size : int
        Number of columns of the returned basis (capped at ``min(m, n)``).
    n_iter : int
        Number of power iterations (each costs two passes over ``A``).
    power_iteration_normalizer : {'auto', 'QR', 'LU', 'none'}, default='auto'
        Factorisation applied after every product: 'auto' is 'LU' (scikit-learn: 'none' when
        ``n_iter <= 2``; LU spans the same subspace but keeps exactly low-rank input accurate to
        rounding).  'none' overflows or loses small directions for large ``n_iter``.
    random_state : int, RandomState, Generator or None, default=None
        Source of the Gaussian test matrix.

    Returns
    -------
    Q : ndarray of shape (m, size)
        Orthonormal columns; float32 when ``A`` is float32, float64 otherwise.

    Raises
    ------
    ValueError, TypeError
        For a non-2-D, empty, complex or non-finite ``A`` and invalid parameters.

    Notes
    -----
    The power scheme samples :math:`Y = (AA^T)^q A\\Omega`; HMT (2011, Thm. 9.2) bound the error by
    :math:`\\|(I-P_Y)A\\| \\le \\|(I-P_Y)(AA^T)^qA\\|^{1/(2q+1)}`.

    References
    ----------
    N. Halko, P.-G. Martinsson, J. A. Tropp, "Finding structure with randomness", SIAM Review
    53(2), 2011, Algorithms 4.3 and 4.4.

    Examples
    --------
    >>> import numpy as np
    >>> from hyperlearn.linalg import randomized_range_finder
    >>> A = np.outer(np.arange(1.0, 6.0), np.ones(4))
    >>> Q = randomized_range_finder(A, size=1, n_iter=2, random_state=0)
    >>> bool(np.allclose(Q @ (Q.T @ A), A))
    True
    """
    A, dtype = _check_matrix(A, "A")
    size = _check_int(size, "size", low=1)
    n_iter = _check_int(n_iter, "n_iter", low=0)
    normalizer = _resolve_normalizer(power_iteration_normalizer, n_iter)
    Omega = _gaussian(random_state, (A.shape[1], size), dtype)
    return _subspace_range(_Products(A, dtype), Omega, n_iter, normalizer)


# --- adaptive block Krylov (block Golub-Kahan with full re-orthogonalisation) -------------------


class _RitzMonitor:
    """Tracks the top-k Ritz values across iterations and decides when to stop.

    ``target`` is a relative tolerance (float) or a callable mapping all current Ritz values to
    one (see :func:`_sklearn_accuracy`).  The error
    left is estimated by the last change extrapolated geometrically (see RITZ_RTOL); a
    component has converged when that is at most its target plus the rounding floor
    RITZ_ATOL_FACTOR * eps * theta_1 / theta_j.
    """

    def __init__(self, k, target, eps):
        self.k, self.target, self.eps = k, target, eps
        self.prev = None
        self.prev_change = None
        self.iterations = 0

    def converged(self, ritz_all):
        self.iterations += 1
        k = self.k
        ritz_all = np.asarray(ritz_all, dtype=np.float64)
        ritz = ritz_all[:k]
        done = False
        if self.prev is not None and self.prev.shape[0] == ritz.shape[0]:
            scale = np.maximum(np.abs(ritz), np.finfo(np.float64).tiny)
            change = np.abs(ritz - self.prev) / scale
            if self.prev_change is not None:
                ratio = np.minimum(1.0, change / np.maximum(self.prev_change, 1e-300))
                estimate = change * ratio
            else:
                estimate = change
            floor = RITZ_ATOL_FACTOR * self.eps * float(np.max(np.abs(ritz))) / scale
            target = self.target(ritz_all) if callable(self.target) else self.target
            done = bool(np.all(estimate <= target + floor))
            self.prev_change = change
        self.prev = ritz
        return done


def _sklearn_accuracy(k, width, n_iter):
    """Largest relative error of the top-k singular values predicted for scikit-learn's default.

    Subspace iteration with ``n_iter`` power iterations and a block of ``width`` columns leaves in
    the j-th Ritz value a relative error of about
    ``c * (1 - r_j^2) * r_j^(4 n_iter + 2)``, ``r_j = sigma_{width+1} / sigma_j`` (the angle to the
    j-th singular vector shrinks like r_j^(2 n_iter + 1) per Saad's bound, the Ritz value errs by
    its square, scaled by the relative gap); the target is its maximum over j <= k, so every
    top-k Ritz value of ours is asked to be as accurate as scikit-learn's least accurate one
    (the accuracy measure of the benchmark).  We evaluate it on the current Ritz values (lower
    bounds of the singular values; sigma_{width+1} is underestimated, so the prediction is too
    small, i.e. on the safe side) with c = SKLEARN_RATE_CONSTANT.
    """

    def target(ritz):
        ritz = np.abs(np.asarray(ritz, dtype=np.float64))
        if ritz.shape[0] <= width:  # sigma_{width+1} not estimated yet: no early stop
            return 0.0
        top = np.maximum(ritz[:k], np.finfo(np.float64).tiny)
        r = np.minimum(1.0, ritz[width] / top)
        return SKLEARN_RATE_CONSTANT * float(np.max((1.0 - r * r) * r ** (4 * n_iter + 2)))

    return target


class _ClusterWiderThanBlockError(Exception):
    """Raised by :func:`_block_krylov_svd` when a cluster may hide copies the block misses."""


class _KrylovBudgetTooSmallError(Exception):
    """Raised by :func:`_adaptive_krylov` when the budget allows fewer blocks than
    :func:`_krylov_min_blocks` (``randomized_svd`` then uses scikit-learn's scheme)."""


def _cluster_fills_block(sv, k, b):
    """Whether ``b`` of the top-``k`` values ``sv`` lie within a relative spread CLUSTER_RTOL."""
    top = np.asarray(sv[:k], dtype=np.float64)
    if b > top.shape[0]:
        return False
    return bool(np.any(top[b - 1 :] >= (1.0 - CLUSTER_RTOL) * top[: top.shape[0] - b + 1]))


def _krylov_block_budget(m, n, b, width, n_iter, gemm_speedup=1.0):
    """Number of Krylov blocks of width ``b`` that cost at most what scikit-learn's scheme
    (``n_iter`` power iterations on ``width`` columns) costs on a dense ``m x n`` matrix; at
    least one.  See DENSE_PASS_FIXED_COLUMNS.  ``gemm_speedup``: how much faster the products
    and the re-orthogonalisation run than in float64 (FLOAT32_GEMM_SPEEDUP for float32); the
    stopping test's eigendecomposition runs in float64 either way."""
    product = 2.0 * m * n / gemm_speedup
    budget = 2.0 * (n_iter + 1) * product * (width + DENSE_PASS_FIXED_COLUMNS)
    spent, blocks = 0.0, 0
    while True:
        h = (blocks + 1) * b
        cost = 2.0 * product * (b + DENSE_PASS_FIXED_COLUMNS)
        cost += 2.0 * 4.0 * (m + n) * h * b / gemm_speedup
        cost += 2.0 * EIGH_FLOP_FACTOR * float(h) ** 3
        if blocks >= 1 and spent + cost > budget:
            return blocks
        spent += cost
        blocks += 1


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
    C = None
    norms0 = np.linalg.norm(W, axis=0)
    if Q_old is not None and Q_old.shape[1]:
        C = Q_old.T @ W
        W -= Q_old @ C
        norms1 = np.linalg.norm(W, axis=0)
        if np.any(norms1 < _KAHAN_TWICE * norms0):
            c2 = Q_old.T @ W
            W -= Q_old @ c2
            C += c2
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


def _residual_error_estimate(sv, res, k, width, eps):
    """Estimated relative errors of the top-k Ritz values ``sv`` with residual norms ``res``.

    For a Ritz triplet with ``A^T u = theta v`` and ``||A v - theta u|| = res`` (the situation
    of :func:`_block_krylov_svd`), ``theta^2`` is a Ritz value of ``A A^T`` with residual
    ``theta * res``.  A singular value lies within ``res`` of ``theta`` (first-order bound), and
    by the quadratic (Kato-Temple type) bound the error of ``theta^2`` is at most
    ``theta^2 res^2 / gap`` with ``gap`` the distance to the spectrum not captured by the
    basis, here estimated by ``theta_j^2 - theta_{width+1}^2`` (the first Ritz value past the
    block width).  The relative error of ``theta_j`` is then about ``res^2 / (2 gap)``.  Returned
    with the rounding floor SVD_ROUNDING_FLOOR * eps subtracted (clipped at 0).
    """
    sv = np.asarray(sv, dtype=np.float64)
    res_all = np.asarray(res, dtype=np.float64)
    res = res_all[:k]
    tiny = np.finfo(np.float64).tiny
    top = np.maximum(sv[:k], tiny)
    est = res / top
    if sv.shape[0] > width:
        gap = top * top - sv[width] ** 2
        quad = np.where(gap > 0, res * res / (2.0 * np.maximum(gap, tiny)), np.inf)
        est = np.minimum(est, quad)
    count = min(res_all.shape[0], sv.shape[0])
    if count > k:
        # Cluster (block) form, for Ritz values inside a cluster, where theta_width lies in the
        # same cluster and the single-vector form falls back to res / theta: the Ritz values
        # above index p taken together err by at most ||R_{<p}||^2 / gap_p (Kato-Temple for a
        # group), gap_p the distance to the spectrum below; in AA^T terms the residual of
        # theta_i^2 is theta_i * res_i, so for theta_j (j < p) the relative error is at most
        # sum_{i<p} theta_i^2 res_i^2 / (2 theta_j^2 (theta_j^2 - theta_p^2)).  theta_p stands
        # for the spectrum below only once it has converged itself: p counts only where
        # res_p <= CLUSTER_GAP_TRUST * (theta_j - theta_p).  (Without that condition a Ritz
        # value of a cluster member not found yet, far below the cluster, gave estimates 25x
        # below the true error.)  Best p per j.
        theta = sv[:count]
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            weighted = np.cumsum((theta * res_all[:count]) ** 2)  # S_p at index p - 1
            S = weighted[:-1][None, :]  # groups {0..p-1} for p = 1..count-1
            distance = top[:, None] - theta[1:][None, :]
            gaps = top[:, None] ** 2 - theta[1:][None, :] ** 2
            block = S / (2.0 * top[:, None] ** 2 * np.maximum(gaps, tiny))
        trusted = res_all[1:count][None, :] <= CLUSTER_GAP_TRUST * distance
        valid = (np.arange(1, count)[None, :] > np.arange(k)[:, None]) & (gaps > 0) & trusted
        block = np.where(valid & np.isfinite(block), block, np.inf)
        est = np.minimum(est, block.min(axis=1))
    floor = SVD_ROUNDING_FLOOR * eps
    return np.maximum(est - floor, 0.0)


def _block_krylov_svd(
    A, Omega, k, max_iter, target, dtype, half_steps=True, gap_index=None, cluster_check=False
):
    """Randomized block Krylov SVD: block Lanczos bidiagonalisation, full re-orthogonalisation.

    Builds orthonormal U = [U_1..U_s] spanning K_s(AA^T, A Omega) and V = [V_1..V_{s+1}], and
    records every orthogonalisation coefficient so that U^T A = B_ext V^T holds to rounding, with
    B_ext of size (s b) x ((s+1) b).  The SVD of that small matrix is then exactly the HMT stage-B
    SVD of Q^T A with Q = U, for one product A^T U_s (no pass with the whole basis).

    Stopping: after block s is closed, the product A V_{s+1} (the next block's U-step) gives
    the residuals of the current Ritz triplets for free: with B_ext = Y diag(theta) Z^T,
    ``A^T U y_j = theta_j V z_j`` exactly and ``||A V z_j - theta_j U y_j|| =
    ||R_{s+1} z_j[last block]||`` (R_{s+1} the triangular factor of that U-step).  The
    iteration stops when the error estimate of :func:`_residual_error_estimate` is below
    ``target`` (a relative tolerance, or a callable of the Ritz values such as
    :func:`_sklearn_accuracy`) for every top-k value, and returns the factorisation of block s.

    Half-step test (``half_steps``): already after the V-step of block s, the Ritz triplets of
    the square ``B_small = U^T A V_{1..s}`` satisfy ``A V z_j = theta_j U y_j`` exactly and
    ``||A^T U y_j - theta_j V z_j|| = ||L_s y_j[last block]||``.  Their values are lower bounds
    of those of ``B_ext`` (interlacing: ``B_ext`` has the extra columns of ``V_{s+1}``), which
    in turn are lower bounds of the singular values of ``A``, so when this test passes the
    factorisation of ``B_ext`` of block s is returned at once, saving the U-step (one pass).
    Measured on the slow-decay benchmark matrices it stops one pass earlier in about half of
    the cases.

    ``gap_index``: index of the Ritz value that stands for the spectrum not captured in the
    Kato-Temple estimate (default ``b``; ``randomized_svd`` passes ``n_components + 2`` when its
    block is narrower than that).

    ``cluster_check``: raise ``_ClusterWiderThanBlockError`` as soon as ``b`` of the top-k Ritz
    values of a stopping test (or of the final factorisation) lie within CLUSTER_RTOL of each
    other: the block may have missed copies of that cluster (see CLUSTER_RTOL).

    Passes over A (width b = Omega.shape[1]): 2 s or 2 s + 1 when stopping after s blocks,
    2 s for the full ``max_iter + 1`` blocks.  Subspace iteration with q power iterations makes
    2 q + 2 passes, so at most as many as scikit-learn's scheme with q = ``max_iter``.
    """
    m, n = A.shape
    b = Omega.shape[1]
    gap_index = b if gap_index is None else gap_index
    eps = np.finfo(dtype).eps
    max_blocks = max(1, min(max_iter + 1, min(m, n) // b - 1))
    U_buf = np.empty((m, max_blocks * b), dtype=dtype, order="F")
    V_buf = np.empty((n, (max_blocks + 1) * b), dtype=dtype, order="F")
    B_small = np.zeros((max_blocks * b, max_blocks * b), dtype=dtype)  # U^T A V
    B_ext = np.zeros((max_blocks * b, (max_blocks + 1) * b), dtype=dtype)  # U^T A in V coords

    V_buf[:, :b] = _qr(Omega)
    U_1, R, _ = _orth_block(A.mm(V_buf[:, :b]), None, eps)
    U_buf[:, :b] = U_1
    B_small[:b, :b] = R
    s = 1
    last_ratio = 0.0  # estimate / goal of the last full test (0: no test yet)
    while True:
        lo, hi = (s - 1) * b, s * b
        # V-step:  A^T U_s = V_s R_s^T + V_{1..s} C + V_{s+1} L
        Z = A.rmm(U_buf[:, lo:hi])
        Z -= V_buf[:, lo:hi] @ B_small[lo:hi, lo:hi].T
        V_new, L, C = _orth_block(Z, V_buf[:, :hi], eps)
        V_buf[:, hi : hi + b] = V_new
        B_ext[lo:hi, :hi] = C.T
        B_ext[lo:hi, lo:hi] += B_small[lo:hi, lo:hi]
        B_ext[lo:hi, hi : hi + b] = L.T
        if s == max_blocks:
            break
        if hi > b and half_steps and last_ratio <= HALF_STEP_SKIP_RATIO:
            # Ritz triplets of U^T A V (V without its newest block): A V z = theta U y exactly
            # and ||A^T U y - theta V z|| = ||L y[last block]||; their values are lower
            # bounds of those of B_ext (interlacing), so passing certifies B_ext as well and
            # saves the U-step
            sv, Y, _ = _gram_ritz(B_ext[:hi, :hi])
            if cluster_check and _cluster_fills_block(sv, k, b):
                raise _ClusterWiderThanBlockError
            kk = min(k, hi)
            res = np.linalg.norm(L.astype(np.float64) @ Y[lo:hi], axis=0)
            goal = target(sv) if callable(target) else target
            est = _residual_error_estimate(sv, res, kk, gap_index, eps)
            if np.all(est <= goal):
                break
        # U-step:  A V_{s+1} = U_s L^T + U_{1..s} D + U_{s+1} R
        W = A.mm(V_new)
        W -= U_buf[:, lo:hi] @ L.T
        U_new, R, D = _orth_block(W, U_buf[:, :hi], eps)
        U_buf[:, hi : hi + b] = U_new
        B_small[:hi, hi : hi + b] = D
        B_small[lo:hi, hi : hi + b] += L.T
        B_small[hi : hi + b, hi : hi + b] = R
        # residuals of the Ritz triplets of block s (see the docstring)
        sv, Y, B_f64 = _gram_ritz(B_ext[:hi, : hi + b])
        if cluster_check and _cluster_fills_block(sv, k, b):
            raise _ClusterWiderThanBlockError
        kk = min(k, hi)
        with np.errstate(over="ignore"):  # sv at rounding level: res inf, never trusted
            z_last = (B_f64[:, hi:].T @ Y) / np.maximum(sv, np.finfo(np.float64).tiny)
            res = np.linalg.norm(R.astype(np.float64) @ z_last, axis=0)
        goal = target(sv) if callable(target) else target
        est = _residual_error_estimate(sv, res, kk, gap_index, eps)
        if np.all(est <= goal):
            break
        worst = float(np.max(est)) if est.size else 0.0
        last_ratio = worst / goal if goal > 0 else (np.inf if worst > 0 else 0.0)
        s += 1
    width = s * b
    # the small SVD in float64 also for float32 input (cheap, and it removes the SVD's own
    # float32 rounding from the returned values)
    U_b, sv, V_bt = sla.svd(
        B_ext[:width, : width + b].astype(np.float64), full_matrices=False, check_finite=False
    )
    if cluster_check and _cluster_fills_block(sv, k, b):
        raise _ClusterWiderThanBlockError
    U = U_buf[:, :width] @ U_b[:, :k].astype(dtype)
    Vt = V_bt[:k].astype(dtype) @ V_buf[:, : width + b].T
    return U, sv[:k], Vt


def _adaptive_krylov(A, Omega, k, n_iter, size, width, model_width, target, dtype):
    """The ``n_iter='auto'`` block Krylov run of ``randomized_svd``: a block of ``width``
    columns, restarted with ``model_width`` columns if a cluster fills the narrow block (see
    CLUSTER_RTOL); the number of blocks from the cost budget on dense input (see
    DENSE_PASS_FIXED_COLUMNS), from the column budget ``(n_iter + 1) * size`` otherwise."""
    m, n = A.shape

    def run(b):
        if A._kind in ("C", "F"):
            speedup = FLOAT32_GEMM_SPEEDUP if dtype == np.float32 else 1.0
            blocks = _krylov_block_budget(m, n, b, size, n_iter, speedup)
        else:
            blocks = max(1, (n_iter + 1) * size // b)
        if min(blocks, min(m, n) // b - 1) < _krylov_min_blocks(n_iter):
            raise _KrylovBudgetTooSmallError
        return _block_krylov_svd(
            A,
            np.ascontiguousarray(Omega[:, :b]),
            k,
            blocks - 1,
            target,
            dtype,
            gap_index=model_width,
            cluster_check=b < model_width,
        )

    try:
        return run(width)
    except (_ClusterWiderThanBlockError, _KrylovBudgetTooSmallError):
        return run(model_width)


def _gram_ritz(B):
    """Ritz values and left Ritz vectors of the small ``B`` from its Gram matrix (float64).

    Returns ``(sv, Y, B_f64)``: the singular values of ``B`` descending, the matching left
    singular vectors (columns of ``Y``) and ``B`` in float64.  Only the stopping test uses
    them (the returned factors come from one SVD at the end): the divide-and-conquer
    eigensolver of ``G = B B^T`` was measured 2.5-4x faster than the SVD of ``B`` with vectors
    for 100-300 rows (one thread).  Squaring loses accuracy only for values below
    ``sqrt(eps) * sv[0]``, where the error estimate is at its rounding floor anyway.
    """
    B_f64 = np.asarray(B, dtype=np.float64)
    w, Y = sla.eigh(B_f64 @ B_f64.T, driver="evd", check_finite=False)
    return np.sqrt(np.maximum(w[::-1], 0.0)), Y[:, ::-1], B_f64


def _krylov_pays_off(A, b, max_blocks):
    """Cost model of KRYLOV_MAX_OVERHEAD: block Krylov vs subspace iteration (no timing, so the
    choice - and the output - is deterministic)."""
    m, n = A.shape
    if A._kind in ("C", "F"):
        product = 2.0 * m * n * b
    elif A._kind == "sparse":
        product = SPARSE_FLOP_PENALTY * 2.0 * A.A.nnz * b
    else:  # an operator of unknown cost: assume it is cheap, like a sparse matrix of 10 nnz/row
        product = SPARSE_FLOP_PENALTY * 2.0 * 10 * max(m, n) * b
    fits = (max_blocks + 1) * b <= min(m, n)
    blocks = min(max_blocks, TYPICAL_KRYLOV_BLOCKS)
    overhead = 6.0 * (m + n) * b * b * blocks * blocks
    return fits and overhead <= KRYLOV_MAX_OVERHEAD * 2.0 * blocks * product


# --- fixed-accuracy mode ---------------------------------------------------------------------


def _fixed_accuracy(A, tol, max_rank, first_block, n_iter, rng, dtype):
    """Blocked randomized QB with a-posteriori error control (see ``randomized_svd`` Notes).

    Each round draws a Gaussian probe Omega (b columns) and runs q = ``n_iter`` QR-normalised
    power steps on the residual E = (I - QQ^T) A.  The triangular factors give the exact column
    norms of the *unnormalised* sequence, ||(E E^T)^q E w_i|| = ||T[:, i]||, so HMT Lemma 4.1
    applied to (E E^T)^q E yields
    ||E|| <= (a sqrt(2/pi) max_i ||T[:, i]||)^(1/(2q+1)) with probability >= 1 - a^-b.
    If that certifies the current basis, stop; otherwise the normalised block is added (it is a
    power-scheme sample of the residual) with one more pass for its rows of Q^T A.  Block sizes
    double (first_block, then the current rank), so the number of rounds grows like log(rank).

    Returns (Q, Z = A^T Q, est, norm_estimate, reached).
    """
    m, n = A.shape
    Q_all = None
    z_blocks = []
    rank = 0
    norm_est = 0.0
    b = min(first_block, max_rank)
    while True:
        Y = A.mm(rng_normal(rng, (n, b), dtype))
        _orthogonalize_against(Y, Q_all)
        Q_j, T = _qr_r(Y)
        T = T.astype(np.float64)
        log_scale = 0.0
        for _ in range(n_iter):
            P, S = _qr_r(A.rmm(Q_j))
            Y = A.mm(P)
            _orthogonalize_against(Y, Q_all)
            Q_j, R = _qr_r(Y)
            T = R.astype(np.float64) @ (S.astype(np.float64) @ T)
            c = float(np.max(np.abs(T)))
            if c > 0:  # keep T representable; the scale is tracked in logs
                T /= c
                log_scale += math.log(c)
        col_max = float(np.max(np.linalg.norm(T, axis=0))) if T.size else 0.0
        a = TOL_FAILURE_PROBABILITY ** (-1.0 / b)
        if col_max > 0:
            log_est = math.log(a * math.sqrt(2.0 / math.pi) * col_max) + log_scale
            est = math.exp(log_est / (2 * n_iter + 1))
        else:
            est = 0.0
        if rank > 0 and est <= tol * norm_est:
            return Q_all, np.concatenate(z_blocks, axis=1), est, norm_est, True
        if rank >= max_rank:
            return Q_all, np.concatenate(z_blocks, axis=1), est, norm_est, False
        # accept the block: re-orthogonalise (its columns may be rank deficient) and project
        Q_j, _, _ = _orth_block(Q_j, Q_all, np.finfo(dtype).eps)
        z_j = A.rmm(Q_j)
        if rank == 0:
            norm_est = float(sla.svdvals(z_j, check_finite=False)[0])
        Q_all = Q_j if Q_all is None else np.concatenate([Q_all, Q_j], axis=1)
        z_blocks.append(z_j)
        rank += Q_j.shape[1]
        if rank >= min(m, n):  # the basis spans the range: exact
            return Q_all, np.concatenate(z_blocks, axis=1), 0.0, norm_est, True
        b = min(max(first_block, rank), max_rank - rank, min(m, n) - rank) or first_block


def rng_normal(rng, shape, dtype):
    """Draw from a RandomState or Generator (continuing its stream)."""
    if isinstance(rng, np.random.Generator):
        return rng.standard_normal(size=shape).astype(dtype, copy=False)
    return rng.normal(size=shape).astype(dtype, copy=False)


# --- randomized SVD --------------------------------------------------------------------------


def _stage_b(Q, Z, svd_lapack_driver):
    """SVD of B = Q^T A given Z = A^T Q (tall): B = (U_z S V_z^T)^T."""
    V_z, s, U_zt = sla.svd(
        Z, full_matrices=False, lapack_driver=svd_lapack_driver, check_finite=False
    )
    return Q @ U_zt.T, s, V_z.T


def randomized_svd(
    M,
    n_components,
    *,
    n_oversamples=10,
    n_iter="auto",
    power_iteration_normalizer="auto",
    transpose="auto",
    flip_sign=True,
    random_state=None,
    svd_lapack_driver="gesdd",
    tol=None,
):
    """Truncated randomized SVD, a drop-in for ``sklearn.utils.extmath.randomized_svd``.

    Parameters
    ----------
    M : {ndarray, sparse matrix, LinearOperator} of shape (n_samples, n_features)
        Matrix to decompose.  Integer/bool input is converted to float64; float32 stays float32.
        Sparse LIL/DOK input warns (``SparseEfficiencyWarning``) and is converted to CSR.
    n_components : int
        Number of singular triplets, ``1 <= n_components <= min(M.shape)``.  In fixed-accuracy
        mode (``tol`` given) it is the largest rank allowed.
    n_oversamples : int, default=10
        Extra random vectors: the block width is ``n_components + n_oversamples`` (capped at
        ``min(M.shape)``).  The adaptive block Krylov path of ``n_iter='auto'`` uses blocks of
        ``min(n_components + min(n_oversamples, 2), max(12, n_components // 2 + 2))`` columns
        and at most scikit-learn's cost (see Notes).
    n_iter : int or 'auto', default='auto'
        Integer: exactly that many normalized power iterations of subspace iteration (HMT Alg.
        4.4), as scikit-learn does, ``2 * n_iter + 2`` passes over ``M``.  'auto' (with
        ``power_iteration_normalizer='auto'``): adaptive randomized block Krylov iteration,
        stopped once its estimated accuracy reaches that predicted for scikit-learn's default
        call (see Notes), never more iterations than
        scikit-learn's 'auto' (7 if ``n_components < 0.1 * min(M.shape)`` else 4).
    power_iteration_normalizer : {'auto', 'QR', 'LU', 'none'}, default='auto'
        Normalizer of subspace iteration ('auto': 'LU'; scikit-learn uses 'none' if
        ``n_iter <= 2``, which spans the same subspace but loses accuracy to rounding).  Setting
        it explicitly with ``n_iter='auto'`` selects scikit-learn's fixed-iteration scheme.
    transpose : bool or 'auto', default='auto'
        Work on ``M.T`` ('auto': when ``n_samples < n_features``).  Results are transposed back.
    flip_sign : bool, default=True
        Make the largest-magnitude entry of each column of ``U`` positive (scikit-learn's
        ``svd_flip`` convention, also when transposed).
    random_state : int, RandomState, Generator or None, default=None
        Source of the Gaussian test matrix; an int or RandomState draws the same test matrix as
        scikit-learn.  Same value, same output.
    svd_lapack_driver : {'gesdd', 'gesvd'}, default='gesdd'
        LAPACK driver of the small SVD.
    tol : float or None, default=None
        Fixed-accuracy mode: grow the basis block by block until the a-posteriori estimate of
        ``||M - Q Q^T M||_2`` is at most ``tol * ||M||_2`` (see Notes), then return the fewest
        components that keep the estimated error within the tolerance.  The rank chosen is
        ``len(s)``.  ``n_iter`` is then the number of power iterations per block ('auto' = 2).

    Returns
    -------
    U : ndarray of shape (n_samples, r)
        Left singular vectors (orthonormal columns), ``r = n_components`` (``r = len(s)`` in
        fixed-accuracy mode).
    s : ndarray of shape (r,)
        Singular values, non-increasing.
    Vt : ndarray of shape (r, n_features)
        Right singular vectors as rows.

    Raises
    ------
    ValueError, TypeError
        Invalid ``M`` (not 2-D, empty, complex, NaN/inf) or parameters (naming the parameter).

    Warns
    -----
    sparse.SparseEfficiencyWarning
        For LIL and DOK input.
    RuntimeWarning
        In fixed-accuracy mode when ``n_components`` is reached before ``tol``.

    Notes
    -----
    *Default path.*  Randomized block Krylov iteration (Musco & Musco 2015) builds the basis
    :math:`[A\\Omega, (AA^T)A\\Omega, \\dots, (AA^T)^{s-1}A\\Omega]` by block Lanczos
    bidiagonalisation with full re-orthogonalisation.  It makes the same number of passes over
    ``M`` per iteration as subspace iteration but keeps every block, so the approximation after
    ``q`` iterations is at least as good as subspace iteration's after ``q`` (its space contains
    :math:`(AA^T)^qA\\Omega`) and converges like a Chebyshev polynomial, i.e. in
    :math:`\\tilde O(1/\\sqrt\\varepsilon)` instead of :math:`\\tilde O(1/\\varepsilon)` iterations.
    The iteration stops as soon as it is (estimated to be) at least as accurate as
    scikit-learn's default call, not far beyond: after each block, the product that starts the
    next block gives the exact residual norms of the current Ritz triplets, hence an error
    estimate :math:`\\mathrm{res}_j^2 / (2(\\theta_j^2 - \\theta_{b+1}^2))` (Kato-Temple,
    ``b = n_components + 2``) of each top singular value; it is compared with the largest error
    that scikit-learn's subspace iteration with ``q`` iterations and ``l = n_components +
    n_oversamples`` columns is predicted to leave, :math:`c\\,(1 - r_j^2)\\,r_j^{4q+2}`,
    :math:`r_j = \\theta_{l+1}/\\theta_j`, with ``c = 0.3`` (scikit-learn's measured constant
    was at least 0.17 in 95% of 330 calls, median 0.79; our estimate is an upper bound,
    typically 2-3x the true error), plus a rounding floor
    :math:`10\\,\\varepsilon` (relative).  The test also runs half a block earlier, on the
    Ritz triplets of :math:`U^TMV` before the newest ``V`` block (see ``_block_krylov_svd``),
    which saves a pass when it already passes.  Blocks have
    ``max(12, n_components // 2 + 2)`` columns (at most ``n_components + 2``): block Lanczos
    gains one polynomial degree per block whatever its width, so narrower blocks reach a given
    accuracy with fewer columns in all (2000 x 2000, slow decay, k = 50: 375 instead of 572);
    but a block of ``b`` columns finds at most ``b`` copies of a repeated singular value, and
    the copies it misses leave no trace in the residuals.  So as soon as ``b`` of the top
    ``n_components`` Ritz values lie within a relative spread of 1e-2 (``CLUSTER_RTOL``), the
    iteration restarts with ``n_components + 2`` columns.  Inside a cluster the error estimate
    uses the gap below the cluster (Kato-Temple for the group, with a converged Ritz value as
    its edge).  On dense input the run may cost at most what scikit-learn's call costs (its
    products counted with their fixed part of streaming the matrix, about 32 columns' worth,
    plus re-orthogonalisation and the stopping tests; see ``DENSE_PASS_FIXED_COLUMNS``); on
    sparse and operator input it multiplies at most as many columns as scikit-learn's call.
    When that budget leaves fewer than ``max(2, (q + 1) // 2 + 1)`` blocks, scikit-learn's scheme
    is used.  The output is the Rayleigh-Ritz approximation :math:`U U^T M` on the
    final basis (HMT stage B), which the block recurrence provides without an extra
    pass.  Full re-orthogonalisation costs :math:`O((m+n)\\,w\\,b)` per iteration for a basis
    of width ``w``; when a deterministic cost model says it would exceed half the cost of the
    products (wide blocks, or cheap sparse/operator products) scikit-learn's scheme is used
    instead (LU-normalised subspace iteration, same iteration count, same results up to
    rounding).

    *Fixed-accuracy mode.*  The basis grows by blocks (sizes doubling).  Each round draws ``b``
    Gaussian vectors and runs ``q`` QR-normalised power steps on the residual
    :math:`E = (I - QQ^T)M`; the triangular factors give the exact column norms of the
    unnormalised :math:`(EE^T)^qE\\Omega`, and HMT Lemma 4.1 applied to :math:`(EE^T)^qE`
    gives :math:`\\|E\\| \\le (a\\sqrt{2/\\pi}\\max_i\\|(EE^T)^qE\\omega_i\\|)^{1/(2q+1)}` with
    probability at least :math:`1 - a^{-b}`; :math:`a = 10^{6/b}` (failure probability
    :math:`10^{-6}`).
    If the estimate certifies the current basis the loop stops, otherwise the normalised block
    joins the basis (it is a power-scheme sample of the residual), so the estimate costs no
    extra pass.  :math:`\\|M\\|` is estimated by :math:`\\sigma_1(Q_1^TM) \\le \\|M\\|`.  With
    ``est`` the final estimate, the smallest ``r`` with ``est + s[r] <= tol * ||M||`` is
    returned, so :math:`\\|M - U\\Sigma V^T\\| \\le` ``tol * ||M||`` with probability at least
    :math:`1 - 10^{-6}`.

    References
    ----------
    N. Halko, P.-G. Martinsson, J. A. Tropp, "Finding structure with randomness", SIAM Review 53(2),
    2011.  C. Musco, C. Musco, "Randomized block Krylov methods for stronger and faster approximate
    singular value decomposition", NeurIPS 2015.  W. Yu, Y. Gu, Y. Li, "Efficient randomized
    algorithms for the fixed-precision low-rank matrix approximation", SIMAX 39(3), 2018.

    Examples
    --------
    >>> import numpy as np
    >>> from hyperlearn.linalg import randomized_svd
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((60, 5)) @ rng.standard_normal((5, 40))
    >>> U, s, Vt = randomized_svd(A, 5, random_state=0)
    >>> bool(np.allclose(U * s @ Vt, A))
    True
    >>> U, s, Vt = randomized_svd(A, 40, tol=1e-8, random_state=0)  # rank found from tol
    >>> len(s)
    5
    """
    A, dtype = _check_matrix(M, "M")
    m, n = A.shape
    n_components = _check_int(n_components, "n_components", low=1, high=min(m, n))
    n_oversamples = _check_int(n_oversamples, "n_oversamples", low=0)
    n_iter = _check_int(n_iter, "n_iter", low=0, allow=("auto",))
    _check_choice(
        power_iteration_normalizer, "power_iteration_normalizer", {"auto", "QR", "LU", "none"}
    )
    if not (isinstance(transpose, (bool, np.bool_)) or transpose == "auto"):
        raise ValueError(f"transpose={transpose!r} is invalid: expected True, False or 'auto'.")
    if not isinstance(flip_sign, (bool, np.bool_)):
        raise TypeError(f"flip_sign={flip_sign!r} is invalid: expected True or False.")
    _check_choice(svd_lapack_driver, "svd_lapack_driver", {"gesdd", "gesvd"})
    if tol is not None:
        if isinstance(tol, (bool, np.bool_)) or not isinstance(tol, numbers.Real):
            raise TypeError(f"tol={tol!r} is invalid: expected None or a float in (0, 1).")
        if not 0.0 < float(tol) < 1.0:
            raise ValueError(f"tol={tol!r} is out of range: expected None or a float in (0, 1).")

    if transpose == "auto":
        transpose = m < n
    A = _Products(A, dtype)
    if transpose:
        A = A.T
        m, n = n, m

    if tol is not None:
        rng = _rng_of(random_state)
        q = _TOL_AUTO_POWER_STEPS if n_iter == "auto" else n_iter
        first = max(_TOL_MIN_BLOCK, n_oversamples)
        Q, Z, est, norm_est, reached = _fixed_accuracy(
            A, float(tol), n_components, first, q, rng, dtype
        )
        U, s, Vt = _stage_b(Q, Z, svd_lapack_driver)
        if not reached:
            warnings.warn(
                f"randomized_svd: tolerance tol={tol} not reached with n_components="
                f"{n_components} components (estimated relative error "
                f"{est / max(norm_est, 1e-300):.3g});"
                " returning n_components components.",
                RuntimeWarning,
                stacklevel=2,
            )
            r = min(n_components, s.shape[0])
        else:
            budget = float(tol) * norm_est - est
            # tail[j] = s[j] (the first discarded value when keeping j components), 0 at the end
            tail = np.append(s, 0.0)
            r = int(np.argmax(tail <= budget))
            r = max(1, min(r, n_components))
        U, s, Vt = U[:, :r], s[:r], Vt[:r]
    else:
        size = min(n_components + n_oversamples, m, n)
        Omega = _gaussian(random_state, (n, size), dtype)
        adaptive = n_iter == "auto" and power_iteration_normalizer == "auto"
        if n_iter == "auto":
            n_iter = (
                _SKLEARN_AUTO_ITER_SMALL_K
                if n_components < _SKLEARN_SMALL_K_FRACTION * min(m, n)
                else _SKLEARN_AUTO_ITER_LARGE_K
            )
        if adaptive:
            target = _sklearn_accuracy(n_components, size, n_iter)
            # a narrower Krylov block, the same column budget as scikit-learn's (q+1) blocks;
            # the cost model is evaluated for blocks of n_components + 2 (as measured)
            model_width = min(size, n_components + KRYLOV_SVD_OVERSAMPLES)
            width = min(
                model_width,
                max(KRYLOV_SVD_MIN_BLOCK, n_components // 2 + KRYLOV_SVD_OVERSAMPLES),
            )
            adaptive = _krylov_pays_off(A, model_width, max(1, (n_iter + 1) * size // model_width))
            if adaptive:
                try:
                    U, s, Vt = _adaptive_krylov(
                        A, Omega, n_components, n_iter, size, width, model_width, target, dtype
                    )
                except _KrylovBudgetTooSmallError:
                    adaptive = False
        if not adaptive:
            normalizer = _resolve_normalizer(power_iteration_normalizer, n_iter)
            Q = _subspace_range(A, Omega, n_iter, normalizer)
            Z = A.rmm(Q)
            U, s, Vt = _stage_b(Q, Z, svd_lapack_driver)
        U, s, Vt = U[:, :n_components], s[:n_components], Vt[:n_components]

    U = np.ascontiguousarray(U, dtype=dtype)
    Vt = np.ascontiguousarray(Vt, dtype=dtype)
    s = s.astype(dtype, copy=False)
    if flip_sign:
        if transpose:
            # the decision is on the columns of the returned U, i.e. the rows of this Vt
            V_tt, U_tt = _sign_flip_columns(Vt.T.copy(), U.T.copy())
            U, Vt = V_tt, U_tt
            return np.ascontiguousarray(U), s, np.ascontiguousarray(Vt)
        U, Vt = _sign_flip_columns(U, Vt)
        return U, s, Vt
    if transpose:
        return np.ascontiguousarray(Vt.T), s, np.ascontiguousarray(U.T)
    return U, s, Vt


# --- symmetric eigendecompositions -----------------------------------------------------------


def _check_symmetric_sketch(A, n_components, n_oversamples):
    """Checked ``(A as _Products, dtype, n, n_components, n_oversamples)`` of nystrom/eigh."""
    A, dtype = _check_matrix(A, "A")
    if A.shape[0] != A.shape[1]:
        raise ValueError(f"A must be square (symmetric); got shape {A.shape}.")
    A = _Products(A, dtype)
    n = A.shape[0]
    n_components = _check_int(n_components, "n_components", low=1, high=n)
    n_oversamples = _check_int(n_oversamples, "n_oversamples", low=0)
    return A, dtype, n, n_components, n_oversamples


def _block_lanczos_eigh(A, Omega, k, max_steps, rtol, adaptive, dtype):
    """Block Lanczos with full re-orthogonalisation; Rayleigh-Ritz on the whole Krylov basis.

    Each step is one product with A.  Returns (w, V) of the top-k eigenpairs by magnitude.

    Adaptive stopping: after the product A Q_j, its part outside the basis is Q_{j+1} R_{j+1},
    so a Ritz pair (theta, Q s) of the current basis has the exact residual norm
    ``rho = ||R_{j+1} s[last block]||``.  Its relative eigenvalue error is estimated by
    ``min(rho, rho^2 / gap) / |theta|`` (Weyl's and the Kato-Temple bound, ``gap`` = |theta|
    minus the first Ritz magnitude past the block width, an estimate of the distance to the
    spectrum not yet captured); the iteration stops when that is at most ``rtol`` plus the
    rounding floor RITZ_ATOL_FACTOR * eps * |theta_1| / |theta| for every top-k pair.
    """
    n = A.shape[0]
    b = Omega.shape[1]
    # the last block may be narrower, so that a basis of all n columns (exact) is reachable
    max_width = min((max_steps + 1) * b, n)
    Q_buf = np.empty((n, max_width), dtype=dtype, order="F")
    T = np.zeros((max_width, max_width), dtype=dtype)
    eps = np.finfo(dtype).eps
    Q_j = _qr(Omega)
    width = 0
    pairs = None
    prev_ritz = None
    while True:
        lo, hi = width, width + Q_j.shape[1]
        Q_buf[:, lo:hi] = Q_j
        AQ = A.sym_mm(Q_j)
        width = hi
        nb = min(b, max_width - width)
        if width < max_width and nb == hi - lo:
            # the coefficients Q^T (A Q_j) of the re-orthogonalisation are T's new columns:
            # one GEMM with the whole basis instead of two (at n = 50000 with a basis of ~900
            # columns these GEMMs are most of the time).  The large Lanczos coefficients (on
            # Q_{j-1}, Q_j) are removed first, so that the full pass removes only small
            # components and _orth_block's norm-drop test rarely asks for a second full pass
            # (without it, the second pass ran at every step: 2x the GEMM work)
            local = max(0, lo - b)
            c_local = Q_buf[:, local:hi].T @ AQ
            AQ -= Q_buf[:, local:hi] @ c_local
            Q_j, R_next, C = _orth_block(AQ, Q_buf[:, :width], eps)
            C[local:hi] += c_local
            T[:hi, lo:hi] = C
        else:
            T[:hi, lo:hi] = Q_buf[:, :hi].T @ AQ
            if width < max_width:
                Q_j, R_next, _ = _orth_block(AQ[:, :nb].copy(), Q_buf[:, :width], eps)
        T[lo:hi, :lo] = T[:lo, lo:hi].T
        if width >= max_width:
            break
        if adaptive and nb == hi - lo:
            t_j = 0.5 * (T[:width, :width] + T[:width, :width].T)
            # values first (a third of the cost of eigh with vectors); the residual test needs
            # the vectors, computed only once the top values have nearly settled
            ritz = np.sort(np.abs(sla.eigvalsh(t_j, check_finite=False)))[::-1][:k]
            settling = prev_ritz is not None and np.all(
                np.abs(ritz - prev_ritz) <= EIGH_CHECK_FACTOR * rtol * np.abs(ritz)
            )
            prev_ritz = ritz
            if not settling:
                continue
            w, S = sla.eigh(t_j, check_finite=False)
            order = np.argsort(-np.abs(w), kind="stable")
            top = order[:k]
            rho = np.linalg.norm(R_next.astype(np.float64) @ S[lo:hi, top], axis=0)
            mag = np.maximum(np.abs(w[top]).astype(np.float64), np.finfo(np.float64).tiny)
            est = rho
            if order.shape[0] > b:
                gap = mag - abs(float(w[order[b]]))
                quad = np.where(gap > 0, rho * rho / np.maximum(gap, 1e-300), np.inf)
                est = np.minimum(est, quad)
            floor = RITZ_ATOL_FACTOR * eps * mag[0] / mag
            if np.all(est / mag <= rtol + floor):
                pairs = (w, S)
                break
    if pairs is None:
        pairs = sla.eigh(0.5 * (T[:width, :width] + T[:width, :width].T), check_finite=False)
    w, S = pairs
    order = np.argsort(-np.abs(w), kind="stable")[:k]
    w, S = w[order], S[:, order]
    V = Q_buf[:, :width] @ S
    desc = np.argsort(-w, kind="stable")
    return w[desc], V[:, desc]


def nystrom(A, n_components, *, n_oversamples=10, n_iter=0, random_state=None):
    """Randomized Nyström approximation of a symmetric positive semidefinite matrix.

    Returns ``(w, U)`` with ``A ~ U diag(w) U^T``, ``w >= 0`` descending, ``U`` orthonormal.

    Parameters
    ----------
    A : {ndarray, sparse matrix, LinearOperator} of shape (n, n)
        Symmetric positive semidefinite.
    n_components : int
        Rank of the approximation, ``1 <= n_components <= n``.
    n_oversamples : int, default=10
        The sketch has ``n_components + n_oversamples`` columns (capped at ``n``).
    n_iter : int, default=0
        Power steps applied to the test matrix before the Nyström product (each one more pass);
        0 gives the one-pass method.
    random_state : int, RandomState, Generator or None, default=None
        Source of the test matrix.

    Returns
    -------
    w : ndarray of shape (n_components,)
        Eigenvalue estimates, non-negative, descending.
    U : ndarray of shape (n, n_components)
        Orthonormal eigenvector estimates (largest-|.| entry of each column positive).

    Raises
    ------
    ValueError
        If ``A`` is not square, or the sketch shows that ``A`` is not positive semidefinite
        (the shifted core matrix has no Cholesky factor).

    Notes
    -----
    HMT Alg. 5.5 in the numerically stable form of Tropp, Yurtsever, Udell & Cevher (2017):
    with an orthonormal test matrix :math:`\\Omega` and :math:`Y = A\\Omega`, shift
    :math:`\\nu = \\sqrt{n}\\,\\varepsilon\\,\\|Y\\|_F`, :math:`Y_\\nu = Y + \\nu\\Omega`,
    :math:`C^TC = \\Omega^TY_\\nu`, :math:`B = Y_\\nu C^{-1} = U\\Sigma W^T`, and
    :math:`\\hat A = U\\max(\\Sigma^2 - \\nu I, 0)U^T`.  The result is PSD by construction and
    :math:`\\hat A \\preceq A` up to rounding, so :math:`I + \\hat A` never overshoots.

    References
    ----------
    J. A. Tropp, A. Yurtsever, M. Udell, V. Cevher, "Fixed-rank approximation of a positive-
    semidefinite matrix from streaming data", NeurIPS 2017.  Z. Frangella, J. A. Tropp, M. Udell,
    "Randomized Nyström preconditioning", SIMAX 44(2), 2023.

    Examples
    --------
    >>> import numpy as np
    >>> from hyperlearn.linalg import nystrom
    >>> G = np.random.default_rng(0).standard_normal((50, 4))
    >>> w, U = nystrom(G @ G.T, 4, random_state=0)
    >>> bool(np.allclose(U * w @ U.T, G @ G.T))
    True
    """
    A, dtype, n, n_components, n_oversamples = _check_symmetric_sketch(
        A, n_components, n_oversamples
    )
    n_iter = _check_int(n_iter, "n_iter", low=0)
    size = min(n_components + n_oversamples, n)
    Omega = _qr(_gaussian(random_state, (n, size), dtype))
    for _ in range(n_iter):
        Omega = _qr(A.sym_mm(Omega))
    Y = A.sym_mm(Omega)
    eps = np.finfo(dtype).eps
    nu = math.sqrt(n) * eps * float(np.linalg.norm(Y))
    if nu == 0.0:  # A Omega == 0: the approximation is zero
        U = np.zeros((n, n_components), dtype=dtype)
        U[np.arange(n_components), np.arange(n_components)] = 1
        return np.zeros(n_components, dtype=dtype), U
    Y += nu * Omega
    core = Omega.T @ Y
    core = 0.5 * (core + core.T)
    try:
        C = sla.cholesky(core, lower=False, check_finite=False)
    except np.linalg.LinAlgError as exc:
        raise ValueError(
            "nystrom: A does not look symmetric positive semidefinite (Omega^T A Omega + nu I has "
            "no Cholesky factor); use randomized_eigh(A, method='subspace') for indefinite A."
        ) from exc
    B = sla.solve_triangular(C, Y.T, trans="T", lower=False, check_finite=False).T
    U, sig, _ = sla.svd(B, full_matrices=False, check_finite=False)
    w = np.maximum(sig[:n_components] ** 2 - nu, 0.0).astype(dtype, copy=False)
    U = np.ascontiguousarray(U[:, :n_components], dtype=dtype)
    _sign_flip_columns(U)
    return w, U


def randomized_eigh(
    A, n_components, *, method="subspace", n_oversamples=10, n_iter="auto", random_state=None
):
    """Top eigenpairs of a symmetric matrix or operator, eigenvalues descending.

    Parameters
    ----------
    A : {ndarray, sparse matrix, LinearOperator} of shape (n, n)
        Symmetric ("subspace") or symmetric positive semidefinite ("nystrom").  Only ``A @ X`` is
        used.
    n_components : int
        Number of eigenpairs, ``1 <= n_components <= n``.
    method : {'subspace', 'nystrom'}, default='subspace'
        'subspace': randomized block Lanczos (block Krylov) with full re-orthogonalisation and
        Rayleigh-Ritz; selects the ``n_components`` eigenvalues largest in magnitude.
        'nystrom': one-pass Nyström (see :func:`nystrom`), PSD-preserving.
    n_oversamples : int, default=10
        Block width ``n_components + n_oversamples`` (capped at ``n``) with an integer
        ``n_iter``.  With ``n_iter='auto'`` the Krylov block is narrower,
        ``n_components + min(n_oversamples, 2)`` (see Notes), and ``n_oversamples`` sets the
        budget.
    n_iter : int or 'auto', default='auto'
        'subspace': number of Krylov expansion steps (one product with ``A`` each; ``n_iter + 1``
        passes).  'auto' stops when the residual-based error estimate of every top Ritz value
        is below ``1e-6`` relative (``1e-4`` float32), after at most as many matrix-vector
        products as scikit-learn's ``_randomized_eigsh`` makes (``2 * it + 2`` products of width
        ``n_components + n_oversamples``, ``it`` its 'auto' power-iteration count).
        'nystrom': power steps before the sketch ('auto' = 0, the one-pass method).
    random_state : int, RandomState, Generator or None, default=None
        Source of the test matrix.

    Returns
    -------
    w : ndarray of shape (n_components,)
        Eigenvalues, descending.
    V : ndarray of shape (n, n_components)
        Orthonormal eigenvectors (largest-|.| entry of each column positive).

    Raises
    ------
    ValueError
        For a non-square ``A``, invalid parameters, or (nystrom) an ``A`` that is not PSD.

    Notes
    -----
    Symmetry is assumed, not checked (checking would cost a pass).  For PSD ``A`` the
    eigenvalues largest in magnitude are the largest.  Rayleigh-Ritz values are lower bounds of
    the true top eigenvalues of a PSD matrix (Cauchy interlacing).

    Block Lanczos gains one polynomial degree per product whatever the block width, so 'auto'
    uses a block only two columns wider than ``n_components``: on the digits kNN+tag hypergraph
    (n = 1797, six clustered top eigenvalues 0.81-0.76 above a dense bulk) the error 1e-6 took
    160 columns with a block of 16 but about 100 with a block of 8.  For a cheap sparse operator
    and few eigenpairs ARPACK (``scipy.sparse.linalg.eigsh``, single-vector implicitly restarted
    Lanczos, one degree per matrix-vector product) remains as fast or faster: a product with a
    block of ``b`` columns costs several single products there, and our full
    re-orthogonalisation and Rayleigh-Ritz work grows with the basis (see the ``randomized``
    benchmark, case ``digits``).

    References
    ----------
    HMT 2011, Alg. 5.3 and 5.5; Musco & Musco, NeurIPS 2015.

    Examples
    --------
    >>> import numpy as np
    >>> from hyperlearn.linalg import randomized_eigh
    >>> A = np.diag(1.0 / np.arange(1.0, 101.0))
    >>> w, V = randomized_eigh(A, 3, random_state=0)
    >>> np.round(w, 8).tolist()
    [1.0, 0.5, 0.33333333]
    """
    _check_choice(method, "method", {"subspace", "nystrom"})
    if method == "nystrom":
        q = 0 if n_iter == "auto" else _check_int(n_iter, "n_iter", low=0)
        return nystrom(
            A, n_components, n_oversamples=n_oversamples, n_iter=q, random_state=random_state
        )
    A, dtype, n, n_components, n_oversamples = _check_symmetric_sketch(
        A, n_components, n_oversamples
    )
    n_iter = _check_int(n_iter, "n_iter", low=0, allow=("auto",))
    size = min(n_components + n_oversamples, n)
    Omega = _gaussian(random_state, (n, size), dtype)
    adaptive = n_iter == "auto"
    if adaptive:
        it = (
            _SKLEARN_AUTO_ITER_SMALL_K
            if n_components < _SKLEARN_SMALL_K_FRACTION * n
            else _SKLEARN_AUTO_ITER_LARGE_K
        )
        # the same column budget as scikit-learn's _randomized_eigsh (2 it + 2 products of
        # width k + p), spent on a narrower block: see EIGH_KRYLOV_OVERSAMPLES
        budget = (2 * it + 2) * size
        width = min(size, n_components + EIGH_KRYLOV_OVERSAMPLES)
        Omega = np.ascontiguousarray(Omega[:, :width])
        steps = max(1, budget // width - 1)
    else:
        steps = n_iter
    rtol = RITZ_RTOL_F32 if dtype == np.float32 else RITZ_RTOL_F64
    w, V = _block_lanczos_eigh(A, Omega, n_components, steps, rtol, adaptive, dtype)
    V = np.ascontiguousarray(V, dtype=dtype)
    _sign_flip_columns(V)
    return w.astype(dtype, copy=False), V

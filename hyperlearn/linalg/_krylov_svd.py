"""Adaptive randomized block Krylov SVD: the default path of ``randomized_svd``.

Block Lanczos bidiagonalisation with full re-orthogonalisation (Musco & Musco 2015), stopped as
soon as a residual-based error estimate of every top Ritz value is below the error predicted for
scikit-learn's default call, within a cost budget no larger than that call's.  A deterministic
cost model decides whether the Krylov path pays off at all (otherwise ``randomized_svd`` uses
scikit-learn's subspace iteration).  The maths is in ``randomized_svd``'s Notes.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla

from ._sketch import _orth_block, _qr

# c in the predicted error c (1 - r^2) r^(4q+2) of scikit-learn's default call: a low quantile
# of its ratio to the c = 1 prediction over a sweep.  See benchmarks/TUNING.md
SKLEARN_RATE_CONSTANT = 0.3
# c in c * eps (relative): below this the estimated error of a Ritz value is rounding.
# See benchmarks/TUNING.md
SVD_ROUNDING_FLOOR = 10.0
# Krylov only when re-orthogonalisation costs at most this fraction of the products; a sparse
# product counts this many GEMM flops per flop.  See benchmarks/TUNING.md
KRYLOV_MAX_OVERHEAD = 0.5
SPARSE_FLOP_PENALTY = 8.0
# blocks the cost model counts (runs with the stopping rule end after a few).
# See benchmarks/TUNING.md
TYPICAL_KRYLOV_BLOCKS = 5
# model block n_components + this (a boundary value of multiplicity <= this + 1 is resolved)
# See benchmarks/TUNING.md
KRYLOV_SVD_OVERSAMPLES = 2
# narrow block max(this, n_components // 2 + 2): fewer columns in all for the same accuracy,
# thin products below GEMM speed set the minimum.  See benchmarks/TUNING.md
KRYLOV_SVD_MIN_BLOCK = 12
# a narrow block is abandoned once b top Ritz values lie within this relative spread: the
# copies of a repeated value it misses leave no trace in the residuals.  See benchmarks/TUNING.md
CLUSTER_RTOL = 1e-2
# a Ritz value marks the edge of a cluster for the block error estimate only if its residual is
# at most this fraction of its distance to the cluster.  See benchmarks/TUNING.md
CLUSTER_GAP_TRUST = 0.1
# cost of a dense product of b columns ~ 2 m n (b + this) (streaming A is the fixed part), of the
# stopping test's h x h eigendecomposition this * h^3 flops.  See benchmarks/TUNING.md
DENSE_PASS_FIXED_COLUMNS = 32
EIGH_FLOP_FACTOR = 15.0
# float32 GEMM against float64 (one thread) in the dense budget.  See benchmarks/TUNING.md
FLOAT32_GEMM_SPEEDUP = 2.0
# the half-step test is skipped while the last full test missed its goal by more than this
# factor (one half step cannot close such a gap).  See benchmarks/TUNING.md
HALF_STEP_SKIP_RATIO = 1e3


def _krylov_min_blocks(n_iter):
    """Fewest blocks worth running: a run cut off after one or two blocks is far less accurate
    than subspace iteration with ``n_iter`` iterations.  See benchmarks/TUNING.md."""
    return max(2, (n_iter + 1) // 2 + 1)


class _ClusterWiderThanBlockError(Exception):
    """Raised by :func:`_block_krylov_svd` when a cluster may hide copies the block misses."""


class _KrylovBudgetTooSmallError(Exception):
    """Raised by :func:`_adaptive_krylov` when the budget allows fewer blocks than
    :func:`_krylov_min_blocks` (``randomized_svd`` then uses scikit-learn's scheme)."""


def _sklearn_accuracy(k, width, n_iter):
    """Largest relative error of the top-k singular values predicted for scikit-learn's default.

    Subspace iteration with ``n_iter`` power iterations and a block of ``width`` columns leaves in
    the j-th Ritz value a relative error of about
    ``c * (1 - r_j^2) * r_j^(4 n_iter + 2)``, ``r_j = sigma_{width+1} / sigma_j`` (the angle to the
    j-th singular vector shrinks like r_j^(2 n_iter + 1) per Saad's bound, the Ritz value errs by
    its square, scaled by the relative gap); the target is its maximum over j <= k, so every
    top-k Ritz value of ours is asked to be as accurate as scikit-learn's least accurate one.
    Evaluated on the current Ritz values (lower bounds of the singular values; sigma_{width+1}
    is underestimated, so the prediction is too small, i.e. on the safe side) with
    c = SKLEARN_RATE_CONSTANT.
    """

    def target(ritz):
        ritz = np.abs(np.asarray(ritz, dtype=np.float64))
        if ritz.shape[0] <= width:  # sigma_{width+1} not estimated yet: no early stop
            return 0.0
        top = np.maximum(ritz[:k], np.finfo(np.float64).tiny)
        r = np.minimum(1.0, ritz[width] / top)
        return SKLEARN_RATE_CONSTANT * float(np.max((1.0 - r * r) * r ** (4 * n_iter + 2)))

    return target


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


# --- error estimates -------------------------------------------------------------------------


def _cluster_error_estimate(sv, res_all, top, k):
    """Block (cluster) form of the Kato-Temple estimate, best group per Ritz value.

    The Ritz values above index p taken together err by at most ``||R_{<p}||^2 / gap_p``, gap_p
    the distance to the spectrum below; in AA^T terms the residual of theta_i^2 is
    theta_i res_i, so for theta_j (j < p) the relative error is at most
    ``sum_{i<p} theta_i^2 res_i^2 / (2 theta_j^2 (theta_j^2 - theta_p^2))``.  theta_p stands for
    the spectrum below only once it has converged itself: p counts only where
    ``res_p <= CLUSTER_GAP_TRUST * (theta_j - theta_p)``.
    """
    tiny = np.finfo(np.float64).tiny
    count = min(res_all.shape[0], sv.shape[0])
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
    return block.min(axis=1)


def _residual_error_estimate(sv, res, k, width, eps):
    """Estimated relative errors of the top-k Ritz values ``sv`` with residual norms ``res``.

    For a Ritz triplet with ``A^T u = theta v`` and ``||A v - theta u|| = res`` (the situation
    of :func:`_block_krylov_svd`), ``theta^2`` is a Ritz value of ``A A^T`` with residual
    ``theta * res``.  A singular value lies within ``res`` of ``theta`` (first-order bound), and
    by the quadratic (Kato-Temple type) bound the error of ``theta^2`` is at most
    ``theta^2 res^2 / gap`` with ``gap`` the distance to the spectrum not captured by the
    basis, here estimated by ``theta_j^2 - theta_{width+1}^2`` (the first Ritz value past the
    block width).  The relative error of ``theta_j`` is then about ``res^2 / (2 gap)``.  Inside a
    cluster the group form of :func:`_cluster_error_estimate` is used where it is smaller.
    Returned with the rounding floor SVD_ROUNDING_FLOOR * eps subtracted (clipped at 0).
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
    if min(res_all.shape[0], sv.shape[0]) > k:
        est = np.minimum(est, _cluster_error_estimate(sv, res_all, top, k))
    floor = SVD_ROUNDING_FLOOR * eps
    return np.maximum(est - floor, 0.0)


def _gram_ritz(B):
    """Ritz values and left Ritz vectors of the small ``B`` from its Gram matrix (float64).

    Returns ``(sv, Y, B_f64)``: the singular values of ``B`` descending, the matching left
    singular vectors (columns of ``Y``) and ``B`` in float64.  Only the stopping test uses
    them (the returned factors come from one SVD at the end): the divide-and-conquer
    eigensolver of ``G = B B^T`` is faster than the SVD of ``B`` with vectors (see
    benchmarks/TUNING.md).  Squaring loses accuracy only for values below
    ``sqrt(eps) * sv[0]``, where the error estimate is at its rounding floor anyway.
    """
    B_f64 = np.asarray(B, dtype=np.float64)
    w, Y = sla.eigh(B_f64 @ B_f64.T, driver="evd", check_finite=False)
    return np.sqrt(np.maximum(w[::-1], 0.0)), Y[:, ::-1], B_f64


# --- block Lanczos bidiagonalisation ---------------------------------------------------------


class _Bidiagonalization:
    """Buffers of the block recurrence ``U^T A = B_ext V^T`` and its two half steps.

    ``U = [U_1..U_s]`` and ``V = [V_1..V_{s+1}]`` are orthonormal, ``B_small = U^T A V_{1..s}``
    (square) and ``B_ext`` (``s b x (s + 1) b``) hold every orthogonalisation coefficient.
    """

    def __init__(self, A, Omega, max_blocks, dtype):
        m, n = A.shape
        b = Omega.shape[1]
        self.A, self.b, self.dtype = A, b, dtype
        self.eps = np.finfo(dtype).eps
        self.U = np.empty((m, max_blocks * b), dtype=dtype, order="F")
        self.V = np.empty((n, (max_blocks + 1) * b), dtype=dtype, order="F")
        self.B_small = np.zeros((max_blocks * b, max_blocks * b), dtype=dtype)
        self.B_ext = np.zeros((max_blocks * b, (max_blocks + 1) * b), dtype=dtype)
        self.V[:, :b] = _qr(Omega)
        U_1, R, _ = _orth_block(A.mm(self.V[:, :b]), None, self.eps)
        self.U[:, :b] = U_1
        self.B_small[:b, :b] = R

    def v_step(self, lo, hi):
        """``A^T U_s = V_s R_s^T + V_{1..s} C + V_{s+1} L``; returns ``(L, V_{s+1})``."""
        b, B_small, B_ext = self.b, self.B_small, self.B_ext
        Z = self.A.rmm(self.U[:, lo:hi])
        Z -= self.V[:, lo:hi] @ B_small[lo:hi, lo:hi].T
        V_new, L, C = _orth_block(Z, self.V[:, :hi], self.eps)
        self.V[:, hi : hi + b] = V_new
        B_ext[lo:hi, :hi] = C.T
        B_ext[lo:hi, lo:hi] += B_small[lo:hi, lo:hi]
        B_ext[lo:hi, hi : hi + b] = L.T
        return L, V_new

    def u_step(self, lo, hi, L, V_new):
        """``A V_{s+1} = U_s L^T + U_{1..s} D + U_{s+1} R``; returns ``R``."""
        b, B_small = self.b, self.B_small
        W = self.A.mm(V_new)
        W -= self.U[:, lo:hi] @ L.T
        U_new, R, D = _orth_block(W, self.U[:, :hi], self.eps)
        self.U[:, hi : hi + b] = U_new
        B_small[:hi, hi : hi + b] = D
        B_small[lo:hi, hi : hi + b] += L.T
        B_small[hi : hi + b, hi : hi + b] = R
        return R

    def half_step_ritz(self, lo, hi, L):
        """Ritz values of ``U^T A V_{1..s}`` and residuals ``||L y[last block]||``."""
        sv, Y, _ = _gram_ritz(self.B_ext[:hi, :hi])
        res = np.linalg.norm(L.astype(np.float64) @ Y[lo:hi], axis=0)
        return sv, res

    def full_step_ritz(self, hi, R):
        """Ritz values of ``B_ext`` of block s and the residuals ``||R z[last block]||``."""
        sv, Y, B_f64 = _gram_ritz(self.B_ext[:hi, : hi + self.b])
        with np.errstate(over="ignore"):  # sv at rounding level: res inf, never trusted
            z_last = (B_f64[:, hi:].T @ Y) / np.maximum(sv, np.finfo(np.float64).tiny)
            res = np.linalg.norm(R.astype(np.float64) @ z_last, axis=0)
        return sv, res

    def factors(self, s, k):
        """Rank-k factors of the Rayleigh-Ritz approximation on the first ``s`` blocks."""
        width, b, dtype = s * self.b, self.b, self.dtype
        # the small SVD in float64 also for float32 input (cheap, and it removes the SVD's own
        # float32 rounding from the returned values)
        U_b, sv, V_bt = sla.svd(
            self.B_ext[:width, : width + b].astype(np.float64),
            full_matrices=False,
            check_finite=False,
        )
        U = self.U[:, :width] @ U_b[:, :k].astype(dtype)
        Vt = V_bt[:k].astype(dtype) @ self.V[:, : width + b].T
        return U, sv, Vt


def _stop_test(sv, res, k, hi, target, gap_index, eps, cluster_b):
    """``(passed, estimate / goal)`` of one stopping test; raises on a cluster (``cluster_b``)."""
    if cluster_b and _cluster_fills_block(sv, k, cluster_b):
        raise _ClusterWiderThanBlockError
    goal = target(sv) if callable(target) else target
    est = _residual_error_estimate(sv, res, min(k, hi), gap_index, eps)
    if np.all(est <= goal):
        return True, 0.0
    worst = float(np.max(est)) if est.size else 0.0
    return False, worst / goal if goal > 0 else (np.inf if worst > 0 else 0.0)


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
    cluster_b = b if cluster_check else 0
    max_blocks = max(1, min(max_iter + 1, min(m, n) // b - 1))
    bd = _Bidiagonalization(A, Omega, max_blocks, dtype)
    s = 1
    last_ratio = 0.0  # estimate / goal of the last full test (0: no test yet)
    while True:
        lo, hi = (s - 1) * b, s * b
        L, V_new = bd.v_step(lo, hi)
        if s == max_blocks:
            break
        if hi > b and half_steps and last_ratio <= HALF_STEP_SKIP_RATIO:
            sv, res = bd.half_step_ritz(lo, hi, L)
            if _stop_test(sv, res, k, hi, target, gap_index, bd.eps, cluster_b)[0]:
                break
        R = bd.u_step(lo, hi, L, V_new)
        sv, res = bd.full_step_ritz(hi, R)
        done, last_ratio = _stop_test(sv, res, k, hi, target, gap_index, bd.eps, cluster_b)
        if done:
            break
        s += 1
    U, sv, Vt = bd.factors(s, k)
    if cluster_check and _cluster_fills_block(sv, k, b):
        raise _ClusterWiderThanBlockError
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


def _auto_krylov_svd(A, Omega, n_components, n_iter, size, dtype):
    """``randomized_svd``'s default: the adaptive Krylov factors, or None where the cost model
    (KRYLOV_MAX_OVERHEAD) or the budget (:func:`_krylov_min_blocks`) says subspace iteration.

    The block is ``max(KRYLOV_SVD_MIN_BLOCK, n_components // 2 + 2)`` columns (at most the
    model width ``n_components + KRYLOV_SVD_OVERSAMPLES``), the target the accuracy predicted
    for scikit-learn's call with ``n_iter`` iterations on ``size`` columns.
    """
    target = _sklearn_accuracy(n_components, size, n_iter)
    model_width = min(size, n_components + KRYLOV_SVD_OVERSAMPLES)
    width = min(model_width, max(KRYLOV_SVD_MIN_BLOCK, n_components // 2 + KRYLOV_SVD_OVERSAMPLES))
    if not _krylov_pays_off(A, model_width, max(1, (n_iter + 1) * size // model_width)):
        return None
    try:
        return _adaptive_krylov(
            A, Omega, n_components, n_iter, size, width, model_width, target, dtype
        )
    except _KrylovBudgetTooSmallError:
        return None

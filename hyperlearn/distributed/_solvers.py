r"""Solvers on row-partitioned blocks: lockstep CG, randomized eigh and SVD (mode B).

The algorithms are those of :mod:`hyperlearn.linalg`; only the data are distributed.  Tall
``n × ℓ`` blocks stay on the workers (:class:`RowBlocks`), the ``ℓ × ℓ`` algebra (Cholesky
factors, Ritz problems, SVD of the small projected matrix) runs in NumPy on the client.

CG submits each iteration as one fixed-size graph whose step lengths are computed on a worker
from the partial dot products, so an iteration never waits for the client; the client reads
the residual norms (a few numbers) every ``check_every`` iterations.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from ..utils._validation import check_int, check_matrix, check_real, describe
from ._rowblocks import RowBlocks, _sum_parts, wait_for

__all__ = ["distributed_cg", "distributed_eigh", "distributed_svd", "orthonormalize"]

#: Iterations between two looks of the client at the residual norms: looking seldom saves round
#: trips but runs up to CHECK_EVERY - 1 wasted iteration graphs. See benchmarks/TUNING.md.
CHECK_EVERY = 2
#: Residual replacements in a row without the true residual falling below half its best before
#: a column is declared stagnated (the guard of hyperlearn.linalg.cg).
STAGNATION_LIMIT = 3


# -- CG: functions that run on the workers ------------------------------------------------------


def _value(x):
    return x


def _plain(V):
    """A RowBlocks of plain arrays (one copy task per block) from a field of tuple blocks."""
    return V if V.field is None else V.lincomb([(V, 1.0)])


def _cg_start(X, R):
    return X, R, R


def _cg_alpha(scalars, *pq_parts):
    """Step lengths ``a_j = r_jᵀr_j / p_jᵀAp_j`` of the active columns; flags breakdown."""
    pq = _sum_parts(pq_parts)
    active = scalars["active"]
    bad = active & ~(pq > 0)  # also NaN
    a = np.zeros_like(pq)
    ok = active & ~bad
    a[ok] = scalars["rz"][ok] / pq[ok]
    return {**scalars, "a": a, "broken": scalars["broken"] or bool(bad.any())}


def _cg_update(state, Q, scalars):
    X, R, P = state
    a = scalars["a"]
    return X + a * P, R - a * Q, P


def _cg_beta(scalars, tol2, *rr_parts):
    """``β_j = r_newᵀr_new / r_oldᵀr_old``; columns below their tolerance leave the iteration."""
    rz = _sum_parts(rr_parts)
    active = scalars["active"]
    beta = np.zeros_like(rz)
    beta[active] = rz[active] / scalars["rz"][active]
    return {"rz": rz, "active": active & (rz > tol2), "beta": beta, "broken": scalars["broken"]}


def _cg_direction(state, scalars):
    X, R, P = state
    return X, R, R + scalars["beta"] * P


def _submit_all(blocks, func, *args):
    """One task per block of ``blocks`` (tuple-valued state), on its worker."""
    return RowBlocks(
        blocks.client,
        [blocks._submit(p, func, f, *args) for p, f in enumerate(blocks.futures)],
        blocks.layout,
        blocks.n_cols,
    )


def _submit_zip(blocks, other, func, *args):
    blocks.layout.check_same(other.layout, "other")
    return RowBlocks(
        blocks.client,
        [
            blocks._submit(p, func, f, g, *args)
            for p, (f, g) in enumerate(zip(blocks.futures, other.futures, strict=True))
        ],
        blocks.layout,
        blocks.n_cols,
    )


class _CG:
    """Lockstep CG on ``(I − αΘ) X = B`` with every vector a RowBlocks (see distributed_cg)."""

    def __init__(self, dhg, alpha, B, X, tol, maxiter, check_every):
        self.dhg, self.alpha, self.B = dhg, alpha, B
        self.tol, self.maxiter, self.check_every = tol, maxiter, check_every
        self.client, self.timeout = dhg.client, dhg.timeout
        self.X = X
        self.iterations = 0

    def apply(self, V):
        return self.dhg.matmat(V, coef=-self.alpha, add=1.0)

    def true_residual(self):
        R = self.B.lincomb([(self.B, 1.0), (self.apply(self.X), -1.0)])
        return R, np.sqrt(np.maximum(R.column_dots(R, self.timeout), 0.0))

    def restart(self, R, norms):
        """State ``(X, R, P = R)`` and scalars from a true residual (residual replacement)."""
        state = _submit_zip(self.X, R, _cg_start)
        scalars = {
            "rz": norms**2,
            "active": norms > self.tol,
            "beta": np.zeros_like(norms),
            "broken": False,
        }
        return state, self.client.submit(_value, scalars, pure=False)

    def iterate(self, state, scalars):
        """One CG iteration as one graph of tasks; returns the new (state, scalars) futures."""
        P = state.select(2)
        Q = self.apply(P)
        first = state._submit
        scalars = first(0, _cg_alpha, scalars, *P.column_dots_parts(Q))
        state = _submit_zip(state, Q, _cg_update, scalars)
        R = state.select(1)
        scalars = first(0, _cg_beta, scalars, self.tol**2, *R.column_dots_parts(R))
        return _submit_all(state, _cg_direction, scalars), scalars

    def run(self):
        R, norms = self.true_residual()
        best = norms.copy()
        failures = np.zeros(norms.size, dtype=int)
        state, scalars = self.restart(R, norms)
        while True:
            done = norms <= self.tol
            if np.all(done | (failures >= STAGNATION_LIMIT)):
                break
            if self.iterations >= self.maxiter:
                break
            for _ in range(min(self.check_every, self.maxiter - self.iterations)):
                state, scalars = self.iterate(state, scalars)
                self.iterations += 1
            looked = wait_for(self.client, [scalars], self.timeout)[0]
            if looked["broken"]:
                self.X = _plain(state.select(0))
                return -1
            if looked["active"].any() and self.iterations < self.maxiter:
                continue
            # every column is below its tolerance by the recursive residual (or out of
            # iterations): the TRUE residual decides, and replaces the recursive one
            self.X = _plain(state.select(0))
            R, norms = self.true_residual()
            improved = norms < 0.5 * best
            failures = np.where(improved | (norms <= self.tol), 0, failures + 1)
            best = np.minimum(best, norms)
            state, scalars = self.restart(R, norms)
        return 0 if np.all(norms <= self.tol) else max(self.iterations, 1)


def distributed_cg(dhg, B, alpha, X0=None, *, rtol=1e-5, atol=0.0, maxiter=None, check_every=None):
    """Solve ``(I − αΘ) X = B`` by lockstep CG on a :class:`DistributedHypergraph`.

    Each column follows :func:`hyperlearn.linalg.cg`'s recurrence; all columns share one
    distributed product per iteration.  The stopping test is on the TRUE residual:
    ``‖B_j − (I − αΘ) X_j‖ ≤ max(rtol ‖B_j‖, atol)`` for every column ``j``.

    Parameters
    ----------
    dhg : DistributedHypergraph
    B : ndarray of shape (n_vertices, s) or RowBlocks on ``dhg.layout``
        Right-hand sides (an ndarray in vertex order; RowBlocks in ``dhg``'s block order).
    alpha : float in (0, 1)
    X0 : same kind as ``B``, optional
        Initial guess (zeros by default).
    rtol, atol : float
        Tolerances of the true-residual test.
    maxiter : int, optional
        Iterations (default ``10 n``).
    check_every : int, optional
        Iterations submitted between two reads of the residual norms by the client
        (default ``CHECK_EVERY``); converged columns stop changing in between.

    Returns
    -------
    X : ndarray of shape (n_vertices, s), or RowBlocks when ``B`` is one
    info : int
        ``0`` converged; ``-1`` a step ``p_jᵀ(I − αΘ)p_j ≤ 0`` (not positive definite, or
        NaN); else the number of iterations done.

    Raises
    ------
    ValueError
        ``B`` or ``X0`` partitioned differently from ``dhg``, wrong shapes, bad tolerances.
    TimeoutError
        The cluster did not answer within ``dhg.timeout`` seconds.

    Examples
    --------
    >>> import numpy as np
    >>> from hyperlearn import Hypergraph
    >>> from hyperlearn.distributed import DistributedHypergraph, distributed_cg, managed_client
    >>> hg = Hypergraph.from_edges([[0, 1, 2], [2, 3], [3, 4, 5], [5, 0], [1, 4]])
    >>> B = np.eye(6)[:, :2]
    >>> with managed_client() as client:
    ...     X, info = distributed_cg(DistributedHypergraph(hg, client), B, 0.9, rtol=1e-10)
    >>> A = np.eye(6) - 0.9 * (hg.normalized_adjacency() @ np.eye(6))
    >>> info, bool(np.all(np.linalg.norm(B - A @ X, axis=0) <= 1e-10))
    (0, True)
    """
    alpha = check_real(alpha, "alpha", low=0, high=1, low_open=True, high_open=True)
    rtol = check_real(rtol, "rtol", low=0)
    atol = check_real(atol, "atol", low=0)
    maxiter = 10 * dhg.n_vertices if maxiter is None else check_int(maxiter, "maxiter", low=0)
    check_every = (
        CHECK_EVERY if check_every is None else check_int(check_every, "check_every", low=1)
    )
    as_blocks = isinstance(B, RowBlocks)
    B = _as_blocks(dhg, B, "B")
    X = B.lincomb([(B, 0.0)]) if X0 is None else _as_blocks(dhg, X0, "X0")
    if X.n_cols != B.n_cols:
        raise ValueError(f"X0 has {X.n_cols} columns: expected {B.n_cols}, as B.")
    bnorm = np.sqrt(np.maximum(B.column_dots(B, dhg.timeout), 0.0))
    tol = np.maximum(rtol * bnorm, atol)
    solver = _CG(dhg, alpha, B, X, tol, maxiter, check_every)
    info = solver.run()
    X = solver.X
    return (X if as_blocks else dhg.from_blocks(X)), info


def _as_blocks(dhg, V, name):
    if isinstance(V, RowBlocks):
        dhg.layout.check_same(V.layout, name)
        return V
    V = check_matrix(np.asarray(V)[:, None] if np.ndim(V) == 1 else V, name)
    if V.shape[0] != dhg.n_vertices:
        raise ValueError(
            f"{name} has {V.shape[0]} rows: expected {dhg.n_vertices} (one per vertex)."
        )
    return dhg.to_blocks(V.astype(np.float64))


# -- orthonormalisation and the randomized eigensolvers ---------------------------------------


#: Passes of :func:`orthonormalize` before it gives up: CholeskyQR2 needs two; a rank-deficient
#: block needs one deflating pass more, and each pass squares the distance to orthonormality.
MAX_ORTHONORMALIZE_PASSES = 6


def _orthonormalizing_factor(G, n_rows):
    """``(C, final)``: ``Y C`` has (nearly) orthonormal columns when ``G = YᵀY``.

    Cholesky (``C = R⁻¹``) when ``G`` is numerically positive definite; ``final`` is then
    true if ``‖G − I‖₂ ≤ 1/2`` (the input was already close to orthonormal, so this pass leaves
    it orthonormal to rounding: Yamamoto et al. 2015).  Otherwise an eigendecomposition
    ``G = V Λ Vᵀ`` drops the directions with ``λ ≤ max(n, ℓ) u λ_max`` — below the rounding
    error of the Gram matrix itself, i.e. outside the block's numerical rank — and
    ``C = V_r Λ_r^{-1/2}`` (fewer columns).
    """
    G = (G + G.T) / 2
    ell = G.shape[0]
    try:
        R = scipy.linalg.cholesky(G, lower=False)
    except np.linalg.LinAlgError:
        pass
    else:
        if np.all(np.isfinite(R)) and np.min(np.abs(np.diag(R))) > 0:
            C = scipy.linalg.solve_triangular(R, np.eye(ell), lower=False)
            return C, bool(np.linalg.norm(G - np.eye(ell), 2) <= 0.5)
    lam, V = np.linalg.eigh(G)
    keep = lam > max(n_rows, ell) * np.finfo(np.float64).eps * max(lam[-1], 0.0)
    if not np.any(keep):
        raise np.linalg.LinAlgError("orthonormalize: the block is zero (or not finite).")
    return V[:, keep] / np.sqrt(lam[keep]), False


def orthonormalize(Y, timeout=None):
    """An orthonormal basis of the columns of tall row blocks ``Y`` (CholeskyQR2).

    Each pass is one Gram all-reduce ``G = YᵀY`` (ℓ × ℓ to the client), a factor computed on
    the client and ``Y C`` on the workers.  For a block of full numerical rank this is
    CholeskyQR2: two Cholesky passes give orthogonality to rounding when
    ``κ(Y) ≲ u^{-1/2}`` (Yamamoto et al. 2015).  A failed Cholesky factorisation (rank
    deficiency, or ``κ(Y)`` beyond ``u^{-1/2}``) is replaced by a pass that drops the
    directions below the Gram matrix's rounding level (see ``_orthonormalizing_factor``),
    so the basis may have fewer columns than ``Y``; the passes go on until one starts from a
    nearly orthonormal block.

    Returns
    -------
    RowBlocks
        ``Q`` with ``QᵀQ = I`` to rounding and ``range(Q) ⊆ range(Y)``.

    Raises
    ------
    numpy.linalg.LinAlgError
        ``Y`` is zero or not finite, or no pass converged.

    References
    ----------
    Y. Yamamoto, Y. Nakatsukasa, Y. Yanagisawa, T. Fukaya, "Roundoff error analysis of the
    CholeskyQR2 algorithm", Electron. Trans. Numer. Anal. 44 (2015) 306-326.
    """
    for _ in range(MAX_ORTHONORMALIZE_PASSES):
        C, final = _orthonormalizing_factor(Y.gram(Y, timeout), Y.shape[0])
        Y = Y.lincomb([(Y, C)])
        if final:
            return Y
    raise np.linalg.LinAlgError(
        f"orthonormalize: no orthonormal basis after {MAX_ORTHONORMALIZE_PASSES} passes."
    )


def _gaussian_block(seed, n_rows, n_cols):
    return np.random.default_rng(seed).standard_normal((n_rows, n_cols))


def _random_blocks(layout, client, n_cols, random_state):
    """Gaussian ``n × ℓ`` test block drawn on the workers, reproducible from ``random_state``."""
    seeds = np.random.default_rng(random_state).integers(0, 2**63 - 1, size=layout.n_blocks)
    futures = [
        client.submit(
            _gaussian_block,
            int(seed),
            layout.rows(p).stop - layout.rows(p).start,
            n_cols,
            workers=[layout.workers[p]],
            allow_other_workers=True,
            pure=False,
        )
        for p, seed in enumerate(seeds)
    ]
    return RowBlocks(client, futures, layout, n_cols)


def _check_rank(n_components, n_oversamples, n_iter, limit):
    k = check_int(n_components, "n_components", low=1, high=limit)
    p = check_int(n_oversamples, "n_oversamples", low=0)
    q = check_int(n_iter, "n_iter", low=0)
    return k, min(k + p, limit), q


def distributed_eigh(dhg, n_components, *, n_oversamples=10, n_iter=4, random_state=None):
    """Largest eigenpairs of Θ by randomized subspace iteration on a DistributedHypergraph.

    ``Q = orth(Θ Ω)``, then ``n_iter`` times ``Q = orth(Θ Q)`` (CholeskyQR2 each time, so the
    powers never overflow or lose the small directions), then the Rayleigh–Ritz pairs from the
    Gram matrix ``T = Qᵀ Θ Q`` (ℓ × ℓ on the client): ``T = U diag(θ) Uᵀ``, ``V = Q U``.

    Parameters
    ----------
    dhg : DistributedHypergraph
    n_components : int
        Eigenpairs returned (largest eigenvalues of Θ; Θ is positive semidefinite).
    n_oversamples : int, default=10
        Extra columns of the sketch, ``ℓ = n_components + n_oversamples``.
    n_iter : int, default=4
        Power (subspace) iterations.
    random_state : int or None
        Seed of the Gaussian test block (drawn block by block on the workers).

    Returns
    -------
    w : ndarray of shape (n_components,)
        Ritz values, descending.
    V : RowBlocks of shape (n_vertices, n_components)
        Ritz vectors in ``dhg``'s block order (``dhg.from_blocks(V)`` for vertex order).

    Notes
    -----
    Each Ritz pair has an eigenvalue of Θ within ``‖Θv − θv‖`` of ``θ``, and the Ritz values
    lie below the eigenvalues they approximate (``θ_j ≤ λ_j``, Cauchy interlacing).

    References
    ----------
    N. Halko, P.-G. Martinsson, J. A. Tropp, "Finding structure with randomness", SIAM Rev.
    53 (2011), Algorithm 5.3 (with 4.4).
    """
    k, ell, q = _check_rank(n_components, n_oversamples, n_iter, dhg.n_vertices)
    Q = orthonormalize(
        dhg.matmat(_random_blocks(dhg.layout, dhg.client, ell, random_state)), dhg.timeout
    )
    for _ in range(q):
        Q = orthonormalize(dhg.matmat(Q), dhg.timeout)
    T = Q.gram(dhg.matmat(Q), dhg.timeout)
    theta, U = np.linalg.eigh((T + T.T) / 2)
    top = np.argsort(theta)[::-1][:k]
    return theta[top], Q.lincomb([(Q, U[:, top])])


def distributed_svd(A, n_components, *, n_oversamples=10, n_iter=4, random_state=None):
    """Truncated SVD of a row-partitioned matrix by the randomized range finder with QR passes.

    ``Q = orth(A Ω)`` (Ω of shape N × ℓ drawn on the client), then ``n_iter`` times
    ``Z = qr(AᵀQ)`` (an all-reduce of N × ℓ partial products; QR on the client) and
    ``Q = orth(A Z)`` (CholeskyQR2); finally ``B = QᵀA`` (ℓ × N), ``B = Ũ Σ Vᵀ`` on the client
    and ``U = Q Ũ``.  Orthonormalising after every half-pass keeps the small singular
    directions that plain power iteration rounds away.

    Parameters
    ----------
    A : RowBlocks of shape (n, N)
        The matrix, its rows on the workers (dense or SciPy sparse blocks).
    n_components : int
    n_oversamples : int, default=10
    n_iter : int, default=4
    random_state : int or None

    Returns
    -------
    U : RowBlocks of shape (n, n_components)
    s : ndarray of shape (n_components,), descending
    Vt : ndarray of shape (n_components, N)

    References
    ----------
    N. Halko, P.-G. Martinsson, J. A. Tropp, "Finding structure with randomness", SIAM Rev.
    53 (2011), Algorithms 4.4 and 5.1.

    Examples
    --------
    >>> import numpy as np
    >>> from hyperlearn.distributed import RowBlocks, distributed_svd, managed_client
    >>> from hyperlearn.distributed._rowblocks import even_layout
    >>> rng = np.random.default_rng(0)
    >>> M = rng.standard_normal((200, 5)) @ rng.standard_normal((5, 40))
    >>> with managed_client() as client:
    ...     workers = sorted(client.scheduler_info()["workers"])
    ...     blocks = RowBlocks.from_array(client, M, even_layout(200, workers))
    ...     U, s, Vt = distributed_svd(blocks, 5, random_state=0)
    ...     approx = U.gather() * s @ Vt
    >>> bool(np.allclose(approx, M))
    True
    """
    if not isinstance(A, RowBlocks):
        raise TypeError(f"A={describe(A)} is not valid: expected a RowBlocks.")
    n, N = A.shape
    k, ell, q = _check_rank(n_components, n_oversamples, n_iter, min(n, N))
    Omega = np.random.default_rng(random_state).standard_normal((N, ell))
    Q = orthonormalize(A.lincomb([(A, Omega)]))
    for _ in range(q):
        Z, _ = np.linalg.qr(A.gram(Q))
        Q = orthonormalize(A.lincomb([(A, Z)]))
    B = A.gram(Q).T
    U_small, s, Vt = scipy.linalg.svd(B, full_matrices=False)
    return Q.lincomb([(Q, U_small[:, :k])]), s[:k], Vt[:k]

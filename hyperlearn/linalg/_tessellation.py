"""Block tessellation: reorder, split the diagonal into blocks, low-rank each, invert by Woodbury.

For a symmetric positive semidefinite ``A`` (the normalised hypergraph adjacency
:math:`\\Theta = D_v^{-1/2} H W D_e^{-1} H^T D_v^{-1/2}`, spectrum in [0, 1]) the solve
:math:`(I - \\alpha\\Theta)F = Y` is approximated by keeping only the diagonal blocks of
:math:`\\Theta` in a vertex order where strongly coupled vertices are neighbours, and replacing
each block by its top ``rank`` eigenpairs :math:`\\Theta_{ii} \\approx U_i\\Lambda_iU_i^T`.
Then, exactly (Woodbury, :math:`U_i` orthonormal),

.. math:: (I - \\alpha U_i\\Lambda_iU_i^T)^{-1} = I + U_i\\,\\mathrm{diag}
          \\Big(\\frac{\\alpha\\lambda}{1-\\alpha\\lambda}\\Big)U_i^T .

The low-rank factor is taken of :math:`\\Theta_{ii}`, never of :math:`I - \\alpha\\Theta_{ii}`:
the inverse is dominated by the *largest* eigenvalues of :math:`\\Theta` (where
:math:`1/(1-\\alpha\\lambda)` is large), and those are exactly what a truncated eigendecomposition
of :math:`\\Theta_{ii}` keeps; truncating :math:`I - \\alpha\\Theta_{ii}` keeps the wrong end.
"""

from __future__ import annotations

import numbers
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
from scipy.sparse.csgraph import reverse_cuthill_mckee
from scipy.sparse.linalg import LinearOperator

from ..utils._validation import check_choice, check_int, check_real
from ._randomized import randomized_eigh
from ._sketch import _as_operand, _check_symmetric, _sign_flip_columns

__all__ = ["Block", "BlockLowRank", "tessellate"]

# Dense input has no sparsity pattern for reverse Cuthill-McKee; we use its exact nonzeros only
# when they are at most this fraction of the entries (otherwise RCM would order a near-complete
# graph, i.e. arbitrarily) and refuse otherwise.
RCM_DENSE_MAX_DENSITY = 0.25

# A block whose size is at most rank + this many rows is factored exactly (dense eigh): a randomized
# sketch that wide costs as much as the exact factorisation.
EXACT_BLOCK_SLACK = 10

# Spectral ordering: number of eigenvectors of A used for the embedding (NJW spectral clustering).
SPECTRAL_MAX_DIM = 32


@dataclass(frozen=True)
class Block:
    """One diagonal block: ``A[indices][:, indices] ~ V @ diag(eigenvalues) @ V.T``.

    Attributes
    ----------
    indices : ndarray of int, shape (n_i,)
        Original (input-order) indices of the block's rows, in permuted order.
    eigenvalues : ndarray, shape (r_i,)
        Descending.
    eigenvectors : ndarray, shape (n_i, r_i)
        Orthonormal columns.
    """

    indices: np.ndarray
    eigenvalues: np.ndarray
    eigenvectors: np.ndarray


class BlockLowRank:
    """Block-diagonal low-rank approximation of a symmetric matrix in a permuted order.

    Built by :func:`tessellate`.  All operators act in the ORIGINAL order of ``A``'s rows; the
    permutation is internal.

    Attributes
    ----------
    permutation : ndarray of int, shape (n,)
        ``A[permutation][:, permutation]`` is the matrix whose diagonal blocks were factored;
        the blocks are consecutive slices of this order.
    blocks : list of Block
    shape : tuple
    dtype : numpy dtype
    """

    def __init__(self, permutation, blocks, dtype):
        self.permutation = np.asarray(permutation)
        self.blocks = list(blocks)
        n = self.permutation.shape[0]
        self.shape = (n, n)
        self.dtype = np.dtype(dtype)

    def __repr__(self):
        ranks = [b.eigenvalues.shape[0] for b in self.blocks]
        return (
            f"BlockLowRank(n={self.shape[0]}, n_blocks={len(self.blocks)}, "
            f"ranks={min(ranks)}..{max(ranks)}, dtype={self.dtype})"
        )

    @property
    def n_blocks(self):
        return len(self.blocks)

    def _apply(self, x, diag_fn, identity):
        x = np.asarray(x)
        if x.shape[0] != self.shape[0] or x.ndim not in (1, 2):
            raise ValueError(
                f"x has shape {x.shape}: expected ({self.shape[0]},) or ({self.shape[0]}, k)."
            )
        dtype = np.result_type(x.dtype, self.dtype)
        y = x.astype(dtype, copy=True) if identity else np.zeros(x.shape, dtype=dtype)
        for blk in self.blocks:
            if blk.eigenvalues.shape[0] == 0:
                continue
            d = diag_fn(blk.eigenvalues).astype(dtype, copy=False)
            U = blk.eigenvectors
            coef = U.T @ x[blk.indices]
            coef = coef * (d[:, None] if coef.ndim == 2 else d)
            y[blk.indices] += U @ coef
        return y

    def matvec(self, x):
        """Apply the approximation of ``A`` (block-diagonal low rank) to ``x`` (n,) or (n, k)."""
        return self._apply(x, lambda lam: lam, identity=False)

    def toarray(self):
        """Dense n x n matrix of the approximation (for small n: tests and diagnostics)."""
        return self.matvec(np.eye(self.shape[0], dtype=self.dtype))

    def _check_alpha(self, alpha, name="alpha"):
        alpha = check_real(alpha, name)
        lam_max = max(
            (float(b.eigenvalues.max()) for b in self.blocks if b.eigenvalues.size), default=0.0
        )
        lam_min = min(
            (float(b.eigenvalues.min()) for b in self.blocks if b.eigenvalues.size), default=0.0
        )
        worst = max(alpha * lam_max, alpha * lam_min)
        if worst >= 1.0:
            raise ValueError(
                f"{name}={alpha} makes I - alpha*A singular or indefinite on the kept subspace "
                f"(alpha * lambda = {worst:.6g} >= 1; eigenvalues of the blocks lie in "
                f"[{lam_min:.6g}, {lam_max:.6g}]): expected alpha * lambda_max < 1."
            )
        return alpha

    def inverse_operator(self, alpha):
        """:math:`(I - \\alpha A)^{-1}` approximated blockwise by Woodbury, as a LinearOperator.

        ``y = x + sum_i U_i diag(alpha*lam/(1 - alpha*lam)) U_i^T x[block i]`` (scattered back to
        the original order), the exact inverse of ``I - alpha * A_hat`` with ``A_hat`` this
        block-diagonal low-rank approximation.  Symmetric positive definite for
        ``alpha * lambda_max < 1``.

        Parameters
        ----------
        alpha : float
            With ``alpha * lambda < 1`` for every kept eigenvalue.

        Returns
        -------
        LinearOperator
            Shape (n, n), symmetric, supports matvec/matmat/rmatvec.

        Raises
        ------
        ValueError
            If ``alpha * lambda >= 1`` for a kept eigenvalue.
        """
        alpha = self._check_alpha(alpha)
        return self._woodbury_operator(alpha)

    def _woodbury_operator(self, alpha):
        def diag_fn(lam):
            return alpha * lam / (1.0 - alpha * lam)

        def apply(x):
            return self._apply(x, diag_fn, identity=True)

        return LinearOperator(
            self.shape, matvec=apply, rmatvec=apply, matmat=apply, rmatmat=apply, dtype=self.dtype
        )

    def preconditioner(self, alpha):
        """Preconditioner for CG on ``(I - alpha A) x = b`` (``M=`` of ``cg``/``block_cg``).

        Notes
        -----
        The randomized Nyström preconditioner of Frangella, Tropp & Udell (2023) for
        :math:`\\hat A + \\mu I` is
        :math:`P^{-1} = (\\hat\\lambda_r+\\mu)U(\\hat\\Lambda+\\mu I)^{-1}U^T + (I - UU^T)`;
        the scaling of the kept subspace puts its preconditioned eigenvalues at the bottom of the
        spectrum of the unkept part.  For :math:`I - \\alpha A` the unkept part has eigenvalues
        in :math:`[1 - \\alpha\\lambda_{r+1}, 1]` and the exact block inverse puts the kept ones
        at 1, the top of that interval, so the analogue is the Woodbury inverse itself (a positive
        scaling of the subspace does not change CG's bound :math:`1/(1-\\alpha\\lambda_{r+1})`).
        It is SPD for ``alpha * lambda_max < 1``.

        That bound holds for eigenvectors of the whole ``A``; block eigenvectors ignore the
        coupling between blocks, and the amplification :math:`1/(1-\\alpha\\lambda)` of a block
        direction that is not a near-null direction of :math:`I - \\alpha A` widens the
        spectrum, so it helps where the blocks are clusters: use it with
        ``ordering='spectral'`` and compare with no preconditioner (figures in
        benchmarks/TUNING.md).

        Returns
        -------
        LinearOperator
            Symmetric positive definite, shape (n, n).
        """
        alpha = self._check_alpha(alpha)
        return self._woodbury_operator(alpha)


# --- orderings -------------------------------------------------------------------------------


def _pattern_rcm(pattern):
    pattern = sp.csr_matrix(pattern, copy=False)
    pattern = sp.csr_matrix(
        (np.ones(pattern.nnz, dtype=np.int8), pattern.indices, pattern.indptr), shape=pattern.shape
    )
    return np.asarray(reverse_cuthill_mckee(pattern, symmetric_mode=True), dtype=np.intp)


def _rcm_order(A, original):
    n = A.shape[0]
    hypergraph = getattr(original, "hypergraph", None)
    if hypergraph is not None:
        # bipartite vertex-edge graph of H: never forms H H^T (which can be dense)
        H = sp.csr_matrix(hypergraph.incidence)
        big = sp.bmat([[None, H], [H.T, None]], format="csr")
        order = _pattern_rcm(big)
        return order[order < n]
    if sp.issparse(A):
        sym = A + A.T
        return _pattern_rcm(sym)
    if isinstance(A, np.ndarray):
        nz = np.count_nonzero(A)
        density = nz / float(A.size)
        if density > RCM_DENSE_MAX_DENSITY:
            raise ValueError(
                f"ordering='rcm' needs a sparsity pattern, but A is a dense array with "
                f"{100 * density:.1f}% nonzero entries (> {100 * RCM_DENSE_MAX_DENSITY:.0f}%): "
                "pass ordering='spectral' or ordering=None, a scipy.sparse matrix, or a "
                "HypergraphOperator (its incidence pattern is used)."
            )
        sym = sp.csr_matrix(A) + sp.csr_matrix(A).T
        return _pattern_rcm(sym)
    raise ValueError(
        f"ordering='rcm' needs a sparsity pattern, but A is a {type(original).__name__} without "
        "a .hypergraph attribute: pass ordering='spectral' or ordering=None."
    )


def _spectral_order(A, n_blocks, rng_seed, dtype):
    """Vertex order and block boundaries from NJW spectral clustering on the top eigenvectors."""
    from sklearn.cluster import KMeans

    n = A.shape[0]
    dim = int(min(max(n_blocks, 2), SPECTRAL_MAX_DIM, n - 1))
    _, V = randomized_eigh(
        A, dim, random_state=np.random.RandomState(rng_seed), check_symmetric=False
    )
    norms = np.linalg.norm(V, axis=1, keepdims=True)
    E = np.divide(V, norms, out=np.zeros_like(V), where=norms > 0).astype(np.float64)
    labels = KMeans(n_clusters=n_blocks, n_init=3, random_state=rng_seed).fit_predict(E)
    # clusters in the order of their mean second coordinate, so adjacent clusters are similar
    coord = E[:, 1] if E.shape[1] > 1 else E[:, 0]
    means = np.array(
        [coord[labels == c].mean() if np.any(labels == c) else 0.0 for c in range(n_blocks)]
    )
    rank_of = np.empty(n_blocks, dtype=np.intp)
    rank_of[np.argsort(means, kind="stable")] = np.arange(n_blocks)
    order = np.lexsort((coord, rank_of[labels]))
    sizes = np.bincount(rank_of[labels], minlength=n_blocks)
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    return order.astype(np.intp), bounds


# --- block factorisation ---------------------------------------------------------------------


class _PrincipalBlock(LinearOperator):
    """``A[idx][:, idx]`` of a generic operator (each product is a full product with A)."""

    def __init__(self, A, idx, dtype):
        self._A, self._idx = A, idx
        super().__init__(dtype=dtype, shape=(idx.shape[0], idx.shape[0]))

    def _matmat(self, X):
        full = np.zeros((self._A.shape[1], X.shape[1]), dtype=np.result_type(X.dtype, self.dtype))
        full[self._idx] = X
        return np.asarray(self._A @ full)[self._idx]

    def _matvec(self, x):
        return self._matmat(np.asarray(x).reshape(-1, 1)).ravel()

    def _adjoint(self):
        return self


def _principal_block(A, original, idx, dtype):
    if hasattr(original, "principal_block"):
        return original.principal_block(idx)
    if sp.issparse(A):
        return A[idx][:, idx]
    if isinstance(A, np.ndarray):
        return A[np.ix_(idx, idx)]
    return _PrincipalBlock(A, idx, dtype)


def _dense_block(block, dtype):
    if isinstance(block, np.ndarray):
        return block.astype(dtype, copy=False)
    if sp.issparse(block):
        return block.toarray().astype(dtype, copy=False)
    return np.asarray(block @ np.eye(block.shape[0], dtype=dtype), dtype=dtype)


def _factor_block(A, original, job, *, rank, method, n_oversamples, n_iter, dtype):
    """Top ``rank`` eigenpairs of the diagonal block ``job = (idx, seed)`` (exact when small)."""
    idx, seed = job
    block = _principal_block(A, original, idx, dtype)
    n_i = idx.shape[0]
    r = min(rank, n_i)
    if r == 0:
        return Block(idx, np.zeros(0, dtype=dtype), np.zeros((n_i, 0), dtype=dtype))
    if n_i <= r + EXACT_BLOCK_SLACK:
        D = _dense_block(block, dtype)
        w, V = sla.eigh(0.5 * (D + D.T), check_finite=False)
        order = np.argsort(-np.abs(w), kind="stable")[:r]
        w, V = w[order], np.ascontiguousarray(V[:, order])
        desc = np.argsort(-w, kind="stable")
        w, V = w[desc].astype(dtype), np.ascontiguousarray(V[:, desc], dtype=dtype)
        _sign_flip_columns(V)
        return Block(idx, w, V)
    rs = np.random.RandomState(seed)
    eig_method = "nystrom" if method == "nystrom" else "subspace"
    # a principal block of the symmetric A (checked once in tessellate) is symmetric
    w, V = randomized_eigh(
        block,
        r,
        method=eig_method,
        n_oversamples=n_oversamples,
        n_iter=n_iter,
        random_state=rs,
        check_symmetric=False,
    )
    return Block(idx, w.astype(dtype, copy=False), V.astype(dtype, copy=False))


def _single_threaded(fn, job):
    # Numba's thread count is per calling thread: operator blocks (Numba kernels) in a pool
    # worker run on one thread, like BLAS, so workers x threads never exceeds the CPUs.
    numba = sys.modules.get("numba")
    if numba is not None:
        numba.set_num_threads(1)
    return fn(job)


def _run_jobs(fn, jobs, n_jobs):
    """``[fn(job) for job in jobs]`` on ``n_jobs`` threads (None: all CPUs, capped), each with
    one BLAS and one Numba thread."""
    workers = min(len(jobs), os.cpu_count() or 1) if n_jobs is None else n_jobs
    if workers == 1 or len(jobs) == 1:
        return [fn(job) for job in jobs]
    from threadpoolctl import threadpool_limits

    # BLAS releases the GIL: one BLAS thread per worker avoids oversubscription
    with threadpool_limits(1), ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(partial(_single_threaded, fn), jobs))


def _seeds(random_state, count):
    if isinstance(random_state, np.random.Generator):
        entropy = int(random_state.integers(0, 2**63 - 1))
    elif isinstance(random_state, np.random.RandomState):
        entropy = int(random_state.randint(0, 2**31 - 1))
    elif random_state is None or isinstance(random_state, numbers.Integral):
        entropy = None if random_state is None else int(random_state)
    else:
        raise ValueError(
            f"random_state={random_state!r} is invalid: expected None, an int, a RandomState or "
            "a Generator."
        )
    ss = np.random.SeedSequence(entropy)
    return [int(c.generate_state(1)[0]) for c in ss.spawn(count)]


def tessellate(
    A,
    n_blocks,
    rank,
    *,
    ordering="rcm",
    method="nystrom",
    random_state=None,
    n_oversamples=10,
    n_iter="auto",
    n_jobs=None,
    check_symmetric=True,
):
    """Block-diagonal low-rank approximation of a symmetric PSD matrix, with Woodbury inverses.

    Parameters
    ----------
    A : {ndarray, sparse matrix, LinearOperator} of shape (n, n)
        Symmetric positive semidefinite.  A ``HypergraphOperator`` (anything with ``.hypergraph``
        and ``.principal_block(idx)``) is used matrix-free: RCM reads the incidence pattern ``H``
        and the diagonal blocks come from ``A.principal_block(idx)``.
    n_blocks : int
        Number of diagonal blocks, ``1 <= n_blocks <= n``.
    rank : int
        Rank kept per block (``min(rank, block size)``); ``rank >= block size`` factors the
        block exactly.
    ordering : {'rcm', 'spectral', None}, default='rcm'
        'rcm': reverse Cuthill-McKee on the bipartite vertex-hyperedge graph of ``H`` (hypergraph
        operators), on the pattern of ``A + A^T`` (sparse ``A``), or on the exact nonzeros of a
        dense ``A`` whose density is at most 25% (denser arrays are refused with a ValueError);
        blocks are then equal consecutive slices.  'spectral': k-means (NJW) on the top
        ``min(max(n_blocks, 2), 32)`` eigenvectors of ``A`` from :func:`randomized_eigh`; blocks
        are the clusters (so their sizes differ).  None: the input order, equal slices.
    method : {'nystrom', 'svd'}, default='nystrom'
        Low-rank factorisation of each block: one-pass Nyström (PSD-preserving, never
        overestimates) or randomized block-Krylov eigendecomposition (more accurate, more passes).
    random_state : int, RandomState, Generator or None, default=None
        Seeds every block independently (``SeedSequence.spawn``), so the result does not depend on
        thread scheduling.
    n_oversamples, n_iter
        Passed to :func:`randomized_eigh` for each block.
    n_jobs : int or None, default=None
        Threads factoring blocks in parallel (None: all CPUs, capped at ``n_blocks``).  BLAS and
        Numba are limited to one thread per worker while they run.
    check_symmetric : bool, default=True
        Refuse an ``A`` that is not symmetric to rounding, the test of
        :func:`randomized_eigh`:
        :math:`\\|A - A^T\\|_F \\le 10\\sqrt{n}\\,\\varepsilon\\,\\|A\\|_F` (exact for arrays and
        sparse matrices, a random probe for operators).  ``False`` skips it.

    Returns
    -------
    BlockLowRank

    Raises
    ------
    ValueError, TypeError
        For a non-square or non-symmetric ``A``, bad ``n_blocks``/``rank``/``ordering``/
        ``method``/``n_jobs``/``check_symmetric``, or 'rcm' on a dense array without a usable
        pattern.

    Notes
    -----
    Accuracy: the block-diagonal approximation drops the coupling between blocks, so the error
    of the inverse, :math:`\\|(I - \\alpha\\Theta)^{-1}Y - \\hat M Y\\| / \\|(I -
    \\alpha\\Theta)^{-1}Y\\|` with :math:`\\hat M` = ``inverse_operator(alpha)``, is dominated by
    the weight of :math:`\\Theta` outside the diagonal blocks, not by the rank; an ordering that
    puts strongly coupled vertices together ('rcm', 'spectral') lowers it.  It is an
    approximation for warm starts and preconditioning, not a solver (``hyperlearn.linalg.cg``
    solves to a tolerance).  The ``randomized`` benchmark (case ``tessellation``) reports the
    error per ordering and rank.

    Examples
    --------
    >>> import numpy as np
    >>> from hyperlearn.linalg import tessellate
    >>> G = np.random.default_rng(0).standard_normal((40, 40))
    >>> A = G @ G.T / np.linalg.norm(G, 2) ** 2          # PSD, eigenvalues in [0, 1]
    >>> blr = tessellate(A, 1, 40, ordering=None, random_state=0)
    >>> x = np.ones(40)
    >>> bool(np.allclose(blr.inverse_operator(0.5) @ x, np.linalg.solve(np.eye(40) - 0.5 * A, x)))
    True
    """
    original = A
    A, dtype = _as_operand(A, "A")
    if A.shape[0] != A.shape[1]:
        raise ValueError(f"A must be square (symmetric); got shape {A.shape}.")
    n = A.shape[0]
    n_blocks = check_int(n_blocks, "n_blocks", low=1, high=n)
    rank = check_int(rank, "rank", low=0)
    check_choice(ordering, "ordering", ("rcm", "spectral", None))
    check_choice(method, "method", ("nystrom", "svd"))
    n_jobs = check_int(n_jobs, "n_jobs", low=1, allow=(None,))
    if not isinstance(check_symmetric, (bool, np.bool_)):
        raise TypeError(f"check_symmetric={check_symmetric!r} is invalid: expected True or False.")
    if check_symmetric:
        _check_symmetric(A, dtype)
    if sp.issparse(A):
        A = sp.csr_matrix(A)

    seeds = _seeds(random_state, n_blocks + 1)
    if ordering == "spectral":
        perm, bounds = _spectral_order(A, n_blocks, seeds[-1], dtype)
    else:
        perm = _rcm_order(A, original) if ordering == "rcm" else np.arange(n, dtype=np.intp)
        bounds = (np.arange(n_blocks + 1) * n) // n_blocks

    jobs = [(perm[bounds[i] : bounds[i + 1]], seeds[i]) for i in range(n_blocks)]
    factor = partial(
        _factor_block,
        A,
        original,
        rank=rank,
        method=method,
        n_oversamples=n_oversamples,
        n_iter=n_iter,
        dtype=dtype,
    )
    blocks = _run_jobs(factor, jobs, n_jobs)
    return BlockLowRank(perm, blocks, dtype)

"""f-step solvers: ``(I − αΘ) F = (1 − α) Y`` for all tag columns at once.

Each solver takes the hypergraph (whose weights define Θ), ``α``, the right-hand side and a warm
start, and returns ``(F, iterations, info)`` — ``iterations`` is the number of Krylov iterations
(0 for the direct solver).  ``I − αΘ`` is symmetric positive definite with spectrum in
``[1 − α, 1]`` when the weights are non-negative, so CG converges in about ``½√κ·ln(2/ε)``
iterations with ``κ ≤ 1/(1 − α)``.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from ..linalg._shifted import ShiftedOperator

__all__ = [
    "EXACT_MAX_VERTICES",
    "SOLVERS",
    "shifted_operator",
    "solve_f_step",
    "tessellated_preconditioner",
]

#: Largest hypergraph the dense ``exact`` solver accepts: the n×n matrix takes 8·n² bytes
#: (1.8 GB at 15 000) and its Cholesky factorisation n³/3 flops.
EXACT_MAX_VERTICES = 15_000
#: ``dense_theta`` multiplies the hyperedges with more than ``n / DENSE_EDGE_FRACTION`` members
#: densely (a dense product costs n² per hyperedge, a sparse one about |e|² scattered entries,
#: each several times slower than a BLAS flop).
DENSE_EDGE_FRACTION = 8

SOLVERS = ("block_cg", "cg", "tessellated", "exact")
#: Power steps of the Nyström sketch of each tessellation block.
TESSELLATION_POWER_ITER = 2


def shifted_operator(hypergraph, alpha):
    """``I − αΘ`` as a symmetric :class:`~scipy.sparse.linalg.LinearOperator` (never formed)."""
    return ShiftedOperator(hypergraph.normalized_adjacency(), alpha)


def dense_theta(hypergraph):
    """Θ as a dense float64 array, built as ``B Bᵀ`` with ``B = Dv^{-1/2} H W^{1/2} De^{-1/2}``.

    Small hyperedges (the kNN ones) go through a sparse product; large ones (tags: hundreds or
    thousands of members each, whose ``|e|²`` entries a sparse product would scatter one by
    one) through one dense ``B_large B_largeᵀ`` (BLAS).  A hyperedge counts as large when it has
    more than ``n / DENSE_EDGE_FRACTION`` members (see benchmarks/TUNING.md), so that the
    reference solve is not slowed by its set-up.
    """
    hg = hypergraph.astype(np.float64)
    n = hg.n_vertices
    d = np.asarray(hg.vertex_degrees, dtype=np.float64)
    delta = np.asarray(hg.edge_degrees, dtype=np.float64)
    w = np.asarray(hg.weights, dtype=np.float64)
    row_scale = np.divide(1.0, np.sqrt(d), out=np.zeros_like(d), where=d > 0)
    col_scale = np.sqrt(np.divide(w, delta, out=np.zeros_like(w), where=delta > 0))
    B = (sp.diags(row_scale) @ hg.incidence_csc @ sp.diags(col_scale)).tocsc()
    large = np.asarray(hg.edge_sizes) * DENSE_EDGE_FRACTION > n
    # one n×n array, written once by BLAS (its first touch is a large share of the cost),
    # then the sparse part added in place at its (unique) coordinates
    if np.any(large):
        dense = B[:, large].toarray()
        theta = dense @ dense.T
    else:
        theta = np.zeros((n, n))
    small = sp.csc_matrix(B[:, ~large])
    part = (small @ small.T).tocoo()
    theta[part.row, part.col] += part.data
    return theta


def solve_exact(hypergraph, alpha, rhs):
    """Dense direct solve: Cholesky of ``I − αΘ`` in float64 (the reference)."""
    n = hypergraph.n_vertices
    if n > EXACT_MAX_VERTICES:
        raise ValueError(
            f"solver='exact' forms the dense {n}×{n} matrix; it accepts at most "
            f"{EXACT_MAX_VERTICES} vertices. Use solver='block_cg' (or 'auto')."
        )
    M = dense_theta(hypergraph)
    M *= -alpha
    M[np.diag_indices(n)] += 1.0
    # weights are non-negative (a Hypergraph refuses others), so I − αΘ is positive definite
    F = scipy.linalg.solve(
        M, np.asarray(rhs, dtype=np.float64), assume_a="pos", overwrite_a=True, check_finite=False
    )
    return F.astype(rhs.dtype, copy=False)


def tessellated_preconditioner(hypergraph, alpha, *, n_blocks, rank, random_state):
    """The block-tessellated low-rank inverse of ``I − αΘ`` (Woodbury), as a LinearOperator.

    Each diagonal block of Θ (reverse Cuthill-McKee order on the incidence pattern) is replaced
    by its top ``rank`` eigenpairs from a Nyström sketch with ``TESSELLATION_POWER_ITER`` power
    steps; the one-pass sketch (no power step) underestimates the top eigenvalues of Θ badly
    (see benchmarks/TUNING.md), and the Woodbury inverse then misses the directions that
    dominate ``(I − αΘ)^{-1}``.
    """
    from ..linalg import tessellate

    blr = tessellate(
        hypergraph.normalized_adjacency(),
        n_blocks,
        rank,
        method="nystrom",
        n_iter=TESSELLATION_POWER_ITER,
        random_state=random_state,
    )
    return blr.preconditioner(alpha)


def solve_f_step(
    solver, hypergraph, alpha, rhs, F0, *, rtol, n_blocks, rank, random_state, state=None
):
    """Solve ``(I − αΘ) F = rhs`` with the named solver; returns ``(F, iterations, info)``.

    ``state`` (a dict kept by the caller across alternations) holds the tessellated
    preconditioner, which is factored at the first f-step and reused afterwards.
    """
    if solver == "exact":
        return solve_exact(hypergraph, alpha, rhs), 0, 0
    A = shifted_operator(hypergraph, alpha)
    if solver in ("block_cg", "tessellated"):
        from ..linalg import block_cg

        M = None
        if solver == "tessellated":
            state = {} if state is None else state
            M = state.get("preconditioner")
            if M is None:
                M = tessellated_preconditioner(
                    hypergraph, alpha, n_blocks=n_blocks, rank=rank, random_state=random_state
                )
                state["preconditioner"] = M
        history = []
        F, info = block_cg(A, rhs, F0, rtol=rtol, M=M, residuals=history)
        return F, max(len(history) - 1, 0), info
    if solver == "cg":
        from ..linalg import cg

        F = np.empty_like(rhs)
        iterations, worst = 0, 0
        for j in range(rhs.shape[1]):
            history = []
            F[:, j], info = cg(A, rhs[:, j], F0[:, j], rtol=rtol, residuals=history)
            iterations += max(len(history) - 1, 0)
            worst = info if info != 0 and (worst == 0 or info < 0) else worst
        return F, iterations, worst
    raise ValueError(f"solver must be one of {SOLVERS} or 'auto'; got {solver!r}.")

"""Tests of hyperlearn.linalg.tessellate / BlockLowRank.

Oracles are dense float64 inverses.  The Woodbury identity is exact, so
``inverse_operator(alpha)`` must equal ``inv(I - alpha * A_hat)`` for the block-diagonal low-rank
``A_hat`` it represents up to rounding, ``WOODBURY_SLACK * sqrt(n) * eps * cond``; with one block
and full rank ``A_hat = A`` (dense eigh) and the inverse is exact.
"""

import math

import numpy as np
import pytest
import scipy.linalg as sla
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.linalg import aslinearoperator
from scipy.sparse.linalg import cg as scipy_cg

from hyperlearn.linalg import BlockLowRank, tessellate

# c in c * sqrt(n) * eps * kappa: rounding of an eigendecomposition-based inverse of I - alpha*A,
# kappa = 1 / (1 - alpha * lambda_max) its condition number.
WOODBURY_SLACK = 10.0


def psd_theta(n, seed, decay=8.0):
    """Symmetric PSD with spectrum in [0, 1] and a decaying spectrum (like Θ)."""
    rng = np.random.default_rng(seed)
    Q = sla.qr(rng.standard_normal((n, n)))[0]
    w = np.exp(-np.arange(n) / decay)
    return (Q * w) @ Q.T


def clustered_theta(n_clusters, size, seed, leak=0.02):
    """Θ-like PSD matrix, block structured in a hidden (shuffled) order, spectrum in [0, 1]."""
    rng = np.random.default_rng(seed)
    n = n_clusters * size
    labels = np.repeat(np.arange(n_clusters), size)
    X = np.eye(n_clusters)[labels] + leak * rng.standard_normal((n, n_clusters))
    G = X / np.linalg.norm(X, axis=1, keepdims=True)
    A = G @ G.T
    A /= np.linalg.eigvalsh(A)[-1]
    perm = rng.permutation(n)
    return A[np.ix_(perm, perm)], labels[perm]


def tol_for(n, alpha, lam_max=1.0):
    return WOODBURY_SLACK * math.sqrt(n) * np.finfo(np.float64).eps / (1 - alpha * lam_max)


@pytest.mark.parametrize("container", ["dense", "csr", "operator"])
@pytest.mark.parametrize("alpha", [0.5, 0.9, 0.99, -2.0])
def test_one_block_full_rank_is_the_exact_inverse(container, alpha):
    A = psd_theta(60, seed=0)
    X = {"dense": A, "csr": sp.csr_matrix(A), "operator": aslinearoperator(A)}[container]
    blr = tessellate(X, 1, 60, ordering=None, random_state=0)
    inv = blr.inverse_operator(alpha) @ np.eye(60)
    exact = np.linalg.inv(np.eye(60) - alpha * A)
    assert np.abs(inv - exact).max() <= tol_for(60, max(alpha, 0.0)) * np.abs(exact).max()


@settings(max_examples=25)
@given(
    n=st.integers(8, 60),
    n_blocks=st.integers(1, 6),
    rank=st.integers(0, 12),
    alpha=st.floats(-3.0, 0.95),
    method=st.sampled_from(["nystrom", "svd"]),
    ordering=st.sampled_from([None, "spectral"]),
    seed=st.integers(0, 1000),
)
def test_woodbury_equals_dense_inverse_of_the_approximation(
    n, n_blocks, rank, alpha, method, ordering, seed
):
    n_blocks = min(n_blocks, n // 2)
    A = psd_theta(n, seed=seed)
    blr = tessellate(A, max(n_blocks, 1), rank, ordering=ordering, method=method, random_state=seed)
    A_hat = blr.toarray()
    assert np.allclose(A_hat, A_hat.T, atol=1e-12)
    lam_max = max(float(np.linalg.eigvalsh(A_hat)[-1]), 0.0)
    if alpha * lam_max >= 1:
        with pytest.raises(ValueError, match="alpha"):
            blr.inverse_operator(alpha)
        return
    X = np.random.default_rng(seed).standard_normal((n, 3))
    got = blr.inverse_operator(alpha) @ X
    want = np.linalg.solve(np.eye(n) - alpha * A_hat, X)
    cond = 1.0 / (1.0 - max(alpha, 0.0) * lam_max)
    allowed = WOODBURY_SLACK * math.sqrt(n) * np.finfo(float).eps * cond * np.abs(X).max() * cond
    assert np.abs(got - want).max() <= allowed
    # the single-vector path and the transpose agree with the block path
    op = blr.inverse_operator(alpha)
    assert np.allclose(op.matvec(X[:, 0]), got[:, 0], rtol=0, atol=allowed)
    assert np.allclose(op.rmatvec(X[:, 0]), got[:, 0], rtol=0, atol=allowed)


def test_blocks_partition_the_indices_and_are_orthonormal():
    A, _ = clustered_theta(4, 25, seed=1)
    for ordering in (None, "rcm", "spectral"):
        X = sp.csr_matrix(np.where(np.abs(A) > 0.05, A, 0.0)) if ordering == "rcm" else A
        blr = tessellate(X, 4, 5, ordering=ordering, random_state=0)
        assert isinstance(blr, BlockLowRank)
        assert np.array_equal(np.sort(blr.permutation), np.arange(100))
        idx = np.concatenate([b.indices for b in blr.blocks])
        assert np.array_equal(idx, blr.permutation)
        for b in blr.blocks:
            U = b.eigenvectors
            assert np.abs(U.T @ U - np.eye(U.shape[1])).max() <= 1e-12
            assert np.all(np.diff(b.eigenvalues) <= 0)


def test_inverse_error_decreases_with_rank():
    A = psd_theta(150, seed=2, decay=15.0)
    exact = np.linalg.inv(np.eye(150) - 0.9 * A)
    errors = []
    for rank in (2, 8, 32, 150):
        blr = tessellate(A, 1, rank, ordering=None, method="svd", n_iter=8, random_state=0)
        errors.append(np.linalg.norm(blr.inverse_operator(0.9) @ np.eye(150) - exact, 2))
    # exact top-r eigenpairs give error max_{j>r} (1/(1 - a l_j) - 1): strictly decreasing
    assert errors[0] > errors[1] > errors[2] > errors[3]
    assert errors[3] <= tol_for(150, 0.9) * np.abs(exact).max()
    lam = np.linalg.eigvalsh(A)[::-1]
    for rank, err in zip((2, 8, 32), errors[:3], strict=True):
        predicted = 0.9 * lam[rank] / (1 - 0.9 * lam[rank])
        assert err == pytest.approx(predicted, rel=1e-6)


def test_reordering_recovers_hidden_blocks():
    """With the clusters hidden by a permutation, RCM/spectral orderings beat the input order."""
    A, labels = clustered_theta(5, 30, seed=3, leak=0.01)
    exact = np.linalg.inv(np.eye(150) - 0.9 * A)
    pattern = sp.csr_matrix(np.where(np.abs(A) > 0.01, A, 0.0))  # within-cluster ~ 1/30
    errs = {}
    for ordering in (None, "rcm", "spectral"):
        X = pattern if ordering == "rcm" else A
        blr = tessellate(X, 5, 30, ordering=ordering, random_state=0)
        errs[ordering] = np.linalg.norm(blr.inverse_operator(0.9) @ np.eye(150) - exact, 2) / (
            np.linalg.norm(exact, 2)
        )
        if ordering == "spectral":
            # every block is one hidden cluster
            for b in blr.blocks:
                assert len(set(labels[b.indices])) == 1
    assert errs["spectral"] < 0.5 * errs[None]
    assert errs["rcm"] < 0.5 * errs[None]


def test_rcm_uses_the_hypergraph_incidence_pattern():
    from hyperlearn import Hypergraph

    rng = np.random.default_rng(4)
    n = 200
    # a path of overlapping hyperedges, shuffled: RCM on H must restore a banded order
    edges = [[i, i + 1, i + 2] for i in range(n - 2)]
    perm = rng.permutation(n)
    hg = Hypergraph.from_edges([[int(perm[v]) for v in e] for e in edges], n_vertices=n)
    theta = hg.normalized_adjacency()
    blr = tessellate(theta, 4, 10, ordering="rcm", random_state=0)
    pos = np.empty(n, dtype=int)
    pos[blr.permutation] = np.arange(n)
    # bandwidth in the new order: every hyperedge spans at most a few positions
    spans = [np.ptp(pos[[int(perm[v]) for v in e]]) for e in edges]
    assert max(spans) <= 4
    dense = theta.to_sparse().toarray()
    blr_dense = tessellate(sp.csr_matrix(dense), 4, 10, ordering="rcm", random_state=0)
    assert blr.toarray().shape == blr_dense.toarray().shape


def test_hypergraph_operator_blocks_match_dense_blocks():
    from hyperlearn import Hypergraph

    X = np.random.default_rng(5).standard_normal((240, 3))
    theta = Hypergraph.from_knn(X, 8).normalized_adjacency()
    dense = theta.to_sparse().toarray()
    a = tessellate(theta, 4, 60, ordering=None, random_state=0)  # block 60 <= rank+slack: exact
    b = tessellate(dense, 4, 60, ordering=None, random_state=0)
    assert np.abs(a.toarray() - b.toarray()).max() <= 1e-12
    # the block-diagonal part of dense Θ, exactly
    bd = np.zeros_like(dense)
    for blk in a.blocks:
        bd[np.ix_(blk.indices, blk.indices)] = dense[np.ix_(blk.indices, blk.indices)]
    assert np.abs(a.toarray() - bd).max() <= 1e-12


@pytest.mark.parametrize("alpha", [0.9, 0.99])
def test_preconditioner_with_spectral_ordering_reduces_cg_iterations(alpha):
    """Measured, not a theorem: blocks = spectral clusters of a clustered kNN hypergraph.

    The block-diagonal Woodbury preconditioner ignores the coupling between blocks; with RCM or
    the input order it made CG *slower* on this problem (see the tessellate Notes), so only the
    spectral ordering is held to "fewer iterations".  Every run must still converge to the TRUE
    residual (the preconditioner is SPD).
    """
    from hyperlearn import Hypergraph

    rng = np.random.default_rng(0)
    centers = rng.standard_normal((6, 8)) * 3
    X = centers[rng.integers(0, 6, 300)] + rng.standard_normal((300, 8))
    theta = Hypergraph.from_knn(X, 8).normalized_adjacency()
    S = np.eye(300) - alpha * theta.to_sparse().toarray()
    b = rng.standard_normal(300)
    counts = {}
    for ordering in ("none", "rcm", "spectral"):
        M = None
        if ordering != "none":
            M = tessellate(theta, 6, 10, ordering=ordering, random_state=0).preconditioner(alpha)
        it = []
        x, info = scipy_cg(S, b, rtol=1e-10, M=M, callback=lambda xk, it=it: it.append(1))
        assert info == 0
        assert np.linalg.norm(S @ x - b) <= 1e-9 * np.linalg.norm(b)
        counts[ordering] = len(it)
    assert counts["spectral"] < counts["none"], counts


def test_same_random_state_and_thread_count_independence():
    A = psd_theta(120, seed=7, decay=20.0)
    runs = [tessellate(A, 4, 8, ordering=None, random_state=3, n_jobs=j) for j in (1, 2, 1)]
    for other in runs[1:]:
        for b0, b1 in zip(runs[0].blocks, other.blocks, strict=True):
            assert np.array_equal(b0.eigenvalues, b1.eigenvalues)
            assert np.array_equal(b0.eigenvectors, b1.eigenvectors)


def test_float32_is_preserved():
    A = psd_theta(80, seed=8).astype(np.float32)
    blr = tessellate(A, 2, 5, ordering=None, random_state=0)
    assert blr.dtype == np.float32
    assert all(b.eigenvectors.dtype == np.float32 for b in blr.blocks)
    y = blr.inverse_operator(0.5) @ np.ones(80, dtype=np.float32)
    assert y.dtype == np.float32


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        ({"n_blocks": 0}, ValueError, "n_blocks"),
        ({"n_blocks": 41}, ValueError, "n_blocks"),
        ({"n_blocks": 2.0}, TypeError, "n_blocks"),
        ({"rank": -1}, ValueError, "rank"),
        ({"ordering": "metis"}, ValueError, "ordering"),
        ({"method": "qr"}, ValueError, "method"),
        ({"ordering": "rcm"}, ValueError, "dense array"),
        ({"n_jobs": 0}, ValueError, "n_jobs"),
    ],
)
def test_bad_input_is_refused(kwargs, exc, match):
    A = psd_theta(40, seed=9)
    args = {"n_blocks": 2, "rank": 3, "ordering": None, "random_state": 0}
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        tessellate(A, args.pop("n_blocks"), args.pop("rank"), **args)


def test_alpha_outside_the_safe_range_is_refused():
    A = psd_theta(40, seed=10)
    blr = tessellate(A, 1, 40, ordering=None)
    with pytest.raises(ValueError, match="alpha"):
        blr.inverse_operator(1.5)
    with pytest.raises(ValueError, match="alpha"):
        blr.preconditioner(float("nan"))
    with pytest.raises(TypeError, match="alpha"):
        blr.inverse_operator("0.5")
    with pytest.raises(ValueError, match="shape"):
        blr.matvec(np.ones(7))
    with pytest.raises(ValueError, match="dimension mismatch"):  # scipy's LinearOperator check
        blr.inverse_operator(0.5) @ np.ones(7)
    with pytest.raises(ValueError, match="square"):
        tessellate(np.ones((4, 5)), 1, 1)

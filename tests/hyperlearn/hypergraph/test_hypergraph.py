"""Hypergraph construction, attributes, operators vs the dense references (fixed examples)."""

import numpy as np
import pytest
import scipy.sparse as sp

from hyperlearn import Hypergraph, HypergraphOperator
from hyperlearn.hypergraph import NnzBudgetError
from hyperlearn.hypergraph import _reference as ref

EPS64 = np.finfo(np.float64).eps
EPS32 = np.finfo(np.float32).eps
# c in c * eps * (row length) for entries of short sums of non-negative products (|Θ_ij| <= 1)
ROUNDING_SLACK = 10


@pytest.fixture
def small():
    edges = [[0, 1, 2], [2, 3], [1, 1, 4], [5]]
    return Hypergraph.from_edges(edges, n_vertices=7, weights=[1.0, 2.0, 0.5, 3.0]), edges


def test_from_edges_incidence_and_degrees(small):
    hg, edges = small
    H = ref.dense_incidence_from_edges(edges, 7)
    np.testing.assert_array_equal(hg.incidence.toarray(), H)
    np.testing.assert_array_equal(hg.incidence_csc.toarray(), H)
    assert sp.isspmatrix_csr(hg.incidence) and sp.isspmatrix_csc(hg.incidence_csc)
    assert (hg.n_vertices, hg.n_edges, hg.nnz) == (7, 4, 8)
    np.testing.assert_array_equal(hg.vertex_degrees, H @ hg.weights)
    np.testing.assert_array_equal(hg.edge_degrees, H.sum(axis=0))
    np.testing.assert_array_equal(hg.edge_sizes, [3, 2, 2, 1])
    assert hg.vertex_degrees[6] == 0  # isolated
    assert hg.dtype == np.float64
    assert hg.incidence.indices.dtype == np.int32
    np.testing.assert_array_equal(hg.edge(2), [1, 4])


def test_from_edges_compressed_form_equals_ragged(small):
    hg, _ = small
    indptr = np.array([0, 3, 5, 8, 9])
    indices = np.array([2, 1, 0, 3, 2, 1, 4, 1, 5])
    hg2 = Hypergraph.from_edges((indptr, indices), n_vertices=7, weights=hg.weights)
    assert hg2 == hg


def test_immutable(small):
    hg, _ = small
    for arr in (
        hg.incidence.data,
        hg.incidence.indices,
        hg.incidence_csc.indptr,
        hg.weights,
        hg.vertex_degrees,
        hg.edge_degrees,
    ):
        with pytest.raises(ValueError, match="read-only"):
            arr[0] = 5


def test_repr_and_eq(small):
    hg, edges = small
    assert repr(hg) == "Hypergraph(n_vertices=7, n_edges=4, nnz=8, dtype=float64)"
    assert hg == Hypergraph.from_edges(edges, n_vertices=7, weights=[1.0, 2.0, 0.5, 3.0])
    assert hg != hg.with_weights([1.0, 2.0, 0.5, 4.0])
    assert hg != Hypergraph.from_edges(edges, n_vertices=8, weights=hg.weights)
    assert hg != "not a hypergraph"


def test_from_incidence_dense_sparse_and_constructor(small):
    hg, _ = small
    H = hg.incidence.toarray()
    assert Hypergraph.from_incidence(H, hg.weights) == hg
    assert Hypergraph.from_incidence(sp.coo_matrix(H), hg.weights) == hg
    assert Hypergraph(H, hg.weights) == hg
    # a probabilistic incidence stays as given (repeated entries: test_policies.py)
    coo = sp.coo_matrix(([0.25, 1.0], ([0, 1], [0, 0])), shape=(2, 1))
    assert Hypergraph.from_incidence(coo).incidence.toarray().tolist() == [[0.25], [1.0]]
    # explicit zeros are dropped
    csr = sp.csr_matrix((np.array([0.0, 1.0]), np.array([0, 0]), np.array([0, 1, 2])), (2, 1))
    assert Hypergraph.from_incidence(csr).nnz == 1


def test_from_labels_keeps_empty_columns():
    Y = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0]], dtype=bool)
    hg = Hypergraph.from_labels(Y)
    assert hg.n_edges == 3 and hg.dtype == np.float64
    np.testing.assert_array_equal(hg.edge_degrees, [2, 2, 0])
    assert Hypergraph.from_labels(sp.csr_matrix(Y.astype(np.float32))).dtype == np.float32
    theta = hg.normalized_adjacency()
    dense = ref.normalized_adjacency(Y, np.ones(3))
    np.testing.assert_allclose(theta @ np.eye(3), dense, atol=ROUNDING_SLACK * EPS64)


def test_hstack_and_or(small):
    hg, _ = small
    other = Hypergraph.from_edges([[0, 6], [3, 4, 5]], n_vertices=7, weights=[4.0, 5.0])
    both = hg | other
    assert both == Hypergraph.hstack([hg, other])
    assert both.n_edges == 6
    np.testing.assert_array_equal(both.weights, [1.0, 2.0, 0.5, 3.0, 4.0, 5.0])
    H = np.hstack([hg.incidence.toarray(), other.incidence.toarray()])
    np.testing.assert_array_equal(both.incidence.toarray(), H)
    assert Hypergraph.hstack([hg]) is hg
    assert (hg.astype(np.float32) | other.astype(np.float32)).dtype == np.float32
    assert (hg.astype(np.float32) | other).dtype == np.float64


def test_with_weights_shares_incidence(small):
    hg, _ = small
    hg2 = hg.with_weights(np.array([2, 2, 2, 2]))
    assert hg2.incidence is hg.incidence
    np.testing.assert_array_equal(hg2.vertex_degrees, hg.incidence @ np.full(4, 2.0))
    assert hg2.weights.dtype == np.float64
    assert hg.astype(np.float32).with_weights(np.ones(4)).dtype == np.float32


@pytest.mark.parametrize("kind", ["adjacency", "normalized", "random_walk", "unnormalized"])
def test_operator_matches_reference(small, kind):
    hg, _ = small
    H, w = hg.incidence.toarray(), hg.weights
    if kind == "adjacency":
        op, dense = hg.normalized_adjacency(), ref.normalized_adjacency(H, w)
        explicit = hg.normalized_adjacency(explicit=True)
    else:
        op, dense = hg.laplacian(kind), ref.laplacian(H, w, kind)
        explicit = hg.laplacian(kind, explicit=True)
    assert isinstance(op, HypergraphOperator) and op.kind == kind
    assert op.symmetric == (kind != "random_walk")
    scale = max(1.0, np.abs(dense).max())
    tol = ROUNDING_SLACK * EPS64 * hg.n_vertices * scale
    X = np.random.default_rng(0).standard_normal((7, 4))
    np.testing.assert_allclose(op @ X, dense @ X, atol=tol)
    np.testing.assert_allclose(op.matvec(X[:, 0]), dense @ X[:, 0], atol=tol)
    np.testing.assert_allclose(op.rmatvec(X[:, 0]), dense.T @ X[:, 0], atol=tol)
    np.testing.assert_allclose(op.T @ X, dense.T @ X, atol=tol)
    np.testing.assert_allclose(op.H @ X, dense.T @ X, atol=tol)
    np.testing.assert_allclose(op.diagonal(), np.diag(dense), atol=tol)
    assert sp.isspmatrix_csr(explicit)
    np.testing.assert_allclose(explicit.toarray(), dense, atol=tol)
    # F-ordered input gives the same result
    np.testing.assert_array_equal(op @ np.asfortranarray(X), op @ X)


@pytest.mark.parametrize("kind", ["adjacency", "normalized", "random_walk"])
@pytest.mark.parametrize("scale", [1e-45, 1e-30, 1e30])
def test_scale_invariant_operators_survive_extreme_float32_weights(small, kind, scale):
    # Θ, I − Θ and the random-walk Laplacian do not change when every weight is multiplied by
    # the same number; in float32 the factors d^{-1/2} and w/δ of weights 1e-45 (subnormal) or
    # 1e30 over- or underflow, which once gave Θ = 0 silently.
    hg, _ = small
    H = hg.incidence.toarray()
    dense = (
        ref.normalized_adjacency(H, hg.weights)
        if kind == "adjacency"
        else ref.laplacian(H, hg.weights, kind)
    )
    weights = np.asarray(hg.weights, dtype=np.float32) * np.float32(scale)
    if scale == 1e-45:
        weights = np.full(4, np.finfo(np.float32).smallest_subnormal)  # all equal: Θ of w = 1
        dense = (
            ref.normalized_adjacency(H, np.ones(4))
            if kind == "adjacency"
            else ref.laplacian(H, np.ones(4), kind)
        )
    tiny = hg.with_weights(weights).astype(np.float32)
    op = tiny.normalized_adjacency() if kind == "adjacency" else tiny.laplacian(kind)
    X = np.random.default_rng(0).standard_normal((7, 3)).astype(np.float32)
    tol = ROUNDING_SLACK * EPS32 * hg.n_vertices * max(1.0, np.abs(dense).max())
    np.testing.assert_allclose(op @ X, dense @ X, atol=tol * np.abs(X).max())


@pytest.mark.parametrize("dtype, spread", [(np.float32, 1e20), (np.float64, 1e155)])
def test_weights_spanning_beyond_the_dtype_are_refused(small, dtype, spread):
    # vertex 5 is alone in a hyperedge of negligible weight: scale invariance gives Θ[5, 5] = 1,
    # but its degree and edge scale underflow in the dtype; a clear error instead of a 0
    hg, _ = small
    heavy = hg.with_weights(np.array([1.0, 1.0, 1.0, 1.0 / spread])).astype(dtype)
    with pytest.raises(ValueError, match=r"span a factor .* supports at most"):
        heavy.normalized_adjacency()
    with pytest.raises(ValueError, match="span a factor"):
        heavy.laplacian("normalized")
    heavy.laplacian("unnormalized")  # scale-dependent: its entries are what they are
    # just inside the limit the operator is built and right
    ok = hg.with_weights(np.array([1.0, 1.0, 1.0, 100.0 / spread])).astype(dtype)
    assert ok.normalized_adjacency().diagonal()[5] == pytest.approx(1.0, rel=10 * float(EPS32))


def test_isolated_vertices_zero_rows(small):
    hg, _ = small
    theta = hg.normalized_adjacency()
    dense = theta @ np.eye(7)
    assert np.all(dense[6] == 0) and np.all(dense[:, 6] == 0)
    # a vertex only in zero-weight hyperedges is isolated too
    hg0 = hg.with_weights([1.0, 2.0, 0.5, 0.0])
    assert np.all(hg0.normalized_adjacency() @ np.eye(7)[:, 5] == 0)


def test_operator_is_cached(small):
    hg, _ = small
    assert hg.normalized_adjacency() is hg.normalized_adjacency()
    assert hg.with_weights(hg.weights).normalized_adjacency() is not hg.normalized_adjacency()


def test_principal_block(small):
    hg, _ = small
    theta = hg.normalized_adjacency()
    dense = ref.normalized_adjacency(hg.incidence.toarray(), hg.weights)
    for idx in ([4, 0, 2], np.array([True, False, True, True, False, False, True]), [6]):
        block = theta.principal_block(idx)
        sel = np.flatnonzero(idx) if np.asarray(idx).dtype == bool else np.asarray(idx)
        expected = dense[np.ix_(sel, sel)]
        np.testing.assert_allclose(block @ np.eye(len(sel)), expected, atol=1e-15)
        np.testing.assert_allclose(block.diagonal(), np.diag(expected), atol=1e-15)
        np.testing.assert_allclose(block.to_sparse().toarray(), expected, atol=1e-15)


def test_edge_statistics_matches_reference(small):
    hg, _ = small
    F = np.random.default_rng(1).standard_normal((7, 3))
    c = hg.edge_statistics(F)
    expected = ref.edge_statistics(hg.incidence.toarray(), hg.weights, F)
    np.testing.assert_allclose(c, expected, rtol=ROUNDING_SLACK * 7 * EPS64)
    # Σ_e w_e c_e = tr(Fᵀ Θ F)
    theta = hg.normalized_adjacency()
    np.testing.assert_allclose(c @ hg.weights, np.trace(F.T @ (theta @ F)), rtol=1e-12)
    np.testing.assert_allclose(
        hg.edge_statistics(F[:, 0]),
        ref.edge_statistics(hg.incidence.toarray(), hg.weights, F[:, :1]),
        rtol=1e-13,
    )


def test_nnz_budget_refuses_before_allocating(small):
    hg, _ = small
    predicted = int(np.sum(hg.edge_sizes**2))  # 9 + 4 + 4 + 1
    assert predicted == 18
    hg.normalized_adjacency(explicit=True, nnz_budget=predicted)
    with pytest.raises(NnzBudgetError, match="nnz_budget=17"):
        hg.normalized_adjacency(explicit=True, nnz_budget=predicted - 1)
    # the Laplacian also stores its diagonal (n more)
    with pytest.raises(MemoryError, match="nnz_budget"):
        hg.laplacian("normalized", explicit=True, nnz_budget=predicted)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_end_to_end(small, dtype):
    hg, edges = small
    hg = Hypergraph.from_edges(edges, n_vertices=7, weights=hg.weights.astype(dtype))
    assert hg.dtype == dtype
    for arr in (hg.incidence.data, hg.weights, hg.vertex_degrees, hg.edge_degrees):
        assert arr.dtype == dtype
    theta = hg.normalized_adjacency()
    assert theta.dtype == dtype
    X = np.ones((7, 2), dtype=dtype)
    assert (theta @ X).dtype == dtype
    assert theta.matvec(X[:, 0]).dtype == dtype
    assert theta.diagonal().dtype == dtype
    assert theta.to_sparse().dtype == dtype
    assert hg.edge_statistics(X).dtype == dtype
    assert theta.principal_block([0, 1]).dtype == dtype
    # a float64 vector through a float32 operator is computed in float64
    assert (theta @ np.ones(7)).dtype == np.float64


def test_integer_and_complex_vectors(small):
    hg, _ = small
    theta = hg.normalized_adjacency()
    x = np.arange(7)
    np.testing.assert_allclose(theta @ x, theta @ x.astype(float))
    z = np.arange(7) + 1j * np.ones(7)
    np.testing.assert_allclose(theta @ z, theta @ np.arange(7.0) + 1j * (theta @ np.ones(7)))


def test_probabilistic_incidence():
    rng = np.random.default_rng(3)
    H = rng.uniform(size=(6, 4)) * (rng.uniform(size=(6, 4)) < 0.6)
    H[0, :] = 0.7  # no empty column
    w = rng.uniform(0.1, 2.0, size=4)
    hg = Hypergraph.from_incidence(H, w)
    assert not hg.is_binary
    X = rng.standard_normal((6, 3))
    np.testing.assert_allclose(
        hg.normalized_adjacency() @ X, ref.normalized_adjacency(H, w) @ X, atol=1e-14
    )
    np.testing.assert_allclose(hg.edge_statistics(X), ref.edge_statistics(H, w, X), rtol=1e-12)
    np.testing.assert_allclose(
        hg.normalized_adjacency().diagonal(), np.diag(ref.normalized_adjacency(H, w)), atol=1e-15
    )


def test_pickle_round_trip_stays_immutable(small):
    import pickle

    hg, _ = small
    hg.normalized_adjacency()  # populate the cache; it is not pickled
    clone = pickle.loads(pickle.dumps(hg))
    assert clone == hg
    assert not clone.incidence.data.flags.writeable
    assert not clone.weights.flags.writeable
    x = np.arange(7.0)
    np.testing.assert_array_equal(clone.normalized_adjacency() @ x, hg.normalized_adjacency() @ x)


def test_docstring_examples():
    import doctest

    from hyperlearn.hypergraph import _hypergraph, _knn, _operators
    from hyperlearn.utils import _numba

    for module in (_hypergraph, _knn, _operators, _numba):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0, module.__name__
        assert result.attempted > 0, module.__name__


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_cols", [32, 64])
def test_wide_blocks_use_prefetching_kernels(dtype, n_cols):
    from hyperlearn.hypergraph import _kernels
    from hyperlearn.hypergraph._operators import _prefetch_distance

    rng = np.random.default_rng(5)
    H = (rng.uniform(size=(40, 25)) < 0.3) * rng.uniform(0.2, 1.0, size=(40, 25))
    H[0] = 1.0
    w = rng.uniform(0.1, 3.0, size=25)
    X = rng.standard_normal((40, n_cols)).astype(dtype)
    assert _prefetch_distance(X) == _kernels.PREFETCH_DISTANCE  # the path under test
    eps = np.finfo(dtype).eps
    for hg in (
        Hypergraph.from_incidence(H.astype(dtype), w),
        Hypergraph.from_incidence((H > 0).astype(dtype), w),
    ):
        Hd = hg.incidence.toarray().astype(np.float64)
        theta = ref.normalized_adjacency(Hd, hg.weights)
        bound = ROUNDING_SLACK * (40 + 25) * eps * (theta @ np.abs(X))
        assert np.all(np.abs(hg.normalized_adjacency() @ X - theta @ X) <= bound)
        c = hg.edge_statistics(X)
        c_abs = ref.edge_statistics(Hd, hg.weights, np.abs(X))
        err = np.abs(c - ref.edge_statistics(Hd, hg.weights, X))
        assert np.all(err <= 2 * ROUNDING_SLACK * (40 + n_cols) * eps * c_abs)

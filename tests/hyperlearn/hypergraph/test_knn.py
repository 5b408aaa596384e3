"""Exact blockwise kNN against scikit-learn's brute force and the dense reference."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st
from sklearn.neighbors import NearestNeighbors

from hyperlearn import Hypergraph
from hyperlearn.hypergraph import _reference as ref
from hyperlearn.hypergraph import kneighbors
from hyperlearn.utils import thread_limits

# Returned distances are recomputed directly in float64 from the (float32-rounded) inputs:
# |error| <= c * n_features * eps64 * (|q| + |x|)  [Higham, Thm 3.1 on a dot product].
DISTANCE_SLACK = 4


def _distance_tol(X):
    norms = np.linalg.norm(np.asarray(X, dtype=np.float64), axis=1).max()
    return DISTANCE_SLACK * X.shape[1] * np.finfo(np.float64).eps * max(1.0, 2 * norms)


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("block_size", [7, 64, None])
def test_kneighbors_equals_sklearn_brute(metric, dtype, block_size):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((150, 6)).astype(dtype)
    dist, ind = kneighbors(X, 8, metric=metric, block_size=block_size)
    nn = NearestNeighbors(n_neighbors=8, algorithm="brute", metric=metric).fit(X)
    dist_sk, ind_sk = nn.kneighbors()
    np.testing.assert_array_equal(np.sort(ind, axis=1), np.sort(ind_sk, axis=1))
    # scikit-learn's distances come from the expansion |q|^2 + |x|^2 - 2 q.x (cancellation:
    # error ~ eps * |q||x| / dist, worst for the nearest pairs); both are float64 here.
    np.testing.assert_allclose(dist, dist_sk, rtol=1e-6, atol=1e-6)
    assert dist.dtype == np.float64 and ind.dtype == np.int64
    assert np.all(np.diff(dist, axis=1) >= 0)


def test_kneighbors_with_database_includes_self_points():
    rng = np.random.default_rng(1)
    D = rng.standard_normal((60, 3))
    Q = np.vstack([D[:5], rng.standard_normal((10, 3))])
    dist, ind = kneighbors(Q, 4, database=D, block_size=16)
    dist_sk, ind_sk = NearestNeighbors(n_neighbors=4, algorithm="brute").fit(D).kneighbors(Q)
    np.testing.assert_array_equal(ind, ind_sk)
    np.testing.assert_allclose(dist, dist_sk, atol=1e-12)
    np.testing.assert_array_equal(ind[:5, 0], np.arange(5))  # a query in the database
    np.testing.assert_array_equal(dist[:5, 0], 0.0)


def test_ties_broken_by_smaller_index():
    X = np.array([[0.0], [1.0], [1.0], [2.0], [0.0], [-1.0]])
    dist, ind = kneighbors(X, 3, block_size=2)
    # vertex 0: duplicate 4 at 0; then 1, 2, 5 all at distance 1 -> keep 1, 2
    assert ind[0].tolist() == [4, 1, 2]
    assert dist[0].tolist() == [0.0, 1.0, 1.0]
    # vertex 3 (at 2): 1 and 2 at distance 1, then 0 and 4 at distance 2 -> 0
    assert ind[3].tolist() == [1, 2, 0]


@given(
    n=st.integers(2, 40),
    d=st.integers(1, 5),
    k=st.integers(1, 39),
    block=st.integers(1, 50),
    seed=st.integers(0, 2**32 - 1),
    integer_grid=st.booleans(),
)
def test_kneighbors_matches_dense_reference(n, d, k, block, seed, integer_grid):
    k = min(k, n - 1)
    rng = np.random.default_rng(seed)
    # on an integer grid many distances tie exactly: the (distance, index) order must hold
    X = rng.integers(-2, 3, size=(n, d)).astype(float) if integer_grid else rng.normal(size=(n, d))
    dist, ind = kneighbors(X, k, block_size=block)
    dist_ref, ind_ref = ref.kneighbors(X, k)
    np.testing.assert_allclose(dist, dist_ref, atol=_distance_tol(X))
    if integer_grid:  # exact distances: squared distances are small integers
        np.testing.assert_array_equal(ind, ind_ref)
    else:
        np.testing.assert_array_equal(np.sort(ind, axis=1), np.sort(ind_ref, axis=1))
    assert not np.any(ind == np.arange(n)[:, None])


def test_from_knn_structure():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((50, 4))
    k = 5
    hg = Hypergraph.from_knn(X, n_neighbors=k, block_size=16)
    assert hg.n_vertices == hg.n_edges == 50
    np.testing.assert_array_equal(hg.edge_sizes, k + 1)
    _, ind = NearestNeighbors(n_neighbors=k, algorithm="brute").fit(X).kneighbors()
    for v in range(50):
        assert set(hg.edge(v).tolist()) == {v, *ind[v].tolist()}
    assert hg.dtype == np.float64 and hg.is_binary
    hg32 = Hypergraph.from_knn(X.astype(np.float32), n_neighbors=k, weights=np.full(50, 2.0))
    assert hg32.dtype == np.float32
    assert hg32.weights.dtype == np.float32
    np.testing.assert_array_equal(hg32.incidence.toarray(), hg.incidence.toarray())


def test_from_knn_thread_count_independent():
    X = np.random.default_rng(3).standard_normal((200, 3))
    with thread_limits(1):
        one = Hypergraph.from_knn(X, 6, block_size=32)
    with thread_limits(2):
        two = Hypergraph.from_knn(X, 6, block_size=32)
    assert one == two


def test_from_knn_int_features_converted():
    X = np.arange(10).reshape(5, 2)
    hg = Hypergraph.from_knn(X, n_neighbors=1)
    assert hg.dtype == np.float64 and hg.n_edges == 5


def test_from_knn_rejects_sparse():
    with pytest.raises(TypeError, match="X is a sparse matrix"):
        Hypergraph.from_knn(sp.eye(5, format="csr"), n_neighbors=2)


def test_progress_bar_and_n_jobs(capsys):
    X = np.random.default_rng(4).standard_normal((300, 3))
    a = Hypergraph.from_knn(X, 4, block_size=50, n_jobs=1, progress=True)
    assert "kNN" in capsys.readouterr().err
    b = Hypergraph.from_knn(X, 4, block_size=50, n_jobs=2)
    assert a == b

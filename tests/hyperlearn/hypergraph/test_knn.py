"""Exact blockwise kNN against scikit-learn's brute force and the dense reference."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st
from sklearn.neighbors import NearestNeighbors

from hyperlearn import Hypergraph
from hyperlearn.hypergraph import _knn, _knn_screen, kneighbors
from hyperlearn.hypergraph import _reference as ref
from hyperlearn.hypergraph._knn import _kneighbors
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


# -------------------------------------------------------------------------------------------------
# float32 screening with a float64 certificate
# -------------------------------------------------------------------------------------------------

DATA_KINDS = ("normal", "clustered", "duplicates", "integer", "offset")


def _data(kind, rng, n, d):
    if kind == "normal":
        return rng.standard_normal((n, d))
    if kind == "clustered":
        centers = 3.0 * rng.standard_normal((5, d))
        return centers[rng.integers(0, 5, n)] + 0.05 * rng.standard_normal((n, d))
    if kind == "duplicates":  # every point two or three times: ties at 0 and beyond
        base = rng.standard_normal((max(1, n // 2), d))
        return base[rng.integers(0, base.shape[0], n)]
    if kind == "integer":  # many exactly tied distances
        return rng.integers(-2, 3, size=(n, d)).astype(float)
    if kind == "offset":  # two tight clusters far apart: big centred norms, small distances
        X = 1e-2 * rng.standard_normal((n, d))
        X[:, 0] += np.where(rng.random(n) < 0.5, -1e3, 1e3)
        return X
    raise ValueError(kind)


# The float64 search SELECTS with the expansion ‖q‖² + ‖x‖² − 2qᵀx (cosine: −2qᵀx), whose
# error is at most about (d + 2)·eps·(‖q‖ + ‖x‖)² [Higham, Thm 3.1 on the dot product and the
# norms]; its choice at the k-th place is certain only where the (k+1)-th squared distance
# exceeds the k-th by more than that (times EXPANSION_SLACK).  Where it does not, the choice can
# even depend on which rows share a BLAS call (GEMV for one row, GEMM kernels for blocks).
EXPANSION_SLACK = 8


def _direct_values(X, database=None, metric="euclidean"):
    """Every distance by the direct float64 formula of the returned distances (serial sum over
    the features, as the kernels); the query itself at +inf when there is no database."""
    Q = np.asarray(X, dtype=np.float64)
    D = Q if database is None else np.asarray(database, dtype=np.float64)
    if metric == "cosine":
        Q, D = _knn._normalize_rows(Q), _knn._normalize_rows(D)
    acc = np.zeros((Q.shape[0], D.shape[0]))
    for f in range(Q.shape[1]):
        if metric == "cosine":
            acc += Q[:, None, f] * D[None, :, f]
        else:
            diff = Q[:, None, f] - D[None, :, f]
            acc += diff * diff
    dist = np.clip(1.0 - acc, 0.0, 2.0) if metric == "cosine" else np.sqrt(acc)
    if database is None:
        np.fill_diagonal(dist, np.inf)
    return dist


def _direct_oracle(X, k, database=None, metric="euclidean"):
    """Brute force over :func:`_direct_values`, stable sort: ties by index."""
    dist = _direct_values(X, database, metric)
    order = np.argsort(dist, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(dist, order, axis=1), order


def _selection_slack(X, database, metric):
    """Per query, the error bound of the float64 search's expanded values (comment above), in
    squared distances (Euclidean) or in 1 − cos units (cosine)."""
    Q = np.asarray(X, dtype=np.float64)
    D = Q if database is None else np.asarray(database, dtype=np.float64)
    eps = np.finfo(np.float64).eps
    if metric == "cosine":
        return np.full(Q.shape[0], EXPANSION_SLACK * (Q.shape[1] + 2) * eps)
    scale = (np.linalg.norm(Q, axis=1) + np.linalg.norm(D, axis=1).max()) ** 2
    return EXPANSION_SLACK * (Q.shape[1] + 2) * eps * scale


def _check_guarantee(X, k, database=None, metric="euclidean", block_size=None):
    """The documented guarantee: certified rows equal the brute-force sort of the directly
    computed distances bit for bit; the other rows are the float64 search's answer, which is
    the same bit for bit where that search's choice is certain, and otherwise off by at most
    its selection slack."""
    dist, ind, stats = _kneighbors(
        X, k, database=database, metric=metric, block_size=block_size, screen="float32"
    )
    dist64, ind64, stats64 = _kneighbors(
        X, k, database=database, metric=metric, block_size=block_size, screen=None
    )
    assert not stats64["screened"]
    values = _direct_values(X, database, metric)
    order = np.argsort(values, axis=1, kind="stable")
    dist_or, ind_or = np.take_along_axis(values, order[:, :k], axis=1), order[:, :k]
    ok = stats["certified"] if stats["screened"] else np.zeros(dist.shape[0], dtype=bool)
    assert stats["n_certified"] + stats["n_fallback"] == dist.shape[0]
    assert stats["n_certified"] == np.count_nonzero(ok)
    np.testing.assert_array_equal(ind[ok], ind_or[ok])
    np.testing.assert_array_equal(dist[ok], dist_or[ok])

    slack = _selection_slack(X, database, metric)
    sorted_values = np.take_along_axis(values, order, axis=1)
    kth = sorted_values[:, k - 1]
    after = sorted_values[:, k] if sorted_values.shape[1] > k else np.full(kth.shape, np.inf)
    gap = after - kth if metric == "cosine" else after**2 - kth**2
    certain = ~ok & (gap > slack)
    np.testing.assert_array_equal(ind[certain], ind64[certain])
    np.testing.assert_array_equal(dist[certain], dist64[certain])
    np.testing.assert_array_equal(ind[certain], ind_or[certain])
    # everywhere: the k distances are those of the oracle up to the selection slack
    atol = slack if metric == "cosine" else np.sqrt(slack)
    assert np.all(np.abs(dist - dist_or) <= atol[:, None] + _distance_tol(X))
    return dist, ind, stats


@pytest.mark.parametrize("with_database", [False, True])
@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
@pytest.mark.parametrize("kind", DATA_KINDS)
def test_screened_search_is_exact(kind, metric, with_database):
    rng = np.random.default_rng(DATA_KINDS.index(kind))
    X = _data(kind, rng, 160, 6)
    database = _data(kind, rng, 140, 6) if with_database else None
    if with_database and kind in ("duplicates", "integer"):
        database = np.vstack([database, X[:20]])  # queries present in the database
    dist, ind, stats = _check_guarantee(X, 7, database, metric, block_size=32)
    # offset data: the first block's rows fail, so screening stops (rows then in float64)
    assert stats["aborted"] == (kind == "offset")
    assert stats["screened"] == (kind != "offset")
    dist_ref, ind_ref = ref.kneighbors(X, 7, database=database, metric=metric)
    np.testing.assert_allclose(dist, dist_ref, atol=_distance_tol(X))
    if kind in ("normal", "clustered") or (kind == "integer" and metric == "euclidean"):
        # no ties or exact arithmetic: the independent dense reference agrees everywhere
        np.testing.assert_array_equal(ind, ind_ref)
    if kind == "offset":
        # ‖c‖ ~ 1e3 after centring, distances ~ 1e-2: δ ~ 2·γ_6·1e6 ≫ the gaps (cosine: the
        # two clusters shrink to two tight caps of the sphere)
        assert stats["n_fallback"] == X.shape[0]
    elif kind in ("normal", "clustered"):
        assert stats["n_certified"] >= 0.9 * X.shape[0]
    elif kind == "integer" and metric == "euclidean":
        # more points tie at the k-th distance than k' holds: those rows must be rejected
        # (ties with a point left out are never certified), the others certified
        assert 0 < stats["n_fallback"] < X.shape[0]


def test_tiny_values_fall_back_to_float64():
    # squared distances ~ 1e-50, below float32's normal range: only the underflow term of δ
    # (4·τ·d, τ = 2^-126) can cover such values, so no row may be certified
    X = 1e-25 * np.random.default_rng(5).standard_normal((80, 4))
    _, ind, stats = _check_guarantee(X, 5, block_size=16)
    assert stats["aborted"] and stats["n_fallback"] == X.shape[0]
    _, ind_ref = ref.kneighbors(X, 5)
    np.testing.assert_array_equal(ind, ind_ref)


def test_screening_stops_only_when_most_of_the_first_block_fails():
    from hyperlearn.hypergraph._knn import SCREEN_ABORT_FAILURES

    rng = np.random.default_rng(12)
    tight = _data("offset", rng, 64, 6)  # every row fails the certificate
    loose = rng.standard_normal((256, 6))  # every row certified
    for n_tight, aborted in ((8, False), (24, True)):
        # the first block (32 rows) holds n_tight rows that must fail, 32 - n_tight that pass
        first = np.vstack([tight[:n_tight], loose[: 32 - n_tight]])
        X = np.vstack([first, loose[32 - n_tight :], tight[n_tight:]])
        assert X.shape[0] == 320 and (n_tight / 32 > SCREEN_ABORT_FAILURES) == aborted
        _, _, stats = _check_guarantee(X, 5, block_size=32)
        assert stats["aborted"] == aborted
        if not aborted:
            assert 0 < stats["n_fallback"] < X.shape[0]


def test_screening_skipped_when_it_cannot_pay_or_overflow():
    rng = np.random.default_rng(6)
    X = rng.standard_normal((12, 3))
    # n_database − 1 = 11 <= k' = 5 + 4 candidates is false; 9 + 4 > 11: no screening
    assert _kneighbors(X, 5, screen="float32")[2]["screened"]
    assert not _kneighbors(X, 9, screen="float32")[2]["screened"]
    # row norms beyond SCREEN_MAX_NORM could overflow a float32 Gram entry
    big = X * 2.0**70
    _, ind, stats = _kneighbors(big, 3, screen="float32")
    assert not stats["screened"]
    np.testing.assert_array_equal(ind, ref.kneighbors(big, 3)[1])


def test_auto_screens_large_problems_only():
    rng = np.random.default_rng(7)
    small = rng.standard_normal((100, 64))
    assert not _kneighbors(small, 5)[2]["screened"]
    large = rng.standard_normal((1500, 64))  # 1500² · 8 > SCREEN_MIN_WORK
    dist, ind, stats = _kneighbors(large, 5)
    assert stats["screened"] and stats["n_certified"] == large.shape[0]
    dist64, ind64 = kneighbors(large, 5, screen=None)
    np.testing.assert_array_equal(ind, ind64)
    np.testing.assert_array_equal(dist, dist64)
    # the public function (and so Hypergraph.from_knn) takes the screened path by default
    np.testing.assert_array_equal(kneighbors(large, 5)[1], ind)
    assert _kneighbors(large[:, :8], 5)[2]["screened"] is False  # too few features


def test_screened_float32_input_and_thread_count():
    X = np.random.default_rng(8).standard_normal((600, 8)).astype(np.float32)
    with thread_limits(1):
        one = _kneighbors(X, 6, block_size=64, screen="float32")
    with thread_limits(2):
        two = _kneighbors(X, 6, block_size=64, screen="float32")
    assert one[2]["screened"]
    np.testing.assert_array_equal(one[0], two[0])
    np.testing.assert_array_equal(one[1], two[1])
    np.testing.assert_array_equal(one[1], kneighbors(X, 6, screen=None)[1])


def test_bad_screen_value():
    X = np.random.default_rng(9).standard_normal((20, 2))
    with pytest.raises(
        ValueError, match="screen='float16' is not valid: expected one of 'auto', 'float32', None"
    ):
        kneighbors(X, 2, screen="float16")


@given(
    n=st.integers(2, 60),
    d=st.integers(1, 6),
    k=st.integers(1, 20),
    block=st.integers(1, 40),
    seed=st.integers(0, 2**32 - 1),
    kind=st.sampled_from(DATA_KINDS),
    metric=st.sampled_from(["euclidean", "cosine"]),
    with_database=st.booleans(),
)
def test_screened_guarantee_property(n, d, k, block, seed, kind, metric, with_database):
    rng = np.random.default_rng(seed)
    X = _data(kind, rng, n, d)
    database = _data(kind, rng, max(1, n - 5), d) if with_database else None
    n_db = n - 1 if database is None else database.shape[0]
    if n_db < 1:
        return
    _check_guarantee(X, min(k, n_db), database, metric, block_size=block)


def _adversarial_rows(rng, n, d, scale):
    """float64 rows just under half a float32 ulp above a float32 value: every cast error is
    close to its maximum u·|x| and of the same sign, so the errors add up coherently."""
    base = rng.uniform(1.0, 2.0, (n, d)).astype(np.float32)
    ulp = np.spacing(base).astype(np.float64)
    return (base.astype(np.float64) + 0.499 * ulp) * scale


@pytest.mark.parametrize("centered", [False, True])
@pytest.mark.parametrize("scale", [1.0, 2.0**40, 1e-20, 1e-39])
@pytest.mark.parametrize("d", [1, 3, 16, 64])
def test_screen_error_bound_holds(d, scale, centered):
    """|s(x) − ‖c_q − c_x‖²| <= δ(q) for the screened values, ‖·‖² computed EXACTLY (fractions)
    from the float64 rows the float32 copy was cast from."""
    from fractions import Fraction

    rng = np.random.default_rng(d)
    A = _adversarial_rows(rng, 10, d, scale)
    center = A.mean(axis=0) if centered else None
    a32, sq = _knn_screen.screen_prepare(A, center)
    C = A - center if centered else A
    G = (a32 @ a32.T).astype(np.float64)  # float32 GEMM, as in the search
    s = (sq[:, None] + sq[None, :]) - 2.0 * G
    norms = _knn_screen.inflated_norms(sq, d)
    delta = _knn_screen.screen_error_bound(norms, norms.max(), d)
    worst = 0.0
    for i in range(A.shape[0]):
        ci = [Fraction(v) for v in C[i].tolist()]
        for j in range(A.shape[0]):
            exact = sum((a - Fraction(b)) ** 2 for a, b in zip(ci, C[j].tolist(), strict=True))
            worst = max(worst, float(abs(Fraction(s[i, j]) - exact) / Fraction(delta[i])))
    assert worst <= 1.0
    if scale == 1.0 and d == 1 and not centered:
        # the inputs do stress the bound: it is tight within a factor 3 here
        assert worst > 1 / 3


def _top_k_reference(values, k, offset=0):
    """Sorted top-k (value, index) of each row of a dense matrix of distinct values."""
    order = np.argsort(values, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(values, order, axis=1), order + offset


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_merge_kernels_equal_dense_top_k(dtype):
    from hyperlearn.hypergraph import _knn_kernels

    rng = np.random.default_rng(10)
    n_rows, n_cols, k = 37, 90, 6
    G = rng.standard_normal((n_rows, n_cols)).astype(dtype)
    rnorm, cnorm = rng.random(n_rows), rng.random(n_cols)
    s = (rnorm[:, None] + cnorm[None, :]) - 2.0 * G.astype(np.float64)  # the kernels' formula
    # rows: two column blocks in increasing index, as the searches feed them
    best_d, best_i = np.full((n_rows, k), np.inf), np.full((n_rows, k), -1)
    self_index = np.full(n_rows, -1)
    self_index[3] = 5  # excluded
    for c0 in (0, 50):
        _knn_kernels.knn_merge_block(
            np.ascontiguousarray(G[:, c0 : c0 + 50]),
            rnorm,
            cnorm[c0 : c0 + 50],
            self_index,
            c0,
            best_d,
            best_i,
        )
    expected = s.copy()
    expected[3, 5] = np.inf
    ref_d, ref_i = _top_k_reference(expected, k)
    np.testing.assert_array_equal(best_i, ref_i)
    np.testing.assert_array_equal(best_d, ref_d)
    # columns: the same block seen from the columns' side, rows 1000.. as candidates
    col_d, col_i = np.full((n_cols, k), np.inf), np.full((n_cols, k), -1)
    _knn_kernels.knn_merge_block_columns(G, cnorm, rnorm, 1000, col_d, col_i)
    ref_d, ref_i = _top_k_reference(s.T.copy(), k, offset=1000)
    np.testing.assert_array_equal(col_i, ref_i)
    np.testing.assert_array_equal(col_d, ref_d)
    # merging two sorted lists of disjoint candidates: the top k of their union
    other_d, other_i = _top_k_reference(rng.random((n_cols, 3 * k)), k, offset=5000)
    merged_d, merged_i = col_d.copy(), col_i.copy()
    _knn_kernels.knn_merge_lists(merged_d, merged_i, other_d, other_i)
    union_d = np.hstack([col_d, other_d])
    union_i = np.hstack([col_i, other_i])
    order = np.argsort(union_d, axis=1, kind="stable")[:, :k]
    np.testing.assert_array_equal(merged_d, np.take_along_axis(union_d, order, axis=1))
    np.testing.assert_array_equal(merged_i, np.take_along_axis(union_i, order, axis=1))


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_rerank_kernel_equals_direct_sort(metric):
    from hyperlearn.hypergraph import _knn_kernels

    rng = np.random.default_rng(11)
    X = rng.integers(-2, 3, size=(40, 3)).astype(float)  # many exact ties: index order counts
    if metric == "cosine":
        X = _knn._normalize_rows(X)
    candidates = np.stack([rng.permutation(40)[:9] for _ in range(40)])
    k = 4
    dist, ind, kth = np.empty((40, k)), np.empty((40, k), dtype=np.int64), np.empty(40)
    _knn_kernels.knn_rerank(X, X, candidates, metric == "cosine", dist, ind, kth)
    full = np.empty(candidates.shape)
    _knn_kernels.exact_distances(X, X, candidates, metric == "cosine", full)
    order = np.lexsort((candidates, full), axis=-1)[:, :k]
    np.testing.assert_array_equal(ind, np.take_along_axis(candidates, order, axis=1))
    np.testing.assert_array_equal(dist, np.take_along_axis(full, order, axis=1))
    # kth: the largest unrounded value kept (the clipped 1 - cos, or the sum of squares before
    # its square root)
    raw = dist if metric == "cosine" else np.square(dist)
    np.testing.assert_allclose(kth, raw.max(axis=1), rtol=4 * np.finfo(float).eps)

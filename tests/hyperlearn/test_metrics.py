"""hyperlearn.metrics against scikit-learn (exact oracle) and hypothesis properties."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score, f1_score, precision_score, recall_score

from hyperlearn.metrics import (
    f1_at_k,
    mean_average_precision,
    precision_at_k,
    recall_at_k,
    retrieval_map,
    retrieval_precision_at_k,
    retrieval_scores,
    top_k_indicator,
)

# Our metrics and sklearn's do the same integer counting and a few float64 divisions/means,
# so they agree to a few ulps of the result (which is in [0, 1]).
ROUNDING = 1e-12


def _random_case(rng, n=30, T=8, ties=False):
    Y = (rng.random((n, T)) < 0.3).astype(int)
    S = rng.integers(0, 4, size=(n, T)).astype(float) if ties else rng.normal(size=(n, T))
    return Y, S


@pytest.mark.parametrize("average", ["samples", "macro", "micro"])
@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("k", [1, 3, 8])
def test_prf_equal_sklearn_on_top_k_indicator(average, ties, k):
    rng = np.random.default_rng(k + 10 * ties)
    Y, S = _random_case(rng, ties=ties)
    Z = top_k_indicator(S, k).astype(int)
    kw = {"average": average, "zero_division": 0.0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p, r, f = precision_score(Y, Z, **kw), recall_score(Y, Z, **kw), f1_score(Y, Z, **kw)
    assert abs(precision_at_k(Y, S, k, average=average) - p) <= ROUNDING
    assert abs(recall_at_k(Y, S, k, average=average) - r) <= ROUNDING
    assert abs(f1_at_k(Y, S, k, average=average) - f) <= ROUNDING


def test_mean_pr_is_harmonic_mean_of_macro_p_and_r():
    rng = np.random.default_rng(3)
    Y, S = _random_case(rng)
    p = precision_at_k(Y, S, 3, average="macro")
    r = recall_at_k(Y, S, 3, average="macro")
    assert precision_at_k(Y, S, 3, average="mean_pr") == p
    assert abs(f1_at_k(Y, S, 3, average="mean_pr") - 2 * p * r / (p + r)) <= ROUNDING


def test_top_k_ties_smaller_index_first():
    S = np.array([[2.0, 5.0, 5.0, 5.0, 1.0]])
    np.testing.assert_array_equal(top_k_indicator(S, 2)[0], [False, True, True, False, False])
    # the metric follows the same rule: the true tag at index 3 is not selected
    assert precision_at_k([[0, 0, 0, 1, 0]], S, 2) == 0.0
    assert precision_at_k([[0, 1, 0, 0, 0]], S, 2) == 0.5


def test_sparse_and_bool_inputs_accepted():
    rng = np.random.default_rng(4)
    Y, S = _random_case(rng)
    ref = f1_at_k(Y, S, 3)
    assert f1_at_k(sp.csr_matrix(Y), S, 3) == ref
    assert f1_at_k(Y.astype(bool), S.astype(np.float32), 3) == pytest.approx(ref, abs=ROUNDING)


@pytest.mark.parametrize("ties", [False, True])
def test_map_equals_sklearn_average_precision(ties):
    rng = np.random.default_rng(7 + ties)
    Y, S = _random_case(rng, n=40, T=6, ties=ties)
    Y[:, 0] = 0  # a tag without positives is skipped
    cols = [t for t in range(Y.shape[1]) if Y[:, t].any()]
    ref = np.mean([average_precision_score(Y[:, t], S[:, t]) for t in cols])
    assert abs(mean_average_precision(Y, S) - ref) <= ROUNDING
    rows = [i for i in range(Y.shape[0]) if Y[i].any()]
    ref_rows = np.mean([average_precision_score(Y[i], S[i]) for i in rows])
    assert abs(mean_average_precision(Y, S, average="samples") - ref_rows) <= ROUNDING


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_retrieval_map_equals_sklearn_per_query(metric):
    rng = np.random.default_rng(11)
    q, db = rng.normal(size=(13, 5)), rng.normal(size=(50, 5))
    yq, ydb = rng.integers(0, 3, 13), rng.integers(0, 3, 50)
    if metric == "cosine":
        qn = q / np.linalg.norm(q, axis=1, keepdims=True)
        sim = qn @ (db / np.linalg.norm(db, axis=1, keepdims=True)).T
    else:
        sim = -np.linalg.norm(q[:, None] - db[None], axis=2)
    rel = yq[:, None] == ydb[None]
    ref = np.mean([average_precision_score(rel[i], sim[i]) for i in range(13)])
    assert abs(retrieval_map(q, db, yq, ydb, metric=metric, block_size=4) - ref) <= 1e-10
    top10 = np.argsort(-sim, axis=1, kind="stable")[:, :10]
    ref_p = np.take_along_axis(rel, top10, axis=1).mean()
    got = retrieval_precision_at_k(q, db, yq, ydb, k=10, metric=metric)
    assert abs(got - ref_p) <= ROUNDING


def test_retrieval_exclude_self_and_multilabel():
    rng = np.random.default_rng(12)
    X = rng.normal(size=(20, 4))
    Y = (rng.random((20, 3)) < 0.4).astype(int)
    Y[:, 0] = 1  # every pair shares tag 0: every item is relevant -> AP = 1
    res = retrieval_scores(X, X, Y, Y, exclude_self=True, k=5)
    assert res["map"] == 1.0 and res["precision_at_k"] == 1.0
    # leave-one-out with class labels equals the explicit computation with the diagonal removed
    y = rng.integers(0, 2, 20)
    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    sim = Xn @ Xn.T
    aps = []
    for i in range(20):
        keep = np.arange(20) != i
        rel = y[keep] == y[i]
        aps.append(average_precision_score(rel, sim[i, keep]))
    assert abs(retrieval_map(X, X, y, y, exclude_self=True) - np.mean(aps)) <= 1e-10


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: f1_at_k([[0, 2]], [[0.1, 0.2]], 1), "only 0 and 1"),
        (lambda: f1_at_k([[0, 1]], [[0.1, 0.2, 0.3]], 1), "same shape"),
        (lambda: f1_at_k([[0, 1]], [[np.nan, 0.2]], 1), "NaN"),
        (lambda: f1_at_k([[0, 1]], [[0.1, 0.2]], 3), "exceeds"),
        (lambda: f1_at_k([[0, 1]], [[0.1, 0.2]], 0), "k=0 is out of range: expected an integer"),
        (lambda: f1_at_k([[0, 1]], [[0.1, 0.2]], 1, average="weighted"), "average"),
        (lambda: f1_at_k([0, 1], [0.1, 0.2], 1), "2-D"),
        (lambda: retrieval_map([[0.0, 1.0]], [[1.0]], [0], [0]), "number of features"),
        (lambda: retrieval_map([[0.0, 1.0]], [[1.0, 0.0]], [0], [0], metric="l1"), "metric"),
        (lambda: retrieval_map([[0.0, 1.0]], [[1.0, 0.0]], [0, 1], [0]), "rows"),
    ],
)
def test_bad_inputs_raise_clear_errors(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_k_beyond_the_items_ranked_is_an_error_in_every_metric():
    """One rule: k in [1, n] for n the tags (tag metrics) or database items (retrieval)."""
    Y, S = [[0, 1]], [[0.1, 0.2]]
    for metric in (precision_at_k, recall_at_k, f1_at_k):
        with pytest.raises(ValueError, match=r"k=3 exceeds the number of tags \(2\)"):
            metric(Y, S, 3)
        with pytest.raises(TypeError, match=r"k=2\.0 is not valid: expected an integer"):
            metric(Y, S, 2.0)
    with pytest.raises(ValueError, match=r"k=3 exceeds the number of tags \(2\)"):
        top_k_indicator(S, 3)
    q, db, yq, ydb = [[1.0, 0.0]], [[1.0, 0.1], [0.0, 1.0], [0.9, 0.0]], [0], [0, 1, 0]
    with pytest.raises(ValueError, match=r"k=4 exceeds the number of database items \(3\)"):
        retrieval_precision_at_k(q, db, yq, ydb, k=4)
    with pytest.raises(ValueError, match=r"k=4 exceeds the number of database items"):
        retrieval_scores(q, db, yq, ydb, k=4)
    with pytest.raises(TypeError, match=r"k=2\.5 is not valid"):
        retrieval_precision_at_k(q, db, yq, ydb, k=2.5)
    X = np.array(db)
    with pytest.raises(ValueError, match=r"k=3 exceeds .* \(itself excluded\) \(2\)"):
        retrieval_scores(X, X, ydb, ydb, k=3, exclude_self=True)
    # at the boundary: precision@n is the fraction of relevant items, @n-1 on leave-one-out too
    assert retrieval_precision_at_k(q, db, yq, ydb, k=3) == pytest.approx(2 / 3, abs=ROUNDING)
    assert f1_at_k(Y, S, 2) == pytest.approx(2 * 0.5 * 1.0 / 1.5, abs=ROUNDING)
    loo = retrieval_scores(X, X, ydb, ydb, k=2, exclude_self=True)
    # items 0 and 2 share a class: each finds one relevant of two; item 1 finds none
    assert loo["precision_at_k"] == pytest.approx((0.5 + 0.0 + 0.5) / 3, abs=ROUNDING)


def test_retrieval_options_are_checked():
    q, db = [[1.0, 0.0]], [[1.0, 0.1], [0.0, 1.0]]
    with pytest.raises(ValueError, match="metric='l1' is not valid: expected one of 'cosine'"):
        retrieval_scores(q, db, [0], [0, 1], k=1, metric="l1")
    with pytest.raises(ValueError, match="block_size=0 is out of range"):
        retrieval_scores(q, db, [0], [0, 1], k=1, block_size=0)
    with pytest.raises(ValueError, match="average='weighted' is not valid: expected one of"):
        f1_at_k([[0, 1]], [[0.1, 0.2]], 1, average="weighted")


@st.composite
def _tag_problem(draw):
    n = draw(st.integers(1, 12))
    T = draw(st.integers(1, 7))
    Y = np.array(draw(st.lists(st.integers(0, 1), min_size=n * T, max_size=n * T))).reshape(n, T)
    S = np.array(
        draw(st.lists(st.integers(-3, 3), min_size=n * T, max_size=n * T)), dtype=float
    ).reshape(n, T)
    k = draw(st.integers(1, T))
    return Y, S, k


@given(_tag_problem(), st.sampled_from(["samples", "macro", "micro", "mean_pr"]))
def test_properties_bounds_and_monotone_invariance(problem, average):
    Y, S, k = problem
    vals = [fn(Y, S, k, average=average) for fn in (precision_at_k, recall_at_k, f1_at_k)]
    assert all(0.0 <= v <= 1.0 for v in vals)
    # a strictly increasing transform keeps the order and the ties: identical metrics
    vals2 = [
        fn(Y, 2 * S**3 + 1, k, average=average) for fn in (precision_at_k, recall_at_k, f1_at_k)
    ]
    assert vals == vals2
    # F1 never exceeds the larger of P and R (harmonic mean property, per element or pooled)
    if average in ("micro", "mean_pr"):
        assert vals[2] <= max(vals[0], vals[1]) + ROUNDING


@given(_tag_problem())
def test_properties_perfect_scores(problem):
    Y, _, _ = problem
    n_true = Y.sum(axis=1)
    if n_true.min() == 0:
        return
    k = int(n_true.min())
    # scoring the true tags above the others: every top-k tag is a true tag
    assert precision_at_k(Y, Y.astype(float), k) == 1.0
    present = Y.any(axis=0)
    assert mean_average_precision(Y[:, present], Y[:, present].astype(float)) == 1.0


@given(_tag_problem())
def test_property_map_matches_sklearn(problem):
    Y, S, _ = problem
    cols = [t for t in range(Y.shape[1]) if Y[:, t].any()]
    if not cols:
        assert np.isnan(mean_average_precision(Y, S))
        return
    ref = np.mean([average_precision_score(Y[:, t], S[:, t]) for t in cols])
    assert abs(mean_average_precision(Y, S) - ref) <= ROUNDING

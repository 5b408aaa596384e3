"""Approximate kNN (NN-descent through pynndescent): recall, format, determinism, the fallbacks.

The recall threshold is the scale issue's target, RECALL_TARGET = 0.95 at k = 10, on clustered
data of the kind the library is made for (make_clustered_tags).
"""

import sys

import numpy as np
import pytest

from hyperlearn import Hypergraph
from hyperlearn.datasets import make_clustered_tags
from hyperlearn.hypergraph import _ann, kneighbors
from hyperlearn.hypergraph._knn import _kneighbors

RECALL_TARGET = 0.95
N, D, K = 3000, 32, 10


def needs_pynndescent(test):
    """Skipped without pynndescent; slow: pynndescent compiles NN-descent on its first use in a
    process (minutes on a loaded machine)."""
    skip = pytest.mark.skipif(
        not _ann.has_pynndescent(), reason="pynndescent (the ann extra) is not installed"
    )
    return pytest.mark.slow(skip(test))


@pytest.fixture(scope="module")
def clustered():
    return make_clustered_tags(N, n_features=D, n_tags=20, random_state=0).features


@pytest.fixture(scope="module")
def exact(clustered):
    return kneighbors(clustered, K, method="exact")


@pytest.fixture(scope="module")
def approximate(clustered):
    return kneighbors(clustered, K, method="approximate", random_state=0)


def _recall(found, truth):
    return np.mean([np.intersect1d(a, b).size for a, b in zip(found, truth, strict=True)]) / K


@needs_pynndescent
def test_recall_against_exact_search_on_clustered_data(approximate, exact):
    assert _recall(approximate[1], exact[1]) >= RECALL_TARGET


@needs_pynndescent
def test_distances_are_exact_and_rows_sorted_like_the_exact_search(clustered, approximate):
    dist, ind = approximate
    assert ind.shape == dist.shape == (N, K) and ind.dtype == np.int64
    assert not np.any(ind == np.arange(N)[:, None])  # the point itself is excluded
    assert all(np.unique(row).size == K for row in ind)
    X = clustered.astype(np.float64)
    direct = np.sqrt(((X[:, None, :] - X[ind]) ** 2).sum(axis=2))
    # float32 differences summed in float64: relative error <= (d + 2) u32 (Higham, §3.1)
    np.testing.assert_allclose(dist, direct, rtol=(D + 2) * 2.0**-24)
    order = np.lexsort((ind, dist), axis=-1)
    np.testing.assert_array_equal(order, np.broadcast_to(np.arange(K), (N, K)))


@needs_pynndescent
def test_from_knn_approximate_has_the_same_format(clustered, approximate):
    hg = Hypergraph.from_knn(clustered, K, method="approximate", random_state=0)
    assert hg.n_vertices == hg.n_edges == N and hg.is_binary and hg.dtype == np.float32
    assert np.all(hg.edge_sizes == K + 1)
    for v in (0, 17, N - 1):  # hyperedge v = {v} ∪ its neighbours
        np.testing.assert_array_equal(hg.edge(v), np.sort(np.append(approximate[1][v], v)))


@needs_pynndescent
def test_deterministic_for_a_random_state(clustered, approximate):
    # reproducible for a seed and a thread count (NN-descent's parallel updates depend on it)
    again = kneighbors(clustered, K, method="approximate", random_state=0)
    np.testing.assert_array_equal(again[1], approximate[1])
    np.testing.assert_array_equal(again[0], approximate[0])
    generator = kneighbors(
        clustered, K, method="approximate", random_state=np.random.default_rng(5)
    )
    np.testing.assert_array_equal(
        generator[1],
        kneighbors(clustered, K, method="approximate", random_state=np.random.default_rng(5))[1],
    )


@needs_pynndescent
def test_cosine_metric(clustered):
    dist, ind = kneighbors(clustered, K, metric="cosine", method="approximate", random_state=0)
    _, truth = kneighbors(clustered, K, metric="cosine", method="exact")
    assert _recall(ind, truth) >= RECALL_TARGET
    assert np.all((dist >= 0) & (dist <= 2))


def test_auto_switches_at_the_documented_size(clustered, monkeypatch):
    assert _kneighbors(clustered, K)[2]["method"] == "exact"  # kneighbors' default
    assert _kneighbors(clustered, K, method="auto")[2]["method"] == "exact"  # N < ANN_MIN_SAMPLES
    monkeypatch.setattr(_ann, "ANN_MIN_SAMPLES", N)
    expected = "approximate" if _ann.has_pynndescent() else "exact"
    assert _kneighbors(clustered, K, method="auto", random_state=0)[2]["method"] == expected
    # a search against a database stays exact
    stats = _kneighbors(clustered[:50], K, database=clustered, method="auto")[2]
    assert stats["method"] == "exact"


def test_auto_without_pynndescent_is_exact_and_silent(clustered, monkeypatch, recwarn):
    monkeypatch.setattr(_ann, "ANN_MIN_SAMPLES", N)
    monkeypatch.setattr(_ann, "has_pynndescent", lambda: False)
    hg = Hypergraph.from_knn(clustered, K)  # method="auto"
    assert hg == Hypergraph.from_knn(clustered, K, method="exact")
    assert len(recwarn) == 0


def test_approximate_without_pynndescent_names_the_extra(clustered, monkeypatch):
    monkeypatch.setitem(sys.modules, "pynndescent", None)  # import fails
    with pytest.raises(ImportError, match=r"pynndescent.*'ann' extra.*hyperlearn\[ann\]"):
        kneighbors(clustered, K, method="approximate")


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"method": "fast"}, ValueError, "method='fast' is not valid: expected one of"),
        (
            {"method": "approximate", "database": np.zeros((5, D))},
            ValueError,
            "method='approximate' searches the points of X among themselves",
        ),
        ({"method": "approximate", "random_state": "seed"}, TypeError, "random_state='seed'"),
    ],
)
def test_bad_method_arguments(clustered, kwargs, error, match):
    if kwargs.get("random_state") == "seed" and not _ann.has_pynndescent():
        pytest.skip("pynndescent is not installed")
    with pytest.raises(error, match=match):
        kneighbors(clustered, K, **kwargs)


class _PaddedIndex:
    """Stands in for pynndescent.NNDescent: a graph with padding (-1) and a missing self entry."""

    graph = None

    def __init__(self, data, **kwargs):
        self.neighbor_graph = (self.graph, None)


def test_rows_with_too_few_candidates_are_searched_exactly(monkeypatch):
    pytest.importorskip("pynndescent")
    import pynndescent

    rng = np.random.default_rng(3)
    X = rng.standard_normal((40, 4))
    exact = kneighbors(X, 3, method="exact")
    n_other = 3 + _ann.ANN_EXTRA_CANDIDATES  # candidates asked for, self excluded
    graph = np.full((40, n_other + 1), -1, dtype=np.int64)
    graph[:, 0] = np.arange(40)
    graph[:, 1:4] = exact[1]  # rows >= 5 hold only 3 other candidates: too few
    graph[:5, 1:] = kneighbors(X, n_other, method="exact")[1][:5]  # rows < 5: complete
    _PaddedIndex.graph = graph
    monkeypatch.setattr(pynndescent, "NNDescent", _PaddedIndex)
    dist, ind = kneighbors(X, 3, method="approximate", random_state=0)
    np.testing.assert_array_equal(ind, exact[1])
    np.testing.assert_allclose(dist, exact[0], rtol=1e-15)


def test_other_candidates_drop_self_and_padding():
    graph = np.array([[0, 3, 2, -1], [2, 1, 0, 3], [4, 0, 1, 3]])
    candidates, complete = _ann._other_candidates(graph, 3)
    np.testing.assert_array_equal(candidates[1:], [[2, 0, 3], [4, 0, 1]])
    np.testing.assert_array_equal(complete, [False, True, True])

"""NetworkX conversion, explicit matrices under an nnz budget, index widths."""

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp

from hyperlearn import Hypergraph
from hyperlearn.hypergraph import NnzBudgetError
from hyperlearn.hypergraph import _reference as ref
from hyperlearn.hypergraph import _storage as storage_module

EPS64 = np.finfo(np.float64).eps


@pytest.fixture
def hg():
    return Hypergraph.from_edges(
        [[0, 1, 2], [2, 3], [1, 4], [0, 2, 4]], n_vertices=6, weights=[1.0, 2.0, 0.5, 3.0]
    )


def test_bipartite_round_trip(hg):
    G = hg.to_networkx()
    assert nx.is_bipartite(G)
    assert G.number_of_nodes() == hg.n_vertices + hg.n_edges
    assert G.number_of_edges() == hg.nnz
    assert G.nodes[("e", 3)] == {"bipartite": 1, "weight": 3.0}
    assert G.nodes[5]["bipartite"] == 0  # the isolated vertex is kept
    assert Hypergraph.from_networkx(G) == hg


def test_bipartite_round_trip_probabilistic_and_empty_edge():
    H = np.array([[0.5, 0.0, 0.0], [1.0, 0.0, 0.25]])
    hg = Hypergraph.from_incidence(H, weights=[1.0, 2.0, 3.0], allow_empty_edges=True)
    assert Hypergraph.from_networkx(hg.to_networkx()) == hg


def test_from_networkx_string_nodes():
    G = nx.Graph()
    G.add_nodes_from(["a", "b", "c"], bipartite=0)
    G.add_node("E1", bipartite=1, weight=2.0)
    G.add_node("E2", bipartite=1)
    G.add_edges_from([("a", "E1"), ("E1", "b"), ("c", "E2", {"weight": 0.5})])
    hg = Hypergraph.from_networkx(G)
    assert hg.incidence.toarray().tolist() == [[1.0, 0.0], [1.0, 0.0], [0.0, 0.5]]
    assert hg.weights.tolist() == [2.0, 1.0]
    assert Hypergraph.from_networkx(G, dtype=np.float32).dtype == np.float32


def test_clique_expansion(hg):
    G = hg.to_networkx(kind="clique")
    H, w = hg.incidence.toarray(), hg.weights
    A = H @ np.diag(w / H.sum(axis=0)) @ H.T
    np.fill_diagonal(A, 0.0)
    expected = nx.to_numpy_array(G, nodelist=range(hg.n_vertices))
    np.testing.assert_allclose(expected, A, rtol=4 * EPS64)
    assert nx.number_of_selfloops(G) == 0
    with pytest.raises(NnzBudgetError, match="clique expansion"):
        hg.to_networkx(kind="clique", nnz_budget=3)


def test_to_networkx_bad_kind(hg):
    with pytest.raises(ValueError, match="kind='star'"):
        hg.to_networkx(kind="star")


def test_explicit_budget_checked_before_allocating(hg, monkeypatch):
    import scipy.sparse as sparse_module

    calls = []
    original = sparse_module.diags

    def spy(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(sparse_module, "diags", spy)
    with pytest.raises(NnzBudgetError):
        hg.normalized_adjacency(explicit=True, nnz_budget=1)
    assert calls == []  # refused before building anything
    hg.normalized_adjacency(explicit=True)
    assert calls  # the spy does see the assembly when it happens


def test_explicit_matches_dense(hg):
    for dtype in (np.float32, np.float64):
        h = hg.astype(dtype)
        A = h.normalized_adjacency(explicit=True)
        assert sp.isspmatrix_csr(A) and A.dtype == dtype
        dense = ref.normalized_adjacency(h.incidence.toarray(), h.weights)
        tol = 10 * hg.n_vertices * np.finfo(dtype).eps
        np.testing.assert_allclose(A.toarray(), dense, atol=tol)


def test_int64_indices_beyond_int32(monkeypatch):
    # Shrink the int32 limit so that a small hypergraph needs int64 indices.
    monkeypatch.setattr(storage_module, "INT32_LIMIT", 5)
    hg = Hypergraph.from_edges([[0, 1, 2], [2, 3], [1, 3, 4]])
    for M in (hg.incidence, hg.incidence_csc):
        assert M.indices.dtype == np.int64 and M.indptr.dtype == np.int64
    x = np.arange(5.0)
    dense = ref.normalized_adjacency(hg.incidence.toarray(), hg.weights)
    np.testing.assert_allclose(hg.normalized_adjacency() @ x, dense @ x, atol=1e-14)
    np.testing.assert_allclose(hg.normalized_adjacency() @ np.eye(5), dense, atol=1e-14)
    monkeypatch.undo()
    small = Hypergraph.from_edges([[0, 1, 2], [2, 3], [1, 3, 4]])
    assert small.incidence.indices.dtype == np.int32
    assert small == Hypergraph.from_incidence(hg.incidence)

"""Every bad input gets a clear exception naming the parameter, the value and the expectation."""

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp

from hyperlearn import Hypergraph
from hyperlearn.hypergraph import kneighbors

EDGES = [[0, 1, 2], [2, 3]]
X = np.random.default_rng(0).standard_normal((6, 2))
X_NAN = X.copy()
X_NAN[2, 1] = np.nan
X_INF = X.copy()
X_INF[0, 0] = np.inf


def hg():
    return Hypergraph.from_edges(EDGES)


def _non_bipartite_attr_graph():
    G = nx.Graph()
    G.add_node(0, bipartite=0)
    G.add_node(1)  # no attribute
    return G


def _same_side_edge_graph():
    G = nx.Graph()
    G.add_nodes_from([0, 1], bipartite=0)
    G.add_node("e", bipartite=1)
    G.add_edge(0, 1)
    return G


CASES = {
    # --- from_edges
    "vertex id out of range": (
        lambda: Hypergraph.from_edges([[0, 5]], n_vertices=3),
        ValueError,
        r"vertex id 5, out of range for n_vertices=3: expected ids in \[0, 2\]",
    ),
    "negative vertex id": (
        lambda: Hypergraph.from_edges([[0, -1]]),
        ValueError,
        r"negative vertex id \(-1\)",
    ),
    "float vertex ids": (
        lambda: Hypergraph.from_edges([[0, 1.5]]),
        TypeError,
        "dtype float64: expected integer",
    ),
    "string vertex ids": (
        lambda: Hypergraph.from_edges([["a", "b"]]),
        TypeError,
        "expected integer vertex ids",
    ),
    "empty hyperedge": (
        lambda: Hypergraph.from_edges([[0, 1], []]),
        ValueError,
        r"edges has 1 empty hyperedge\(s\) \(e.g. at positions \[1\]\)",
    ),
    "edges not a sequence of sequences": (
        lambda: Hypergraph.from_edges([0, 1]),
        TypeError,
        "sequence of sequences",
    ),
    "edges a scalar": (lambda: Hypergraph.from_edges(5), TypeError, "edges=5 is not a sequence"),
    "malformed indptr": (
        lambda: Hypergraph.from_edges((np.array([0, 3]), np.array([0, 1]))),
        ValueError,
        r"edges=\(indptr, indices\) is malformed",
    ),
    "no vertex at all": (lambda: Hypergraph.from_edges([]), ValueError, "pass n_vertices"),
    "n_vertices zero": (
        lambda: Hypergraph.from_edges([], n_vertices=0),
        ValueError,
        "n_vertices=0 is out of range",
    ),
    "n_vertices not int": (
        lambda: Hypergraph.from_edges([[0]], n_vertices=2.0),
        TypeError,
        r"n_vertices=2.0 is not valid: expected an integer >= 1",
    ),
    # --- weights
    "weights wrong length": (
        lambda: Hypergraph.from_edges(EDGES, weights=[1.0]),
        ValueError,
        "weights has length 1: expected 2",
    ),
    "weights negative": (
        lambda: Hypergraph.from_edges(EDGES, weights=[1.0, -2.0]),
        ValueError,
        r"weights has negative entries \(min -2.0\): expected >= 0",
    ),
    "weights NaN": (
        lambda: Hypergraph.from_edges(EDGES, weights=[np.nan, 1.0]),
        ValueError,
        "weights contains 1 NaN or infinite",
    ),
    "weights inf in with_weights": (
        lambda: hg().with_weights([np.inf, 1.0]),
        ValueError,
        "weights contains 1 NaN or infinite",
    ),
    "weights 2-D": (
        lambda: hg().with_weights([[1.0, 1.0]]),
        ValueError,
        r"weights must be 1-D: got shape \(1, 2\)",
    ),
    "weights complex": (
        lambda: hg().with_weights([1j, 1.0]),
        TypeError,
        "weights has dtype complex128",
    ),
    "weights strings": (lambda: hg().with_weights(["a", "b"]), TypeError, "weights has dtype <U1"),
    # --- from_incidence
    "incidence negative": (
        lambda: Hypergraph.from_incidence([[1.0, -1.0]]),
        ValueError,
        "H has negative entries",
    ),
    "incidence NaN": (
        lambda: Hypergraph.from_incidence([[1.0, np.nan]]),
        ValueError,
        "H contains 1 NaN",
    ),
    "incidence 1-D": (lambda: Hypergraph.from_incidence([1.0, 1.0]), ValueError, "H must be 2-D"),
    "incidence no rows": (
        lambda: Hypergraph.from_incidence(np.zeros((0, 2))),
        ValueError,
        r"H has shape \(0, 2\)",
    ),
    "incidence empty column": (
        lambda: Hypergraph.from_incidence([[1.0, 0.0], [1.0, 0.0]]),
        ValueError,
        "H has 1 empty hyperedge",
    ),
    "incidence object dtype": (
        lambda: Hypergraph.from_incidence(np.array([[1, None]], dtype=object)),
        TypeError,
        "H has dtype object",
    ),
    "incidence complex": (
        lambda: Hypergraph.from_incidence(np.array([[1 + 1j]])),
        TypeError,
        "H has dtype complex128",
    ),
    "incidence None": (lambda: Hypergraph.from_incidence(None), TypeError, "H is None"),
    "bad dtype argument": (
        lambda: Hypergraph.from_incidence([[1.0]], dtype=np.int32),
        TypeError,
        "dtype=int32 is not supported: expected float32 or float64",
    ),
    # --- from_labels
    "labels non-binary": (
        lambda: Hypergraph.from_labels([[1, 2], [0, 1]]),
        ValueError,
        r"Y has 1 entries other than 0 and 1 \(e.g. 2.0\)",
    ),
    "labels non-binary sparse": (
        lambda: Hypergraph.from_labels(sp.csr_matrix([[0.5, 1.0]])),
        ValueError,
        "Y has 1 entries other than 0 and 1",
    ),
    "labels negative": (
        lambda: Hypergraph.from_labels([[-1, 1]]),
        ValueError,
        "entries other than 0 and 1",
    ),
    "labels NaN": (lambda: Hypergraph.from_labels([[np.nan, 1]]), ValueError, "Y contains 1 NaN"),
    "labels 3-D": (lambda: Hypergraph.from_labels(np.ones((2, 2, 2))), ValueError, "Y must be 2-D"),
    # --- from_knn / kneighbors
    "X NaN": (lambda: Hypergraph.from_knn(X_NAN, 2), ValueError, "X contains 1 NaN or infinite"),
    "X inf": (lambda: Hypergraph.from_knn(X_INF, 2), ValueError, "X contains 1 NaN or infinite"),
    "X 1-D": (lambda: Hypergraph.from_knn(np.ones(5), 2), ValueError, "X must be 2-D"),
    "X empty": (
        lambda: Hypergraph.from_knn(np.ones((0, 3)), 2),
        ValueError,
        r"X has shape \(0, 3\)",
    ),
    "X no features": (
        lambda: Hypergraph.from_knn(np.ones((4, 0)), 2),
        ValueError,
        r"X has shape \(4, 0\)",
    ),
    "X one sample": (lambda: Hypergraph.from_knn(np.ones((1, 3)), 1), ValueError, "at least 2"),
    "X object dtype": (
        lambda: Hypergraph.from_knn(np.array([[1, "a"]], dtype=object), 1),
        TypeError,
        "X has dtype object",
    ),
    "X complex": (
        lambda: Hypergraph.from_knn(X.astype(complex), 1),
        TypeError,
        "X has dtype complex128",
    ),
    "X None": (lambda: Hypergraph.from_knn(None, 1), TypeError, "X is None"),
    "X overflowing norms": (
        lambda: kneighbors(np.full((3, 2), 1e200), 1),
        ValueError,
        "overflow float64",
    ),
    "n_neighbors zero": (
        lambda: Hypergraph.from_knn(X, 0),
        ValueError,
        r"n_neighbors=0 is out of range: expected an integer in \[1, 5\]",
    ),
    "n_neighbors equal to n": (
        lambda: Hypergraph.from_knn(X, 6),
        ValueError,
        r"n_neighbors=6 is out of range",
    ),
    "n_neighbors float": (
        lambda: Hypergraph.from_knn(X, 2.5),
        TypeError,
        r"n_neighbors=2.5 is not valid: expected an integer in \[1, 5\]",
    ),
    "n_neighbors above database": (
        lambda: kneighbors(X, 4, database=X[:3]),
        ValueError,
        r"expected an integer in \[1, 3\]",
    ),
    "database feature mismatch": (
        lambda: kneighbors(X, 1, database=np.ones((3, 5))),
        ValueError,
        "database has 5 features: expected X's 2",
    ),
    "unknown metric": (
        lambda: Hypergraph.from_knn(X, 2, metric="manhattan"),
        ValueError,
        "metric='manhattan' is not valid: expected one of 'euclidean', 'cosine'",
    ),
    "block_size zero": (
        lambda: kneighbors(X, 2, block_size=0),
        ValueError,
        "block_size=0 is out of range",
    ),
    "n_jobs zero": (lambda: Hypergraph.from_knn(X, 2, n_jobs=0), ValueError, "n_jobs=0"),
    # --- hstack
    "hstack vertex mismatch": (
        lambda: Hypergraph.from_edges([[0, 1]]) | Hypergraph.from_edges([[0, 2]]),
        ValueError,
        r"hypergraphs\[1\] has n_vertices=3: expected 2",
    ),
    "hstack empty": (lambda: Hypergraph.hstack([]), ValueError, "hypergraphs is empty"),
    "hstack non-hypergraph": (
        lambda: Hypergraph.hstack([hg(), np.eye(4)]),
        TypeError,
        r"hypergraphs\[1\] is ndarray\(shape=\(4, 4\), dtype=float64\): expected a Hypergraph",
    ),
    # --- operators
    "unknown laplacian kind": (
        lambda: hg().laplacian("symmetric"),
        ValueError,
        "kind='symmetric' is not valid: expected one of 'normalized', 'random_walk', "
        "'unnormalized'",
    ),
    "nnz_budget negative": (
        lambda: hg().normalized_adjacency(explicit=True, nnz_budget=-1),
        ValueError,
        "nnz_budget=-1 is out of range",
    ),
    "matvec wrong length": (
        lambda: hg().normalized_adjacency() @ np.ones(3),
        ValueError,
        r"x has shape \(3,\): expected \(4,\) or \(4, 1\) to multiply the 4x4 HypergraphOperator",
    ),
    "matvec string vector": (
        lambda: hg().normalized_adjacency().matvec(np.array(["a"] * 4)),
        TypeError,
        "x has dtype <U1",
    ),
    "principal_block out of range": (
        lambda: hg().normalized_adjacency().principal_block([0, 9]),
        ValueError,
        "index has entries out of range",
    ),
    "principal_block bad mask": (
        lambda: hg().normalized_adjacency().principal_block([True, False]),
        ValueError,
        r"boolean mask of shape \(2,\): expected shape \(4,\)",
    ),
    "principal_block float index": (
        lambda: hg().normalized_adjacency().principal_block([0.5]),
        ValueError,
        "expected a 1-D array of integer vertex indices",
    ),
    "edge_statistics wrong rows": (
        lambda: hg().edge_statistics(np.ones((3, 2))),
        ValueError,
        "F has 3 rows: expected n_vertices=4",
    ),
    "edge_statistics NaN": (
        lambda: hg().edge_statistics(np.full(4, np.nan)),
        ValueError,
        "F contains 4 NaN",
    ),
    # --- networkx
    "networkx missing bipartite attribute": (
        lambda: Hypergraph.from_networkx(_non_bipartite_attr_graph()),
        ValueError,
        "node 1 of G has bipartite=None",
    ),
    "networkx same-side edge": (
        lambda: Hypergraph.from_networkx(_same_side_edge_graph()),
        ValueError,
        r"edge \(0, 1\) inside one side",
    ),
    "networkx not a graph": (
        lambda: Hypergraph.from_networkx([1, 2]),
        TypeError,
        "is not a NetworkX graph",
    ),
    "networkx no vertices": (
        lambda: Hypergraph.from_networkx(nx.Graph()),
        ValueError,
        "G has no vertex node",
    ),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_bad_input_raises_clear_error(case):
    call, exc_type, pattern = CASES[case]
    with pytest.raises(exc_type, match=pattern):
        call()


@pytest.mark.parametrize(
    "make",
    [
        lambda: Hypergraph.from_incidence(np.array([[1, 0], [1, 1]])),  # int -> float64
        lambda: Hypergraph.from_incidence(np.array([[True, False], [True, True]])),
        lambda: Hypergraph.from_labels(np.array([[1, 0], [1, 1]], dtype=np.uint8)),
        lambda: Hypergraph.from_edges([[0, 1], [1]], weights=np.array([1, 2])),
    ],
)
def test_int_and_bool_inputs_are_converted_to_float64(make):
    assert make().dtype == np.float64

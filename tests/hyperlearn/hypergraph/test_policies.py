"""One rule per policy, across constructors and operators.

- Repeated memberships count once (from_edges, from_incidence, from_labels); a sparse entry
  stored twice with different values is refused.
- Empty hyperedges are refused unless ``allow_empty_edges=True`` (the default of from_labels).
- ``Θ @ x`` with the wrong shape names the operator's shape and the argument's.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

from hyperlearn import Hypergraph
from hyperlearn.hypergraph import _reference as ref

# --- repeated memberships ------------------------------------------------------------------


@st.composite
def edge_lists_with_repeats(draw):
    """(n_vertices, edges): non-empty hyperedges whose members may repeat."""
    n = draw(st.integers(1, 8))
    m = draw(st.integers(1, 6))
    members = st.lists(st.integers(0, n - 1), min_size=1, max_size=10)
    return n, draw(st.lists(members, min_size=m, max_size=m))


def _coo_of(edges, n, values=None):
    rows = np.concatenate([np.asarray(e, dtype=np.int64) for e in edges])
    cols = np.repeat(np.arange(len(edges)), [len(e) for e in edges])
    data = np.ones(rows.size) if values is None else values
    return sp.coo_matrix((data, (rows, cols)), shape=(n, len(edges)))


def _stored_twice(coo, fmt):
    """``coo`` as COO, or as CSR/CSC built from its arrays (which keeps repeated entries)."""
    if fmt == "coo":
        return coo
    by_row = fmt == "csr"
    order = np.lexsort((coo.col, coo.row)) if by_row else np.lexsort((coo.row, coo.col))
    major, minor = (coo.row, coo.col) if by_row else (coo.col, coo.row)
    indptr = np.searchsorted(major[order], np.arange(coo.shape[0 if by_row else 1] + 1))
    cls = sp.csr_matrix if by_row else sp.csc_matrix
    return cls((coo.data[order], minor[order], indptr), shape=coo.shape)


@given(edge_lists_with_repeats(), st.sampled_from(["coo", "csr", "csc"]))
def test_repeated_memberships_count_once_in_every_constructor(case, fmt):
    n, edges = case
    expected = ref.dense_incidence_from_edges(edges, n)  # 0/1: a member or not
    H = _stored_twice(_coo_of(edges, n), fmt)
    for hg in (
        Hypergraph.from_edges(edges, n_vertices=n),
        Hypergraph.from_incidence(H),
        Hypergraph.from_labels(H),
    ):
        np.testing.assert_array_equal(hg.incidence.toarray(), expected)
        assert hg.is_binary


def test_repeated_entry_with_equal_values_keeps_the_value():
    H = sp.coo_matrix(([0.5, 0.5, 1.0], ([0, 0, 1], [0, 0, 0])), shape=(2, 1))
    hg = Hypergraph.from_incidence(H)
    assert hg.incidence.toarray().tolist() == [[0.5], [1.0]]


@pytest.mark.parametrize("constructor", ["incidence", "labels"])
def test_repeated_entry_with_different_values_is_refused(constructor):
    values = [1.0, 0.0, 1.0] if constructor == "labels" else [0.25, 0.75, 1.0]
    H = sp.coo_matrix((values, ([1, 1, 0], [0, 0, 0])), shape=(2, 1))
    name = "Y" if constructor == "labels" else "H"
    build = Hypergraph.from_labels if constructor == "labels" else Hypergraph.from_incidence
    with pytest.raises(ValueError, match=rf"{name} stores entry \(1, 0\) more than once"):
        build(H)


def test_canonical_sparse_input_is_not_copied_for_the_check():
    H = sp.random(50, 20, density=0.2, format="csr", random_state=0)
    H.data[:] = 1.0
    assert H.has_canonical_format
    assert Hypergraph.from_incidence(H) == Hypergraph.from_incidence(H.tocoo())


# --- empty hyperedges ----------------------------------------------------------------------

Y_WITH_UNUSED_LABEL = np.array([[1, 0, 0], [1, 0, 1]])


@pytest.mark.parametrize(
    "build, name",
    [
        (lambda **kw: Hypergraph.from_edges([[0, 1], [], [1]], **kw), "edges"),
        (lambda **kw: Hypergraph.from_incidence(Y_WITH_UNUSED_LABEL, **kw), "H"),
        (lambda **kw: Hypergraph.from_labels(Y_WITH_UNUSED_LABEL, **kw), "Y"),
    ],
    ids=["from_edges", "from_incidence", "from_labels"],
)
def test_empty_hyperedges_refused_unless_allowed(build, name):
    with pytest.raises(
        ValueError, match=rf"{name} has 1 empty hyperedge\(s\) \(e.g. at positions \[1\]\)"
    ):
        build(allow_empty_edges=False)
    hg = build(allow_empty_edges=True)
    assert hg.n_edges == 3 and hg.edge_sizes.tolist() == [2, 0, 1]
    # an empty hyperedge contributes nothing: Θ equals Θ without it
    kept = Hypergraph.from_incidence(hg.incidence[:, [0, 2]])
    x = np.arange(2.0) + 1
    np.testing.assert_array_equal(hg.normalized_adjacency() @ x, kept.normalized_adjacency() @ x)


def test_from_labels_keeps_unused_labels_by_default():
    hg = Hypergraph.from_labels(Y_WITH_UNUSED_LABEL)
    assert hg.edge_sizes.tolist() == [2, 0, 1]  # hyperedge t is label t


# --- operand shapes ------------------------------------------------------------------------


@pytest.fixture
def theta():
    return Hypergraph.from_edges([[0, 1, 2], [2, 3]]).normalized_adjacency()


@pytest.mark.parametrize(
    "call, shape, expected",
    [
        (lambda t, x: t @ x, (5,), r"\(4,\) or \(4, 1\)"),
        (lambda t, x: t @ x, (5, 3), r"\(4, k\)"),
        (lambda t, x: t @ x, (4, 3, 2), r"\(4, k\)"),
        (lambda t, x: t.matvec(x), (3,), r"\(4,\) or \(4, 1\)"),
        (lambda t, x: t.rmatvec(x), (3,), r"\(4,\) or \(4, 1\)"),
        (lambda t, x: t.matmat(x), (3, 2), r"\(4, k\)"),
        (lambda t, x: t.rmatmat(x), (3, 2), r"\(4, k\)"),
        (lambda t, x: t.T @ x, (5,), r"\(4,\) or \(4, 1\)"),
        (lambda t, x: t.principal_block([0, 1]) @ x, (4,), r"\(2,\) or \(2, 1\)"),
    ],
)
def test_wrong_operand_shape_names_both_shapes(theta, call, shape, expected):
    x = np.ones(shape)
    with pytest.raises(ValueError, match=rf"x has shape {re_shape(shape)}: expected {expected}"):
        call(theta, x)


def re_shape(shape):
    return str(tuple(shape)).replace("(", r"\(").replace(")", r"\)")


def test_operator_name_in_shape_error(theta):
    with pytest.raises(ValueError, match=r"to multiply the 4x4 HypergraphOperator"):
        theta @ np.ones(5)


@pytest.mark.parametrize("shape", [(4,), (4, 1), (4, 3)])
def test_right_operand_shapes_still_multiply(theta, shape):
    x = np.arange(np.prod(shape), dtype=np.float64).reshape(shape)
    expected = theta.to_sparse() @ x
    np.testing.assert_allclose(theta @ x, expected, rtol=1e-14, atol=1e-14)
    assert (theta @ x).shape == expected.shape

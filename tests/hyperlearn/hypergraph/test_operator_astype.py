"""``astype`` of the matrix-free operators (HypergraphOperator / IncidenceProductOperator and
ShiftedOperator): the float32 copy shares the incidence and matches the float64 product to
float32 rounding."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st
from scipy.sparse.linalg import aslinearoperator

from hyperlearn.hypergraph import Hypergraph, IncidenceProductOperator
from hyperlearn.linalg._shifted import ShiftedOperator

U32 = np.finfo(np.float32).eps / 2
U64 = np.finfo(np.float64).eps / 2
# roundings along one path of a product beyond the two sums (see IncidenceProductOperator.astype)
EXTRA_ROUNDINGS = 7
# I − αΘ adds: α cast to float32, the product by α, the subtraction
SHIFT_ROUNDINGS = 3


def gamma(k, u):
    return k * u / (1 - k * u)


def _hypergraph(seed, binary=True, n=60, m=40):
    rng = np.random.default_rng(seed)
    H = sp.random(n, m, density=0.08, random_state=rng, format="csr")
    # every vertex in one hyperedge and every hyperedge non-empty (a member each)
    H = H + sp.csr_matrix((np.ones(n), (np.arange(n), rng.integers(m, size=n))), shape=(n, m))
    H = H + sp.csr_matrix((np.ones(m), (rng.integers(n, size=m), np.arange(m))), shape=(n, m))
    if binary:
        H.data[:] = 1.0
    weights = rng.uniform(0.2, 3.0, m)
    return Hypergraph.from_incidence(H.tocsr(), weights)


def _path_roundings(hg):
    H = hg.incidence
    max_edge = int(np.diff(hg.incidence_csc.indptr).max())
    max_degree = int(np.diff(H.indptr).max())
    return max_edge + max_degree + EXTRA_ROUNDINGS


def _absolute(op):
    """The explicit |A| of an IncidenceProductOperator, in float64 (for the rounding bound)."""
    return abs(op.astype(np.float64).to_sparse().toarray())


@pytest.mark.parametrize("kind", ["adjacency", "normalized", "random_walk", "unnormalized"])
@pytest.mark.parametrize("binary", [True, False])
def test_float32_copy_matches_float64_to_rounding(kind, binary):
    hg = _hypergraph(0, binary)
    op = hg.laplacian(kind) if kind != "adjacency" else hg.normalized_adjacency()
    op32 = op.astype(np.float32)
    assert op32.dtype == np.float32 and op32.shape == op.shape
    X32 = np.random.default_rng(1).standard_normal((60, 4)).astype(np.float32)
    X = X32.astype(np.float64)  # the same numbers, so only the products' rounding differs
    Y32 = op32.matmat(X32)
    assert Y32.dtype == np.float32
    Y = op.matmat(X)
    k = _path_roundings(hg)
    bound = (gamma(k, U32) + gamma(k, U64)) * (_absolute(op) @ np.abs(X))
    assert np.all(np.abs(Y32 - Y) <= bound)
    y32 = op32.matvec(X32[:, 0])
    assert y32.dtype == np.float32
    assert np.all(np.abs(y32 - Y[:, 0]) <= bound[:, 0])


def test_shares_the_incidence_and_copies_only_scales():
    op = _hypergraph(2).normalized_adjacency()
    op32 = op.astype(np.float32)
    assert isinstance(op32, IncidenceProductOperator)
    assert op32._csr is op._csr and op32._csc is op._csc
    assert op32._csr.indices is op._csr.indices and op32._csc.indptr is op._csc.indptr
    np.testing.assert_array_equal(op32._left, op._left.astype(np.float32))
    np.testing.assert_array_equal(op32._edge_scale, op._edge_scale.astype(np.float32))
    assert op.astype(np.float64) is op and op32.astype(np.float32) is op32
    back = op32.astype(np.float64)  # float64 again: the float32-rounded scales, widened
    assert back.dtype == np.float64 and back._csr is op._csr


@pytest.mark.parametrize("dtype", [np.int64, np.complex128, np.float16, "not a dtype"])
def test_bad_dtype_is_rejected(dtype):
    op = _hypergraph(3).normalized_adjacency()
    with pytest.raises(ValueError, match="dtype"):
        op.astype(dtype)


@pytest.mark.parametrize("alpha", [0.5, 0.99])
def test_shifted_operator_astype(alpha):
    hg = _hypergraph(4)
    shifted = ShiftedOperator(hg.normalized_adjacency(), alpha)
    shifted32 = shifted.astype(np.float32)
    assert shifted32.dtype == np.float32 and shifted32.alpha == shifted.alpha
    assert shifted32.theta._csr is shifted.theta._csr
    assert shifted.astype(np.float64) is shifted
    X32 = np.random.default_rng(5).standard_normal((60, 3)).astype(np.float32)
    X = X32.astype(np.float64)
    Y32 = shifted32.matmat(X32)
    assert Y32.dtype == np.float32
    k = _path_roundings(hg) + SHIFT_ROUNDINGS
    magnitude = np.abs(X) + alpha * (_absolute(shifted.theta) @ np.abs(X))
    bound = (gamma(k, U32) + gamma(k, U64)) * magnitude
    assert np.all(np.abs(Y32 - shifted.matmat(X)) <= bound)


def test_shifted_operator_without_castable_theta():
    theta = aslinearoperator(np.eye(4) / 2)
    with pytest.raises(ValueError, match="astype"):
        ShiftedOperator(theta, 0.5).astype(np.float32)
    with pytest.raises(ValueError, match="dtype"):
        ShiftedOperator(_hypergraph(6).normalized_adjacency(), 0.5).astype(np.int32)


@given(seed=st.integers(0, 2**31 - 1), binary=st.booleans(), n_cols=st.integers(1, 5))
def test_property_float32_copy_within_rounding(seed, binary, n_cols):
    hg = _hypergraph(seed, binary, n=30, m=20)
    op = hg.normalized_adjacency()
    X32 = np.random.default_rng(seed).standard_normal((30, n_cols)).astype(np.float32)
    X = X32.astype(np.float64)
    k = _path_roundings(hg)
    bound = (gamma(k, U32) + gamma(k, U64)) * (_absolute(op) @ np.abs(X))
    assert np.all(np.abs(op.astype(np.float32).matmat(X32) - op.matmat(X)) <= bound)

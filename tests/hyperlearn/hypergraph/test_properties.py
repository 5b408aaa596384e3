"""Hypothesis property tests: kernels against dense references and the theory of Θ.

Tolerances come from the standard rounding-error bound for sums of products
(Higham, "Accuracy and Stability of Numerical Algorithms", §3.1): a computed sum of K products
satisfies |ŝ − s| <= γ_K Σ|terms|, γ_K = K·eps/(1 − K·eps).  Every entry of Θx is such a sum with
K <= n + m + 8 (members of one hyperedge, hyperedges of one vertex, and the roundings of the
stored scalings d^{-1/2} and w/δ), so the elementwise bound is ROUNDING_SLACK·K·eps·(|Θ||x|).
"""

from unittest.mock import patch

import numpy as np
import scipy.sparse as sp
from hypothesis import assume, given
from hypothesis import strategies as st

from hyperlearn import Hypergraph
from hyperlearn.hypergraph import _reference as ref
from hyperlearn.testing import assert_normalized_laplacian, assert_symmetric_psd, strategies
from hyperlearn.utils import _numba as numba_utils
from hyperlearn.utils import thread_limits

# c in |computed − exact| <= c·K·eps·(|A||x|): 1 for the first-order term of γ_K, 1 more for the
# float64 dense reference's own rounding.
ROUNDING_SLACK = 2
# extra roundings beyond the K sums: d^{-1/2} and w/δ stored in the operator dtype (twice each)
SCALING_ROUNDINGS = 8


# Weight regimes, one per drawn hypergraph: unit, moderate, six decades, and zeros mixed in
# (vertices only in zero-weight hyperedges become isolated) with positive weights down to
# MIN_MIXED_WEIGHT: within the range the operators accept in float32 (positive weights within
# a factor 1/sqrt(tiny) ≈ 1e19 of each other; wider spans are refused, see test_hypergraph).
MIN_MIXED_WEIGHT = 1e-12
WEIGHT_REGIMES = (
    "unit",
    st.floats(0.1, 2.0),
    "spread",
    st.just(0.0) | st.floats(MIN_MIXED_WEIGHT, 2.0),
)
MAX_ISOLATED_BLOCK = 8


def _public_hypergraphs(weights):
    return strategies.hypergraphs(
        n_vertices=(1, 16),
        n_edges=(0, 10),
        edge_size=(1, 16),
        weights=weights,
        dtype=st.sampled_from([np.float32, np.float64]),
        probabilistic=True,
    )


# built once: a flatmap rebuilding the strategy per example doubled the generation time
_REGIMES = st.one_of(*[_public_hypergraphs(weights) for weights in WEIGHT_REGIMES])


@st.composite
def hypergraphs(draw):
    """Public hypergraphs (size-1 to whole-vertex-set hyperedges, 0/1 or probabilistic
    incidence, float32/float64) in each weight regime, plus an explicit block of trailing
    isolated vertices."""
    hg = draw(_REGIMES)
    k = draw(st.integers(0, MAX_ISOLATED_BLOCK))
    if k == 0:
        return hg
    H = sp.vstack([hg.incidence, sp.csr_matrix((k, hg.n_edges))]).tocsc()
    return Hypergraph.from_incidence(H, hg.weights, dtype=hg.dtype)


def _eps(hg):
    return np.finfo(hg.dtype).eps


def _k_terms(hg, extra=0):
    return hg.n_vertices + hg.n_edges + SCALING_ROUNDINGS + extra


def _dense(hg):
    return hg.incidence.toarray().astype(np.float64), hg.weights.astype(np.float64)


def _vectors(hg, n_cols, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((hg.n_vertices, n_cols)).astype(hg.dtype)


def _bound(hg, A_abs, X):
    # Higham's model with gradual underflow: fl(a ∘ b) = (a ∘ b)(1 + δ) + η, |δ| <= eps/2,
    # |η| <= smallest_subnormal/2, so besides the relative term each of the K roundings may add
    # an absolute error of half a subnormal spacing (it matters only for weights so small that
    # the unnormalised Laplacian's entries are subnormal in float32).
    Xa = np.abs(X).astype(np.float64)
    relative = _eps(hg) * (A_abs @ Xa)
    absolute = np.finfo(hg.dtype).smallest_subnormal * Xa.max(axis=0, initial=0.0)
    return ROUNDING_SLACK * _k_terms(hg) * (relative + absolute)


@given(hg=hypergraphs(), n_cols=st.integers(1, 5))
def test_operator_equals_dense_reference(hg, n_cols):
    H, w = _dense(hg)
    theta_ref = ref.normalized_adjacency(H, w)
    X = _vectors(hg, n_cols)
    theta = hg.normalized_adjacency()
    Y = theta @ X
    assert Y.dtype == hg.dtype
    assert np.all(np.abs(Y - theta_ref @ X) <= _bound(hg, theta_ref, X))
    y = theta.matvec(X[:, 0])
    assert np.all(np.abs(y - theta_ref @ X[:, 0]) <= _bound(hg, theta_ref, X[:, 0]))


@given(hg=hypergraphs(), kind=st.sampled_from(["normalized", "random_walk", "unnormalized"]))
def test_laplacians_equal_dense_reference(hg, kind):
    H, w = _dense(hg)
    L_ref = ref.laplacian(H, w, kind)
    diag_part = {"normalized": 1.0, "random_walk": 1.0, "unnormalized": H @ w}[kind]
    diag_part = np.broadcast_to(diag_part, (hg.n_vertices,))
    A_abs = np.abs(L_ref - np.diag(diag_part)) + np.diag(np.abs(diag_part))
    X = _vectors(hg, 3)
    L = hg.laplacian(kind)
    assert np.all(np.abs(L @ X - L_ref @ X) <= _bound(hg, A_abs, X))
    assert np.all(np.abs(L.T @ X - L_ref.T @ X) <= _bound(hg, A_abs.T, X))
    eye = np.eye(hg.n_vertices)
    assert np.all(np.abs(L.diagonal() - np.diag(L_ref)) <= np.diag(_bound(hg, A_abs, eye)))
    explicit = hg.laplacian(kind, explicit=True).toarray()
    assert np.all(np.abs(explicit - L_ref) <= _bound(hg, A_abs, eye))


@given(hg=hypergraphs())
def test_normalized_laplacian_properties_and_theta_psd(hg):
    # Δ (matrix-free and explicit): symmetric, spectrum in [0, 1], Δ·Dv^(1/2)1 = 0 with the
    # weighted degrees recomputed in float64.  Θ = normalized_adjacency() itself: PSD, λ_max = 1.
    assert_normalized_laplacian(hg)
    theta = hg.normalized_adjacency()
    report = assert_symmetric_psd(theta)
    if np.any(hg.vertex_degrees > 0):  # λ_max(Θ) = 1 exactly when some vertex has a degree
        assert abs(report["lambda_max"] - 1) <= report["tol"]
    else:
        assert report["lambda_max"] == 0


@given(hg=hypergraphs())
def test_theta_fixes_sqrt_degrees_entrywise(hg):
    # Entrywise relative, stricter than the norm-wise ‖Δu‖/‖u‖ of assert_normalized_laplacian
    # when the degrees span decades; isolated vertices are exactly zero rows of Θ.
    d = hg.vertex_degrees.astype(np.float64)
    u = np.sqrt(d)
    y = hg.normalized_adjacency() @ u
    active = d > 0
    K = _k_terms(hg)
    assert np.all(np.abs(y[active] - u[active]) <= ROUNDING_SLACK * K * _eps(hg) * u[active])
    assert np.all(y[~active] == 0)


@given(hg=hypergraphs(), n_cols=st.integers(1, 6), fortran=st.booleans())
def test_matmat_equals_matvec_column_by_column(hg, n_cols, fortran):
    H, w = _dense(hg)
    theta_ref = ref.normalized_adjacency(H, w)
    X = _vectors(hg, n_cols, seed=1)
    if fortran:
        X = np.asfortranarray(X)
    theta = hg.normalized_adjacency()
    Y = theta.matmat(X)
    columns = np.column_stack([theta.matvec(X[:, j]) for j in range(n_cols)])
    assert np.all(np.abs(Y - columns) <= 2 * _bound(hg, theta_ref, X))


@given(hg=hypergraphs())
def test_operator_equals_explicit_matrix_and_diagonal(hg):
    H, w = _dense(hg)
    theta_ref = ref.normalized_adjacency(H, w)
    theta = hg.normalized_adjacency()
    explicit = hg.normalized_adjacency(explicit=True)
    assert sp.isspmatrix_csr(explicit) and explicit.dtype == hg.dtype
    eye = np.eye(hg.n_vertices, dtype=hg.dtype)
    bound = _bound(hg, theta_ref, eye)
    assert np.all(np.abs(theta @ eye - explicit.toarray()) <= 2 * bound)
    assert np.all(np.abs(theta.diagonal() - np.diag(theta_ref)) <= np.diag(bound))


@given(hg=hypergraphs(), data=st.data())
def test_principal_block_equals_submatrix(hg, data):
    n = hg.n_vertices
    idx = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n)))
    H, w = _dense(hg)
    theta_ref = ref.normalized_adjacency(H, w)
    sub = theta_ref[np.ix_(idx, idx)]
    block = hg.normalized_adjacency().principal_block(idx)
    assert block.shape == (idx.size, idx.size)
    eye = np.eye(idx.size, dtype=hg.dtype)
    bound = _bound(hg, sub, eye)
    assert np.all(np.abs(block @ eye - sub) <= bound)
    assert np.all(np.abs(block.diagonal() - np.diag(sub)) <= np.diag(bound))


@given(hg=hypergraphs(), n_cols=st.integers(0, 4))
def test_edge_statistics_equals_reference(hg, n_cols):
    H, w = _dense(hg)
    F = _vectors(hg, n_cols, seed=2)
    c = hg.edge_statistics(F)
    assert c.shape == (hg.n_edges,) and c.dtype == hg.dtype
    with np.errstate(over="ignore"):
        expected = ref.edge_statistics(H, w, F)
    # |ĝ² − g²| <= 2 γ_K g_abs², with g_abs from |F|
    with np.errstate(over="ignore"):
        c_abs = ref.edge_statistics(H, w, np.abs(F))
    # c scales like 1/w: weights near the smallest float64 make it overflow to inf (correctly,
    # in both); the rounding bound below is about finite values
    assume(np.all(np.isfinite(c_abs)))
    K = _k_terms(hg, extra=n_cols)
    assert np.all(np.abs(c - expected) <= 2 * ROUNDING_SLACK * K * _eps(hg) * c_abs)
    # Σ_e w_e c_e = tr(Fᵀ Θ F)
    if n_cols:
        theta_ref = ref.normalized_adjacency(H, w)
        trace_abs = np.sum(np.abs(F) * (theta_ref @ np.abs(F)))
        assert abs(c @ w - np.sum(F * (theta_ref @ F))) <= (
            4 * ROUNDING_SLACK * K * _eps(hg) * trace_abs + 1e-300
        )


@given(hg=hypergraphs(), n_cols=st.integers(1, 4))
def test_results_independent_of_thread_count(hg, n_cols):
    X = _vectors(hg, n_cols, seed=3)
    theta = hg.normalized_adjacency()
    results = []
    for n_threads in (1, 2):
        # force the parallel path even for these tiny sizes
        with patch.object(numba_utils, "PARALLEL_MIN_WORK", 0), thread_limits(n_threads):
            results.append(
                (
                    theta @ X,
                    theta.matvec(X[:, 0]),
                    hg.edge_statistics(X),
                    hg.laplacian("random_walk").rmatvec(X[:, 0]),
                )
            )
    for a, b in zip(*results, strict=True):
        np.testing.assert_array_equal(a, b)


@given(hg=hypergraphs())
def test_from_edges_equals_python_loop_reference(hg):
    assume(hg.is_binary and hg.n_edges > 0)
    edges = [hg.edge(e).tolist() for e in range(hg.n_edges)]
    # repeat members to exercise merging
    doubled = [e + e[:1] for e in edges]
    rebuilt = Hypergraph.from_edges(doubled, n_vertices=hg.n_vertices, weights=hg.weights)
    assert rebuilt == hg
    np.testing.assert_array_equal(
        rebuilt.incidence.toarray(), ref.dense_incidence_from_edges(edges, hg.n_vertices)
    )


@given(hg=hypergraphs())
def test_hstack_operator_equals_reference_of_concatenation(hg):
    both = hg | hg.with_weights(np.flip(hg.weights))
    H, w = _dense(both)
    theta_ref = ref.normalized_adjacency(H, w)
    X = _vectors(both, 2)
    assert np.all(
        np.abs(both.normalized_adjacency() @ X - theta_ref @ X) <= _bound(both, theta_ref, X)
    )

"""The strategies produce what they promise, reproducibly, and shrink to simple cases."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse as sp
from hypothesis import find, given, settings
from hypothesis import strategies as st

from hyperlearn.testing import assert_normalized_laplacian
from hyperlearn.testing.strategies import (
    hypergraphs,
    matrices_with_spectrum,
    spd_matrices,
    spd_systems,
)

from ._examples import examples, one_example

EPS64 = np.finfo(np.float64).eps
# c in c·√n·eps: orthonormality of Householder QR factors and accuracy of LAPACK eigenvalues
ORTHO_SLACK = 10.0


# ---------------------------------------------------------------------------------------------
# matrices_with_spectrum


@settings(max_examples=40)
@given(
    st.tuples(
        st.sampled_from(["exact_rank", "fast_decay", "slow_decay"]),
        st.sampled_from([np.float32, np.float64]),
        st.booleans(),
    ).flatmap(
        lambda c: matrices_with_spectrum(((1, 20), (1, 20)), spectrum=c[0], dtype=c[1], sparse=c[2])
    )
)
def test_exact_factors_reproduce_A(matrix):
    A, U, s, Vt = matrix
    m, n = A.shape
    r = min(m, n)
    assert U.shape == (m, r) and s.shape == (r,) and Vt.shape == (r, n)
    assert U.dtype == s.dtype == Vt.dtype == np.float64
    tol = ORTHO_SLACK * np.sqrt(max(m, n)) * EPS64
    assert np.linalg.norm(U.T @ U - np.eye(r), 2) <= tol
    assert np.linalg.norm(Vt @ Vt.T - np.eye(r), 2) <= tol
    assert np.all(s >= 0) and np.all(np.diff(s) <= 0) and s[0] <= 1.0
    dense = A.toarray() if sp.issparse(A) else A
    # A is the float64 product rounded once: ‖A − U S Vt‖ ≤ ½·eps(dtype)·‖A‖_F (+ float64 product)
    eps = np.finfo(dense.dtype).eps
    error = np.linalg.norm(dense.astype(np.float64) - (U * s) @ Vt, 2)
    assert error <= 0.5 * eps * np.linalg.norm(dense, "fro") + tol * s[0]
    # the factors are an SVD: the exact singular values match LAPACK's
    sv = scipy.linalg.svdvals(dense.astype(np.float64))
    assert np.max(np.abs(sv - s)) <= eps * np.sqrt(max(m, n)) * ORTHO_SLACK


@settings(max_examples=30)
@given(matrices_with_spectrum(((2, 15), (2, 15)), spectrum="exact_rank", rank=(1, 15)))
def test_exact_rank_has_requested_rank(matrix):
    A, _, s, _ = matrix
    rank = np.count_nonzero(s)
    assert rank <= min(A.shape)
    assert np.all(s[:rank] >= 0.01)
    assert np.linalg.matrix_rank(A) == rank


@pytest.mark.parametrize(
    ("spectrum", "formula"),
    [
        ("fast_decay", lambda j, k: 10.0 ** (-j / k)),
        ("slow_decay", lambda j, k: 1.0 / (1.0 + j / k)),
    ],
)
def test_decay_spectra_follow_their_formula(spectrum, formula):
    _, _, s, _ = one_example(matrices_with_spectrum((12, 9), spectrum=spectrum, rank=3))
    np.testing.assert_allclose(s, formula(np.arange(9.0), 3), rtol=1e-15)


def test_callable_spectrum_and_its_validation():
    _, _, s, _ = one_example(
        matrices_with_spectrum((6, 4), spectrum=lambda r: np.arange(r, 0, -1.0))
    )
    np.testing.assert_array_equal(s, [4.0, 3.0, 2.0, 1.0])
    with pytest.raises(ValueError, match="non-increasing"):
        one_example(matrices_with_spectrum((6, 4), spectrum=lambda r: np.arange(r, dtype=float)))


def test_sparse_matrices_are_sparse():
    A, _, _, _ = one_example(
        matrices_with_spectrum((30, 20), spectrum="exact_rank", rank=4, sparse=True)
    )
    assert sp.issparse(A) and A.format == "csr"
    # rank-one blocks on disjoint row and column groups: nnz = Σ_{j<rank} |G_j|·|H_j| < m·n
    assert A.nnz < 30 * 20
    assert np.linalg.matrix_rank(A.toarray()) == 4


def test_matrix_argument_validation():
    with pytest.raises(ValueError, match="spectrum='cubic'"):
        matrices_with_spectrum((3, 3), spectrum="cubic")
    with pytest.raises(ValueError, match=r"shape\[0\]=0"):
        matrices_with_spectrum((0, 3))
    with pytest.raises(TypeError, match="shape="):
        matrices_with_spectrum(3)
    with pytest.raises(TypeError, match="dtype=int64 is not supported"):
        matrices_with_spectrum((3, 3), dtype=np.int64)


# ---------------------------------------------------------------------------------------------
# spd_matrices, spd_systems


@settings(max_examples=40)
@given(
    st.integers(2, 15),
    st.floats(1.0, 1e6),
    st.sampled_from([np.float32, np.float64]),
    st.data(),
)
def test_spd_condition_number_as_requested(n, kappa, dtype, data):
    A, eigenvalues, V = data.draw(
        spd_matrices(n=n, condition_number=kappa, dtype=dtype, return_eigh=True)
    )
    assert A.shape == (n, n) and A.dtype == dtype
    np.testing.assert_array_equal(A, A.T)
    # exact construction: λ_max = 1, λ_min = 1/κ
    assert eigenvalues[-1] == 1.0
    assert eigenvalues[0] == pytest.approx(1.0 / kappa, rel=1e-14)
    assert np.all(np.diff(eigenvalues) >= 0)
    np.testing.assert_allclose(V.T @ V, np.eye(n), atol=ORTHO_SLACK * np.sqrt(n) * EPS64)
    # the stored (rounded) matrix: eigenvalues within c·√n·eps(dtype)·‖A‖ (Weyl)
    eps = np.finfo(dtype).eps
    computed = scipy.linalg.eigvalsh(A.astype(np.float64))
    assert np.max(np.abs(computed - eigenvalues)) <= ORTHO_SLACK * np.sqrt(n) * eps


@settings(max_examples=20)
@given(spd_matrices(n=(1, 20), spectrum=lambda n: np.exp(-np.arange(n) / 4.0), return_eigh=True))
def test_spd_matrices_with_prescribed_spectrum(case):
    A, eigenvalues, _ = case
    n = A.shape[0]
    np.testing.assert_array_equal(eigenvalues, np.sort(np.exp(-np.arange(n) / 4.0)))
    np.testing.assert_allclose(
        scipy.linalg.eigvalsh(A), eigenvalues, atol=ORTHO_SLACK * np.sqrt(n) * EPS64
    )


def test_spd_spectrum_validation():
    with pytest.raises(ValueError, match="exclusive"):
        spd_matrices(condition_number=10.0, spectrum=lambda n: np.ones(n))
    with pytest.raises(ValueError, match="negative"):
        one_example(spd_matrices(n=3, spectrum=lambda n: -np.ones(n)))
    # zeros are allowed: positive semi-definite
    A = one_example(spd_matrices(n=4, spectrum=lambda n: np.r_[1.0, 0.5, 0.0, 0.0]))
    assert np.linalg.matrix_rank(A) == 2


def test_spd_one_by_one_is_identity():
    A = one_example(spd_matrices(n=1, condition_number=10.0))
    assert A.shape == (1, 1) and A[0, 0] == pytest.approx(1.0)


@settings(max_examples=30)
@given(
    spd_systems(
        n=(1, 12),
        condition_number=(1.0, 1e3),
        dtype=st.sampled_from([np.float32, np.float64]),
        n_rhs=st.none() | st.integers(1, 4),
    )
)
def test_spd_systems_have_the_true_solution(system):
    A, b, x_true = system
    n = A.shape[0]
    assert b.dtype == A.dtype and x_true.dtype == np.float64
    assert b.shape == x_true.shape and b.shape[0] == n
    # b = A x_true in float64, rounded once to dtype
    eps = np.finfo(A.dtype).eps
    residual = np.linalg.norm(b.astype(np.float64) - A.astype(np.float64) @ x_true)
    assert residual <= 0.5 * eps * np.linalg.norm(b.astype(np.float64)) * (1 + 1e-6)


def test_spd_argument_validation():
    with pytest.raises(ValueError, match=r"condition_number=0\.5"):
        spd_matrices(condition_number=0.5)
    with pytest.raises(ValueError, match=r"n=\(3, 1\)"):
        spd_matrices(n=(3, 1))
    with pytest.raises(ValueError, match="n_rhs=0"):
        spd_systems(n_rhs=0)


# ---------------------------------------------------------------------------------------------
# hypergraphs


@settings(max_examples=60)
@given(
    st.integers(1, 12),
    st.integers(1, 6),
    st.integers(1, 8),
    st.integers(0, 4),
    st.integers(1, 6),
    st.booleans(),
    st.data(),
)
def test_hypergraph_invariants(n_hi, n_lo_drop, m_hi, s_lo_drop, s_hi, allow_isolated, data):
    n_lo = max(1, n_hi - n_lo_drop)
    s_hi = min(s_hi, n_hi)
    s_lo = max(1, s_hi - s_lo_drop)
    if not allow_isolated and max(n_lo, s_lo) > m_hi * s_hi:
        with pytest.raises(ValueError, match="cannot cover"):
            hypergraphs((n_lo, n_hi), (1, m_hi), (s_lo, s_hi), allow_isolated=False)
        return
    hg = data.draw(
        hypergraphs(
            n_vertices=(n_lo, n_hi),
            n_edges=(1, m_hi),
            edge_size=(s_lo, s_hi),
            dtype=data.draw(st.sampled_from([np.float32, np.float64])),
            allow_isolated=allow_isolated,
        )
    )
    H = hg.incidence.toarray()
    assert n_lo <= hg.n_vertices <= n_hi
    assert 1 <= hg.n_edges <= m_hi
    assert set(np.unique(H)) <= {0.0, 1.0}  # binary incidence
    sizes = H.sum(axis=0)
    assert np.all(sizes >= s_lo) and np.all(sizes <= s_hi)
    assert np.all(hg.weights > 0) and np.all(np.isfinite(hg.weights))
    np.testing.assert_allclose(hg.vertex_degrees, H @ hg.weights, rtol=1e-6)
    if not allow_isolated:
        assert np.all(H.sum(axis=1) >= 1)


@settings(max_examples=30)
@given(hypergraphs(n_vertices=(1, 8), edge_size=(1, 3), probabilistic=True))
def test_probabilistic_hypergraphs(hg):
    H = hg.incidence.toarray()
    members = H[H > 0]
    assert np.all((members >= 0.05) & (members <= 1.0))
    assert np.all((H > 0).sum(axis=0) >= 1) and np.all((H > 0).sum(axis=0) <= 3)
    # Zhou's properties hold for graded memberships too (d = H w, δ = column sums of H)
    assert_normalized_laplacian(hg)


def test_probabilistic_hypergraphs_shrink_to_binary():
    hg = find(hypergraphs(probabilistic=True), lambda h: h.n_edges >= 1)
    np.testing.assert_array_equal(hg.incidence.toarray(), [[1.0]])


@settings(max_examples=30)
@given(
    st.sampled_from(["spread", "zeros"]).flatmap(
        lambda kind: st.tuples(
            st.just(kind),
            hypergraphs(
                n_vertices=(1, 8),
                n_edges=(0, 5),
                weights="spread" if kind == "spread" else st.sampled_from([0.0, 1.0]),
            ),
        )
    )
)
def test_hypergraph_edge_cases_zero_edges_zero_and_spread_weights(case):
    kind, hg = case
    assert 0 <= hg.n_edges <= 5
    w = np.asarray(hg.weights, dtype=np.float64)
    if kind == "spread":
        assert np.all((w >= 1e-3 * (1 - 1e-12)) & (w <= 1e3 * (1 + 1e-12)))
    else:
        assert set(w.tolist()) <= {0.0, 1.0}
    # isolated vertices (no hyperedge or zero weight) keep Zhou's properties
    assert_normalized_laplacian(hg)


@settings(max_examples=20)
@given(hypergraphs(weights="unit", dtype=np.float32))
def test_hypergraph_unit_weights_and_dtype(hg):
    assert hg.dtype == np.float32
    np.testing.assert_array_equal(hg.weights, np.ones(hg.n_edges))


@settings(max_examples=20)
@given(hypergraphs(n_edges=3, weights=st.sampled_from([0.5, 2.0])))
def test_hypergraph_weights_from_strategy(hg):
    assert hg.n_edges == 3
    assert set(np.asarray(hg.weights).tolist()) <= {0.5, 2.0}


def test_hypergraph_argument_validation():
    with pytest.raises(ValueError, match="inconsistent"):
        hypergraphs(n_vertices=(1, 2), edge_size=(3, 4))
    with pytest.raises(ValueError, match="weights='heavy'"):
        hypergraphs(weights="heavy")
    with pytest.raises(TypeError, match="allow_isolated"):
        hypergraphs(allow_isolated="no")
    with pytest.raises(ValueError, match="n_edges=-1"):
        hypergraphs(n_edges=-1)
    with pytest.raises(ValueError, match="weights strategy drew"):
        one_example(hypergraphs(weights=st.just(-1.0)))


# ---------------------------------------------------------------------------------------------
# shrinking and reproducibility


def test_hypergraphs_shrink_to_small_simple_cases():
    hg = find(hypergraphs(), lambda h: h.n_edges >= 2)
    # two single-vertex hyperedges on vertex 0, one vertex, unit weights
    assert hg.n_vertices == 1 and hg.n_edges == 2
    np.testing.assert_array_equal(hg.incidence.toarray(), [[1.0, 1.0]])
    np.testing.assert_array_equal(hg.weights, [1.0, 1.0])
    covered = find(
        hypergraphs(allow_isolated=False), lambda h: h.n_vertices >= 3 and h.n_edges >= 2
    )
    assert covered.n_vertices == 3 and covered.n_edges == 2
    assert covered.incidence.nnz == 3  # each vertex exactly once: the minimal cover


def test_matrices_shrink_to_smallest_shape_and_rank():
    A, _, s, _ = find(matrices_with_spectrum(), lambda args: args[0].shape[0] >= 3)
    assert A.shape == (3, 2)
    assert np.count_nonzero(s) == 1  # rank shrinks to 1


def test_strategies_are_reproducible_under_a_fixed_hypothesis_seed():
    strategy = st.tuples(
        hypergraphs(),
        matrices_with_spectrum(spectrum="fast_decay"),
        spd_systems(n_rhs=2),
    )

    first, second = examples(strategy, 15), examples(strategy, 15)
    assert len(first) == len(second) > 0
    for (hg1, mat1, sys1), (hg2, mat2, sys2) in zip(first, second, strict=True):
        assert hg1 == hg2
        for a, b in zip(mat1 + sys1, mat2 + sys2, strict=True):
            np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------------------------------
# import without hypothesis


def test_import_without_hypothesis_gives_clear_error_but_assertions_work():
    code = textwrap.dedent(
        """
        import sys

        class Block:
            def find_spec(self, name, path=None, target=None):
                if name == "hypothesis" or name.startswith("hypothesis."):
                    raise ImportError("hypothesis is blocked for this test")

        sys.meta_path.insert(0, Block())
        import hyperlearn.testing as t
        assert callable(t.assert_symmetric_psd)
        try:
            import hyperlearn.testing.strategies
        except ImportError as exc:
            print(exc)
        else:
            raise SystemExit("strategies imported without hypothesis")
        """
    )
    root = Path(__file__).resolve().parents[3]
    env = {**os.environ, "PYTHONPATH": str(root)}
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=root,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "pip install hypothesis" in result.stdout
    assert "hyperlearn[dev]" in result.stdout

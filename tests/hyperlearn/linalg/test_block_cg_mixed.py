"""Tests of ``block_cg(..., precision="mixed")``: float32 lockstep CG with float64 reliable
updates, the same true-residual guarantee and ``info`` contract as working precision."""

import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st
from scipy.sparse.linalg import LinearOperator, aslinearoperator
from threadpoolctl import threadpool_limits

from hyperlearn.linalg import block_cg, jacobi_preconditioner
from hyperlearn.linalg._cg_mixed import MIXED_RELIABLE_UPDATE, MIXED_UPDATE_PERIOD
from hyperlearn.linalg._cg_system import STAGNATION_LIMIT
from hyperlearn.testing import strategies

from ._cg_systems import (
    _make,
    _rhs,
    assert_converged,
    diagonal,
    hypergraph_system,
    poisson1d,
    poisson2d,
    random_incidence,
    spd_random,
)

RTOL64 = 1e-8  # well above float64's attainable eps*κ on these systems (κ <= ~700)


@pytest.fixture(autouse=True)
def _one_blas_thread():
    with threadpool_limits(1):
        yield


class CastableCountingOperator(LinearOperator):
    """A matrix as an operator with ``astype``; every dtype's copy shares one product count
    per dtype (``counts[dtype.char]``, a matmat of s columns counts s)."""

    def __init__(self, matrix, counts=None):
        self.matrix = matrix
        self.counts = {} if counts is None else counts
        super().__init__(dtype=matrix.dtype, shape=matrix.shape)

    def _count(self, k):
        self.counts[self.dtype.char] = self.counts.get(self.dtype.char, 0) + k

    def _matvec(self, x):
        self._count(1)
        return self.matrix @ np.asarray(x).reshape(-1)

    def _matmat(self, X):
        self._count(X.shape[1])
        return self.matrix @ X

    def _adjoint(self):
        return self

    def astype(self, dtype):
        return CastableCountingOperator(self.matrix.astype(dtype), self.counts)


def _max_updates_per_column(rtol, iterations, n):
    """Reliable updates one column can need: one per fall by MIXED_RELIABLE_UPDATE from ‖r_0‖
    to rtol‖b‖, one forced every min(MIXED_UPDATE_PERIOD, n) iterations, the one at apparent
    convergence, and up to STAGNATION_LIMIT replacements after it (the stagnation guard)
    before the column would go to working precision."""
    falls = math.ceil(math.log(rtol) / math.log(MIXED_RELIABLE_UPDATE))
    forced = iterations // min(MIXED_UPDATE_PERIOD, n)
    return falls + forced + 1 + STAGNATION_LIMIT


TABLE = [
    spd_random(30, np.float64),
    poisson1d(40, np.float64),
    poisson2d(10, np.float64),
    diagonal(60, np.float64),
] + [hypergraph_system(120, alpha, np.float64) for alpha in (0.5, 0.9, 0.99)]


@pytest.mark.parametrize("system", TABLE, ids=[s.name for s in TABLE])
@pytest.mark.parametrize("method", ["auto", "batched"])
def test_true_residual_guarantee_in_low_precision(system, method):
    B = _rhs(system.n, 5, seed=1)
    op = CastableCountingOperator(system.A)
    for M in (None, jacobi_preconditioner(system.A)):
        op.counts.clear()
        history = []
        X, info = block_cg(
            op, B, rtol=RTOL64, M=M, precision="mixed", method=method, residuals=history
        )
        assert info == 0 and X.dtype == np.float64
        assert_converged(system, B, X, RTOL64)
        # the iterations ran in float32; float64 products only at the reliable updates
        iterations = len(history) - 1
        assert op.counts["f"] >= iterations
        updates = _max_updates_per_column(RTOL64, iterations, system.n)
        assert op.counts["d"] <= B.shape[1] * updates


@pytest.mark.parametrize("alpha", [0.5, 0.9, 0.99])
def test_hypergraph_operator_system(alpha):
    from hyperlearn.hypergraph import Hypergraph
    from hyperlearn.linalg._shifted import ShiftedOperator

    hg = Hypergraph.from_incidence(random_incidence(150, 75, seed=3))
    op = ShiftedOperator(hg.normalized_adjacency(), alpha)
    explicit = np.eye(150) - alpha * hg.normalized_adjacency(explicit=True).toarray()
    system = _make(f"hypergraph_operator_alpha{alpha}", explicit, np.float64)
    B = _rhs(150, 5, seed=13)
    for M in (None, jacobi_preconditioner(op)):
        X, info = block_cg(op, B, rtol=RTOL64, M=M, precision="mixed")
        assert info == 0 and X.dtype == np.float64
        assert_converged(system, B, X, RTOL64)


@pytest.mark.parametrize("system", TABLE[2:], ids=[s.name for s in TABLE[2:]])
def test_equals_working_precision_to_tolerance(system):
    B = _rhs(system.n, 4, seed=2)
    X_mixed, info_mixed = block_cg(system.A, B, rtol=RTOL64, precision="mixed")
    X_work, info_work = block_cg(system.A, B, rtol=RTOL64)
    assert info_mixed == info_work == 0
    # ‖x − x*‖ / ‖x*‖ <= κ · ‖b − A x‖ / ‖b‖ <= κ · rtol for each, so they differ by twice that
    # (plus the slack of the residual rounding, far below it here)
    BOTH_WITHIN_KAPPA_RTOL = 2
    scale = np.linalg.norm(system.solve(B), axis=0)
    bound = BOTH_WITHIN_KAPPA_RTOL * system.kappa * RTOL64
    assert np.all(np.linalg.norm(X_mixed - X_work, axis=0) / scale <= bound)


def _ill_conditioned(n, kappa, seed):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    A = (Q * np.logspace(0.0, -math.log10(kappa), n)) @ Q.T
    return (A + A.T) / 2


@pytest.mark.parametrize("maxiter", [None, 3000])
def test_fallback_to_working_precision_when_float32_cannot_resolve(maxiter):
    # κ = 1e9: κ·eps32 ≈ 60, float32 CG cannot resolve the corrections; the tolerance 1e-10 is
    # reachable in float64 (for b = A x* with ‖x*‖ = O(1) the attainable residual is about
    # eps64·‖A‖‖x‖), which float64 lockstep CG reaches in about 110 iterations here.
    n, kappa, rtol = 20, 1e9, 1e-10
    A = _ill_conditioned(n, kappa, seed=4)
    B = A @ _rhs(n, 3, seed=5)
    op = CastableCountingOperator(A)
    history = []
    X, info = block_cg(op, B, rtol=rtol, precision="mixed", residuals=history, maxiter=maxiter)
    residual = np.linalg.norm(B - A @ X, axis=0)
    tol = rtol * np.linalg.norm(B, axis=0)
    if info == 0:
        assert np.all(residual <= tol * (1 + 1e-6))
    else:  # honest failure: some column really misses its tolerance
        assert info == len(history) - 1 and np.any(residual > tol)
    # working precision did the finishing: far more float64 products than reliable updates
    updates = _max_updates_per_column(rtol, len(history) - 1, n)
    if maxiter is not None:
        assert info == 0  # with the budget for it, working precision finishes the job
        assert op.counts["d"] > B.shape[1] * updates


def test_unreachable_tolerance_reports_info_positive():
    system = poisson1d(60, np.float64)
    B = _rhs(60, 2, seed=6)
    X, info = block_cg(system.A, B, rtol=0.0, atol=1e-300, precision="mixed")
    assert info > 0
    assert np.all(np.isfinite(X))


def test_history_and_callback_per_iteration():
    system = poisson2d(8, np.float64)
    B = _rhs(system.n, 3, seed=9)
    X0 = np.full_like(B, 0.25)
    X0_copy = X0.copy()
    history, iterates = [], []
    X, info = block_cg(
        system.A,
        B,
        X0,
        rtol=RTOL64,
        precision="mixed",
        residuals=history,
        callback=lambda Xk: iterates.append(Xk.copy()),
    )
    assert info == 0
    np.testing.assert_array_equal(X0, X0_copy)
    assert len(history) == len(iterates) + 1
    np.testing.assert_allclose(history[0], np.linalg.norm(B - system.dense @ X0, axis=0))
    assert np.all(history[-1] <= RTOL64 * np.linalg.norm(B, axis=0))
    assert all(it.dtype == np.float64 and it.shape == B.shape for it in iterates)
    np.testing.assert_array_equal(iterates[-1], X)


def test_maxiter_counts_low_precision_iterations():
    system = poisson2d(10, np.float64)
    B = _rhs(system.n, 2, seed=10)
    history = []
    _X, info = block_cg(system.A, B, rtol=1e-12, maxiter=3, residuals=history, precision="mixed")
    assert info == 3 and len(history) == 4


def test_float32_input_is_a_documented_no_op():
    system = poisson2d(8, np.float32)
    B = _rhs(system.n, 3, seed=11, dtype=np.float32)
    X_mixed, info_mixed = block_cg(system.A, B, rtol=1e-4, precision="mixed")
    X_work, info_work = block_cg(system.A, B, rtol=1e-4)
    assert X_mixed.dtype == np.float32 and info_mixed == info_work
    np.testing.assert_array_equal(X_mixed, X_work)


def test_zero_and_converged_columns():
    system = poisson1d(30, np.float64)
    B = _rhs(30, 3, seed=12)
    B[:, 1] = 0.0
    X, info = block_cg(system.A, B, rtol=RTOL64, precision="mixed")
    assert info == 0
    np.testing.assert_array_equal(X[:, 1], 0.0)
    assert_converged(system, B, X, RTOL64)
    x, info = block_cg(system.A, B[:, 0], rtol=RTOL64, precision="mixed")  # 1-D B -> 1-D X
    assert info == 0 and x.shape == (30,)


def test_generic_preconditioner_is_applied_through_casts():
    system = poisson2d(10, np.float64)
    B = _rhs(system.n, 3, seed=14)
    d = system.dense.diagonal()
    M = LinearOperator(system.A.shape, matvec=lambda x: x / d, matmat=lambda X: X / d[:, None])
    X, info = block_cg(system.A, B, rtol=RTOL64, M=M, precision="mixed")
    assert info == 0
    assert_converged(system, B, X, RTOL64)


def test_complex_hermitian_system():
    rng = np.random.default_rng(15)
    G = rng.standard_normal((25, 25)) + 1j * rng.standard_normal((25, 25))
    A = G @ G.conj().T / 25 + np.eye(25)
    B = rng.standard_normal((25, 2)) + 1j * rng.standard_normal((25, 2))
    X, info = block_cg(A, B, rtol=RTOL64, precision="mixed")
    assert info == 0 and X.dtype == np.complex128
    assert np.all(np.linalg.norm(B - A @ X, axis=0) <= RTOL64 * np.linalg.norm(B, axis=0))


@pytest.mark.parametrize("precision", ["Mixed", "double", "", None, 64])
def test_invalid_precision_is_rejected(precision):
    A = poisson1d(10, np.float64).A
    with pytest.raises(ValueError, match="precision"):
        block_cg(A, np.ones((10, 2)), precision=precision)


def test_operator_without_astype_is_rejected_clearly():
    A = aslinearoperator(poisson1d(10, np.float64).A)
    with pytest.raises(ValueError, match=r"precision='mixed'.*astype"):
        block_cg(A, np.ones((10, 2)), precision="mixed")
    _X, info = block_cg(A, np.ones((10, 2)), precision="working")  # fine in working precision
    assert info == 0


def test_block_method_is_rejected_with_mixed_precision():
    A = poisson1d(10, np.float64).A
    with pytest.raises(ValueError, match=r"precision='mixed'.*method='block'"):
        block_cg(A, np.ones((10, 2)), precision="mixed", method="block")


@given(
    A=strategies.spd_matrices(n=(2, 14), condition_number=(1.0, 1e3)),
    s=st.integers(1, 5),
    seed=st.integers(0, 2**31 - 1),
    sparse=st.booleans(),
)
def test_property_mixed_meets_the_true_residual(A, s, seed, sparse):
    system = _make("spd_matrices", A, np.float64)
    B = np.random.default_rng(seed).standard_normal((system.n, s))
    matrix = sp.csr_matrix(system.A) if sparse else system.A
    X, info = block_cg(matrix, B, rtol=RTOL64, precision="mixed")
    assert info == 0
    assert_converged(system, B, X, RTOL64)

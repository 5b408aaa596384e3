"""Tests of hyperlearn.linalg.block_cg beyond the shared table of ``test_cg.py``."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st
from threadpoolctl import threadpool_limits

from hyperlearn.linalg import block_cg, cg, jacobi_preconditioner
from hyperlearn.testing import strategies

from ._cg_systems import (
    RTOL,
    CountingOperator,
    _make,
    _rhs,
    assert_converged,
    diagonal,
    hypergraph_system,
    poisson2d,
)


@pytest.fixture(autouse=True)
def _one_blas_thread():
    with threadpool_limits(1):
        yield


def _columnwise_cg(A, B, **kw):
    counting = CountingOperator(A)
    X = np.empty_like(B)
    iterations = []
    for j in range(B.shape[1]):
        history = []
        X[:, j], info = cg(counting, B[:, j], residuals=history, **kw)
        assert info == 0
        iterations.append(len(history) - 1)
    return X, counting.products, max(iterations)


METHODS = ("block", "batched")
SYSTEMS = [poisson2d(12, np.float64), hypergraph_system(200, 0.99, np.float64)]


@pytest.mark.parametrize("system", SYSTEMS, ids=[s.name for s in SYSTEMS])
@pytest.mark.parametrize("method", METHODS)
def test_equals_columnwise_cg_to_tolerance(system, method):
    rtol = 1e-8
    B = _rhs(system.n, 6)
    X_block, info = block_cg(system.A, B, rtol=rtol, method=method)
    assert info == 0
    X_cg, _, _ = _columnwise_cg(system.A, B, rtol=rtol)
    X_exact = system.solve(B)
    # each is within κ·rtol (relative) of the exact solution, so of each other within twice that
    scale = np.linalg.norm(X_exact, axis=0)
    bound = 2 * system.kappa * rtol
    assert np.all(np.linalg.norm(X_block - X_cg, axis=0) / scale <= bound)


@pytest.mark.parametrize("system", SYSTEMS, ids=[s.name for s in SYSTEMS])
def test_block_method_beats_separate_cg_in_products_per_column_and_iterations(system):
    s = 16
    B = _rhs(system.n, s, seed=2)
    counting = CountingOperator(system.A)
    history = []
    _X, info = block_cg(counting, B, rtol=1e-8, residuals=history, method="block")
    assert info == 0
    _, cg_products, cg_iterations = _columnwise_cg(system.A, B, rtol=1e-8)
    assert counting.products < cg_products
    assert len(history) - 1 < cg_iterations


def test_block_method_duplicate_and_dependent_columns_cost_no_extra_products():
    system = poisson2d(10, np.float64)
    b1, b2 = _rhs(system.n, 2, seed=4).T
    independent = np.stack([b1, b2], axis=1)
    dependent = np.stack([b1, b2, b1, 2 * b1 - b2, np.zeros_like(b1), 3 * b2], axis=1)
    counting = CountingOperator(system.A)
    _X_ind, info = block_cg(counting, independent, rtol=1e-9, method="block")
    assert info == 0
    products_independent, counting.products = counting.products, 0
    X_dep, info = block_cg(counting, dependent, rtol=1e-9, method="block")
    assert info == 0
    assert_converged(system, dependent, X_dep, 1e-9)
    np.testing.assert_array_equal(X_dep[:, 4], 0.0)
    # the search block never grows beyond the rank (2); the 3 extra nonzero columns may each
    # cost a true-residual check and at most STAGNATION_LIMIT replacements' worth of checks
    EXTRA_CHECKS_PER_COLUMN = 4
    assert counting.products <= products_independent + EXTRA_CHECKS_PER_COLUMN * 3
    np.testing.assert_allclose(X_dep[:, 2], X_dep[:, 0], rtol=1e-7)


@pytest.mark.parametrize("method", METHODS)
def test_converged_columns_stop_costing_products(method):
    system = diagonal(80, np.float64, kappa=100.0)
    e0 = np.zeros(80)
    e0[5] = 1.0  # an eigenvector: its column is solved exactly in the first iteration
    B = np.stack([e0, _rhs(80, 1, seed=5)[:, 0], 1e-12 * _rhs(80, 1, seed=6)[:, 0]], axis=1)
    counting = CountingOperator(system.A)
    history = []
    _X, info = block_cg(counting, B, rtol=1e-8, atol=1e-9, residuals=history, method=method)
    assert info == 0
    # column 2 meets atol at start (never costs a product); column 0 leaves after iteration 1
    iterations = len(history) - 1
    TRUE_RESIDUAL_CHECKS = 2 + 2  # one per leaving column, plus a possible replacement each
    assert counting.products <= 2 + (iterations - 1) + TRUE_RESIDUAL_CHECKS
    assert history[0][2] <= 1e-9 and np.isfinite(history[-1]).all()


@pytest.mark.parametrize("method", METHODS)
def test_columns_of_very_different_scales_are_not_treated_as_dependent(method):
    system = poisson2d(8, np.float64)
    B = _rhs(system.n, 3, seed=7) * np.array([1.0, 1e-7, 1e7])
    X, info = block_cg(system.A, B, rtol=1e-9, method=method)
    assert info == 0
    assert_converged(system, B, X, 1e-9)


@pytest.mark.parametrize("block_size", [1, 2, 5])
@pytest.mark.parametrize("method", METHODS)
def test_chunks_of_block_size(block_size, method):
    system = hypergraph_system(150, 0.9, np.float64)
    B = _rhs(system.n, 5, seed=8)
    counting = CountingOperator(system.A)
    X, info = block_cg(counting, B, rtol=1e-8, block_size=block_size, method=method)
    assert info == 0
    assert_converged(system, B, X, 1e-8)
    _, cg_products, _ = _columnwise_cg(system.A, B, rtol=1e-8)
    assert counting.products <= cg_products
    with pytest.raises(ValueError, match="block_size"):
        block_cg(system.A, B, block_size=0)


@pytest.mark.parametrize("method", METHODS)
def test_history_callback_and_shapes(method):
    system = poisson2d(6, np.float64)
    B = _rhs(system.n, 3, seed=9)
    X0 = np.full_like(B, 0.25)
    history, iterates = [], []
    X, info = block_cg(
        system.A,
        B,
        X0,
        method=method,
        rtol=1e-10,
        residuals=history,
        callback=lambda Xk: iterates.append(Xk.copy()),
    )
    assert info == 0 and X.shape == B.shape
    assert len(history) == len(iterates) + 1
    assert all(h.shape == (3,) for h in history)
    np.testing.assert_allclose(history[0], np.linalg.norm(B - system.dense @ X0, axis=0))
    assert np.all(history[-1] <= 1e-10 * np.linalg.norm(B, axis=0))
    assert all(it.shape == B.shape for it in iterates)
    x, info = block_cg(system.A, B[:, 0], rtol=1e-10, method=method)  # 1-D B -> 1-D X
    assert info == 0 and x.shape == (system.n,)
    X, info = block_cg(system.A, B, "Mb", M=sp.identity(system.n), rtol=1e-10, method=method)
    assert info == 0


@pytest.mark.parametrize("method", METHODS)
def test_maxiter_reports_iterations(method):
    system = poisson2d(10, np.float64)
    B = _rhs(system.n, 2, seed=10)
    history = []
    _X, info = block_cg(system.A, B, rtol=1e-12, maxiter=3, residuals=history, method=method)
    assert info == 3 and len(history) == 4


@pytest.mark.parametrize("method", METHODS)
def test_float32_unattainable_tolerance_is_not_reported_as_success(method):
    A = sp.diags([-1.0, 2.0001, -1.0], [-1, 0, 1], shape=(1500, 1500)).tocsr().astype(np.float32)
    B = _rhs(1500, 2, seed=11, dtype=np.float32)
    X, info = block_cg(A, B, rtol=1e-7, method=method)
    assert X.dtype == np.float32
    residual = np.linalg.norm(B - A.astype(np.float64) @ X.astype(np.float64), axis=0)
    if info == 0:
        assert np.all(residual <= 1e-7 * np.linalg.norm(B, axis=0) * 1.01)
    else:
        assert info > 0 and np.any(residual > 1e-7 * np.linalg.norm(B, axis=0))


@pytest.mark.parametrize("method", METHODS)
def test_float32_hypergraph_system(method):
    system = hypergraph_system(200, 0.99, np.float32)
    B = _rhs(system.n, 8, seed=12, dtype=np.float32)
    rtol = RTOL[system.dtype]
    X, info = block_cg(system.A, B, rtol=rtol, method=method)
    assert info == 0 and X.dtype == np.float32
    assert_converged(system, B, X, rtol)


@given(
    A=strategies.spd_matrices(n=(2, 14), condition_number=(1.0, 1e3)),
    rank=st.integers(1, 3),
    s=st.integers(1, 6),
    seed=st.integers(0, 2**31 - 1),
    method=st.sampled_from(METHODS),
)
def test_property_low_rank_right_hand_sides(A, rank, s, seed, method):
    system = _make("spd_matrices", A, np.float64)
    n = system.n
    rng = np.random.default_rng(seed)
    B = rng.standard_normal((n, min(rank, n))) @ rng.standard_normal((min(rank, n), s))
    X, info = block_cg(system.A, B, rtol=1e-8, method=method)
    assert info == 0
    assert_converged(system, B, X, 1e-8)


# ------------------------------------------------------------------------------------------
# With the project's matrix-free hypergraph operator and the tessellation preconditioner
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("alpha", [0.5, 0.9, 0.99])
@pytest.mark.parametrize("method", METHODS)
def test_hypergraph_operator_system(alpha, dtype, method):
    from hyperlearn.hypergraph import Hypergraph
    from hyperlearn.linalg._shifted import ShiftedOperator

    from ._cg_systems import random_incidence

    H = random_incidence(150, 75, seed=3)
    hg = Hypergraph.from_incidence(H, dtype=dtype)
    theta = hg.normalized_adjacency()
    op = ShiftedOperator(theta, alpha)
    # exact oracle: the explicit matrix of the same operator, in float64
    explicit = np.eye(150) - alpha * hg.normalized_adjacency(explicit=True).toarray()
    system = _make(f"hypergraph_operator_alpha{alpha}", explicit, dtype)
    B = _rhs(150, 5, seed=13, dtype=dtype)
    rtol = RTOL[np.dtype(dtype)]
    for M in (None, jacobi_preconditioner(op)):
        X, info = block_cg(op, B, rtol=rtol, M=M, method=method)
        assert info == 0 and X.dtype == dtype
        assert_converged(system, B, X, rtol)
        x, info = cg(op, B[:, 0], rtol=rtol, M=M)
        assert info == 0 and x.dtype == dtype
        assert_converged(system, B[:, :1], x[:, None], rtol)


@pytest.mark.parametrize("alpha", [0.5, 0.99])
@pytest.mark.parametrize("method", METHODS)
def test_exact_block_low_rank_preconditioner_converges_in_one_iteration(alpha, method):
    from hyperlearn.linalg import tessellate

    # Θ block-diagonal with exactly rank-3 blocks: tessellate(rank=3) recovers it, and
    # BlockLowRank.preconditioner(alpha) is then the exact inverse of I − αΘ.
    rng = np.random.default_rng(14)
    blocks = []
    for _ in range(3):
        U = np.linalg.qr(rng.standard_normal((20, 3)))[0]
        blocks.append(U @ np.diag(rng.uniform(0.2, 1.0, 3)) @ U.T)
    theta = sp.block_diag(blocks).toarray()
    A = np.eye(60) - alpha * theta
    M = tessellate(theta, 3, 3, ordering=None, random_state=0).preconditioner(alpha)
    counting = CountingOperator(A)
    B = _rhs(60, 4, seed=15)
    X, info = block_cg(counting, B, rtol=1e-10, M=M, method=method)
    assert info == 0
    assert counting.products / 4 <= 3  # one iteration and the true-residual check
    assert np.all(np.linalg.norm(B - A @ X, axis=0) <= 1e-10 * np.linalg.norm(B, axis=0))
    counting.products = 0
    _x, info = cg(counting, B[:, 0], rtol=1e-10, M=M)
    assert info == 0 and counting.products <= 3


@pytest.mark.parametrize("method", METHODS)
def test_sparse_right_hand_sides_are_accepted(method):
    system = poisson2d(6, np.float64)
    Y = sp.random(system.n, 4, density=0.2, random_state=16, format="csr")
    X, info = block_cg(system.A, Y, rtol=1e-10, method=method)
    assert info == 0 and isinstance(X, np.ndarray)
    np.testing.assert_allclose(X, system.solve(Y.toarray()), rtol=1e-7, atol=1e-12)


# ------------------------------------------------------------------------------------------
# method="batched" (lockstep CG) and method="auto"
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("system", SYSTEMS, ids=[s.name for s in SYSTEMS])
def test_batched_runs_the_cg_recurrence_of_each_column(system):
    """Same recurrence as cg per column: the same iterations, products and solutions."""
    rtol = 1e-8
    B = _rhs(system.n, 5, seed=17)
    counting = CountingOperator(system.A)
    history = []
    X, info = block_cg(counting, B, rtol=rtol, method="batched", residuals=history)
    assert info == 0
    X_cg, cg_products, cg_iterations = _columnwise_cg(system.A, B, rtol=rtol)
    # dot products are summed in another order: a column may stop one iteration apart
    ROUNDING_ITERATIONS = 1
    assert abs((len(history) - 1) - cg_iterations) <= ROUNDING_ITERATIONS
    assert abs(counting.products - cg_products) <= ROUNDING_ITERATIONS * B.shape[1]
    scale = np.linalg.norm(system.solve(B), axis=0)
    assert np.all(np.linalg.norm(X - X_cg, axis=0) / scale <= 2 * system.kappa * rtol)


def test_batched_duplicate_columns_get_identical_solutions():
    system = poisson2d(10, np.float64)
    b1, b2 = _rhs(system.n, 2, seed=18).T
    B = np.stack([b1, b2, b1, np.zeros_like(b1), -b2], axis=1)
    X, info = block_cg(system.A, B, rtol=1e-9, method="batched")
    assert info == 0
    assert_converged(system, B, X, 1e-9)
    # each column runs its own recurrence with the same arithmetic: bitwise equal
    np.testing.assert_array_equal(X[:, 2], X[:, 0])
    np.testing.assert_array_equal(X[:, 4], -X[:, 1])
    np.testing.assert_array_equal(X[:, 3], 0.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batched_results_do_not_depend_on_the_number_of_threads(monkeypatch, dtype):
    import numba

    import hyperlearn.utils._numba as numba_utils

    monkeypatch.setattr(numba_utils, "PARALLEL_MIN_WORK", 0)  # parallel kernels even here
    system = hypergraph_system(1500, 0.9, dtype)
    B = _rhs(system.n, 7, seed=19, dtype=dtype)
    results = []
    previous = numba.get_num_threads()
    try:
        for threads in sorted({1, min(2, numba.config.NUMBA_NUM_THREADS)}):
            numba.set_num_threads(threads)
            results.append(block_cg(system.A, B, rtol=1e-6, method="batched"))
    finally:
        numba.set_num_threads(previous)
    for X, info in results:
        assert info == 0 and X.dtype == dtype
        np.testing.assert_array_equal(X, results[0][0])


def test_auto_picks_block_only_where_the_block_krylov_space_fills_the_space():
    from hyperlearn.linalg._cg import BLOCK_AUTO_MAX_ROWS_PER_COLUMN as ROWS
    from hyperlearn.linalg._cg import LOCKSTEP_MIN_COLUMNS as MIN_COLUMNS
    from hyperlearn.linalg._cg import _choose_method

    assert _choose_method(ROWS * 16, 50, None) == "block"  # chunks of 16 columns
    assert _choose_method(ROWS * 16 + 1, 50, None) == "batched"
    assert _choose_method(ROWS * 4, 4, None) == "block"
    # block_size narrows the block; 4 columns are too few for lockstep CG
    assert _choose_method(ROWS * 4, 4, 2) == "columns"
    assert _choose_method(10, 1, None) == "columns"  # one column: nothing to share
    assert _choose_method(10**6, MIN_COLUMNS, None) == "batched"
    assert _choose_method(10**6, MIN_COLUMNS - 1, None) == "columns"
    assert _choose_method(10**6, 50, MIN_COLUMNS - 1) == "columns"  # user's narrow chunks
    # auto computes exactly what the method it picks computes ("columns" is the block method
    # with blocks of one column)
    for system in SYSTEMS:
        for s in (3, MIN_COLUMNS):
            B = _rhs(system.n, s, seed=20)
            picked = _choose_method(system.n, s, None)
            kw = {"method": "block", "block_size": 1} if picked == "columns" else {"method": picked}
            np.testing.assert_array_equal(
                block_cg(system.A, B, rtol=1e-8)[0], block_cg(system.A, B, rtol=1e-8, **kw)[0]
            )


def test_auto_on_few_columns_runs_cg_per_column():
    """Below LOCKSTEP_MIN_COLUMNS columns auto solves each column by cg's own loop: the same
    iterates as cg (bitwise), with block_cg's history and info contract."""
    from hyperlearn.linalg._cg import _choose_method

    system = poisson2d(20, np.float64)  # n = 400 > 100 x 3: not block CG
    B = _rhs(system.n, 3, seed=21)
    assert _choose_method(system.n, 3, None) == "columns"
    history = []
    X, info = block_cg(system.A, B, rtol=1e-9, residuals=history)
    assert info == 0
    for j in range(3):
        x, info_j = cg(system.A, B[:, j], rtol=1e-9)
        assert info_j == 0
        np.testing.assert_array_equal(X[:, j], x)
    assert np.all(history[-1] <= 1e-9 * np.linalg.norm(B, axis=0))


@pytest.mark.parametrize("method", ["Block", "", None, 3, ["batched"]])
def test_invalid_method_is_rejected(method):
    with pytest.raises(ValueError, match="method"):
        block_cg(np.eye(3), np.ones((3, 2)), method=method)


def _ill_conditioned(n, log_kappa, s, seed):
    rng = np.random.default_rng(seed)
    Q = np.linalg.qr(rng.standard_normal((n, n)))[0]
    A = (Q * np.logspace(0, -log_kappa, n)) @ Q.T
    return (A + A.T) / 2, rng.standard_normal((n, s))


@pytest.mark.parametrize("n,log_kappa", [(40, 6), (20, 8), (200, 6)])
def test_block_method_does_not_stagnate_on_ill_conditioned_systems(n, log_kappa):
    """Past exact-arithmetic termination (2 ceil(n / b) + BLOCK_CG_SLACK iterations) the block
    recurrence lives on rounding errors; its columns are finished by lockstep CG.  Before, the
    block method stagnated for all 20 000 iterations (n = 40, kappa = 1e6: relative residual
    2.3e-9 for rtol 1e-10) where lockstep CG converged in 244.  The block method must now need
    at most LOCKSTEP_FACTOR times the lockstep iterations and meet the same true residual."""
    from hyperlearn.linalg import _cg_block as cg_module

    LOCKSTEP_FACTOR = 1.5
    A, B = _ill_conditioned(n, log_kappa, 5, seed=n + log_kappa)
    rtol = 1e-10 if log_kappa <= 6 else 1e-7  # attainable: kappa * eps well below rtol
    runs = {}
    for method in ("block", "batched"):
        history = []
        X, info = block_cg(A, B, rtol=rtol, method=method, maxiter=20_000, residuals=history)
        true = np.linalg.norm(B - A @ X, axis=0) / np.linalg.norm(B, axis=0)
        assert info == 0, (method, info)
        assert np.all(true <= rtol), (method, true.max())
        runs[method] = len(history) - 1
    assert runs["block"] <= LOCKSTEP_FACTOR * runs["batched"] + 2 * cg_module.BLOCK_CG_SLACK


def test_block_method_keeps_its_early_convergence_on_small_systems():
    """The hand-over to lockstep CG starts only past 2 ceil(n / b) + BLOCK_CG_SLACK iterations:
    n = 20, kappa = 1e6, 5 columns converges in block CG's own 17 iterations (lockstep: 67)."""
    A, B = _ill_conditioned(20, 6, 5, seed=26)
    history = []
    X, info = block_cg(A, B, rtol=1e-10, method="block", residuals=history)
    assert info == 0
    assert np.all(np.linalg.norm(B - A @ X, axis=0) <= 1e-10 * np.linalg.norm(B, axis=0))
    assert len(history) - 1 <= 20

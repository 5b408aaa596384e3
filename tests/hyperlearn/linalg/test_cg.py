"""Tests of hyperlearn.linalg.cg (and the table of cases crossed with cg and block_cg).

Every numerical check compares with an exact oracle (dense float64 Cholesky / eigvalsh) using a
tolerance derived in ``_cg_systems`` (rounding bound of the residual, κ bound of CG).
"""

import os
import subprocess
import sys
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import scipy
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st
from scipy.sparse.linalg import LinearOperator, aslinearoperator
from scipy.sparse.linalg import cg as scipy_cg
from threadpoolctl import threadpool_limits

from hyperlearn.linalg import block_cg, cg, jacobi_preconditioner
from hyperlearn.linalg._cg_system import (
    INFO_A_NOT_POSITIVE_DEFINITE,
    INFO_M_NOT_POSITIVE_DEFINITE,
    INFO_NONFINITE,
    STAGNATION_LIMIT,
)
from hyperlearn.testing import assert_solution_accuracy, strategies

from ._cg_systems import (
    ITERATION_SLACK,
    RTOL,
    CountingOperator,
    assert_converged,
    chebyshev_iterations,
    poisson1d,
    poisson2d,
    spd_random,
    table,
)


@pytest.fixture(autouse=True)
def _one_blas_thread():
    # 2 shared cores: OpenBLAS with 2 threads was measured 25x slower on these tiny blocks.
    with threadpool_limits(1):
        yield


CASES = table()


def _cg_as_block(A, B, **kw):
    """cg applied column by column, with block_cg's calling convention (for the table)."""
    history = kw.pop("residuals", None)
    X = np.empty(B.shape, dtype=np.result_type(B.dtype, np.float32))
    infos, iterations = [], []
    for j in range(B.shape[1]):
        h = []
        X[:, j], info = cg(A, B[:, j], residuals=h, **kw)
        infos.append(info)
        iterations.append(len(h) - 1)
    if history is not None:
        history[:] = [np.zeros(B.shape[1])] * (max(iterations) + 1)
    return X, (0 if all(i == 0 for i in infos) else max(infos))


METHODS = ("block", "batched")
SOLVERS = {
    "cg": _cg_as_block,
    "block_cg[block]": partial(block_cg, method="block"),
    "block_cg[batched]": partial(block_cg, method="batched"),
}
BLOCK_SOLVERS = [cg] + [partial(block_cg, method=m) for m in ("block", "batched")]


def _rhs(system, s, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((system.n, s)).astype(system.dtype)


# ------------------------------------------------------------------------------------------
# The table: every case x {cg, block_cg (both methods)}
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("system", CASES, ids=[c.name for c in CASES])
def test_table_true_residual_and_oracle(system, solver):
    B = _rhs(system, 3)
    rtol = RTOL[system.dtype]
    X, info = SOLVERS[solver](system.A, B, rtol=rtol)
    assert info == 0
    assert X.dtype == system.dtype
    # true residual (rounding bound of _cg_systems) and ‖x − x*‖/‖x*‖ <= κ·relres vs Cholesky
    assert_converged(system, B, X, rtol)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("system", CASES, ids=[c.name for c in CASES])
def test_table_iterations_within_kappa_bound(system, solver):
    B = _rhs(system, 2, seed=1)
    rtol = RTOL[system.dtype]
    history = []
    _X, info = SOLVERS[solver](system.A, B, rtol=rtol, residuals=history)
    assert info == 0
    iterations = len(history) - 1
    assert iterations <= chebyshev_iterations(system.kappa, rtol) + ITERATION_SLACK


# ------------------------------------------------------------------------------------------
# Documented contracts of cg, one test each
# ------------------------------------------------------------------------------------------
def _shifted_laplacian_f32(n, shift):
    A = sp.diags([-1.0, 2.0 + shift, -1.0], [-1, 0, 1], shape=(n, n)).tocsr().astype(np.float32)
    b = np.random.default_rng(0).standard_normal(n).astype(np.float32)
    return A, b


def _true_relative_residual(A, x, b):
    # kept rather than assert_solution_accuracy: on these float32 systems (κ ≈ 4e3) its generic
    # rounding term c·√n·eps·(‖|A|‖₂‖x‖₂ + ‖b‖₂) is ≈ 2400·rtol·‖b‖, which would make the
    # false-success checks below vacuous
    A64 = A.astype(np.float64)
    return np.linalg.norm(b - A64 @ x.astype(np.float64)) / np.linalg.norm(b.astype(np.float64))


def test_true_residual_guarantee_float32_where_scipy_reports_false_success():
    # κ ≈ 4 / 1e-3: SciPy's recursive residual drifts 10x below the true one in float32.
    A, b = _shifted_laplacian_f32(3000, 1e-3)
    rtol = 1e-5
    x_scipy, info_scipy = scipy_cg(A, b, rtol=rtol)
    scipy_false_success = info_scipy == 0 and _true_relative_residual(A, x_scipy, b) > rtol
    x, info = cg(A, b, rtol=rtol)
    assert x.dtype == np.float32
    assert info == 0
    tol = rtol * np.linalg.norm(b.astype(np.float64))
    allowance = (
        2 * 3000 * np.finfo(np.float32).eps * np.linalg.norm(b)  # |fl(r) − r| bound, k = 3
        + 4 * np.finfo(np.float32).eps * np.linalg.norm(abs(A) @ abs(x))
    )
    assert _true_relative_residual(A, x, b) * np.linalg.norm(b) <= tol + allowance
    if not scipy_false_success:
        pytest.skip("this SciPy no longer reports false success here; ours passed anyway")


def test_unattainable_tolerance_gives_info_positive_not_false_success():
    # rtol below float32's attainable accuracy (eps32 * κ ≈ 2e-3): SciPy reports success with
    # a true residual 1e4 times the request; ours must report info > 0.
    A, b = _shifted_laplacian_f32(3000, 1e-4)
    rtol = 1e-7
    x, info = cg(A, b, rtol=rtol)
    assert info > 0
    assert _true_relative_residual(A, x, b) > rtol
    # the stagnation guard stops long before maxiter = 10 n
    assert info < 10 * 3000


def test_stagnation_guard_float64_unreachable_tolerance():
    system = spd_random(20, np.float64)
    b = _rhs(system, 1)[:, 0]
    history = []
    x, info = cg(system.A, b, rtol=1e-30, residuals=history)
    assert 0 < info < 10 * system.n
    assert len(history) - 1 == info
    # it gave up only after STAGNATION_LIMIT failed replacements, i.e. at rounding level:
    # the attainable residual of CG is about eps * ||A|| * ||x|| <= eps * κ * ||b||
    ATTAINABLE_SLACK = 100
    floor = ATTAINABLE_SLACK * np.finfo(float).eps * system.kappa * np.linalg.norm(b)
    assert np.linalg.norm(b - system.dense @ x) <= floor
    assert info >= STAGNATION_LIMIT


@pytest.mark.parametrize("shape", ["1d", "column"])
def test_x0_not_modified(shape):
    system = poisson2d(6, np.float64)
    b = _rhs(system, 1)[:, 0]
    x0 = np.linspace(-1, 1, system.n)
    if shape == "column":
        x0 = x0[:, None]
    saved = x0.copy()
    x, info = cg(system.A, b, x0, rtol=1e-10)
    assert info == 0
    np.testing.assert_array_equal(x0, saved)
    assert not np.shares_memory(x, x0)
    X0 = np.tile(saved.reshape(-1, 1), (1, 3))
    X0_saved = X0.copy()
    block_cg(system.A, np.tile(b[:, None], (1, 3)), X0, rtol=1e-10)
    np.testing.assert_array_equal(X0, X0_saved)


def test_arguments_after_x0_are_keyword_only():
    system = spd_random(8, np.float64)
    b = np.ones(8)
    with pytest.raises(TypeError):
        cg(system.A, b, None, 1e-5)
    with pytest.raises(TypeError):
        block_cg(system.A, b[:, None], None, 1e-5)


@pytest.mark.parametrize("param", ["atol", "rtol"])
@pytest.mark.parametrize("value", ["legacy", None, -1, -1e-12, float("nan"), True, 1j])
def test_invalid_tolerance_raises_naming_it(param, value):
    """Every invalid tolerance is a ValueError naming it, wrong types included (SciPy's
    contract for cg, whose own tests run against ours below)."""
    system = spd_random(8, np.float64)
    for solver, b in ((cg, np.ones(8)), (block_cg, np.ones((8, 2)))):
        with pytest.raises(ValueError, match=param):
            solver(system.A, b, **{param: value})


def test_invalid_tolerance_message_is_clean():
    expected = "rtol='small' is not valid: expected a finite real number >= 0 or infinity."
    with pytest.raises(ValueError) as excinfo:
        cg(np.eye(3), np.ones(3), rtol="small")
    assert str(excinfo.value) == expected
    assert excinfo.value.__cause__ is None and excinfo.value.__suppress_context__


@pytest.mark.parametrize("value", [np.inf, np.float32(np.inf)])
def test_infinite_tolerance_is_accepted_as_in_scipy(value):
    b = np.ones(3)
    x, info = cg(np.eye(3), b, rtol=value)
    x_scipy, info_scipy = scipy_cg(np.eye(3), b, rtol=value)
    assert info == info_scipy == 0
    np.testing.assert_array_equal(x, x_scipy)


SPARSE_FORMATS = ("csr", "csc", "coo", "bsr", "lil", "dok", "dia")


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("fmt", ("dense", *SPARSE_FORMATS))
def test_nonfinite_entry_of_an_explicit_a_is_refused_naming_a(fmt, value):
    # an explicit A is checked once at input time, as b is; only a LinearOperator's products
    # are left to the INFO_NONFINITE code (test_nonfinite_operator_is_reported)
    A = spd_random(6, np.float64).dense.copy()
    A[2, 3] = value
    A = A if fmt == "dense" else sp.csr_array(A).asformat(fmt)
    for solver, b in ((cg, np.ones(6)), (block_cg, np.ones((6, 2)))):
        with pytest.raises(ValueError, match=r"`A` contains NaN or infinity"):
            solver(A, b)


def test_dia_padding_outside_the_matrix_is_not_an_entry():
    # DIA stores each diagonal at full length; the values outside the matrix (here the NaN at
    # the end of diagonal -1 and the start of diagonal +1) are not entries
    data = np.array([[1.0, 1.0, 1.0, np.nan], [4.0, 4.0, 4.0, 4.0], [np.nan, 1.0, 1.0, 1.0]])
    A = sp.dia_matrix((data, [-1, 0, 1]), shape=(4, 4))
    assert np.all(np.isfinite(A.toarray()))
    x, info = cg(A, np.ones(4), rtol=1e-12)
    assert info == 0
    np.testing.assert_allclose(A.toarray() @ x, np.ones(4), rtol=1e-10)


@pytest.mark.parametrize(
    "maxiter,error",
    [(0, ValueError), (-3, ValueError), (2.5, TypeError), ("10", TypeError), (True, TypeError)],
)
def test_invalid_maxiter(maxiter, error):
    with pytest.raises(error, match="maxiter"):
        cg(np.eye(3), np.ones(3), maxiter=maxiter)


def test_invalid_inputs_have_clear_errors():
    A = spd_random(5, np.float64).A
    with pytest.raises(ValueError, match="square"):
        cg(np.ones((3, 4)), np.ones(3))
    with pytest.raises(ValueError, match="incompatible"):
        cg(A, np.ones(4))
    with pytest.raises(ValueError, match="incompatible"):
        cg(A, np.ones((5, 2)))  # cg takes one right-hand side; block_cg takes many
    with pytest.raises(ValueError, match="x0"):
        cg(A, np.ones(5), np.ones(4))
    with pytest.raises(ValueError, match="NaN"):
        cg(A, np.array([1.0, np.nan, 0, 0, 0]))
    with pytest.raises(ValueError, match="x0"):
        cg(A, np.ones(5), np.full(5, np.inf))
    with pytest.raises(ValueError, match="'Mb'"):
        cg(A, np.ones(5), "Ax")
    with pytest.raises(ValueError, match="M"):
        cg(A, np.ones(5), M=np.eye(4))
    with pytest.raises(TypeError, match="`A`"):
        cg("not a matrix", np.ones(5))
    with pytest.raises(TypeError, match="residuals"):
        cg(A, np.ones(5), residuals=())
    with pytest.raises(TypeError, match="callback"):
        cg(A, np.ones(5), callback=3)


def test_zero_rhs_returns_zeros():
    system = spd_random(10, np.float64)
    b = np.zeros(10)
    for kwargs in ({}, {"x0": np.ones(10)}, {"atol": 1e-3}, {"rtol": 0.0, "atol": 0.0}):
        history = []
        x, info = cg(system.A, b, residuals=history, **kwargs)
        assert info == 0
        np.testing.assert_array_equal(x, 0.0)
        assert history == [0.0]
    for method in METHODS:
        X, info = block_cg(system.A, np.zeros((10, 2)), np.ones((10, 2)), method=method)
        assert info == 0
        np.testing.assert_array_equal(X, 0.0)


@pytest.mark.parametrize("solver", SOLVERS)
def test_exact_preconditioner_converges_in_at_most_3_products(solver):
    system = poisson2d(8, np.float64)
    B = _rhs(system, 2)
    counting = CountingOperator(system.A)
    exact_inverse = np.linalg.inv(system.dense)
    X, info = SOLVERS[solver](counting, B, rtol=1e-8, M=exact_inverse)
    assert info == 0
    assert counting.products / B.shape[1] <= 3  # one iteration + the true-residual check
    assert np.all(np.linalg.norm(B - system.dense @ X, axis=0) <= 1e-8 * np.linalg.norm(B, axis=0))


def test_dtypes_follow_scipy_and_float32_stays_float32():
    A64 = poisson1d(10, np.float64).A
    A32 = A64.astype(np.float32)
    b32 = np.ones(10, dtype=np.float32)
    assert cg(A32, b32)[0].dtype == np.float32
    assert cg(A32, b32.astype(np.float64))[0].dtype == np.float64
    assert cg(A64, b32)[0].dtype == np.float64
    assert cg(A32, np.ones(10, dtype=int))[0].dtype == np.float64  # ints count as float64
    for method in METHODS:
        X = block_cg(A32, np.ones((10, 2), dtype=np.float32), method=method)[0]
        assert X.dtype == np.float32


def test_float16_is_solved_in_float32():
    # the library's one float16 rule (utils._validation.float_dtype_of): float16 counts as
    # float32, so float16 data give the float32 solve of the same values
    A32 = poisson1d(10, np.float64).dense.astype(np.float32)
    A16, b16 = A32.astype(np.float16), np.linspace(1, 2, 10).astype(np.float16)
    B16 = np.stack([b16, b16[::-1]], axis=1)
    for A in (A16, aslinearoperator(A16)):
        x = cg(A, b16, rtol=1e-5)[0]
        assert x.dtype == np.float32
        np.testing.assert_array_equal(x, cg(A32, b16.astype(np.float32), rtol=1e-5)[0])
    assert cg(A16, b16.astype(np.float64))[0].dtype == np.float64
    assert cg(A32.astype(np.float64), b16)[0].dtype == np.float64
    for method in METHODS:
        X = block_cg(A16, B16, method=method)[0]
        assert X.dtype == np.float32
        expected = block_cg(A32, B16.astype(np.float32), method=method)[0]
        np.testing.assert_array_equal(X, expected)


def test_b_column_vector_and_operator_inputs():
    system = poisson1d(12, np.float64)
    b = np.arange(12.0)
    x_ref = system.solve(b)
    for A in (system.A, system.dense, aslinearoperator(system.A), system.A.tocoo()):
        for rhs in (b, b[:, None]):
            x, info = cg(A, rhs, rtol=1e-12)
            assert info == 0 and x.shape == (12,)
            np.testing.assert_allclose(x, x_ref, rtol=1e-9)


def test_complex_hermitian_positive_definite():
    rng = np.random.default_rng(3)
    G = rng.standard_normal((9, 9)) + 1j * rng.standard_normal((9, 9))
    A = G @ G.conj().T + 9 * np.eye(9)
    b = rng.standard_normal(9) + 1j * rng.standard_normal(9)
    block = np.stack([b, 2j * b], axis=1)
    for solver, rhs in ((cg, b), *((partial(block_cg, method=m), block) for m in METHODS)):
        x, info = solver(A, rhs, rtol=1e-10)
        assert info == 0 and np.iscomplexobj(x)
        np.testing.assert_allclose(A @ x, rhs, rtol=0, atol=1e-9 * np.linalg.norm(b) * 3)


def test_residual_history_and_callback():
    system = poisson2d(7, np.float64)
    b = _rhs(system, 1)[:, 0]
    x0 = np.full(system.n, 0.5)
    history, iterates = [123.0], []
    x, info = cg(system.A, b, x0, rtol=1e-9, residuals=history, callback=iterates.append)
    assert info == 0
    assert len(history) == len(iterates) + 1  # r_0 plus one entry per iteration
    np.testing.assert_allclose(history[0], np.linalg.norm(b - system.dense @ x0), rtol=1e-12)
    assert history[-1] == pytest.approx(np.linalg.norm(b - system.dense @ x), rel=1e-6, abs=1e-14)
    assert history[-1] <= 1e-9 * np.linalg.norm(b)
    assert all(isinstance(h, float) for h in history)


def test_maxiter_one_calls_back_once_and_reports_one():
    system = poisson2d(7, np.float64)
    b = _rhs(system, 1)[:, 0]
    calls = []
    _x, info = cg(system.A, b, rtol=1e-12, maxiter=1, callback=calls.append)
    assert info == 1 and len(calls) == 1


def test_x0_mb_and_psolve_follow_scipy():
    system = poisson2d(6, np.float64)
    b = _rhs(system, 1)[:, 0]
    M = sp.diags(1.0 / system.A.diagonal())
    x, info = cg(system.A, b, "Mb", M=M, rtol=1e-10)
    assert info == 0 and np.linalg.norm(b - system.dense @ x) <= 1e-10 * np.linalg.norm(b)
    calls = []

    def psolve(r):
        calls.append(1)
        return r / 4.0

    A = aslinearoperator(system.A)
    A.psolve = psolve
    x, info = cg(A, b, rtol=1e-10)
    assert info == 0 and calls


# ------------------------------------------------------------------------------------------
# Breakdown codes
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("solver", BLOCK_SOLVERS, ids=["cg", "block", "batched"])
def test_indefinite_A_is_reported(solver):
    A = np.diag([3.0, 2.0, 1.0, -1.0, -2.0])
    b = np.ones(5) if solver is cg else np.ones((5, 2)) * [1.0, 2.0]
    _x, info = solver(A, b)
    assert info == INFO_A_NOT_POSITIVE_DEFINITE == -1
    _x, info = solver(-poisson1d(5, np.float64).A, b)  # negative definite
    assert info == INFO_A_NOT_POSITIVE_DEFINITE


@pytest.mark.parametrize("solver", BLOCK_SOLVERS, ids=["cg", "block", "batched"])
def test_indefinite_M_is_reported(solver):
    A = poisson1d(5, np.float64).A
    b = np.ones(5) if solver is cg else np.ones((5, 1))
    _, info = solver(A, b, M=-np.eye(5))
    assert info == INFO_M_NOT_POSITIVE_DEFINITE == -2


@pytest.mark.parametrize("solver", BLOCK_SOLVERS, ids=["cg", "block", "batched"])
def test_nonfinite_operator_is_reported(solver):
    def bad(x):
        return np.full_like(x, np.nan)

    A = LinearOperator((4, 4), matvec=bad, matmat=bad, dtype=float)
    b = np.ones(4) if solver is cg else np.ones((4, 2))
    with pytest.warns(RuntimeWarning, match="`A`"):
        _, info = solver(A, b)
    assert info == INFO_NONFINITE == -3


# ------------------------------------------------------------------------------------------
# Jacobi preconditioner
# ------------------------------------------------------------------------------------------
class _WithDiagonal(LinearOperator):
    def __init__(self, A):
        self.A = A
        super().__init__(dtype=A.dtype, shape=A.shape)

    def _matvec(self, x):
        return self.A @ x

    def diagonal(self):
        return self.A.diagonal()


def test_jacobi_preconditioner_inputs_and_effect():
    rng = np.random.default_rng(0)
    scales = np.logspace(0, 4, 50)
    core = poisson1d(50, np.float64).dense + 3 * np.eye(50)  # κ(core) <= 7/1
    A = core * np.sqrt(scales)[:, None] * np.sqrt(scales)[None, :]  # badly scaled, SPD
    for given_ in (A, sp.csr_matrix(A), _WithDiagonal(A)):
        M = jacobi_preconditioner(given_)
        v = rng.standard_normal(50)
        np.testing.assert_allclose(M @ v, v / np.diag(A))
        np.testing.assert_allclose(
            M @ np.stack([v, v], 1), np.stack([v, v], 1) / np.diag(A)[:, None]
        )
    b = rng.standard_normal(50)
    plain, jac = [], []
    assert cg(A, b, rtol=1e-8, residuals=plain)[1] == 0
    assert cg(A, b, rtol=1e-8, M=jacobi_preconditioner(A), residuals=jac)[1] == 0
    # diag scaling turns A into D^-1/2 A D^-1/2 with κ <= 7: far fewer iterations than on A
    assert len(jac) < len(plain) / 2
    assert len(jac) - 1 <= chebyshev_iterations(7.0, 1e-8) + ITERATION_SLACK
    assert jacobi_preconditioner(A.astype(np.float32)).dtype == np.float32


def test_jacobi_preconditioner_errors():
    with pytest.raises(TypeError, match="diagonal"):
        jacobi_preconditioner(aslinearoperator(np.eye(3)))
    with pytest.raises(ValueError, match="positive"):
        jacobi_preconditioner(np.diag([1.0, 0.0, 2.0]))
    with pytest.raises(ValueError, match="positive"):
        jacobi_preconditioner(np.diag([1.0, -1.0, 2.0]))
    with pytest.raises(ValueError, match="square"):
        jacobi_preconditioner(np.ones((2, 3)))


# ------------------------------------------------------------------------------------------
# Property tests
# ------------------------------------------------------------------------------------------
# κ <= 1e4 keeps eps·κ far below the smallest rtol, so convergence is guaranteed (up to κ
# ≈ 4e3 was reached by the G Gᵀ + shift systems these replace)
PROPERTY_SYSTEMS = strategies.spd_systems(n=(1, 12), condition_number=(1.0, 1e4), n_rhs=(1, 4))
RHS_SCALES = st.sampled_from([1e-6, 1.0, 1e6])
RTOLS = st.sampled_from([1e-10, 1e-6, 1e-3])


@given(PROPERTY_SYSTEMS, RHS_SCALES, RTOLS)
def test_property_success_means_true_residual_met(system, scale, rtol):
    A, B, X_true = system
    B, X_true = scale * B, scale * X_true
    x, info = cg(A, B[:, 0], rtol=rtol)
    assert info >= 0  # SPD: no breakdown
    if info == 0:
        # cg checks the true residual in float64 itself, so no rounding term is needed here
        # (assert_solution_accuracy allows one; it adds the forward error vs x_true)
        assert np.linalg.norm(B[:, 0] - A @ x) <= rtol * np.linalg.norm(B[:, 0]) * (1 + 1e-12)
        assert_solution_accuracy(A, x, B[:, 0], rtol=rtol, x_true=X_true[:, 0])
    X, info = block_cg(A, B, rtol=rtol)
    assert info >= 0
    if info == 0:
        residual = np.linalg.norm(B - A @ X, axis=0)
        assert np.all(residual <= rtol * np.linalg.norm(B, axis=0) * (1 + 1e-12))
        assert_solution_accuracy(A, X, B, rtol=rtol, x_true=X_true)


@given(PROPERTY_SYSTEMS, RHS_SCALES, RTOLS)
def test_property_well_conditioned_always_converges(system, scale, rtol):
    A, B, _ = system
    B = scale * B
    assert cg(A, B[:, 0], rtol=rtol)[1] == 0
    assert block_cg(A, B, rtol=rtol)[1] == 0


# ------------------------------------------------------------------------------------------
# SciPy's own test-suite of cg, run against ours
# ------------------------------------------------------------------------------------------
def test_scipy_own_cg_tests_pass_against_ours(tmp_path):
    source = Path(scipy.__file__).parent / "sparse/linalg/_isolve/tests/test_iterative.py"
    if not source.exists():
        pytest.skip("SciPy's tests are not installed")
    text = source.read_text()
    old = "from scipy.sparse.linalg._isolve import (bicg, bicgstab, cg, cgs,"
    if old not in text:
        pytest.skip("SciPy's test module changed its imports")
    ours = "from hyperlearn.linalg import cg\n"
    text = text.replace(old, ours + old.replace(" cg,", ""))
    (tmp_path / "test_scipy_iterative_against_hyperlearn.py").write_text(text)
    root = Path(__file__).resolve().parents[3]
    env = dict(os.environ, PYTHONPATH=str(root), OPENBLAS_NUM_THREADS="1")
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    command += [
        "-k",
        "cg and not bicg and not cgs",
        "-W",
        "ignore::pytest.PytestUnknownMarkWarning",
    ]
    command += ["--rootdir", str(tmp_path), str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout

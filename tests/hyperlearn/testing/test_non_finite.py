"""NaN and inf: a failed check (AssertionError naming them) in the result under test, a
ValueError in the reference data, never an error from deep inside LAPACK."""

from types import SimpleNamespace

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from hyperlearn.testing import (
    assert_normalized_laplacian,
    assert_solution_accuracy,
    assert_symmetric_psd,
)


def _operator(matvec, n):
    return spla.LinearOperator((n, n), matvec=matvec, dtype=np.float64)


def _with_nan(A, value=np.nan):
    A = A.copy()
    A[0, 1] = value
    return A


@pytest.mark.parametrize("value", [np.nan, np.inf])
@pytest.mark.parametrize(
    "wrap",
    [
        pytest.param(lambda A: A, id="dense"),
        pytest.param(sp.csr_matrix, id="csr"),
        pytest.param(spla.aslinearoperator, id="operator"),
    ],
)
def test_psd_names_non_finite_entries(wrap, value):
    with pytest.raises(
        AssertionError, match=r"op is not a finite symmetric operator: \d+ NaN or infinite"
    ):
        assert_symmetric_psd(wrap(_with_nan(np.eye(4), value)))


def test_psd_probe_path_names_non_finite_products():
    n = 1200  # above the dense limit: probed with Krylov vectors
    op = _operator(lambda v: np.where(np.arange(n) == 3, np.nan, np.ravel(v)), n)
    with pytest.raises(AssertionError, match=r"NaN or infinite value.*probe vectors"):
        assert_symmetric_psd(op)


def test_laplacian_names_non_finite_entries():
    H = sp.csr_matrix(np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]))
    hypergraph = SimpleNamespace(incidence=H, weights=np.ones(2))
    with pytest.raises(AssertionError, match="The Laplacian is not a finite"):
        assert_normalized_laplacian(hypergraph, _with_nan(np.eye(3)))


def test_solution_nan_in_x_is_a_failed_check():
    A = np.diag([1.0, 2.0, 3.0])
    x = np.array([1.0, np.nan, 1.0])
    with pytest.raises(AssertionError, match="x contains 1 NaN"):
        assert_solution_accuracy(A, x, np.ones(3), rtol=1e-8)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"A": _with_nan(np.eye(3))}, "A contains 1 NaN"),
        ({"A": sp.csr_matrix(_with_nan(np.eye(3), np.inf))}, "A contains 1 NaN"),
        ({"A": _operator(lambda v: np.full(3, np.nan), 3)}, "A @ x holds NaN"),
        ({"b": np.array([1.0, np.inf, 1.0])}, "b contains 1 NaN"),
        ({"x_true": np.array([np.nan, 1.0, 1.0])}, "x_true contains 1 NaN"),
    ],
)
def test_solution_non_finite_reference_data_is_a_value_error(kwargs, match):
    args = {"A": np.eye(3), "x": np.ones(3), "b": np.ones(3), **kwargs}
    with pytest.raises(ValueError, match=match):
        assert_solution_accuracy(
            args["A"], args["x"], args["b"], rtol=1e-8, x_true=args.get("x_true")
        )

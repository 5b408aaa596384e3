"""``hyperlearn.linalg.shifted(theta, alpha)``: the public ``I − αΘ`` that
``block_cg(precision="mixed")`` can cast to float32."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from hypothesis import given, settings
from hypothesis import strategies as st

import hyperlearn.linalg
from hyperlearn.linalg import block_cg, jacobi_preconditioner, shifted

from ._cg_systems import random_incidence

U32 = np.finfo(np.float32).eps / 2


def _theta(n, seed):
    """A symmetric matrix with its spectrum in [-1, 1] (as a normalized adjacency has)."""
    rng = np.random.default_rng(seed)
    Q = np.linalg.qr(rng.standard_normal((n, n)))[0]
    theta = (Q * rng.uniform(-1, 1, n)) @ Q.T
    return (theta + theta.T) / 2


def test_shifted_is_public():
    assert "shifted" in hyperlearn.linalg.__all__
    assert hyperlearn.linalg.shifted is shifted


@pytest.mark.parametrize("form", ["dense", "sparse", "operator"])
def test_products_equal_the_explicit_matrix(form):
    n, alpha = 30, 0.7
    theta = _theta(n, 1)
    given_theta = {"dense": theta, "sparse": sp.csr_matrix(theta), "operator": None}[form]
    if form == "operator":
        given_theta = spla.aslinearoperator(theta)
    A = shifted(given_theta, alpha)
    explicit = np.eye(n) - alpha * theta
    rng = np.random.default_rng(2)
    x, X = rng.standard_normal(n), rng.standard_normal((n, 4))
    # two evaluations of n-term sums, a scaling and a subtraction: within (n + 2) eps of the
    # sum of absolute values (each evaluation within (n + 2) u)
    eps = np.finfo(float).eps
    bound = (n + 2) * eps * (np.abs(X) + alpha * np.abs(theta) @ np.abs(X))
    assert np.all(np.abs(A @ X - explicit @ X) <= bound)
    xbound = (n + 2) * eps * (np.abs(x) + alpha * np.abs(theta) @ np.abs(x))
    assert np.all(np.abs(A @ x - explicit @ x) <= xbound)
    assert A.shape == (n, n) and A.dtype == np.float64
    if form != "operator":
        np.testing.assert_allclose(A.diagonal(), np.diag(explicit), rtol=0, atol=4e-16)


@pytest.mark.parametrize("form", ["dense", "sparse"])
def test_astype_float32_computes_in_float32_within_its_rounding(form):
    n, alpha = 25, 0.9
    theta = _theta(n, 3)
    A = shifted(theta if form == "dense" else sp.csr_matrix(theta), alpha)
    A32 = A.astype(np.float32)
    assert A32.dtype == np.float32 and A.astype(np.float64) is A
    X = np.random.default_rng(4).standard_normal((n, 3)).astype(np.float32)
    Y = A32 @ X
    assert Y.dtype == np.float32
    exact = X.astype(float) - alpha * theta @ X.astype(float)
    # Θ cast (1 rounding per entry), n-term sums, the scaling and the subtraction: (n + 4) u32
    bound = (n + 4) * U32 * (np.abs(X) + alpha * np.abs(theta) @ np.abs(X)) * (1 + 1e-6)
    assert np.all(np.abs(Y - exact) <= bound)


def test_mixed_precision_on_the_hypergraph_operator_meets_the_float64_tolerance():
    from hyperlearn.hypergraph import Hypergraph

    H = random_incidence(300, 60, seed=5)
    theta = Hypergraph.from_incidence(H).normalized_adjacency()
    B = np.random.default_rng(6).standard_normal((300, 5))
    rtol, alpha = 1e-10, 0.95
    A = shifted(theta, alpha)
    history = []
    X, info = block_cg(A, B, rtol=rtol, precision="mixed", residuals=history)
    assert info == 0
    true = np.linalg.norm(B - A @ X, axis=0)
    assert np.all(true <= rtol * np.linalg.norm(B, axis=0))
    X64, info64 = block_cg(A, B, rtol=rtol)
    assert info64 == 0
    # both meet rtol on a system with κ <= 1 / (1 − α): forward errors within 2 κ rtol
    kappa = 1 / (1 - alpha)
    scale = np.linalg.norm(X64, axis=0)
    assert np.all(np.linalg.norm(X - X64, axis=0) <= 2 * kappa * rtol * scale)
    # the Jacobi preconditioner accepts it (diagonal 1 − α diag(Θ)), also in mixed precision
    M = jacobi_preconditioner(A)
    assert block_cg(A, B, rtol=rtol, M=M, precision="mixed")[1] == 0


def test_scipy_operator_algebra_is_refused_with_a_pointer_to_shifted():
    """The README's ``aslinearoperator(I) - alpha * theta`` has no ``astype``: mixed precision
    refuses it and names the public way; working precision accepts it."""
    n, alpha = 20, 0.8
    theta = _theta(n, 7)
    composite = spla.aslinearoperator(sp.identity(n)) - alpha * spla.aslinearoperator(theta)
    B = np.ones((n, 2))
    with pytest.raises(ValueError, match=r"astype.*shifted\(theta, alpha\)"):
        block_cg(composite, B, precision="mixed")
    X_public, info = block_cg(shifted(theta, alpha), B, rtol=1e-10, precision="mixed")
    assert info == 0
    X_composite, info = block_cg(composite, B, rtol=1e-10)
    assert info == 0
    kappa = 1 / (1 - alpha)
    scale = np.linalg.norm(X_composite, axis=0)
    assert np.all(np.linalg.norm(X_public - X_composite, axis=0) <= 2 * kappa * 1e-10 * scale)


@pytest.mark.parametrize(
    "theta,alpha,error,name",
    [
        (np.eye(3), "0.5", TypeError, "alpha"),
        (np.eye(3), None, TypeError, "alpha"),
        (np.eye(3), float("nan"), ValueError, "alpha"),
        (np.eye(3), np.inf, ValueError, "alpha"),
        (np.ones((3, 4)), 0.5, ValueError, "theta"),
        (np.ones(3), 0.5, ValueError, "theta"),
        ("theta", 0.5, TypeError, "theta"),
        (np.eye(3, dtype=complex), 0.5, TypeError, "theta"),
    ],
)
def test_invalid_inputs_name_the_parameter(theta, alpha, error, name):
    with pytest.raises(error, match=name):
        shifted(theta, alpha)


def test_integer_theta_is_converted_to_float64():
    A = shifted(np.eye(3, dtype=int), 0.5)
    assert A.dtype == np.float64
    np.testing.assert_array_equal(A @ np.ones(3), np.full(3, 0.5))


@settings(deadline=None, max_examples=20)
@given(
    n=st.integers(2, 40),
    alpha=st.floats(0.0, 0.95),
    s=st.integers(1, 4),
    seed=st.integers(0, 2**32 - 1),
)
def test_property_mixed_with_shifted_meets_the_true_residual(n, alpha, s, seed):
    theta = _theta(n, seed)
    B = np.random.default_rng(seed).standard_normal((n, s))
    rtol = 1e-8
    X, info = block_cg(shifted(theta, alpha), B, rtol=rtol, precision="mixed")
    assert info == 0
    true = np.linalg.norm(B - (X - alpha * theta @ X), axis=0)
    assert np.all(true <= rtol * np.linalg.norm(B, axis=0))

"""Input checks of the randomized methods that cost a product: misbehaving user operators and
symmetry.

- A user's LinearOperator whose matvec/matmat/rmatvec/rmatmat returns NaN, the wrong number of
  rows or the wrong number of columns is refused by ``randomized_svd``, ``randomized_eigh``,
  ``randomized_range_finder`` and ``nystrom`` with a ValueError naming the parameter, the
  operator and the shapes.
- ``randomized_eigh``, ``nystrom`` and ``tessellate`` refuse a non-symmetric ``A`` beyond the
  rounding tolerance ``||A - A^T||_F <= SYMMETRY_RTOL_FACTOR * sqrt(n) * eps * ||A||_F``
  (exact for arrays and sparse matrices, a random probe for operators); ``check_symmetric=False``
  skips the test.
"""

import math
import re

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.linalg import LinearOperator, aslinearoperator

import hyperlearn.linalg._sketch as sketch
from hyperlearn.linalg import (
    nystrom,
    randomized_eigh,
    randomized_range_finder,
    randomized_svd,
    tessellate,
)

N = 12
_S = np.random.default_rng(0).standard_normal((N, N))
SYM = _S @ _S.T / N  # symmetric positive definite


def _op(matvec=None, matmat=None, rmatvec=None, rmatmat=None):
    """An operator built from SYM with the given misbehaving parts (the others correct)."""
    return LinearOperator(
        (N, N),
        matvec=matvec or (lambda x: SYM @ x),
        matmat=matmat,
        rmatvec=rmatvec or (lambda x: SYM @ x),
        rmatmat=rmatmat,
        dtype=np.float64,
    )


MISBEHAVING = {
    "matvec returns NaN": (_op(matvec=lambda x: np.full(N, np.nan)), "matvec", "NaN"),
    "matvec returns too few rows": (_op(matvec=lambda x: (SYM @ x)[:5]), "matvec", "reshape"),
    "matmat returns too few rows": (_op(matmat=lambda X: (SYM @ X)[:5]), "matvec", r"\(5, "),
    "matmat returns one column": (_op(matmat=lambda X: (SYM @ X)[:, :1]), "matvec", r", 1\)"),
    "matmat returns inf": (
        _op(matmat=lambda X: np.full((N, X.shape[1]), np.inf)),
        "matvec",
        "infinite",
    ),
    "rmatvec returns NaN": (_op(rmatvec=lambda x: np.full(N, np.nan)), "rmatvec", "NaN"),
    "rmatmat returns too many rows": (
        _op(rmatmat=lambda X: np.vstack([SYM @ X, SYM @ X])),
        "rmatvec",
        r"\(24, ",
    ),
}

CALLS = {
    "randomized_svd": (lambda op: randomized_svd(op, 2, random_state=0), "M"),
    "randomized_svd tol": (lambda op: randomized_svd(op, 4, tol=0.5, random_state=0), "M"),
    "randomized_svd n_iter=2": (lambda op: randomized_svd(op, 2, n_iter=2, random_state=0), "M"),
    "randomized_range_finder": (
        lambda op: randomized_range_finder(op, size=3, n_iter=1, random_state=0),
        "A",
    ),
    "randomized_eigh": (lambda op: randomized_eigh(op, 2, random_state=0), "A"),
    "randomized_eigh no check": (
        lambda op: randomized_eigh(op, 2, random_state=0, check_symmetric=False),
        "A",
    ),
    "nystrom": (lambda op: nystrom(op, 2, random_state=0, check_symmetric=False), "A"),
}
# the symmetric methods multiply by A only, never by A^T
SYMMETRIC_METHODS = {"randomized_eigh", "randomized_eigh no check", "nystrom"}


@pytest.mark.parametrize("call_name", sorted(CALLS))
@pytest.mark.parametrize("case", sorted(MISBEHAVING))
def test_misbehaving_operator_gets_an_error_naming_it_and_the_shapes(call_name, case):
    op, side, detail = MISBEHAVING[case]
    call, param = CALLS[call_name]
    if side == "rmatvec" and call_name in SYMMETRIC_METHODS:
        call(op)  # a broken transpose is never used by the symmetric methods
        return
    with pytest.raises(ValueError, match="LinearOperator") as info:
        call(op)
    message = str(info.value)
    assert f"{param}=_CustomLinearOperator(shape=({N}, {N})" in message, message
    assert f"its {side}" in message, message
    assert "block of shape" in message, message
    assert re.search(detail, message), message


def test_correct_operator_passes_the_product_checks():
    """The same operators without the fault: results agree with the dense matrix."""
    op = _op()
    dense = randomized_svd(SYM, 3, random_state=0)[1]
    assert np.allclose(randomized_svd(op, 3, random_state=0)[1], dense, rtol=1e-10)
    w, _ = randomized_eigh(op, 3, random_state=0)
    assert np.allclose(w, np.linalg.eigvalsh(SYM)[::-1][:3], rtol=1e-8)


# --- symmetry --------------------------------------------------------------------------------


def symmetric_by_rounding(n, d, dtype, seed):
    """``(X * w) @ X.T`` computed in ``dtype``: symmetric in exact arithmetic, not in floating
    point (GEMM, not SYRK), so its asymmetry is rounding."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(dtype)
    w = rng.random(d).astype(dtype)
    return (X * w) @ X.T


def tolerance(A):
    """The documented tolerance ``c sqrt(n) eps ||A||_F`` (c = SYMMETRY_RTOL_FACTOR)."""
    n = A.shape[0]
    eps = np.finfo(A.dtype).eps
    return sketch.SYMMETRY_RTOL_FACTOR * math.sqrt(n) * eps * np.linalg.norm(A)


def skew(n, seed):
    """A skew-symmetric matrix of unit Frobenius norm (the asymmetric part of a perturbation)."""
    G = np.random.default_rng(seed).standard_normal((n, n))
    K = G - G.T
    return K / np.linalg.norm(K)


CONTAINERS = {
    "dense": np.asarray,
    "csr": sp.csr_matrix,
    "coo": sp.coo_array,
    "operator": aslinearoperator,
}
SYMMETRIC_CALLS = {
    "randomized_eigh": lambda A, **kw: randomized_eigh(A, 2, random_state=0, **kw),
    "randomized_eigh nystrom": lambda A, **kw: randomized_eigh(
        A, 2, method="nystrom", random_state=0, **kw
    ),
    "nystrom": lambda A, **kw: nystrom(A, 2, random_state=0, **kw),
    "tessellate": lambda A, **kw: tessellate(A, 2, 3, ordering=None, random_state=0, **kw),
}


@pytest.mark.parametrize("call", sorted(SYMMETRIC_CALLS))
@pytest.mark.parametrize("container", sorted(CONTAINERS))
def test_non_symmetric_input_is_refused(call, container):
    A = np.triu(symmetric_by_rounding(40, 40, np.float64, seed=1))  # the example
    with pytest.raises(ValueError, match="not symmetric") as info:
        SYMMETRIC_CALLS[call](CONTAINERS[container](A))
    message = str(info.value)
    assert message.startswith("A=") and "check_symmetric=False" in message, message
    assert ("probe" in message) == (container == "operator"), message


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("container", sorted(CONTAINERS))
@pytest.mark.parametrize("shape", [(60, 60), (60, 400), (300, 20)])
def test_rounding_level_asymmetry_is_accepted(dtype, container, shape):
    A = symmetric_by_rounding(*shape, dtype, seed=2)
    if container != "operator":  # the test is meaningful only if A is not exactly symmetric
        assert np.linalg.norm(A - A.T) > 0
    X = CONTAINERS[container](A)
    for call in SYMMETRIC_CALLS.values():
        call(X)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("container", ["dense", "csr"])
def test_the_tolerance_is_the_documented_rule(dtype, container):
    """``A = S + t K``, K skew with ||K||_F = 1, so ||A - A^T||_F = 2 t: accepted at
    2 t = tol / 2 and refused at 2 t = 2 tol, with tol = c sqrt(n) eps ||A||_F (the exact test
    of arrays and sparse matrices)."""
    S = symmetric_by_rounding(50, 50, np.float64, seed=3)
    S = ((S + S.T) / 2).astype(dtype)
    K = skew(50, seed=4).astype(dtype)
    tol = tolerance(S)
    sketch._check_symmetric(CONTAINERS[container](S + 0.25 * tol * K), np.dtype(dtype))
    with pytest.raises(ValueError, match="not symmetric"):
        sketch._check_symmetric(CONTAINERS[container](S + 1.0 * tol * K), np.dtype(dtype))


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(5, 80),
    d=st.integers(1, 120),
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=st.integers(0, 2**16),
    log_asym=st.floats(-2.0, 0.0),
)
def test_operator_probe_separates_rounding_from_asymmetry(n, d, dtype, seed, log_asym):
    """The probe accepts every product symmetric by construction and refuses an asymmetry of
    relative size 10^log_asym >= 1e-2, far above c sqrt(n) eps (<= 1.1e-5 here): the probe's
    estimate |y^T K x| falls below 1e-3 ||K||_F with probability about 1e-6 (chi-square)."""
    S = symmetric_by_rounding(n, d, dtype, seed)
    sketch._check_symmetric(aslinearoperator(S), np.dtype(dtype))
    scale = max(float(np.linalg.norm(S)), 1.0)
    A = (S + 10.0**log_asym * scale * skew(n, seed + 1)).astype(dtype)
    with pytest.raises(ValueError, match="probe"):
        sketch._check_symmetric(aslinearoperator(A), np.dtype(dtype))


@pytest.mark.parametrize("container", ["dense", "csr", "operator"])
def test_check_symmetric_false_skips_the_test(container, monkeypatch):
    """With check_symmetric=False the test never runs (and the result is that of the symmetric
    part up to the perturbation: Weyl, |lambda_i(S + E) - lambda_i(S)| <= ||E||_2)."""
    S = symmetric_by_rounding(60, 60, np.float64, seed=5)
    S = (S + S.T) / 2
    E = 1e-8 * np.linalg.norm(S, 2) * skew(60, seed=6)  # far above the tolerance, still small
    A = CONTAINERS[container](S + E)
    with pytest.raises(ValueError, match="not symmetric"):
        randomized_eigh(A, 3, random_state=0)
    w, _ = randomized_eigh(A, 3, random_state=0, check_symmetric=False)
    exact = np.sort(np.linalg.eigvalsh(S))[::-1][:3]
    assert np.all(np.abs(w - exact) <= np.linalg.norm(E, 2) + 1e-6 * np.abs(exact)), (w, exact)
    tessellate(A, 2, 3, ordering=None, random_state=0, check_symmetric=False)

    def never(*args, **kwargs):
        raise AssertionError("the symmetry test ran")

    monkeypatch.setattr(sketch, "_symmetry_defect", never)
    randomized_eigh(A, 3, random_state=0, check_symmetric=False)
    nystrom(S, 3, random_state=0, check_symmetric=False)


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_check_symmetric_must_be_a_bool(value):
    with pytest.raises(TypeError, match="check_symmetric"):
        randomized_eigh(SYM, 2, check_symmetric=value)
    with pytest.raises(TypeError, match="check_symmetric"):
        tessellate(SYM, 2, 2, ordering=None, check_symmetric=value)

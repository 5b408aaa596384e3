"""User operators that misbehave in ``cg`` and ``block_cg``: a product with the wrong number of
rows is refused with an error naming the operator and both shapes; NaN or infinity from a
product gives ``info == INFO_NONFINITE`` (the documented contract) and a warning naming the
operator."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
from scipy.sparse.linalg import LinearOperator

from hyperlearn.linalg import block_cg, cg
from hyperlearn.linalg._cg_system import INFO_NONFINITE

from ._cg_systems import spd_random

N = 12

SOLVERS = {
    "cg": cg,
    "block_cg[block]": partial(block_cg, method="block"),
    "block_cg[batched]": partial(block_cg, method="batched"),
    "block_cg[mixed]": partial(block_cg, precision="mixed"),
}


class Misbehaving(LinearOperator):
    """``A @ x`` for an SPD ``A``, except that the output is ``bad(correct output)``."""

    def __init__(self, A, bad, matmat=True):
        self.A, self.bad, self.has_matmat = A, bad, matmat
        super().__init__(dtype=A.dtype, shape=A.shape)

    def _matvec(self, x):
        return self.bad(self.A @ np.asarray(x).reshape(-1))

    def _matmat(self, X):
        if not self.has_matmat:  # SciPy's default: one matvec per column
            return super()._matmat(X)
        return self.bad(self.A @ X)

    def _adjoint(self):
        return self

    def astype(self, dtype):
        return Misbehaving(self.A.astype(dtype), self.bad, self.has_matmat)


def _rhs(solver, dtype=np.float64):
    b = np.random.default_rng(0).standard_normal((N, 3)).astype(dtype)
    return b[:, 0] if solver is cg else b


def _extra_row(Y):
    return np.concatenate([Y, Y[:1]], axis=0)


def _first_rows(Y):
    return Y[:5]


@pytest.mark.parametrize("name", SOLVERS)
@pytest.mark.parametrize("bad", [_extra_row, _first_rows], ids=["13 rows", "5 rows"])
@pytest.mark.parametrize("matmat", [True, False], ids=["matmat", "matvec only"])
def test_wrong_number_of_rows_names_the_operator_and_the_shapes(name, bad, matmat):
    solver = SOLVERS[name]
    A = Misbehaving(spd_random(N, np.float64).A, bad, matmat=matmat)
    rows = 13 if bad is _extra_row else 5
    with pytest.raises(ValueError) as excinfo:
        solver(A, _rhs(solver))
    message = str(excinfo.value)
    assert "`A`" in message and "Misbehaving" in message
    assert f"({rows}," in message  # the shape the operator returned
    assert f"({N}" in message and f"expected {N} rows" in message


@pytest.mark.parametrize("name", ["cg", "block_cg[block]", "block_cg[batched]"])
def test_wrong_number_of_rows_from_the_preconditioner_names_m(name):
    solver = SOLVERS[name]
    system = spd_random(N, np.float64)
    M = Misbehaving(np.eye(N), _extra_row)
    with pytest.raises(ValueError, match=r"`M` \(Misbehaving.*\(13,"):
        solver(system.A, _rhs(solver), M=M)


def _nan_entry(Y):
    Y = np.array(Y, dtype=Y.dtype)
    Y[0] = np.nan
    return Y


def _inf_entry(Y):
    Y = np.array(Y, dtype=Y.dtype)
    Y[-1] = np.inf
    return Y


@pytest.mark.parametrize("name", SOLVERS)
@pytest.mark.parametrize("bad", [_nan_entry, _inf_entry], ids=["nan", "inf"])
def test_nonfinite_product_returns_info_and_warns_naming_the_operator(name, bad):
    solver = SOLVERS[name]
    A = Misbehaving(spd_random(N, np.float64).A, bad)
    with pytest.warns(RuntimeWarning, match=r"`A` \(Misbehaving.*NaN or infinity"):
        _X, info = solver(A, _rhs(solver))
    assert info == INFO_NONFINITE


@pytest.mark.parametrize("name", ["cg", "block_cg[block]", "block_cg[batched]"])
def test_nonfinite_preconditioner_returns_info_and_warns_naming_m(name):
    solver = SOLVERS[name]
    system = spd_random(N, np.float64)
    M = Misbehaving(np.eye(N), _nan_entry)
    with pytest.warns(RuntimeWarning, match=r"`M` \(Misbehaving"):
        _X, info = solver(system.A, _rhs(solver), M=M)
    assert info == INFO_NONFINITE


def test_the_warning_points_at_the_callers_line():
    A = Misbehaving(spd_random(N, np.float64).A, _nan_entry)
    with pytest.warns(RuntimeWarning) as record:
        block_cg(A, _rhs(block_cg), method="batched")
    assert record[0].filename == __file__

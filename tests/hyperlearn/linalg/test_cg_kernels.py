"""The fused Numba kernels of lockstep CG (``_cg_kernels``) against their NumPy twins
(``_cg_reference.NumpyBatchedOps``) on random inputs, float32 and float64.

Tolerances come from the standard rounding model ``fl(x op y) = (x op y)(1 + δ)``,
``|δ| <= u`` with ``u = eps / 2`` of the working dtype (Higham, *Accuracy and Stability of
Numerical Algorithms*, 2nd ed., §2.2 and §3.1):

- a sum of ``k`` terms in any order is off by at most ``γ_k Σ|terms|``, ``γ_k = k u / (1 - k u)``
  (``GAMMA``); the kernels sum in float64, the reference in the working dtype, so the two
  differ by at most ``(γ_n(u) + γ_n(u64)) Σ|terms|`` plus the rounding of each result;
- an elementwise update ``y ± a x`` makes two roundings (or one, if fused into an FMA), so the
  two computations differ by at most ``ELEMENTWISE_ROUNDINGS * u * (|y| + |a x|)``.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from hyperlearn.linalg import _cg_kernels as kernels
from hyperlearn.linalg._cg_reference import NumpyBatchedOps

#: Roundings in which two evaluations of one elementwise update ``y + a x`` may differ: each
#: makes at most two (product, sum), so their results differ by at most 2 u (|y| + |a x|) each.
ELEMENTWISE_ROUNDINGS = 4
U64 = np.finfo(np.float64).eps / 2


def unit_roundoff(dtype):
    return np.finfo(dtype).eps / 2


def gamma(k, u):
    """Higham's ``γ_k = k u / (1 - k u)``: the relative error bound of a k-term sum."""
    return k * u / (1 - k * u)


def dot_bound(P, Q, u):
    """Largest difference of two evaluations of ``Σ_i P[i, j] Q[i, j]`` (per column)."""
    n = P.shape[0]
    terms = np.sum(np.abs(P.astype(np.float64) * Q.astype(np.float64)), axis=0)
    return (gamma(n, u) + gamma(n, U64) + 2 * u) * terms


def _draw(seed, n, m, dtype):
    rng = np.random.default_rng(seed)
    blocks = [
        np.ascontiguousarray(rng.standard_normal((n, m)) * 10.0 ** rng.uniform(-3, 3, m), dtype)
        for _ in range(4)
    ]
    vectors = [rng.standard_normal(m) * 10.0 ** rng.uniform(-2, 2, m) for _ in range(2)]
    return rng, blocks, vectors


shapes = st.tuples(
    st.integers(0, 2**32 - 1),
    st.integers(1, 1300),  # several chunks of ROWS_PER_CHUNK rows, and a partial one
    st.integers(1, 7),
    st.sampled_from([np.float32, np.float64]),
)


@settings(deadline=None, max_examples=40)
@given(shapes)
def test_column_dots_match_reference(case):
    seed, n, m, dtype = case
    _, (P, Q, _, _), _ = _draw(seed, n, m, dtype)
    got = kernels.column_dots(P, Q)
    want = NumpyBatchedOps.column_dots(P, Q)
    assert got.dtype == np.float64
    assert np.all(np.abs(got - want) <= dot_bound(P, Q, unit_roundoff(dtype)))


@settings(deadline=None, max_examples=40)
@given(shapes)
def test_residual_update_matches_reference(case):
    seed, n, m, dtype = case
    _, (R, Q, _, _), (a, _) = _draw(seed, n, m, dtype)
    u = unit_roundoff(dtype)
    R_kernel, R_ref = R.copy(), R.copy()
    norms_kernel = kernels.residual_update(R_kernel, Q, a)
    norms_ref = NumpyBatchedOps.residual_update(R_ref, Q, a)
    scale = np.abs(R.astype(np.float64)) + np.abs(a.astype(dtype) * Q.astype(np.float64))
    assert np.all(np.abs(R_kernel - R_ref.astype(np.float64)) <= ELEMENTWISE_ROUNDINGS * u * scale)
    # the norms are of the kernel's own R (bitwise its output), the reference's of its own
    assert np.all(
        np.abs(norms_kernel - norms_ref) <= dot_bound(R_ref, R_ref, u) + _drift(R_kernel, R_ref)
    )


def _drift(R1, R2):
    """Bound of ``|Σ r1² − Σ r2²|`` from the entrywise difference of two evaluations of R."""
    R1, R2 = R1.astype(np.float64), R2.astype(np.float64)
    diff = np.abs(R1 - R2)
    return np.sum(diff * (np.abs(R1) + np.abs(R2)), axis=0) * (1 + 1e-12)


@settings(deadline=None, max_examples=40)
@given(shapes)
def test_direction_update_matches_reference(case):
    seed, n, m, dtype = case
    _, (X, P, Z, _), (a, beta) = _draw(seed, n, m, dtype)
    u = unit_roundoff(dtype)
    Xk, Pk, Xr, Pr = X.copy(), P.copy(), X.copy(), P.copy()
    kernels.direction_update(Xk, Pk, Z, a, beta)
    NumpyBatchedOps.direction_update(Xr, Pr, Z, a, beta)
    P64 = P.astype(np.float64)
    x_scale = np.abs(X.astype(np.float64)) + np.abs(a.astype(dtype) * P64)
    p_scale = np.abs(Z.astype(np.float64)) + np.abs(beta.astype(dtype) * P64)
    assert np.all(np.abs(Xk.astype(np.float64) - Xr) <= ELEMENTWISE_ROUNDINGS * u * x_scale)
    assert np.all(np.abs(Pk.astype(np.float64) - Pr) <= ELEMENTWISE_ROUNDINGS * u * p_scale)


@settings(deadline=None, max_examples=40)
@given(shapes)
def test_fold_update_matches_reference(case):
    """Mixed precision: float64 ``X`` += scale (float32 ``X_lo`` + a float32 ``P``)."""
    seed, n, m, low = case
    rng, (X_lo, P, _, _), (a, scale) = _draw(seed, n, m, low)
    scale = np.abs(scale)
    X = rng.standard_normal((n, m + 2))
    cols = np.sort(rng.choice(m, size=rng.integers(1, m + 1), replace=False)).astype(np.intp)
    x_cols = rng.choice(m + 2, size=cols.size, replace=False).astype(np.intp)
    Xk, Xr, Lk, Lr = X.copy(), X.copy(), X_lo.copy(), X_lo.copy()
    kernels.fold_update(Xk, x_cols, Lk, P, a, scale, cols)
    NumpyBatchedOps.fold_update(Xr, x_cols, Lr, P, a, scale, cols)
    step = np.abs(X_lo[:, cols].astype(np.float64)) + np.abs(a[cols] * P[:, cols])
    bound = ELEMENTWISE_ROUNDINGS * U64 * (np.abs(X[:, x_cols]) + 2 * scale[cols] * step)
    assert np.all(np.abs(Xk[:, x_cols] - Xr[:, x_cols]) <= bound)
    untouched = np.setdiff1d(np.arange(m + 2), x_cols)
    np.testing.assert_array_equal(Xk[:, untouched], X[:, untouched])
    np.testing.assert_array_equal(Lk, Lr)  # the folded columns zeroed, the others kept
    assert not np.any(Lk[:, cols])


@settings(deadline=None, max_examples=40)
@given(shapes)
def test_replace_residuals_matches_reference(case):
    seed, n, m, dtype = case
    rng, (R, P, _, _), (inv_norm, rescale) = _draw(seed, n, m, dtype)
    u = unit_roundoff(dtype)
    cols = np.sort(rng.choice(m, size=rng.integers(1, m + 1), replace=False)).astype(np.intp)
    R_true = rng.standard_normal((n, cols.size))
    inv_norm, rescale = np.abs(inv_norm[: cols.size]), np.abs(rescale[: cols.size])
    Rk, Pk, Rr, Pr = R.copy(), P.copy(), R.copy(), P.copy()
    kernels.replace_residuals(Rk, Pk, cols, R_true, inv_norm, rescale)
    NumpyBatchedOps.replace_residuals(Rr, Pr, cols, R_true, inv_norm, rescale)
    # R: one product rounded once in float64 and cast to the dtype in both
    np.testing.assert_allclose(Rk, Rr, rtol=2 * u, atol=0)
    # P: the kernel rounds P * rescale once; the reference rounds rescale first, then the product
    P_exact = np.abs(P[:, cols].astype(np.float64) * rescale)
    assert np.all(np.abs(Pk[:, cols].astype(np.float64) - Pr[:, cols]) <= 3 * u * P_exact)
    others = np.setdiff1d(np.arange(m), cols)
    np.testing.assert_array_equal(Rk[:, others], R[:, others])
    np.testing.assert_array_equal(Pk[:, others], P[:, others])

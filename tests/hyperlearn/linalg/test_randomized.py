"""Tests of hyperlearn.linalg randomized_range_finder / randomized_svd / randomized_eigh / nystrom.

Every numerical check compares with an exact oracle (LAPACK SVD/eigh in float64) and a tolerance
derived from theory with its constant named here:

- exact rank r with ``n_components + n_oversamples >= r``: the sketch spans range(A), so the
  error is the optimal sigma_{k+1} plus rounding ``ROUNDING_SLACK * sqrt(max(m, n)) * eps * ||A||``;
- noisy input: the error averaged over ``N_SEEDS`` seeds stays below the Halko-Martinsson-Tropp
  expectation bound of the power scheme (HMT 2011, Cor. 10.10);
- fixed-accuracy mode: ``||A - U S Vt|| <= tol * ||A||`` (a-posteriori estimate with failure
  probability 1e-6 per call).
"""

import math
import warnings

import numpy as np
import pytest
import scipy.linalg as sla
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.linalg import LinearOperator, aslinearoperator
from sklearn.datasets import make_low_rank_matrix
from sklearn.utils.extmath import randomized_range_finder as sk_range_finder
from sklearn.utils.extmath import randomized_svd as sk_randomized_svd

import hyperlearn.linalg._krylov_svd as ksvd
import hyperlearn.linalg._lanczos as lanczos
import hyperlearn.linalg._sketch as sketch
from hyperlearn.linalg import nystrom, randomized_eigh, randomized_range_finder, randomized_svd
from hyperlearn.testing import hmt_power_bound
from hyperlearn.testing.strategies import matrices_with_spectrum

# c in c * sqrt(max(m, n)) * eps * ||A||_2: rounding error of the computed factorisation.
# Probabilistic rounding analysis gives sqrt(n) growth per GEMM/QR/SVD; c counts the handful of
# them in sequence (range QR, Q^T A, small SVD, U = Q U_b, the residual itself), each ~2-4.
# Largest observed c: 11 (7 x 7 float64, full-width sketch), hence 20.
ROUNDING_SLACK = 20.0
# number of seeds over which the HMT *expectation* bounds are checked (the mean, not each seed)
N_SEEDS = 8
# relative slack when checking that the mean error does not grow with more power iterations:
# the errors are compared up to rounding only.
MONOTONE_RTOL = 1e-9
# c in ||A - A_nys|| <= c * (nu + sqrt(n) * eps * ||A||) for exactly low-rank PSD A: the stabilising
# shift nu = sqrt(n) * eps * ||Y||_F <= sqrt(n * l) * eps * ||A|| (Tropp et al. 2017) is removed
# again up to the conditioning of the small Cholesky factor; c absorbs that and the rounding.
NYSTROM_SLACK = 10.0

FLOATS = (np.float32, np.float64)


def eps_of(dtype):
    return float(np.finfo(dtype).eps)


def rounding(A_shape, norm, dtype):
    return ROUNDING_SLACK * math.sqrt(max(A_shape)) * eps_of(dtype) * norm


def dense64(A):
    return A.toarray().astype(np.float64) if sp.issparse(A) else np.asarray(A, dtype=np.float64)


def spectral_error(A, U, s, Vt):
    R = dense64(A) - (U.astype(np.float64) * s.astype(np.float64)) @ Vt.astype(np.float64)
    return float(np.linalg.norm(R, 2)) if R.size else 0.0


def exact_rank_matrix(m, n, r, seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    U = sla.qr(rng.standard_normal((m, r)), mode="economic")[0]
    V = sla.qr(rng.standard_normal((n, r)), mode="economic")[0]
    s = np.sort(rng.uniform(0.1, 1.0, r))[::-1]
    return ((U * s) @ V.T).astype(dtype), s


def decaying_matrix(m, n, seed, decay="slow", dtype=np.float64):
    rng = np.random.default_rng(seed)
    r = min(m, n)
    U = sla.qr(rng.standard_normal((m, r)), mode="economic")[0]
    V = sla.qr(rng.standard_normal((n, r)), mode="economic")[0]
    j = np.arange(1, r + 1)
    s = j**-0.5 if decay == "slow" else np.exp(-j / 4.0)
    return ((U * s) @ V.T).astype(dtype), s


def spy_krylov_widths(monkeypatch):
    """The block widths of every ``_block_krylov_svd`` run, in order (a list filled later)."""
    widths = []
    original = ksvd._block_krylov_svd

    def spy(A, Omega, *args, **kwargs):
        widths.append(Omega.shape[1])
        return original(A, Omega, *args, **kwargs)

    monkeypatch.setattr(ksvd, "_block_krylov_svd", spy)
    return widths


def assert_orthonormal_columns(Q, what):
    k = Q.shape[1]
    dev = np.abs(Q.astype(np.float64).T @ Q.astype(np.float64) - np.eye(k)).max()
    assert dev <= ROUNDING_SLACK * math.sqrt(Q.shape[0]) * eps_of(Q.dtype), (what, dev)


# --- exact rank --------------------------------------------------------------------------------


@settings(max_examples=30)
@given(
    matrices_with_spectrum(
        shape=((2, 40), (2, 40)),
        spectrum="exact_rank",
        rank=(1, 8),
        dtype=st.sampled_from(FLOATS),
    ),
    st.data(),
)
def test_exact_rank_is_recovered_to_rounding(args, data):
    A, _, s_true, _ = args
    m, n = A.shape
    r = int(np.count_nonzero(s_true))
    k = data.draw(st.integers(1, min(m, n)), label="n_components")
    p = max(0, r - k) + data.draw(st.integers(0, 4), label="extra oversampling")
    n_iter = data.draw(st.sampled_from(["auto", 0, 1, 2, 3]), label="n_iter")
    # 'auto' is LU for every n_iter >= 1 (scikit-learn's 'none' for n_iter <= 2 would fail this:
    # see test_auto_normalizer_is_accurate_where_sklearns_none_is_not)
    normalizer = data.draw(st.sampled_from(["auto", "QR", "LU"]), label="normalizer")
    U, s, Vt = randomized_svd(
        A, k, n_oversamples=p, n_iter=n_iter, power_iteration_normalizer=normalizer, random_state=0
    )
    assert U.shape == (m, k) and s.shape == (k,) and Vt.shape == (k, n)
    norm = float(s_true[0])
    optimal = float(s_true[k]) if k < len(s_true) else 0.0
    assert spectral_error(A, U, s, Vt) <= optimal + rounding(A.shape, norm, A.dtype)
    assert np.all(np.diff(s.astype(np.float64)) <= rounding(A.shape, norm, A.dtype))
    assert np.abs(s[: min(k, r)] - s_true[: min(k, r)]).max() <= rounding(A.shape, norm, A.dtype)
    assert_orthonormal_columns(U[:, : min(k, r)], "U")
    assert_orthonormal_columns(Vt[: min(k, r)].T, "V")


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("k,r", [(3, 3), (6, 3), (2, 4)])
def test_exact_rank_on_the_block_krylov_path(dtype, seed, k, r, monkeypatch):
    """Large enough for the adaptive block Krylov path; the Krylov space is exhausted (rank r)."""
    calls = []
    original = ksvd._block_krylov_svd
    monkeypatch.setattr(
        ksvd, "_block_krylov_svd", lambda *a, **kw: calls.append(1) or original(*a, **kw)
    )
    A, s_true = exact_rank_matrix(320, 260, r, seed, dtype)
    U, s, Vt = randomized_svd(A, k, n_oversamples=2, random_state=seed)
    assert calls, "the adaptive path was expected to use block Krylov"
    optimal = float(s_true[k]) if k < r else 0.0
    assert spectral_error(A, U, s, Vt) <= optimal + rounding(A.shape, s_true[0], dtype)
    assert_orthonormal_columns(U[:, : min(k, r)], "U")
    assert_orthonormal_columns(Vt[: min(k, r)].T, "V")


# --- noisy input: HMT expectation bounds -------------------------------------------------------


@pytest.mark.parametrize("q", [0, 1, 2])
def test_range_finder_mean_error_below_hmt_power_bound(q):
    A, s = decaying_matrix(120, 80, seed=0, decay="slow")
    k, p = 5, 5
    errors = []
    for seed in range(N_SEEDS):
        Q = randomized_range_finder(
            A, size=k + p, n_iter=q, power_iteration_normalizer="QR", random_state=seed
        )
        errors.append(np.linalg.norm(A - Q @ (Q.T @ A), 2))
    assert np.mean(errors) <= hmt_power_bound(s, k, p, q) + rounding(A.shape, s[0], A.dtype)


@pytest.mark.parametrize("n_iter", [0, 2, "auto"])
def test_svd_mean_error_below_hmt_bound_plus_truncation(n_iter):
    """Truncating Q Q^T A to rank k adds at most sigma_{k+1} (HMT 2011, Thm 9.3)."""
    A, s = decaying_matrix(250, 200, seed=1, decay="slow")
    k, p = 4, 4
    # 'auto' takes the block Krylov path here, whose space contains (AA^T) A Omega: the q = 1
    # power-scheme bound applies (it stops after at least two blocks)
    q = 1 if n_iter == "auto" else n_iter
    errors = [
        spectral_error(A, *randomized_svd(A, k, n_oversamples=p, n_iter=n_iter, random_state=seed))
        for seed in range(N_SEEDS)
    ]
    bound = hmt_power_bound(s, k, p, q) + s[k] + rounding(A.shape, s[0], A.dtype)
    assert np.mean(errors) <= bound


def test_mean_error_does_not_grow_with_power_iterations():
    A, s = decaying_matrix(150, 100, seed=2, decay="slow")
    k, p = 5, 5
    means = []
    for q in range(5):
        errs = [
            np.linalg.norm(
                A
                - (Q := randomized_range_finder(A, size=k + p, n_iter=q, random_state=seed))
                @ (Q.T @ A),
                2,
            )
            for seed in range(N_SEEDS)
        ]
        means.append(float(np.mean(errs)))
    slack = rounding(A.shape, s[0], A.dtype)
    for q in range(4):
        assert means[q + 1] <= means[q] * (1 + MONOTONE_RTOL) + slack, means


def test_auto_is_at_least_as_accurate_as_sklearn_default():
    """The adaptive Krylov default against scikit-learn's 7 LU power iterations (slow decay)."""
    A, s = decaying_matrix(300, 260, seed=3, decay="slow")
    k = 4
    ours = randomized_svd(A, k, n_oversamples=3, random_state=0)
    theirs = sk_randomized_svd(A, k, n_oversamples=3, random_state=0)
    sv_ours = np.abs(ours[1] - s[:k]).max() / s[k - 1]
    sv_theirs = np.abs(theirs[1] - s[:k]).max() / s[k - 1]
    assert sv_ours <= sv_theirs + rounding(A.shape, s[0], A.dtype)
    assert spectral_error(A, *ours) <= spectral_error(A, *theirs) * (1 + 1e-6)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("decay", ["slow", "fast"])
def test_narrow_krylov_block_is_at_least_as_accurate_as_sklearn(dtype, decay, monkeypatch):
    """k = 30: the Krylov block has k // 2 + 2 = 17 columns, fewer than k, and the half-step
    stopping test is active; the result must still be at least as accurate as scikit-learn's
    default (singular values and spectral error, up to rounding)."""
    widths = spy_krylov_widths(monkeypatch)
    A, s = decaying_matrix(1000, 960, seed=4, decay=decay, dtype=dtype)
    k = 30
    ours = randomized_svd(A, k, random_state=0)
    theirs = sk_randomized_svd(A, k, random_state=0)
    assert widths == [k // 2 + ksvd.KRYLOV_SVD_OVERSAMPLES]
    slack = rounding(A.shape, s[0], dtype)
    sv_ours = np.abs(ours[1].astype(np.float64) - s[:k]).max()
    sv_theirs = np.abs(theirs[1].astype(np.float64) - s[:k]).max()
    assert sv_ours <= sv_theirs + slack
    assert spectral_error(A, *ours) <= spectral_error(A, *theirs) + slack
    assert_orthonormal_columns(ours[0], "U")
    assert_orthonormal_columns(ours[2].T, "V")


def step_matrix(m, n, levels, seed, dtype=np.float64):
    """U diag(s) V^T with s a step spectrum: ``levels`` is a list of (value, multiplicity)
    pairs, the rest of the spectrum 0."""
    rng = np.random.default_rng(seed)
    r = min(m, n)
    s = np.zeros(r)
    start = 0
    for value, count in levels:
        s[start : start + count] = value
        start += count
    U = sla.qr(rng.standard_normal((m, r)), mode="economic")[0]
    V = sla.qr(rng.standard_normal((n, r)), mode="economic")[0]
    return ((U * s) @ V.T).astype(dtype), s


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("multiplicity", [17, 20, 40, 80])
def test_repeated_singular_value_wider_than_the_narrow_block(dtype, multiplicity, monkeypatch):
    """A singular value repeated more often than the narrow Krylov block (17 columns for
    k = 30) followed by an exactly repeated tail: a block of b columns finds exactly b copies,
    the Krylov space becomes invariant and every residual is at rounding level, so only the
    cluster check can notice the missing copies (before it, 17 ones and 13 values 0.1 were
    returned: relative error 0.9).  The result must equal the exact spectrum to rounding, and
    the narrow block must have been abandoned for one of k + 2 columns."""
    widths = spy_krylov_widths(monkeypatch)
    k = 30
    A, s = step_matrix(1000, 960, [(1.0, multiplicity), (0.1, 960 - multiplicity)], seed=1)
    A = A.astype(dtype)
    _, sv, _ = randomized_svd(A, k, random_state=0)
    slack = rounding(A.shape, s[0], dtype)
    assert np.abs(sv.astype(np.float64) - s[:k]).max() <= slack
    assert widths[0] == k // 2 + ksvd.KRYLOV_SVD_OVERSAMPLES
    assert widths[-1] == k + ksvd.KRYLOV_SVD_OVERSAMPLES


@settings(max_examples=20)
@given(
    top=st.integers(1, 4),
    multiplicity=st.integers(12, 60),
    spread_exp=st.integers(-12, -3),
    exact_tail=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_clustered_spectra_are_as_accurate_as_sklearn(
    top, multiplicity, spread_exp, exact_tail, seed
):
    """``top`` distinct leading values, then a cluster of ``multiplicity`` values within a
    relative spread 10^spread_exp, then a tail exactly repeated (the Krylov space becomes
    invariant) or nearly flat: at least as accurate as
    scikit-learn's default (its Ritz values lie within the cluster as well) up to the
    cluster's own spread, for k = 30 (narrow block of 17)."""
    rng = np.random.default_rng(seed)
    m, n, k = 400, 330, 30
    spread = 10.0**spread_exp
    s = np.concatenate(
        [
            np.linspace(3.0, 2.0, top),
            1.0 - spread * rng.random(multiplicity),
            0.1 * (1.0 - (0.0 if exact_tail else 0.01) * rng.random(n - top - multiplicity)),
        ]
    )
    s = np.sort(s)[::-1]
    U = sla.qr(rng.standard_normal((m, n)), mode="economic")[0]
    V = sla.qr(rng.standard_normal((n, n)), mode="economic")[0]
    A = (U * s) @ V.T
    with pytest.MonkeyPatch.context() as mp:  # the Krylov path (the cost model would not)
        mp.setattr(ksvd, "_krylov_pays_off", lambda *args: True)
        _, ours, _ = randomized_svd(A, k, random_state=seed)
    _, theirs, _ = sk_randomized_svd(A, k, random_state=seed)
    err_ours = np.abs(ours - s[:k]).max() / s[k - 1]
    err_theirs = np.abs(theirs - s[:k]).max() / s[k - 1]
    assert err_ours <= err_theirs + spread + rounding(A.shape, s[0], A.dtype) / s[k - 1]


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("log_cond", [1, 6, 9, 12, 17])
def test_cholesky_qr2_never_overwrites_its_input(order, log_cond):
    """Whether it succeeds or bails out (ill conditioned: the caller falls back to Householder
    QR on the same block), ``_cholesky_qr2`` leaves its input unchanged.  Regression: with an
    F-ordered block the first triangular solve ran in place, so a bail-out in the second pass
    handed the caller W R^-1 instead of W (block Krylov then lost orthogonality and returned
    singular values off by 50%)."""
    rng = np.random.default_rng(log_cond)
    Q = sla.qr(rng.standard_normal((200, 12)), mode="economic")[0]
    W = np.asarray(
        (Q * np.logspace(0, -log_cond, 12)) @ sla.qr(rng.standard_normal((12, 12)))[0], order=order
    )
    before = W.copy()
    out = sketch._cholesky_qr2(W, threshold=np.finfo(np.float64).eps ** 0.5)
    assert np.array_equal(W, before)
    if out is not None:
        Qc, Rc = out
        assert_orthonormal_columns(Qc, "Q")
        assert np.linalg.norm(Qc @ Rc - W) <= ROUNDING_SLACK * math.sqrt(200) * eps_of(
            W.dtype
        ) * np.linalg.norm(W)


def test_too_small_a_krylov_budget_falls_back_to_sklearns_scheme(monkeypatch):
    """When the cost budget (or the matrix) leaves fewer than _krylov_min_blocks blocks for
    both block widths, the default path is scikit-learn's scheme: same test matrix, same
    iterations, so the same singular values up to rounding."""
    monkeypatch.setattr(ksvd, "_krylov_pays_off", lambda *args: True)
    monkeypatch.setattr(ksvd, "_krylov_block_budget", lambda *args: 1)
    calls = []
    original = ksvd._block_krylov_svd
    monkeypatch.setattr(
        ksvd, "_block_krylov_svd", lambda *a, **kw: calls.append(1) or original(*a, **kw)
    )
    A, s = decaying_matrix(300, 250, seed=2, decay="slow")
    _, ours, _ = randomized_svd(A, 30, random_state=0)
    _, theirs, _ = sk_randomized_svd(A, 30, random_state=0)
    assert not calls
    assert np.abs(ours - theirs).max() <= rounding(A.shape, s[0], A.dtype)
    assert ksvd._krylov_min_blocks(7) == 5 and ksvd._krylov_min_blocks(0) == 2


def test_error_estimate_uses_the_gap_below_a_cluster():
    """Four Ritz values in a cluster (1, 1 - 1e-9, ...) above 0.5 and 0.4, every residual r:
    the single-vector Kato-Temple form has no gap inside the cluster (its ``width`` index is in
    the cluster) and falls back to r / theta; the cluster form gives, for every member j,
    sum_{i<p} theta_i^2 r^2 / (2 theta_j^2 (theta_j^2 - theta_p^2)), the best of p = 4
    (gap to 0.5) and p = 5 (gap to 0.4)."""
    r = 1e-4
    sv = np.array([1.0, 1.0 - 1e-9, 1.0 - 2e-9, 1.0 - 3e-9, 0.5, 0.4])
    res = np.full(6, r)
    est = ksvd._residual_error_estimate(sv, res, 4, 2, eps=0.0)
    top = sv[:4]
    below_cluster = np.sum(sv[:4] ** 2) * r * r / (2.0 * top**2 * (top**2 - 0.25))
    with_half = np.sum(sv[:5] ** 2) * r * r / (2.0 * top**2 * (top**2 - 0.16))
    np.testing.assert_allclose(est, np.minimum(below_cluster, with_half), rtol=1e-12)
    # residuals of the first k only (no Ritz value below to mark the edge): r / theta
    alone = ksvd._residual_error_estimate(sv[:4], res[:4], 4, 2, eps=0.0)
    np.testing.assert_allclose(alone, r / top, rtol=1e-12)
    # an edge value that has not converged itself (residual above CLUSTER_GAP_TRUST times its
    # distance) marks no edge: back to r / theta
    res_edge = res.copy()
    res_edge[4:] = 0.5
    untrusted = ksvd._residual_error_estimate(sv, res_edge, 4, 2, eps=0.0)
    np.testing.assert_allclose(untrusted, r / top, rtol=1e-12)


def test_cluster_stops_before_the_budget(monkeypatch):
    """float32, one leading value above a cluster of 54 (spread 1e-10) above a nearly flat tail
    (0.1 - 1e-3 u), k = 26: the narrow block is abandoned for k + 2 columns, and the cluster
    form of the error estimate lets that run stop a block before its budget (the single-vector
    form cannot certify values inside a cluster: it ran 5 of 5 blocks); as accurate as
    scikit-learn's default up to float32 rounding."""
    runs = []
    original = ksvd._block_krylov_svd

    def spy(A, Omega, k, max_iter, *args, **kwargs):
        products = []
        forward = A.mm

        class Counting:
            def __getattr__(self, name):
                return getattr(A, name)

            def mm(self, X):
                products.append(X.shape[1])
                return forward(X)

        try:
            return original(Counting(), Omega, k, max_iter, *args, **kwargs)
        finally:  # also when the narrow run is abandoned (an exception)
            runs.append((Omega.shape[1], max_iter + 1, len(products)))

    monkeypatch.setattr(ksvd, "_block_krylov_svd", spy)
    rng = np.random.default_rng(0)
    m, n, k = 900, 850, 26
    s = np.concatenate([[2.0], 1.0 - 1e-10 * rng.random(54), 0.1 - 1e-3 * rng.random(n - 55)])
    s = np.sort(s)[::-1]
    U = sla.qr(rng.standard_normal((m, n)), mode="economic")[0]
    V = sla.qr(rng.standard_normal((n, n)), mode="economic")[0]
    A = ((U * s) @ V.T).astype(np.float32)
    _, ours, _ = randomized_svd(A, k, random_state=0)
    _, theirs, _ = sk_randomized_svd(A, k, random_state=0)
    assert [w for w, _, _ in runs] == [k // 2 + 2, k + 2]
    _, blocks, forward_products = runs[-1]
    assert forward_products < blocks
    err_ours = np.abs(ours.astype(np.float64) - s[:k]).max()
    err_theirs = np.abs(theirs.astype(np.float64) - s[:k]).max()
    assert err_ours <= err_theirs + rounding(A.shape, s[0], A.dtype)


def test_cluster_check_counts_values_within_the_relative_spread():
    b = 3
    # three values within CLUSTER_RTOL of the first of them: a cluster filling the block
    sv = np.array([5.0, 1.0, 1.0 - ksvd.CLUSTER_RTOL / 2, 1.0 - ksvd.CLUSTER_RTOL, 0.5])
    assert ksvd._cluster_fills_block(sv, 4, b)
    # only within the top k
    assert not ksvd._cluster_fills_block(sv, 3, b)
    # a spread just wider than CLUSTER_RTOL
    sv[3] = 1.0 - 1.01 * ksvd.CLUSTER_RTOL
    assert not ksvd._cluster_fills_block(sv, 5, b)
    # fewer than b values
    assert not ksvd._cluster_fills_block(np.ones(2), 2, b)


@settings(max_examples=40)
@given(
    m=st.integers(50, 20000),
    n=st.integers(50, 20000),
    b=st.integers(12, 120),
    extra=st.integers(0, 20),
    n_iter=st.integers(1, 7),
    speedup=st.sampled_from([1.0, 2.0]),
)
def test_krylov_block_budget_stays_within_sklearns_cost(m, n, b, extra, n_iter, speedup):
    """The dense cost model (DENSE_PASS_FIXED_COLUMNS, EIGH_FLOP_FACTOR): the blocks chosen
    cost at most scikit-learn's 2 (q + 1) products of ``width`` columns, one more block would not
    (unless only one block fits), evaluated by summing the model directly."""
    width = b + extra
    blocks = ksvd._krylov_block_budget(m, n, b, width, n_iter, speedup)
    fixed = ksvd.DENSE_PASS_FIXED_COLUMNS

    def cost(count):
        total = 0.0
        for j in range(1, count + 1):
            h = j * b
            total += (4.0 * m * n * (b + fixed) + 8.0 * (m + n) * h * b) / speedup
            total += 2.0 * ksvd.EIGH_FLOP_FACTOR * h**3
        return total

    budget = 4.0 * (n_iter + 1) * m * n * (width + fixed) / speedup
    assert blocks >= 1
    assert blocks == 1 or cost(blocks) <= budget * (1 + 1e-12)
    assert cost(blocks + 1) > budget * (1 - 1e-12)


# --- fixed-accuracy mode -----------------------------------------------------------------------


@settings(max_examples=25)
@given(
    shape=st.tuples(st.integers(20, 90), st.integers(20, 90)),
    decay=st.sampled_from(["slow", "fast"]),
    log_tol=st.floats(-6, math.log10(0.5)),
    seed=st.integers(0, 2**16),
    transposed=st.booleans(),
)
def test_tol_mode_meets_its_tolerance(shape, decay, log_tol, seed, transposed):
    A, s = decaying_matrix(*shape, seed=seed, decay=decay)
    if transposed:
        A = A.T
    tol = 10.0**log_tol
    U, s_hat, Vt = randomized_svd(A, min(A.shape), tol=tol, random_state=seed)
    r = len(s_hat)
    assert U.shape == (A.shape[0], r) and Vt.shape == (r, A.shape[1])
    err = spectral_error(A, U, s_hat, Vt)
    assert err <= tol * s[0] + rounding(A.shape, s[0], A.dtype)
    # meeting the tolerance needs at least the tol-rank (Eckart-Young: error >= sigma_{r+1})
    assert r >= int(np.sum(s > tol * s[0] + rounding(A.shape, s[0], A.dtype)))


def test_tol_mode_warns_when_n_components_is_too_small():
    A, s = decaying_matrix(80, 60, seed=0, decay="slow")
    with pytest.warns(RuntimeWarning, match="not reached"):
        U, s_hat, Vt = randomized_svd(A, 5, tol=1e-6, random_state=0)
    assert len(s_hat) == 5
    assert spectral_error(A, U, s_hat, Vt) <= s[5] * 10  # best rank-5 plus the sketch's slack


def test_tol_mode_exact_rank_finds_the_rank():
    A, _ = exact_rank_matrix(90, 70, 6, seed=4)
    _U, s, _Vt = randomized_svd(A, 70, tol=1e-8, random_state=0)
    assert len(s) == 6


# --- contracts: determinism, dtype, transpose, input types, signs ------------------------------


def _all_calls(A, seed):
    S = A @ A.T
    return [
        randomized_svd(A, 3, random_state=seed),
        randomized_svd(A, 3, n_iter=2, power_iteration_normalizer="QR", random_state=seed),
        randomized_svd(A, min(A.shape), tol=1e-3, random_state=seed),
        randomized_eigh(S, 3, random_state=seed),
        randomized_eigh(S, 3, method="nystrom", random_state=seed),
        nystrom(S, 3, n_iter=1, random_state=seed),
        (randomized_range_finder(A, size=4, n_iter=3, random_state=seed),),
    ]


@pytest.mark.parametrize("seed", [0, 123])
def test_same_random_state_gives_identical_output(seed):
    A, _ = decaying_matrix(200, 180, seed=5)
    first, second = _all_calls(A, seed), _all_calls(A, seed)
    for a, b in zip(first, second, strict=True):
        for x, y in zip(a, b, strict=True):
            assert np.array_equal(x, y)
    g1 = randomized_svd(A, 3, random_state=np.random.default_rng(7))
    g2 = randomized_svd(A, 3, random_state=np.random.default_rng(7))
    assert all(np.array_equal(x, y) for x, y in zip(g1, g2, strict=True))


@pytest.mark.parametrize("container", ["dense", "csr", "operator"])
@pytest.mark.parametrize("path", ["auto", "explicit", "tol"])
def test_float32_in_float32_out(container, path):
    A, _ = decaying_matrix(220, 200, seed=6, dtype=np.float32)
    X = {"dense": A, "csr": sp.csr_matrix(A), "operator": aslinearoperator(A)}[container]
    kw = {"auto": {}, "explicit": {"n_iter": 2}, "tol": {"tol": 1e-2}}[path]
    U, s, Vt = randomized_svd(X, 200 if path == "tol" else 5, random_state=0, **kw)
    assert U.dtype == s.dtype == Vt.dtype == np.float32
    S = A @ A.T
    for method in ("subspace", "nystrom"):
        w, V = randomized_eigh(S, 3, method=method, random_state=0)
        assert w.dtype == V.dtype == np.float32


def test_integer_input_becomes_float64():
    A = np.arange(60).reshape(10, 6) % 7
    U, s, Vt = randomized_svd(A, 2, random_state=0)
    assert U.dtype == s.dtype == Vt.dtype == np.float64


@pytest.mark.parametrize("container", ["dense", "operator"])
def test_float16_input_is_computed_in_float32(container):
    """The one float16 rule (hyperlearn.utils._validation): float16 -> float32, and the result
    equals that of the same values given as float32 (SciPy sparse has no float16)."""
    A16 = np.random.default_rng(3).standard_normal((30, 20)) @ np.diag(0.8 ** np.arange(20))
    A16 = A16.astype(np.float16)
    wrap = aslinearoperator if container == "operator" else np.asarray
    U, s, Vt = randomized_svd(wrap(A16), 3, random_state=0)
    U32, s32, Vt32 = randomized_svd(wrap(A16.astype(np.float32)), 3, random_state=0)
    assert U.dtype == s.dtype == Vt.dtype == np.float32
    assert np.array_equal(s, s32) and np.array_equal(U, U32) and np.array_equal(Vt, Vt32)
    S16 = (A16.astype(np.float32).T @ A16.astype(np.float32)).astype(np.float16)
    w, V = randomized_eigh(wrap(S16), 2, random_state=0)
    w32, V32 = randomized_eigh(wrap(S16.astype(np.float32)), 2, random_state=0)
    assert w.dtype == V.dtype == np.float32
    assert np.array_equal(w, w32) and np.array_equal(V, V32)
    Q = randomized_range_finder(wrap(A16), size=3, n_iter=1, random_state=0)
    assert Q.dtype == np.float32


@pytest.mark.parametrize("shape", [(240, 200), (200, 240), (30, 20)])
def test_transpose_consistency(shape):
    A, s_true = exact_rank_matrix(*shape, 4, seed=7)
    outs = [randomized_svd(A, 4, random_state=0, transpose=t) for t in (True, False, "auto")]
    tol = rounding(A.shape, s_true[0], A.dtype)
    for U, s, Vt in outs:
        assert np.abs(s - s_true).max() <= tol
        assert spectral_error(A, U, s, Vt) <= tol
    # with signs fixed by the same rule, the factors themselves agree
    gap = float(np.min(np.abs(np.diff(s_true))))
    for U, _s, _Vt in outs[1:]:
        assert np.abs(U - outs[0][0]).max() <= 2 * tol / gap


@pytest.mark.parametrize("shape", [(260, 210), (40, 30)])
def test_sparse_dense_and_operator_inputs_agree(shape):
    A, s_true = exact_rank_matrix(*shape, 5, seed=8)
    inputs = [A, sp.csr_matrix(A), sp.csc_matrix(A), sp.coo_matrix(A), aslinearoperator(A)]
    tol = rounding(A.shape, s_true[0], A.dtype)
    results = [randomized_svd(X, 5, random_state=1) for X in inputs]
    for U, s, Vt in results:
        assert np.abs(s - s_true).max() <= tol
        assert spectral_error(A, U, s, Vt) <= tol
        # same test matrix, same sign rule: the singular vectors agree up to rounding / gap
        gap = np.min(np.abs(np.diff(s_true)))
        assert np.abs(U - results[0][0]).max() <= 2 * tol / gap


@pytest.mark.parametrize(
    "n_iter,normalizer",
    [(q, norm) for q in (0, 1, 4) for norm in ("auto", "QR", "LU")] + [(0, "none"), (1, "none")],
)
@pytest.mark.parametrize("transpose", [True, False])
def test_explicit_iterations_match_sklearn_including_signs(n_iter, normalizer, transpose):
    """Explicit n_iter: same test matrix, same scheme, same sign rule as scikit-learn.

    Unnormalised iterations beyond one are excluded: (AA^T)^q A Omega loses the small
    directions to rounding (sklearn's own warning), so two correct implementations that round
    differently need not agree there.
    """
    A, s_true = decaying_matrix(60, 45, seed=9, decay="fast")
    kw = dict(
        n_iter=n_iter, power_iteration_normalizer=normalizer, transpose=transpose, random_state=3
    )
    U, s, Vt = randomized_svd(A, 5, **kw)
    if normalizer == "auto" and 1 <= n_iter <= 2:
        # our 'auto' is LU here, scikit-learn's 'none': the same subspace in exact arithmetic,
        # compared with the scheme that rounds like ours
        kw["power_iteration_normalizer"] = "LU"
    U2, s2, Vt2 = sk_randomized_svd(A, 5, **kw)
    gap = float(np.min(np.abs(np.diff(s_true[:6]))))
    tol = rounding(A.shape, s_true[0], A.dtype)
    assert np.abs(s - s2).max() <= tol
    assert np.abs(U - U2).max() <= tol / gap
    assert np.abs(Vt - Vt2).max() <= tol / gap


# c in c * sqrt(max(m, n)) * eps * ||A||: the error scikit-learn's unnormalised n_iter = 1, 2
# reaches on the matrix below (measured ~1e6 and more), far beyond any rounding bound
UNNORMALISED_LOSS = 1e4


@pytest.mark.parametrize("n_iter", [1, 2])
def test_auto_normalizer_is_accurate_where_sklearns_none_is_not(n_iter):
    """Exact rank 6 with singular values down to 1e-4: (AA^T)^q A Omega unnormalised has
    condition number ~ 1e4^(2q+1), so scikit-learn's 'auto' (= 'none' for n_iter <= 2) loses the
    small directions, while our 'auto' (LU) is exact to rounding."""
    rng = np.random.default_rng(5)
    m, n, r = 50, 40, 6
    U0 = sla.qr(rng.standard_normal((m, r)), mode="economic")[0]
    V0 = sla.qr(rng.standard_normal((n, r)), mode="economic")[0]
    s0 = np.logspace(0, -4, r)
    A = (U0 * s0) @ V0.T
    ours = randomized_svd(A, r, n_oversamples=2, n_iter=n_iter, random_state=0)
    theirs = sk_randomized_svd(A, r, n_oversamples=2, n_iter=n_iter, random_state=0)
    unit = math.sqrt(max(m, n)) * eps_of(A.dtype) * s0[0]
    assert spectral_error(A, *ours) <= ROUNDING_SLACK * unit
    assert spectral_error(A, *theirs) >= UNNORMALISED_LOSS * unit  # the failure we avoid


def test_range_finder_matches_sklearn():
    A, _s = decaying_matrix(50, 40, seed=10)
    for q, norm in [(0, "auto"), (2, "auto"), (3, "LU"), (3, "QR")]:
        Q = randomized_range_finder(
            A, size=6, n_iter=q, power_iteration_normalizer=norm, random_state=0
        )
        Q2 = sk_range_finder(A, size=6, n_iter=q, power_iteration_normalizer=norm, random_state=0)
        assert np.abs(np.abs(Q.T @ Q2) - np.eye(6)).max() <= 1e-6  # same subspace and basis


@pytest.mark.parametrize("transpose", [True, False, "auto"])
@pytest.mark.parametrize("shape", [(260, 210), (210, 260)])
def test_sign_convention_is_sklearns(transpose, shape):
    """Largest-|.| entry of every column of the returned U is positive (svd_flip on u)."""
    A, _ = decaying_matrix(*shape, seed=11)
    U, _, _Vt = randomized_svd(A, 4, transpose=transpose, random_state=0)
    cols = np.arange(U.shape[1])
    assert np.all(U[np.argmax(np.abs(U), axis=0), cols] > 0)
    U2, _, _ = randomized_svd(A, 4, transpose=transpose, flip_sign=False, random_state=0)
    assert np.allclose(np.abs(U), np.abs(U2))


def test_operator_is_only_applied_to_thin_blocks():
    """LinearOperator input is never materialised: every product has at most l (+ one) columns."""
    A, _ = decaying_matrix(300, 250, seed=12)
    widths = []

    def matmat(X):
        widths.append(X.shape[1])
        return A @ X

    def rmatmat(X):
        widths.append(X.shape[1])
        return A.T @ X

    op = LinearOperator(
        A.shape,
        matvec=lambda x: A @ x,
        rmatvec=lambda x: A.T @ x,
        matmat=matmat,
        rmatmat=rmatmat,
        dtype=A.dtype,
    )
    for kw in ({}, {"n_iter": 3}, {"tol": 0.9}):
        widths.clear()
        _U, s, _Vt = randomized_svd(op, 5, random_state=0, **kw)
        assert widths and max(widths) <= 5 + 10 + 10, (kw, widths)
        ref = randomized_svd(A, 5, random_state=0, **kw)
        assert np.allclose(s, ref[1], rtol=1e-10)


def test_operator_returning_read_only_blocks():
    """The Krylov recurrences update product blocks in place: a LinearOperator that returns
    read-only arrays must work all the same (and give the dense input's result)."""
    A, _ = decaying_matrix(300, 250, seed=13)
    S = A[:250] @ A[:250].T  # symmetric PSD for the eigensolvers

    def frozen(M):
        def product(X):
            out = M @ X
            out.flags.writeable = False
            return out

        return product

    op = LinearOperator(A.shape, matvec=frozen(A), rmatvec=frozen(A.T), matmat=frozen(A),
                        rmatmat=frozen(A.T), dtype=A.dtype)  # fmt: skip
    for kw in ({}, {"n_iter": 3}, {"tol": 0.9}):
        s_op = randomized_svd(op, 5, random_state=0, **kw)[1]
        assert np.allclose(s_op, randomized_svd(A, 5, random_state=0, **kw)[1], rtol=1e-10)
    sym = LinearOperator(S.shape, matvec=frozen(S), rmatvec=frozen(S), matmat=frozen(S),
                         rmatmat=frozen(S), dtype=S.dtype)  # fmt: skip
    for method in ("subspace", "nystrom"):
        w_op = randomized_eigh(sym, 4, method=method, random_state=0)[0]
        assert np.allclose(w_op, randomized_eigh(S, 4, method=method, random_state=0)[0])


# --- scikit-learn's own tests of randomized_svd, run against ours -------------------------------


@pytest.mark.parametrize("dtype", (np.int32, np.int64, np.float32, np.float64))
def test_sklearn_low_rank_all_dtypes(dtype):
    X = make_low_rank_matrix(100, 500, effective_rank=5, tail_strength=0.0, random_state=0)
    X = X.astype(dtype, copy=False)
    U, s, Vt = sla.svd(X, full_matrices=False)
    decimal = 5 if dtype == np.float32 else 7
    for normalizer in ["auto", "LU", "QR"]:
        Ua, sa, Va = randomized_svd(X, 10, power_iteration_normalizer=normalizer, random_state=0)
        expected = np.dtype(dtype) if np.dtype(dtype).kind == "f" else np.float64
        assert Ua.dtype == sa.dtype == Va.dtype == expected
        np.testing.assert_almost_equal(s[:10], sa, decimal=decimal)
        np.testing.assert_almost_equal(U[:, :10] @ Vt[:10], Ua @ Va, decimal=decimal)
        Ua, sa, Va = randomized_svd(
            sp.csr_matrix(X), 10, power_iteration_normalizer=normalizer, random_state=0
        )
        np.testing.assert_almost_equal(s[:5], sa[:5], decimal=decimal)


@pytest.mark.parametrize("tail,n_iter0_gap", [(0.1, 0.01), (1.0, 0.1)])
def test_sklearn_noise_and_infinite_rank(tail, n_iter0_gap):
    X = make_low_rank_matrix(100, 500, effective_rank=5, tail_strength=tail, random_state=0)
    s = sla.svdvals(X)
    for normalizer in ["auto", "none", "LU", "QR"]:
        _, sa, _ = randomized_svd(
            X, 10, n_iter=0, power_iteration_normalizer=normalizer, random_state=0
        )
        assert np.abs(s[:10] - sa).max() > n_iter0_gap
        n_iter = "auto" if tail < 1 else 5
        _, sap, _ = randomized_svd(
            X, 10, n_iter=n_iter, power_iteration_normalizer=normalizer, random_state=0
        )
        np.testing.assert_almost_equal(s[:10], sap, decimal=3)


def test_sklearn_power_iteration_normalizer():
    rng = np.random.RandomState(42)
    X = make_low_rank_matrix(100, 500, effective_rank=50, random_state=rng)
    X += 3 * rng.randint(0, 2, size=X.shape)

    def err(n_iter, normalizer):
        U, s, Vt = randomized_svd(
            X, 50, n_iter=n_iter, power_iteration_normalizer=normalizer, random_state=0
        )
        return sla.norm(X - U @ np.diag(s) @ Vt, ord="fro")

    assert abs(err(2, "none") - err(20, "none")) > 100  # unnormalized iterations do diverge
    for normalizer in ["LU", "QR", "auto"]:
        e2 = err(2, normalizer)
        for i in [5, 10, 50]:
            assert 15 > abs(e2 - err(i, normalizer))


@pytest.mark.parametrize("fmt", ["lil", "dok"])
def test_sklearn_sparse_efficiency_warning(fmt):
    X = make_low_rank_matrix(50, 20, effective_rank=10, random_state=np.random.RandomState(42))
    X = sp.csr_matrix(X).asformat(fmt)
    name = type(X).__name__
    with pytest.warns(
        sp.SparseEfficiencyWarning, match=f"Calculating SVD of a {name} is expensive"
    ):
        randomized_svd(X, 5, n_iter=1, power_iteration_normalizer="none")


def test_sklearn_sign_flip():
    a = np.array([[2.0, 0.0], [0.0, 1.0]])
    u1, _s1, v1 = randomized_svd(a, 2, flip_sign=True, random_state=41)
    for seed in range(10):
        u2, s2, v2 = randomized_svd(a, 2, flip_sign=True, random_state=seed)
        np.testing.assert_almost_equal(u1, u2)
        np.testing.assert_almost_equal(v1, v2)
        np.testing.assert_almost_equal((u2 * s2) @ v2, a)


def test_sklearn_sign_flip_with_transpose():
    mat = np.arange(10 * 8).reshape(10, -1)
    for kw in ({}, {"transpose": True}):
        u, _, v = randomized_svd(mat, 3, flip_sign=True, random_state=0, **kw)
        assert (np.abs(u).max(axis=0) == u.max(axis=0)).all()
        assert not (np.abs(v).max(axis=1) == v.max(axis=1)).all()


@pytest.mark.parametrize("n,m,k", [(50, 100, 10), (300, 50, 20), (100, 300, 50)])
def test_sklearn_lapack_driver(n, m, k):
    X = np.random.RandomState(0).rand(n, m)
    u1, s1, vt1 = randomized_svd(X, k, svd_lapack_driver="gesdd", random_state=0)
    u2, s2, vt2 = randomized_svd(X, k, svd_lapack_driver="gesvd", random_state=0)
    np.testing.assert_allclose(u1, u2, atol=0, rtol=1e-3)
    np.testing.assert_allclose(s1, s2, atol=0, rtol=1e-3)
    np.testing.assert_allclose(vt1, vt2, atol=0, rtol=1e-3)


# --- symmetric: randomized_eigh and nystrom -----------------------------------------------------


def psd_matrix(n, seed, decay=5.0, rank=None):
    rng = np.random.default_rng(seed)
    Q = sla.qr(rng.standard_normal((n, n)))[0]
    w = np.exp(-np.arange(n) / decay)
    if rank is not None:
        w[rank:] = 0.0
    return (Q * w) @ Q.T, w


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("n_iter", ["auto", 3])
def test_eigh_subspace_against_lapack(dtype, n_iter):
    A, w_true = psd_matrix(150, seed=0)
    A = A.astype(dtype)
    w, V = randomized_eigh(A, 6, n_iter=n_iter, random_state=0)
    assert np.all(np.diff(w) <= 0)
    assert_orthonormal_columns(V, "V")
    # n_iter=3: Krylov space of 4 blocks of 16 vectors on exp(-j/5): converged to rounding
    tol = rounding(A.shape, 1.0, dtype) * (100 if n_iter == 3 else 1e3 / eps_of(dtype) * 1e-6)
    assert np.abs(w - w_true[:6]).max() <= max(tol, rounding(A.shape, 1.0, dtype))
    residual = np.linalg.norm(A.astype(np.float64) @ V - V * w, 2)
    assert residual <= math.sqrt(max(tol, rounding(A.shape, 1.0, dtype)))


# the 'auto' stopping test uses the Kato-Temple estimate rho^2 / gap with an *estimated* gap
# (to the first Ritz value past the block); allow this factor between the requested relative
# tolerance and the error actually reached
EIGH_ESTIMATE_SLACK = 10.0


@pytest.mark.parametrize("seed", range(3))
def test_eigh_auto_meets_its_tolerance_on_clustered_eigenvalues(seed):
    """Six top eigenvalues in [0.76, 0.81] just above a dense bulk in [0, 0.7] (the shape of a
    kNN hypergraph's Theta): slow block-Krylov convergence, stopped by the residual estimate."""
    rng = np.random.default_rng(seed)
    n, k = 300, 6
    w0 = np.concatenate([np.linspace(0.81, 0.76, k), np.sort(rng.uniform(0, 0.7, n - k))[::-1]])
    Q = sla.qr(rng.standard_normal((n, n)))[0]
    A = (Q * w0) @ Q.T
    w, V = randomized_eigh(A, k, random_state=seed)
    rel = np.abs(w - w0[:k]) / w0[:k]
    floor = lanczos.RITZ_ATOL_FACTOR * eps_of(A.dtype) * w0[0] / w0[:k]
    assert np.all(rel <= EIGH_ESTIMATE_SLACK * lanczos.RITZ_RTOL_F64 + floor), rel
    assert_orthonormal_columns(V, "V")


def test_eigh_indefinite_selects_largest_magnitude():
    rng = np.random.default_rng(1)
    Q = sla.qr(rng.standard_normal((120, 120)))[0]
    w_all = np.concatenate([[5.0, -4.0, 3.0], 0.01 * rng.standard_normal(117)])
    A = (Q * w_all) @ Q.T
    w, _V = randomized_eigh(A, 3, random_state=0)
    assert np.allclose(w, [5.0, 3.0, -4.0], atol=1e-8)


@pytest.mark.parametrize("dtype", FLOATS)
def test_nystrom_exact_rank_and_psd(dtype):
    A, _w_true = psd_matrix(100, seed=2, rank=7)
    A = A.astype(dtype)
    w, U = nystrom(A, 7, random_state=0)
    assert np.all(w >= 0) and np.all(np.diff(w) <= 0)
    assert_orthonormal_columns(U, "U")
    # exact rank 7 < sketch width 17: recovered up to the shift nu and rounding
    A_hat = (U.astype(np.float64) * w) @ U.T.astype(np.float64)
    n, width = A.shape[0], 7 + 10
    nu_bound = math.sqrt(n * width) * eps_of(dtype) * 1.0
    allowed = NYSTROM_SLACK * (nu_bound + math.sqrt(n) * eps_of(dtype) * 1.0)
    assert np.linalg.norm(A.astype(np.float64) - A_hat, 2) <= allowed


def test_nystrom_never_overestimates():
    """A - A_nys is PSD (Nystrom is a projection of A^{1/2}), up to the shift and rounding."""
    A, _ = psd_matrix(120, seed=3, decay=30.0)
    for q in (0, 1):
        w, U = nystrom(A, 10, n_iter=q, random_state=0)
        gap = np.linalg.eigvalsh(A - (U * w) @ U.T)
        assert gap.min() >= -rounding(A.shape, 1.0, A.dtype)


def test_nystrom_power_steps_do_not_hurt():
    A, _w_true = psd_matrix(200, seed=4, decay=20.0)
    errs = []
    for q in (0, 1, 2):
        per_seed = []
        for seed in range(N_SEEDS):
            w, U = nystrom(A, 8, n_iter=q, random_state=seed)
            per_seed.append(np.linalg.norm(A - (U * w) @ U.T, 2))
        errs.append(np.mean(per_seed))
    assert errs[1] <= errs[0] * (1 + MONOTONE_RTOL) and errs[2] <= errs[1] * (1 + MONOTONE_RTOL)


def test_nystrom_rejects_indefinite():
    A, _ = psd_matrix(50, seed=5)
    with pytest.raises(ValueError, match="positive semidefinite"):
        nystrom(-A, 5, random_state=0)


def test_eigh_on_hypergraph_operator():
    from hyperlearn import Hypergraph

    X = np.random.default_rng(0).standard_normal((300, 4))
    theta = Hypergraph.from_knn(X, 6).normalized_adjacency()
    dense = theta.to_sparse().toarray()
    w_true = np.linalg.eigvalsh(dense)[::-1]
    w, _V = randomized_eigh(theta, 4, n_iter=12, random_state=0)
    assert np.abs(w - w_true[:4]).max() <= 1e-6
    w, _V = randomized_eigh(theta, 4, method="nystrom", random_state=0)
    assert np.all(w <= w_true[:4] + rounding(dense.shape, 1.0, np.float64))


# --- bad input ---------------------------------------------------------------------------------

GOOD = np.random.default_rng(0).standard_normal((20, 15))


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (lambda: randomized_svd(np.ones(5), 1), ValueError, "2-D"),
        (lambda: randomized_svd(np.ones((2, 2, 2)), 1), ValueError, "2-D"),
        (lambda: randomized_svd(np.zeros((0, 3)), 1), ValueError, "empty"),
        (lambda: randomized_svd(np.full((3, 3), np.nan), 1), ValueError, "NaN"),
        (lambda: randomized_svd(sp.csr_matrix(np.full((3, 3), np.inf)), 1), ValueError, "NaN"),
        (lambda: randomized_svd(GOOD.astype(complex), 1), TypeError, "complex"),
        (lambda: randomized_svd(GOOD, 0), ValueError, "n_components=0"),
        (lambda: randomized_svd(GOOD, 16), ValueError, "n_components=16"),
        (lambda: randomized_svd(GOOD, 2.5), TypeError, "n_components"),
        (lambda: randomized_svd(GOOD, 2, n_oversamples=-1), ValueError, "n_oversamples"),
        (lambda: randomized_svd(GOOD, 2, n_iter="many"), TypeError, "n_iter"),
        (lambda: randomized_svd(GOOD, 2, n_iter=-1), ValueError, "n_iter"),
        (
            lambda: randomized_svd(GOOD, 2, power_iteration_normalizer="qr"),
            ValueError,
            "power_iteration_normalizer",
        ),
        (lambda: randomized_svd(GOOD, 2, transpose="yes"), ValueError, "transpose"),
        (
            lambda: randomized_svd(GOOD, 2, svd_lapack_driver="gesvj"),
            ValueError,
            "svd_lapack_driver",
        ),
        (lambda: randomized_svd(GOOD, 2, tol=0.0), ValueError, "tol"),
        (lambda: randomized_svd(GOOD, 2, tol=1.5), ValueError, "tol"),
        (lambda: randomized_svd(GOOD, 2, tol="small"), TypeError, "tol"),
        (lambda: randomized_svd(GOOD, 2, random_state="x"), ValueError, "random_state"),
        (lambda: randomized_eigh(GOOD, 2), ValueError, "square"),
        (lambda: randomized_eigh(GOOD @ GOOD.T, 2, method="lanczos"), ValueError, "method"),
        (lambda: nystrom(GOOD, 2), ValueError, "square"),
        (lambda: randomized_range_finder(GOOD, size=0, n_iter=1), ValueError, "size"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_operator_without_transpose_is_refused_clearly():
    A = GOOD
    op = LinearOperator(A.shape, matvec=lambda x: A @ x, dtype=A.dtype)
    with pytest.raises(TypeError, match="rmatvec"):
        randomized_svd(op, 2, random_state=0)
    S = A.T @ A
    sym = LinearOperator(S.shape, matvec=lambda x: S @ x, dtype=S.dtype)
    w, _V = randomized_eigh(sym, 2, random_state=0)  # symmetric: products with A only
    assert np.allclose(w, np.linalg.eigvalsh(S)[::-1][:2], rtol=1e-8)


def test_sparse_arrays_are_accepted():
    X = sp.random(60, 40, density=0.2, format="csr", random_state=0)
    ref = randomized_svd(X, 3, random_state=0)[1]
    for container in (sp.csr_array, sp.csc_array, sp.coo_array):
        assert np.allclose(randomized_svd(container(X), 3, random_state=0)[1], ref, rtol=1e-10)


def test_no_warning_for_csr():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        randomized_svd(
            sp.random(40, 30, density=0.2, format="csr", random_state=0), 3, random_state=0
        )

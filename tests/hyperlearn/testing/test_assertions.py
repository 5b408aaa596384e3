"""The assertions pass on correct results and catch deliberately perturbed ones."""

import itertools

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.utils.extmath import randomized_svd

from hyperlearn.testing import (
    LOW_RANK_ROUNDING_SLACK,
    SOLVE_ROUNDING_SLACK,
    assert_low_rank_accuracy,
    assert_normalized_laplacian,
    assert_solution_accuracy,
    assert_symmetric_psd,
    hmt_power_bound,
)
from hyperlearn.testing.strategies import (
    hypergraphs,
    matrices_with_spectrum,
    spd_matrices,
    spd_systems,
)

from ._examples import one_example


def _dense_operator(A):
    """A LinearOperator hiding a dense matrix (matvec, rmatvec, matmat)."""
    return spla.LinearOperator(
        A.shape,
        matvec=lambda x: A @ x,
        rmatvec=lambda y: A.T @ y,
        matmat=lambda X: A @ X,
        dtype=A.dtype,
    )


def _with_spectrum(rng, m, n, s):
    U, _ = np.linalg.qr(rng.standard_normal((m, len(s))))
    V, _ = np.linalg.qr(rng.standard_normal((n, len(s))))
    return (U * s) @ V.T


# ---------------------------------------------------------------------------------------------
# assert_low_rank_accuracy: the bound itself


def test_hmt_bound_matches_formula_for_q0():
    sigma = np.array([3.0, 2.0, 1.0, 0.5, 0.25, 0.0])
    k, p = 2, 3
    expected = (1 + np.sqrt(k / (p - 1))) * sigma[k] + (np.e * np.sqrt(k + p) / p) * np.sqrt(
        np.sum(sigma[k:] ** 2)
    )
    assert hmt_power_bound(sigma, k, p, 0) == pytest.approx(expected, rel=1e-14)


def test_hmt_bound_power_scheme_is_root_of_bound_for_B():
    # Cor. 10.10 = (Thm 10.6 applied to B = (AAᵀ)^q A, singular values σ^(2q+1))^(1/(2q+1))
    sigma = np.array([1.0, 0.9, 0.5, 0.3, 0.2, 0.1, 0.05])
    for q in (1, 2, 5):
        power = 2 * q + 1
        bound_B = hmt_power_bound(sigma**power, 3, 2, 0)
        assert hmt_power_bound(sigma, 3, 2, q) == pytest.approx(bound_B ** (1 / power), rel=1e-12)


def test_hmt_bound_decreases_with_power_iterations_and_is_at_least_sigma_k1():
    sigma = 1.0 / (1.0 + np.arange(40.0))
    bounds = [hmt_power_bound(sigma, 5, 5, q) for q in range(6)]
    assert all(b1 < b0 for b0, b1 in itertools.pairwise(bounds))
    assert bounds[-1] >= sigma[5]


# ---------------------------------------------------------------------------------------------
# assert_low_rank_accuracy: passes on correct randomized SVDs


@settings(max_examples=25)
@given(
    st.sampled_from(["exact_rank", "fast_decay", "slow_decay"]).flatmap(
        lambda kind: matrices_with_spectrum(((20, 40), (20, 40)), spectrum=kind, rank=(2, 6))
    ),
    st.integers(1, 5),
    st.integers(2, 6),
    st.integers(0, 2),
    st.integers(0, 2**31 - 1),
)
def test_low_rank_passes_on_sklearn_randomized_svd(matrix, k, p, q, seed):
    A, _, s_exact, _ = matrix
    U, s, Vt = randomized_svd(
        A, k, n_oversamples=p, n_iter=q, random_state=seed, power_iteration_normalizer="LU"
    )
    report = assert_low_rank_accuracy(A, U, s, Vt, k=k, n_oversamples=p, n_iter=q, sigma=s_exact)
    assert report["observed"] <= report["allowed"]
    # σ computed exactly by the assertion itself gives the same verdict
    assert_low_rank_accuracy(A, U, s, Vt, k=k, n_oversamples=p, n_iter=q)


@settings(max_examples=15)
@given(
    matrices_with_spectrum(
        ((10, 30), (10, 30)),
        spectrum="exact_rank",
        rank=(1, 5),
        dtype=st.sampled_from([np.float32, np.float64]),
    ),
    st.integers(0, 2),
    st.integers(0, 2**31 - 1),
)
def test_exact_rank_reduces_to_rounding_bound(matrix, q, seed):
    A, _, s_exact, _ = matrix
    rank = int(np.count_nonzero(s_exact))
    # normalized power iterations: without them the rounding error grows like (σ₁/σ_k)^(2q)
    # (see test_low_rank_catches_unnormalized_power_iterations_in_float32)
    U, s, Vt = randomized_svd(
        A, rank, n_oversamples=2, n_iter=q, random_state=seed, power_iteration_normalizer="QR"
    )
    report = assert_low_rank_accuracy(A, U, s, Vt, k=rank, n_oversamples=2, n_iter=q, sigma=s_exact)
    # zero tail: the HMT term and the truncation term vanish, only c·√max(m,n)·eps·‖A‖ remains
    assert report["hmt_bound"] == 0.0
    assert report["truncation"] == 0.0
    eps = np.finfo(A.dtype).eps
    assert report["rounding"] == pytest.approx(
        LOW_RANK_ROUNDING_SLACK * np.sqrt(max(A.shape)) * eps * s_exact[0]
    )


def test_low_rank_no_false_alarm_on_heavy_tailed_case():
    # p = 2 and a large spectral gap after σ_5 is the case with the heaviest tail of
    # ‖(I − P_Y)A‖ (‖Ω₁⁺‖ is heavy-tailed for small p); below p = 4 the bound is Markov's at δ.
    rng = np.random.default_rng(0)
    s_true = np.r_[np.ones(5), 1e-3 * np.ones(35)]
    A = _with_spectrum(rng, 50, 40, s_true)
    for seed in range(60):
        U, s, Vt = randomized_svd(A, 5, n_oversamples=2, n_iter=0, random_state=seed)
        assert_low_rank_accuracy(A, U, s, Vt, k=5, n_oversamples=2, n_iter=0, sigma=s_true)


def test_low_rank_untruncated_sketch_and_full_rank_sketch():
    rng = np.random.default_rng(1)
    A = _with_spectrum(rng, 30, 20, 0.7 ** np.arange(20))
    # all ℓ = k + p components kept: no truncation term
    U, s, Vt = randomized_svd(A, 9, n_oversamples=0, n_iter=1, random_state=0)
    report = assert_low_rank_accuracy(A, U, s, Vt, k=6, n_oversamples=3, n_iter=1)
    assert report["truncation"] == 0.0
    # ℓ ≥ min(m, n): the sketch spans the range of A, only rounding is allowed
    U, s, Vt = randomized_svd(A, 20, n_oversamples=0, n_iter=0, random_state=0)
    report = assert_low_rank_accuracy(A, U, s, Vt, k=18, n_oversamples=2, n_iter=0)
    assert report["hmt_bound"] == 0.0


def test_low_rank_partial_sigma_only_enlarges_bound():
    rng = np.random.default_rng(2)
    sigma = 0.8 ** np.arange(30)
    A = _with_spectrum(rng, 40, 30, sigma)
    U, s, Vt = randomized_svd(A, 4, n_oversamples=4, n_iter=1, random_state=3)
    full = assert_low_rank_accuracy(A, U, s, Vt, k=4, n_oversamples=4, n_iter=1, sigma=sigma)
    partial = assert_low_rank_accuracy(
        A, U, s, Vt, k=4, n_oversamples=4, n_iter=1, sigma=sigma[:10]
    )
    assert partial["allowed"] >= full["allowed"]


def test_low_rank_large_operator_path_uses_lanczos():
    rng = np.random.default_rng(4)
    m, n = 1200, 40
    sigma = 0.5 ** np.arange(n)
    A = _with_spectrum(rng, m, n, sigma)
    U, s, Vt = randomized_svd(A, 5, n_oversamples=5, n_iter=2, random_state=0)
    report = assert_low_rank_accuracy(
        _dense_operator(A), U, s, Vt, k=5, n_oversamples=5, n_iter=2, sigma=sigma
    )
    exact = np.linalg.norm(A - (U * s) @ Vt, 2)
    assert report["observed"] == pytest.approx(exact, rel=1e-8)
    with pytest.raises(ValueError, match="pass its singular values as sigma"):
        assert_low_rank_accuracy(_dense_operator(A), U, s, Vt, k=5, n_oversamples=5, n_iter=2)


def test_low_rank_accepts_sparse_input():
    A, _, s_true, _ = one_example(
        matrices_with_spectrum((25, 18), spectrum="exact_rank", rank=3, sparse=True)
    )
    U, s, Vt = randomized_svd(A, 3, n_oversamples=3, n_iter=1, random_state=0)
    assert_low_rank_accuracy(A, U, s, Vt, k=3, n_oversamples=3, n_iter=1, sigma=s_true)


# ---------------------------------------------------------------------------------------------
# assert_low_rank_accuracy: catches perturbed factorisations


@pytest.fixture(scope="module")
def exact_rank_case():
    rng = np.random.default_rng(5)
    s_true = np.r_[np.linspace(1.0, 0.1, 6), np.zeros(34)]
    A = _with_spectrum(rng, 60, 40, s_true)
    U, s, Vt = randomized_svd(A, 6, n_oversamples=4, n_iter=1, random_state=0)
    return A, U, s, Vt, s_true


@pytest.mark.parametrize(
    ("perturb", "match"),
    [
        pytest.param(
            lambda U, s, Vt: (U + 1e-6 * np.ones_like(U), s, Vt),
            "columns of U are not orthonormal",
            id="U-shifted-1e-6",
        ),
        pytest.param(
            lambda U, s, Vt: (U, s * (1 + 1e-7), Vt), "Halko–Martinsson–Tropp", id="s-scaled-1e-7"
        ),
        pytest.param(
            lambda U, s, Vt: (U[:, 1:], s[1:], Vt[1:]),
            "Halko–Martinsson–Tropp",
            id="largest-component-dropped",
        ),
        pytest.param(
            lambda U, s, Vt: (U * np.r_[-1, np.ones(5)], s, Vt),
            "Halko–Martinsson–Tropp",
            id="sign-flip-U-only",
        ),
        pytest.param(
            lambda U, s, Vt: (U.astype(np.float32).astype(np.float64), s, Vt),
            "columns of U are not orthonormal",
            id="float32-rounding-claimed-float64",
        ),
    ],
)
def test_low_rank_catches_perturbed_factorisation(exact_rank_case, perturb, match):
    A, U, s, Vt, s_true = exact_rank_case
    assert_low_rank_accuracy(A, U, s, Vt, k=6, n_oversamples=4, n_iter=1, sigma=s_true)
    U2, s2, Vt2 = perturb(U, s, Vt)
    with pytest.raises(AssertionError, match=match):
        assert_low_rank_accuracy(A, U2, s2, Vt2, k=6, n_oversamples=4, n_iter=1, sigma=s_true)


def test_low_rank_catches_unnormalized_power_iterations_in_float32():
    # Y = (AAᵀ)^q AΩ formed without re-orthonormalisation squashes σ_3/σ_1 = 1e-2 to 1e-10 at
    # q = 2, far below float32 rounding: the third direction is lost and the error exceeds ρ,
    # while QR or LU normalisation keeps it within ρ.
    rng = np.random.default_rng(7)
    s_true = np.r_[1.0, 0.1, 0.01, np.zeros(27)]
    A = _with_spectrum(rng, 40, 30, s_true).astype(np.float32)
    caught = 0
    for seed in range(5):
        for normalizer in ("QR", "LU"):
            U, s, Vt = randomized_svd(
                A,
                3,
                n_oversamples=2,
                n_iter=2,
                random_state=seed,
                power_iteration_normalizer=normalizer,
            )
            assert_low_rank_accuracy(A, U, s, Vt, k=3, n_oversamples=2, n_iter=2, sigma=s_true)
        U, s, Vt = randomized_svd(
            A, 3, n_oversamples=2, n_iter=2, random_state=seed, power_iteration_normalizer="none"
        )
        try:
            assert_low_rank_accuracy(A, U, s, Vt, k=3, n_oversamples=2, n_iter=2, sigma=s_true)
        except AssertionError:
            caught += 1
    assert caught == 5


def test_low_rank_catches_wrong_subspace_on_decaying_spectrum():
    # fast decay: keeping directions 2..k+1 instead of 1..k costs σ_1 ≫ the bound (≈ σ_{k+1})
    rng = np.random.default_rng(6)
    sigma = 10.0 ** (-np.arange(30) / 3)
    A = _with_spectrum(rng, 40, 30, sigma)
    U, s, Vt = scipy.linalg.svd(A, full_matrices=False)
    assert_low_rank_accuracy(A, U[:, :5], s[:5], Vt[:5], k=5, n_oversamples=5, n_iter=2)
    with pytest.raises(AssertionError):
        assert_low_rank_accuracy(A, U[:, 1:6], s[1:6], Vt[1:6], k=5, n_oversamples=5, n_iter=2)


def test_low_rank_failure_message_states_bound_value_and_constants(exact_rank_case):
    A, U, s, Vt, s_true = exact_rank_case
    swapped = U[:, [1, 0, 2, 3, 4, 5]]  # still orthonormal, the wrong pairing of triplets
    with pytest.raises(AssertionError) as info:
        assert_low_rank_accuracy(
            A, swapped, s, Vt, k=6, n_oversamples=4, n_iter=1, sigma=s_true, safety=3
        )
    text = str(info.value)
    for piece in ("observed", "allowed", "Thm 10.8", "δ = 1e-06", "safety", "c = 20", "eps"):
        assert piece in text
    assert "q = n_iter = 1" in text


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"k": 0}, ValueError, "k=0"),
        ({"n_oversamples": 1}, ValueError, "n_oversamples=1"),
        ({"n_iter": -1}, ValueError, "n_iter=-1"),
        ({"n_iter": "auto"}, TypeError, "n_iter='auto'"),
        ({"k": 6.0}, TypeError, "k=6.0"),
        ({"safety": 0.5}, ValueError, "safety=0.5"),
        ({"safety": "high"}, TypeError, "safety='high'"),
        ({"failure_probability": 0.0}, ValueError, "failure_probability=0.0"),
        ({"failure_probability": 1.0}, ValueError, "failure_probability=1.0"),
        ({"failure_probability": "1e-6"}, TypeError, "failure_probability='1e-6'"),
        ({"sigma": np.array([1.0, 2.0])}, ValueError, "non-increasing"),
        ({"k": 1, "n_oversamples": 2}, ValueError, "len\\(s\\)=6 exceeds"),
    ],
)
def test_low_rank_rejects_bad_arguments(exact_rank_case, kwargs, error, match):
    A, U, s, Vt, _ = exact_rank_case
    args = {"k": 6, "n_oversamples": 4, "n_iter": 1, **kwargs}
    with pytest.raises(error, match=match):
        assert_low_rank_accuracy(A, U, s, Vt, **args)


def test_low_rank_rejects_inconsistent_shapes(exact_rank_case):
    A, U, s, Vt, _ = exact_rank_case
    with pytest.raises(ValueError, match="Inconsistent shapes"):
        assert_low_rank_accuracy(A, U[:-1], s, Vt, k=6, n_oversamples=4, n_iter=1)


# ---------------------------------------------------------------------------------------------
# assert_solution_accuracy


@settings(max_examples=30)
@given(
    spd_systems(
        n=(1, 20),
        condition_number=(1.0, 1e4),
        dtype=st.sampled_from([np.float32, np.float64]),
        n_rhs=st.none() | st.integers(1, 3),
    )
)
def test_solution_passes_for_direct_solve(system):
    A, b, x_true = system
    x = np.linalg.solve(A, b)
    # a backward-stable solve has residual O(√n·eps·‖A‖‖x‖): within the rounding slack
    report = assert_solution_accuracy(A, x, b, rtol=0.0, x_true=x_true)
    assert np.all(report["forward_error"] <= report["allowed_forward_error"])


@settings(max_examples=20)
@given(spd_systems(n=(2, 30), condition_number=(1.0, 1e3)), st.sampled_from([1e-3, 1e-6, 1e-9]))
def test_solution_passes_for_scipy_cg(system, rtol):
    A, b, x_true = system
    x, info = spla.cg(A, b, rtol=rtol, maxiter=10 * len(b))
    # scipy's cg stops on the recursive residual; in float64 with these κ it agrees with the true
    # one far below rtol, so the criterion holds with safety 1.001
    assert info == 0
    assert_solution_accuracy(A, x, b, rtol=rtol, x_true=x_true, condition_number=None, safety=1.001)


def test_solution_catches_residual_above_rtol():
    A, b, _ = one_example(spd_systems(n=15, condition_number=100.0))
    x = np.linalg.solve(A, b)
    assert_solution_accuracy(A, x, b, rtol=1e-10)
    with pytest.raises(AssertionError, match="Residual criterion violated in column 0"):
        assert_solution_accuracy(A, x + 1e-6, b, rtol=1e-10)


def test_solution_catches_understated_condition_number():
    # x = x* + c·v_min has a tiny residual (c/κ) but a forward error c: the bound with the true κ
    # holds, and with κ claimed to be 1 the assertion fails
    A, _, V = one_example(spd_matrices(n=12, condition_number=1e4, return_eigh=True))
    x_true = np.ones(12)
    b = A @ x_true
    x = x_true + 1e-3 * V[:, 0]
    rtol = 1e-5
    report = assert_solution_accuracy(A, x, b, rtol=rtol, x_true=x_true, condition_number=1e4)
    assert report["forward_error"][0] == pytest.approx(1e-3 / np.sqrt(12), rel=1e-6)
    with pytest.raises(AssertionError, match="Forward error exceeds"):
        assert_solution_accuracy(A, x, b, rtol=rtol, x_true=x_true, condition_number=1.0)


def test_solution_computes_condition_number_when_omitted():
    A, b, x_true = one_example(spd_systems(n=10, condition_number=50.0))
    x = np.linalg.solve(A, b)
    report = assert_solution_accuracy(A, x, b, rtol=1e-12, x_true=x_true)
    assert report["condition_number"] == pytest.approx(50.0, rel=1e-8)


def test_solution_names_the_bad_column_of_a_block():
    A, B, _ = one_example(spd_systems(n=10, condition_number=10.0, n_rhs=4))
    X = np.linalg.solve(A, B)
    X[:, 2] += 1e-4
    with pytest.raises(AssertionError, match="column 2 \\(1 of 4 columns\\)"):
        assert_solution_accuracy(A, X, B, rtol=1e-8)


def test_solution_sparse_and_operator_inputs_agree():
    A, b, x_true = one_example(spd_systems(n=25, condition_number=30.0))
    x = np.linalg.solve(A, b)
    dense = assert_solution_accuracy(A, x, b, rtol=1e-12, x_true=x_true)
    sparse = assert_solution_accuracy(sp.csr_matrix(A), x, b, rtol=1e-12, x_true=x_true)
    op = assert_solution_accuracy(_dense_operator(A), x, b, rtol=1e-12, x_true=x_true)
    np.testing.assert_allclose(sparse["residual"], dense["residual"], rtol=1e-6, atol=1e-15)
    np.testing.assert_allclose(op["residual"], dense["residual"], rtol=1e-6, atol=1e-15)


def test_solution_float32_solver_within_rounding_slack_but_not_below():
    """Explicit A: the slack is Higham's componentwise γ_{k+1} bound, computed here again."""
    from hyperlearn.linalg import cg

    A, b, _ = one_example(spd_systems(n=20, condition_number=10.0, dtype=np.float32))
    rtol = 1e-6  # near float32's attainable accuracy: the slack matters
    x, info = cg(A, b, rtol=rtol)
    assert info == 0 and x.dtype == np.float32  # cg's own float32 true residual met rtol
    report = assert_solution_accuracy(A, x, b, rtol=rtol)
    u32, u64 = float(np.finfo(np.float32).eps) / 2, float(np.finfo(np.float64).eps) / 2
    k = 20  # a dense row
    gamma = sum((k + 1) * u / (1 - (k + 1) * u) for u in (u32, u64))
    A64, x64, b64 = (v.astype(np.float64) for v in (A, x, b))
    slack = gamma * np.linalg.norm(np.abs(A64) @ np.abs(x64) + np.abs(b64))
    np.testing.assert_allclose(
        report["allowed_residual"][0], rtol * np.linalg.norm(b64) + slack, rtol=1e-12
    )
    with pytest.raises(AssertionError, match="γ_"):
        assert_solution_accuracy(A, x + 1e-3, b, rtol=rtol)


def test_solution_sparse_slack_counts_nonzeros_per_row():
    """A sparse A with k nonzeros per row gets γ_{k+1}, far below the normwise c·√n·eps."""
    n = 400
    A = sp.diags([-1.0, 2.5, -1.0], [-1, 0, 1], shape=(n, n), format="csr")
    x = np.ones(n)
    b = A @ x
    report = assert_solution_accuracy(A, x, b, rtol=0.0)
    u = np.finfo(np.float64).eps / 2
    gamma4 = 4 * u / (1 - 4 * u)
    expected = 2 * gamma4 * np.linalg.norm(abs(A) @ x + np.abs(b))
    np.testing.assert_allclose(report["allowed_residual"][0], expected, rtol=1e-12)
    normwise = SOLVE_ROUNDING_SLACK * np.sqrt(n) * 2 * u * (4.5 * np.linalg.norm(x))
    assert report["allowed_residual"][0] < normwise / 20


def test_solution_zero_rhs_uses_atol_and_skips_relative_forward_error():
    A = np.diag([1.0, 2.0, 4.0])
    b = np.zeros(3)
    x = np.full(3, 1e-9)
    report = assert_solution_accuracy(A, x, b, rtol=1e-6, atol=1e-8, x_true=np.zeros(3))
    assert np.isinf(report["allowed_forward_error"][0])
    with pytest.raises(AssertionError):
        assert_solution_accuracy(A, x, b, rtol=1e-6, atol=1e-10)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"rtol": -1.0}, ValueError, "rtol=-1.0"),
        ({"rtol": "1e-6"}, TypeError, "rtol='1e-6'"),
        ({"atol": float("nan")}, ValueError, "atol=nan"),
        ({"safety": None}, TypeError, "safety=None"),
        ({"condition_number": 0.5}, ValueError, "condition_number=0.5"),
        ({"x_true": np.zeros(4)}, ValueError, "x_true has shape"),
    ],
)
def test_solution_rejects_bad_arguments(kwargs, error, match):
    A = np.eye(3)
    args = {"rtol": 1e-6, **kwargs}
    with pytest.raises(error, match=match):
        assert_solution_accuracy(A, np.ones(3), np.ones(3), **args)


def test_solution_rejects_bad_shapes():
    with pytest.raises(ValueError, match="square"):
        assert_solution_accuracy(np.ones((3, 2)), np.ones(2), np.ones(3), rtol=1e-6)
    with pytest.raises(ValueError, match="x has shape"):
        assert_solution_accuracy(np.eye(3), np.ones(2), np.ones(3), rtol=1e-6)
    with pytest.raises(TypeError, match="A="):
        assert_solution_accuracy("matrix", np.ones(2), np.ones(3), rtol=1e-6)


# ---------------------------------------------------------------------------------------------
# assert_symmetric_psd


@settings(max_examples=30)
@given(
    spd_matrices(
        n=(1, 15), condition_number=(1.0, 1e6), dtype=st.sampled_from([np.float32, np.float64])
    )
)
def test_psd_passes_on_spd_matrices_in_all_formats(A):
    assert_symmetric_psd(A)
    assert_symmetric_psd(sp.csr_matrix(A))
    assert_symmetric_psd(_dense_operator(A))


@settings(max_examples=20)
@given(
    st.integers(1, 30),
    st.integers(1, 30),
    st.integers(0, 2**31 - 1),
    st.sampled_from([np.float32, np.float64]),
)
def test_psd_passes_on_rank_deficient_gram_matrices(n, k, seed, dtype):
    # B Bᵀ computed in floating point: zero eigenvalues come out as ±O(√n·eps·‖B‖²)
    B = np.random.default_rng(seed).standard_normal((n, k)).astype(dtype)
    assert_symmetric_psd(B @ B.T)


def test_psd_catches_asymmetry_and_negative_eigenvalue():
    A = one_example(spd_matrices(n=10, condition_number=1e3))
    E = np.zeros_like(A)
    E[0, 1] = 1e-8
    with pytest.raises(AssertionError, match="not symmetric"):
        assert_symmetric_psd(A + E)
    v = np.ones(10) / np.sqrt(10)
    B = np.random.default_rng(0).standard_normal((10, 4))
    with pytest.raises(AssertionError, match="not positive semi-definite"):
        assert_symmetric_psd(B @ B.T - 1e-9 * np.outer(v, v))


def test_psd_given_tolerance_and_safety():
    A = np.diag([1.0, -1e-6])
    with pytest.raises(AssertionError, match="tol = given"):
        assert_symmetric_psd(A, tol=1e-7)
    assert_symmetric_psd(A, tol=1e-7, safety=20)


def _low_rank_operator(n, k, seed, shift=None, skew=0.0):
    B = np.random.default_rng(seed).standard_normal((n, k))
    d = np.zeros(n) if shift is None else shift

    def matmat(X):
        X = X.reshape(n, -1)
        Y = B @ (B.T @ X) + d[:, None] * X
        if skew:
            Y[0] += skew * X[1]
        return Y

    return spla.LinearOperator(
        (n, n), matvec=lambda x: matmat(x).ravel(), matmat=matmat, dtype=np.float64
    )


def test_psd_probe_path_for_large_operators():
    n = 1500
    report = assert_symmetric_psd(_low_rank_operator(n, 20, 0))
    assert report["mode"] == "probe"
    shift = np.zeros(n)
    shift[7] = -1e-3  # a single negative direction, invisible to most random vectors
    with pytest.raises(AssertionError, match="probed"):
        assert_symmetric_psd(_low_rank_operator(n, 20, 0, shift=shift))
    with pytest.raises(AssertionError, match="not symmetric"):
        assert_symmetric_psd(_low_rank_operator(n, 20, 0, skew=1e-3))


def test_psd_rejects_non_square_and_unknown_types():
    with pytest.raises(ValueError, match="square"):
        assert_symmetric_psd(np.ones((2, 3)))
    with pytest.raises(TypeError, match="op="):
        assert_symmetric_psd({"not": "a matrix"})
    with pytest.raises(TypeError, match="op has dtype complex128"):
        assert_symmetric_psd(np.eye(2, dtype=complex))
    with pytest.raises(TypeError, match="tol='small'"):
        assert_symmetric_psd(np.eye(2), tol="small")
    with pytest.raises(ValueError, match=r"scale=-1\.0"):
        assert_symmetric_psd(np.eye(2), scale=-1.0)


# ---------------------------------------------------------------------------------------------
# assert_normalized_laplacian


def _incidence(hg):
    return hg.incidence.toarray().astype(np.float64)


def _zhou_laplacian(H, w, degrees):
    """I − Dv^(-1/2) H W De^(-1) Hᵀ Dv^(-1/2) with the vertex degrees given."""
    delta = H.sum(axis=0)
    inv_sqrt = np.zeros_like(degrees)
    inv_sqrt[degrees > 0] = degrees[degrees > 0] ** -0.5
    theta = (H * (w / delta)) @ H.T
    return np.eye(H.shape[0]) - inv_sqrt[:, None] * theta * inv_sqrt[None, :]


@settings(max_examples=40)
@given(
    st.sampled_from(["random", "spread"]).flatmap(
        lambda kind: hypergraphs(
            n_vertices=(1, 12),
            n_edges=(0, 10),
            edge_size=(1, 12),  # up to hyperedges holding every vertex
            weights=kind,
            dtype=st.sampled_from([np.float32, np.float64]),
            probabilistic=True,
        )
    )
)
def test_laplacian_passes_on_hyperlearn_laplacians(hg):
    report = assert_normalized_laplacian(hg)  # matrix-free and explicit
    assert report["lambda_max"] <= 1.0 + report["tol"]
    H, w = _incidence(hg), np.asarray(hg.weights, dtype=np.float64)
    assert_normalized_laplacian(hg, _zhou_laplacian(H, w, H @ w))


@settings(max_examples=20)
@given(hypergraphs(dtype=st.sampled_from([np.float32, np.float64]), probabilistic=True))
def test_psd_passes_on_hypergraph_operators(hg):
    # Θ = BBᵀ ⪰ 0 and Δ = I − Θ ⪰ 0, matrix-free (float32 kernels get float32 probes).  Δ is a
    # difference of terms of norm ≤ 1 (it can cancel to ≈ 0), D_v − HWD_e⁻¹Hᵀ one of terms of
    # norm ≤ max d(v): those are the scales of their rounding errors
    assert_symmetric_psd(hg.normalized_adjacency())
    assert_symmetric_psd(hg.laplacian("normalized"), scale=1.0)
    max_degree = float(np.max(hg.vertex_degrees, initial=0.0))
    assert_symmetric_psd(hg.laplacian("unnormalized"), scale=max_degree)


def test_psd_scale_for_matrices_computed_by_cancellation():
    # one vertex in one hyperedge: Δ = 1 − Θ = 1 − 1 may round to −eps; relative to ‖S‖ ≈ eps
    # that is a violation, relative to the operands' scale 1 it is rounding
    A = np.array([[-np.finfo(np.float64).eps]])
    with pytest.raises(AssertionError, match="not positive semi-definite"):
        assert_symmetric_psd(A)
    report = assert_symmetric_psd(A, scale=1.0)
    assert report["tol"] == pytest.approx(10 * np.finfo(np.float64).eps)


@settings(max_examples=40)
@given(
    hypergraphs(n_vertices=(2, 10), n_edges=(2, 8), edge_size=(1, 4), weights=st.floats(0.1, 10.0))
)
def test_laplacian_catches_xgi_unweighted_degrees(hg):
    # XGI builds Dv from unweighted degrees.  That Laplacian is SΘS with S = diag(√(d/d₀)); it
    # equals Zhou's exactly when d = d₀ on every non-isolated vertex, otherwise Δ·Dv^(1/2)1 ≠ 0
    H, w = _incidence(hg), np.asarray(hg.weights, dtype=np.float64)
    weighted, unweighted = H @ w, H.sum(axis=1)
    covered = unweighted > 0
    mismatch = np.max(np.abs(weighted[covered] / unweighted[covered] - 1.0))
    xgi = _zhou_laplacian(H, w, unweighted)
    if mismatch < 1e-3:
        assert_normalized_laplacian(hg, xgi)
        return
    with pytest.raises(AssertionError, match=r"not in the kernel|λ_m"):
        assert_normalized_laplacian(hg, xgi)


def test_laplacian_catches_xgi_on_the_smallest_example():
    from hyperlearn import Hypergraph

    hg = Hypergraph.from_edges([[0, 1], [1, 2]], weights=[1.0, 3.0])
    H, w = _incidence(hg), np.asarray(hg.weights)
    with pytest.raises(AssertionError, match="not in the kernel") as info:
        assert_normalized_laplacian(hg, _zhou_laplacian(H, w, H.sum(axis=1)))
    assert "weighted degrees d = H w" in str(info.value)


@pytest.mark.parametrize("kind", ["random_walk", "unnormalized"])
def test_laplacian_catches_other_kinds(kind):
    from hyperlearn import Hypergraph

    hg = Hypergraph.from_edges([[0, 1, 2], [2, 3], [1, 3, 4]], weights=[1.0, 2.0, 0.5])
    with pytest.raises(AssertionError):
        assert_normalized_laplacian(hg, hg.laplacian(kind, explicit=True))


def test_laplacian_catches_scaled_adjacency():
    from hyperlearn import Hypergraph

    hg = Hypergraph.from_edges([[0, 1, 2], [2, 3], [1, 3, 4]], weights=[1.0, 2.0, 0.5])
    theta = hg.normalized_adjacency(explicit=True).toarray()
    with pytest.raises(AssertionError, match="λ_min"):
        assert_normalized_laplacian(hg, np.eye(5) - 1.01 * theta)


def test_laplacian_large_hypergraph_probe_path():
    from hyperlearn import Hypergraph

    rng = np.random.default_rng(0)
    n = 1200
    edges = [rng.choice(n, size=5, replace=False) for _ in range(600)]
    hg = Hypergraph.from_edges(edges, n_vertices=n, weights=rng.uniform(0.1, 10.0, 600))
    report = assert_normalized_laplacian(hg)
    assert report["mode"] == "probe"
    L = hg.laplacian("normalized", explicit=True)
    d0 = np.asarray(hg.incidence.sum(axis=1)).ravel()
    d = np.asarray(hg.vertex_degrees, dtype=np.float64)
    covered = d0 > 0
    # XGI-style rescaling S(I − Δ)S with S = √(d/d₀), applied to the explicit matrix
    S = np.ones(n)
    S[covered] = np.sqrt(d[covered] / d0[covered])
    xgi = sp.identity(n) - sp.diags(S) @ (sp.identity(n) - L) @ sp.diags(S)
    with pytest.raises(AssertionError, match="not in the kernel"):
        assert_normalized_laplacian(hg, xgi)


def test_laplacian_rejects_bad_inputs():
    from hyperlearn import Hypergraph

    hg = Hypergraph.from_edges([[0, 1]])
    with pytest.raises(TypeError, match="incidence"):
        assert_normalized_laplacian(np.eye(2))
    with pytest.raises(ValueError, match="expected \\(2, 2\\)"):
        assert_normalized_laplacian(hg, np.eye(3))


def test_solution_large_operator_without_rmatvec_is_assumed_symmetric():
    # n > 1000: ‖A‖₂ for the rounding slack is estimated by power iteration; a LinearOperator
    # with matvec only is treated as symmetric
    n = 1500
    d = np.linspace(1.0, 10.0, n)
    op = spla.LinearOperator((n, n), matvec=lambda v: d * np.ravel(v), dtype=np.float64)
    b = np.ones(n)
    report = assert_solution_accuracy(op, b / d, b, rtol=1e-12, x_true=b / d, condition_number=10)
    assert report["forward_error"][0] <= 1e-15
    with pytest.raises(AssertionError, match="Residual criterion"):
        assert_solution_accuracy(op, b / d + 1e-6, b, rtol=1e-12)

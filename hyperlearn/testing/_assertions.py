"""Accuracy assertions whose tolerances come from theory, not from trial and error.

Each assertion computes an a-priori bound (Halko–Martinsson–Tropp for randomized range finders,
residual and forward-error bounds for linear solves, rounding-error bounds for symmetric spectra),
measures the quantity exactly (or with a certified probe for large operators), and raises
``AssertionError`` with the bound, the observed value and every constant when the measurement
exceeds ``safety`` times the bound.  They need only NumPy and SciPy (no hypothesis).
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import scipy.linalg
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from . import _linalg

__all__ = [
    "LOW_RANK_ROUNDING_SLACK",
    "SOLVE_ROUNDING_SLACK",
    "SPECTRUM_ROUNDING_SLACK",
    "assert_low_rank_accuracy",
    "assert_normalized_laplacian",
    "assert_solution_accuracy",
    "assert_symmetric_psd",
    "hmt_power_bound",
]

# c in c·√max(m, n)·eps·‖A‖₂: rounding error of a computed low-rank factorisation (QR, GEMMs and a
# small SVD).  Probabilistic rounding analysis (Higham & Mary 2019) gives error growth √n·eps for
# sums of length n instead of the worst case n·eps; c absorbs the handful of products involved.
# Largest c observed for hyperlearn.linalg.randomized_svd: 11 (7×7 float64, full-width sketch;
# tests/hyperlearn/linalg/test_randomized.py), hence 20 (the same constant as there).
LOW_RANK_ROUNDING_SLACK = 20.0

# c in c·√n·eps·(‖|A|‖₂‖x‖ + ‖b‖): difference between a residual computed in working precision
# (what a solver checks) and the residual computed here in float64 (Higham 2002, §3.5).
SOLVE_ROUNDING_SLACK = 10.0

# c in c·√n·eps·‖A‖₂: rounding tolerance for symmetry, eigenvalue signs and eigenvector
# residuals of a symmetric matrix or operator assembled in floating point.
SPECTRUM_ROUNDING_SLACK = 10.0

# assert_normalized_laplacian(hypergraph) also checks the explicit sparse Laplacian up to this
# many vertices (one more dense eigenvalue problem).
EXPLICIT_CHECK_MAX_N = 300


# ---------------------------------------------------------------------------------------------
# input checks


def _check_positive_real(value, name, *, allow_zero=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{name}={value!r} is not valid: expected a finite real number.")
    if value < 0 or (value == 0 and not allow_zero):
        expected = "a non-negative" if allow_zero else "a positive"
        raise ValueError(f"{name}={value!r} is not valid: expected {expected} real number.")
    return float(value)


def _check_int(value, name, *, low):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}={value!r} is not valid: expected an integer >= {low}.")
    if value < low:
        raise ValueError(f"{name}={value!r} is not valid: expected an integer >= {low}.")
    return int(value)


def _check_safety(safety):
    value = _check_positive_real(safety, "safety")
    if value < 1.0:
        raise ValueError(
            f"safety={safety!r} is not valid: expected a real number >= 1 (it multiplies a bound)."
        )
    return value


def _check_dense(value, name, ndim):
    if sp.issparse(value) or isinstance(value, spla.LinearOperator):
        raise TypeError(f"{name}={_linalg.describe(value)} must be a dense numpy array.")
    array = np.asarray(value)
    if array.ndim not in ndim:
        raise ValueError(
            f"{name} has shape {array.shape}: expected {' or '.join(f'{d}-D' for d in ndim)}."
        )
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} has dtype {array.dtype}: expected real numbers.")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values.")
    return array


# ---------------------------------------------------------------------------------------------
# low-rank approximation


def hmt_power_bound(sigma, k, p, q):
    r"""Halko–Martinsson–Tropp bound on E‖(I − P_Y)A‖₂ for Y = (AAᵀ)^q A Ω, Ω n×(k+p) Gaussian.

    .. math::

        \big[(1 + \sqrt{k/(p-1)})\,\sigma_{k+1}^{2q+1}
        + \tfrac{e\sqrt{k+p}}{p}\big(\sum_{j>k} \sigma_j^{2(2q+1)}\big)^{1/2}\big]^{1/(2q+1)}

    (HMT 2011, Cor. 10.10), computed after factoring out σ_{k+1} so that large exponents neither
    overflow nor underflow the leading term.

    Parameters
    ----------
    sigma : array-like
        All singular values of A, non-increasing (missing trailing values count as zero).
    k : int
        Target rank, ≥ 1.
    p : int
        Oversampling, ≥ 2.
    q : int
        Number of power iterations, ≥ 0.

    Returns
    -------
    float

    Examples
    --------
    >>> from hyperlearn.testing import hmt_power_bound
    >>> round(hmt_power_bound([1.0, 0.5, 0.0, 0.0], k=1, p=2, q=0), 6)
    2.177051
    """
    k = _check_int(k, "k", low=1)
    p = _check_int(p, "p", low=2)
    q = _check_int(q, "q", low=0)
    tail = np.asarray(sigma[k:], dtype=np.float64)
    if tail.size == 0 or tail[0] == 0.0:
        return 0.0
    lead = tail[0]
    exponent = 2 * q + 1
    ratios = (tail / lead) ** (2 * exponent)
    inner = (1.0 + math.sqrt(k / (p - 1))) + (math.e * math.sqrt(k + p) / p) * math.sqrt(
        float(np.sum(ratios))
    )
    return float(lead * inner ** (1.0 / exponent))


def _spectral_norm_of_residual(A, U, s, Vt):
    """‖A − U diag(s) Vt‖₂ in float64: exact for small A, Lanczos (ARPACK, to rounding) else."""
    m, n = A.shape
    U_s = U.astype(np.float64) * s.astype(np.float64)
    V_t64 = Vt.astype(np.float64)
    if _linalg.can_densify(A):
        R = _linalg.to_dense64(A) - U_s @ V_t64
        return float(np.linalg.norm(R, 2)) if R.size else 0.0
    lin = spla.aslinearoperator(A)
    dtype = _linalg.operator_dtype(A)

    def matvec(x):
        x = np.ravel(x)
        return np.asarray(lin.matvec(x.astype(dtype)), dtype=np.float64) - U_s @ (V_t64 @ x)

    def rmatvec(y):
        y = np.ravel(y)
        return np.asarray(lin.rmatvec(y.astype(dtype)), dtype=np.float64) - V_t64.T @ (U_s.T @ y)

    residual = spla.LinearOperator((m, n), matvec=matvec, rmatvec=rmatvec, dtype=np.float64)
    v0 = np.random.default_rng(0).standard_normal(min(m, n))
    value = spla.svds(residual, k=1, v0=v0, return_singular_vectors=False, solver="arpack")
    return float(value[0])


def assert_low_rank_accuracy(A, U, s, Vt, *, k, n_oversamples, n_iter, sigma=None, safety=10.0):
    r"""Assert that a randomized SVD meets the Halko–Martinsson–Tropp power-scheme bound.

    ``(U, s, Vt)`` is the output of a randomized SVD of ``A`` whose range finder drew
    ``ℓ = k + n_oversamples`` Gaussian test vectors and ran ``n_iter`` power iterations, then kept
    ``r = len(s) ≤ ℓ`` components.  The assertion checks

    .. math::

        \|A - U\,\mathrm{diag}(s)\,V^T\|_2 \le \tau + \text{safety}\cdot(\beta + \rho),

    where

    - :math:`\beta = \min_{k'} \big[(1+\sqrt{k'/(p'-1)})\,\sigma_{k'+1}^{2q+1}
      + \tfrac{e\sqrt{\ell}}{p'}\big(\sum_{j>k'}\sigma_j^{2(2q+1)}\big)^{1/2}\big]^{1/(2q+1)}`
      is the HMT bound on :math:`\mathbb E\|(I-P_Y)A\|_2` for the power scheme
      :math:`Y = (AA^T)^q A\Omega` (HMT 2011, Cor. 10.10: Thm 9.2 applied to
      :math:`B = (AA^T)^q A`, whose singular values are :math:`\sigma_j^{2q+1}`, Thm 10.6 applied
      to B, and Hölder's inequality).  Every split :math:`\ell = k' + p'` with
      :math:`k' \ge 1, p' \ge 2` bounds the same expectation, so the smallest is used; ``k`` and
      ``n_oversamples`` fix only ℓ.  β = 0 when :math:`\ell \ge \min(m, n)` (the sketch then spans
      the range of A).
    - :math:`\tau = \sigma_{r+1}` when ``r < ℓ`` (truncating :math:`QQ^TA` to rank r costs at most
      σ_{r+1}(QQᵀA) ≤ σ_{r+1}(A), by the triangle inequality), else 0.
    - :math:`\rho = c\sqrt{\max(m,n)}\,\varepsilon\,\|A\|_2`, the rounding error of the computed
      factorisation with ``c = LOW_RANK_ROUNDING_SLACK`` and ε the unit roundoff of the lowest
      precision among ``A, U, s, Vt``.  When the tail σ_{k+1}, σ_{k+2}, … is zero (exact rank), this
      is the whole bound.

    Parameters
    ----------
    A : ndarray, sparse matrix or LinearOperator of shape (m, n)
        The matrix that was approximated.
    U : ndarray of shape (m, r)
    s : ndarray of shape (r,)
    Vt : ndarray of shape (r, n)
        The approximate factors.
    k : int
        Target rank, ≥ 1.
    n_oversamples : int
        Oversampling p, ≥ 2 (the HMT expectation bounds need p ≥ 2).
    n_iter : int
        Number of power iterations q ≥ 0 (resolve ``"auto"`` before calling).
    sigma : array-like, optional
        Singular values of ``A``, non-increasing.  Missing trailing values (fewer than
        min(m, n) given) are replaced by the last value given, which only enlarges the bound.
        When omitted they are computed exactly with LAPACK, which requires
        ``max(m, n) <= 1000``.
    safety : float, default=10
        Factor ≥ 1 on the probabilistic term and the rounding term.  By Markov's inequality
        applied to ‖(I−P_Y)B‖, a correct implementation fails with probability at most
        ``safety ** -(2q+1)``; the HMT deviation bounds (§10.3) make it far smaller in practice,
        decaying like a power of ``1/safety`` of order p.

    Returns
    -------
    report : dict
        ``observed``, ``allowed``, ``hmt_bound`` (β), ``truncation`` (τ), ``rounding`` (ρ),
        ``best_split`` (k', p') and ``norm_A`` = ‖A‖₂.

    Raises
    ------
    AssertionError
        If the observed error exceeds the allowed one; the message gives the bound, the observed
        value and the constants.
    ValueError, TypeError
        For inconsistent shapes or invalid parameters.

    Notes
    -----
    The observed error ‖A − U diag(s) Vt‖₂ is computed exactly in float64 for
    ``max(m, n) <= 1000`` and by ARPACK (Lanczos on the residual operator, to machine precision)
    otherwise.

    The bound holds in exact arithmetic; ρ assumes a backward-stable computation.  Power
    iterations *without* re-orthonormalisation (``power_iteration_normalizer="none"``, which
    scikit-learn's ``"auto"`` picks for ``n_iter <= 2``) are not: the directions with
    σ_j/σ_1 below eps^(1/(2q+1)) drown in rounding, and the error exceeds ρ by up to
    (σ_1/σ_k)^(2q).  Measured on a 40×30 matrix with σ = (1, 0.1, 0.01, 0, …) and p = 2,
    with ρ evaluated at c = 10: observed/ρ ≈ 5·10⁵ (float64, q = 2), 60–70 (q = 1, float32 or
    float64) and up to 7·10³ (float32, q = 2, 20 seeds) without normalisation; ≤ 0.1 with QR or
    LU.
    The assertion reports such results as failures, by design.

    False alarms: observed/β over 300 seeds was at most 0.65 for flat, slowly and quickly
    decaying spectra, and at most 2.8 in the worst case tried (p = 2, q = 0, σ_6/σ_5 = 10⁻³),
    where ‖Ω₁^†‖ has its heaviest tail; hence the default ``safety=10``.

    References
    ----------
    N. Halko, P.-G. Martinsson, J. A. Tropp, "Finding structure with randomness: probabilistic
    algorithms for constructing approximate matrix decompositions", SIAM Review 53(2):217–288,
    2011 (arXiv:0909.4061), Thm 9.2, Thm 10.6, Cor. 10.10.

    N. J. Higham, T. Mary, "A new approach to probabilistic rounding error analysis",
    SIAM J. Sci. Comput. 41(5):A2815–A2835, 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.utils.extmath import randomized_svd
    >>> from hyperlearn.testing import assert_low_rank_accuracy
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((60, 8)) @ rng.standard_normal((8, 40))
    >>> U, s, Vt = randomized_svd(A, 8, n_oversamples=5, n_iter=1, random_state=0)
    >>> report = assert_low_rank_accuracy(A, U, s, Vt, k=8, n_oversamples=5, n_iter=1)
    >>> bool(report["observed"] <= report["allowed"])
    True
    """
    A = _linalg.check_operator(A, "A")
    U = _check_dense(U, "U", (2,))
    s = _check_dense(s, "s", (1,))
    Vt = _check_dense(Vt, "Vt", (2,))
    m, n = A.shape
    r = s.shape[0]
    if U.shape != (m, r) or Vt.shape != (r, n):
        raise ValueError(
            f"Inconsistent shapes: A {(m, n)}, U {U.shape}, s {s.shape}, Vt {Vt.shape}; expected "
            f"U ({m}, r), s (r,), Vt (r, {n})."
        )
    k = _check_int(k, "k", low=1)
    p = _check_int(n_oversamples, "n_oversamples", low=2)
    q = _check_int(n_iter, "n_iter", low=0)
    safety = _check_safety(safety)
    ell = k + p
    if r > ell:
        raise ValueError(
            f"len(s)={r} exceeds k + n_oversamples = {ell}: a range finder with {ell} test "
            "vectors cannot produce more components."
        )
    rank_max = min(m, n)

    if sigma is None:
        if not _linalg.can_densify(A):
            raise ValueError(
                f"sigma=None needs an exact SVD of A, which is only done for max(m, n) <= "
                f"{_linalg.DENSE_MAX_N}; A has shape {(m, n)}: pass its singular values as sigma."
            )
        sigma_full = scipy.linalg.svdvals(_linalg.to_dense64(A), check_finite=False)
    else:
        sigma_given = _check_dense(sigma, "sigma", (1,)).astype(np.float64)
        if sigma_given.size == 0 or sigma_given.size > rank_max:
            raise ValueError(
                f"sigma has {sigma_given.size} values: expected between 1 and min(m, n) = "
                f"{rank_max}."
            )
        if np.any(sigma_given < 0) or np.any(np.diff(sigma_given) > 0):
            raise ValueError("sigma must be non-negative and non-increasing (singular values).")
        sigma_full = np.full(rank_max, sigma_given[-1])
        sigma_full[: sigma_given.size] = sigma_given
    sigma_full = np.concatenate([sigma_full, [0.0]])  # σ_{min(m,n)+1} = 0
    a_norm = float(sigma_full[0])

    if ell >= rank_max:
        hmt, split = 0.0, (k, p)
    else:
        candidates = [
            (hmt_power_bound(sigma_full, kk, ell - kk, q), (kk, ell - kk))
            for kk in range(1, ell - 1)
        ]
        hmt, split = min(candidates)
    truncation = float(sigma_full[r]) if r < ell else 0.0
    eps = _linalg.machine_eps(_linalg.operator_dtype(A), U.dtype, s.dtype, Vt.dtype)
    rounding = float(LOW_RANK_ROUNDING_SLACK * math.sqrt(max(m, n)) * eps * a_norm)
    allowed = float(truncation + safety * (hmt + rounding))
    observed = _spectral_norm_of_residual(A, U, s, Vt)
    report = {
        "observed": observed,
        "allowed": allowed,
        "hmt_bound": hmt,
        "truncation": truncation,
        "rounding": rounding,
        "best_split": split,
        "norm_A": a_norm,
    }
    if not observed <= allowed:
        raise AssertionError(
            "Low-rank approximation error exceeds the Halko–Martinsson–Tropp bound:\n"
            f"  observed ‖A − U diag(s) Vt‖₂ = {observed:.6e}\n"
            f"  allowed  = τ + safety·(β + ρ) = {truncation:.6e} + {safety:g}·({hmt:.6e} + "
            f"{rounding:.6e}) = {allowed:.6e}  (ratio observed/allowed = "
            f"{observed / allowed if allowed > 0 else math.inf:.3g})\n"
            "  β = [(1+√(k'/(p'−1)))σ_{k'+1}^{2q+1} + (e√ℓ/p')(Σ_{j>k'} σ_j^{2(2q+1)})^{1/2}]"
            f"^{{1/(2q+1)}} (HMT 2011 Cor. 10.10), best split k'={split[0]}, p'={split[1]}, "
            f"ℓ = k + n_oversamples = {ell}, q = n_iter = {q}\n"
            f"  τ = σ_{{r+1}} for truncation to r = {r} < ℓ components: {truncation:.6e}\n"
            f"  ρ = c·√max(m,n)·eps·‖A‖₂ with c = {LOW_RANK_ROUNDING_SLACK:g}, shape = {(m, n)}, "
            f"eps = {eps:.3e}, ‖A‖₂ = {a_norm:.6e}\n"
            f"  σ_{{k+1}} = {sigma_full[min(k, rank_max)]:.6e}"
        )
    return report


# ---------------------------------------------------------------------------------------------
# linear solves


def _norms_per_column(X):
    return np.linalg.norm(X, axis=0)


def _gamma(k, u):
    """Higham's γ_k = k·u / (1 − k·u) for the unit roundoff ``u`` (``inf`` once k·u >= 1)."""
    return k * u / (1 - k * u) if k * u < 1 else math.inf


def _max_row_nonzeros(A):
    """Largest number of stored entries in a row of an explicit matrix (n for dense)."""
    if sp.issparse(A):
        counts = np.diff(sp.csr_matrix(A).indptr)
        return int(counts.max()) if counts.size else 0
    return int(A.shape[1])


def assert_solution_accuracy(
    A, x, b, *, rtol, atol=0.0, condition_number=None, x_true=None, safety=1.0
):
    r"""Assert the stopping criterion of an iterative solve and, optionally, its forward error.

    1. **Residual criterion** (the contract of ``hyperlearn.linalg.cg`` and SciPy's ``cg``), per
       column of ``b``:

       .. math::

          \|b - Ax\|_2 \le \text{safety}\cdot\max(\text{rtol}\,\|b\|_2,\ \text{atol})
          + c\sqrt{n}\,\varepsilon\,(\||A|\|_2\|x\|_2 + \|b\|_2),

       the last term (``c = SOLVE_ROUNDING_SLACK``, ε the machine epsilon of the lowest
       precision among ``A, x, b``) covering the difference between the residual a solver
       computes in working precision and the float64 residual measured here (Higham 2002,
       §3.5); ‖|A|‖₂ is bounded by √(‖A‖₁‖A‖_∞).  That form is used for a
       ``LinearOperator``, whose entries are unknown.  For an explicit ``A`` (ndarray or
       sparse) the rigorous componentwise bound replaces it:

       .. math::

          \|b - Ax\|_2 \le \text{safety}\cdot\max(\text{rtol}\,\|b\|_2,\ \text{atol})
          + (\gamma_{k+1}(u) + \gamma_{k+1}(u_{64}))\,\|\,|A||x| + |b|\,\|_2,

       with k the largest number of nonzeros in a row of A, u the unit roundoff of the working
       precision, :math:`\gamma_m(u) = mu/(1 - mu)` (Higham 2002, Lemma 3.5): once for the
       solver's own residual, once for this float64 measurement.

    2. **Forward error**, when ``x_true`` is given: with r = b − Ax and r* = b − Ax*
       (r* ≠ 0 only through the rounding of b = Ax*),

       .. math::

          \frac{\|x - x^*\|_2}{\|x^*\|_2} \le \text{safety}\cdot
          \kappa_2(A)\,\frac{\|r\|_2 + \|r^*\|_2}{\|b\|_2 - \|r^*\|_2},

       which follows from x − x* = A⁻¹(r* − r) and ‖x*‖ ≥ ‖b − r*‖/‖A‖; with r* = 0 it is the
       classical κ·relres bound (Golub & Van Loan 2013, §2.6.2).  The residuals are measured, so
       the bound is rigorous up to the float64 measurement.

    Parameters
    ----------
    A : ndarray, sparse matrix or LinearOperator of shape (n, n)
    x : ndarray of shape (n,) or (n, s)
        Computed solution.
    b : ndarray of shape (n,) or (n, s)
        Right-hand side(s); each column is checked separately.
    rtol, atol : float
        The tolerances the solver was given.
    condition_number : float, optional
        κ₂(A) ≥ 1.  If ``x_true`` is given and this is omitted, κ₂ is computed exactly with
        LAPACK, which requires n <= 1000.
    x_true : ndarray of the shape of ``x``, optional
        Exact solution; enables the forward-error check.
    safety : float, default=1
        Factor ≥ 1 on the solver tolerance and on the forward bound (both are deterministic).

    Returns
    -------
    report : dict
        ``residual`` (per column), ``allowed_residual``, and with ``x_true``: ``forward_error``,
        ``allowed_forward_error``, ``condition_number``.

    Raises
    ------
    AssertionError
        When a check fails; the message names the column, the bound and the observed value.

    References
    ----------
    N. J. Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., SIAM 2002, §3.5, §7.1.

    G. H. Golub, C. F. Van Loan, *Matrix Computations*, 4th ed., 2013, §2.6.2.

    Examples
    --------
    >>> import numpy as np
    >>> from hyperlearn.testing import assert_solution_accuracy
    >>> A = np.array([[4.0, 1.0], [1.0, 3.0]])
    >>> x_true = np.array([1.0, -2.0])
    >>> b = A @ x_true
    >>> x = np.linalg.solve(A, b)
    >>> report = assert_solution_accuracy(A, x, b, rtol=1e-12, x_true=x_true)
    >>> bool(report["forward_error"].max() < 1e-12)
    True
    """
    A = _linalg.check_operator(A, "A")
    n = A.shape[0]
    if A.shape[1] != n:
        raise ValueError(f"A has shape {A.shape}: expected a square matrix.")
    x = _check_dense(x, "x", (1, 2))
    b = _check_dense(b, "b", (1, 2))
    if x.shape != b.shape or x.shape[0] != n:
        raise ValueError(
            f"x has shape {x.shape} and b has shape {b.shape}: expected both ({n},) or ({n}, s)."
        )
    rtol = _check_positive_real(rtol, "rtol", allow_zero=True)
    atol = _check_positive_real(atol, "atol", allow_zero=True)
    safety = _check_safety(safety)
    if x_true is not None:
        x_true = _check_dense(x_true, "x_true", (1, 2))
        if x_true.shape != x.shape:
            raise ValueError(f"x_true has shape {x_true.shape}: expected {x.shape} (as x).")
    if condition_number is not None:
        condition_number = _check_positive_real(condition_number, "condition_number")
        if condition_number < 1.0:
            raise ValueError(
                f"condition_number={condition_number!r} is not valid: κ₂(A) is always >= 1."
            )

    X = x.reshape(n, -1).astype(np.float64)
    B_cols = b.reshape(n, -1).astype(np.float64)
    exact_arithmetic = isinstance(A, np.ndarray) or sp.issparse(A)
    A_measure = A.astype(np.float64) if exact_arithmetic else A
    eps_work = _linalg.machine_eps(_linalg.operator_dtype(A), x.dtype, b.dtype)
    # float64 residuals for arrays; a LinearOperator is applied in its own arithmetic
    eps_measure = _linalg.machine_eps(np.float64 if exact_arithmetic else _linalg.operator_dtype(A))
    abs_norm = _linalg.abs_norm_bound(A)

    R = B_cols - _linalg.apply(A_measure, X)
    residual = _norms_per_column(R)
    b_norm = _norms_per_column(B_cols)
    x_norm = _norms_per_column(X)
    if exact_arithmetic:
        # Componentwise (Higham 2002, Lemma 3.5 / §3.5): a residual b − Ax computed in any
        # summation order, with at most k nonzeros per row of A, is off by at most
        # γ_{k+1}(|A||x| + |b|) per entry; once in the solver's working precision, once in this
        # float64 measurement.
        k = _max_row_nonzeros(A_measure)
        size = _norms_per_column(
            np.asarray(abs(A_measure) @ np.abs(X), dtype=np.float64) + np.abs(B_cols)
        )
        slack = (_gamma(k + 1, eps_work / 2) + _gamma(k + 1, eps_measure / 2)) * size
        slack_formula = "(γ_{k+1}(u) + γ_{k+1}(u64))·‖|A||x| + |b|‖₂"
        constants = f"k = {k} nonzeros per row, u = eps/2 = {eps_work / 2:.3e}"
    else:
        slack = SOLVE_ROUNDING_SLACK * math.sqrt(n) * eps_work * (abs_norm * x_norm + b_norm)
        slack_formula = "c·√n·eps·(‖|A|‖₂‖x‖₂ + ‖b‖₂)"
        constants = (
            f"c = {SOLVE_ROUNDING_SLACK:g}, n = {n}, eps = {eps_work:.3e}, ‖|A|‖₂ ≤ {abs_norm:.6e}"
        )
    allowed = safety * np.maximum(rtol * b_norm, atol) + slack
    report = {"residual": residual, "allowed_residual": allowed}
    bad = np.flatnonzero(~(residual <= allowed))
    if bad.size:
        j = int(bad[np.argmax(residual[bad] - allowed[bad])])
        raise AssertionError(
            f"Residual criterion violated in column {j} ({bad.size} of {residual.size} columns):\n"
            f"  observed ‖b − Ax‖₂ = {residual[j]:.6e}\n"
            f"  allowed  = safety·max(rtol‖b‖₂, atol) + {slack_formula}"
            f" = {safety:g}·max({rtol:g}·{b_norm[j]:.6e}, {atol:g}) + {slack[j]:.3e}"
            f" = {allowed[j]:.6e}\n"
            f"  {constants}, ‖x‖₂ = {x_norm[j]:.6e}"
        )
    if x_true is None:
        return report

    if condition_number is None:
        if not _linalg.can_densify(A):
            raise ValueError(
                f"condition_number=None needs an exact SVD of A, done only for n <= "
                f"{_linalg.DENSE_MAX_N}; A has n = {n}: pass condition_number."
            )
        sv = scipy.linalg.svdvals(_linalg.to_dense64(A), check_finite=False)
        condition_number = float(sv[0] / sv[-1]) if sv[-1] > 0 else math.inf
    X_true = x_true.reshape(n, -1).astype(np.float64)
    res_true = B_cols - _linalg.apply(A_measure, X_true)
    # measurement error of the two residual norms (float64 unless A is a LinearOperator)
    measure = (
        SOLVE_ROUNDING_SLACK
        * math.sqrt(n)
        * eps_measure
        * abs_norm
        * (_norms_per_column(X_true) + x_norm)
    )
    r_true = _norms_per_column(res_true) + measure
    denom = b_norm - r_true
    forward = _norms_per_column(X - X_true) / np.where(
        _norms_per_column(X_true) > 0, _norms_per_column(X_true), np.inf
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        bound = condition_number * (residual + measure + r_true) / denom
    bound = np.where(denom > 0, bound, np.inf)  # b ≈ 0: relative forward error is undefined
    allowed_forward = safety * bound
    report.update(
        forward_error=forward,
        allowed_forward_error=allowed_forward,
        condition_number=condition_number,
    )
    bad = np.flatnonzero(~(forward <= allowed_forward))
    if bad.size:
        j = int(bad[0])
        raise AssertionError(
            f"Forward error exceeds the condition-number bound in column {j}:\n"
            f"  observed ‖x − x*‖₂/‖x*‖₂ = {forward[j]:.6e}\n"
            f"  allowed  = safety·κ₂(A)·(‖r‖₂ + ‖r*‖₂)/(‖b‖₂ − ‖r*‖₂) = {safety:g}·"
            f"{condition_number:.6e}·({residual[j]:.3e} + {r_true[j]:.3e})/"
            f"({b_norm[j]:.3e} − {r_true[j]:.3e}) = {allowed_forward[j]:.6e}\n"
            "  (r = b − Ax, r* = b − Ax*, measured in float64 plus the measurement slack "
            f"c·√n·eps·‖|A|‖₂(‖x‖+‖x*‖) = {measure[j]:.3e} with c = {SOLVE_ROUNDING_SLACK:g})"
        )
    return report


# ---------------------------------------------------------------------------------------------
# symmetric spectra


def _spectrum_tolerance(n, eps, scale):
    return SPECTRUM_ROUNDING_SLACK * math.sqrt(max(n, 1)) * eps * scale


def assert_symmetric_psd(op, *, tol=None, scale=None, safety=1.0, random_state=0):
    r"""Assert that a matrix or operator is symmetric positive semi-definite.

    Checks, with :math:`S = (A + A^T)/2`,

    .. math::

        \|A - A^T\|_2 \le \text{safety}\cdot\text{tol}, \qquad
        \lambda_{\min}(S) \ge -\,\text{safety}\cdot\text{tol},

    where by default :math:`\text{tol} = c\sqrt{n}\,\varepsilon\,\sigma` with
    ``c = SPECTRUM_ROUNDING_SLACK``, ε the unit roundoff of the operator's dtype and σ = ``scale``
    (default ‖S‖₂): the rounding error of a symmetric matrix assembled in floating point, e.g.
    ``B @ B.T``, under the probabilistic model of Higham & Mary (2019).

    Parameters
    ----------
    op : ndarray, sparse matrix or LinearOperator of shape (n, n)
    tol : float, optional
        Absolute tolerance; defaults to the rounding bound above.
    scale : float, optional
        Magnitude of the quantities ``op`` was computed from, when it is a difference of larger
        terms (e.g. ``I − Θ`` with ‖Θ‖ = 1 can be ≈ 0 after cancellation while its rounding error
        is ε-relative to 1).  Default ‖S‖₂, which is right for products such as ``B @ B.T``.
    safety : float, default=1
        Factor ≥ 1 on ``tol``.
    random_state : int or numpy Generator, default=0
        Seed of the probe vectors (large operators only); fixed by default so that an assertion
        is reproducible.

    Returns
    -------
    report : dict
        ``asymmetry``, ``lambda_min``, ``lambda_max``, ``tol`` and ``mode``.

    Raises
    ------
    AssertionError
        If a check fails; the message gives the bound, the observed value and the constants.

    Notes
    -----
    For ``n <= 1000`` the operator is formed densely (a LinearOperator is applied to the
    identity) and measured exactly in float64 (LAPACK ``syevd``).  Larger operators are probed:
    a block Krylov basis Q of span{X, AX, …, A⁶X} with 8 Gaussian start vectors gives
    ‖Qᵀ(A − Aᵀ)Q‖₂ ≤ ‖A − Aᵀ‖₂ and Ritz values of S inside [λ_min(S), λ_max(S)].  A failure
    found by probing is therefore certain; a pass is strong evidence, not a proof.

    References
    ----------
    N. J. Higham, T. Mary, SIAM J. Sci. Comput. 41(5):A2815–A2835, 2019.
    Y. Saad, *Numerical Methods for Large Eigenvalue Problems*, 2nd ed., SIAM 2011, §6.6
    (convergence of extreme Ritz values).

    Examples
    --------
    >>> import numpy as np
    >>> from hyperlearn.testing import assert_symmetric_psd
    >>> B = np.arange(6.0).reshape(3, 2)
    >>> report = assert_symmetric_psd(B @ B.T)
    >>> report["mode"]
    'dense'
    """
    op = _linalg.check_operator(op, "op")
    n = op.shape[0]
    if op.shape[1] != n:
        raise ValueError(f"op has shape {op.shape}: expected a square matrix or operator.")
    safety = _check_safety(safety)
    eps = _linalg.machine_eps(_linalg.operator_dtype(op))
    if tol is not None:
        tol = _check_positive_real(tol, "tol", allow_zero=True)
    if scale is not None:
        scale = _check_positive_real(scale, "scale", allow_zero=True)
    given_tol = tol

    def allowed_for(norm):
        if given_tol is not None:
            return safety * given_tol
        return safety * _spectrum_tolerance(n, eps, norm if scale is None else scale)

    summary = _linalg.symmetric_summary(op, random_state=random_state, tolerance=allowed_for)
    if tol is None:
        sigma = summary["norm"] if scale is None else scale
        tol = _spectrum_tolerance(n, eps, sigma)
        tol_text = (
            f"c·√n·eps·scale with c = {SPECTRUM_ROUNDING_SLACK:g}, n = {n}, eps = {eps:.3e}, "
            f"scale = {'‖S‖₂ = ' if scale is None else ''}{sigma:.6e}"
        )
    else:
        tol_text = "given"
    allowed = safety * tol
    report = {**summary, "tol": tol}
    mode = summary["mode"]
    how = (
        "exact (dense)"
        if mode == "dense"
        else "probed (a certificate: the true violation is at least as large)"
    )
    failures = []
    if not summary["asymmetry"] <= allowed:
        failures.append(f"  not symmetric: ‖A − Aᵀ‖₂ = {summary['asymmetry']:.6e} > {allowed:.6e}")
    if not summary["lambda_min"] >= -allowed:
        failures.append(
            f"  not positive semi-definite: λ_min((A+Aᵀ)/2) = {summary['lambda_min']:.6e} < "
            f"−{allowed:.6e}"
        )
    if failures:
        raise AssertionError(
            "Operator is not symmetric positive semi-definite:\n"
            + "\n".join(failures)
            + f"\n  allowed = safety·tol = {safety:g}·{tol:.6e}, tol = {tol_text}\n"
            f"  measurement: {how}"
        )
    return report


def assert_normalized_laplacian(
    hypergraph, laplacian=None, *, tol=None, safety=1.0, random_state=0
):
    r"""Assert the defining properties of Zhou's normalized hypergraph Laplacian.

    With incidence H (n×m), hyperedge weights w, weighted vertex degrees d = H w and
    :math:`u = D_v^{1/2}\mathbf 1`, the Laplacian
    :math:`\Delta = I - D_v^{-1/2} H W D_e^{-1} H^T D_v^{-1/2}` satisfies

    - symmetry: :math:`\|\Delta - \Delta^T\|_2 \le \text{tol}`;
    - spectrum in [0, 1]: :math:`\lambda_{\min} \ge -\text{tol}` and
      :math:`\lambda_{\max} \le 1 + \text{tol}` (Θ = I − Δ = BBᵀ ⪰ 0 with λ_max(Θ) = 1);
    - the stationary vector: :math:`\|\Delta u\|_2 \le \text{tol}\cdot\|u\|_2`, i.e.
      Θ·Dv^{1/2}1 = Dv^{1/2}1 on non-isolated vertices (isolated vertices have u_i = 0).

    with :math:`\text{tol} = \text{safety}\cdot c\sqrt{\max(n, m)}\,\varepsilon` (``c =
    SPECTRUM_ROUNDING_SLACK``, ε of the Laplacian's dtype, ‖Δ‖₂ ≤ 1).  The degrees d and u are
    recomputed here from ``hypergraph.incidence`` and ``hypergraph.weights`` in float64, so a
    Laplacian built with *unweighted* vertex degrees and non-uniform weights (the XGI pitfall)
    fails the stationary-vector check.

    Parameters
    ----------
    hypergraph : Hypergraph
        Anything with ``incidence`` (n×m, sparse or dense, values in [0, 1]) and ``weights``
        (m,).
    laplacian : ndarray, sparse matrix or LinearOperator of shape (n, n), optional
        The Laplacian under test.  Default: ``hypergraph.laplacian("normalized")`` (matrix-free)
        and, when n <= 300, also ``hypergraph.laplacian("normalized", explicit=True)``.
    tol : float, optional
        Absolute tolerance replacing the rounding bound.
    safety : float, default=1
        Factor ≥ 1 on the tolerance.
    random_state : int or numpy Generator, default=0
        Seed of the probe vectors for n > 1000 (see :func:`assert_symmetric_psd`).

    Returns
    -------
    report : dict
        ``asymmetry``, ``lambda_min``, ``lambda_max``, ``stationary_residual`` (‖Δu‖/‖u‖),
        ``tol``, ``mode``.

    Raises
    ------
    AssertionError
        If a property fails; the message gives each bound, observed value and constant.

    References
    ----------
    D. Zhou, J. Huang, B. Schölkopf, "Learning with hypergraphs: clustering, classification,
    and embedding", NIPS 2006.

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> from types import SimpleNamespace
    >>> from hyperlearn.testing import assert_normalized_laplacian
    >>> H = sp.csr_matrix(np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]))
    >>> w = np.array([1.0, 3.0])
    >>> d = H @ w
    >>> theta = (H.multiply(w / np.asarray(H.sum(axis=0)).ravel()) @ H.T).toarray()
    >>> L = np.eye(3) - theta / np.sqrt(np.outer(d, d))
    >>> report = assert_normalized_laplacian(SimpleNamespace(incidence=H, weights=w), L)
    >>> bool(report["stationary_residual"] < 1e-12)
    True
    """
    if not hasattr(hypergraph, "incidence") or not hasattr(hypergraph, "weights"):
        raise TypeError(
            f"hypergraph={_linalg.describe(hypergraph)} is not supported: expected an object "
            "with 'incidence' (n×m) and 'weights' (m,) attributes, such as a Hypergraph."
        )
    H = hypergraph.incidence
    H = H.astype(np.float64) if sp.issparse(H) else np.asarray(H, dtype=np.float64)
    w = np.asarray(hypergraph.weights, dtype=np.float64).ravel()
    n, m = H.shape
    if w.shape != (m,):
        raise ValueError(f"weights have shape {w.shape}: expected ({m},) for incidence {H.shape}.")
    safety = _check_safety(safety)
    if laplacian is None:
        if not hasattr(hypergraph, "laplacian"):
            raise TypeError("laplacian=None requires hypergraph.laplacian(kind) to exist.")
        report = _check_laplacian(
            hypergraph.laplacian("normalized"), H, w, tol, safety, random_state
        )
        if n <= EXPLICIT_CHECK_MAX_N:
            _check_laplacian(
                hypergraph.laplacian("normalized", explicit=True), H, w, tol, safety, random_state
            )
        return report
    laplacian = _linalg.check_operator(laplacian, "laplacian")
    if laplacian.shape != (n, n):
        raise ValueError(
            f"laplacian has shape {laplacian.shape}: expected ({n}, {n}) for {n} vertices."
        )
    return _check_laplacian(laplacian, H, w, tol, safety, random_state)


def _check_laplacian(L, H, w, tol, safety, random_state):
    n, m = H.shape
    degrees = np.asarray(H @ w).ravel()
    u = np.sqrt(np.maximum(degrees, 0.0))
    eps = _linalg.machine_eps(_linalg.operator_dtype(L))
    if tol is None:
        tol = SPECTRUM_ROUNDING_SLACK * math.sqrt(max(n, m, 1)) * eps
        tol_text = (
            f"c·√max(n,m)·eps with c = {SPECTRUM_ROUNDING_SLACK:g}, n = {n}, m = {m}, "
            f"eps = {eps:.3e}"
        )
    else:
        tol = _check_positive_real(tol, "tol", allow_zero=True)
        tol_text = "given"
    allowed = safety * tol
    summary = _linalg.symmetric_summary(L, random_state=random_state, tolerance=lambda _: allowed)
    u_norm = float(np.linalg.norm(u))
    if u_norm > 0:
        stationary = float(np.linalg.norm(_linalg.apply(L, u[:, None]))) / u_norm
    else:
        stationary = 0.0  # no edge with positive weight: every vertex is isolated
    report = {**summary, "stationary_residual": stationary, "tol": tol}
    failures = []
    if not summary["asymmetry"] <= allowed:
        failures.append(f"  not symmetric: ‖Δ − Δᵀ‖₂ = {summary['asymmetry']:.6e} > {allowed:.6e}")
    if not summary["lambda_min"] >= -allowed:
        failures.append(f"  λ_min(Δ) = {summary['lambda_min']:.6e} < −{allowed:.6e}")
    if not summary["lambda_max"] <= 1.0 + allowed:
        failures.append(f"  λ_max(Δ) = {summary['lambda_max']:.6e} > 1 + {allowed:.6e}")
    if not stationary <= allowed:
        failures.append(
            f"  Dv^(1/2)·1 (weighted degrees d = H w) is not in the kernel: ‖Δu‖₂/‖u‖₂ = "
            f"{stationary:.6e} > {allowed:.6e}"
        )
    if failures:
        how = "exact (dense)" if summary["mode"] == "dense" else "probed (Ritz values: certain)"
        raise AssertionError(
            "Not Zhou's normalized hypergraph Laplacian Δ = I − Dv^(-1/2) H W De^(-1) Hᵀ "
            "Dv^(-1/2) (spectrum in [0, 1], Δ·Dv^(1/2)1 = 0):\n"
            + "\n".join(failures)
            + f"\n  allowed = safety·tol = {safety:g}·{tol:.6e}, tol = {tol_text}\n"
            f"  spectrum measurement: {how}"
        )
    return report

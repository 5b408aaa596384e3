"""assert_low_rank_accuracy: a randomized SVD against the Halko–Martinsson–Tropp bound."""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg
import scipy.sparse.linalg as spla

from ..utils._validation import check_int
from . import _linalg
from ._bounds import DEFAULT_FAILURE_PROBABILITY, LOW_RANK_ROUNDING_SLACK, hmt_deviation_bound
from ._inputs import check_dense, check_operator, check_probability, check_safety

__all__ = ["assert_low_rank_accuracy"]


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


def _check_factors(A, U, s, Vt):
    """Validate the operator and the factors; return them as arrays."""
    A = check_operator(A, "A")
    U = check_dense(U, "U", (2,), computed=True)
    s = check_dense(s, "s", (1,), computed=True)
    Vt = check_dense(Vt, "Vt", (2,), computed=True)
    m, n = A.shape
    r = s.shape[0]
    if U.shape != (m, r) or Vt.shape != (r, n):
        raise ValueError(
            f"Inconsistent shapes: A {(m, n)}, U {U.shape}, s {s.shape}, Vt {Vt.shape}; expected "
            f"U ({m}, r), s (r,), Vt (r, {n})."
        )
    return A, U, s, Vt


def _full_sigma(A, sigma):
    """All min(m, n) singular values of A followed by one 0 (σ_{min(m,n)+1} = 0), float64,
    and how many of them are known (the others repeat the last value given)."""
    m, n = A.shape
    rank_max = min(m, n)
    if sigma is None:
        if not _linalg.can_densify(A):
            raise ValueError(
                f"sigma=None needs an exact SVD of A, which is only done for max(m, n) <= "
                f"{_linalg.DENSE_MAX_N}; A has shape {(m, n)}: pass its singular values as sigma."
            )
        values = scipy.linalg.svdvals(_linalg.to_dense64(A), check_finite=False)
        n_given = rank_max
    else:
        given = check_dense(sigma, "sigma", (1,)).astype(np.float64)
        if given.size == 0 or given.size > rank_max:
            raise ValueError(
                f"sigma has {given.size} values: expected between 1 and min(m, n) = {rank_max}."
            )
        if np.any(given < 0) or np.any(np.diff(given) > 0):
            raise ValueError("sigma must be non-negative and non-increasing (singular values).")
        values = np.full(rank_max, given[-1])
        values[: given.size] = given
        n_given = given.size
    return np.concatenate([values, [0.0]]), n_given


def _best_hmt_split(sigma_full, ell, q, delta):
    """min over splits ℓ = k' + p' (k' ≥ 1, p' ≥ 2) of the HMT deviation bound, and the split.

    Every split bounds the same error with the same failure probability, and the minimising
    split depends on σ only (not on the random test matrix), so the minimum keeps that
    probability.
    """
    if ell >= sigma_full.size - 1:  # the sketch spans the range of A
        return 0.0, None
    candidates = [
        (hmt_deviation_bound(sigma_full, kk, ell - kk, q, delta), (kk, ell - kk))
        for kk in range(1, ell - 1)
    ]
    return min(candidates)


def _orthonormality_error(F):
    """‖FᵀF − I‖₂ for the columns of F (float64)."""
    F = F.astype(np.float64)
    G = F.T @ F - np.eye(F.shape[1])
    return float(np.linalg.norm(G, 2)) if G.size else 0.0


def _check_orthonormal(U, Vt, allowed, constants):
    for name, F in (("U", U), ("Vt.T", Vt.T)):
        error = _orthonormality_error(F)
        if not error <= allowed:
            raise AssertionError(
                f"The columns of {name} are not orthonormal: ‖{name}ᵀ{name} − I‖₂ = {error:.6e} "
                f"> allowed safety·c·√max(m,n)·eps = {allowed:.6e} ({constants})."
            )


def _singular_value_bounds(sigma_full, n_given, r, observed, slack):
    """Interlacing bounds on the computed singular values, sorted non-increasing.

    upper_j = σ_j + slack; lower_j = √max(σ_j² − (E + slack)², 0) − slack (−inf where σ_j is
    not known: a padded σ_j only over-estimates the true one).
    """
    sigma = sigma_full[:r]
    upper = sigma + slack
    lower = np.sqrt(np.maximum(sigma**2 - (observed + slack) ** 2, 0.0)) - slack
    lower[n_given:] = -np.inf
    return upper, lower


def _check_singular_values(s, sigma_full, n_given, observed, slack, constants):
    s_sorted = np.sort(s.astype(np.float64))[::-1]
    upper, lower = _singular_value_bounds(sigma_full, n_given, s.size, observed, slack)
    above = np.flatnonzero(~(s_sorted <= upper))
    if above.size:
        j = int(above[np.argmax(s_sorted[above] - upper[above])])
        raise AssertionError(
            f"Computed singular value {j + 1} exceeds the true one: ŝ_{j + 1} = "
            f"{s_sorted[j]:.6e} > σ_{j + 1} + slack = {sigma_full[j]:.6e} + {slack:.3e}.\n"
            "  A Rayleigh–Ritz approximation U diag(s) Vt = P A (P an orthogonal projector) has "
            "σ_j(P A) ≤ σ_j(A) (interlacing); slack = safety·ρ, "
            f"ρ = c·√max(m,n)·eps·‖A‖₂ ({constants})."
        )
    below = np.flatnonzero(~(s_sorted >= lower))
    if below.size:
        j = int(below[np.argmax(lower[below] - s_sorted[below])])
        raise AssertionError(
            f"Computed singular value {j + 1} is too small: ŝ_{j + 1} = {s_sorted[j]:.6e} < "
            f"√(σ_{j + 1}² − (E + slack)²) − slack = {lower[j]:.6e} with σ_{j + 1} = "
            f"{sigma_full[j]:.6e}, E = ‖A − U diag(s) Vt‖₂ = {observed:.6e}, slack = "
            f"{slack:.3e}.\n"
            "  For U diag(s) Vt = P A, AᵀA = AᵀPA + Aᵀ(I−P)A gives σ_j(A)² ≤ σ_j(PA)² + E² "
            f"(Weyl); slack = safety·ρ, ρ = c·√max(m,n)·eps·‖A‖₂ ({constants})."
        )


def _failure_message(report, *, safety, shape, eps, q, ell, r, sigma_k1):
    hmt, trunc, rounding = report["hmt_bound"], report["truncation"], report["rounding"]
    observed, allowed = report["observed"], report["allowed"]
    split = report["best_split"]
    delta = report["failure_probability"]
    ratio = observed / allowed if allowed > 0 else math.inf
    return (
        "Low-rank approximation error exceeds the Halko–Martinsson–Tropp bound:\n"
        f"  observed ‖A − U diag(s) Vt‖₂ = {observed:.6e}\n"
        f"  allowed  = τ + safety·(β + ρ) = {trunc:.6e} + {safety:g}·({hmt:.6e} + "
        f"{rounding:.6e}) = {allowed:.6e}  (ratio observed/allowed = {ratio:.3g})\n"
        f"  β = HMT deviation bound (Thm 10.8 with Thm 9.2 for the power scheme, or Markov on "
        f"Cor. 10.10) failing with probability ≤ δ = {delta:g}, best split k'={split[0]}, "
        f"p'={split[1]}, ℓ = k + n_oversamples = {ell}, q = n_iter = {q}\n"
        f"  τ = σ_{{r+1}} for truncation to r = {r} < ℓ components: {trunc:.6e}\n"
        f"  ρ = c·√max(m,n)·eps·‖A‖₂ with c = {LOW_RANK_ROUNDING_SLACK:g}, shape = {shape}, "
        f"eps = {eps:.3e}, ‖A‖₂ = {report['norm_A']:.6e}\n"
        f"  σ_{{k+1}} = {sigma_k1:.6e}"
    )


def assert_low_rank_accuracy(
    A,
    U,
    s,
    Vt,
    *,
    k,
    n_oversamples,
    n_iter,
    sigma=None,
    safety=1.0,
    failure_probability=DEFAULT_FAILURE_PROBABILITY,
):
    r"""Assert that a randomized SVD meets the Halko–Martinsson–Tropp bound and interlacing.

    ``(U, s, Vt)`` is the output of a randomized SVD of ``A`` whose range finder drew
    ``ℓ = k + n_oversamples`` Gaussian test vectors and ran ``n_iter`` power iterations, then kept
    ``r = len(s) ≤ ℓ`` components, so that :math:`U\,\mathrm{diag}(s)\,V^T = P A` with
    :math:`P = UU^T` an orthogonal projector (a Rayleigh–Ritz approximation, as every method of
    HMT 2011 §5 and a truncated SVD are).  With σ the singular values of A, ŝ the values ``s``
    sorted non-increasing, :math:`E = \|A - U\,\mathrm{diag}(s)\,V^T\|_2` and the rounding
    term :math:`\rho`, the assertion checks

    1. **orthonormal factors**: :math:`\|U^TU - I\|_2,\ \|V^TV - I\|_2 \le
       \text{safety}\cdot c\sqrt{\max(m,n)}\,\varepsilon`;
    2. **the error**: :math:`E \le \tau + \text{safety}\cdot(\beta_\delta + \rho)`;
    3. **interlacing from above**: :math:`\hat s_j \le \sigma_j + \text{safety}\cdot\rho`,
       since :math:`\sigma_j(PA) \le \sigma_j(A)` for any orthogonal projector P;
    4. **from below**: :math:`(\hat s_j + \eta)^2 + (E + \eta)^2 \ge \sigma_j^2` with
       :math:`\eta = \text{safety}\cdot\rho`, because :math:`A^TA = A^TPA + A^T(I-P)A` and
       Weyl's inequality give :math:`\sigma_j(A)^2 \le \sigma_j(PA)^2 + E^2` (checked for the
       σ_j that are known: given in ``sigma`` or computed).

    where

    - :math:`\beta_\delta` is :func:`hmt_deviation_bound` with δ = ``failure_probability``,
      minimised over the splits :math:`\ell = k' + p'` (:math:`k' \ge 1, p' \ge 2`): a bound on
      :math:`\|(I-P_Y)A\|_2` for the power scheme :math:`Y = (AA^T)^q A\Omega` that a correct
      implementation exceeds with probability at most δ (HMT 2011, Thm 9.2 with Thm 10.8, or
      Markov's inequality on Thm 10.6).  ``k`` and ``n_oversamples`` fix only ℓ.
      :math:`\beta_\delta = 0` when :math:`\ell \ge \min(m, n)`.
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
        The approximate factors (the result under test).
    k : int
        Target rank, ≥ 1.
    n_oversamples : int
        Oversampling p, ≥ 2 (the HMT bounds need p ≥ 2).
    n_iter : int
        Number of power iterations q ≥ 0 (resolve ``"auto"`` before calling).
    sigma : array-like, optional
        Singular values of ``A``, non-increasing.  Missing trailing values (fewer than
        min(m, n) given) are replaced by the last value given, which only enlarges the error
        bound; the lower interlacing check uses the given values only.  When omitted they are
        computed exactly with LAPACK, which requires ``max(m, n) <= 1000``.
    safety : float, default=1
        Factor ≥ 1 on every tolerance except τ (which is exact).
    failure_probability : float, default=1e-6
        δ in (0, 1): the probability with which a correct implementation fails the error check
        (the other checks are deterministic).

    Returns
    -------
    report : dict
        ``observed`` (E), ``allowed``, ``hmt_bound`` (β_δ), ``truncation`` (τ), ``rounding`` (ρ),
        ``best_split`` (k', p'; ``(k, n_oversamples)`` when β_δ = 0), ``norm_A`` = ‖A‖₂ and
        ``failure_probability``.

    Raises
    ------
    AssertionError
        If a check fails, or ``U``, ``s`` or ``Vt`` holds NaN or infinite values; the message
        gives the bound, the observed value and the constants.
    TypeError
        A wrong type (an operator of unknown kind, a non-integer ``k``).
    ValueError
        Inconsistent shapes, NaN in ``A`` or ``sigma``, parameters out of range.

    Notes
    -----
    E is computed exactly in float64 for ``max(m, n) <= 1000`` and by ARPACK (Lanczos on the
    residual operator, to machine precision) otherwise.

    The error bound holds in exact arithmetic; ρ assumes a backward-stable computation.  Power
    iterations *without* re-orthonormalisation (``power_iteration_normalizer="none"``, which
    scikit-learn's ``"auto"`` picks for ``n_iter <= 2``) are not: the directions with
    σ_j/σ_1 below eps^(1/(2q+1)) drown in rounding, and the error exceeds ρ by up to
    (σ_1/σ_k)^(2q).  The assertion reports such results as failures, by design.  The value of
    c and the false-alarm and detection counts behind the defaults are in benchmarks/TUNING.md.

    References
    ----------
    N. Halko, P.-G. Martinsson, J. A. Tropp, "Finding structure with randomness: probabilistic
    algorithms for constructing approximate matrix decompositions", SIAM Review 53(2):217–288,
    2011 (arXiv:0909.4061), Thm 9.2, Thm 10.6, Thm 10.8, Cor. 10.10.

    N. J. Higham, T. Mary, "A new approach to probabilistic rounding error analysis",
    SIAM J. Sci. Comput. 41(5):A2815–A2835, 2019.

    R. A. Horn, C. R. Johnson, *Matrix Analysis*, 2nd ed., 2013, §4.3 (Weyl) and §7.3
    (interlacing of singular values).

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
    A, U, s, Vt = _check_factors(A, U, s, Vt)
    k = check_int(k, "k", low=1)
    p = check_int(n_oversamples, "n_oversamples", low=2)
    q = check_int(n_iter, "n_iter", low=0)
    safety = check_safety(safety)
    delta = check_probability(failure_probability)
    m, n = A.shape
    r, ell = s.shape[0], k + p
    if r > ell:
        raise ValueError(
            f"len(s)={r} exceeds k + n_oversamples = {ell}: a range finder with {ell} test "
            "vectors cannot produce more components."
        )
    sigma_full, n_given = _full_sigma(A, sigma)
    a_norm = float(sigma_full[0])
    eps = _linalg.machine_eps(_linalg.operator_dtype(A), U.dtype, s.dtype, Vt.dtype)
    unit = LOW_RANK_ROUNDING_SLACK * math.sqrt(max(m, n)) * eps
    constants = f"c = {LOW_RANK_ROUNDING_SLACK:g}, shape = {(m, n)}, eps = {eps:.3e}"
    _check_orthonormal(U, Vt, safety * unit, constants)
    hmt, split = _best_hmt_split(sigma_full, ell, q, delta)
    rounding = float(unit * a_norm)
    truncation = float(sigma_full[r]) if r < ell else 0.0
    report = {
        "observed": _spectral_norm_of_residual(A, U, s, Vt),
        "allowed": float(truncation + safety * (hmt + rounding)),
        "hmt_bound": hmt,
        "truncation": truncation,
        "rounding": rounding,
        "best_split": split or (k, p),
        "norm_A": a_norm,
        "failure_probability": delta,
    }
    if not report["observed"] <= report["allowed"]:
        raise AssertionError(
            _failure_message(
                report,
                safety=safety,
                shape=(m, n),
                eps=eps,
                q=q,
                ell=ell,
                r=r,
                sigma_k1=float(sigma_full[min(k, min(m, n))]),
            )
        )
    _check_singular_values(s, sigma_full, n_given, report["observed"], safety * rounding, constants)
    return report

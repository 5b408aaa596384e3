"""assert_low_rank_accuracy: a randomized SVD against the Halko–Martinsson–Tropp bound."""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg
import scipy.sparse.linalg as spla

from ..utils._validation import check_int
from . import _linalg
from ._bounds import LOW_RANK_ROUNDING_SLACK, hmt_power_bound
from ._inputs import check_dense, check_operator, check_safety

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
    U = check_dense(U, "U", (2,))
    s = check_dense(s, "s", (1,))
    Vt = check_dense(Vt, "Vt", (2,))
    m, n = A.shape
    r = s.shape[0]
    if U.shape != (m, r) or Vt.shape != (r, n):
        raise ValueError(
            f"Inconsistent shapes: A {(m, n)}, U {U.shape}, s {s.shape}, Vt {Vt.shape}; expected "
            f"U ({m}, r), s (r,), Vt (r, {n})."
        )
    return A, U, s, Vt


def _full_sigma(A, sigma):
    """All min(m, n) singular values of A followed by one 0 (σ_{min(m,n)+1} = 0), float64."""
    m, n = A.shape
    rank_max = min(m, n)
    if sigma is None:
        if not _linalg.can_densify(A):
            raise ValueError(
                f"sigma=None needs an exact SVD of A, which is only done for max(m, n) <= "
                f"{_linalg.DENSE_MAX_N}; A has shape {(m, n)}: pass its singular values as sigma."
            )
        values = scipy.linalg.svdvals(_linalg.to_dense64(A), check_finite=False)
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
    return np.concatenate([values, [0.0]])


def _best_hmt_split(sigma_full, ell, q):
    """min over splits ℓ = k' + p' (k' ≥ 1, p' ≥ 2) of the HMT bound, and the split."""
    if ell >= sigma_full.size - 1:
        return 0.0, None
    candidates = [
        (hmt_power_bound(sigma_full, kk, ell - kk, q), (kk, ell - kk)) for kk in range(1, ell - 1)
    ]
    return min(candidates)


def _failure_message(report, *, safety, shape, eps, q, ell, r, sigma_k1):
    hmt, trunc, rounding = report["hmt_bound"], report["truncation"], report["rounding"]
    observed, allowed = report["observed"], report["allowed"]
    split = report["best_split"]
    ratio = observed / allowed if allowed > 0 else math.inf
    return (
        "Low-rank approximation error exceeds the Halko–Martinsson–Tropp bound:\n"
        f"  observed ‖A − U diag(s) Vt‖₂ = {observed:.6e}\n"
        f"  allowed  = τ + safety·(β + ρ) = {trunc:.6e} + {safety:g}·({hmt:.6e} + "
        f"{rounding:.6e}) = {allowed:.6e}  (ratio observed/allowed = {ratio:.3g})\n"
        "  β = [(1+√(k'/(p'−1)))σ_{k'+1}^{2q+1} + (e√ℓ/p')(Σ_{j>k'} σ_j^{2(2q+1)})^{1/2}]"
        f"^{{1/(2q+1)}} (HMT 2011 Cor. 10.10), best split k'={split[0]}, p'={split[1]}, "
        f"ℓ = k + n_oversamples = {ell}, q = n_iter = {q}\n"
        f"  τ = σ_{{r+1}} for truncation to r = {r} < ℓ components: {trunc:.6e}\n"
        f"  ρ = c·√max(m,n)·eps·‖A‖₂ with c = {LOW_RANK_ROUNDING_SLACK:g}, shape = {shape}, "
        f"eps = {eps:.3e}, ‖A‖₂ = {report['norm_A']:.6e}\n"
        f"  σ_{{k+1}} = {sigma_k1:.6e}"
    )


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
        ``safety ** -(2q+1)``.

    Returns
    -------
    report : dict
        ``observed``, ``allowed``, ``hmt_bound`` (β), ``truncation`` (τ), ``rounding`` (ρ),
        ``best_split`` (k', p'; ``(k, n_oversamples)`` when β = 0) and ``norm_A`` = ‖A‖₂.

    Raises
    ------
    AssertionError
        If the observed error exceeds the allowed one; the message gives the bound, the observed
        value and the constants.
    TypeError
        A wrong type (an operator of unknown kind, a non-integer ``k``).
    ValueError
        Inconsistent shapes, NaN in the factors, parameters out of range.

    Notes
    -----
    The observed error ‖A − U diag(s) Vt‖₂ is computed exactly in float64 for
    ``max(m, n) <= 1000`` and by ARPACK (Lanczos on the residual operator, to machine precision)
    otherwise.

    The bound holds in exact arithmetic; ρ assumes a backward-stable computation.  Power
    iterations *without* re-orthonormalisation (``power_iteration_normalizer="none"``, which
    scikit-learn's ``"auto"`` picks for ``n_iter <= 2``) are not: the directions with
    σ_j/σ_1 below eps^(1/(2q+1)) drown in rounding, and the error exceeds ρ by up to
    (σ_1/σ_k)^(2q).  The assertion reports such results as failures, by design.

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
    A, U, s, Vt = _check_factors(A, U, s, Vt)
    k = check_int(k, "k", low=1)
    p = check_int(n_oversamples, "n_oversamples", low=2)
    q = check_int(n_iter, "n_iter", low=0)
    safety = check_safety(safety)
    m, n = A.shape
    r, ell = s.shape[0], k + p
    if r > ell:
        raise ValueError(
            f"len(s)={r} exceeds k + n_oversamples = {ell}: a range finder with {ell} test "
            "vectors cannot produce more components."
        )
    sigma_full = _full_sigma(A, sigma)
    a_norm = float(sigma_full[0])
    hmt, split = _best_hmt_split(sigma_full, ell, q)
    split = split or (k, p)
    truncation = float(sigma_full[r]) if r < ell else 0.0
    eps = _linalg.machine_eps(_linalg.operator_dtype(A), U.dtype, s.dtype, Vt.dtype)
    rounding = float(LOW_RANK_ROUNDING_SLACK * math.sqrt(max(m, n)) * eps * a_norm)
    allowed = float(truncation + safety * (hmt + rounding))
    report = {
        "observed": _spectral_norm_of_residual(A, U, s, Vt),
        "allowed": allowed,
        "hmt_bound": hmt,
        "truncation": truncation,
        "rounding": rounding,
        "best_split": split,
        "norm_A": a_norm,
    }
    if not report["observed"] <= allowed:
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
    return report

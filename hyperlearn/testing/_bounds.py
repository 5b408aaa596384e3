"""The a-priori bounds behind the assertions: rounding slacks and Halko–Martinsson–Tropp.

Each constant named ``*_SLACK`` is the ``c`` of a probabilistic rounding bound
``c·√n·eps·(scale)`` (Higham & Mary 2019: error growth √n·eps for sums of length n instead of
the worst case n·eps); ``c`` absorbs the handful of operations involved.  See
benchmarks/TUNING.md ("Testing assertions") for the value of each and the evidence.
"""

from __future__ import annotations

import math

import numpy as np

from ..utils._validation import check_int, check_real

__all__ = [
    "DEFAULT_FAILURE_PROBABILITY",
    "LOW_RANK_ROUNDING_SLACK",
    "SOLVE_ROUNDING_SLACK",
    "SPECTRUM_ROUNDING_SLACK",
    "gamma",
    "hmt_deviation_bound",
    "hmt_power_bound",
    "spectrum_tolerance",
]

# c in c·√max(m, n)·eps·‖A‖₂: rounding error of a computed low-rank factorisation (QR, GEMMs and
# a small SVD).  See benchmarks/TUNING.md.
LOW_RANK_ROUNDING_SLACK = 20.0

# c in c·√n·eps·(‖|A|‖₂‖x‖ + ‖b‖): a residual computed in working precision (what a solver
# checks) against the one computed here in float64 (Higham 2002, §3.5).  See benchmarks/TUNING.md.
SOLVE_ROUNDING_SLACK = 10.0

# c in c·√n·eps·‖A‖₂: symmetry, eigenvalue signs and eigenvector residuals of a symmetric
# matrix or operator assembled in floating point.  See benchmarks/TUNING.md.
SPECTRUM_ROUNDING_SLACK = 10.0


# δ of assert_low_rank_accuracy: a correct randomized SVD fails its error check with
# probability at most one in a million.  See benchmarks/TUNING.md.
DEFAULT_FAILURE_PROBABILITY = 1e-6

# Splits of the failure probability between the two tails of HMT 2011 Thm 10.8 (the norm of
# the pseudo-inverse and the Gaussian concentration) tried by hmt_deviation_bound.
_TAIL_SPLITS = np.linspace(0.01, 0.99, 99)


def gamma(k, u):
    """Higham's γ_k = k·u / (1 − k·u) for the unit roundoff ``u`` (``inf`` once k·u >= 1)."""
    return k * u / (1 - k * u) if k * u < 1 else math.inf


def spectrum_tolerance(n, eps, scale):
    """``SPECTRUM_ROUNDING_SLACK·√n·eps·scale``: rounding of a symmetric operator of order n."""
    return SPECTRUM_ROUNDING_SLACK * math.sqrt(max(n, 1)) * eps * scale


def _power_scheme_tail(sigma, k, q):
    """σ_{k+1} and the tail ratios (σ_j/σ_{k+1})^{2q+1}, j > k (None, None for a zero tail).

    The ratios are the singular values of B = (AAᵀ)^q A beyond the k-th, in units of
    σ_{k+1}^{2q+1}: factoring σ_{k+1} out keeps large exponents from overflowing or underflowing.
    """
    tail = np.asarray(sigma[k:], dtype=np.float64)
    if tail.size == 0 or tail[0] == 0.0:
        return None, None
    return float(tail[0]), (tail / tail[0]) ** (2 * q + 1)


def _check_kpq(k, p, q):
    return check_int(k, "k", low=1), check_int(p, "p", low=2), check_int(q, "q", low=0)


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

    Raises
    ------
    TypeError
        ``k``, ``p`` or ``q`` is not an integer.
    ValueError
        ``k < 1``, ``p < 2`` or ``q < 0``.

    References
    ----------
    N. Halko, P.-G. Martinsson, J. A. Tropp, "Finding structure with randomness", SIAM Review
    53(2):217–288, 2011, Thm 9.2, Thm 10.6, Cor. 10.10.

    Examples
    --------
    >>> from hyperlearn.testing import hmt_power_bound
    >>> round(hmt_power_bound([1.0, 0.5, 0.0, 0.0], k=1, p=2, q=0), 6)
    2.177051
    """
    k, p, q = _check_kpq(k, p, q)
    lead, ratios = _power_scheme_tail(sigma, k, q)
    if lead is None:
        return 0.0
    inner = (1.0 + math.sqrt(k / (p - 1))) + (math.e * math.sqrt(k + p) / p) * math.sqrt(
        float(np.sum(ratios**2))
    )
    return float(lead * inner ** (1.0 / (2 * q + 1)))


def hmt_deviation_bound(sigma, k, p, q, failure_probability):
    r"""A bound on ‖(I − P_Y)A‖₂, Y = (AAᵀ)^q A Ω, that fails with probability ≤ δ.

    With :math:`B = (AA^T)^q A` (singular values :math:`\sigma_j^{2q+1}`),
    :math:`\|(I-P_Y)A\| \le \|(I-P_Y)B\|^{1/(2q+1)}` (HMT 2011, Thm 9.2), and
    :math:`\|(I-P_Y)B\|` is bounded in two ways, each failing with probability at most δ:

    - **deviation** (HMT 2011, Thm 10.8, needs p ≥ 4): for all t ≥ 1 and u ≥ 0, except with
      probability :math:`2t^{-p} + e^{-u^2/2}`,

      .. math::

         \|(I-P_Y)B\| \le \big(1 + t\sqrt{3k/(p+1)}\big)\,\beta_{k+1}
         + t\,\frac{e\sqrt{k+p}}{p+1}\Big(\big(\textstyle\sum_{j>k}\beta_j^2\big)^{1/2}
         + u\,\beta_{k+1}\Big),\qquad \beta_j = \sigma_j^{2q+1};

      δ is split as :math:`2t^{-p} = f\delta`, :math:`e^{-u^2/2} = (1-f)\delta` with the
      fraction f on a grid in [0.01, 0.99] that gives the smallest bound;
    - **Markov** (any p ≥ 2): :math:`\|(I-P_Y)B\| \le \mathbb E\|(I-P_Y)B\|/\delta`, with
      the expectation bounded by HMT 2011, Thm 10.6.

    The smaller of the two is returned, raised to the power 1/(2q+1).  The choice depends on σ
    only, never on Ω, so the result fails with probability at most δ.

    Parameters
    ----------
    sigma : array-like
        All singular values of A, non-increasing (missing trailing values count as zero).
    k : int
        Target rank, ≥ 1.
    p : int
        Oversampling, ≥ 2 (the deviation form needs p ≥ 4; below, Markov's form alone).
    q : int
        Number of power iterations, ≥ 0.
    failure_probability : float
        δ in (0, 1).

    Returns
    -------
    float

    Raises
    ------
    TypeError
        A non-integer ``k``, ``p``, ``q`` or a non-real ``failure_probability``.
    ValueError
        Out of range.

    References
    ----------
    N. Halko, P.-G. Martinsson, J. A. Tropp, "Finding structure with randomness", SIAM Review
    53(2):217–288, 2011, Thm 9.2, Prop. 10.3, Prop. 10.4, Thm 10.6, Thm 10.8.

    Examples
    --------
    >>> from hyperlearn.testing import hmt_deviation_bound, hmt_power_bound
    >>> sigma = [1.0, 0.5, 0.1, 0.01, 0.001, 0.0]
    >>> bound = hmt_deviation_bound(sigma, k=2, p=4, q=1, failure_probability=1e-6)
    >>> bool(sigma[2] <= bound <= (hmt_power_bound(sigma, 2, 4, 1) ** 3 / 1e-6) ** (1 / 3))
    True
    """
    k, p, q = _check_kpq(k, p, q)
    delta = check_real(
        failure_probability,
        "failure_probability",
        low=0.0,
        high=1.0,
        low_open=True,
        high_open=True,
    )
    lead, ratios = _power_scheme_tail(sigma, k, q)
    if lead is None:
        return 0.0
    tail_norm = math.sqrt(float(np.sum(ratios**2)))
    # Markov's inequality on the expectation bound (Thm 10.6 applied to B)
    best = ((1.0 + math.sqrt(k / (p - 1))) + (math.e * math.sqrt(k + p) / p) * tail_norm) / delta
    if p >= 4:
        t = np.maximum(1.0, (2.0 / (_TAIL_SPLITS * delta)) ** (1.0 / p))
        u = np.sqrt(2.0 * np.log(1.0 / ((1.0 - _TAIL_SPLITS) * delta)))
        deviation = (
            1.0
            + t * math.sqrt(3.0 * k / (p + 1))
            + t * (math.e * math.sqrt(k + p) / (p + 1)) * (tail_norm + u)
        )
        best = min(best, float(deviation.min()))
    return float(lead * best ** (1.0 / (2 * q + 1)))

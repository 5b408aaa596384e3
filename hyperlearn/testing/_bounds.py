"""The a-priori bounds behind the assertions: rounding slacks and Halko–Martinsson–Tropp.

Each constant named ``*_SLACK`` is the ``c`` of a probabilistic rounding bound
``c·√n·eps·(scale)`` (Higham & Mary 2019: error growth √n·eps for sums of length n instead of
the worst case n·eps); ``c`` absorbs the handful of operations involved.  See
benchmarks/TUNING.md ("Testing assertions") for the value of each and the evidence.
"""

from __future__ import annotations

import math

import numpy as np

from ..utils._validation import check_int

__all__ = [
    "LOW_RANK_ROUNDING_SLACK",
    "SOLVE_ROUNDING_SLACK",
    "SPECTRUM_ROUNDING_SLACK",
    "gamma",
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


def gamma(k, u):
    """Higham's γ_k = k·u / (1 − k·u) for the unit roundoff ``u`` (``inf`` once k·u >= 1)."""
    return k * u / (1 - k * u) if k * u < 1 else math.inf


def spectrum_tolerance(n, eps, scale):
    """``SPECTRUM_ROUNDING_SLACK·√n·eps·scale``: rounding of a symmetric operator of order n."""
    return SPECTRUM_ROUNDING_SLACK * math.sqrt(max(n, 1)) * eps * scale


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
    k = check_int(k, "k", low=1)
    p = check_int(p, "p", low=2)
    q = check_int(q, "q", low=0)
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

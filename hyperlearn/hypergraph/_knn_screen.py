"""Float32 screening of the exact kNN search: its error bound and the float64 certificate.

The maths is in the Notes of :func:`hyperlearn.hypergraph.kneighbors`: a screened value
``s(x)`` differs from the squared distance by at most ``δ(q)`` (:func:`screen_error_bound`), so
a row whose k-th exact distance lies below the smallest possible distance of every point left
out is certified exact (:func:`certify`).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "SCREEN_MAX_NORM",
    "certify",
    "inflated_norms",
    "screen_error_bound",
    "screen_extra",
    "screen_prepare",
]

#: Unit roundoffs and the underflow thresholds of the screening bound (see kneighbors' Notes).
_U32 = 2.0**-24
_U64 = 2.0**-53
_TAU32 = 2.0**-126  # smallest normal float32
_TAU64 = 2.0**-1022  # smallest normal float64
#: Relative inflation of every computed bound (and deflation of every lower bound): covers the
#: few float64 roundings made while evaluating δ and L themselves (each ≤ 2⁻⁵³ relative).
SCREEN_BOUND_INFLATION = 64 * _U64
#: Above this row norm a float32 Gram entry could overflow (|ĝ| ≤ N_q·R ≤ 2¹²⁰ < 2¹²⁸).
SCREEN_MAX_NORM = 2.0**60


def screen_extra(n_neighbors):
    """Extra candidates screened per query: ``k' = k + max(4, k // 4)``.

    A few extra candidates keep a margin for data with close gaps at the k-th place; each costs
    one float64 row read in the re-ranking.  See benchmarks/TUNING.md.
    """
    return max(4, n_neighbors // 4)


def _gamma(n, u):
    return n * u / (1.0 - n * u)


def screen_prepare(A, center, chunk=4096):
    """float32 copy of ``fl(A − center)`` (or of ``A``) and the float64 squared norms of the
    float64 rows it was cast from, one pass in row chunks (no full float64 temporary)."""
    out = np.empty(A.shape, dtype=np.float32)
    sq = np.empty(A.shape[0])
    for i in range(0, A.shape[0], chunk):
        c = A[i : i + chunk]
        if center is not None:
            c = c - center
        # a value beyond float32's range shows in the norms (> SCREEN_MAX_NORM): no screening
        with np.errstate(over="ignore"):
            out[i : i + chunk] = c
            sq[i : i + chunk] = np.einsum("ij,ij->i", c, c)
    return out, sq


def inflated_norms(sq, n_features):
    return np.sqrt(sq) * (1.0 + 2 * (n_features + 4) * _U64)


def screen_error_bound(q_norms, db_norm_max, n_features):
    """δ(q): bound on ``|s(x) − ‖c_q − c_x‖²|`` for every database point (kneighbors' Notes).

    ``q_norms`` (array) and ``db_norm_max`` are upper bounds on the float64 row norms of the
    centred (or normalised) rows.
    """
    d = n_features
    g32 = _gamma(d, _U32)
    rel = g32 * (1 + _U32) ** 2 + 2 * _U32 + _U32**2
    E = rel * q_norms * db_norm_max + 4 * (1 + g32) * _TAU32 * (
        np.sqrt(d) * (q_norms + db_norm_max) + d
    )
    F = 1.01 * (_gamma(d, _U64) + 6 * _U64) * (q_norms + db_norm_max) ** 2
    return (2 * E + F) * (1 + SCREEN_BOUND_INFLATION)


def certify(s_kp, kth_raw, q_norms, db_norm_max, n_features, cosine):
    """Boolean mask of rows whose screened candidates provably contain the exact answer."""
    d = n_features
    delta = screen_error_bound(q_norms, db_norm_max, d)
    if cosine:
        lower = (
            1.0
            + 0.5 * (s_kp - delta)
            - _gamma(d, _U64) * q_norms * db_norm_max
            - 3 * _U64
            - 2 * d * _TAU64
        )
        lower -= 8 * SCREEN_BOUND_INFLATION  # values are O(1): absolute evaluation slack
        return (kth_raw < lower) & (kth_raw < 2.0)
    e = 1.01 * _U64 * (q_norms + db_norm_max)
    rho = np.maximum(np.sqrt(np.maximum(s_kp - delta, 0.0)) - e, 0.0)
    lower = rho**2 * (1.0 - _gamma(d + 2, _U64)) - 2 * d * _TAU64
    lower *= 1.0 - SCREEN_BOUND_INFLATION
    return kth_raw * (1.0 + 8 * _U64) < lower

"""Numba kernels of the k-nearest-neighbour search: merging candidate blocks into sorted top-k
lists, direct distances and the exact re-ranking of screened candidates.

Kernels only: every argument is a contiguous array of a fixed dtype, already validated by the
Python wrapper in ``_knn.py``.  They compile lazily on first call and are cached on disk.  The
merge kernels are serial (the search runs one block per thread with the GIL released); the
``prange`` kernels write disjoint rows, so results do not depend on the number of threads.
"""

from __future__ import annotations

from ..utils._numba import configure_openmp

# must run before Numba's OpenMP pool starts (see configure_openmp)
configure_openmp()

import numpy as np  # noqa: E402
from numba import njit, prange  # noqa: E402

__all__ = [
    "exact_distances",
    "knn_merge_block",
    "knn_merge_block_columns",
    "knn_merge_lists",
    "knn_rerank",
]

#: Columns per vectorised pre-check in the kNN merge: a chunk is scanned element by element
#: only if one of its values beats the current k-th (rare once the lists fill up).
MERGE_CHUNK = 32


@njit(inline="always", nogil=True)
def _count_below(g, dnorm, qn, worst):
    hits = 0
    for c in range(g.shape[0]):
        if (qn + dnorm[c]) - 2.0 * g[c] < worst:
            hits += 1
    return hits


@njit(inline="always", nogil=True)
def _count_below_each(g, qnorm, dn, worst):
    hits = 0
    for c in range(g.shape[0]):
        if (qnorm[c] + dn) - 2.0 * g[c] < worst[c]:
            hits += 1
    return hits


@njit(cache=True, nogil=True)
def knn_merge_block(G, qnorm, dnorm, self_index, col_offset, best_d, best_i):
    """Merge a block of candidates into sorted top-k lists (serial; callers run one block per
    thread, releasing the GIL).

    The pseudo-distance of query ``r`` and database point ``c`` is
    ``(qnorm[r] + dnorm[c]) - 2 G[r, c]``, evaluated in float64 also when the Gram block ``G``
    is float32 (the screening error bound in ``_knn.py`` assumes exactly this
    expression).  ``best_d[r]`` / ``best_i[r]`` are kept sorted by (pseudo-distance, index).
    Blocks arrive in increasing database index, so a candidate never has a smaller index than
    one already kept: a strict ``<`` test breaks ties by the smaller index, and every point
    left out has a pseudo-distance ``>= best_d[r, -1]``.  Database index ``self_index[r]``
    (``-1``: none) is skipped.
    """
    n_rows, n_cols = G.shape
    k = best_d.shape[1]
    for r in range(n_rows):
        bd = best_d[r]
        bi = best_i[r]
        qn = qnorm[r]
        self_col = self_index[r] - col_offset
        worst = bd[k - 1]
        g = G[r]
        for c0 in range(0, n_cols, MERGE_CHUNK):
            c1 = min(c0 + MERGE_CHUNK, n_cols)
            if _count_below(g[c0:c1], dnorm[c0:c1], qn, worst) == 0:
                continue
            for c in range(c0, c1):
                d = (qn + dnorm[c]) - 2.0 * g[c]
                if d < worst:
                    if c == self_col:
                        continue
                    worst = _insert_sorted(bd, bi, d, col_offset + c)


@njit(inline="always", nogil=True)
def _insert_sorted(bd, bi, d, index):
    """Insert ``(d, index)`` into the ascending list ``bd``/``bi`` (its last entry drops out;
    the caller checked ``d < bd[-1]``; equal values keep the earlier entry first); returns the
    new last value."""
    pos = bd.shape[0] - 1
    while pos > 0 and bd[pos - 1] > d:
        bd[pos] = bd[pos - 1]
        bi[pos] = bi[pos - 1]
        pos -= 1
    bd[pos] = d
    bi[pos] = index
    return bd[bd.shape[0] - 1]


@njit(inline="always", nogil=True)
def _direct_value(q, x, cosine):
    """``1 - q.x`` (cosine) or ``sum_f (q_f - x_f)^2``, one serial float64 loop (no expansion).

    Shared by :func:`exact_distances` and :func:`knn_rerank`, so a neighbour gets the same
    bits from both."""
    acc = 0.0
    if cosine:
        for f in range(q.shape[0]):
            acc += q[f] * x[f]
        return 1.0 - acc
    for f in range(q.shape[0]):
        diff = q[f] - x[f]
        acc += diff * diff
    return acc


@njit(inline="always", nogil=True)
def _returned_distance(raw, cosine):
    """The distance reported to the caller: clipped ``1 - cos`` or ``sqrt`` of the sum."""
    if cosine:
        return min(max(raw, 0.0), 2.0)
    return np.sqrt(raw)


@njit(cache=True, parallel=True, nogil=True)
def exact_distances(Q, D, neighbors, cosine, out):
    """Distances of each query row to its listed neighbours, computed directly (no expansion);
    cosine distances are clipped to [0, 2]."""
    n_rows, k = neighbors.shape
    for r in prange(n_rows):
        q = Q[r]
        for t in range(k):
            out[r, t] = _returned_distance(_direct_value(q, D[neighbors[r, t]], cosine), cosine)


@njit(cache=True, parallel=True, nogil=True)
def knn_rerank(Q, D, candidates, cosine, out_dist, out_ind, kth_raw):
    """Exact re-ranking of screened candidates.

    For each row, the direct distances of the ``candidates[r]`` (all valid indices) are
    computed as in :func:`exact_distances`, sorted by (distance, index), and the first
    ``out_dist.shape[1]`` kept.  ``kth_raw[r]`` is the largest unrounded value (sum of squares,
    or clipped ``1 - cos``) among those kept: the quantity the certificate compares.
    """
    n_rows, n_cand = candidates.shape
    k = out_dist.shape[1]
    for r in prange(n_rows):
        q = Q[r]
        dist = np.empty(n_cand)
        raw = np.empty(n_cand)
        ind = np.empty(n_cand, dtype=np.int64)
        for t in range(n_cand):
            j = candidates[r, t]
            v = _direct_value(q, D[j], cosine)
            dv = _returned_distance(v, cosine)
            # insertion by (distance, index)
            pos = t
            while pos > 0 and (dist[pos - 1] > dv or (dist[pos - 1] == dv and ind[pos - 1] > j)):
                dist[pos] = dist[pos - 1]
                raw[pos] = raw[pos - 1]
                ind[pos] = ind[pos - 1]
                pos -= 1
            dist[pos] = dv
            raw[pos] = dv if cosine else v
            ind[pos] = j
        top = -np.inf
        for t in range(k):
            out_dist[r, t] = dist[t]
            out_ind[r, t] = ind[t]
            top = max(top, raw[t])
        kth_raw[r] = top


@njit(cache=True, nogil=True)
def knn_merge_block_columns(G, qnorm, dnorm, row_offset, best_d, best_i):
    """Merge a block into the lists of its COLUMNS (the symmetric half of a self-search).

    Column ``c`` is a query with norm ``qnorm[c]`` and list ``best_d[c]`` / ``best_i[c]``; row
    ``r`` is the candidate ``row_offset + r`` with norm ``dnorm[r]``; the pseudo-distance is
    the same ``(qnorm[c] + dnorm[r]) - 2 G[r, c]`` as in :func:`knn_merge_block` (float64
    addition commutes, so both halves see the same value).  Rows are walked in storage order;
    every candidate left out has a pseudo-distance ``>= best_d[c, -1]`` (ties are not ordered
    by index here: only the screening uses this kernel, and it re-ranks).
    """
    n_rows, n_cols = G.shape
    k = best_d.shape[1]
    worst = np.empty(n_cols)
    for c in range(n_cols):
        worst[c] = best_d[c, k - 1]
    for r in range(n_rows):
        dn = dnorm[r]
        g = G[r]
        for c0 in range(0, n_cols, MERGE_CHUNK):
            c1 = min(c0 + MERGE_CHUNK, n_cols)
            if _count_below_each(g[c0:c1], qnorm[c0:c1], dn, worst[c0:c1]) == 0:
                continue
            for c in range(c0, c1):
                d = (qnorm[c] + dn) - 2.0 * g[c]
                if d < worst[c]:
                    worst[c] = _insert_sorted(best_d[c], best_i[c], d, row_offset + r)


@njit(cache=True, parallel=True, nogil=True)
def knn_merge_lists(best_d, best_i, other_d, other_i):
    """Merge sorted lists ``other`` into sorted lists ``best`` row by row (top-k of the union;
    the two hold disjoint candidates).  Every entry left out is ``>= best_d[r, -1]``."""
    n_rows, k = best_d.shape
    for r in prange(n_rows):
        bd = best_d[r]
        bi = best_i[r]
        for t in range(other_d.shape[1]):
            d = other_d[r, t]
            if not d < bd[k - 1]:
                break  # ``other`` is sorted: the rest are no smaller
            _insert_sorted(bd, bi, d, other_i[r, t])

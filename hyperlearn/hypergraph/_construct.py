"""Construction of hypergraphs: edge lists, incidence and label matrices, kNN, NetworkX."""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor, as_completed

import numpy as np
import scipy.sparse as sp

from ..utils._numba import thread_limits
from ..utils._validation import (
    describe,
    check_float_dtype,
    check_int,
    check_matrix,
    float_dtype_of,
)

__all__ = [
    "from_edges",
    "from_incidence",
    "from_knn",
    "from_labels",
    "from_networkx",
    "hstack",
    "kneighbors",
    "to_networkx",
]

KNN_METRICS = ("euclidean", "cosine")
# Database points per distance block, and the cap on query rows per block: a 256 x 1024 float64
# Gram block (2 MiB) is written by BLAS and read back by the merge kernel while it is still in
# cache.  Measured single-threaded (n = 20 000, d = 64): 1.8 s with 256 x 1024 blocks against
# 2.0-3.6 s for 128 x 1024, 256 x 512, 1024 x 1024 and 2048 x 2048.
DEFAULT_KNN_BLOCK = 1024
KNN_QUERY_BLOCK = 256


def _resolve_dtype(dtype, *candidates):
    """Explicit ``dtype`` if given; float32 if the first candidate is float32; else float64."""
    if dtype is not None:
        return check_float_dtype(dtype)
    for c in candidates:
        if c is not None and isinstance(c, np.ndarray) and c.dtype == np.float32:
            return np.float32
    return np.float64


def _reject_empty(sizes, name):
    empty = np.flatnonzero(sizes == 0)
    if empty.size:
        shown = empty[:5].tolist()
        raise ValueError(
            f"{name} has {empty.size} empty hyperedge(s) (e.g. at positions {shown}): expected "
            "every hyperedge to have at least one member (pass allow_empty_edges=True to keep "
            "them; they contribute nothing)."
        )


def _as_vertex_ids(values, name):
    arr = np.asarray(values)
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if arr.dtype.kind not in "iu":
        raise TypeError(
            f"{name} contains values of dtype {arr.dtype}: expected integer vertex ids."
        )
    return arr.astype(np.int64, copy=False).ravel()


def from_edges(cls, edges, *, n_vertices, weights, dtype, allow_empty_edges):
    """See :meth:`Hypergraph.from_edges`."""
    if (
        isinstance(edges, tuple)
        and len(edges) == 2
        and all(isinstance(a, np.ndarray) for a in edges)
    ):
        indptr = _as_vertex_ids(edges[0], "edges[0] (indptr)")
        flat = _as_vertex_ids(edges[1], "edges[1] (indices)")
        if (
            indptr.size == 0
            or indptr[0] != 0
            or indptr[-1] != flat.size
            or np.any(np.diff(indptr) < 0)
        ):
            raise ValueError(
                "edges=(indptr, indices) is malformed: expected indptr to start at 0, be "
                f"non-decreasing and end at len(indices)={flat.size}."
            )
        sizes = np.diff(indptr)
    else:
        if isinstance(edges, (str, bytes)) or not hasattr(edges, "__iter__"):
            raise TypeError(
                f"edges={describe(edges)} is not a sequence of hyperedges: expected a list of "
                "lists of vertex ids or a tuple of arrays (indptr, indices)."
            )
        edges = list(edges)
        try:
            sizes = np.fromiter(map(len, edges), dtype=np.int64, count=len(edges))
        except TypeError as exc:
            raise TypeError(
                "edges must be a sequence of sequences of vertex ids (each hyperedge a list "
                f"or array): {exc}"
            ) from exc
        flat = _as_vertex_ids(list(itertools.chain.from_iterable(edges)), "edges")
    n_edges = sizes.size

    if flat.size and flat.min() < 0:
        raise ValueError(f"edges contains a negative vertex id ({flat.min()}): expected ids >= 0.")
    max_id = int(flat.max()) if flat.size else -1
    if n_vertices is None:
        n_vertices = max_id + 1
        if n_vertices < 1:
            raise ValueError(
                "edges has no vertex at all: pass n_vertices to build a hypergraph of "
                "isolated vertices."
            )
    else:
        n_vertices = check_int(n_vertices, "n_vertices", low=1)
        if max_id >= n_vertices:
            raise ValueError(
                f"edges contains vertex id {max_id}, out of range for n_vertices={n_vertices}: "
                f"expected ids in [0, {n_vertices - 1}]."
            )
    if not allow_empty_edges:
        _reject_empty(sizes, "edges")

    # sort members within each hyperedge, then merge repeated members
    edge_of = np.repeat(np.arange(n_edges, dtype=np.int64), sizes)
    order = np.lexsort((flat, edge_of))
    flat, edge_of = flat[order], edge_of[order]
    keep = np.ones(flat.size, dtype=bool)
    keep[1:] = (edge_of[1:] != edge_of[:-1]) | (flat[1:] != flat[:-1])
    flat, edge_of = flat[keep], edge_of[keep]
    indptr = np.zeros(n_edges + 1, dtype=np.int64)
    np.cumsum(np.bincount(edge_of, minlength=n_edges), out=indptr[1:])

    dtype = _resolve_dtype(dtype, None if weights is None else np.asarray(weights))
    csc = sp.csc_matrix(
        (np.ones(flat.size, dtype=dtype), flat, indptr), shape=(n_vertices, n_edges)
    )
    return cls._from_canonical(csc, weights, dtype=dtype)


def _canonical_csc(H):
    csc = sp.csc_matrix(H)
    csc.sum_duplicates()
    csc.eliminate_zeros()
    csc.sort_indices()
    return csc


def from_incidence(cls, H, *, weights, dtype, allow_empty_edges):
    """See :meth:`Hypergraph.from_incidence`."""
    if H is None:
        raise TypeError("H is None: expected an incidence matrix (array-like or sparse).")
    H = check_matrix(H, "H", dtype=dtype, accept_sparse=True, nonnegative=True, min_cols=0)
    csc = _canonical_csc(H)
    if not allow_empty_edges:
        _reject_empty(np.diff(csc.indptr), "H")
    return cls._from_canonical(csc, weights, dtype=csc.dtype.type)


def from_labels(cls, Y, *, weights, dtype):
    """See :meth:`Hypergraph.from_labels`."""
    if Y is None:
        raise TypeError("Y is None: expected a 0/1 label matrix (array-like or sparse).")
    Y = check_matrix(Y, "Y", dtype=dtype, accept_sparse=True, min_cols=0)
    values = Y.data if sp.issparse(Y) else Y
    bad = (values != 0) & (values != 1)
    if np.any(bad):
        example = float(values[bad].ravel()[0])
        raise ValueError(
            f"Y has {int(np.count_nonzero(bad))} entries other than 0 and 1 (e.g. {example}): "
            "expected a binary label matrix."
        )
    csc = _canonical_csc(Y)
    return cls._from_canonical(csc, weights, dtype=csc.dtype.type)


# -------------------------------------------------------------------------------------------------
# k nearest neighbours
# -------------------------------------------------------------------------------------------------


def kneighbors(
    X,
    n_neighbors=10,
    *,
    database=None,
    metric="euclidean",
    block_size=None,
    n_jobs=None,
    progress=False,
    screen="auto",
):
    """Exact k nearest neighbours, blockwise, without an ``n × n`` matrix.

    Gram blocks of at most ``256 × block_size`` go through single-threaded BLAS
    (``‖q‖² + ‖x‖² − 2 qᵀx``) and a Numba kernel merges each into per-query sorted top-k lists;
    query blocks run in parallel threads (GIL released), each writing its own rows, so the
    result does not depend on the thread count.  By default the Gram blocks are computed in
    float32 and every row's answer is then made exact and CERTIFIED in float64 (see Notes);
    rows whose certificate fails are searched again in float64 (all rows, as soon as more than
    half of the first block's rows fail: data whose float32 error hides the gaps between
    neighbours, e.g. tight clusters far from the mean, costs little more than without
    screening).  A screened self-search
    (``database=None``) computes each off-diagonal square block once and
    merges it into the lists of its rows and of its columns: half the GEMM work.  The returned
    distances are computed directly (``‖q − x‖``, no cancellation) for the selected
    neighbours, and each row is sorted by (distance, index).  Memory:
    ``O((n_threads + 1)·n_queries·n_neighbors + n_threads·block_size²)`` besides a float64
    copy of the inputs and, when screening, a float32 copy.

    Parameters
    ----------
    X : array-like of shape (n_queries, n_features)
        Query points (finite).
    n_neighbors : int, default=10
        Neighbours per query.  Without ``database``: ``1 <= n_neighbors <= n_queries − 1``;
        with it: ``1 <= n_neighbors <= n_database``.
    database : array-like of shape (n_database, n_features), default=None
        Points to search.  ``None`` searches ``X`` itself and EXCLUDES each query's own index
        (a duplicate point at another index is a neighbour at distance 0).
    metric : {"euclidean", "cosine"}, default="euclidean"
        Cosine distance is ``1 − cos`` (a zero vector has distance 1 to everything, as in
        scikit-learn).
    block_size : int, default=None
        Database points per block (``None``: 1024); query blocks have
        ``min(256, block_size)`` rows; the screened searches use square blocks of
        ``min(512, block_size)``.
    n_jobs : int, default=None
        Threads; ``None`` uses Numba's current thread count.  BLAS runs single-threaded
        inside (one GEMM per thread: no oversubscription).
    progress : bool, default=False
        Show a tqdm progress bar over query blocks.
    screen : {"auto", "float32"} or None, default="auto"
        ``"float32"``: screen candidates with float32 Gram blocks, re-rank them in float64 and
        certify every row (Notes).  ``None``: float64 Gram blocks only (the pre-screening
        search).  ``"auto"``: ``"float32"`` unless the problem is small
        (``n_queries·n_database·n_features < 2²⁴``) or has fewer than 16 features, where the
        float32 GEMM saves little besides the re-ranking and merging.  Screening is skipped
        anyway when ``n_database`` (minus the query itself) is at most ``n_neighbors + extra``
        candidates or when row norms exceed ``2⁶⁰`` (float32 overflow).

    Returns
    -------
    distances : ndarray of shape (n_queries, n_neighbors), float64
    indices : ndarray of shape (n_queries, n_neighbors), int64
        Sorted by increasing distance; ties by increasing index.

    Raises
    ------
    ValueError
        Empty or non-2-D inputs, NaN/inf, mismatched feature counts, ``n_neighbors`` out of
        range, unknown metric or ``screen``, values so large that squared norms overflow.

    Notes
    -----
    **Float64 search** (``screen=None``, and every row a certificate rejects).  Candidates are
    SELECTED with the expanded squared distance, whose rounding error is about
    ``eps·(‖q‖² + ‖x‖²)``: two candidates whose distances differ by less than that may be
    swapped at the k-th place (as in scikit-learn's brute force, which uses the same
    expansion).  Exact ties, e.g. duplicate points or integer data, are resolved by index.

    **Float32 screening.**  Euclidean rows are centred on the database mean ``μ`` in float64
    (``c = fl(x − μ)``; distances do not change) and cast to float32; cosine rows are normalised
    in float64 and cast.  The screened value of query ``q`` and point ``x`` is
    ``s(x) = (‖c_q‖² + ‖c_x‖²) − 2 ĝ`` in float64, ĝ the float32 GEMM entry (cosine:
    ``s = −2 ĝ``); each row keeps the ``k' = k + max(4, k // 4)`` smallest, so every point NOT
    kept has ``s(x) ≥ s_k'``, the k'-th kept value.  The k' candidates get exact float64
    distances (the same direct formula as the returned distances) and are sorted by (distance,
    index).

    *Screening error bound.*  With ``u = 2⁻²⁴``, ``γ_d = d·u/(1 − d·u)``, ``τ = 2⁻¹²⁶`` (any
    underflow or flush-to-zero of a float32 cast or operation moves a value by at most ``τ``),
    and ``N_q ≥ ‖c_q‖``, ``R ≥ max_x ‖c_x‖`` (float64 norms inflated by ``1 + 2(d + 4)·2⁻⁵³``):
    casting perturbs each component by ``≤ u|c_i| + 2τ``, so ``|ãᵀb̃ − c_qᵀc_x| ≤ (2u + u²)N_q R
    + O(τ)``, and a float32 dot product in ANY summation order (BLAS blocking, FMA) adds
    ``≤ γ_d Σ|ã_i b̃_i|`` [1, Thm 3.1], so

    .. math::

        |ĝ − c_qᵀc_x| ≤ E = (γ_d(1 + u)² + 2u + u²) N_q R
                         + 4(1 + γ_d) τ (√d (N_q + R) + d).

    The float64 norms (error ``≤ γ_d^{(64)}‖c‖²``) and the combination (two roundings) add at
    most ``F = 1.01 (γ_d^{(64)} + 6·2⁻⁵³)(N_q + R)²``, so ``|s(x) − ‖c_q − c_x‖²| ≤ δ(q) =
    2E + F`` (``SCREEN_BOUND_INFLATION`` covers the rounding of evaluating δ itself).  Rows
    with ``R > 2⁶⁰`` would risk float32 overflow and are never screened.

    *Certificate.*  Every point left out has ``‖c_q − c_x‖² ≥ s_k' − δ``; centring moved each
    difference vector by at most ``e = 1.01·2⁻⁵³(N_q + R)``, so ``‖q − x‖ ≥ ρ =
    √max(s_k' − δ, 0) − e``, and the float64 direct sum of squares that the caller would see
    is at least ``L = ρ²(1 − γ_{d+2}^{(64)}) − 2d·2⁻¹⁰²²``.  A row is certified when the
    largest sum of squares among its k returned neighbours, times ``1 + 8·2⁻⁵³`` (so that the
    rounded square roots stay strictly ordered), is ``< L`` (deflated by the inflation
    factor): then every point left out is STRICTLY farther than every point returned, in the
    very distances returned, and no tie can involve it.  Cosine: ``1 − cᵀx ≥ 1 + (s_k' − δ)/2``
    and the float64 ``1 − cᵀx`` is off by ``≤ γ_d^{(64)} N_q R + 3·2⁻⁵³``; the clipped k-th
    distance must be below that bound and below 2.

    *Guarantee.*  A certified row is the EXACT k nearest neighbours under the returned float64
    distances, ordered by (distance, index), i.e. equal to a brute-force sort of all
    ``n_database`` directly computed distances.  A rejected row is the float64 search's
    answer, computed for the rejected rows alone (where that search is ambiguous, its choice
    can depend on which rows share a BLAS call, which may round a row's Gram entries
    differently).  So the result equals the float64 search's (indices and distances) whenever
    the float64 search itself is unambiguous — its expanded distances order the points around
    the k-th place as the direct ones do — and is exact in more cases than it.  The
    certificate depends only on ``s_k'`` (the k'-th smallest screened value, whatever order the
    blocks were merged in) and on exact distances, so neither the result nor the set of
    rejected rows depends on the thread count.

    Measured (shapes features of :func:`hyperlearn.datasets.make_tagged_shapes`, d = 400,
    k = 10, one thread): every row certified; 2.2–2.3× (n = 5000) and 2.7–3.3× (n = 20 000)
    less CPU time than the float64 search; Gaussian data, n = 5000 / 20 000: 1.7× / 1.3×
    (d = 16), 2.0× / 2.3× (d = 64).  A search with a separate ``database`` gains less (no
    symmetry): 1.5× on shapes features.

    References
    ----------
    .. [1] N. J. Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., SIAM, 2002,
       §2.2 (underflow), §3.1 (inner products).

    Examples
    --------
    >>> import numpy as np
    >>> from hyperlearn.hypergraph import kneighbors
    >>> dist, ind = kneighbors(np.array([[0.0], [1.0], [3.0]]), n_neighbors=1)
    >>> ind.ravel().tolist(), dist.ravel().tolist()
    ([1, 0, 1], [1.0, 1.0, 2.0])
    """
    dist, ind, _ = _kneighbors(
        X,
        n_neighbors,
        database=database,
        metric=metric,
        block_size=block_size,
        n_jobs=n_jobs,
        progress=progress,
        screen=screen,
    )
    return dist, ind


KNN_SCREEN_MODES = ("auto", "float32", None)
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
#: Screening stops (and the float64 search answers every row) when more than this fraction of
#: the first block's rows fail the certificate: rejected rows are searched again in float64, so
#: beyond about half of them screening costs more than it saves (the screened self-search costs
#: 0.35-0.7 of the float64 one, measured below).
SCREEN_ABORT_FAILURES = 0.5
#: "auto" screens only from this much work (n_queries·n_database·n_features) and from this many
#: features.  Below the first the float64 search takes milliseconds anyway; below the second the
#: merges, not the GEMMs, dominate and screening gains little.  Measured (self-search, Gaussian,
#: k = 10, one thread, CPU time, float64 search over screened) at n = 5000 / 20 000: d = 2
#: 1.55 / 1.0, d = 8 1.42 / 1.09, d = 16 1.68 / 1.33, d = 32 1.74 / 1.49, d = 64 2.0 / 2.3;
#: shapes features (d = 400) 2.2 / 2.7-3.3.
SCREEN_MIN_WORK = 2**24
SCREEN_MIN_FEATURES = 16


def screen_extra(n_neighbors):
    """Extra candidates screened per query: ``k' = k + max(4, k // 4)``.

    Measured on shapes features (n = 5000, d = 400, k = 10, one thread): 1, 2, 4 and 10 extra
    candidates certified 98.8 %, 100 %, 100 %, 100 % of the rows; with the symmetric
    self-search, 2, 3, 4 and 6 extra made it 2.41, 2.28, 2.28 and 2.27 times faster than the
    float64 search (CPU time; the re-ranking reads ``k'`` float64 rows per query).  4 keeps a
    margin for data with closer gaps at the k-th place at little cost.
    """
    return max(4, n_neighbors // 4)


def _gamma(n, u):
    return n * u / (1.0 - n * u)


def _screen_prepare(A, center, chunk=4096):
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


def _inflated_norms(sq, n_features):
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


def _certify(s_kp, kth_raw, q_norms, db_norm_max, n_features, cosine):
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


#: Square blocks of the screened searches (at most).  Measured (k = 10, one thread, CPU time,
#: float64 search over screened), self-search, n = 10 000, blocks 256 / 512 / 1024: shapes
#: features (d = 400) 2.58 / 2.77 / 2.67, Gaussian d = 64 1.68 / 1.71 / 1.60, d = 32
#: 1.27 / 1.32 / 1.19; 3000 shapes queries against 5000 others, 256 × 1024 / 512² / 1024²
#: blocks: 1.43 / 1.55 / 1.55.
SCREEN_BLOCK = 512


def _extend_bar(bar, n):
    """Each search adds its blocks to the progress bar (the fallback's are known only later)."""
    bar.total += n
    bar.refresh()


def _run_blocks(search, starts, n_workers, bar, probe=None):
    """Run ``search(start)`` for every start, on ``n_workers`` threads, BLAS single-threaded.

    ``probe()``, if given, runs in the calling thread as soon as the block at ``starts[0]`` is
    done; if it returns False the blocks not yet started are skipped, the running ones stop at
    their next step (``search`` checks ``stop``), and False is returned.
    """
    import threading

    from threadpoolctl import threadpool_limits

    stop = threading.Event()

    def first_done():
        if probe is not None and not probe():
            stop.set()

    with threadpool_limits(limits=1, user_api="blas"):
        if n_workers == 1 or len(starts) == 1:
            for start in starts:
                if stop.is_set():
                    break
                search(start, stop)
                bar.update()
                if start == starts[0]:
                    first_done()
        else:
            with ThreadPoolExecutor(max_workers=n_workers) as pool:
                futures = {pool.submit(search, start, stop): start for start in starts}
                for future in as_completed(futures):
                    future.result()
                    bar.update()
                    if futures[future] == starts[0]:
                        first_done()
    return not stop.is_set()


def _blocked_search(
    Q, D, qnorm, dnorm, self_index, k, block, n_threads, bar, probe=None, query_block=None
):
    """Top-k pseudo-distances of every row of ``Q`` over ``D``: (best_d, best_i), or None if
    ``probe(best_d, best_i, rows)`` (called once the first query block is final) said stop."""
    from . import _kernels

    n_q, n_db = Q.shape[0], D.shape[0]
    best_d = np.full((n_q, k), np.inf)
    best_i = np.full((n_q, k), -1, dtype=np.int64)
    if query_block is None:
        query_block = min(KNN_QUERY_BLOCK, block)

    def search(q0, stop):
        q1 = min(q0 + query_block, n_q)
        rows_d, rows_i = best_d[q0:q1], best_i[q0:q1]
        for d0 in range(0, n_db, block):
            if stop.is_set():
                return
            d1 = min(d0 + block, n_db)
            G = Q[q0:q1] @ D[d0:d1].T
            _kernels.knn_merge_block(
                G, qnorm[q0:q1], dnorm[d0:d1], self_index[q0:q1], d0, rows_d, rows_i
            )

    starts = list(range(0, n_q, query_block))
    _extend_bar(bar, len(starts))
    first = slice(0, min(query_block, n_q))
    check = None if probe is None else lambda: probe(best_d[first], best_i[first], first)
    if not _run_blocks(search, starts, n_threads, bar, check):
        return None
    return best_d, best_i


def _symmetric_search(A, norms, k, block, n_threads, bar, probe=None):
    """Top-k screened values of every row of ``A`` over ``A`` itself, self excluded, computing
    each off-diagonal Gram block once (half the GEMM work of :func:`_blocked_search`).

    Block ``(i, j)``, ``j >= i``, of a single row partition updates the lists of block ``i``
    (its rows: owned by the task of row block ``i``) and, for ``j > i``, the lists of block
    ``j`` through a per-worker array, merged at the end.  Every point left out of a row's
    final list has a screened value ``>=`` its last entry, which is all the certificate needs.
    Block 0 gets nothing from other tasks, so its lists are final when its own task ends: then
    ``probe`` runs as in :func:`_blocked_search` (None returned if it says stop).
    """
    import queue

    from . import _kernels

    n = A.shape[0]
    size = min(block, SCREEN_BLOCK)
    starts = list(range(0, n, size))
    _extend_bar(bar, len(starts))
    n_workers = max(1, min(n_threads, len(starts)))
    lists = [
        (np.full((n, k), np.inf), np.full((n, k), -1, dtype=np.int64)) for _ in range(n_workers + 1)
    ]
    best_d, best_i = lists[0]
    free = queue.SimpleQueue()
    for w in range(1, n_workers + 1):
        free.put(w)
    self_index = np.arange(n, dtype=np.int64)
    no_self = np.full(size, -1, dtype=np.int64)

    def search(i0, stop):
        i1 = min(i0 + size, n)
        w = free.get()
        try:
            col_d, col_i = lists[w]
            rows = A[i0:i1]
            for j0 in range(i0, n, size):
                if stop.is_set():
                    return
                j1 = min(j0 + size, n)
                G = rows @ A[j0:j1].T
                own = self_index[i0:i1] if j0 == i0 else no_self[: i1 - i0]
                _kernels.knn_merge_block(
                    G, norms[i0:i1], norms[j0:j1], own, j0, best_d[i0:i1], best_i[i0:i1]
                )
                if j0 > i0:
                    _kernels.knn_merge_block_columns(
                        G, norms[j0:j1], norms[i0:i1], i0, col_d[j0:j1], col_i[j0:j1]
                    )
        finally:
            free.put(w)

    first = slice(0, min(size, n))
    check = None if probe is None else lambda: probe(best_d[first], best_i[first], first)
    if not _run_blocks(search, starts, n_workers, bar, check):
        return None
    for col_d, col_i in lists[1:]:
        _kernels.knn_merge_lists(best_d, best_i, col_d, col_i)
    return best_d, best_i


def _float64_search(Q, D, rows, exclude_self, cosine, k, block, n_threads, bar):
    """The float64 search for query rows ``rows`` (None: all): distances and indices."""
    from . import _kernels

    Q_rows = Q if rows is None else Q[rows]
    n_r = Q_rows.shape[0]
    if cosine:
        qnorm = np.zeros(n_r)
        dnorm = np.zeros(D.shape[0])
    else:
        qnorm = np.einsum("ij,ij->i", Q_rows, Q_rows)
        dnorm = np.einsum("ij,ij->i", D, D)
        if not (np.all(np.isfinite(qnorm)) and np.all(np.isfinite(dnorm))):
            raise ValueError(
                "X (or database) has values so large that squared norms overflow float64: "
                "rescale the features."
            )
    if exclude_self:
        self_index = np.arange(Q.shape[0], dtype=np.int64)
        if rows is not None:
            self_index = self_index[rows]
    else:
        self_index = np.full(n_r, -1, dtype=np.int64)
    _, best_i = _blocked_search(Q_rows, D, qnorm, dnorm, self_index, k, block, n_threads, bar)
    distances = np.empty(best_i.shape)
    _kernels.exact_distances(Q_rows, D, best_i, cosine, distances)
    order = np.lexsort((best_i, distances), axis=-1)
    return np.take_along_axis(distances, order, axis=1), np.take_along_axis(best_i, order, axis=1)


def _kneighbors(
    X,
    n_neighbors=10,
    *,
    database=None,
    metric="euclidean",
    block_size=None,
    n_jobs=None,
    progress=False,
    screen="auto",
):
    """:func:`kneighbors` plus a dict of statistics: ``screened`` (bool: the screening answered,
    possibly with rejected rows), ``aborted`` (screening stopped after its first block),
    ``n_certified`` and ``n_fallback`` (rows searched in float64), and when screened
    ``certified`` (boolean mask of the rows answered by the certified screening)."""
    # imported here: tqdm.auto alone costs ~80 ms of `import hyperlearn` time
    from tqdm.auto import tqdm

    if metric not in KNN_METRICS:
        raise ValueError(f"metric={metric!r} is not supported: expected one of {KNN_METRICS}.")
    if not (screen is None or (isinstance(screen, str) and screen in KNN_SCREEN_MODES)):
        raise ValueError(f"screen={screen!r} is not supported: expected one of {KNN_SCREEN_MODES}.")
    Q = check_matrix(X, "X", dtype=np.float64)
    exclude_self = database is None
    if exclude_self:
        D = Q
        n_db = Q.shape[0]
        if n_db < 2:
            raise ValueError(
                f"X has {n_db} sample(s): at least 2 are needed to find neighbours other than "
                "the point itself."
            )
        n_neighbors = check_int(n_neighbors, "n_neighbors", low=1, high=n_db - 1)
    else:
        D = check_matrix(database, "database", dtype=np.float64)
        if D.shape[1] != Q.shape[1]:
            raise ValueError(f"database has {D.shape[1]} features: expected X's {Q.shape[1]}.")
        n_db = D.shape[0]
        n_neighbors = check_int(n_neighbors, "n_neighbors", low=1, high=n_db)
    block = DEFAULT_KNN_BLOCK if block_size is None else check_int(block_size, "block_size", low=1)

    cosine = metric == "cosine"
    if cosine:
        Q = _normalize_rows(Q)
        D = Q if exclude_self else _normalize_rows(D)

    n_q, n_features = Q.shape
    k = n_neighbors
    k_screen = k + screen_extra(k)
    use_screen = screen is not None and n_db - int(exclude_self) > k_screen
    if screen == "auto":
        use_screen = (
            use_screen
            and n_q * n_db * n_features >= SCREEN_MIN_WORK
            and n_features >= SCREEN_MIN_FEATURES
        )
    stats = {"screened": False, "aborted": False, "n_certified": 0, "n_fallback": n_q}

    with thread_limits(n_jobs) as n_threads:
        bar = tqdm(total=0, desc="kNN", unit="block", disable=not progress)
        try:
            found = None
            if use_screen:
                found = _screened_search(
                    Q, D, exclude_self, cosine, k, k_screen, block, n_threads, bar, stats
                )
            if found is not None:
                distances, indices, ok = found
                failed = np.flatnonzero(~ok)
                stats.update(
                    screened=True,
                    certified=ok,
                    n_certified=n_q - failed.size,
                    n_fallback=failed.size,
                )
                if failed.size:
                    distances[failed], indices[failed] = _float64_search(
                        Q, D, failed, exclude_self, cosine, k, block, n_threads, bar
                    )
            else:
                distances, indices = _float64_search(
                    Q, D, None, exclude_self, cosine, k, block, n_threads, bar
                )
        finally:
            bar.close()
    return distances, indices, stats


def _screened_search(Q, D, exclude_self, cosine, k, k_screen, block, n_threads, bar, stats):
    """Float32 screening, float64 re-ranking and certificates (kneighbors' Notes).

    Returns ``(distances, indices, certified)`` (the rows not certified still to be searched
    in float64), or None when screening does not apply (float32 overflow; then
    ``stats["aborted"]`` stays False) or was stopped after the first block
    (``stats["aborted"] = True``).
    """
    from . import _kernels

    n_q, n_features = Q.shape
    n_db = D.shape[0]
    center = None if cosine else D.mean(axis=0)
    q32, q_sq = _screen_prepare(Q, center)
    db32, d_sq = (q32, q_sq) if exclude_self else _screen_prepare(D, center)
    q_norms = _inflated_norms(q_sq, n_features)
    db_norm_max = float(_inflated_norms(d_sq, n_features).max())
    norm_max = float(np.max([db_norm_max, q_norms.max()]))  # NaN propagates
    # ‖x‖ ≤ ‖μ‖ + ‖c_x‖: below 2⁵⁰⁰ no squared norm overflows, so the float64 search (for rows
    # the certificate rejects) cannot raise where screening would not have; otherwise that
    # search decides (and raises if it must)
    with np.errstate(over="ignore"):
        offset = 0.0 if center is None else float(np.linalg.norm(center))
    if not (norm_max <= SCREEN_MAX_NORM and offset + norm_max < 2.0**500):
        return None
    if cosine:
        qn, dn = np.zeros(n_q), np.zeros(n_db)
    else:
        qn, dn = q_sq, d_sq

    def rerank_and_certify(rows, lists_d, lists_i):
        n_rows = lists_i.shape[0]
        distances = np.empty((n_rows, k))
        indices = np.empty((n_rows, k), dtype=np.int64)
        kth_raw = np.empty(n_rows)
        _kernels.knn_rerank(Q[rows], D, lists_i, cosine, distances, indices, kth_raw)
        ok = _certify(lists_d[:, -1], kth_raw, q_norms[rows], db_norm_max, n_features, cosine)
        return distances, indices, ok

    def probe(lists_d, lists_i, rows):
        # the first block's rows are final: if most fail the certificate, the float64 search
        # would redo most rows anyway, so stop screening now
        ok = rerank_and_certify(rows, lists_d, lists_i)[2]
        return np.count_nonzero(~ok) <= SCREEN_ABORT_FAILURES * ok.size

    if exclude_self:
        found = _symmetric_search(q32, qn, k_screen, block, n_threads, bar, probe)
    else:
        self_index = np.full(n_q, -1, dtype=np.int64)
        size = min(block, SCREEN_BLOCK)
        found = _blocked_search(
            q32, db32, qn, dn, self_index, k_screen, size, n_threads, bar, probe, query_block=size
        )
    del q32, db32
    if found is None:
        stats["aborted"] = True
        return None
    return rerank_and_certify(slice(None), *found)


def _normalize_rows(A):
    norms = np.sqrt(np.einsum("ij,ij->i", A, A))
    norms[norms == 0] = 1.0
    return A / norms[:, None]


def from_knn(cls, X, n_neighbors, *, metric, weights, n_jobs, block_size, dtype, progress=False):
    """See :meth:`Hypergraph.from_knn`."""
    if X is None:
        raise TypeError("X is None: expected a 2-D array of features.")
    if dtype is None:
        dtype = float_dtype_of(np.asarray(X).dtype, "X") if not sp.issparse(X) else None
    dtype = _resolve_dtype(dtype)
    _, neighbors = kneighbors(
        X, n_neighbors, metric=metric, block_size=block_size, n_jobs=n_jobs, progress=progress
    )
    n, k = neighbors.shape
    members = np.empty((n, k + 1), dtype=np.int64)
    members[:, 0] = np.arange(n)
    members[:, 1:] = neighbors
    members.sort(axis=1)
    indptr = np.arange(0, n * (k + 1) + 1, k + 1, dtype=np.int64)
    csc = sp.csc_matrix((np.ones(n * (k + 1), dtype=dtype), members.ravel(), indptr), shape=(n, n))
    return cls._from_canonical(csc, weights, dtype=dtype)


# -------------------------------------------------------------------------------------------------
# combination and conversion
# -------------------------------------------------------------------------------------------------


def hstack(cls, hypergraphs):
    """See :meth:`Hypergraph.hstack`."""
    if isinstance(hypergraphs, cls):
        hypergraphs = [hypergraphs]
    hypergraphs = list(hypergraphs)
    if not hypergraphs:
        raise ValueError("hypergraphs is empty: expected at least one Hypergraph.")
    for i, h in enumerate(hypergraphs):
        if not isinstance(h, cls):
            raise TypeError(f"hypergraphs[{i}] is {describe(h)}: expected a Hypergraph.")
    n = hypergraphs[0].n_vertices
    for i, h in enumerate(hypergraphs):
        if h.n_vertices != n:
            raise ValueError(
                f"hypergraphs[{i}] has n_vertices={h.n_vertices}: expected {n} like "
                "hypergraphs[0] (hstack concatenates hyperedges over the same vertices)."
            )
    if len(hypergraphs) == 1:
        return hypergraphs[0]
    dtype = np.float32 if all(h.dtype == np.float32 for h in hypergraphs) else np.float64
    csc = sp.hstack([h.incidence_csc.astype(dtype) for h in hypergraphs], format="csc")
    weights = np.concatenate([h.weights.astype(dtype) for h in hypergraphs])
    return cls._from_canonical(csc, weights, dtype=dtype)


def to_networkx(hg, *, kind, nnz_budget):
    """See :meth:`Hypergraph.to_networkx`."""
    import networkx as nx

    from ._operators import check_nnz_budget

    if kind == "bipartite":
        G = nx.Graph()
        G.add_nodes_from(range(hg.n_vertices), bipartite=0)
        G.add_nodes_from(
            (("e", j), {"bipartite": 1, "weight": w}) for j, w in enumerate(hg.weights.tolist())
        )
        coo = hg.incidence.tocoo()
        G.add_edges_from(
            (v, ("e", e), {"weight": h})
            for v, e, h in zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=True)
        )
        return G
    if kind == "clique":
        check_nnz_budget(hg.edge_sizes, nnz_budget, what="the clique expansion")
        delta = hg.edge_degrees.astype(np.float64)
        scale = np.divide(
            hg.weights.astype(np.float64), delta, out=np.zeros_like(delta), where=delta > 0
        )
        H = hg.incidence.astype(np.float64)
        A = (H @ sp.diags(scale) @ H.T).tocoo()
        upper = A.row < A.col
        G = nx.Graph()
        G.add_nodes_from(range(hg.n_vertices))
        G.add_weighted_edges_from(
            zip(A.row[upper].tolist(), A.col[upper].tolist(), A.data[upper].tolist(), strict=True)
        )
        return G
    raise ValueError(f"kind={kind!r} is not supported: expected 'bipartite' or 'clique'.")


def from_networkx(cls, G, *, dtype):
    """See :meth:`Hypergraph.from_networkx`."""
    dtype = np.float64 if dtype is None else check_float_dtype(dtype)
    if not hasattr(G, "nodes") or not hasattr(G, "edges"):
        raise TypeError(f"G={describe(G)} is not a NetworkX graph.")
    vertex_index, edge_index, edge_weights = {}, {}, []
    for node, data in G.nodes(data=True):
        side = data.get("bipartite")
        if side is None or isinstance(side, float) or side not in (0, 1):
            raise ValueError(
                f"node {node!r} of G has bipartite={side!r}: expected every node to carry the "
                "attribute 'bipartite' = 0 (vertex) or 1 (hyperedge)."
            )
        if side == 0:
            vertex_index[node] = len(vertex_index)
        else:
            edge_index[node] = len(edge_index)
            edge_weights.append(data.get("weight", 1.0))
    if not vertex_index:
        raise ValueError("G has no vertex node (bipartite=0): expected at least one.")
    rows, cols, vals = [], [], []
    for a, b, data in G.edges(data=True):
        if a in vertex_index and b in edge_index:
            v, e = vertex_index[a], edge_index[b]
        elif b in vertex_index and a in edge_index:
            v, e = vertex_index[b], edge_index[a]
        else:
            raise ValueError(
                f"G has an edge ({a!r}, {b!r}) inside one side: expected a bipartite graph "
                "joining vertex nodes to hyperedge nodes."
            )
        rows.append(v)
        cols.append(e)
        vals.append(data.get("weight", 1.0))
    H = sp.coo_matrix(
        (
            np.asarray(vals, dtype=np.float64),
            (np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)),
        ),
        shape=(len(vertex_index), len(edge_index)),
    )
    return from_incidence(
        cls,
        H,
        weights=np.asarray(edge_weights, dtype=np.float64),
        dtype=dtype,
        allow_empty_edges=True,
    )

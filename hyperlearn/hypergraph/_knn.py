"""Exact k-nearest-neighbour search (screened in float32, certified in float64) and the kNN
hypergraph built on it.

The search is blockwise and never forms an ``n × n`` matrix: Gram blocks go through BLAS and
the Numba kernels of ``_knn_kernels.py`` merge them into per-query top-k lists.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor, as_completed

import numpy as np
import scipy.sparse as sp

from ..utils._numba import thread_limits
from ..utils._validation import (
    check_choice,
    check_float_dtype,
    check_int,
    check_matrix,
    float_dtype_of,
)
from ._ann import KNN_METHODS, approximate_kneighbors, resolve_method
from ._knn_screen import (
    SCREEN_MAX_NORM,
    certify,
    inflated_norms,
    screen_extra,
    screen_prepare,
)

__all__ = ["from_knn", "kneighbors"]

KNN_METRICS = ("euclidean", "cosine")
# Database points per distance block and the cap on query rows per block: a 256 x 1024 float64
# Gram block stays in cache while the merge kernel reads it back.  See benchmarks/TUNING.md.
DEFAULT_KNN_BLOCK = 1024
KNN_QUERY_BLOCK = 256


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
    method="exact",
    random_state=None,
):
    """Exact (or, on request, approximate) k nearest neighbours, without an ``n × n`` matrix.

    Gram blocks of at most ``256 × block_size`` go through single-threaded BLAS
    (``‖q‖² + ‖x‖² − 2 qᵀx``) and a Numba kernel merges each into per-query sorted top-k lists;
    query blocks run in parallel threads (GIL released), each writing its own rows, so the
    result does not depend on the thread count.  By default the Gram blocks are computed in
    float32 and every row's answer is then made exact and CERTIFIED in float64 (see Notes);
    rows whose certificate fails are searched again in float64 (all rows, as soon as more than
    half of the first block's rows fail: data whose float32 error hides the gaps between
    neighbours, e.g. tight clusters far from the mean, costs little more than without
    screening).  A screened self-search (``database=None``) computes each off-diagonal square
    block once and merges it into the lists of its rows and of its columns: half the GEMM work.
    The returned distances are computed directly (``‖q − x‖``, no cancellation) for the
    selected neighbours, and each row is sorted by (distance, index).  Memory:
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
    method : {"exact", "approximate", "auto"}, default="exact"
        ``"approximate"`` (self-search only, ``database=None``): NN-descent through pynndescent
        (the optional ``ann`` extra), its candidates re-ranked with exact distances; the
        neighbour SETS may miss true neighbours (recall below 1), and ``block_size``,
        ``progress`` and ``screen`` do not apply.  ``"auto"``: approximate for a self-search
        of at least :data:`~hyperlearn.hypergraph.ANN_MIN_SAMPLES` points when
        pynndescent is installed, else exact.
    random_state : None, int or numpy.random.Generator, default=None
        Seed of the approximate search, reproducible for a given seed and number of threads
        (the exact search is deterministic and thread-independent).

    Returns
    -------
    distances : ndarray of shape (n_queries, n_neighbors), float64
    indices : ndarray of shape (n_queries, n_neighbors), int64
        Sorted by increasing distance; ties by increasing index.

    Raises
    ------
    ValueError
        Empty or non-2-D inputs, NaN/inf, mismatched feature counts, ``n_neighbors`` out of
        range, unknown metric, ``screen`` or ``method``, values so large that squared norms
        overflow; ``method="approximate"`` with a ``database``.
    ImportError
        ``method="approximate"`` without pynndescent.

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

    How much screening saves over the float64 search is measured by the ``hypergraph``
    benchmark suite (``kneighbors`` rows).

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
        method=method,
        random_state=random_state,
    )
    return dist, ind


KNN_SCREEN_MODES = ("auto", "float32", None)
#: Screening stops (and the float64 search answers every row) when more than this fraction of
#: the first block's rows fail the certificate: rejected rows are searched again in float64, so
#: beyond about half of them screening costs more than it saves.  See benchmarks/TUNING.md.
SCREEN_ABORT_FAILURES = 0.5
#: "auto" screens only from this much work (n_queries·n_database·n_features) and from this many
#: features: below them the merges, not the GEMMs, dominate.  See benchmarks/TUNING.md.
SCREEN_MIN_WORK = 2**24
SCREEN_MIN_FEATURES = 16
#: Square blocks of the screened searches (at most).  See benchmarks/TUNING.md.
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
    from . import _knn_kernels

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
            _knn_kernels.knn_merge_block(
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

    from . import _knn_kernels

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
                _knn_kernels.knn_merge_block(
                    G, norms[i0:i1], norms[j0:j1], own, j0, best_d[i0:i1], best_i[i0:i1]
                )
                if j0 > i0:
                    _knn_kernels.knn_merge_block_columns(
                        G, norms[j0:j1], norms[i0:i1], i0, col_d[j0:j1], col_i[j0:j1]
                    )
        finally:
            free.put(w)

    first = slice(0, min(size, n))
    check = None if probe is None else lambda: probe(best_d[first], best_i[first], first)
    if not _run_blocks(search, starts, n_workers, bar, check):
        return None
    for col_d, col_i in lists[1:]:
        _knn_kernels.knn_merge_lists(best_d, best_i, col_d, col_i)
    return best_d, best_i


def _float64_search(Q, D, rows, exclude_self, cosine, k, block, n_threads, bar):
    """The float64 search for query rows ``rows`` (None: all): distances and indices."""
    from . import _knn_kernels

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
    _knn_kernels.exact_distances(Q_rows, D, best_i, cosine, distances)
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
    method="exact",
    random_state=None,
):
    """:func:`kneighbors` plus a dict of statistics: ``method`` ("exact" or "approximate"),
    ``screened`` (bool: the screening answered, possibly with rejected rows), ``aborted``
    (screening stopped after its first block), ``n_certified`` and ``n_fallback`` (rows
    searched in float64), and when screened ``certified`` (boolean mask of the rows answered
    by the certified screening)."""
    # imported here: tqdm.auto alone costs ~80 ms of `import hyperlearn` time
    from tqdm.auto import tqdm

    check_choice(method, "method", KNN_METHODS)
    if database is not None and method == "approximate":
        raise ValueError(
            "method='approximate' searches the points of X among themselves: expected "
            "database=None (pass method='exact' to search a database)."
        )
    if database is None and resolve_method(method, _n_rows(X)) == "approximate":
        return _approximate_search(X, n_neighbors, metric, n_jobs, random_state)
    Q, D, k, block = _search_inputs(X, n_neighbors, database, metric, block_size, screen)
    exclude_self = database is None
    cosine = metric == "cosine"
    n_q, n_features = Q.shape
    n_db = D.shape[0]
    k_screen = k + screen_extra(k)
    use_screen = screen is not None and n_db - int(exclude_self) > k_screen
    if screen == "auto":
        use_screen = (
            use_screen
            and n_q * n_db * n_features >= SCREEN_MIN_WORK
            and n_features >= SCREEN_MIN_FEATURES
        )
    stats = {
        "method": "exact",
        "screened": False,
        "aborted": False,
        "n_certified": 0,
        "n_fallback": n_q,
    }

    with thread_limits(n_jobs) as n_threads:
        bar = tqdm(total=0, desc="kNN", unit="block", disable=not progress)
        try:
            found = None
            if use_screen:
                found = _screened_search(
                    Q, D, exclude_self, cosine, k, k_screen, block, n_threads, bar, stats
                )
            if found is None:
                return (
                    *_float64_search(Q, D, None, exclude_self, cosine, k, block, n_threads, bar),
                    stats,
                )
            distances, indices, ok = found
            failed = np.flatnonzero(~ok)
            stats.update(
                screened=True, certified=ok, n_certified=n_q - failed.size, n_fallback=failed.size
            )
            if failed.size:
                distances[failed], indices[failed] = _float64_search(
                    Q, D, failed, exclude_self, cosine, k, block, n_threads, bar
                )
        finally:
            bar.close()
    return distances, indices, stats


def _n_rows(X):
    """Rows of ``X`` if it has a shape, else 0 (``X`` is validated later)."""
    try:
        shape = np.shape(X)
    except (TypeError, ValueError):  # ragged lists and the like
        return 0
    return int(shape[0]) if shape else 0


def _approximate_search(X, n_neighbors, metric, n_jobs, random_state):
    """The approximate self-search of :func:`_kneighbors` (float32 input stays float32)."""
    Q, _, k, _ = _search_inputs(X, n_neighbors, None, metric, None, "auto", dtype=None)
    with thread_limits(n_jobs) as n_threads:
        distances, indices = approximate_kneighbors(
            Q, k, cosine=metric == "cosine", random_state=random_state, n_threads=n_threads
        )
    stats = {
        "method": "approximate",
        "screened": False,
        "aborted": False,
        "n_certified": 0,
        "n_fallback": 0,
    }
    return distances, indices, stats


def _search_inputs(X, n_neighbors, database, metric, block_size, screen, dtype=np.float64):
    """Validated ``(Q, D, n_neighbors, block)``: queries and database in ``dtype`` (None: as
    given; the same array for a self-search; rows normalised for the cosine metric)."""
    check_choice(metric, "metric", KNN_METRICS)
    check_choice(screen, "screen", KNN_SCREEN_MODES)
    Q = check_matrix(X, "X", dtype=dtype)
    if database is None:
        D = Q
        if Q.shape[0] < 2:
            raise ValueError(
                f"X has {Q.shape[0]} sample(s): at least 2 are needed to find neighbours other "
                "than the point itself."
            )
        n_neighbors = check_int(n_neighbors, "n_neighbors", low=1, high=Q.shape[0] - 1)
    else:
        D = check_matrix(database, "database", dtype=np.float64)
        if D.shape[1] != Q.shape[1]:
            raise ValueError(f"database has {D.shape[1]} features: expected X's {Q.shape[1]}.")
        n_neighbors = check_int(n_neighbors, "n_neighbors", low=1, high=D.shape[0])
    block = DEFAULT_KNN_BLOCK if block_size is None else check_int(block_size, "block_size", low=1)
    if metric == "cosine":
        Q = _normalize_rows(Q)
        D = Q if database is None else _normalize_rows(D)
    return Q, D, n_neighbors, block


def _screened_search(Q, D, exclude_self, cosine, k, k_screen, block, n_threads, bar, stats):
    """Float32 screening, float64 re-ranking and certificates (kneighbors' Notes).

    Returns ``(distances, indices, certified)`` (the rows not certified still to be searched
    in float64), or None when screening does not apply (float32 overflow; then
    ``stats["aborted"]`` stays False) or was stopped after the first block
    (``stats["aborted"] = True``).
    """
    from . import _knn_kernels

    n_q, n_features = Q.shape
    n_db = D.shape[0]
    center = None if cosine else D.mean(axis=0)
    q32, q_sq = screen_prepare(Q, center)
    db32, d_sq = (q32, q_sq) if exclude_self else screen_prepare(D, center)
    q_norms = inflated_norms(q_sq, n_features)
    db_norm_max = float(inflated_norms(d_sq, n_features).max())
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

    def rerank_andcertify(rows, lists_d, lists_i):
        n_rows = lists_i.shape[0]
        distances = np.empty((n_rows, k))
        indices = np.empty((n_rows, k), dtype=np.int64)
        kth_raw = np.empty(n_rows)
        _knn_kernels.knn_rerank(Q[rows], D, lists_i, cosine, distances, indices, kth_raw)
        ok = certify(lists_d[:, -1], kth_raw, q_norms[rows], db_norm_max, n_features, cosine)
        return distances, indices, ok

    def probe(lists_d, lists_i, rows):
        # the first block's rows are final: if most fail the certificate, the float64 search
        # would redo most rows anyway, so stop screening now
        ok = rerank_andcertify(rows, lists_d, lists_i)[2]
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
    return rerank_andcertify(slice(None), *found)


def _normalize_rows(A):
    norms = np.sqrt(np.einsum("ij,ij->i", A, A))
    norms[norms == 0] = 1.0
    return A / norms[:, None]


def from_knn(
    cls,
    X,
    n_neighbors,
    *,
    metric,
    weights,
    n_jobs,
    block_size,
    dtype,
    progress=False,
    method="auto",
    random_state=None,
):
    """See :meth:`Hypergraph.from_knn`."""
    if X is None:
        raise TypeError("X is None: expected a 2-D array of features.")
    if dtype is None:
        dtype = np.float64 if sp.issparse(X) else float_dtype_of(np.asarray(X).dtype, "X")
    else:
        dtype = check_float_dtype(dtype)
    _, neighbors = kneighbors(
        X,
        n_neighbors,
        metric=metric,
        block_size=block_size,
        n_jobs=n_jobs,
        progress=progress,
        method=method,
        random_state=random_state,
    )
    return cls._from_canonical(knn_incidence(neighbors, dtype), weights, dtype=dtype)


def knn_incidence(neighbors, dtype):
    """CSC incidence whose column ``v`` is ``{v} ∪ neighbors[v]`` (rows sorted; ``neighbors``
    excludes ``v`` itself and holds distinct indices)."""
    n, k = neighbors.shape
    members = np.empty((n, k + 1), dtype=np.int64)
    members[:, 0] = np.arange(n)
    members[:, 1:] = neighbors
    members.sort(axis=1)
    indptr = np.arange(0, n * (k + 1) + 1, k + 1, dtype=np.int64)
    return sp.csc_matrix((np.ones(n * (k + 1), dtype=dtype), members.ravel(), indptr), shape=(n, n))

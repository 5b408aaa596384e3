"""Numba kernels for hypergraph operators and k-nearest-neighbour search.

Kernels only: every argument is a contiguous array of a fixed dtype, already validated by the
Python wrappers in ``_operators.py`` and ``_construct.py``.  All kernels compile lazily on first
call (no signatures, so importing this module compiles nothing) and are cached on disk.

Every ``prange`` loop writes a disjoint slice of its output and computes each output entry in a
fixed serial order, so results are bitwise independent of the number of threads.

Loops over compressed rows use ``intp`` bounds and ``uintp`` gathered indices: indices are
non-negative (validated), and a signed index makes Numba emit negative-index wraparound code in
the innermost loop, measured 30% slower (2.3 ms vs 3.2 ms CPU for the two passes of Θx at
nnz(H) = 760 000, float64, one thread; SciPy's two SpMVs: 2.8 ms).

The Θ product is done in two GATHER passes over a compressed incidence matrix (never a scatter):
pass 1 runs over the columns of H (its CSC form) and pass 2 over its rows (CSR form), both with
``out[i] = rowscale[i] * Σ_p data[p] * x[indices[p]]``.  Scatter-style kernels (writing
``y[v] += ...`` from edges) need atomics or per-thread copies; one was measured 10x slower
than SciPy on this project's machine (see the style guide).
"""

from __future__ import annotations

from ..utils._numba import configure_openmp

# must run before Numba's OpenMP pool starts (see configure_openmp)
configure_openmp()

import llvmlite.binding as _llvm  # noqa: E402
import numpy as np  # noqa: E402
from llvmlite import ir  # noqa: E402
from numba import njit, prange, types  # noqa: E402
from numba.core import cgutils  # noqa: E402
from numba.extending import intrinsic  # noqa: E402

#: Gathered rows are prefetched this many index entries ahead.  Measured on Θ·X (n = 50 000,
#: nnz(H) = 760 000, 50 columns, one thread, CPU time): 130 ms without, 102/97/89/93 ms with
#: distances 2/4/8/16 (float64); 72 ms without, 41 ms at 8 (float32).
PREFETCH_DISTANCE = 8
#: Prefetching pays only for rows of more than one cache line: for 1 and 8 float64 columns
#: (8 and 64 bytes) it was slower or neutral (7.6 -> 9.5 ms; 16.8 -> 15.6 ms), for 50 float32
#: columns (200 bytes) 1.75x faster, so callers enable it from 128 bytes.
PREFETCH_MIN_ROW_BYTES = 128
_CACHE_LINE = 64
# LLVM >= 15 names the intrinsic by the opaque pointer type
_PREFETCH_NAME = "llvm.prefetch.p0" if _llvm.llvm_version_info[0] >= 15 else "llvm.prefetch.p0i8"


@intrinsic
def _prefetch_line(typingctx, arr, row, offset):
    """Prefetch (read, high locality) the cache line at byte ``offset`` of row ``row`` of a
    C-contiguous 2-D array.  A hint only: an address past the end does not fault."""
    if not isinstance(arr, types.Array) or arr.ndim != 2:
        return None
    sig = types.void(arr, row, offset)

    def codegen(context, builder, signature, args):
        aryty, rowty, offty = signature.args
        ary = context.make_array(aryty)(context, builder, args[0])
        zero = context.get_constant(types.intp, 0)
        index = [context.cast(builder, args[1], rowty, types.intp), zero]
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, index, wraparound=False)
        byte_ptr = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [byte_ptr, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, _PREFETCH_NAME)
        offset_val = context.cast(builder, args[2], offty, types.intp)
        address = builder.gep(builder.bitcast(ptr, byte_ptr), [offset_val])
        builder.call(fn, [address, i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return sig, codegen


@njit(inline="always", nogil=True)
def _prefetch_row(indices, q, X, row_bytes):
    if q < indices.shape[0]:
        j = np.uintp(indices[q])
        offset = 0
        while offset < row_bytes:
            _prefetch_line(X, j, offset)
            offset += _CACHE_LINE


# ---------------------------------------------------------------------------------------------
# compressed-row gathers: out[i] = rowscale[i] * sum_{p in row i} data[p] * x[indices[p]]
# ---------------------------------------------------------------------------------------------


@njit(cache=True, parallel=True, nogil=True)
def gather_vec(indptr, indices, data, rowscale, x, out):
    """``out[i] = rowscale[i] * Σ_p data[p] x[indices[p]]`` over the rows of a compressed matrix."""
    for i in prange(out.shape[0]):
        acc = 0.0
        p = np.intp(indptr[i])
        stop = np.intp(indptr[i + 1])
        while p < stop:
            acc += data[p] * x[np.uintp(indices[p])]
            p += 1
        out[i] = rowscale[i] * acc


@njit(cache=True, parallel=True, nogil=True)
def gather_vec_pattern(indptr, indices, rowscale, x, out):
    """As :func:`gather_vec` for a 0/1 matrix: the values are not read at all."""
    for i in prange(out.shape[0]):
        acc = 0.0
        p = np.intp(indptr[i])
        stop = np.intp(indptr[i + 1])
        while p < stop:
            acc += x[np.uintp(indices[p])]
            p += 1
        out[i] = rowscale[i] * acc


@njit(cache=True, parallel=True, nogil=True)
def gather_mat(indptr, indices, data, rowscale, colscale, X, out, prefetch):
    """``out[i, :] = rowscale[i] * Σ_p data[p] colscale[j] X[j, :]`` with ``j = indices[p]``.

    ``X`` and ``out`` are C-contiguous, so each gathered row is one contiguous read and the
    inner loop over the columns vectorises.  With ``prefetch`` > 0 the row of ``X`` needed
    ``prefetch`` entries later is prefetched (the gathers are random: hardware prefetchers
    cannot predict them).
    """
    n_cols = out.shape[1]
    row_bytes = X.shape[1] * X.itemsize
    for i in prange(out.shape[0]):
        row = out[i]
        for c in range(n_cols):
            row[c] = 0.0
        p = np.intp(indptr[i])
        stop = np.intp(indptr[i + 1])
        while p < stop:
            if prefetch > 0:
                _prefetch_row(indices, p + prefetch, X, row_bytes)
            j = np.uintp(indices[p])
            h = data[p] * colscale[j]
            src = X[j]
            for c in range(n_cols):
                row[c] += h * src[c]
            p += 1
        s = rowscale[i]
        for c in range(n_cols):
            row[c] *= s


@njit(cache=True, parallel=True, nogil=True)
def gather_mat_pattern(indptr, indices, rowscale, colscale, X, out, prefetch):
    """As :func:`gather_mat` for a 0/1 matrix: the values are not read at all."""
    n_cols = out.shape[1]
    row_bytes = X.shape[1] * X.itemsize
    for i in prange(out.shape[0]):
        row = out[i]
        for c in range(n_cols):
            row[c] = 0.0
        p = np.intp(indptr[i])
        stop = np.intp(indptr[i + 1])
        while p < stop:
            if prefetch > 0:
                _prefetch_row(indices, p + prefetch, X, row_bytes)
            j = np.uintp(indices[p])
            h = colscale[j]
            src = X[j]
            for c in range(n_cols):
                row[c] += h * src[c]
            p += 1
        s = rowscale[i]
        for c in range(n_cols):
            row[c] *= s


# ---------------------------------------------------------------------------------------------
# vertex order for memory locality (computed once per incidence pattern, serial)
# ---------------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def locality_order(rptr, ridx, cptr, cidx, max_edge_size, part_size):
    """A vertex order made of breadth-first-grown parts of ``part_size`` vertices.

    Neighbours are vertices sharing a hyperedge of at most ``max_edge_size`` members (larger
    hyperedges would pull their random members into every part).  Each part grows by BFS from
    a seed; the vertices it discovered but did not take seed the next parts (most recently
    discovered last), so consecutive parts are adjacent.  Unreached vertices are taken in
    index order.  Deterministic and serial.
    """
    n = rptr.shape[0] - 1
    placed = np.zeros(n, np.bool_)
    queued = np.zeros(n, np.bool_)
    order = np.empty(n, np.intp)
    queue = np.empty(n, np.intp)
    carry = np.empty(n, np.intp)
    n_carry = 0
    n_placed = 0
    scan = 0
    while n_placed < n:
        seed = -1
        while n_carry > 0:
            n_carry -= 1
            if not placed[carry[n_carry]]:
                seed = carry[n_carry]
                break
        if seed < 0:
            while placed[scan]:
                scan += 1
            seed = scan
        head = 0
        tail = 1
        queue[0] = seed
        queued[seed] = True
        taken = 0
        while head < tail and taken < part_size:
            v = queue[head]
            head += 1
            placed[v] = True
            order[n_placed] = v
            n_placed += 1
            taken += 1
            for p in range(np.intp(rptr[v]), np.intp(rptr[v + 1])):
                e = np.intp(ridx[p])
                lo = np.intp(cptr[e])
                hi = np.intp(cptr[e + 1])
                if hi - lo > max_edge_size:
                    continue
                for q in range(lo, hi):
                    u = np.intp(cidx[q])
                    if not placed[u] and not queued[u]:
                        queued[u] = True
                        queue[tail] = u
                        tail += 1
        # leftover frontier: earliest discovered is popped first
        n_carry = 0
        for t in range(tail - 1, head - 1, -1):
            carry[n_carry] = queue[t]
            n_carry += 1
        for t in range(tail):
            queued[queue[t]] = False
    return order


# ---------------------------------------------------------------------------------------------
# per-hyperedge statistics for the weight update
# ---------------------------------------------------------------------------------------------


@njit(cache=True, parallel=True, nogil=True)
def edge_statistics(indptr, indices, data, colscale, edgescale, F, out, prefetch):
    """``out[e] = edgescale[e] * ‖Σ_{v∈e} data[p] colscale[v] F[v, :]‖²`` over CSC columns.

    With ``colscale = d^{-1/2}`` and ``edgescale = 1/δ`` this is ``‖γ_eᵀ F‖² / δ(e)``.
    """
    n_cols = F.shape[1]
    row_bytes = F.shape[1] * F.itemsize
    for e in prange(out.shape[0]):
        buf = np.zeros(n_cols, dtype=np.float64)
        p = np.intp(indptr[e])
        stop = np.intp(indptr[e + 1])
        while p < stop:
            if prefetch > 0:
                _prefetch_row(indices, p + prefetch, F, row_bytes)
            v = np.uintp(indices[p])
            h = data[p] * colscale[v]
            src = F[v]
            for c in range(n_cols):
                buf[c] += h * src[c]
            p += 1
        acc = 0.0
        for c in range(n_cols):
            acc += buf[c] * buf[c]
        out[e] = edgescale[e] * acc


# ---------------------------------------------------------------------------------------------
# k nearest neighbours: merge one block of (pseudo-)distances into running top-k lists
# ---------------------------------------------------------------------------------------------


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
    is float32 (the screening error bound in ``_construct.py`` assumes exactly this
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

"""Numba kernels of the hypergraph operators: gathers for Θ·x and Θ·X, the locality order,
per-hyperedge statistics.

Kernels only: every argument is a contiguous array of a fixed dtype, already validated by the
Python wrappers in ``_operators.py``.  All kernels compile lazily on first call (no signatures,
so importing this module compiles nothing) and are cached on disk.  The kNN kernels live in
``_knn_kernels.py``.

Every ``prange`` loop writes a disjoint slice of its output and computes each output entry in a
fixed serial order, so results are bitwise independent of the number of threads.

Loops over compressed rows use ``intp`` bounds and ``uintp`` gathered indices: indices are
non-negative (validated), and a signed index makes Numba emit negative-index wraparound code in
the innermost loop (slower; see benchmarks/TUNING.md).

The Θ product is done in two GATHER passes over a compressed incidence matrix (never a scatter):
pass 1 runs over the columns of H (its CSC form) and pass 2 over its rows (CSR form), both with
``out[i] = rowscale[i] * Σ_p data[p] * x[indices[p]]``.  Scatter-style kernels (writing
``y[v] += ...`` from edges) need atomics or per-thread copies, and were slower than SciPy.
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

#: Gathered rows are prefetched this many index entries ahead: the gathers are random, so
#: hardware prefetchers cannot predict them.  See benchmarks/TUNING.md.
PREFETCH_DISTANCE = 8
#: Prefetching pays only for rows longer than one cache line; callers enable it from this row
#: size.  See benchmarks/TUNING.md.
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

"""Vertex and hyperedge renumbering for memory locality of the Θ·X gathers.

A kNN hypergraph whose vertices come in random order makes every gathered row of ``X`` a cache
miss once ``n × k`` doubles exceed the cache.  :class:`LocalLayout` renumbers the incidence so
that vertices close in the hypergraph are close in memory; products on it are bitwise equal to
the plain ones.
"""

from __future__ import annotations

import weakref

import numpy as np

__all__ = ["LocalLayout", "local_layout", "pays_off"]

#: ``matmat`` runs on a locality-ordered copy of the incidence (see :class:`LocalLayout`)
#: when the gathered block ``X`` (n × k) takes at least ``LOCALITY_MIN_BYTES`` AND has at
#: least ``LOCALITY_MIN_VERTICES`` rows: below that it fits in cache and the two O(n k) copies
#: only cost.  See benchmarks/TUNING.md.
LOCALITY_MIN_BYTES = 2 * 2**20
LOCALITY_MIN_VERTICES = 50_000
#: Hyperedges with more members than this do not steer the ordering (their members are spread
#: over the whole hypergraph anyway); they are placed last.
LOCALITY_MAX_EDGE_SIZE = 64
#: Vertices per breadth-first-grown part of the ordering.
LOCALITY_PART_SIZE = 1024

# Layouts keyed by id() of the CSC ``indices`` array they were built from; entries are dropped
# when that (shared, read-only) array is freed, so hypergraphs from ``with_weights`` reuse one.
_LAYOUTS = {}


class LocalLayout:
    r"""The incidence with vertices and hyperedges renumbered for memory locality.

    Θ·X gathers rows of ``X`` (pass 1) and of ``Z`` (pass 2) at the positions listed in the
    incidence.  In a kNN hypergraph whose vertices come in random order those rows are spread
    over the whole n × k block, so for ``n k`` doubles far beyond the cache almost every gather
    is a miss.  Here vertices are renumbered by :func:`_kernels.locality_order` (parts of
    vertices close in the hypergraph) and hyperedges by their first member in that order, and
    ``matmat`` computes ``Y[π] = A_π (X[π])`` with the renumbered incidence ``A_π``.

    Each renumbered row / column keeps its entries in the ORIGINAL order (its indices are no
    longer sorted), so every output entry is the same floating-point sum in the same order:
    results are bitwise identical to the unpermuted product.

    The ordering is built once per incidence pattern (cached, shared by ``with_weights``
    hypergraphs) in O(nnz(H)), about the cost of two 16-column products; when it pays is
    decided by :data:`LOCALITY_MIN_BYTES` (evidence, and the alternatives tried: column
    blocking, RCM on the bipartite graph, in benchmarks/TUNING.md).
    """

    def __init__(self, csr, csc, binary):
        from . import _kernels

        n, m = csr.shape
        vorder = _kernels.locality_order(
            csr.indptr,
            csr.indices,
            csc.indptr,
            csc.indices,
            LOCALITY_MAX_EDGE_SIZE,
            LOCALITY_PART_SIZE,
        )
        vinv = np.empty(n, dtype=np.intp)
        vinv[vorder] = np.arange(n, dtype=np.intp)
        sizes = np.diff(csc.indptr)
        key = np.full(m, n, dtype=np.intp)  # empty and large hyperedges go last
        steer = (sizes > 0) & (sizes <= LOCALITY_MAX_EDGE_SIZE)
        nonempty = sizes > 0
        if csc.nnz:
            # strictly increasing starts of the non-empty columns: each segment is one column
            first = np.minimum.reduceat(
                vinv[csc.indices], np.asarray(csc.indptr[:-1], np.intp)[nonempty]
            )
            key[steer] = first[steer[nonempty]]
        eorder = np.argsort(key, kind="stable")
        einv = np.empty(m, dtype=np.intp)
        einv[eorder] = np.arange(m, dtype=np.intp)
        self.vorder = vorder
        self.eorder = eorder
        # a 0/1 incidence is never read by the kernels: its values are not copied
        self.csr = _renumber(csr, vorder, einv, values=not binary)
        self.csc = _renumber(csc, eorder, vinv, values=not binary)


def _renumber(M, order, index_map, *, values=True):
    """Compressed rows (or columns) ``order`` of ``M`` with indices mapped by ``index_map``;
    the entries of each row keep their order.  Returns ``(indptr, indices, data)`` (``data``
    is an empty array unless ``values``)."""
    sizes = np.diff(M.indptr)[order]
    indptr = np.zeros(order.size + 1, dtype=np.intp)
    np.cumsum(sizes, out=indptr[1:])
    source = np.repeat(np.asarray(M.indptr[:-1], np.intp)[order] - indptr[:-1], sizes)
    source += np.arange(indptr[-1], dtype=np.intp)
    idx_dtype = M.indices.dtype
    out = (
        indptr.astype(M.indptr.dtype),
        index_map[M.indices[source]].astype(idx_dtype),
        M.data[source] if values else M.data[:0].copy(),
    )
    for arr in out:
        arr.flags.writeable = False
    return out


def local_layout(csr, csc, binary):
    """The cached :class:`LocalLayout` of an incidence (built on first use)."""
    key = id(csc.indices)
    entry = _LAYOUTS.get(key)
    if entry is not None and entry[0]() is csc.indices and entry[1]() is csr.indices:
        return entry[2]
    layout = LocalLayout(csr, csc, binary)
    _LAYOUTS[key] = (weakref.ref(csc.indices), weakref.ref(csr.indices), layout)
    weakref.finalize(csc.indices, _LAYOUTS.pop, key, None)
    return layout


def pays_off(X):
    """Whether a product with the block ``X`` should run on the locality-ordered incidence."""
    return X.nbytes >= LOCALITY_MIN_BYTES and X.shape[0] >= LOCALITY_MIN_VERTICES

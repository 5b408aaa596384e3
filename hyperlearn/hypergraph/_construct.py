"""Construction of hypergraphs from edge lists, incidence and label matrices, NetworkX; hstack.

The kNN construction (:meth:`Hypergraph.from_knn`) lives in ``_knn.py``.
"""

from __future__ import annotations

import itertools

import numpy as np
import scipy.sparse as sp

from ..utils._validation import (
    check_choice,
    check_float_dtype,
    check_int,
    check_matrix,
    describe,
)

NETWORKX_KINDS = ("bipartite", "clique")

__all__ = [
    "from_edges",
    "from_incidence",
    "from_labels",
    "from_networkx",
    "hstack",
    "to_networkx",
]


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


def _merge_repeated_entries(M, name):
    """``M`` with each (row, column) stored once: a membership stated more than once counts
    once, so repeated entries of EQUAL value merge into one; repeated entries of different
    values are refused (SciPy would add them).  Dense input is returned as it is."""
    if not sp.issparse(M) or (M.format in ("csr", "csc") and M.has_canonical_format):
        return M
    coo = sp.coo_matrix(M)
    if coo.dtype.kind not in "biuf" or coo.nnz < 2:
        return M  # a wrong dtype is refused by check_matrix
    order = np.lexsort((coo.col, coo.row))
    row, col, val = coo.row[order], coo.col[order], coo.data[order]
    repeat = (row[1:] == row[:-1]) & (col[1:] == col[:-1])
    if not repeat.any():
        return M
    same = (val[1:] == val[:-1]) | (np.isnan(val[1:]) & np.isnan(val[:-1]))
    conflict = np.flatnonzero(repeat & ~same)
    if conflict.size:
        i = conflict[0]
        raise ValueError(
            f"{name} stores entry ({row[i]}, {col[i]}) more than once with different values "
            f"({val[i]} and {val[i + 1]}): expected each (vertex, hyperedge) entry once, or "
            f"repeated with the same value (it then counts once). To add repeated entries, call "
            f"{name}.sum_duplicates() first."
        )
    keep = np.ones(row.size, dtype=bool)
    keep[1:] = ~repeat
    return sp.coo_matrix((val[keep], (row[keep], col[keep])), shape=coo.shape)


def from_incidence(cls, H, *, weights, dtype, allow_empty_edges):
    """See :meth:`Hypergraph.from_incidence`."""
    if H is None:
        raise TypeError("H is None: expected an incidence matrix (array-like or sparse).")
    H = _merge_repeated_entries(H, "H")
    H = check_matrix(H, "H", dtype=dtype, accept_sparse=True, nonnegative=True, min_cols=0)
    csc = _canonical_csc(H)
    if not allow_empty_edges:
        _reject_empty(np.diff(csc.indptr), "H")
    return cls._from_canonical(csc, weights, dtype=csc.dtype.type)


def from_labels(cls, Y, *, weights, dtype, allow_empty_edges):
    """See :meth:`Hypergraph.from_labels`."""
    if Y is None:
        raise TypeError("Y is None: expected a 0/1 label matrix (array-like or sparse).")
    Y = _merge_repeated_entries(Y, "Y")
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
    if not allow_empty_edges:
        _reject_empty(np.diff(csc.indptr), "Y")
    return cls._from_canonical(csc, weights, dtype=csc.dtype.type)


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

    check_choice(kind, "kind", NETWORKX_KINDS)
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

r"""Mode B: a vertex-partitioned hypergraph on Dask workers and its product ``Θ·X``.

The vertices, in an order that keeps hyperedges together (reverse Cuthill–McKee on the
vertex–hyperedge incidence graph), are cut into ``P`` contiguous blocks of nearly equal
incidence nonzeros.  Block ``p`` holds its rows of ``H`` restricted to the hyperedges they
touch, ``cols_p``, with local column numbers; each hyperedge is *owned* by the block of its
first member.  ``Θ X = a ⊙ H (s ⊙ Hᵀ (b ⊙ X))`` (``a = b = d^{-1/2}``, ``s = w/δ``) then runs
in two stages:

1. block ``p``: ``U_p = H_pᵀ (b_p ⊙ X_p)`` on its columns; the rows of ``U_p`` of hyperedges
   owned by block ``q`` go to ``q``, which sums them: ``Z_q = s_q ⊙ Σ_p U_p[owned by q]``;
2. owner ``q`` sends back to each block ``p`` only the rows of ``Z_q`` that ``p`` uses, and
   block ``p`` forms ``Y_p = a_p ⊙ H_p Z[cols_p]``.

So each hyperedge shared by ``k`` blocks moves ``k − 1`` rows each way: a product with ``s``
columns moves :math:`2(\sum_p |cols_p| − m)\, s \cdot 8` bytes (``m`` non-empty hyperedges),
and nothing of size ``n`` or ``m × s`` is ever gathered in one place.  The blocks are placed
once (tasks pinned to their workers) and only the n + m scale factors travel when the
weights change.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..utils._validation import check_choice, check_int, check_real, describe
from ._cluster import DEFAULT_TIMEOUT, check_client, worker_addresses
from ._rowblocks import RowBlocks, RowLayout, submit_data, wait_for

__all__ = ["DistributedHypergraph", "incoming_transfer_bytes", "locality_order"]

ORDERINGS = ("rcm", "none")


def locality_order(hypergraph):
    """A vertex order keeping hyperedges together: reverse Cuthill–McKee on the incidence graph.

    The bipartite graph with ``n + m`` nodes (vertices and hyperedges, joined by incidence)
    is ordered by RCM in ``O(nnz log)`` and the vertices are read off in that order, so the
    members of a hyperedge — neighbours of one node — receive nearby positions.

    Returns
    -------
    ndarray of shape (n_vertices,), int64
        ``order[i]`` is the vertex placed at position ``i``.
    """
    from scipy.sparse.csgraph import reverse_cuthill_mckee

    n, m = hypergraph.n_vertices, hypergraph.n_edges
    H = hypergraph.incidence
    pattern = sp.csr_matrix((np.ones(H.nnz), H.indices.copy(), H.indptr.copy()), shape=H.shape)
    graph = sp.bmat([[None, pattern], [pattern.T, None]], format="csr")
    graph = graph + sp.csr_matrix((n + m, n + m))  # bmat leaves a sparse shape if H is empty
    order = reverse_cuthill_mckee(graph.tocsr(), symmetric_mode=True)
    return order[order < n].astype(np.int64)


def _block_bounds(row_nnz, n_blocks):
    """Boundaries of ``n_blocks`` contiguous blocks of nearly equal nonzeros, none empty."""
    n = row_nnz.size
    cumulative = np.concatenate(([0], np.cumsum(row_nnz + 1)))  # +1: rows count too
    targets = cumulative[-1] * np.arange(1, n_blocks) / n_blocks
    inner = np.searchsorted(cumulative, targets)
    # strictly increasing and leaving at least one row per block
    inner = np.clip(inner, np.arange(1, n_blocks), n - n_blocks + np.arange(1, n_blocks))
    inner = np.maximum.accumulate(inner)
    for i in range(1, inner.size):
        inner[i] = max(inner[i], inner[i - 1] + 1)
    return np.concatenate(([0], inner, [n])).astype(np.int64)


def _static_blocks(H, bounds):
    """Per block: local incidence, columns used, and the index maps of the two stages."""
    n_blocks = bounds.size - 1
    csc = H.tocsc()
    sizes = np.diff(csc.indptr)
    first = np.full(H.shape[1], -1, dtype=np.int64)
    first[sizes > 0] = csc.indices[csc.indptr[:-1][sizes > 0]]  # sorted: the first member
    owner = np.where(first >= 0, np.searchsorted(bounds, first, side="right") - 1, -1)
    owned = [np.flatnonzero(owner == q) for q in range(n_blocks)]
    blocks, cols = [], []
    for p in range(n_blocks):
        rows = H[bounds[p] : bounds[p + 1]]
        used = np.unique(rows.indices)
        cols.append(used)
        local = sp.csr_matrix(rows[:, used])
        blocks.append({"H": local, "HT": sp.csr_matrix(local.T), "send": {}, "own_recv": {}})
    for p in range(n_blocks):
        edge_owner = owner[cols[p]]
        for q in np.unique(edge_owner):
            positions = np.flatnonzero(edge_owner == q)  # positions in cols_p, in edge order
            blocks[p]["send"][int(q)] = positions
            blocks[q]["own_recv"][p] = np.searchsorted(owned[q], cols[p][positions])
    return blocks, cols, owned


def _scales_task(a, s):
    return a, s


def _stage1(static, scales, X, field, q_list):
    """``U_p = H_pᵀ (b_p ⊙ X_p)`` cut into the pieces owned by each block ``q``."""
    X = X if field is None else X[field]
    U = static["HT"] @ (scales[0][:, None] * X)
    return {q: U[static["send"][q]] for q in q_list}


def _pick(pieces, q):
    return pieces[q]


def _reduce(static, scales, q, n_cols, *contributions):
    """Owner ``q``: ``Z_q = s_q ⊙ Σ_p`` (the rows of ``U_p`` it owns), summed in block order."""
    s = scales[1]
    Z = np.zeros((s.size, n_cols))
    for p, piece in contributions:
        piece = piece[q] if isinstance(piece, dict) else piece
        Z[static["own_recv"][p]] += piece
    Z *= s[:, None]
    return Z


def _rows_for(static, Z, p):
    """Owner side: the rows of ``Z_q`` block ``p`` uses."""
    return Z[static["own_recv"][p]]


def _stage2(static, scales, X, field, p, n_cols, coef, add, *contributions):
    """``Y_p = add · X_p + coef · a_p ⊙ H_p Z[cols_p]`` from the owners' rows."""
    H = static["H"]
    gathered = np.empty((H.shape[1], n_cols))
    for q, rows in contributions:
        if q == p:  # the block's own Z_p, whole
            rows = rows[static["own_recv"][p]]
        gathered[static["send"][q]] = rows
    Y = H @ gathered
    Y *= (coef * scales[0])[:, None]
    if add != 0.0:
        X = X if field is None else X[field]
        Y += add * X
    return Y


class DistributedHypergraph:
    """A hypergraph cut into vertex blocks owned by Dask workers, with ``Θ·X`` on them.

    Parameters
    ----------
    hypergraph : Hypergraph
        Built on the client; its blocks are sent to the workers once.
    client : distributed.Client
        A running client (``hyperlearn.distributed.managed_client()`` gives a local one).
    n_blocks : int, optional
        Vertex blocks (default: one per worker); block ``p`` lives on worker ``p mod W``.
    ordering : {"rcm", "none"}, default="rcm"
        Vertex order before cutting: :func:`locality_order` or the given order.  The order
        decides the traffic: each hyperedge moves one row per extra block it touches.
    timeout : float, default=600
        Seconds any wait for workers may take before ``TimeoutError``.

    Attributes
    ----------
    layout : RowLayout
        The row blocks (positions in ``order``) and their workers.
    order : ndarray of shape (n_vertices,)
        ``order[i]`` is the vertex at position ``i``; :meth:`to_blocks` and
        :meth:`from_blocks` translate.
    shared_rows : int
        ``Σ_p |cols_p| − m`` (m non-empty hyperedges): rows of ``Z`` moved each way.

    Examples
    --------
    >>> import numpy as np
    >>> from hyperlearn import Hypergraph
    >>> from hyperlearn.distributed import DistributedHypergraph, managed_client
    >>> hg = Hypergraph.from_edges([[0, 1, 2], [2, 3], [3, 4, 5], [5, 0], [1, 4]])
    >>> X = np.arange(12.0).reshape(6, 2)
    >>> with managed_client() as client:
    ...     dhg = DistributedHypergraph(hg, client)
    ...     Y = dhg.from_blocks(dhg.matmat(dhg.to_blocks(X)))
    >>> bool(np.allclose(Y, hg.normalized_adjacency() @ X))
    True
    """

    def __init__(self, hypergraph, client, *, n_blocks=None, ordering="rcm", timeout=None):
        from ..hypergraph import Hypergraph

        if not isinstance(hypergraph, Hypergraph):
            raise TypeError(
                f"hypergraph={describe(hypergraph)} is not valid: expected a Hypergraph."
            )
        self.client = check_client(client)
        check_choice(ordering, "ordering", ORDERINGS)
        workers = worker_addresses(client)
        n = hypergraph.n_vertices
        n_blocks = len(workers) if n_blocks is None else check_int(n_blocks, "n_blocks", low=1)
        if n_blocks > n:
            raise ValueError(
                f"n_blocks={n_blocks} is out of range: expected at most {n} (vertices)."
            )
        self.timeout = (
            DEFAULT_TIMEOUT
            if timeout is None
            else check_real(timeout, "timeout", low=0, low_open=True)
        )
        self.hypergraph = hypergraph.astype(np.float64)
        self.order = locality_order(hypergraph) if ordering == "rcm" else np.arange(n)
        H = sp.csr_matrix(self.hypergraph.incidence[self.order])
        bounds = _block_bounds(np.diff(H.indptr), n_blocks)
        self.layout = RowLayout(bounds, [workers[p % len(workers)] for p in range(n_blocks)])
        static, self._cols, self._owned = _static_blocks(H, bounds)
        self._pairs = [sorted(b["send"]) for b in static]  # owners each block sends to
        self._static = [
            submit_data(client, b, self.layout.workers[p]) for p, b in enumerate(static)
        ]
        self.shared_rows = int(sum(c.size for c in self._cols) - sum(o.size for o in self._owned))
        self._scales = self._place_scales(self.hypergraph)

    # -- placement -----------------------------------------------------------------------------

    def _submit(self, p, func, *args):
        return self.client.submit(
            func, *args, workers=[self.layout.workers[p]], allow_other_workers=True, pure=False
        )

    def _place_scales(self, hg):
        """``a = d^{-1/2}`` per block's rows and ``s = w/δ`` per block's owned hyperedges."""
        d = np.asarray(hg.vertex_degrees, dtype=np.float64)[self.order]
        delta = np.asarray(hg.edge_degrees, dtype=np.float64)
        w = np.asarray(hg.weights, dtype=np.float64)
        a = np.divide(1.0, np.sqrt(d), out=np.zeros_like(d), where=d > 0)
        s = np.divide(w, delta, out=np.zeros_like(w), where=delta > 0)
        return [
            self._submit(p, _scales_task, a[self.layout.rows(p)], s[self._owned[p]])
            for p in range(self.layout.n_blocks)
        ]

    def with_weights(self, weights):
        """The same blocks with other hyperedge weights: only ``n + m`` scale factors travel."""
        new = object.__new__(DistributedHypergraph)
        new.__dict__.update(self.__dict__)
        new.hypergraph = self.hypergraph.with_weights(weights)
        new._scales = new._place_scales(new.hypergraph)
        return new

    @property
    def n_vertices(self):
        return self.hypergraph.n_vertices

    @property
    def shape(self):
        return (self.n_vertices, self.n_vertices)

    def __repr__(self):
        return (
            f"DistributedHypergraph(n_vertices={self.n_vertices}, "
            f"n_edges={self.hypergraph.n_edges}, n_blocks={self.layout.n_blocks})"
        )

    def model_bytes(self, n_cols, itemsize=8):
        """Bytes one product with ``n_cols`` columns moves: ``2 (Σ_p |cols_p| − m) s · 8``."""
        return 2 * self.shared_rows * int(n_cols) * itemsize

    # -- data in and out -----------------------------------------------------------------------

    def to_blocks(self, X):
        """Rows of ``X`` (vertex order) placed on the blocks (position order)."""
        X = np.asarray(X)
        if X.shape[0] != self.n_vertices:
            raise ValueError(
                f"X has {X.shape[0]} rows: expected {self.n_vertices} (one per vertex)."
            )
        return RowBlocks.from_array(self.client, X[self.order], self.layout)

    def from_blocks(self, blocks):
        """A RowBlocks on this layout gathered back into vertex order."""
        self.layout.check_same(getattr(blocks, "layout", None), "blocks")
        Y = blocks.gather(timeout=self.timeout)
        out = np.empty_like(Y)
        out[self.order] = Y
        return out

    # -- the product ---------------------------------------------------------------------------

    def matmat(self, X, *, coef=1.0, add=0.0):
        """``add · X + coef · Θ X`` for row blocks ``X`` on this layout (a new RowBlocks).

        One fixed-size graph of tasks: P first-stage tasks, one piece per shared
        (block, owner) pair, P owner reductions, one piece back per pair, P second-stage
        tasks.  ``coef=-α, add=1`` gives ``(I − αΘ) X``.

        Raises
        ------
        ValueError
            ``X`` partitioned differently from this hypergraph.
        """
        if not isinstance(X, RowBlocks):
            raise TypeError(f"X={describe(X)} is not valid: expected a RowBlocks.")
        self.layout.check_same(X.layout, "X")
        n_blocks = self.layout.n_blocks
        stage1 = [
            self._submit(
                p, _stage1, self._static[p], self._scales[p], X.futures[p], X.field, self._pairs[p]
            )
            for p in range(n_blocks)
        ]
        incoming = [[] for _ in range(n_blocks)]
        for p in range(n_blocks):
            for q in self._pairs[p]:
                piece = stage1[p] if q == p else self._submit(p, _pick, stage1[p], q)
                incoming[q].append((p, piece))
        Z = [
            self._submit(q, _reduce, self._static[q], self._scales[q], q, X.n_cols, *incoming[q])
            for q in range(n_blocks)
        ]
        back = [[] for _ in range(n_blocks)]
        for p in range(n_blocks):
            for q in self._pairs[p]:
                rows = Z[q] if q == p else self._submit(q, _rows_for, self._static[q], Z[q], p)
                back[p].append((q, rows))
        futures = [
            self._submit(
                p,
                _stage2,
                self._static[p],
                self._scales[p],
                X.futures[p],
                X.field,
                p,
                X.n_cols,
                float(coef),
                float(add),
                *back[p],
            )
            for p in range(n_blocks)
        ]
        return RowBlocks(self.client, futures, self.layout, X.n_cols)

    def wait(self):
        """Block until the placed blocks exist (raises the workers' errors, or TimeoutError)."""
        wait_for(self.client, self._static + self._scales, self.timeout)
        return self


def _reset_log(dask_worker):
    dask_worker.transfer_incoming_log.clear()


def _log_total(dask_worker):
    return int(sum(entry["total"] for entry in dask_worker.transfer_incoming_log))


def incoming_transfer_bytes(client, reset=False):
    """Bytes the workers received from other workers since the last reset (their own logs).

    ``reset=True`` clears the logs and returns 0.  The counts are Dask's sizes of the data
    moved (``nbytes`` of arrays), recorded by each worker for every transfer it made.
    """
    if reset:
        client.run(_reset_log)
        return 0
    return int(sum(client.run(_log_total).values()))

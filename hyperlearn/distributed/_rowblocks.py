"""Row-partitioned tall blocks on Dask workers: the vectors of the distributed solvers.

A :class:`RowBlocks` is an ``n × s`` array cut by rows into blocks, block ``p`` held by worker
``layout.workers[p]`` as a future.  It offers what block Krylov methods need — linear
combinations with small coefficient matrices (axpy, ``X @ C``), column dots and Gram matrices
(all-reduces) — each as one task per block on the block's worker, so only the small results
(``s`` numbers, ``s × s`` matrices) ever leave a worker.  Reductions come back to the client
(``gram``, ``column_dots``) or stay a future for the next task (``column_dots_future``) when
an iteration must run without waiting for the client.
"""

from __future__ import annotations

import numpy as np

from ..utils._validation import check_int, check_matrix, describe

__all__ = ["RowBlocks", "RowLayout", "even_layout", "submit_data", "wait_for"]


def submit_data(client, data, worker):
    """A future of ``data`` produced by a task pinned (loosely) to ``worker``.

    The data travel inside the task rather than by ``client.scatter``: a block whose worker
    dies is then rebuilt by the scheduler from the task, where scattered data would be lost.
    Dask warns about large graphs for such tasks; here the size is the point, so the warning
    is silenced for this call only.
    """
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sending large graph", category=UserWarning)
        return client.submit(
            _identity, data, workers=[worker], allow_other_workers=True, pure=False
        )


def wait_for(client, futures, timeout):
    """Gather ``futures`` or raise ``TimeoutError`` / a clear error (never hang).

    Raises
    ------
    TimeoutError
        Not all results back within ``timeout`` seconds.
    RuntimeError
        A task failed because its worker died too often or its input data were lost (the
        scheduler's ``KilledWorker`` / lost-data errors, chained).
    """
    from distributed import wait

    wait(futures, timeout=timeout)
    try:
        return client.gather(futures)
    except Exception as exc:
        name = type(exc).__name__
        if name in (
            "KilledWorker",
            "FutureCancelledError",
            "CancelledError",
            "FuturesCancelledError",
        ):
            raise RuntimeError(
                f"a distributed computation was lost ({name}: {exc}); a worker died and its "
                "results could not be recomputed. Rebuild the distributed objects and retry."
            ) from exc
        raise


class RowLayout:
    """Where the rows live: block ``p`` holds rows ``offsets[p]:offsets[p+1]`` on ``workers[p]``.

    Parameters
    ----------
    offsets : sequence of int
        Non-decreasing, starting at 0; ``len(offsets) - 1`` blocks, ``offsets[-1]`` rows.
    workers : sequence of str
        One worker address per block.
    """

    def __init__(self, offsets, workers):
        offsets = np.asarray(offsets, dtype=np.int64)
        if offsets.ndim != 1 or offsets.size < 2 or offsets[0] != 0 or np.any(np.diff(offsets) < 1):
            raise ValueError(
                f"offsets={describe(offsets)} is not valid: expected strictly increasing "
                "block boundaries starting at 0 (every block non-empty)."
            )
        if len(workers) != offsets.size - 1:
            raise ValueError(
                f"workers has {len(workers)} entries: expected {offsets.size - 1} (one per block)."
            )
        self.offsets = offsets
        self.workers = tuple(workers)

    @property
    def n_rows(self):
        return int(self.offsets[-1])

    @property
    def n_blocks(self):
        return self.offsets.size - 1

    def rows(self, p):
        """The slice of block ``p``'s rows."""
        return slice(int(self.offsets[p]), int(self.offsets[p + 1]))

    def __eq__(self, other):
        return (
            isinstance(other, RowLayout)
            and np.array_equal(self.offsets, other.offsets)
            and self.workers == other.workers
        )

    def __hash__(self):
        return hash((tuple(self.offsets.tolist()), self.workers))

    def __repr__(self):
        return f"RowLayout(n_rows={self.n_rows}, n_blocks={self.n_blocks})"

    def check_same(self, other, what):
        """Raise ``ValueError`` unless ``other`` is this layout (same rows, same workers)."""
        if self != other:
            raise ValueError(
                f"{what} is partitioned as {other!r} with blocks "
                f"{np.diff(other.offsets).tolist()}: expected the partition {self!r} with "
                f"blocks {np.diff(self.offsets).tolist()} on the same workers."
            )


# -- functions that run on the workers ---------------------------------------------------------


def _identity(x):
    return x


def _field(obj, field):
    return obj if field is None else obj[field]


def _lincomb_block(coefs, *blocks_and_fields):
    """``Σ_i Xᵢ ⊙/@ cᵢ`` for one block; ``cᵢ`` a scalar, an (s,) row scale or an (s, k) matrix."""
    out = None
    for (block, field), c in zip(blocks_and_fields, coefs, strict=True):
        X = _field(block, field)
        term = X @ c if np.ndim(c) == 2 else X * c
        out = term if out is None else out + term
    return out


def _dots_block(X, fx, Y, fy):
    return np.einsum("ij,ij->j", _field(X, fx), _field(Y, fy))


def _gram_block(X, fx, Y, fy):
    return _field(X, fx).T @ _field(Y, fy)


def _sum_parts(parts):
    """Sum in block order (a fixed order: the result does not depend on task timing)."""
    total = np.array(parts[0], copy=True)
    for part in parts[1:]:
        total += part
    return total


class RowBlocks:
    """An ``n × s`` array split by rows into blocks held on Dask workers.

    Build one with :meth:`from_array` (or get one from a distributed operator or solver);
    :meth:`gather` brings it back as one ndarray.

    Parameters
    ----------
    client : distributed.Client
    futures : list of distributed.Future
        One per block of ``layout``; each resolves to an array of the block's rows
        (or, with ``field``, to a tuple whose entry ``field`` is that array).
    layout : RowLayout
    n_cols : int
    field : int or None, default=None
        Internal: selects one array of tuple-valued blocks (the solvers' state).

    Examples
    --------
    >>> import numpy as np
    >>> from hyperlearn.distributed import RowBlocks, RowLayout, managed_client
    >>> X = np.arange(12.0).reshape(6, 2)
    >>> with managed_client() as client:
    ...     workers = sorted(client.scheduler_info()["workers"])
    ...     layout = RowLayout([0, 3, 6], [workers[0], workers[-1]])
    ...     blocks = RowBlocks.from_array(client, X, layout)
    ...     G = blocks.gram(blocks)
    ...     Y = blocks.lincomb([(blocks, 2.0)]).gather()
    >>> bool(np.allclose(G, X.T @ X)), bool(np.array_equal(Y, 2 * X))
    (True, True)
    """

    def __init__(self, client, futures, layout, n_cols, field=None):
        if len(futures) != layout.n_blocks:
            raise ValueError(
                f"futures has {len(futures)} entries: expected {layout.n_blocks} (one per block)."
            )
        self.client = client
        self.futures = list(futures)
        self.layout = layout
        self.n_cols = int(n_cols)
        self.field = field

    @classmethod
    def from_array(cls, client, X, layout):
        """Place the rows of ``X`` (n × s, or (n,) as one column) on the layout's workers.

        Each block is the output of a task that holds its rows, so a block lost with its
        worker is rebuilt by the scheduler rather than lost.
        """
        X = np.asarray(X)
        if X.ndim == 1:
            X = X[:, None]
        X = check_matrix(X, "X")
        if X.shape[0] != layout.n_rows:
            raise ValueError(
                f"X has {X.shape[0]} rows: expected {layout.n_rows}, the rows of the layout."
            )
        futures = [
            submit_data(client, np.ascontiguousarray(X[layout.rows(p)]), w)
            for p, w in enumerate(layout.workers)
        ]
        return cls(client, futures, layout, X.shape[1])

    @property
    def shape(self):
        return (self.layout.n_rows, self.n_cols)

    def __repr__(self):
        return f"RowBlocks(shape={self.shape}, n_blocks={self.layout.n_blocks})"

    def select(self, field):
        """The array ``field`` of tuple-valued blocks, as a RowBlocks (no task)."""
        return RowBlocks(self.client, self.futures, self.layout, self.n_cols, field)

    def _check(self, other, name):
        if not isinstance(other, RowBlocks):
            raise TypeError(f"{name}={describe(other)} is not valid: expected a RowBlocks.")
        self.layout.check_same(other.layout, name)

    def _submit(self, p, func, *args):
        return self.client.submit(
            func, *args, workers=[self.layout.workers[p]], allow_other_workers=True, pure=False
        )

    def map_blocks(self, func, *args, n_cols=None):
        """``func(block, field, *args)`` on each block's worker; a RowBlocks of the results."""
        futures = [self._submit(p, func, f, self.field, *args) for p, f in enumerate(self.futures)]
        return RowBlocks(
            self.client, futures, self.layout, self.n_cols if n_cols is None else n_cols
        )

    def lincomb(self, terms):
        """``Σ Xᵢ cᵢ`` over ``terms = [(Xᵢ, cᵢ), ...]`` blockwise (each Xᵢ on ``self``'s layout).

        ``cᵢ`` is a scalar, an (s,) vector scaling the columns, or an (s, k) matrix
        (``Xᵢ @ cᵢ``), or a future of one (computed on a worker, e.g. a CG step length).
        """
        for i, (X, _) in enumerate(terms):
            self._check(X, f"terms[{i}]")
        coefs = [c for _, c in terms]
        first = terms[0][1]
        n_cols = np.shape(first)[1] if np.ndim(first) == 2 else terms[0][0].n_cols
        futures = []
        for p in range(self.layout.n_blocks):
            pairs = [(X.futures[p], X.field) for X, _ in terms]
            futures.append(self._submit(p, _lincomb_block, coefs, *pairs))
        return RowBlocks(self.client, futures, self.layout, n_cols)

    def column_dots_parts(self, other):
        """Futures of each block's ``Σ_i X[i, j] Y[i, j]`` (s,) partial sums."""
        self._check(other, "other")
        return [
            self._submit(p, _dots_block, fx, self.field, fy, other.field)
            for p, (fx, fy) in enumerate(zip(self.futures, other.futures, strict=True))
        ]

    def column_dots_future(self, other):
        """``Σ_i X[i, j] Y[i, j]`` as a future (summed on the first block's worker)."""
        return self._submit(0, _sum_parts, self.column_dots_parts(other))

    def column_dots(self, other, timeout=None):
        """``Σ_i X[i, j] Y[i, j]`` for each column ``j``, on the client (float64 sums)."""
        return _sum_parts(wait_for(self.client, self.column_dots_parts(other), timeout))

    def gram(self, other, timeout=None):
        """``Xᵀ Y`` (s × t): each worker its block's product, summed on the client in order."""
        self._check(other, "other")
        parts = [
            self._submit(p, _gram_block, fx, self.field, fy, other.field)
            for p, (fx, fy) in enumerate(zip(self.futures, other.futures, strict=True))
        ]
        return _sum_parts(wait_for(self.client, parts, timeout))

    def gather(self, timeout=None):
        """The whole array on the client (n × s)."""
        if self.field is None:
            blocks = wait_for(self.client, self.futures, timeout)
        else:
            blocks = [b[self.field] for b in wait_for(self.client, self.futures, timeout)]
        return np.vstack(blocks)


def even_layout(n_rows, workers, n_blocks=None):
    """``n_blocks`` (default one per worker) nearly equal row blocks, dealt to the workers."""
    n_blocks = len(workers) if n_blocks is None else check_int(n_blocks, "n_blocks", low=1)
    if n_blocks > n_rows:
        raise ValueError(f"n_blocks={n_blocks} is out of range: expected at most {n_rows} (rows).")
    bounds = np.linspace(0, n_rows, n_blocks + 1).round().astype(np.int64)
    return RowLayout(bounds, [workers[p % len(workers)] for p in range(n_blocks)])

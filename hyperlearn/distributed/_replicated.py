"""Mode A: the hypergraph replicated on every worker, the tag columns split across workers.

The f-step ``(I − αΘ) F = (1 − α) Y`` has one independent system per tag column (lockstep CG)
or per chunk of columns (block CG).  With the incidence broadcast once to every worker, each
worker solves its share of the columns with :func:`hyperlearn.linalg.block_cg` on the same
operator the local solve uses, so no communication happens inside CG and the result is bitwise
the local one.  The w-step's edge statistics ``c_e = Σ_j (γ_eᵀ F_j)² / δ(e)`` are sums over the
columns: each worker sums its own columns and the client adds the per-worker m-vectors.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..linalg._cg import BLOCK_CG_METHODS as METHODS
from ..linalg._cg import _choose_method
from ..linalg._cg_block import DEFAULT_BLOCK_SIZE
from ..linalg._cg_lockstep import DEFAULT_BATCHED_WIDTH
from ..utils._validation import check_choice, check_int, check_matrix, check_real, describe
from ._cluster import DEFAULT_TIMEOUT, check_client, managed_client, worker_addresses

__all__ = ["DaskBackend", "edge_statistics_replicated", "solve_replicated"]


def _resolve_method(n, s, method, block_size):
    """``block_cg``'s method for ``method="auto"`` (its own rule) and the width it iterates at once.

    Column by column and lockstep CG both iterate each column on its own, so they split alike.
    """
    if method == "auto":
        method = _choose_method(n, s, block_size)
    if method in ("batched", "columns"):
        return "batched", DEFAULT_BATCHED_WIDTH if block_size is None else block_size
    return method, max(1, min(s, DEFAULT_BLOCK_SIZE)) if block_size is None else block_size


def _column_groups(B, X0, rtol, atol, method, width, n_groups):
    """Column index groups, one task each, that reproduce the local solve bit for bit.

    Lockstep CG iterates each column on its own (only the product is shared), so any split
    is exact.  Block CG couples the columns of a chunk: the groups are then block_cg's own
    chunks — consecutive, balanced, of the columns not converged at the start — which are
    known without a product only for a zero initial guess; with a warm start the columns
    stay in one group.
    """
    s = B.shape[1]
    if method == "batched":
        return [g for g in np.array_split(np.arange(s), min(n_groups, s)) if g.size]
    if X0 is not None and np.any(X0):
        return [np.arange(s)]
    bnorm = np.linalg.norm(B, axis=0)
    waiting = np.flatnonzero(bnorm > np.maximum(rtol * bnorm, atol))
    if waiting.size == 0:
        return [np.arange(s)]
    return list(np.array_split(waiting, -(-waiting.size // width)))


def _operator(hypergraph, weights, alpha):
    """``I − αΘ`` exactly as the local f-step builds it (same scalings, same kernels)."""
    from ..linalg._shifted import ShiftedOperator

    hg = hypergraph if weights is None else hypergraph.with_weights(weights)
    return ShiftedOperator(hg.normalized_adjacency(), alpha)


def _solve_task(hypergraph, weights, alpha, B, X0, options):
    """Runs on a worker: ``block_cg`` on one group of columns; returns ``(X, its, info)``."""
    from ..linalg import block_cg

    history = []
    X, info = block_cg(_operator(hypergraph, weights, alpha), B, X0, residuals=history, **options)
    return X, max(len(history) - 1, 0), int(info)


def _statistics_task(hypergraph, weights, F):
    """Runs on a worker: the edge statistics of one group of columns (float64)."""
    hg = hypergraph if weights is None else hypergraph.with_weights(weights)
    return np.asarray(hg.edge_statistics(F), dtype=np.float64)


def _combine_info(infos, iterations, all_converged):
    """One ``info`` for the whole solve, with :func:`~hyperlearn.linalg.block_cg`'s codes."""
    broken = [i for i in infos if i < 0]
    if broken:
        return broken[0]
    return 0 if all_converged else max(int(sum(iterations)), 1)


class _Replica:
    """A hypergraph's incidence broadcast to every worker (weights travel per call)."""

    def __init__(self, client, hypergraph):
        self.hypergraph = hypergraph
        self.future = client.scatter(hypergraph, broadcast=True, hash=False)

    def holds(self, hypergraph):
        """Whether ``hypergraph`` has this replica's incidence (``with_weights`` shares it)."""
        return (
            hypergraph.incidence is self.hypergraph.incidence
            and hypergraph.dtype == self.hypergraph.dtype
        )

    def weights_for(self, hypergraph):
        """``None`` when the replica's own weights apply, else the weights to send."""
        if hypergraph.weights is self.hypergraph.weights or np.array_equal(
            hypergraph.weights, self.hypergraph.weights
        ):
            return None
        return np.asarray(hypergraph.weights)


class DaskBackend:
    """Mode A on a Dask cluster: the f- and w-step computations of the tagger, distributed.

    The hypergraph is broadcast to every worker once (again only when its incidence changes:
    re-weighted hypergraphs from ``with_weights`` share it, and only the m weights travel);
    each solve splits the tag columns into one task per worker (``tasks_per_worker`` each).

    Parameters
    ----------
    client : distributed.Client or None, default=None
        The cluster to run on.  ``None`` starts a ``LocalCluster`` (``n_workers`` workers,
        one thread each, ``processes``) that :meth:`close` (or the end of a ``with`` block)
        shuts down; a user's client is never closed here.
    n_workers : int, default=2
        Workers of the local cluster (``client=None`` only).
    processes : bool, default=False
        Worker processes for the local cluster; they need the script's entry point under
        ``if __name__ == "__main__":`` (see :func:`managed_client`).
    tasks_per_worker : int, default=1
        Column groups per worker for lockstep CG (more groups balance unequal columns).
    timeout : float, default=600
        Seconds a solve may wait for its results before raising ``TimeoutError`` (a hung
        cluster is reported, never waited for forever).

    Notes
    -----
    The tagger's hook: ``F, iterations, info = backend.solve(hg, rhs, alpha, F0, rtol=rtol)``
    in place of the local f-step, and ``c = backend.edge_statistics(hg, F)`` in place of
    ``hg.edge_statistics(F)``.  The solve equals the local ``block_cg`` bit for bit (see
    :func:`solve_replicated`); the statistics equal the local ones to rounding (sums over
    column groups added in a fixed order).

    Examples
    --------
    >>> import numpy as np
    >>> from hyperlearn import Hypergraph
    >>> from hyperlearn.distributed import DaskBackend
    >>> hg = Hypergraph.from_edges([[0, 1, 2], [2, 3], [3, 4, 5], [5, 0]])
    >>> B = np.eye(6)[:, :3]
    >>> with DaskBackend() as backend:
    ...     F, iterations, info = backend.solve(hg, B, 0.9, rtol=1e-10)
    >>> info
    0
    """

    def __init__(
        self, client=None, *, n_workers=2, processes=False, tasks_per_worker=1, timeout=None
    ):
        self.tasks_per_worker = check_int(tasks_per_worker, "tasks_per_worker", low=1)
        self.timeout = (
            DEFAULT_TIMEOUT
            if timeout is None
            else check_real(timeout, "timeout", low=0, low_open=True)
        )
        self._context = managed_client(client, n_workers=n_workers, processes=processes)
        self.client = self._context.__enter__()
        self._replica = None
        self._last = None  # (F, groups, futures of the column groups) of the last solve

    # -- lifetime ------------------------------------------------------------------------------

    def close(self):
        """Release the replicated data; shut the local cluster down if this backend started it."""
        self._replica = self._last = None
        if self._context is not None:
            context, self._context = self._context, None
            context.__exit__(None, None, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- the two computations ------------------------------------------------------------------

    def _replica_for(self, hypergraph):
        check_client(self.client)
        if self._replica is None or not self._replica.holds(hypergraph):
            self._replica = _Replica(self.client, hypergraph)
            self._last = None
        return self._replica

    def _gather(self, futures):
        from distributed import wait

        _, not_done = wait(futures, timeout=self.timeout, return_when="ALL_COMPLETED")
        if not_done:  # pragma: no cover - wait raises TimeoutError first
            raise TimeoutError(f"{len(not_done)} task(s) unfinished after {self.timeout} s.")
        return self.client.gather(futures)

    def solve(
        self,
        hypergraph,
        B,
        alpha,
        X0=None,
        *,
        rtol=1e-5,
        atol=0.0,
        maxiter=None,
        method="auto",
        block_size=None,
    ):
        """Solve ``(I − αΘ) X = B`` with the columns split across the workers.

        Parameters
        ----------
        hypergraph : Hypergraph
            Defines Θ (its weights included).
        B : ndarray of shape (n_vertices, s)
            Right-hand sides.
        alpha : float in (0, 1)
        X0 : ndarray of shape (n_vertices, s), optional
            Initial guess (zeros by default).
        rtol, atol, maxiter, method, block_size
            As :func:`hyperlearn.linalg.block_cg`.

        Returns
        -------
        X : ndarray of shape (n_vertices, s)
            Bitwise equal to ``block_cg(I − αΘ, B, X0, ...)`` computed locally.
        iterations : int
            Lockstep CG: the most iterations of any column group (``block_cg``'s own count
            when ``s`` is at most its lockstep width, 64); block CG: the sum over the chunks.
        info : int
            ``0`` when every column converged; a breakdown code (< 0) of the first group that
            broke down; else the iterations done (> 0), as ``block_cg``.

        Raises
        ------
        TimeoutError
            Results not back within ``timeout`` seconds.
        """
        from ..hypergraph import Hypergraph

        if not isinstance(hypergraph, Hypergraph):
            raise TypeError(
                f"hypergraph={describe(hypergraph)} is not valid: expected a Hypergraph."
            )
        alpha = check_real(alpha, "alpha", low=0, high=1, low_open=True, high_open=True)
        B, X0 = _check_rhs(B, X0, hypergraph.n_vertices)
        method = check_choice(method, "method", METHODS)
        if block_size is not None:
            check_int(block_size, "block_size", low=1)
        replica = self._replica_for(hypergraph)
        weights = replica.weights_for(hypergraph)
        method, width = _resolve_method(B.shape[0], B.shape[1], method, block_size)
        n_groups = len(worker_addresses(self.client)) * self.tasks_per_worker
        groups = _column_groups(B, X0, rtol, atol, method, width, n_groups)
        options = dict(rtol=rtol, atol=atol, maxiter=maxiter, method=method, block_size=width)
        workers = worker_addresses(self.client)
        with warnings.catch_warnings():  # the columns travel inside the tasks (see submit_data)
            warnings.filterwarnings("ignore", message="Sending large graph", category=UserWarning)
            futures = [
                self.client.submit(
                    _solve_task,
                    replica.future,
                    weights,
                    alpha,
                    np.ascontiguousarray(B[:, g]),
                    None if X0 is None else np.ascontiguousarray(X0[:, g]),
                    options,
                    workers=[workers[i % len(workers)]],
                    allow_other_workers=True,
                    pure=False,
                )
                for i, g in enumerate(groups)
            ]
        results = self._gather(futures)
        dtype = results[0][0].dtype
        X = np.zeros(B.shape, dtype=dtype) if X0 is None else X0.astype(dtype, copy=True)
        for g, (X_group, _, _) in zip(groups, results, strict=True):
            X[:, g] = X_group
        infos = [r[2] for r in results]
        iterations = [r[1] for r in results]
        info = _combine_info(infos, iterations, all(i == 0 for i in infos))
        self._last = (X, groups, futures)
        # lockstep groups iterate side by side (block_cg's count is their maximum when s fits
        # one lockstep chunk); block CG groups are block_cg's chunks, which it runs in turn
        total = max(iterations) if method == "batched" else sum(iterations)
        return X, int(total), info

    def edge_statistics(self, hypergraph, F):
        """``hypergraph.edge_statistics(F)`` summed over column groups on the workers.

        When ``F`` is the array the last :meth:`solve` returned (the same object, not
        modified since), the workers use the column groups they already hold (nothing but
        the weights travels); otherwise ``F`` is split and sent.  Equal to the local
        statistics to rounding: each group's sum is the local kernel's, and the client adds
        the groups' float64 m-vectors in a fixed order.

        Returns
        -------
        ndarray of shape (n_edges,), float64
        """
        replica = self._replica_for(hypergraph)
        weights = replica.weights_for(hypergraph)
        if self._last is not None and F is self._last[0]:
            parts = [self.client.submit(_pick, f, 0, pure=False) for f in self._last[2]]
        else:
            F = check_matrix(F, "F", min_cols=1)
            if F.shape[0] != hypergraph.n_vertices:
                raise ValueError(
                    f"F has {F.shape[0]} rows: expected {hypergraph.n_vertices} (one per vertex)."
                )
            n_groups = len(worker_addresses(self.client)) * self.tasks_per_worker
            groups = np.array_split(np.arange(F.shape[1]), min(n_groups, F.shape[1]))
            parts = [np.ascontiguousarray(F[:, g]) for g in groups]
        futures = [
            self.client.submit(_statistics_task, replica.future, weights, p, pure=False)
            for p in parts
        ]
        total = np.zeros(hypergraph.n_edges)
        for c in self._gather(futures):
            total += c
        return total


def _pick(result, index):
    return result[index]


def _check_rhs(B, X0, n):
    """``B`` as a 2-D float array with ``n`` rows, ``X0`` likewise (or None)."""
    B = check_matrix(B, "B", min_cols=1)
    if B.shape[0] != n:
        raise ValueError(f"B has {B.shape[0]} rows: expected {n} (one per vertex).")
    if X0 is not None:
        X0 = check_matrix(X0, "X0", dtype=B.dtype)
        if X0.shape != B.shape:
            raise ValueError(f"X0 has shape {X0.shape}: expected {B.shape}, the shape of B.")
    return B, X0


def solve_replicated(client, hypergraph, B, alpha, X0=None, **cg_kwargs):
    """Solve ``(I − αΘ) X = B`` on a Dask cluster, the hypergraph replicated (mode A).

    A one-call form of :class:`DaskBackend` (the hypergraph is broadcast for this call only).

    Parameters
    ----------
    client : distributed.Client or None
        ``None`` starts and closes a two-worker ``LocalCluster`` (threads).
    hypergraph, B, alpha, X0
        See :meth:`DaskBackend.solve`.
    **cg_kwargs
        ``rtol``, ``atol``, ``maxiter``, ``method``, ``block_size`` of
        :func:`hyperlearn.linalg.block_cg`.

    Returns
    -------
    X : ndarray of shape (n_vertices, s)
        Bitwise equal to the local ``block_cg`` solve.
    info : int
        As :func:`hyperlearn.linalg.block_cg`.

    Examples
    --------
    >>> import numpy as np
    >>> from hyperlearn import Hypergraph
    >>> from hyperlearn.distributed import solve_replicated
    >>> hg = Hypergraph.from_edges([[0, 1, 2], [2, 3], [3, 4, 5], [5, 0]])
    >>> X, info = solve_replicated(None, hg, np.eye(6)[:, :2], 0.5, rtol=1e-10)
    >>> info, X.shape
    (0, (6, 2))
    """
    with DaskBackend(client) as backend:
        X, _, info = backend.solve(hypergraph, B, alpha, X0, **cg_kwargs)
    return X, info


def edge_statistics_replicated(client, hypergraph, F):
    """``hypergraph.edge_statistics(F)`` computed on a Dask cluster (column groups summed).

    See :meth:`DaskBackend.edge_statistics`; ``client=None`` starts and closes a local cluster.
    """
    with DaskBackend(client) as backend:
        return backend.edge_statistics(hypergraph, F)

"""Where the f-step runs: this process (``backend="local"``) or a Dask cluster (``"dask"``).

The tagger's alternation needs two computations per step: the solve of
``(I − αΘ) F = (1 − α) Y`` (:class:`~hyperlearn.tagging._alternation.FStep`) and the
per-hyperedge sums ``c_e = ‖γ_eᵀ F‖² / δ(e)``.  With ``backend="dask"`` both run on the workers
of a cluster through :class:`hyperlearn.distributed.DaskBackend` (the hypergraph replicated on
every worker, the tag columns split across them); everything else stays in this process.
Dask is imported only here, and only when asked for.
"""

from __future__ import annotations

from contextlib import contextmanager

from ._alternation import FStep

__all__ = ["BACKENDS", "DaskFStep", "f_step_backend"]

BACKENDS = ("local", "dask")


class DaskFStep(FStep):
    """:class:`FStep` whose solves and edge statistics run on a Dask cluster (mode A).

    The solves are bitwise those of the local ``block_cg``; the edge statistics equal the local
    ones to rounding (per-worker sums added on the client).
    """

    def __init__(self, backend, alpha, Y, rng):
        super().__init__("block_cg", alpha, Y, rng)
        self.backend = backend

    def __call__(self, hypergraph, F0, rtol):
        F, its, info = self.backend.solve(hypergraph, self.rhs, self.alpha, F0, rtol=rtol)
        self._check_info(info)
        return F, int(its)

    def edge_statistics(self, hypergraph, F):
        return self.backend.edge_statistics(hypergraph, F)


@contextmanager
def f_step_backend(backend, client):
    """``None`` for the local backend, else a running ``DaskBackend`` closed on exit.

    A user's ``client`` is used as it is and never closed; ``client=None`` starts a local
    cluster for the duration of the fit.
    """
    if backend == "local":
        yield None
        return
    try:
        from ..distributed import DaskBackend
    except ImportError as exc:
        raise ImportError(
            "backend='dask' needs Dask: pip install 'hyperlearn[dask]' (dask[array] and "
            "distributed)."
        ) from exc
    with DaskBackend(client) as dask_backend:
        yield dask_backend

"""Scale-out on a Dask cluster (the ``dask`` extra: ``pip install hyperlearn[dask]``).

Dask is the runtime here, not the linear algebra: hyperlearn's own kernels and solvers run on
the workers.  Two modes:

- **replicated** (:class:`DaskBackend`, :func:`solve_replicated`,
  :func:`edge_statistics_replicated`): the hypergraph is broadcast to every worker and the
  tag columns are split across them; no communication inside CG, results bitwise equal to the
  local solve.  Use it while the incidence and a few n × s blocks fit in one worker.
- **vertex-partitioned** (:class:`DistributedHypergraph`, :class:`RowBlocks`,
  :func:`distributed_cg`, :func:`distributed_eigh`, :func:`distributed_svd`): the vertices
  in locality order are split into blocks owned by workers, ``Θ·X`` runs in two stages with an
  owner-side reduction, and the solvers run on row-partitioned blocks with the small ℓ × ℓ
  algebra on the client.  For hypergraphs beyond one worker's memory.

``import hyperlearn`` never imports this package (nor Dask).
"""

from __future__ import annotations

try:
    import distributed as _distributed  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "hyperlearn.distributed needs Dask: pip install 'hyperlearn[dask]' "
        "(dask[array] and distributed)."
    ) from exc

from ._cluster import check_client, managed_client
from ._partitioned import DistributedHypergraph, incoming_transfer_bytes, locality_order
from ._replicated import DaskBackend, edge_statistics_replicated, solve_replicated
from ._rowblocks import RowBlocks, RowLayout
from ._solvers import distributed_cg, distributed_eigh, distributed_svd, orthonormalize

__all__ = [
    "DaskBackend",
    "DistributedHypergraph",
    "RowBlocks",
    "RowLayout",
    "check_client",
    "distributed_cg",
    "distributed_eigh",
    "distributed_svd",
    "edge_statistics_replicated",
    "incoming_transfer_bytes",
    "locality_order",
    "managed_client",
    "orthonormalize",
    "solve_replicated",
]

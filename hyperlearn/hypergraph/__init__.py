"""Hypergraphs: the immutable :class:`Hypergraph`, construction, and matrix-free operators.

``Hypergraph`` stores the incidence matrix once as CSR and CSC; its normalized adjacency
Θ = Dv^{-1/2} H W De^{-1} Hᵀ Dv^{-1/2} and Laplacians are :class:`HypergraphOperator` objects
(SciPy ``LinearOperator``) applied through Numba kernels that compile on first use.
"""

from __future__ import annotations

from ._ann import ANN_MIN_SAMPLES
from ._hypergraph import Hypergraph
from ._knn import kneighbors
from ._operators import (
    DEFAULT_NNZ_BUDGET,
    HypergraphOperator,
    IncidenceProductOperator,
    NnzBudgetError,
)

__all__ = [
    "ANN_MIN_SAMPLES",
    "DEFAULT_NNZ_BUDGET",
    "Hypergraph",
    "HypergraphOperator",
    "IncidenceProductOperator",
    "NnzBudgetError",
    "kneighbors",
]


def _warm_up(dtypes):
    """Run each kernel of this package once on a tiny input (see :func:`hyperlearn.warm_up`)."""
    import numpy as np

    points = np.random.default_rng(0).standard_normal((12, 3))
    for metric in ("euclidean", "cosine"):
        kneighbors(points, 2, metric=metric, screen=None)
        kneighbors(points, 2, metric=metric, screen="float32")  # serial screening
        kneighbors(points, 2, metric=metric, screen="float32", n_jobs=2, block_size=4)
    for dtype in dtypes:
        binary = Hypergraph.from_knn(points.astype(dtype), 2)
        weighted = Hypergraph.from_incidence(binary.incidence * dtype(0.5))
        for hg in (binary, weighted):
            ones = np.ones((hg.n_vertices, 2), dtype=dtype)
            hg.normalized_adjacency().matvec(ones[:, 0])
            hg.normalized_adjacency().matmat(ones)
            hg.edge_statistics(ones)

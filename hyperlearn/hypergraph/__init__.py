"""Hypergraphs: the immutable :class:`Hypergraph`, construction, and matrix-free operators.

``Hypergraph`` stores the incidence matrix once as CSR and CSC; its normalized adjacency
Θ = Dv^{-1/2} H W De^{-1} Hᵀ Dv^{-1/2} and Laplacians are :class:`HypergraphOperator` objects
(SciPy ``LinearOperator``) applied through Numba kernels that compile on first use.
"""

from __future__ import annotations

from ._hypergraph import Hypergraph
from ._knn import kneighbors
from ._operators import (
    DEFAULT_NNZ_BUDGET,
    HypergraphOperator,
    IncidenceProductOperator,
    NnzBudgetError,
)

__all__ = [
    "DEFAULT_NNZ_BUDGET",
    "Hypergraph",
    "HypergraphOperator",
    "IncidenceProductOperator",
    "NnzBudgetError",
    "kneighbors",
]

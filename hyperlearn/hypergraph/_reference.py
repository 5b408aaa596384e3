"""Slow dense reference implementations, used only by the tests.

Each function follows the textbook formula literally with dense float64 NumPy arrays and Python
loops where that is clearer, so that it can serve as an oracle for the kernels.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "dense_incidence_from_edges",
    "edge_statistics",
    "kneighbors",
    "laplacian",
    "normalized_adjacency",
]


def _inv_power(values, power):
    values = np.asarray(values, dtype=np.float64)
    out = np.zeros_like(values)
    out[values > 0] = values[values > 0] ** power
    return out


def _parts(H, w):
    H = np.asarray(H, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    d = H @ w  # weighted vertex degrees
    delta = H.sum(axis=0)  # unweighted hyperedge degrees
    return H, w, d, delta


def normalized_adjacency(H, w):
    """Θ = Dv^{-1/2} H W De^{-1} Hᵀ Dv^{-1/2} (dense), zero rows/cols for isolated vertices."""
    H, w, d, delta = _parts(H, w)
    Dv = np.diag(_inv_power(d, -0.5))
    A = H @ np.diag(w * _inv_power(delta, -1.0)) @ H.T
    return Dv @ A @ Dv


def laplacian(H, w, kind="normalized"):
    """Dense Laplacians: normalized I − Θ, random-walk I − Dv^{-1}HWDe^{-1}Hᵀ, unnormalized."""
    H, w, d, delta = _parts(H, w)
    A = H @ np.diag(w * _inv_power(delta, -1.0)) @ H.T
    n = H.shape[0]
    if kind == "normalized":
        return np.eye(n) - normalized_adjacency(H, w)
    if kind == "random_walk":
        return np.eye(n) - np.diag(_inv_power(d, -1.0)) @ A
    if kind == "unnormalized":
        return np.diag(d) - A
    raise ValueError(kind)


def edge_statistics(H, w, F):
    """c_e = ‖γ_eᵀ F‖² / δ(e), γ_e = Dv^{-1/2} H[:, e], one hyperedge at a time."""
    H, w, d, delta = _parts(H, w)
    F = np.asarray(F, dtype=np.float64).reshape(H.shape[0], -1)
    scale = _inv_power(d, -0.5)
    c = np.zeros(H.shape[1])
    for e in range(H.shape[1]):
        if delta[e] > 0:
            gamma = scale * H[:, e]
            c[e] = np.sum((gamma @ F) ** 2) / delta[e]
    return c


def dense_incidence_from_edges(edges, n_vertices):
    """0/1 incidence matrix, one Python loop over hyperedges and members."""
    H = np.zeros((n_vertices, len(edges)))
    for e, members in enumerate(edges):
        for v in members:
            H[v, e] = 1.0
    return H


def kneighbors(X, n_neighbors, database=None, metric="euclidean"):
    """Full distance matrix, then a stable sort by (distance, index); excludes self if no db."""
    X = np.asarray(X, dtype=np.float64)
    exclude_self = database is None
    D = X if exclude_self else np.asarray(database, dtype=np.float64)
    if metric == "cosine":

        def normalize(A):
            norms = np.linalg.norm(A, axis=1)
            norms[norms == 0] = 1.0
            return A / norms[:, None]

        dist = 1.0 - normalize(X) @ normalize(D).T
    else:
        dist = np.sqrt(((X[:, None, :] - D[None, :, :]) ** 2).sum(axis=2))
    if exclude_self:
        np.fill_diagonal(dist, np.inf)
    order = np.argsort(dist, axis=1, kind="stable")[:, :n_neighbors]
    return np.take_along_axis(dist, order, axis=1), order

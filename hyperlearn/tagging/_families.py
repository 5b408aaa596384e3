"""Hyperedge families: kNN scales, probabilistic incidence, feature views and tags.

A *family* is a set of hyperedges built the same way (the kNN hyperedges of one view at one
scale, or the tag hyperedges).  The tagger starts every visual family with the same total weight
and learns how much of it each family keeps (``HypergraphTagger.family_weights_``).

For each view the nearest neighbours are searched once, for the largest scale; a smaller scale
``k`` keeps the first ``k`` of them.  The visual hyperedge of image ``i`` at scale ``k`` holds
``i`` and its ``k`` nearest neighbours.  With ``incidence="probabilistic"`` its members enter
with ``h(v, e_i) = exp(−d(v, i)² / σ_k²)`` (Gao et al. 2013; THU-HyperG), ``σ_k`` the mean
distance of the images to their ``k``-th neighbour (so ``h(i, e_i) = 1`` and a typical farthest
member has ``h ≈ e⁻¹``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

__all__ = [
    "INCIDENCES",
    "Families",
    "VisualFamily",
    "assemble_families",
    "knn_incidence",
    "standardize_features",
    "visual_families",
]

INCIDENCES = ("binary", "probabilistic")


@dataclass(frozen=True)
class VisualFamily:
    """The kNN hyperedges of one feature view at one scale (``name`` as ``"view0/k=10"``)."""

    name: str
    hypergraph: object


@dataclass(frozen=True)
class Families:
    """A hypergraph made of families, with its starting weights and each family's slice.

    Attributes
    ----------
    hypergraph : Hypergraph
        All hyperedges, weighted by ``initial_weights`` (in the features' dtype).
    initial_weights : ndarray of shape (n_edges,), float64
        The starting weights ``w₀`` (``Σ w₀ = 1``).
    names : tuple of str
        Family names in hyperedge order.
    slices : tuple of slice
        The hyperedges of each family.
    """

    hypergraph: object
    initial_weights: np.ndarray
    names: tuple
    slices: tuple

    def family_totals(self, weights):
        """``{name: Σ_{e ∈ family} w_e}`` for weights ``w`` of this hypergraph."""
        w = np.asarray(weights, dtype=np.float64)
        return {name: float(w[s].sum()) for name, s in zip(self.names, self.slices, strict=True)}


def standardize_features(X):
    """Features centred and scaled to unit variance per column (constant columns only centred).

    Returns a new array in the dtype of ``X``.
    """
    values = np.asarray(X, dtype=np.float64)
    scale = values.std(axis=0)
    scale[scale == 0] = 1.0
    return ((values - values.mean(axis=0)) / scale).astype(X.dtype, copy=False)


def knn_incidence(indices, distances, k, *, incidence="binary", dtype=np.float64):
    """Incidence (n × n, CSC) of the scale-``k`` kNN hyperedges from a neighbour search.

    Parameters
    ----------
    indices, distances : ndarray of shape (n, k_max)
        Neighbours of each image (itself excluded), sorted by distance, ``k_max >= k``.
    k : int
        Neighbours per hyperedge (each hyperedge has ``k + 1`` members).
    incidence : {"binary", "probabilistic"}, default="binary"
        ``"probabilistic"``: member ``v`` of ``e_i`` enters with ``exp(−d(v, i)²/σ_k²)``,
        ``σ_k`` the mean distance to the ``k``-th neighbour (1 for all when that is 0).
    dtype : numpy float dtype

    Returns
    -------
    scipy.sparse.csc_matrix
    """
    n = indices.shape[0]
    members = np.concatenate([np.arange(n)[:, None], indices[:, :k]], axis=1)
    if incidence == "binary":
        values = np.ones(members.shape, dtype=np.float64)
    else:
        sigma = float(np.mean(distances[:, k - 1]))
        d = np.concatenate([np.zeros((n, 1)), distances[:, :k]], axis=1)
        values = np.exp(-((d / sigma) ** 2)) if sigma > 0 else np.ones(d.shape)
    indptr = np.arange(0, n * (k + 1) + 1, k + 1)
    H = sp.csc_matrix((values.ravel().astype(dtype), members.ravel(), indptr), shape=(n, n))
    return H


def visual_families(
    views,
    scales,
    *,
    incidence="binary",
    metric="euclidean",
    n_jobs=None,
    dtype=np.float64,
    random_state=None,
    neighbors=None,
):
    """One kNN family per (view, scale), one neighbour search per view.

    Parameters
    ----------
    views : list of ndarray of shape (n, d_j)
        Validated features of each view (already standardised if asked).
    scales : sequence of int
        Neighbours per hyperedge, each in ``[1, n)``.
    incidence : {"binary", "probabilistic"}
    metric : {"euclidean", "cosine"}
    n_jobs : int or None
    dtype : numpy float dtype
        Of the hypergraphs.
    random_state : None, int or numpy.random.RandomState
        Seed of the neighbour search when it is approximate (``kneighbors(method="auto")``:
        many images and pynndescent installed).
    neighbors : list of (distances, indices) or None, optional
        Per view, the result of that very search (``kneighbors(view, max(scales), ...)``) when
        it was already made (by :func:`~hyperlearn.tagging._selection.
        standardization_and_neighbors`); None entries are searched here.

    Returns
    -------
    list of VisualFamily
        Views outer, scales inner (in the given order).
    """
    from ..hypergraph import Hypergraph, kneighbors

    k_max = max(scales)
    families = []
    if neighbors is None:
        neighbors = [None] * len(views)
    for j, X in enumerate(views):
        if neighbors[j] is not None:
            distances, indices = neighbors[j]
        else:
            distances, indices = kneighbors(
                X, k_max, metric=metric, n_jobs=n_jobs, method="auto", random_state=random_state
            )
        for k in scales:
            H = knn_incidence(indices, distances, k, incidence=incidence, dtype=dtype)
            hg = Hypergraph.from_incidence(H, dtype=dtype)
            families.append(VisualFamily(f"view{j}/k={k}", hg))
    return families


def assemble_families(visual, Y, extra, tag_weight):
    """Visual families ∪ one tag hyperedge per column of ``Y`` (∪ ``extra``), with ``w₀``.

    Every visual family starts with the same total weight (one per hyperedge when there is a
    single visual family); a tag hyperedge starts at ``tag_weight`` times the weight of a
    hyperedge of a visual family, a user hyperedge at that weight.  ``w₀`` is then divided by
    its sum.  A tag no image carries (a column of zeros of ``Y``) gives an empty hyperedge, so
    the hyperedges of the tags are always ``Y``'s columns in order.

    Parameters
    ----------
    visual : list of VisualFamily
    Y : ndarray of shape (n, n_tags)
        Observed 0/1 tags.
    extra : Hypergraph or None
        User hyperedges, appended last as the family ``"user"``.
    tag_weight : float >= 0

    Returns
    -------
    Families
    """
    from ..hypergraph import Hypergraph

    dtype = visual[0].hypergraph.dtype
    per_edge = 1.0 / len(visual)
    parts, weights, names = [], [], []
    for fam in visual:
        parts.append(fam.hypergraph)
        weights.append(np.full(fam.hypergraph.n_edges, per_edge))
        names.append(fam.name)
    parts.append(Hypergraph.from_labels(Y, dtype=dtype))
    weights.append(np.full(Y.shape[1], tag_weight * per_edge))
    names.append("tags")
    if extra is not None:
        parts.append(extra.astype(dtype))
        weights.append(np.full(extra.n_edges, per_edge))
        names.append("user")
    hg = Hypergraph.hstack(parts)
    w0 = np.concatenate(weights)
    w0 /= w0.sum()
    bounds = np.cumsum([0] + [p.n_edges for p in parts])
    slices = tuple(slice(int(a), int(b)) for a, b in itertools.pairwise(bounds))
    return Families(hg.with_weights(w0.astype(dtype)), w0, tuple(names), slices)

"""Baselines for image tagging: kNN tag voting and the user tags as given."""

from __future__ import annotations

import numpy as np

from ._estimator import _check_features, _check_int, _check_tags

__all__ = ["knn_tag_voting", "user_tag_scores"]


def knn_tag_voting(X, Y, n_neighbors=10, *, metric="euclidean", n_jobs=None):
    """Score each tag by the fraction of an image's nearest neighbours tagged with it.

    The classic neighbour-voting baseline of tag relevance learning (Li, Snoek, Worring 2009,
    without the prior correction): ``score[i, t] = (1/k) Σ_{j ∈ kNN(i)} Y[j, t]``, the image
    itself excluded.

    Parameters
    ----------
    X : array-like of shape (n_images, n_features)
    Y : array-like of shape (n_images, n_tags)
        Observed 0/1 tags.
    n_neighbors : int, default=10
        ``1 <= n_neighbors < n_images``.
    metric : {"euclidean", "cosine"}, default="euclidean"
    n_jobs : int, default=None

    Returns
    -------
    ndarray of shape (n_images, n_tags), float64
    """
    from ..hypergraph import kneighbors

    X = _check_features(X)
    Y = _check_tags(Y, X.shape[0], np.float64)
    _check_int(n_neighbors, "n_neighbors", 1)
    if n_neighbors >= X.shape[0]:
        raise ValueError(
            f"n_neighbors must be < the number of images ({X.shape[0]}); got {n_neighbors}."
        )
    _, idx = kneighbors(X, n_neighbors, metric=metric, n_jobs=n_jobs)
    return Y[idx].mean(axis=1)


def user_tag_scores(Y):
    """The observed tags as scores (1 for a user tag, 0 otherwise), float64.

    Top-k selection breaks ties by the smaller tag index, so an image with fewer than ``k``
    user tags is completed with the first tags of the vocabulary: the "do nothing" baseline.
    """
    Y = np.asarray(Y.toarray() if hasattr(Y, "toarray") else Y)
    if Y.ndim != 2:
        raise ValueError(f"Y must be a 2-D 0/1 matrix; got shape {Y.shape}.")
    return _check_tags(Y, Y.shape[0], np.float64) if np.any(Y) else Y.astype(np.float64)

"""Baselines for image tagging: kNN tag voting, ML-kNN and the user tags as given."""

from __future__ import annotations

import numpy as np

from ..utils._validation import check_int
from ._problem import check_features, check_tags
from ._selection import VALIDATION_K, choose_candidate, holdout_split, per_image_f1

__all__ = ["KNN_K_GRID", "knn_tag_voting", "ml_knn_scores", "select_knn_k", "user_tag_scores"]

#: Candidate neighbourhood sizes of :func:`select_knn_k`.
KNN_K_GRID = (5, 10, 20, 40)


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

    X = check_features(X)
    Y = check_tags(Y, X.shape[0], np.float64)
    check_int(n_neighbors, "n_neighbors", low=1)
    if n_neighbors >= X.shape[0]:
        raise ValueError(
            f"n_neighbors must be < the number of images ({X.shape[0]}); got {n_neighbors}."
        )
    _, idx = kneighbors(X, n_neighbors, metric=metric, n_jobs=n_jobs)
    return Y[idx].mean(axis=1)


def select_knn_k(
    X,
    Y,
    ks=KNN_K_GRID,
    *,
    default=10,
    validation_fraction=0.2,
    random_state=None,
    metric="euclidean",
    n_jobs=None,
):
    """Choose the ``n_neighbors`` of :func:`knn_tag_voting` from the observed tags only.

    The same held-out protocol as ``HypergraphTagger(alpha="auto")``: the observed tags of a
    random ``validation_fraction`` of the tagged images are hidden (the same images for the
    same ``random_state``), every image votes with the remaining tags of its ``k`` nearest
    neighbours, and each ``k`` is scored by F1@5 (``average="samples"``) of the hidden images'
    votes against their hidden observed tags.  The best ``k`` replaces ``default`` only if its
    per-image gain over the default exceeds ``SELECTION_STANDARD_ERRORS`` standard errors
    (:func:`~hyperlearn.tagging.choose_candidate`).  The neighbours are searched once, for the
    largest ``k``; a smaller ``k`` uses the first ``k`` of them.

    Parameters
    ----------
    X : array-like of shape (n_images, n_features)
    Y : array-like of shape (n_images, n_tags)
        Observed 0/1 tags.
    ks : sequence of int, default=KNN_K_GRID
        Candidates, each ``1 <= k < n_images``.
    default : int or None, default=10
        The candidate kept unless another is clearly better (one of ``ks``; ``None``: the
        best held-out mean, the first on ties).
    validation_fraction : float in (0, 1), default=0.2
        Fraction of the tagged images whose tags are hidden.
    random_state : int, RandomState or None, default=None
        Draws the held-out images.
    metric : {"euclidean", "cosine"}, default="euclidean"
    n_jobs : int, default=None

    Returns
    -------
    k : int
        The chosen candidate.
    scores : dict of int to float
        Held-out F1@5 of every candidate.

    Raises
    ------
    TypeError
        A candidate that is not an integer, or a ``validation_fraction`` that is not a number.
    ValueError
        Empty ``ks``, a candidate that is not in ``[1, n_images)``, ``default``
        not in ``ks``, a bad ``validation_fraction``, or too few tagged images to hold some
        out.

    Examples
    --------
    >>> from hyperlearn.datasets import load_digits_tags
    >>> data = load_digits_tags(random_state=0)
    >>> k, scores = select_knn_k(data.features, data.tags_observed, random_state=0)
    >>> sorted(scores) == [5, 10, 20, 40] and k in scores
    True
    """
    from ..hypergraph import kneighbors
    from ..metrics import f1_at_k

    X = check_features(X)
    Y = check_tags(Y, X.shape[0], np.float64)
    ks = list(ks)
    if not ks:
        raise ValueError("ks must hold at least one candidate n_neighbors; got an empty sequence.")
    for k in ks:
        check_int(k, "ks", low=1)
        if k >= X.shape[0]:
            raise ValueError(
                f"every k in ks must be < the number of images ({X.shape[0]}); got {k}."
            )
    if default is not None and default not in ks:
        raise ValueError(f"default must be one of ks={tuple(ks)} or None; got {default!r}.")
    validation = holdout_split(Y, validation_fraction, random_state)
    Y_train = Y.copy()
    Y_train[validation] = 0
    # only the held-out images' votes are scored: their neighbours among all images
    _, idx = kneighbors(X, max(ks), metric=metric, n_jobs=n_jobs)
    idx = idx[validation]
    target = Y[validation]
    top = min(VALIDATION_K, Y.shape[1])
    scores, per_image = {}, {}
    for k in ks:
        votes = Y_train[idx[:, :k]].mean(axis=1)
        scores[int(k)] = f1_at_k(target, votes, top)
        per_image[int(k)] = per_image_f1(target, votes, top)
    if default is None:
        return max(scores, key=scores.get), scores
    return choose_candidate(per_image, int(default)), scores


def ml_knn_scores(X, Y, n_neighbors=10, *, smoothing=1.0, metric="euclidean", n_jobs=None):
    """ML-kNN (Zhang & Zhou 2007): posterior probability of each tag from neighbour counts.

    The tagged images (at least one observed tag) are the training set.  For each tag ``t``,
    ``P(t)`` is its smoothed frequency among them, and ``P(c | t)``, ``P(c | not t)`` are the
    smoothed frequencies of a training image having ``c`` of its ``k`` nearest training
    neighbours (itself excluded) tagged ``t``, among the training images with and without ``t``.
    Every image is then scored by ``P(t) P(c | t) / (P(t) P(c | t) + P(¬t) P(c | ¬t))`` with ``c``
    counted among its ``k`` nearest training images (itself excluded).

    Parameters
    ----------
    X : array-like of shape (n_images, n_features)
    Y : array-like of shape (n_images, n_tags)
        Observed 0/1 tags; rows without a tag are only scored.
    n_neighbors : int, default=10
        ``1 <= n_neighbors < n_tagged``.
    smoothing : float > 0, default=1.0
        Laplace smoothing ``s`` of every frequency: ``(s + count) / (2s + total)`` for
        ``P(t)``, ``(s + count) / (s (k + 1) + total)`` for ``P(c | ·)``.
    metric : {"euclidean", "cosine"}, default="euclidean"
    n_jobs : int, default=None

    Returns
    -------
    ndarray of shape (n_images, n_tags), float64

    Raises
    ------
    ValueError
        Bad ``n_neighbors`` (not below the number of tagged images) or ``smoothing``.

    References
    ----------
    M.-L. Zhang, Z.-H. Zhou, "ML-KNN: a lazy learning approach to multi-label learning",
    Pattern Recognition 40(7), 2007.

    Examples
    --------
    >>> from hyperlearn.datasets import load_digits_tags
    >>> from hyperlearn.metrics import f1_at_k
    >>> data = load_digits_tags(random_state=0)
    >>> scores = ml_knn_scores(data.features, data.tags_observed)
    >>> bool(f1_at_k(data.tags_true, scores, 3) > 0.5)
    True
    """
    from ..hypergraph import kneighbors
    from ..utils._validation import check_real

    X = check_features(X)
    Y = check_tags(Y, X.shape[0], np.float64)
    train = np.flatnonzero(Y.any(axis=1))
    k = check_int(n_neighbors, "n_neighbors", low=1, high=train.size - 1)
    s = check_real(smoothing, "smoothing", low=0.0, low_open=True)
    tags_train = Y[train]
    _, idx_train = kneighbors(X[train], k, metric=metric, n_jobs=n_jobs)
    counts = tags_train[idx_train].sum(axis=1).astype(np.int64)  # (n_train, T)
    prior = (s + tags_train.sum(axis=0)) / (2.0 * s + train.size)
    likelihood = []
    for has in (1.0, 0.0):
        table = np.stack(
            [
                np.bincount(counts[tags_train[:, t] == has, t], minlength=k + 1)
                for t in range(Y.shape[1])
            ],
            axis=1,
        )
        likelihood.append((s + table) / (s * (k + 1) + table.sum(axis=0)))
    # neighbours of every image among the training images, itself excluded
    _, idx = kneighbors(X, k + 1, database=X[train], metric=metric, n_jobs=n_jobs)
    is_self = train[idx] == np.arange(X.shape[0])[:, None]
    keep = np.where(is_self.any(axis=1, keepdims=True), ~is_self, np.arange(k + 1) < k)
    idx = idx[keep].reshape(X.shape[0], k)
    c = tags_train[idx].sum(axis=1).astype(np.int64)
    yes = prior * np.take_along_axis(likelihood[0], c, axis=0)
    no = (1.0 - prior) * np.take_along_axis(likelihood[1], c, axis=0)
    return yes / (yes + no)


def user_tag_scores(Y):
    """The observed tags as scores (1 for a user tag, 0 otherwise), float64.

    Top-k selection breaks ties by the smaller tag index, so an image with fewer than ``k``
    user tags is completed with the first tags of the vocabulary: the "do nothing" baseline.
    """
    Y = np.asarray(Y.toarray() if hasattr(Y, "toarray") else Y)
    if Y.ndim != 2:
        raise ValueError(f"Y must be a 2-D 0/1 matrix; got shape {Y.shape}.")
    return check_tags(Y, Y.shape[0], np.float64) if np.any(Y) else Y.astype(np.float64)

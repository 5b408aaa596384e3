"""Metrics for image tagging and retrieval.

Top-k tag metrics (:func:`precision_at_k`, :func:`recall_at_k`, :func:`f1_at_k`), ranking metrics
(:func:`mean_average_precision`) and the retrieval metrics used by the distillation side
(:func:`retrieval_map`, :func:`retrieval_precision_at_k`).

Conventions
-----------
* ``Y_true`` is an ``(n, T)`` 0/1 matrix (dense or SciPy sparse); ``scores`` an ``(n, T)`` real
  matrix (higher = more relevant).
* The predicted tag set of image ``i`` is the ``k`` tags of largest score. **Ties are broken by the
  tag index: among equal scores the tag with the smaller column index is taken first.** This makes
  every top-k metric a deterministic function of ``(Y_true, scores)``.
* ``k`` is an integer in ``[1, n]`` with ``n`` the number of items ranked (tags, or database
  items in retrieval): a ``k`` beyond them raises a ``ValueError`` in every metric, it is never
  clipped.
* Average precision groups tied scores, exactly as :func:`sklearn.metrics.average_precision_score`
  does (precision is evaluated only at distinct score thresholds), so it does not depend on any
  tie-breaking order.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .utils._validation import check_choice, check_int

__all__ = [
    "average_precision_columns",
    "f1_at_k",
    "mean_average_precision",
    "precision_at_k",
    "recall_at_k",
    "retrieval_map",
    "retrieval_precision_at_k",
    "retrieval_scores",
    "top_k_indicator",
]

_AVERAGES = ("samples", "macro", "micro", "mean_pr")


# --------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------
def _check_labels(Y, name="Y_true"):
    if sp.issparse(Y):
        Y = Y.toarray()
    Y = np.asarray(Y)
    if Y.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (n_samples, n_tags) array; got shape {Y.shape}.")
    if Y.dtype == bool:
        return Y
    if not np.issubdtype(Y.dtype, np.number):
        raise TypeError(f"{name} must be numeric 0/1; got dtype {Y.dtype}.")
    values = np.unique(Y)
    if not np.all(np.isin(values, (0, 1))):
        bad = values[~np.isin(values, (0, 1))][:5]
        raise ValueError(f"{name} must contain only 0 and 1; found values such as {bad.tolist()}.")
    return Y.astype(bool)


def _check_scores(scores, shape, name="scores"):
    if sp.issparse(scores):
        scores = scores.toarray()
    scores = np.asarray(scores)
    if not np.issubdtype(scores.dtype, np.number) or np.issubdtype(
        scores.dtype, np.complexfloating
    ):
        raise TypeError(f"{name} must be a real numeric array; got dtype {scores.dtype}.")
    if scores.shape != shape:
        raise ValueError(
            f"{name} must have the same shape as Y_true {shape}; got shape {scores.shape}."
        )
    if not np.all(np.isfinite(scores)):
        raise ValueError(f"{name} contains NaN or infinite values.")
    return scores


def _check_k(k, n_items, items="tags"):
    """``k`` as an int in ``[1, n_items]``: the one rule of every top-k metric here.

    A ``k`` beyond the number of items to rank (tags, or database items in retrieval) is an
    error, never clipped: a precision over fewer than ``k`` items would not be precision@k.
    """
    k = check_int(k, "k", low=1)
    if k > n_items:
        raise ValueError(
            f"k={k} exceeds the number of {items} ({n_items}): expected k <= {n_items}."
        )
    return k


def _check_average(average):
    check_choice(average, "average", _AVERAGES)


# --------------------------------------------------------------------------------------------
# top-k
# --------------------------------------------------------------------------------------------
def top_k_indicator(scores, k=5):
    """Boolean mask of the ``k`` largest scores in each row.

    Parameters
    ----------
    scores : array-like of shape (n_samples, n_tags)
        Real scores, higher is better.
    k : int, default=5
        Number of tags to select per row, ``1 <= k <= n_tags``.

    Returns
    -------
    mask : ndarray of bool, shape (n_samples, n_tags)
        Exactly ``k`` True entries per row.

    Notes
    -----
    Ties are broken by the column index: among equal scores the smaller index is selected first
    (a stable sort of the negated scores).

    Examples
    --------
    >>> top_k_indicator([[0.1, 0.5, 0.5, 0.2]], k=2).astype(int)
    array([[0, 1, 1, 0]])
    >>> top_k_indicator([[1.0, 1.0, 1.0]], k=1).astype(int)
    array([[1, 0, 0]])
    """
    scores = np.asarray(scores)
    if scores.ndim != 2:
        raise ValueError(f"scores must be 2-D; got shape {scores.shape}.")
    k = _check_k(k, scores.shape[1])
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    mask = np.zeros(scores.shape, dtype=bool)
    np.put_along_axis(mask, order, True, axis=1)
    return mask


def _safe_divide(num, den, zero_division):
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.full(np.broadcast(num, den).shape, float(zero_division))
    np.divide(num, den, out=out, where=den > 0)
    return out


def _prf_at_k(Y_true, scores, k, average, zero_division):
    Y = _check_labels(Y_true)
    S = _check_scores(scores, Y.shape)
    _check_average(average)
    k = _check_k(k, Y.shape[1])
    if Y.shape[0] == 0:
        raise ValueError("Y_true has no rows.")
    Z = top_k_indicator(S, k)
    hits = Y & Z
    if average == "samples":
        tp = hits.sum(axis=1)
        n_pred = np.full(Y.shape[0], k)
        n_true = Y.sum(axis=1)
        p = _safe_divide(tp, n_pred, zero_division)
        r = _safe_divide(tp, n_true, zero_division)
        f = _safe_divide(2 * tp, n_true + n_pred, zero_division)
        return p.mean(), r.mean(), f.mean()
    tp = hits.sum(axis=0)
    n_pred = Z.sum(axis=0)
    n_true = Y.sum(axis=0)
    if average == "micro":
        tp, n_pred, n_true = tp.sum(), n_pred.sum(), n_true.sum()
        p = _safe_divide(tp, n_pred, zero_division)
        r = _safe_divide(tp, n_true, zero_division)
        f = _safe_divide(2 * tp, n_true + n_pred, zero_division)
        return float(p), float(r), float(f)
    p = _safe_divide(tp, n_pred, zero_division).mean()
    r = _safe_divide(tp, n_true, zero_division).mean()
    if average == "macro":
        f = _safe_divide(2 * tp, n_true + n_pred, zero_division).mean()
    else:  # mean_pr: harmonic mean of the tag-averaged precision and recall
        f = float(_safe_divide(2 * p * r, p + r, 0.0))
    return float(p), float(r), float(f)


_AVERAGE_DOC = """average : {"samples", "macro", "micro", "mean_pr"}, default="samples"
        * ``"samples"``: computed per image, then averaged over images (scikit-learn's
          ``average="samples"``).
        * ``"macro"``: computed per tag, then averaged over tags (scikit-learn's
          ``average="macro"``).
        * ``"micro"``: true positives, predictions and true tags pooled over all tags.
        * ``"mean_pr"``: the annotation-paper convention (Makadia et al. 2008; Guillaumin et al.
          2009): P̄ and R̄ are the per-tag averages (as in ``"macro"``) and
          F1 = 2 P̄ R̄ / (P̄ + R̄). For precision and recall it equals ``"macro"``.
    zero_division : float, default=0.0
        Value of a ratio whose denominator is zero (e.g. the recall of an image with no true tag,
        or the precision of a tag never predicted)."""


def precision_at_k(Y_true, scores, k=5, *, average="samples", zero_division=0.0):
    """Precision of the top-``k`` predicted tags.

    Parameters
    ----------
    Y_true : array-like or sparse matrix of shape (n_samples, n_tags)
        True tags, 0/1.
    scores : array-like of shape (n_samples, n_tags)
        Tag scores; the ``k`` largest of each row are the predicted tags (ties: smaller tag index
        first).
    k : int, default=5
        Number of predicted tags per image.
    {average}

    Returns
    -------
    precision : float

    Raises
    ------
    TypeError
        If ``k`` is not an integer, or ``Y_true`` / ``scores`` are not real numbers.
    ValueError
        If ``Y_true`` is not 0/1, the shapes differ, ``scores`` is not finite, ``k`` is not in
        ``[1, n_tags]`` or ``average`` unknown.

    Notes
    -----
    With ``Z_i`` the predicted set and ``Y_i`` the true set of image ``i``, the ``"samples"``
    precision is ``(1/n) Σ_i |Y_i ∩ Z_i| / k``. It equals
    ``sklearn.metrics.precision_score(Y_true, Z, average=average)`` for the binary matrix ``Z``.

    Examples
    --------
    >>> precision_at_k([[1, 0, 1, 0]], [[0.9, 0.8, 0.1, 0.0]], k=2)
    0.5
    """
    return float(_prf_at_k(Y_true, scores, k, average, zero_division)[0])


def recall_at_k(Y_true, scores, k=5, *, average="samples", zero_division=0.0):
    """Recall of the top-``k`` predicted tags.

    Parameters
    ----------
    Y_true : array-like or sparse matrix of shape (n_samples, n_tags)
        True tags, 0/1.
    scores : array-like of shape (n_samples, n_tags)
        Tag scores; ties between equal scores are broken by the smaller tag index.
    k : int, default=5
        Number of predicted tags per image.
    {average}

    Returns
    -------
    recall : float

    Notes
    -----
    ``"samples"`` recall is ``(1/n) Σ_i |Y_i ∩ Z_i| / |Y_i|``; images with no true tag count as
    ``zero_division``. Equals ``sklearn.metrics.recall_score`` on the top-k indicator matrix.

    Examples
    --------
    >>> recall_at_k([[1, 0, 1, 0]], [[0.9, 0.8, 0.1, 0.0]], k=2)
    0.5
    """
    return float(_prf_at_k(Y_true, scores, k, average, zero_division)[1])


def f1_at_k(Y_true, scores, k=5, *, average="samples", zero_division=0.0):
    """F1 score of the top-``k`` predicted tags (the paper's "F1", k = 5 by default).

    Parameters
    ----------
    Y_true : array-like or sparse matrix of shape (n_samples, n_tags)
        True tags, 0/1.
    scores : array-like of shape (n_samples, n_tags)
        Tag scores; ties between equal scores are broken by the smaller tag index.
    k : int, default=5
        Number of predicted tags per image.
    {average}

    Returns
    -------
    f1 : float

    Notes
    -----
    ``"samples"``: ``(1/n) Σ_i 2|Y_i ∩ Z_i| / (|Y_i| + k)``, which equals
    ``sklearn.metrics.f1_score(Y_true, Z, average="samples")``. ``"macro"`` and ``"micro"`` equal
    scikit-learn's as well; ``"mean_pr"`` is ``2 P̄ R̄ / (P̄ + R̄)`` from the tag-averaged precision
    and recall.

    Examples
    --------
    >>> f1_at_k([[1, 0, 1, 0]], [[0.9, 0.8, 0.1, 0.0]], k=2)
    0.5
    >>> round(f1_at_k([[1, 1, 0], [0, 0, 1]], [[3, 2, 1], [3, 2, 1]], k=1, average="micro"), 4)
    0.4
    """
    return float(_prf_at_k(Y_true, scores, k, average, zero_division)[2])


for _fn in (precision_at_k, recall_at_k, f1_at_k):
    _fn.__doc__ = _fn.__doc__.replace("{average}", _AVERAGE_DOC)
del _fn


# --------------------------------------------------------------------------------------------
# average precision
# --------------------------------------------------------------------------------------------
def average_precision_columns(Y, S):
    """Average precision of every column of ``S`` as a ranking of the positives of ``Y``.

    Parameters
    ----------
    Y : ndarray of bool, shape (n, m)
        Relevance of each item (rows) for each ranking (columns).
    S : ndarray of shape (n, m)
        Scores, higher ranked first.

    Returns
    -------
    ap : ndarray of float64, shape (m,)
        NaN for a column without any positive.

    Notes
    -----
    ``AP = Σ_j (R_j − R_{j−1}) P_j`` over the distinct score thresholds ``j`` (scikit-learn's
    definition, without interpolation): every positive contributes the precision measured at the
    end of its group of tied scores, divided by the number of positives. Vectorised over
    columns: one sort per column, O(n m log n).
    """
    Y = np.asarray(Y, dtype=bool)
    S = np.asarray(S)
    n = S.shape[0]
    order = np.argsort(-S, axis=0, kind="stable")
    s_sorted = np.take_along_axis(S, order, axis=0)
    y_sorted = np.take_along_axis(Y, order, axis=0)
    cum_tp = np.cumsum(y_sorted, axis=0, dtype=np.float64)
    # index of the last element of each tied group, propagated backwards to the group
    is_end = np.ones(S.shape, dtype=bool)
    is_end[:-1] = s_sorted[:-1] != s_sorted[1:]
    rows = np.broadcast_to(np.arange(n)[:, None], S.shape)
    end_idx = np.where(is_end, rows, n - 1)
    end_idx = np.minimum.accumulate(end_idx[::-1], axis=0)[::-1]
    prec_at_end = np.take_along_axis(cum_tp, end_idx, axis=0) / (end_idx + 1.0)
    n_pos = cum_tp[-1] if n else np.zeros(S.shape[1])
    total = np.where(y_sorted, prec_at_end, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_pos > 0, total / np.maximum(n_pos, 1), np.nan)


def mean_average_precision(Y_true, scores, *, average="macro"):
    """Mean average precision of tag scores.

    Parameters
    ----------
    Y_true : array-like or sparse matrix of shape (n_samples, n_tags)
        True tags, 0/1.
    scores : array-like of shape (n_samples, n_tags)
        Tag scores.
    average : {"macro", "samples"}, default="macro"
        ``"macro"``: the retrieval view, one ranking of the images per tag (AP of each column,
        averaged over tags); ``"samples"``: one ranking of the tags per image (AP of each row,
        averaged over images).

    Returns
    -------
    map : float
        Tags (``"macro"``) or images (``"samples"``) without any positive are skipped, as they
        have no defined AP; NaN if none has a positive.

    Notes
    -----
    Each AP equals ``sklearn.metrics.average_precision_score`` on the same column (or row): tied
    scores form one threshold.

    Examples
    --------
    >>> mean_average_precision([[1, 0], [0, 1], [1, 0]], [[0.9, 0.1], [0.8, 0.7], [0.3, 0.2]])
    0.9166666666666666
    """
    Y = _check_labels(Y_true)
    S = _check_scores(scores, Y.shape)
    if average == "macro":
        ap = average_precision_columns(Y, S)
    elif average == "samples":
        ap = average_precision_columns(Y.T, S.T)
    else:
        raise ValueError(f"average must be 'macro' or 'samples'; got {average!r}.")
    ap = ap[~np.isnan(ap)]
    return float(ap.mean()) if ap.size else float("nan")


# --------------------------------------------------------------------------------------------
# retrieval
# --------------------------------------------------------------------------------------------
def _check_embeddings(query, database, y_query, y_database, metric):
    query = np.asarray(query)
    database = np.asarray(database)
    for name, arr in (("query", query), ("database", database)):
        if arr.ndim != 2 or arr.shape[0] == 0:
            raise ValueError(f"{name} must be a non-empty 2-D array; got shape {arr.shape}.")
        if not np.issubdtype(arr.dtype, np.number):
            raise TypeError(f"{name} must be numeric; got dtype {arr.dtype}.")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} contains NaN or infinite values.")
    if query.shape[1] != database.shape[1]:
        raise ValueError(
            f"query and database must have the same number of features; got {query.shape[1]} "
            f"and {database.shape[1]}."
        )
    y_query = _check_retrieval_labels(y_query, query.shape[0], "y_query")
    y_database = _check_retrieval_labels(y_database, database.shape[0], "y_database")
    if y_query.ndim != y_database.ndim or (
        y_query.ndim == 2 and y_query.shape[1] != y_database.shape[1]
    ):
        raise ValueError(
            "y_query and y_database must both be class vectors or both 0/1 matrices with the same "
            f"number of columns; got shapes {y_query.shape} and {y_database.shape}."
        )
    check_choice(metric, "metric", ("cosine", "euclidean"))
    return query.astype(np.float64), database.astype(np.float64), y_query, y_database


def _check_retrieval_labels(y, n, name):
    if sp.issparse(y):
        y = y.toarray()
    y = np.asarray(y)
    if y.ndim == 2:
        y = _check_labels(y, name)
    elif y.ndim != 1:
        raise ValueError(f"{name} must be 1-D class labels or a 2-D 0/1 matrix; got {y.shape}.")
    if y.shape[0] != n:
        raise ValueError(f"{name} has {y.shape[0]} rows but its embeddings have {n}.")
    return y


def _similarity_blocks(query, database, y_query, y_database, metric, exclude_self, block_size):
    """Yield (similarity, relevance) blocks of queries: (b, n_database) each."""
    if metric == "cosine":
        qn = np.linalg.norm(query, axis=1, keepdims=True)
        dn = np.linalg.norm(database, axis=1, keepdims=True)
        query = query / np.where(qn > 0, qn, 1.0)
        database = database / np.where(dn > 0, dn, 1.0)
    else:
        db_sq = np.einsum("ij,ij->i", database, database)
    for start in range(0, query.shape[0], block_size):
        stop = min(start + block_size, query.shape[0])
        gram = query[start:stop] @ database.T
        if metric == "cosine":
            sim = gram
        else:
            q_sq = np.einsum("ij,ij->i", query[start:stop], query[start:stop])
            # negated squared distance ranks exactly as the negated distance
            sim = 2.0 * gram - db_sq[None, :] - q_sq[:, None]
        if y_query.ndim == 1:
            rel = y_query[start:stop, None] == y_database[None, :]
        else:
            rel = (y_query[start:stop].astype(np.float64) @ y_database.T.astype(np.float64)) > 0
        if exclude_self:
            rows = np.arange(stop - start)
            sim[rows, start + rows] = -np.inf
            rel[rows, start + rows] = False
        yield sim, rel


def retrieval_scores(
    query,
    database,
    y_query,
    y_database,
    *,
    metric="cosine",
    k=100,
    exclude_self=False,
    block_size=512,
):
    """Retrieval mAP and precision@k of embeddings in one pass.

    Parameters
    ----------
    query : array-like of shape (n_query, d)
        Query embeddings.
    database : array-like of shape (n_database, d)
        Database embeddings.
    y_query, y_database : array-like
        Class labels (1-D; relevant = same class) or 0/1 tag matrices (2-D; relevant = at least
        one tag in common).
    metric : {"cosine", "euclidean"}, default="cosine"
        Similarity used to rank the database for each query.
    k : int, default=100
        Cut-off of the precision, ``1 <= k <= n_database`` (``n_database - 1`` with
        ``exclude_self``): as for the tag metrics, a ``k`` beyond the items ranked is an error.
    exclude_self : bool, default=False
        If True, ``query`` and ``database`` are the same set and item ``i`` is removed from the
        ranking of query ``i`` (leave-one-out retrieval).
    block_size : int, default=512
        Queries processed per block (memory O(block_size · n_database)).

    Returns
    -------
    scores : dict
        ``{"map": float, "precision_at_k": float, "k": int}``. Queries without any relevant
        database item are skipped by the mAP.

    Notes
    -----
    AP per query as in :func:`average_precision_columns` (tied similarities form one
    threshold); precision@k takes the top-k database items, ties broken by the smaller database
    index.
    """
    query, database, y_query, y_database = _check_embeddings(
        query, database, y_query, y_database, metric
    )
    if exclude_self and query.shape[0] != database.shape[0]:
        raise ValueError(
            "exclude_self=True requires query and database to be the same set; got "
            f"{query.shape[0]} and {database.shape[0]} rows."
        )
    n_db = database.shape[0] - (1 if exclude_self else 0)
    k_eff = _check_k(k, n_db, "database items" + (" (itself excluded)" if exclude_self else ""))
    block_size = check_int(block_size, "block_size", low=1)
    ap_all, prec_all = [], []
    for sim, rel in _similarity_blocks(
        query, database, y_query, y_database, metric, exclude_self, block_size
    ):
        ap_all.append(average_precision_columns(rel.T, sim.T))
        top = np.argsort(-sim, axis=1, kind="stable")[:, :k_eff]
        prec_all.append(np.take_along_axis(rel, top, axis=1).mean(axis=1))
    ap = np.concatenate(ap_all)
    ap = ap[~np.isnan(ap)]
    return {
        "map": float(ap.mean()) if ap.size else float("nan"),
        "precision_at_k": float(np.concatenate(prec_all).mean()),
        "k": k_eff,
    }


def retrieval_map(
    query, database, y_query, y_database, metric="cosine", *, exclude_self=False, block_size=512
):
    """Mean average precision of retrieving ``database`` items relevant to each query.

    Parameters
    ----------
    query : array-like of shape (n_query, d)
        Query embeddings.
    database : array-like of shape (n_database, d)
        Database embeddings.
    y_query, y_database : array-like
        Class labels (1-D; relevant = same class) or 0/1 tag matrices (2-D; relevant = share a
        tag).
    metric : {"cosine", "euclidean"}, default="cosine"
        Similarity used for the ranking.
    exclude_self : bool, default=False
        Leave-one-out retrieval when query and database are the same set.
    block_size : int, default=512
        Queries per block.

    Returns
    -------
    map : float
        Mean over queries (with at least one relevant item) of the average precision of the full
        database ranking; each AP equals ``sklearn.metrics.average_precision_score(relevant,
        similarity)``.

    Examples
    --------
    >>> q = [[1.0, 0.0]]; db = [[1.0, 0.1], [0.0, 1.0], [0.9, 0.0]]
    >>> retrieval_map(q, db, [0], [0, 1, 0])
    1.0
    """
    return retrieval_scores(
        query,
        database,
        y_query,
        y_database,
        metric=metric,
        k=1,
        exclude_self=exclude_self,
        block_size=block_size,
    )["map"]


def retrieval_precision_at_k(
    query, database, y_query, y_database, k=100, *, metric="cosine", exclude_self=False
):
    """Mean fraction of relevant items among the top-``k`` retrieved (ties: smaller index first).

    Parameters
    ----------
    query, database, y_query, y_database, metric, exclude_self
        As in :func:`retrieval_map`.
    k : int, default=100
        Cut-off, at most the number of database items ranked (see :func:`retrieval_scores`).

    Returns
    -------
    precision : float

    Examples
    --------
    >>> retrieval_precision_at_k([[1.0, 0.0]], [[1.0, 0.1], [0.0, 1.0], [0.9, 0.0]],
    ...                          [0], [0, 1, 0], k=2)
    1.0
    """
    return retrieval_scores(
        query, database, y_query, y_database, metric=metric, k=k, exclude_self=exclude_self
    )["precision_at_k"]

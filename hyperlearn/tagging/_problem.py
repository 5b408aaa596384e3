"""The tagging problem: validated features and tags (the hypergraph: ``_families``)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..utils._validation import check_matrix

__all__ = [
    "ComplexFeaturesError",
    "check_extra_hypergraph",
    "check_features",
    "check_tags",
    "check_views",
]


class ComplexFeaturesError(TypeError, ValueError):
    """Complex features: a TypeError by the library's rule (``utils._validation``) and a
    ValueError saying "Complex data not supported", as scikit-learn's estimator checks
    require of every estimator."""


def check_features(X, name="X", n_features=None):
    """Dense finite float32/float64 features (``utils._validation.check_matrix``).

    Parameters
    ----------
    X : array-like of shape (n_images, n_features)
    name : str
        Parameter name used in error messages.
    n_features : int, optional
        Features of the fitted data: ``X`` must have as many (one image is then enough).

    Returns
    -------
    ndarray of shape (n_images, n_features), float32 or float64 (float16 widened to float32,
    bool and integers converted to float64)

    Raises
    ------
    TypeError
        Sparse, or a dtype other than bool, integer or float (complex: ``ComplexFeaturesError``,
        also a ValueError).
    ValueError
        Not 2-D, NaN/inf, fewer than two images (at fit), no feature, or a feature count other
        than ``n_features``.
    """
    try:
        X = check_matrix(X, name, min_rows=0, min_cols=0)
    except TypeError as exc:
        if not sp.issparse(X) and np.iscomplexobj(X):
            raise ComplexFeaturesError(f"{exc} Complex data not supported.") from None
        raise
    # the wording of scikit-learn's messages, which its estimator checks match
    min_samples = 2 if n_features is None else 1
    if X.shape[0] < min_samples:
        raise ValueError(
            f"{name} has {X.shape[0]} sample(s) (shape={X.shape}) while a minimum of "
            f"{min_samples} is required."
        )
    if X.shape[1] == 0:
        raise ValueError(
            f"{name} has 0 feature(s) (shape={X.shape}) while a minimum of 1 is required."
        )
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(
            f"{name} has {X.shape[1]} features, but the tagger was fitted with {n_features}."
        )
    return X


def check_tags(Y, n_samples, dtype):
    """A 0/1 tag matrix with ``n_samples`` rows and at least one observed tag, as ``dtype``.

    Parameters
    ----------
    Y : array-like or sparse matrix of shape (n_samples, n_tags) or None
    n_samples : int
        Images of the features ``Y`` goes with.
    dtype : dtype
        Dtype of the returned matrix.

    Returns
    -------
    ndarray of shape (n_samples, n_tags)

    Raises
    ------
    TypeError
        ``Y`` does not hold numbers.
    ValueError
        ``Y`` is None, not 2-D, has the wrong number of rows, entries other than 0 and 1, or
        no observed tag at all.
    """
    if Y is None:
        raise ValueError(
            "HypergraphTagger requires y to be passed, but the target y is None: pass the "
            "observed 0/1 tag matrix Y (n_images, n_tags)."
        )
    if sp.issparse(Y):
        Y = Y.toarray()
    Y = np.asarray(Y)
    if Y.ndim == 1:
        raise ValueError(
            "Y must be a 2-D 0/1 matrix (n_images, n_tags); got a 1-D array. For a single tag "
            "pass Y.reshape(-1, 1)."
        )
    if Y.ndim != 2 or Y.shape[1] == 0:
        raise ValueError(f"Y must be a 2-D 0/1 matrix (n_images, n_tags); got shape {Y.shape}.")
    if Y.shape[0] != n_samples:
        raise ValueError(f"X has {n_samples} images but Y has {Y.shape[0]} rows.")
    if Y.dtype.kind not in "biuf":
        raise TypeError(f"Y must hold 0/1 numbers; got dtype {Y.dtype}.")
    bad = ~((Y == 0) | (Y == 1))
    if np.any(bad):
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"Y must contain only 0 and 1; got {Y[first]!r} at index {first}.")
    if not np.any(Y):
        raise ValueError("Y has no observed tag at all: there is nothing to propagate.")
    return Y.astype(dtype)


def check_extra_hypergraph(hypergraph, n_samples):
    """``hypergraph`` (extra user hyperedges) if it is a Hypergraph on the ``n_samples`` images."""
    from ..hypergraph import Hypergraph

    if hypergraph is None:
        return None
    if not isinstance(hypergraph, Hypergraph) or hypergraph.n_vertices != n_samples:
        raise ValueError(
            f"hypergraph must be a Hypergraph on the {n_samples} images; got {hypergraph!r}."
        )
    return hypergraph


def check_views(X, views):
    """``[X, *views]``, each validated, in ``X``'s dtype, with ``X``'s number of rows."""
    if views is None:
        return [X]
    if isinstance(views, np.ndarray) or not hasattr(views, "__iter__"):
        raise TypeError(
            f"views must be a list of feature arrays or None; got {type(views).__name__}."
        )
    out = [X]
    for j, V in enumerate(views, start=1):
        V = check_features(V, name=f"views[{j - 1}]").astype(X.dtype, copy=False)
        if V.shape[0] != X.shape[0]:
            raise ValueError(
                f"views[{j - 1}] has {V.shape[0]} rows; expected one per image ({X.shape[0]})."
            )
        out.append(V)
    return out

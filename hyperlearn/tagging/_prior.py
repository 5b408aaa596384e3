"""A linear-feature prior for the tagger: one ridge regression of the observed tags on the features.

The hypergraph propagates tags between neighbouring images; when the tags are a (noisy) linear
function of the features, a linear model of all images extrapolates better than any
neighbourhood.  :class:`LinearPrior` is that model, solved in closed form for all tags at once,
and :func:`blend` mixes its scores with the propagated ones:

.. math::

    S = (1 − γ)\\,\\bar F + γ\\,\\bar P,

with ``F̄`` and ``P̄`` the row-normalised (non-negative part of the) propagated scores and ridge
predictions.  ``γ`` is chosen on held-out tags (:func:`choose_prior`), ``0`` being the default
that leaves the propagated scores untouched.
"""

from __future__ import annotations

import numpy as np

from ..utils._validation import check_real
from ._selection import choose_candidate, per_image_f1_ranks

__all__ = [
    "PRIOR_GRID",
    "RIDGE_PENALTY_GRID",
    "LinearPrior",
    "apply_prior",
    "blend",
    "blend_folds",
    "check_prior",
    "choose_prior",
    "fit_prior",
    "fold_priors",
    "ridge_gcv",
    "row_normalize",
    "select_prior",
]

#: Candidate weights γ of ``feature_prior="auto"`` (0: the propagated scores alone, kept unless
#: another weight is clearly better on held-out tags).  1 (the ridge alone, which ignores the
#: hypergraph and an image's own tags) is not a candidate.  See benchmarks/TUNING.md.
PRIOR_GRID = (0.0, 0.25, 0.5, 0.75)
#: Candidate ridge penalties, relative to the mean eigenvalue ``tr(XᵀX)/d`` of the centred,
#: standardised training features; the one of least GCV is used.  See benchmarks/TUNING.md.
RIDGE_PENALTY_GRID = tuple(10.0**p for p in range(-4, 3))


def check_prior(value):
    """``feature_prior`` validated: ``"auto"`` or a weight γ in [0, 1] (as float)."""
    return check_real(value, "feature_prior", low=0, high=1, allow=("auto",))


def row_normalize(A):
    """The non-negative part of ``A`` with each row divided by its sum (zero rows stay zero)."""
    A = np.clip(np.asarray(A, dtype=np.float64), 0.0, None)
    totals = A.sum(axis=1, keepdims=True)
    return np.divide(A, totals, out=np.zeros_like(A), where=totals > 0)


def blend(F, P, gamma):
    """``(1 − γ) row_normalize(F) + γ row_normalize(P)`` (float64)."""
    return (1.0 - gamma) * row_normalize(F) + gamma * row_normalize(P)


def ridge_gcv(X_c, Y_c, grid=RIDGE_PENALTY_GRID):
    """Ridge coefficients ``B = (XcᵀXc + λI)⁻¹XcᵀYc`` with λ of least GCV: ``(B, λ)``.

    Parameters
    ----------
    X_c : ndarray of shape (n, d)
        Centred features (float64).
    Y_c : ndarray of shape (n, t)
        Centred targets (float64); one λ serves all columns.
    grid : sequence of float
        Penalties relative to ``tr(XcᵀXc)/d``.

    Returns
    -------
    B : ndarray of shape (d, t)
    penalty : float
        The absolute λ used.

    Notes
    -----
    With the thin SVD ``X_c = U diag(s) Vᵀ`` (obtained from the eigendecomposition of the smaller
    of ``XcᵀXc`` and ``XcXcᵀ``) and ``Z = diag(s) UᵀYc = VᵀXcᵀYc``, the hat matrix
    ``H = U diag(s²/(s² + λ)) Uᵀ`` gives

    .. math::

        ‖(I − H)Y_c‖² = ‖Y_c‖² − Σ_j \\frac{s_j² + 2λ}{(s_j² + λ)²} ‖Z_j‖²,
        \\qquad \\mathrm{GCV}(λ) = \\frac{‖(I − H)Y_c‖²}{n (1 − \\mathrm{tr}\\,H / n)²},

    with no division by a small ``s_j``, and ``B = V diag(1/(s² + λ)) Z``.  The eigen route
    squares the condition number: ``B`` is accurate to about ``κ² ε`` with
    ``κ² = (s_max² + λ)/(s_min² + λ)``.

    References
    ----------
    G. H. Golub, M. Heath, G. Wahba, "Generalized cross-validation as a method for choosing a
    good ridge parameter", Technometrics 21(2), 1979.
    """
    n, d = X_c.shape
    if d <= n:
        s2, V = np.linalg.eigh(X_c.T @ X_c)
        Z = V.T @ (X_c.T @ Y_c)
    else:  # the Gram matrix of the images is the smaller one
        s2, U = np.linalg.eigh(X_c @ X_c.T)
        s2 = np.clip(s2, 0.0, None)
        U_tY = U.T @ Y_c
        Z = np.sqrt(s2)[:, None] * U_tY
        V = None
    s2 = np.clip(s2, 0.0, None)
    scale = max(float(s2.sum()) / d, np.finfo(np.float64).tiny)
    total = float(np.sum(Y_c * Y_c))
    z2 = np.sum(Z * Z, axis=1)
    best = None
    for relative in grid:
        lam = relative * scale
        residual = total - float(np.sum((s2 + 2 * lam) / (s2 + lam) ** 2 * z2))
        dof = float(np.sum(s2 / (s2 + lam)))
        gcv = max(residual, 0.0) / (n * (1.0 - dof / n) ** 2) if dof < n else np.inf
        if best is None or gcv < best[0]:
            best = (gcv, lam)
    lam = best[1]
    if V is not None:
        return V @ (Z / (s2 + lam)[:, None]), lam
    return X_c.T @ (U @ (U_tY / (s2 + lam)[:, None])), lam


class LinearPrior:
    """Ridge regression of 0/1 tags on the features, one penalty for all tags.

    Each feature is centred, and standardised where ``standardize`` says so, with the mean and
    standard deviation of all images (transductive, like the tagger's standardisation); the
    model is fitted on the rows ``rows`` (the tagged images) with an intercept, and λ chosen by
    GCV (:func:`ridge_gcv`).  The tagger passes its own per-view choice (``standardize_``), so
    the ridge sees the features as the neighbour search does: standardising many rare binary
    features (bag-of-words data) inflates them and weakens the ridge (benchmarks/TUNING.md).

    Attributes
    ----------
    coef_ : ndarray of shape (n_features, n_tags)
        Coefficients on the standardised features.
    intercept_ : ndarray of shape (n_tags,)
    penalty_ : float
        The ridge penalty λ (absolute, on the features as scaled).
    """

    def fit(self, X, Y, rows, standardize=True):
        """Fit on ``X[rows]``, ``Y[rows]``; ``X`` all images' features.  Returns self.

        ``standardize``: True (every feature divided by its standard deviation), False (only
        centred), or a boolean mask over the features."""
        values = np.asarray(X, dtype=np.float64)
        self.mean_ = values.mean(axis=0)
        scale = values.std(axis=0)
        scale[scale == 0] = 1.0
        mask = np.broadcast_to(np.asarray(standardize, dtype=bool), scale.shape)
        self.scale_ = np.where(mask, scale, 1.0)
        X_s = (values[rows] - self.mean_) / self.scale_
        Y_t = np.asarray(Y[rows], dtype=np.float64)
        x_mean, y_mean = X_s.mean(axis=0), Y_t.mean(axis=0)
        self.coef_, self.penalty_ = ridge_gcv(X_s - x_mean, Y_t - y_mean)
        self.intercept_ = y_mean - x_mean @ self.coef_
        return self

    def predict(self, X):
        """Predicted tag scores (float64, not clipped) of the images ``X``."""
        X_s = (np.asarray(X, dtype=np.float64) - self.mean_) / self.scale_
        return X_s @ self.coef_ + self.intercept_

    def fit_views(self, views, Y, rows, standardize=None):
        """:meth:`fit` on the feature views side by side; ``standardize`` one bool per view
        (None: all standardised)."""
        if standardize is None:
            standardize = [True] * len(views)
        if len(standardize) != len(views):
            raise ValueError(
                f"standardize has {len(standardize)} entries for {len(views)} views; "
                "expected one bool per view"
            )
        mask = np.concatenate(
            [np.full(np.shape(V)[1], bool(c)) for V, c in zip(views, standardize, strict=True)]
        )
        return self.fit(_side_by_side(views), Y, rows, standardize=mask)

    def predict_views(self, views):
        """:meth:`predict` on the feature views side by side."""
        return self.predict(_side_by_side(views))


def _side_by_side(views):
    if len(views) == 1:
        return views[0]
    return np.hstack([np.asarray(V, dtype=np.float64) for V in views])


def fit_prior(views, Y, gamma, standardize=None):
    """The :class:`LinearPrior` of the tagged images of ``Y``, or None when ``gamma`` is 0
    (``standardize``: one bool per view, see :meth:`LinearPrior.fit_views`)."""
    if gamma == 0:
        return None
    rows = np.flatnonzero(np.asarray(Y).any(axis=1))
    return LinearPrior().fit_views(views, Y, rows, standardize)


def apply_prior(scores, P, gamma):
    """:func:`blend` of the propagated ``scores`` with ``P``, in the dtype of ``scores``."""
    return blend(scores, P, gamma).astype(scores.dtype, copy=False)


def fold_priors(views, Y, folds, standardize=None):
    """The ridge predictions of the held-out images of each fold, the ridge fitted on the
    tagged images outside that fold.

    ``folds`` is a list of ``(validation, F_hidden)`` (only ``validation`` is read here);
    ``standardize``: one bool per view, see :meth:`LinearPrior.fit_views`.
    """
    tagged = np.asarray(Y).any(axis=1)
    priors = []
    for validation, _ in folds:
        hidden = np.zeros(Y.shape[0], dtype=bool)
        hidden[validation] = True
        model = LinearPrior().fit_views(views, Y, np.flatnonzero(tagged & ~hidden), standardize)
        priors.append(model.predict_views([V[validation] for V in views]))
    return priors


def blend_folds(folds, priors, gamma):
    """The held-out images' scores at ``gamma``, per fold: :func:`blend`, or ``F_hidden``
    itself for γ = 0."""
    if gamma == 0:
        return [F for _, F in folds]
    return [blend(F, P, gamma) for (_, F), P in zip(folds, priors, strict=True)]


def select_prior(views, Y, folds, grid=PRIOR_GRID, standardize=None):
    """γ chosen on held-out images: ``(γ, {γ: criterion}, [S_hidden of each fold])``.

    ``folds`` is a list of ``(validation, F_hidden)``: held-out images and their propagated
    scores, computed with their tags hidden.  :func:`choose_prior` scores the held-out images
    of all folds together, with the :func:`fold_priors`.  ``S_hidden`` are the held-out
    images' scores at the chosen γ (:func:`blend_folds`).
    """
    priors = fold_priors(views, Y, folds, standardize)
    gamma, scores = choose_prior(
        np.concatenate([F for _, F in folds]),
        np.concatenate(priors),
        np.concatenate([np.asarray(Y[validation]) for validation, _ in folds]),
        grid,
    )
    return gamma, scores, blend_folds(folds, priors, gamma)


def choose_prior(F_hidden, hidden_prior, Y_hidden, grid=PRIOR_GRID):
    """The held-out choice of γ: ``(γ, {γ: F1@k})``.

    Parameters
    ----------
    F_hidden, hidden_prior : ndarray of shape (n_validation, n_tags)
        Propagated scores and ridge predictions of the held-out images, both computed with
        their observed tags hidden.
    Y_hidden : ndarray of shape (n_validation, n_tags)
        Their observed tags.
    grid : sequence of float in [0, 1]
        Candidates; 0 is the default, replaced only for a clearly better per-image mean of
        F1@1, F1@3 and F1@5 (:func:`~hyperlearn.tagging.choose_candidate`,
        :func:`~hyperlearn.tagging._selection.per_image_f1_ranks`).
    """
    F_n, prior_n = row_normalize(F_hidden), row_normalize(hidden_prior)
    per_image, scores = {}, {}
    for gamma in grid:
        f1 = per_image_f1_ranks(Y_hidden, (1.0 - gamma) * F_n + gamma * prior_n)
        per_image[float(gamma)], scores[float(gamma)] = f1, float(f1.mean())
    return choose_candidate(per_image, 0.0), scores

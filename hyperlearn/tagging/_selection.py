"""Held-out model selection from the observed tags: hide some images' tags, score candidates."""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state

from ..utils._validation import check_real
from ._problem import initial_hypergraph
from ._solvers import solve_f_step

__all__ = [
    "ALPHA_GRID",
    "DEFAULT_ALPHA",
    "SELECTION_STANDARD_ERRORS",
    "VALIDATION_K",
    "choose_candidate",
    "holdout_split",
    "per_image_f1",
    "validation_scores",
]

#: Candidate propagation strengths of ``alpha="auto"``; it holds the default alpha.
ALPHA_GRID = (0.2, 0.35, 0.5, 0.7, 0.9, 0.97)
#: The default alpha, kept by ``alpha="auto"`` unless another one is clearly better.
DEFAULT_ALPHA = 0.9
#: A candidate replaces the default only if its mean per-image F1 gain exceeds this many
#: standard errors of that paired gain: held-out F1 of close candidates is within noise.
#: See benchmarks/TUNING.md.
SELECTION_STANDARD_ERRORS = 1.0
#: Tags per image scored by the held-out selection (F1@k, ``average="samples"``).
VALIDATION_K = 5


def holdout_split(Y, validation_fraction, random_state):
    """Indices of the tagged images whose observed tags are hidden for model selection.

    ``round(validation_fraction · n_tagged)`` of the images with at least one observed tag,
    drawn without replacement by ``random_state``; at least one tagged image is held out and
    at least one kept.  The estimator and the kNN baseline use the same split for the same
    ``random_state``, so their selected settings are compared on the same images.

    Parameters
    ----------
    Y : ndarray of shape (n_images, n_tags)
        Observed 0/1 tags (validated).
    validation_fraction : float in (0, 1)
    random_state : int, RandomState or None

    Returns
    -------
    ndarray of int, sorted

    Raises
    ------
    TypeError
        ``validation_fraction`` is not a real number.
    ValueError
        ``validation_fraction`` not in (0, 1), or too few tagged images to hold some out.
    """
    fraction = check_real(
        validation_fraction, "validation_fraction", low=0, high=1, low_open=True, high_open=True
    )
    tagged = np.flatnonzero(np.asarray(Y).any(axis=1))
    n_val = round(fraction * tagged.size)
    if n_val < 1 or n_val >= tagged.size:
        raise ValueError(
            f"validation_fraction={fraction!r} of the {tagged.size} tagged images holds out "
            f"{n_val}; the held-out selection needs at least one held-out and one remaining "
            "tagged image (use more tagged images, another validation_fraction, or a fixed "
            "value instead of 'auto')."
        )
    rng = check_random_state(random_state)
    return np.sort(rng.choice(tagged, size=n_val, replace=False))


def per_image_f1(Y_true, scores, k):
    """F1 of the top-``k`` tags of each image: ``2|Y_i ∩ Z_i| / (|Y_i| + k)`` (float64).

    Their mean is :func:`hyperlearn.metrics.f1_at_k` with ``average="samples"``.
    """
    from ..metrics import top_k_indicator

    Y_true = np.asarray(Y_true).astype(bool)
    hits = (Y_true & top_k_indicator(scores, k)).sum(axis=1)
    return 2.0 * hits / (Y_true.sum(axis=1) + k)


def choose_candidate(per_image, default):
    """The held-out choice among candidates, given each one's per-image F1.

    The candidate with the best mean (the first on ties) replaces ``default`` only if its
    paired gain over the default, ``d_i = f_i(best) − f_i(default)``, has a mean above
    ``SELECTION_STANDARD_ERRORS`` standard errors ``std(d)/√|V|``; otherwise the default is
    kept.  The held-out tags are noisy, and a few hundred images leave the F1 of close
    candidates within noise of each other, so the best mean alone would move with the draw
    of the held-out images.

    Parameters
    ----------
    per_image : dict of candidate to ndarray of shape (n_validation,)
    default : candidate (a key of ``per_image``)

    Returns
    -------
    candidate

    Examples
    --------
    >>> import numpy as np
    >>> f = {0.5: np.array([0.9, 0.8, 0.7]), 0.9: np.array([0.5, 0.4, 0.3])}
    >>> choose_candidate(f, 0.9)
    0.5
    >>> choose_candidate({0.5: np.array([0.6, 0.4]), 0.9: np.array([0.4, 0.5])}, 0.9)
    0.9
    """
    means = {c: float(np.mean(v)) for c, v in per_image.items()}
    best = max(means, key=means.get)
    if best == default:
        return best
    gain = per_image[best] - per_image[default]
    if gain.size < 2:
        return default
    se = float(np.std(gain, ddof=1)) / np.sqrt(gain.size)
    return best if gain.mean() > SELECTION_STANDARD_ERRORS * se else default


def validation_scores(knn_hg, extra, Y, validation, tag_weight, grid, rtol):
    """Held-out F1@k of each ``alpha`` in ``grid``: ``({alpha: F1}, {alpha: per-image F1})``.

    The observed tags of the images ``validation`` are hidden (their rows of ``Y`` zeroed,
    which also removes them from the tag hyperedges), one f-step with the initial weights is
    solved per alpha on that one hypergraph, and the scores of the hidden images are compared
    with their hidden observed tags.  Nothing but ``Y`` is looked at.

    The solves use block CG to ``rtol`` whatever the fit's solver, so every solver sees the
    same validation scores (up to ``rtol``), and ``solver="exact"`` does not pay for
    ``len(grid)`` dense factorisations (see benchmarks/TUNING.md).

    Raises
    ------
    RuntimeError
        Block CG broke down (NaN/inf in the features).
    """
    from ..metrics import f1_at_k

    Y_train = Y.copy()
    Y_train[validation] = 0
    hg, _ = initial_hypergraph(knn_hg, Y_train, extra, tag_weight)
    target = Y[validation]
    k = min(VALIDATION_K, Y.shape[1])
    scores, per_image = {}, {}
    for a in grid:
        rhs = (1.0 - a) * Y_train
        F, _, info = solve_f_step(
            "block_cg", hg, a, rhs, rhs.copy(), rtol=rtol, n_blocks=1, rank=1, random_state=0
        )
        if info < 0:
            raise RuntimeError(
                f"block CG broke down (info={info}) during the held-out "
                "selection of alpha; this indicates NaN/inf in the features."
            )
        scores[float(a)] = f1_at_k(target, F[validation], k)
        per_image[float(a)] = per_image_f1(target, F[validation], k)
    return scores, per_image

"""Held-out model selection from the observed tags: hide some images' tags, score candidates."""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state

from ..utils._validation import check_real
from ._families import assemble_families, standardize_features
from ._solvers import solve_f_step

__all__ = [
    "ALPHA_GRID",
    "DEFAULT_ALPHA",
    "GRID_PATIENCE",
    "MU_GRID",
    "RANKING_FOLDS_MAX_TAGGED",
    "RANKING_KS",
    "SELECTION_STANDARD_ERRORS",
    "VALIDATION_K",
    "choose_candidate",
    "choose_standardization",
    "holdout_split",
    "more_folds",
    "mu_validation_scores",
    "per_image_f1",
    "per_image_f1_ranks",
    "selection_subset",
    "standardization_and_neighbors",
    "validation_problem",
    "validation_scores",
]

#: Candidate propagation strengths of ``alpha="auto"`` (increasing: each solve is warm-started
#: from the previous one); it holds the default alpha.  See benchmarks/TUNING.md.
ALPHA_GRID = (0.2, 0.35, 0.5, 0.7, 0.9)
#: The default alpha, kept by ``alpha="auto"`` unless another one is clearly better.
#: See benchmarks/TUNING.md.
DEFAULT_ALPHA = 0.2
#: ``alpha="auto"`` stops going up ``ALPHA_GRID`` after this many successive candidates whose
#: held-out F1 is below the best so far: the larger alphas are the dearest solves, and the
#: held-out F1 falls on past its peak.  See benchmarks/TUNING.md.
GRID_PATIENCE = 2
#: The held-out solves stop at ``max(solver_tol, SELECTION_RTOL)``: a candidate is judged by
#: its held-out images' top tags, which a relative residual of 1e-3 already fixes.
#: See benchmarks/TUNING.md.
SELECTION_RTOL = 1e-3
#: Finite candidates of ``mu="auto"`` (scale-free units); the default is ``inf`` (fixed
#: weights), left only for a clearly better held-out F1.  See benchmarks/TUNING.md.
MU_GRID = (1.0,)
#: The held-out choices of alpha, mu and the prior's weight are made on at most this many
#: images (a random subset beyond, with its own kNN hyperedges): their solves on all images
#: were the largest stage of a fit at 10⁶ images.  See benchmarks/TUNING.md.
SELECTION_MAX_IMAGES = 200_000
#: choose_standardization works on at most this many images (an evenly spaced subset beyond):
#: its two exact searches grow as n², and a comparison of two F1 means needs far fewer votes.
STANDARDIZATION_MAX_IMAGES = 50_000
#: ... and lets at most this many tagged images vote (evenly spaced): the standard error of a
#: mean F1 gain over 10 000 images is below 0.003 (per-image F1 lies in [0, 1]).
STANDARDIZATION_MAX_QUERIES = 10_000
#: A candidate replaces the default only if its mean per-image F1 gain exceeds this many
#: standard errors of that paired gain: held-out F1 of close candidates is within noise.
#: See benchmarks/TUNING.md.
SELECTION_STANDARD_ERRORS = 1.0
#: Tags per image scored by the held-out selection (F1@k, ``average="samples"``).
VALIDATION_K = 5
#: The ``k`` of the held-out criterion of the choices that reorder an image's tags
#: (:func:`per_image_f1_ranks`).  See benchmarks/TUNING.md.
RANKING_KS = (1, 3, 5)
#: Up to this many tagged images, the choices scored by :func:`per_image_f1_ranks` are scored
#: on every tagged image, one fold at a time (:func:`more_folds`).  See benchmarks/TUNING.md.
RANKING_FOLDS_MAX_TAGGED = 2_000


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


def more_folds(Y, validation, validation_fraction, random_state):
    """The other held-out folds of a small data set, or ``[]``.

    With at most :data:`RANKING_FOLDS_MAX_TAGGED` tagged images, the tagged images outside
    ``validation`` are split at random into ``round(1/validation_fraction) − 1`` folds (sorted
    index arrays; together with ``validation`` every tagged image is held out once), on which
    the cheap choices that reorder an image's tags (the prior's weight, the frequency
    correction) are scored as well: a fifth of a few hundred tagged images is too few to
    choose by.  Larger sets (and ``validation_fraction > 1/2``) get no more folds.
    """
    tagged = np.flatnonzero(np.asarray(Y).any(axis=1))
    n_folds = round(1.0 / validation_fraction)
    if tagged.size > RANKING_FOLDS_MAX_TAGGED or n_folds < 2:
        return []
    rest = np.setdiff1d(tagged, validation)
    rng = check_random_state(random_state)
    parts = np.array_split(rng.permutation(rest), n_folds - 1)
    return [np.sort(part) for part in parts if part.size]


def selection_subset(n_images, random_state):
    """Sorted indices of the images the held-out selection works on, or None for all.

    Up to :data:`SELECTION_MAX_IMAGES` images the selection uses them all (and draws nothing
    from ``random_state``); beyond, a random subset of that many, drawn by ``random_state``.
    """
    if n_images <= SELECTION_MAX_IMAGES:
        return None
    rng = check_random_state(random_state)
    return np.sort(rng.choice(n_images, size=SELECTION_MAX_IMAGES, replace=False))


def per_image_f1(Y_true, scores, k):
    """F1 of the top-``k`` tags of each image: ``2|Y_i ∩ Z_i| / (|Y_i| + k)`` (float64).

    Their mean is :func:`hyperlearn.metrics.f1_at_k` with ``average="samples"``.
    """
    from ..metrics import top_k_indicator

    Y_true = np.asarray(Y_true).astype(bool)
    hits = (Y_true & top_k_indicator(scores, k)).sum(axis=1)
    return 2.0 * hits / (Y_true.sum(axis=1) + k)


def per_image_f1_ranks(Y_true, scores, ks=RANKING_KS):
    """Mean over the ``k`` of ``ks`` below the number of tags (``k = 1`` at least) of each
    image's :func:`per_image_f1`: a criterion of the whole top of a ranking, for the choices
    that reorder an image's tags (the prior's weight, the frequency correction)."""
    n_tags = np.shape(Y_true)[1]
    ks = [k for k in ks if k < n_tags] or [1]
    return np.mean([per_image_f1(Y_true, scores, k) for k in ks], axis=0)


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


def validation_problem(visual, extra, Y, validation, tag_weight):
    """``(families, Y_train)``: the fit's hypergraph with the tags of ``validation`` hidden.

    The rows ``validation`` of ``Y`` are zeroed, which also removes those images from the tag
    hyperedges, like the untagged images they stand in for; the visual families are shared
    with the fit.
    """
    Y_train = Y.copy()
    Y_train[validation] = 0
    return assemble_families(visual, Y_train, extra, tag_weight), Y_train


def _held_out_f1(Y, validation, scores):
    from ..metrics import f1_at_k

    k = min(VALIDATION_K, Y.shape[1])
    target, hidden = Y[validation], scores[validation]
    return f1_at_k(target, hidden, k), per_image_f1(target, hidden, k)


def validation_scores(
    families, Y, Y_train, validation, grid, rtol, *, hidden=None, solutions=None, default=None
):
    """Held-out F1@k of each ``alpha`` in ``grid``: ``({alpha: F1}, {alpha: per-image F1})``.

    One f-step with the starting weights of the validation problem (see
    :func:`validation_problem`) is solved per alpha, and the scores of the hidden images are
    compared with their hidden observed tags.  Nothing but ``Y`` is looked at.  The grid is
    walked in its order and left after ``GRID_PATIENCE`` successive candidates whose mean F1
    is below the best so far; the candidates not reached are absent from the result.

    The solves use block CG to ``rtol`` whatever the fit's solver, so every solver sees the
    same validation scores (up to ``rtol``), and ``solver="exact"`` does not pay for
    ``len(grid)`` dense factorisations (see benchmarks/TUNING.md).  A dict ``hidden`` receives
    the scores of the held-out images, ``{alpha: F[validation]}``.  A dict ``solutions``
    receives the whole solutions (all images) of ``default`` and of the best candidate so far
    (at most two are kept: they start later solves).

    Raises
    ------
    RuntimeError
        Block CG broke down (NaN/inf in the features).
    """
    hg = families.hypergraph
    scores, per_image = {}, {}
    F, previous, best, below = None, None, None, 0
    for a in grid:
        a = float(a)
        rhs = (1.0 - a) * Y_train
        # F_α = (1 − α)(I − αΘ)⁻¹Y: the previous alpha's solution, rescaled, is a close start
        F0 = rhs.copy() if F is None else F * ((1.0 - a) / (1.0 - previous))
        F, _, info = solve_f_step(
            "block_cg", hg, a, rhs, F0, rtol=rtol, n_blocks=1, rank=1, random_state=0
        )
        previous = a
        if info < 0:
            raise RuntimeError(
                f"block CG broke down (info={info}) during the held-out "
                "selection of alpha; this indicates NaN/inf in the features."
            )
        scores[a], per_image[a] = _held_out_f1(Y, validation, F)
        if hidden is not None:
            hidden[a] = F[validation]
        if best is None or scores[a] > scores[best]:
            if solutions is not None:
                if best is not None and best != default:
                    del solutions[best]  # no longer the best: it can start no later solve
                solutions[a] = F
            best, below = a, 0
        else:
            if solutions is not None and a == default:
                solutions[a] = F
            below += 1
            if below >= GRID_PATIENCE:
                break
    return scores, per_image


def mu_validation_scores(
    families, Y, Y_train, validation, alpha, alternation, grid, *, hidden=None, F0=None
):
    """Held-out F1@k of adaptive weights for each ``mu`` in ``grid`` (at ``alpha``).

    ``alternation(mu)`` returns an unrun :class:`~hyperlearn.tagging._alternation.Alternation`
    with the fit's settings and that ``mu``; each runs on the validation problem with block CG
    (from ``F0``, e.g. the fixed-weight solution at ``alpha``, when given) and scores the
    hidden images as :func:`validation_scores` does (``hidden`` likewise receives
    ``{mu: F[validation]}``).
    """
    from ._alternation import FStep

    scores, per_image = {}, {}
    for mu in grid:
        f_step = FStep("block_cg", alpha, Y_train, np.random.RandomState(0))
        run = alternation(mu).run(
            families.hypergraph, families.initial_weights, Y_train, f_step, F0=F0
        )
        scores[float(mu)], per_image[float(mu)] = _held_out_f1(Y, validation, run.F)
        if hidden is not None:
            hidden[float(mu)] = run.F[validation]
    return scores, per_image


def choose_standardization(X, Y, n_neighbors, *, metric="euclidean", n_jobs=None):
    """Whether standardised features vote better than the raw ones, leaving each image out.

    Each tagged image gets the mean observed tags of its ``n_neighbors`` nearest other images,
    once with ``X`` and once with :func:`~hyperlearn.tagging._families.standardize_features`
    ``(X)``, and the votes are scored against its own observed tags (per-image F1@k).  The
    standardised features are chosen only if they are clearly better
    (:func:`choose_candidate` with the raw features as the default).  Leaving one image out
    at a time scores every tagged image, not only a held-out fifth: the standard error of the
    comparison is about half of a held-out split's, which is what decides between two
    scalings of similar quality.  Beyond :data:`STANDARDIZATION_MAX_IMAGES` images the
    choice is made on an evenly spaced subset of that many, and at most
    :data:`STANDARDIZATION_MAX_QUERIES` evenly spaced tagged images of it vote.

    Returns
    -------
    standardize : bool
    scores : dict of bool to float
        Leave-one-out F1@k of the votes of the raw (False) and standardised (True) features.
    """
    from ..hypergraph import kneighbors

    n = X.shape[0]
    if n > STANDARDIZATION_MAX_IMAGES:
        # an evenly spaced subset (queries and database): the exact searches grow as n²
        subset = np.linspace(0, n - 1, STANDARDIZATION_MAX_IMAGES).round().astype(np.int64)
        return choose_standardization(
            X[subset], Y[subset], n_neighbors, metric=metric, n_jobs=n_jobs
        )
    queries = np.flatnonzero(np.asarray(Y).any(axis=1))
    if queries.size > STANDARDIZATION_MAX_QUERIES:
        spaced = np.linspace(0, queries.size - 1, STANDARDIZATION_MAX_QUERIES)
        queries = queries[spaced.round().astype(np.int64)]
    k = min(n_neighbors + 1, X.shape[0])
    scores, per_image = {}, {}
    for standardize in (False, True):
        features = standardize_features(X) if standardize else X
        _, idx = kneighbors(features[queries], k, database=features, metric=metric, n_jobs=n_jobs)
        is_self = idx == queries[:, None]
        keep = np.where(is_self.any(axis=1, keepdims=True), ~is_self, np.arange(k) < k - 1)
        rows = idx[keep].reshape(queries.size, k - 1)
        scores[standardize], per_image[standardize] = _vote_f1(Y, queries, rows)
    return choose_candidate(per_image, False), scores


def standardization_and_neighbors(
    X, Y, scales, *, metric="euclidean", n_jobs=None, random_state=None
):
    """:func:`choose_standardization` from the neighbour search the hypergraph needs anyway.

    Up to :data:`STANDARDIZATION_MAX_IMAGES` images and :data:`STANDARDIZATION_MAX_QUERIES`
    tagged ones, the raw and the standardised features are each searched once for all images
    (``max(scales)`` neighbours, as :func:`~hyperlearn.tagging._families.visual_families`
    searches them); every tagged image votes with its ``min(scales)`` nearest other images,
    and the chosen scaling's search is returned for the build, which then searches nothing.
    Beyond those sizes this is :func:`choose_standardization` (no search to hand over).

    Returns
    -------
    standardize : bool
    scores : dict of bool to float
    neighbors : tuple ``(distances, indices)`` of the chosen features, or None
    """
    from ..hypergraph import kneighbors

    n = X.shape[0]
    queries = np.flatnonzero(np.asarray(Y).any(axis=1))
    k, k_max = min(scales), max(scales)
    if n > STANDARDIZATION_MAX_IMAGES or queries.size > STANDARDIZATION_MAX_QUERIES:
        choice, scores = choose_standardization(X, Y, k, metric=metric, n_jobs=n_jobs)
        return choice, scores, None
    scores, per_image, searched = {}, {}, {}
    for standardize in (False, True):
        features = standardize_features(X) if standardize else X
        searched[standardize] = kneighbors(
            features, k_max, metric=metric, n_jobs=n_jobs, method="auto", random_state=random_state
        )
        rows = searched[standardize][1][queries, :k]
        scores[standardize], per_image[standardize] = _vote_f1(Y, queries, rows)
    choice = choose_candidate(per_image, False)
    return choice, scores, searched[choice]


def _vote_f1(Y, queries, rows):
    """Held-out F1@k of each query's vote: the mean observed tags of its neighbours ``rows``
    (one row of image indices per query)."""
    votes = Y[rows].mean(axis=1)
    return _held_out_f1(Y, queries, _scatter(votes, queries, Y.shape))


def _scatter(rows, index, shape):
    out = np.zeros(shape)
    out[index] = rows
    return out

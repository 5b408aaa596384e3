"""HypergraphTagger: image tagging by adaptive hypergraph learning."""

from __future__ import annotations

import time

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ..utils._validation import check_choice, check_int, check_real
from ._alternation import Alternation, FStep
from ._backend import BACKENDS, DaskFStep, f_step_backend
from ._choices import FitStages, HeldOutChoices
from ._families import INCIDENCES, assemble_families, visual_families
from ._frequency import check_frequency_correction, correct_frequencies, tag_frequencies
from ._prior import apply_prior, check_prior, fit_prior
from ._problem import check_extra_hypergraph, check_features, check_tags, check_views
from ._selection import holdout_split, selection_subset
from ._solvers import EXACT_MAX_VERTICES, SOLVERS

__all__ = ["HypergraphTagger"]

#: ``solver="auto"`` uses the dense exact solver up to this many images, block CG beyond.
AUTO_EXACT_MAX_VERTICES = 2_000
#: Default tessellation: vertices per diagonal block and rank per block (see ``n_blocks``).
#: See benchmarks/TUNING.md.
TESSELLATION_BLOCK_SIZE = 5_000
TESSELLATION_RANK = 50
WEIGHT_UPDATES = ("simplex", "closed_form", "degree_aware")
#: Tags per image of ``predict(X)`` without ``k`` (fewer when the model has fewer tags).
PREDICT_DEFAULT_K = 5


class _Settings:
    """Validated fit parameters, with ``"auto"`` and ``None`` defaults resolved (except the
    held-out choices: ``alpha``, ``mu``, ``prior`` and ``frequency`` may still be ``"auto"``)."""

    def __init__(self, alpha, mu, solver, n_blocks, rank, tag_weight, scales, prior, frequency):
        self.alpha, self.mu, self.solver = alpha, mu, solver
        self.n_blocks, self.rank, self.tag_weight = n_blocks, rank, tag_weight
        self.scales, self.prior, self.frequency = scales, prior, frequency


class HypergraphTagger(HeldOutChoices, BaseEstimator):
    """Tag images by transductive learning on a hypergraph with adaptive hyperedge weights.

    The hypergraph is made of *families* of hyperedges: for every feature view and every
    scale ``k`` of ``scales``, one visual hyperedge per image (the image and its ``k`` nearest
    neighbours, members weighted by ``exp(−d²/σ²)`` with ``incidence="probabilistic"``), one
    textual hyperedge per tag (the images the users tagged with it), and any user hyperedges.
    Fitting alternates

    * the **f-step** (Zhou et al. 2006): tag relevance scores ``F`` solve
      ``(I − αΘ) F = (1 − α) Y`` for all tags at once, with
      ``Θ = Dv^{-1/2} H W De^{-1} Hᵀ Dv^{-1/2}`` applied matrix-free;
    * the **w-step** (after Gao et al. 2013): hyperedge weights minimise
      ``μ Σ_e δ_e (w_e − w₀_e)² − Σ_e w_e c_e`` with ``c_e = ‖γ_eᵀF‖²/δ(e)`` on the simplex
      (``Σ w = 1``, ``w ≥ 0``), a penalty centred on the starting weights ``w₀`` and scaled by
      the hyperedge degrees ``δ_e`` so that a weight moves with the size-neutral gain
      ``c_e/δ_e``; then the vertex degrees are recomputed;

    until the relative change of ``w`` or of the objective falls below ``tol``.  ``μ = ∞`` is
    exactly the fixed-weight model.  The propagation strength ``α``, the weight penalty ``μ``
    and the feature standardisation are chosen by default from the observed tags alone, by
    hiding those of some tagged images (see Notes).

    Parameters
    ----------
    n_neighbors : int, default=20
        Neighbours per visual hyperedge (each has ``n_neighbors + 1`` images) when ``scales``
        is None; also the neighbours averaged by :meth:`decision_function`.
    alpha : float in (0, 1) or "auto", default="auto"
        Propagation strength; ``α = 1/(1 + λ)`` for the fitting weight λ of ``‖F − Y‖²``.
        ``"auto"`` chooses it from ``ALPHA_GRID`` (default ``DEFAULT_ALPHA``) on held-out
        tags; the value used is ``alpha_``.
    mu : float > 0, inf or "auto", default="auto"
        Weight penalty μ.  With ``mu_scaling="relative"`` it is scale-free: the absolute value
        is ``mu · (w₀ᵀc) / (2 Σ_e δ_e w₀_e²)`` at the first w-step (``w₀ᵀc = tr(FᵀΘF)``, the
        smoothness credit of the starting weights), so for one family of equal hyperedges
        the unconstrained step is ``w_e/w₀_e − 1 = (c_e − c̄)/(mu · c̄)``: ``mu = 1`` moves a
        weight by its relative gain, larger values less.  ``inf`` keeps ``w₀`` (the fixed
        weights).  ``"auto"`` keeps ``inf`` unless a value of ``MU_GRID`` is clearly better on
        held-out tags.  The absolute value used is ``mu_``.
    adaptive_weights : bool, default=True
        Learn the hyperedge weights; ``False`` runs one f-step with the starting weights
        (the same as ``mu=inf``).
    max_iter : int, default=10
        Maximum number of alternations (f-step + w-step).
    tol : float, default=1e-4
        Stop when ``‖w_new − w‖/‖w‖ < tol`` or the relative decrease of the objective is
        below ``tol``.
    solver : {"block_cg", "cg", "tessellated", "exact", "auto"}, default="block_cg"
        f-step solver: block CG for all tags at once (default), CG per tag, block CG
        preconditioned by the block-tessellated low-rank Woodbury inverse (the paper's
        tessellation, used as the approximate solve inside CG), a dense Cholesky solve
        (reference; at most ``EXACT_MAX_VERTICES`` images), or ``"auto"`` (exact up to
        ``AUTO_EXACT_MAX_VERTICES`` images, block CG beyond).  The iterative solvers all stop
        at the relative residual ``solver_tol`` (true residual), so for the same weights their
        scores agree with ``"exact"`` to ``κ·solver_tol`` with ``κ = 1/(1 − α)``; with adaptive
        weights the looser early f-steps (see ``solver_tol``) let the learned weights differ
        slightly.
    n_blocks, rank : int, default=None
        Tessellation parameters (``solver="tessellated"``): ``None`` gives
        ``max(1, round(n/5000))`` blocks and rank ``min(50, block size)``.  The tessellated
        inverse is factored at the first f-step and reused as the preconditioner of the later
        ones (still symmetric positive definite, so CG stays exact; it only converges more
        slowly as the weights move away).  Used alone as an approximate inverse it is not
        accurate enough for tagging: the block-diagonal model drops the coupling between blocks
        (tag hyperedges couple everything), and a low rank keeps only part of the spectrum.
    random_state : int, RandomState or None, default=None
        Draws the held-out images of the selections and seeds the tessellation's randomized
        factorisations.
    n_jobs : int, default=None
        Threads for the Numba kernels and BLAS (set together, so they never oversubscribe).
    weight_update : {"simplex", "closed_form", "degree_aware"}, default="simplex"
        ``"simplex"``: the centred w-step on the simplex; ``"closed_form"``: its stationary
        point with only ``Σ w = 1``, stepped towards up to the boundary of ``w ≥ 0``;
        ``"degree_aware"``: ``c`` replaced by the exact gradient ``c − b`` of
        ``tr(Fᵀ Θ(w) F)`` with the degrees recomputed (:func:`~hyperlearn.tagging.degree_term`).
    mu_scaling : {"relative", "absolute"}, default="relative"
        How ``mu`` is read (see ``mu``).
    solver_tol : float, default=1e-6
        Relative residual of the iterative f-step solves (true residual, per tag).  With
        adaptive weights, the f-steps of all alternations but the last stop at
        ``max(solver_tol, EARLY_SOLVER_TOL)`` (1e-3): their scores only steer the next w-step.
        The returned scores are always those of the final weights, to ``solver_tol``.
    metric : {"euclidean", "cosine"}, default="euclidean"
        Feature distance of the visual hyperedges.
    tag_weight : float >= 0, default=0.1
        Starting weight of a tag hyperedge relative to a visual one (user hyperedges start
        at 1).  Tag hyperedges are large (every image with the tag), so at equal weight they
        dominate the vertex degrees and spread co-occurring tags.
    verbose : bool, default=False
        Show progress bars (tqdm, on stderr): one over the stages of :meth:`fit` (feature
        scaling and neighbour search, hypergraph, held-out choices, alternations, prior) and
        one over the alternations.
    validation_fraction : float in (0, 1), default=0.2
        Fraction of the images WITH observed tags whose tags are hidden by the held-out
        selections (drawn by ``random_state``).
    scales : sequence of int or None, default=None
        Neighbours per visual hyperedge of each kNN family (e.g. ``(5, 10, 20, 40)``: four
        families per view); ``None`` is ``(n_neighbors,)``.
    incidence : {"probabilistic", "binary"}, default="probabilistic"
        Membership of a visual hyperedge ``e_i``: ``exp(−d(v, i)²/σ_k²)`` with ``σ_k`` the mean
        distance to the ``k``-th neighbour (Gao et al. 2013), or 1.
    standardize : bool or "auto", default="auto"
        Centre and scale every feature to unit variance before the neighbour search.
        ``"auto"`` does so for a view only if the kNN votes of the standardised features,
        leaving each tagged image out, are clearly better than those of the raw ones (see
        Notes).
    normalize_scores : bool, default=True
        Divide each image's scores by their sum (rows sum to 1, a distribution over tags
        unless the frequency correction makes some entries negative; all-zero rows stay
        zero).  The top-k tags of an image do not change; the scores of different images
        become comparable, which ranking the images per tag (MAP over tags) needs.
    backend : {"local", "dask"}, default="local"
        Where the alternation's f-steps and edge statistics run.  ``"dask"`` (the ``dask``
        extra) replicates the hypergraph on every worker of a Dask cluster and splits the tag
        columns across them (:class:`hyperlearn.distributed.DaskBackend`): the solves are
        bitwise those of the local ``block_cg``; the held-out selection stays local.  Only with
        ``solver="block_cg"``.
    client : distributed.Client, optional
        The cluster for ``backend="dask"`` (never closed by the tagger).  ``None`` starts a
        ``LocalCluster`` of worker threads for the duration of :meth:`fit`.
    feature_prior : float in [0, 1] or "auto", default="auto"
        Weight γ of a linear-feature prior: the returned scores are ``(1 − γ) F̄ + γ P̄``, with
        ``F̄`` the propagated scores and ``P̄`` the predictions of a ridge regression of the
        observed tags on the features as the neighbour search sees them (standardised where
        ``standardize_`` says so; all views side by side, fitted on the tagged images, penalty
        by GCV), each row of both made non-negative and divided by its
        sum (see Notes).  ``0`` is the propagation alone (no ridge is fitted); ``"auto"``
        chooses γ from ``PRIOR_GRID`` on held-out tags, keeping 0 unless another weight is
        clearly better.  The value used is ``feature_prior_``.
    frequency_correction : float in [0, 1) or "auto", default="auto"
        Fraction β of the tag-frequency correction: from each image's scores, β times the
        scores its tags would get by their frequency alone (``tag_frequencies_``) is
        subtracted, after the prior, keeping the row sums (see Notes).  Frequent tags reach an
        image through many neighbours and lead its ranking for that alone; ``0`` leaves the
        scores as they are.  ``"auto"`` chooses β from ``FREQUENCY_GRID`` on held-out tags,
        keeping ``FREQUENCY_DEFAULT`` (0.25) unless another value is clearly better.  The
        value used is ``frequency_correction_``.

    Attributes
    ----------
    scores_ : ndarray of shape (n_images, n_tags)
        Tag relevance scores of the fitted images: the f-step's ``F`` at the final weights
        (each row divided by its sum with ``normalize_scores``), blended with the prior and
        corrected for tag frequency (may then be negative; rows keep their sums).
    alpha_ : float
        The propagation strength used.
    alpha_scores_ : dict of float to float
        Only with ``alpha="auto"``: held-out F1@5 of each alpha of ``ALPHA_GRID``.
    mu_ : float
        Absolute weight penalty used (``inf``: fixed weights).
    mu_scores_ : dict of float to float
        Only with ``mu="auto"`` and adaptive weights: held-out F1@5 of ``inf`` and of each
        scale-free value of ``MU_GRID`` (at ``alpha_``).
    feature_prior_ : float
        The weight γ of the linear-feature prior used (0: none).
    feature_prior_scores_ : dict of float to float
        Only with ``feature_prior="auto"``: held-out mean of F1@1, F1@3 and F1@5 (those below
        the number of tags) of each γ of ``PRIOR_GRID``.
    feature_prior_penalty_ : float or None
        The ridge penalty λ (on the standardised features) of the prior; None when γ = 0.
    frequency_correction_ : float
        The fraction β of the tag-frequency correction used (0: none).
    frequency_correction_scores_ : dict of float to float
        Only with ``frequency_correction="auto"``: held-out mean of F1@1, F1@3 and F1@5 (those
        below the number of tags) of each β of ``FREQUENCY_GRID``.
    tag_frequencies_ : ndarray of shape (n_tags,)
        ``p_t = (n_t + 1)/(n + 1)``: ``n_t`` of the ``n`` tagged images carry tag ``t``.
    standardize_ : list of bool
        Whether each view's features were standardised.
    edge_weights_ : ndarray of shape (n_edges,)
        Final hyperedge weights, in family order (``families_``).
    family_weights_ : dict of str to float
        Total final weight of each family (``"view0/k=20"``, …, ``"tags"``, ``"user"``).
    initial_family_weights_ : dict of str to float
        The same for the starting weights ``w₀``.
    families_ : list of (str, slice)
        Each family's name and its hyperedges in ``edge_weights_``.
    hypergraph_ : Hypergraph
        The hypergraph with the final weights (the one ``scores_`` were solved on).
    n_iter_ : int
        Alternations run.
    objective_ : list of float
        Objective ``J(F, w)`` after each f-step and each accepted w-step (non-increasing).
    solver_iterations_ : list of int
        Krylov iterations of each f-step (0 for direct solvers).
    timings_ : dict
        Seconds: ``"build"`` (neighbour searches and hypergraph), ``"selection"``,
        ``"f_step"`` and ``"w_step"`` (lists), ``"total"``.

    Notes
    -----
    Gao's w-step holds ``Dv`` fixed, so the true objective, with degrees recomputed, may rise
    after it: the exact gradient of ``tr(Fᵀ Θ(w) F)`` is ``c − b`` with ``wᵀ(c − b) = 0``
    (Θ is invariant to scaling ``w``), and the fixed-degree model drops ``b``.  The update is
    therefore safeguarded: if the objective increases, the step towards the new weights is
    halved (a convex combination stays on the simplex) up to ``MAX_BACKTRACKS`` times and
    rejected otherwise.  The f-step lowers ``J`` too (CG decreases the energy
    ``tr(Fᵀ(I − αΘ)F) − 2(1 − α) tr(FᵀY)`` from its warm start), so ``objective_`` is
    non-increasing.

    **Held-out selection** uses the observed tags only, transductively: a random
    ``validation_fraction`` of the tagged images ``V`` lose their observed tags (``Y_V ← 0``,
    so they also leave the tag hyperedges, like the untagged images they stand in for), and
    candidates are scored by ``F1@5(Y_V, scores[V])`` (``average="samples"``).  In turn:
    standardisation (kNN votes of every tagged image, itself left out, with raw and
    standardised features), ``α`` (one fixed-weight f-step per candidate, block CG, walking up
    the grid until ``GRID_PATIENCE`` candidates in a row fall below the best), ``μ`` (one
    alternation per finite candidate at the chosen ``α``, started from that ``α``'s
    solution).  Each choice leaves its default only if the paired
    per-image gain exceeds ``SELECTION_STANDARD_ERRORS`` standard errors
    (:func:`~hyperlearn.tagging.choose_candidate`), so adaptive weights replace fixed ones only
    when they clearly help on held-out tags.  The held-out tags are noisy, and the criterion
    measures tag COMPLETION (hidden images start from no tag); the refinement of the tagged
    images' own noisy tags cannot be validated without true tags, and a smaller α keeps those
    noisy tags more.

    **Linear-feature prior.**  Propagation only moves tags between neighbours; tags that are a
    linear function of the features are extrapolated better by a linear model.  With ``X̃``
    the features of the tagged images (standardised where ``standardize_`` says so) and ``Ỹ``
    their tags, both centred, ``B = (X̃ᵀX̃ + λI)⁻¹X̃ᵀỸ`` (one λ for all tags, least generalised
    cross-validation) gives ``P = X̃B + ȳ`` for every image, and the scores are
    ``S = (1 − γ) N(F) + γ N(P)`` with ``N(A)_{ij} = max(A_{ij}, 0) / Σ_l max(A_{il}, 0)``.
    For ``feature_prior="auto"`` the ridge is refitted without the held-out images and γ is
    chosen, last, by the held-out F1 of ``S`` (``F`` at the chosen α and μ).  The blend
    follows the propagation, so the f-steps, the weights and ``hypergraph_`` do not depend
    on it.

    **Tag-frequency correction.**  With ``p̂`` the tag frequencies divided by their sum, the
    final scores are ``(S_i − β p̂ Σ_l S_il)/(1 − β)`` for each image ``i`` (after the prior).
    Each row keeps its sum; an entry is negative when the tag is less relevant to the image
    than its frequency alone would make it.  With ``normalize_scores`` every row sums to 1, so
    the correction shifts and scales each tag's column alike for all images: the order of the
    images for one tag (MAP over tags, tag-based image search) is exactly unchanged, and only
    the order of each image's tags moves.  For ``"auto"``, β is chosen last, on the held-out
    images' scores at the chosen α, μ and γ, with the frequencies of the tagged images outside
    them.  That measures completion (images without tags); the refinement of an image's own
    noisy tags cannot be validated, and there the correction can move frequent true tags
    below rare ones (``frequency_correction=0`` keeps them).

    **Choices that reorder an image's tags** (γ and β) are scored by the mean of F1@1, F1@3
    and F1@5 (``k`` below the number of tags), not by F1@5 alone: they act most on the first
    tags.  Up to ``RANKING_FOLDS_MAX_TAGGED`` (2000) tagged images, they are scored on every
    tagged image, one held-out fold at a time (the fit's held-out fifth and four more, each
    solved at the chosen α and μ): a fifth of a few hundred images is too few to choose by.

    Figures on the effects of these choices are in benchmarks/TUNING.md (section Tagging) and
    README (tagging quality).

    References
    ----------
    D. Zhou, J. Huang, B. Schölkopf, "Learning with hypergraphs: clustering, classification,
    and embedding", NIPS 2006.
    Y. Gao, M. Wang, Z.-J. Zha, J. Shen, X. Li, X. Wu, "Visual-textual joint relevance
    learning for tag-based social image search", IEEE TIP 22(1), 2013.

    Examples
    --------
    >>> from hyperlearn import HypergraphTagger
    >>> from hyperlearn.datasets import load_digits_tags
    >>> from hyperlearn.metrics import f1_at_k
    >>> data = load_digits_tags(random_state=0)
    >>> tagger = HypergraphTagger(random_state=0).fit(data.features, data.tags_observed)
    >>> f1_at_k(data.tags_true, tagger.scores_, k=3) > 0.5
    True
    >>> sorted(tagger.family_weights_)
    ['tags', 'view0/k=20']
    """

    def __init__(
        self,
        n_neighbors=20,
        alpha="auto",
        mu="auto",
        adaptive_weights=True,
        max_iter=10,
        tol=1e-4,
        solver="block_cg",
        n_blocks=None,
        rank=None,
        random_state=None,
        n_jobs=None,
        *,
        weight_update="degree_aware",
        mu_scaling="relative",
        solver_tol=1e-6,
        metric="euclidean",
        tag_weight=0.1,
        verbose=False,
        validation_fraction=0.2,
        scales=None,
        incidence="probabilistic",
        standardize="auto",
        normalize_scores=True,
        backend="local",
        client=None,
        feature_prior="auto",
        frequency_correction="auto",
    ):
        self.n_neighbors = n_neighbors
        self.alpha = alpha
        self.mu = mu
        self.adaptive_weights = adaptive_weights
        self.max_iter = max_iter
        self.tol = tol
        self.solver = solver
        self.n_blocks = n_blocks
        self.rank = rank
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.weight_update = weight_update
        self.mu_scaling = mu_scaling
        self.solver_tol = solver_tol
        self.metric = metric
        self.tag_weight = tag_weight
        self.verbose = verbose
        self.validation_fraction = validation_fraction
        self.scales = scales
        self.incidence = incidence
        self.standardize = standardize
        self.normalize_scores = normalize_scores
        self.backend = backend
        self.client = client
        self.feature_prior = feature_prior
        self.frequency_correction = frequency_correction

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = False
        return tags

    # -- validation --------------------------------------------------------------------------

    def _validate_params(self, n_samples):
        """Check every parameter against ``n_samples`` images; return the :class:`_Settings`."""
        open_unit = {"low": 0, "high": 1, "low_open": True, "high_open": True}
        alpha = check_real(self.alpha, "alpha", allow=("auto",), **open_unit)
        check_real(self.validation_fraction, "validation_fraction", **open_unit)
        mu = check_real(self.mu, "mu", low=0, low_open=True, allow=("auto", np.inf))
        check_int(self.max_iter, "max_iter", low=1)
        check_real(self.tol, "tol", low=0, low_open=True)
        check_real(self.solver_tol, "solver_tol", low=0, low_open=True)
        check_choice(self.solver, "solver", (*SOLVERS, "auto"))
        check_choice(self.backend, "backend", BACKENDS)
        if self.backend == "dask" and self.solver != "block_cg":
            raise ValueError(
                f"backend='dask' runs the f-steps by block CG: solver={self.solver!r} is not "
                "valid with it; expected solver='block_cg'."
            )
        check_choice(self.weight_update, "weight_update", WEIGHT_UPDATES)
        check_choice(self.mu_scaling, "mu_scaling", ("relative", "absolute"))
        check_choice(self.incidence, "incidence", INCIDENCES)
        if not isinstance(self.standardize, bool):
            check_choice(self.standardize, "standardize", (True, False, "auto"))
        tag_weight = check_real(self.tag_weight, "tag_weight", low=0)
        scales = self._check_scales(n_samples)
        prior = check_prior(self.feature_prior)
        frequency = check_frequency_correction(self.frequency_correction)
        solver = self.solver
        if solver == "auto":
            solver = "exact" if n_samples <= AUTO_EXACT_MAX_VERTICES else "block_cg"
        if solver == "exact" and n_samples > EXACT_MAX_VERTICES:
            raise ValueError(
                f"solver='exact' accepts at most {EXACT_MAX_VERTICES} images; got {n_samples}. "
                "Use solver='block_cg'."
            )
        n_blocks = self.n_blocks
        if n_blocks is None:
            n_blocks = max(1, round(n_samples / TESSELLATION_BLOCK_SIZE))
        n_blocks = check_int(n_blocks, "n_blocks", low=1)
        if n_blocks > n_samples:
            raise ValueError(
                f"n_blocks={n_blocks} is out of range: expected an integer <= the number of "
                f"images ({n_samples})."
            )
        rank = self.rank
        if rank is None:
            rank = min(TESSELLATION_RANK, n_samples // n_blocks)
        rank = check_int(rank, "rank", low=1)
        return _Settings(alpha, mu, solver, n_blocks, rank, tag_weight, scales, prior, frequency)

    def _check_scales(self, n_samples):
        """``scales`` (or ``(n_neighbors,)``) as a tuple of ints in ``[1, n_samples)``."""
        check_int(self.n_neighbors, "n_neighbors", low=1)
        if self.n_neighbors >= n_samples:
            raise ValueError(
                f"n_neighbors={self.n_neighbors} is out of range: expected an integer < the "
                f"number of images ({n_samples})."
            )
        if self.scales is None:
            return (int(self.n_neighbors),)
        if isinstance(self.scales, (str, bytes)) or not hasattr(self.scales, "__iter__"):
            raise TypeError(f"scales must be a sequence of int or None; got {self.scales!r}.")
        scales = tuple(check_int(k, "scales", low=1, high=n_samples - 1) for k in self.scales)
        if not scales:
            raise ValueError("scales is empty: expected at least one number of neighbours.")
        return scales

    # -- fitting -----------------------------------------------------------------------------

    def fit(self, X, Y, hypergraph=None, views=None):
        """Learn tag scores of the images ``X`` from their observed tags ``Y``.

        Parameters
        ----------
        X : array-like of shape (n_images, n_features)
            Image features (float32 stays float32).
        Y : array-like or sparse matrix of shape (n_images, n_tags)
            Observed 0/1 tags (noisy, incomplete); rows without tags are the images to tag.
        hypergraph : Hypergraph, optional
            Extra hyperedges on the same images (e.g. users, places), appended to the visual
            and tag hyperedges as the family ``"user"``.
        views : list of array-like of shape (n_images, n_features_j), optional
            Further feature views of the same images (e.g. colour and texture descriptors):
            each gives its own kNN families (``"view1/k=…"``, …); ``X`` is ``view0``.

        Returns
        -------
        self

        Raises
        ------
        TypeError
            A parameter of the wrong type (e.g. ``alpha="best"``, ``max_iter=2.5``); ``X``
            sparse or not real (complex -- also a ValueError, as scikit-learn requires --
            object, strings).
        ValueError
            A parameter out of range, NaN or infinity in ``X``, fewer than two images, or
            ``X``, ``Y``, ``hypergraph``, ``views`` that do not fit together.
        """
        from ..utils._numba import thread_limits

        start = time.perf_counter()
        X = check_features(X)
        Y = check_tags(Y, X.shape[0], X.dtype)
        settings = self._validate_params(X.shape[0])
        extra = check_extra_hypergraph(hypergraph, X.shape[0])
        views = check_views(X, views)
        rng = check_random_state(self.random_state)
        timings = {"build": 0.0, "selection": 0.0, "f_step": [], "w_step": [], "total": 0.0}
        choices = (settings.alpha, settings.mu, settings.prior, settings.frequency)
        selecting = "auto" in (*choices, self.standardize)
        subset = selection_subset(X.shape[0], rng) if selecting else None
        Y_sel = Y if subset is None else Y[subset]
        validation = holdout_split(Y_sel, self.validation_fraction, rng) if selecting else None

        stages = FitStages(self.verbose)
        with thread_limits(self.n_jobs):
            raw_views = views
            stages.begin("features")
            views, shifts, searched = self._prepare_views(views, Y, settings, timings)
            stages.begin("hypergraph")
            t0 = time.perf_counter()
            visual = visual_families(
                views, settings.scales, neighbors=searched, **self._search_settings(X.dtype)
            )
            extra = None if extra is None else extra.astype(X.dtype)
            families = assemble_families(visual, Y, extra, settings.tag_weight)
            timings["build"] = time.perf_counter() - t0
            stages.begin("held-out choices")
            t0 = time.perf_counter()
            sel = self._selection_problem(subset, visual, extra, views, raw_views, settings)
            timings["selection"] += time.perf_counter() - t0
            alpha, mu, F_hidden = self._select(
                sel.visual, sel.extra, Y_sel, validation, settings, timings
            )
            folds = self._folds(
                sel.visual, sel.extra, Y_sel, validation, alpha, mu, F_hidden, settings, timings
            )
            gamma, s_hidden = self._select_prior(sel.views, Y_sel, folds, settings, timings)
            beta = self._select_frequency(Y_sel, folds, s_hidden, settings, timings)
            run = self._alternation(mu)
            stages.begin("alternations")
            with f_step_backend(self.backend, self.client) as dask_backend:
                if dask_backend is None:
                    f_step = FStep(
                        settings.solver,
                        alpha,
                        Y,
                        rng,
                        n_blocks=settings.n_blocks,
                        rank=settings.rank,
                    )
                else:
                    f_step = DaskFStep(dask_backend, alpha, Y, rng)
                run.run(families.hypergraph, families.initial_weights, Y, f_step, self._bar())
            stages.begin("prior")
            prior = fit_prior(raw_views, Y, gamma, self.standardize_)
            stages.close()

        self._store(X, views[0], shifts, families, run, alpha)
        self._prior = prior
        self.feature_prior_penalty_ = None if prior is None else prior.penalty_
        if prior is not None:
            self.scores_ = apply_prior(self.scores_, prior.predict_views(raw_views), gamma)
        self.tag_frequencies_ = tag_frequencies(Y)
        # in place: scores_ is the fit's own array here (a new one of _store or apply_prior,
        # or the alternation's, which is not kept)
        correct_frequencies(self.scores_, self.tag_frequencies_, beta, in_place=True)
        timings["f_step"], timings["w_step"] = run.f_times, run.w_times
        timings["total"] = time.perf_counter() - start
        self.timings_ = timings
        return self

    def _bar(self):
        if not self.verbose:
            return None
        from tqdm import tqdm

        return tqdm(total=self.max_iter, desc="alternations", leave=False)

    def _alternation(self, mu):
        adaptive = bool(self.adaptive_weights) and mu != np.inf
        return Alternation(
            mu=mu,
            mu_scaling=self.mu_scaling,
            weight_update=self.weight_update,
            max_iter=self.max_iter,
            tol=self.tol,
            solver_tol=self.solver_tol,
            adaptive=adaptive,
        )

    def _store(self, X, X_search, shifts, families, run, alpha):
        """Set the fitted attributes from the final state of the alternation ``run``."""
        F = run.F
        if self.normalize_scores:
            totals = np.asarray(F, dtype=np.float64).sum(axis=1, keepdims=True)
            F = np.divide(F, totals, out=np.zeros_like(F), where=totals > 0).astype(F.dtype)
        self.scores_ = F
        self.alpha_ = float(alpha)
        self.mu_ = float(run.mu_abs)
        self.edge_weights_ = np.asarray(run.hypergraph.weights)
        self.family_weights_ = families.family_totals(run.weights)
        self.initial_family_weights_ = families.family_totals(families.initial_weights)
        self.families_ = list(zip(families.names, families.slices, strict=True))
        self.hypergraph_ = run.hypergraph
        self.n_iter_ = run.n_iter
        self.objective_ = run.history
        self.solver_iterations_ = run.iterations
        self.n_features_in_ = X.shape[1]
        self._X_fit, self._shift = X_search, shifts[0]

    # -- prediction --------------------------------------------------------------------------

    def decision_function(self, X=None):
        """Tag relevance scores.

        Parameters
        ----------
        X : array-like of shape (n_new, n_features), optional
            New images.  ``None`` returns the scores of the fitted images (``scores_``).  A new
            image gets the mean score of its ``n_neighbors`` nearest fitted images: one
            propagation step through the visual hyperedge it would form (the fitted scores
            include the linear-feature prior and the tag-frequency correction, which is
            linear: the mean of corrected scores is the corrected mean).

        Returns
        -------
        ndarray of shape (n_images, n_tags)
        """
        check_is_fitted(self, "scores_")
        if X is None:
            return self.scores_
        from ..hypergraph import kneighbors

        X = check_features(X, n_features=self.n_features_in_).astype(self._X_fit.dtype, copy=False)
        if self._shift is not None:  # the standardisation of the fitted features
            mean, scale = self._shift
            X = ((np.asarray(X, dtype=np.float64) - mean) / scale).astype(self._X_fit.dtype)
        k = min(self.n_neighbors, self._X_fit.shape[0])
        _, idx = kneighbors(X, k, database=self._X_fit, metric=self.metric, n_jobs=self.n_jobs)
        return self.scores_[idx].mean(axis=1)

    def predict(self, X=None, k=None):
        """The ``k`` highest-scoring tags of each image, as a 0/1 indicator matrix.

        Ties are broken by the smaller tag index.  ``X=None`` tags the fitted images.

        Parameters
        ----------
        X : array-like of shape (n_new, n_features), optional
            New images (see :meth:`decision_function`); ``None`` for the fitted images.
        k : int or None, default=None
            Tags per image, ``1 <= k <= n_tags``: the rule of the top-k metrics
            (:func:`hyperlearn.metrics.top_k_indicator`).  ``None`` means
            ``min(PREDICT_DEFAULT_K, n_tags)`` = ``min(5, n_tags)``.

        Returns
        -------
        ndarray of shape (n_images, n_tags), uint8
            Exactly ``k`` ones per row.

        Raises
        ------
        TypeError
            ``k`` not an integer.
        ValueError
            ``k < 1`` or ``k`` beyond the number of tags (checked before ``X``); ``X`` as in
            :meth:`decision_function`.
        """
        from ..metrics import _check_k, top_k_indicator

        check_is_fitted(self, "scores_")
        n_tags = self.scores_.shape[1]
        k = min(PREDICT_DEFAULT_K, n_tags) if k is None else _check_k(k, n_tags)
        return top_k_indicator(self.decision_function(X), k).astype(np.uint8)

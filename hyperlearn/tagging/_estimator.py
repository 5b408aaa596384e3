"""HypergraphTagger: image tagging by adaptive hypergraph learning."""

from __future__ import annotations

import time

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ..utils._validation import check_choice, check_int, check_real
from ._problem import check_features, check_tags, initial_hypergraph
from ._selection import (
    ALPHA_GRID,
    DEFAULT_ALPHA,
    choose_candidate,
    holdout_split,
    validation_scores,
)
from ._solvers import EXACT_MAX_VERTICES, SOLVERS, solve_f_step
from ._weights import closed_form_weights, degree_term, objective, simplex_weights

__all__ = ["HypergraphTagger"]

#: ``solver="auto"`` uses the dense exact solver up to this many images, block CG beyond.
AUTO_EXACT_MAX_VERTICES = 2_000
#: Default tessellation: vertices per diagonal block and rank per block (see ``n_blocks``).
#: See benchmarks/TUNING.md.
TESSELLATION_BLOCK_SIZE = 5_000
TESSELLATION_RANK = 50
WEIGHT_UPDATES = ("simplex", "closed_form", "degree_aware")
#: Relative residual of the f-steps of all but the last alternation (iterative solvers): they
#: only steer the next w-step, and the returned scores are refined to ``solver_tol``.
EARLY_SOLVER_TOL = 1e-3
#: Backtracking halvings of the safeguarded w-step before the step is rejected.
MAX_BACKTRACKS = 8
_TINY = np.finfo(np.float64).tiny


class _Settings:
    """Validated fit parameters, with ``"auto"`` and ``None`` defaults resolved (except alpha)."""

    def __init__(self, alpha, mu, solver, n_blocks, rank, tag_weight):
        self.alpha, self.mu, self.solver = alpha, mu, solver
        self.n_blocks, self.rank, self.tag_weight = n_blocks, rank, tag_weight


class _FStep:
    """The f-step of one fit: solve ``(I − αΘ) F = (1 − α) Y`` for the current weights.

    One random stream (``rng``) seeds every solve; ``state`` carries what a solver reuses
    between alternations (the tessellated preconditioner).
    """

    def __init__(self, settings, alpha, Y, rng):
        self.settings, self.alpha, self.rng = settings, alpha, rng
        self.rhs = (1.0 - alpha) * Y
        self.state = {}

    def __call__(self, hypergraph, F0, rtol):
        seed = self.rng.randint(np.iinfo(np.int32).max)
        solver = self.settings.solver
        F, its, info = solve_f_step(
            solver,
            hypergraph,
            self.alpha,
            self.rhs,
            F0,
            rtol=rtol,
            n_blocks=self.settings.n_blocks,
            rank=self.settings.rank,
            random_state=seed,
            state=self.state,
        )
        if info < 0:
            raise RuntimeError(
                f"the f-step solver '{solver}' broke down (info={info}; see "
                "hyperlearn.linalg.cg): I − αΘ should be positive definite for "
                "non-negative weights, so this indicates NaN/inf in the features."
            )
        return F, int(its)


class HypergraphTagger(BaseEstimator):
    """Tag images by transductive learning on a hypergraph with adaptive hyperedge weights.

    The hypergraph has one visual hyperedge per image (the image and its ``n_neighbors``
    nearest neighbours in feature space) and one textual hyperedge per tag (the images the
    users tagged with it).  Fitting alternates

    * the **f-step** (Zhou et al. 2006): tag relevance scores ``F`` solve
      ``(I − αΘ) F = (1 − α) Y`` for all tags at once, with
      ``Θ = Dv^{-1/2} H W De^{-1} Hᵀ Dv^{-1/2}`` applied matrix-free;
    * the **w-step** (Gao et al. 2013): hyperedge weights minimise
      ``μ‖w‖² − Σ_e w_e c_e`` with ``c_e = ‖γ_eᵀF‖²/δ(e)`` on the simplex
      (``Σ w = 1``, ``w ≥ 0``), then the vertex degrees are recomputed;

    until the relative change of ``w`` or of the objective falls below ``tol``.

    Parameters
    ----------
    n_neighbors : int, default=10
        Neighbours per visual hyperedge (each has ``n_neighbors + 1`` images).
    alpha : float in (0, 1) or "auto", default=0.9
        Propagation strength; ``α = 1/(1 + λ)`` for the fitting weight λ of ``‖F − Y‖²``.
        ``"auto"`` chooses it from ``ALPHA_GRID`` by hiding the observed tags of some tagged
        images (see ``validation_fraction`` and Notes); the value used is ``alpha_``.
    mu : float > 0, default=1.0
        Weight regularisation μ.  With ``mu_scaling="relative"`` (default) it is expressed in
        natural units: the absolute value is ``mu · m · c̄ / 2`` with ``c̄`` the mean of ``c`` at
        the first w-step and ``m`` the number of hyperedges, so ``mu = 1`` makes the first
        update ``w ∝ c``, larger values pull ``w`` towards uniform and smaller ones make it
        sparse.  The absolute value used is ``mu_`` (fixed for the whole fit, so the objective
        is one function).
    adaptive_weights : bool, default=True
        Learn the hyperedge weights; ``False`` runs one f-step with uniform weights.
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
        Seeds the tessellation's randomized factorisations.
    n_jobs : int, default=None
        Threads for the Numba kernels and BLAS (set together, so they never oversubscribe).
    weight_update : {"simplex", "closed_form", "degree_aware"}, default="simplex"
        ``"simplex"`` (Gao's update projected onto ``w ≥ 0``; keeps ``I − αΘ`` positive
        definite); ``"closed_form"`` steps towards Gao's unprojected update, whose target may
        have negative entries; since a hypergraph's weights must stay non-negative (Θ PSD), the
        step stops at the boundary of ``w ≥ 0`` (and still keeps ``Σ w = 1``).
        ``"degree_aware"`` replaces ``c`` by the exact gradient ``c − b`` of ``tr(Fᵀ Θ(w) F)``
        with the degrees recomputed (:func:`~hyperlearn.tagging.degree_term`), so the target
        minimises a first-order model of the true objective and a short enough step always
        lowers it.
    mu_scaling : {"relative", "absolute"}, default="relative"
        How ``mu`` is read (see ``mu``).
    solver_tol : float, default=1e-6
        Relative residual of the iterative f-step solves (true residual, per tag).  With
        adaptive weights, the f-steps of all alternations but the last stop at
        ``max(solver_tol, EARLY_SOLVER_TOL)`` (1e-3): their scores only steer the next w-step.
        The returned scores are always refined to ``solver_tol``.
    metric : {"euclidean", "cosine"}, default="euclidean"
        Feature distance of the visual hyperedges.
    tag_weight : float >= 0, default=0.1
        Initial weight of a tag hyperedge relative to a visual one (user hyperedges start at 1).
        Tag hyperedges are large (every image with the tag), so at equal weight they dominate
        the vertex degrees and spread co-occurring tags.
    verbose : bool, default=False
        Show a progress bar over the alternations.
    validation_fraction : float in (0, 1), default=0.2
        With ``alpha="auto"``: fraction of the images WITH observed tags whose tags are hidden
        to score each candidate alpha (drawn by ``random_state``).

    Attributes
    ----------
    scores_ : ndarray of shape (n_images, n_tags)
        Tag relevance scores ``F`` of the fitted images.
    alpha_ : float
        The propagation strength used (``alpha`` itself unless ``alpha="auto"``).
    alpha_scores_ : dict of float to float
        Only with ``alpha="auto"``: held-out F1@5 of each alpha of ``ALPHA_GRID``.
    edge_weights_ : ndarray of shape (n_edges,)
        Learned hyperedge weights (visual hyperedges first, then one per tag, then any
        user-supplied hyperedges).
    hypergraph_ : Hypergraph
        The hypergraph with the learned weights.
    n_iter_ : int
        Alternations run.
    objective_ : list of float
        Objective ``J(F, w)`` after each f-step and each accepted w-step.
    mu_ : float
        Absolute weight regularisation used.
    solver_iterations_ : list of int
        Krylov iterations of each f-step (0 for direct solvers).
    timings_ : dict
        Seconds: ``"build"`` (hypergraph), ``"f_step"`` and ``"w_step"`` (lists, one per
        alternation), ``"total"``; with ``alpha="auto"`` also ``"selection"``.

    Notes
    -----
    Gao's w-step holds ``Dv`` fixed, so the true objective, with degrees recomputed, may rise
    after it: the exact gradient of ``tr(Fᵀ Θ(w) F)`` is ``c − b`` with ``wᵀ(c − b) = 0``
    (Θ is invariant to scaling ``w``), and the fixed-degree model drops ``b``.  The update is
    therefore safeguarded: if the objective increases, the step towards the new weights is
    halved (a convex combination stays on the simplex) up to ``MAX_BACKTRACKS`` times and
    rejected otherwise.  With an exact f-step the objective history is then non-increasing.

    Scores are invariant to a common scaling of ``w`` (Θ is), which is why ``Σ w = 1`` costs
    nothing.

    **Choosing alpha** (``alpha="auto"``) uses the observed tags only, transductively: a
    random ``validation_fraction`` of the tagged images ``V`` lose their observed tags
    (``Y_V ← 0``, so they also leave the tag hyperedges, like the untagged images they stand
    in for); for each ``α`` of ``ALPHA_GRID`` one f-step with the initial (fixed) weights gives
    ``F_α`` (block CG to ``solver_tol``, whatever ``solver``), scored by
    ``F1@5(Y_V, F_α[V])`` (``average="samples"``).  The best α (the smaller one on ties)
    replaces the default 0.9 only if its per-image gain over 0.9 on ``V`` exceeds
    ``SELECTION_STANDARD_ERRORS`` standard errors (:func:`~hyperlearn.tagging.choose_candidate`);
    the α chosen is then used for the normal fit on all observed tags.  The visual hyperedges
    are built once for the selection and the fit, the validation hypergraph once for the whole
    grid: the cost is one extra hypergraph assembly and ``len(ALPHA_GRID)`` linear solves.

    The held-out tags are noisy (missing and spurious tags), so the criterion is a proxy of the
    F1 against the true tags, and it measures tag COMPLETION only (hidden images, like untagged
    ones, start from no tag): the refinement of the tagged images' own noisy tags cannot be
    validated without true tags, and a smaller α keeps those noisy tags more.

    Figures on the effects of ``alpha="auto"``, of the weight updates and of the tessellation
    are in benchmarks/TUNING.md (section Tagging).

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
    >>> tagger = HypergraphTagger(max_iter=3).fit(data.features, data.tags_observed)
    >>> f1_at_k(data.tags_true, tagger.scores_, k=3) > 0.5
    True
    """

    def __init__(
        self,
        n_neighbors=10,
        alpha=0.9,
        mu=1.0,
        adaptive_weights=True,
        max_iter=10,
        tol=1e-4,
        solver="block_cg",
        n_blocks=None,
        rank=None,
        random_state=None,
        n_jobs=None,
        *,
        weight_update="simplex",
        mu_scaling="relative",
        solver_tol=1e-6,
        metric="euclidean",
        tag_weight=0.1,
        verbose=False,
        validation_fraction=0.2,
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
        mu = check_real(self.mu, "mu", low=0, low_open=True)
        check_int(self.max_iter, "max_iter", low=1)
        check_real(self.tol, "tol", low=0, low_open=True)
        check_real(self.solver_tol, "solver_tol", low=0, low_open=True)
        check_int(self.n_neighbors, "n_neighbors", low=1)
        if self.n_neighbors >= n_samples:
            raise ValueError(
                f"n_neighbors={self.n_neighbors} is out of range: expected an integer < the "
                f"number of images ({n_samples})."
            )
        check_choice(self.solver, "solver", (*SOLVERS, "auto"))
        check_choice(self.weight_update, "weight_update", WEIGHT_UPDATES)
        check_choice(self.mu_scaling, "mu_scaling", ("relative", "absolute"))
        tag_weight = check_real(self.tag_weight, "tag_weight", low=0)
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
        return _Settings(alpha, mu, solver, n_blocks, rank, tag_weight)

    @staticmethod
    def _check_extra_hypergraph(hypergraph, n_samples):
        from ..hypergraph import Hypergraph

        if hypergraph is None:
            return None
        if not isinstance(hypergraph, Hypergraph) or hypergraph.n_vertices != n_samples:
            raise ValueError(
                f"hypergraph must be a Hypergraph on the {n_samples} images; got {hypergraph!r}."
            )
        return hypergraph

    # -- fitting -----------------------------------------------------------------------------

    def fit(self, X, Y, hypergraph=None):
        """Learn tag scores of the images ``X`` from their observed tags ``Y``.

        Parameters
        ----------
        X : array-like of shape (n_images, n_features)
            Image features (float32 stays float32).
        Y : array-like or sparse matrix of shape (n_images, n_tags)
            Observed 0/1 tags (noisy, incomplete); rows without tags are the images to tag.
        hypergraph : Hypergraph, optional
            Extra hyperedges on the same images (e.g. users, places), appended to the visual
            and tag hyperedges.

        Returns
        -------
        self

        Raises
        ------
        TypeError
            A parameter of the wrong type (e.g. ``alpha="best"``, ``max_iter=2.5``).
        ValueError
            A parameter out of range, or ``X``, ``Y``, ``hypergraph`` that do not fit together.
        """
        from ..utils._numba import thread_limits

        start = time.perf_counter()
        X = check_features(X)
        Y = check_tags(Y, X.shape[0], X.dtype)
        settings = self._validate_params(X.shape[0])
        extra = self._check_extra_hypergraph(hypergraph, X.shape[0])
        rng = check_random_state(self.random_state)
        timings = {"build": 0.0, "f_step": [], "w_step": [], "total": 0.0}

        with thread_limits(self.n_jobs):
            knn_hg, extra, hg, w = self._build_hypergraph(X, Y, extra, settings.tag_weight)
            timings["build"] = time.perf_counter() - start
            alpha, alpha_scores = self._select_alpha(knn_hg, extra, Y, settings, rng, timings)
            fitted = self._alternate(hg, w, Y, _FStep(settings, alpha, Y, rng), timings)

        self._store(X, alpha, alpha_scores, *fitted)
        timings["total"] = time.perf_counter() - start
        self.timings_ = timings
        return self

    def _build_hypergraph(self, X, Y, extra, tag_weight):
        """Visual hyperedges (built once, shared by the selection of alpha and the fit).

        Returns ``(knn_hg, extra, hg, w)``: the visual hyperedges, the extra hyperedges in the
        features' dtype, and the initial hypergraph with its weights.
        """
        from ..hypergraph import Hypergraph

        knn_hg = Hypergraph.from_knn(X, self.n_neighbors, metric=self.metric, dtype=X.dtype)
        extra = None if extra is None else extra.astype(X.dtype)
        hg, w = initial_hypergraph(knn_hg, Y, extra, tag_weight)
        return knn_hg, extra, hg, w

    def _select_alpha(self, knn_hg, extra, Y, settings, rng, timings):
        """``(alpha, held-out scores)``: ``alpha`` as given, or chosen when it is ``"auto"``."""
        if settings.alpha != "auto":
            return settings.alpha, None
        t0 = time.perf_counter()
        validation = holdout_split(Y, self.validation_fraction, rng)
        scores, per_image = validation_scores(
            knn_hg, extra, Y, validation, settings.tag_weight, ALPHA_GRID, self.solver_tol
        )
        alpha = choose_candidate(per_image, DEFAULT_ALPHA)
        timings["selection"] = time.perf_counter() - t0
        return alpha, scores

    def _alternate(self, hg, w, Y, f_step, timings):
        """Alternate f-steps and safeguarded w-steps until ``tol`` or ``max_iter``.

        Returns ``(F, hg, n_iter, history, iterations, mu_abs)``: the scores, the hypergraph
        with the last accepted weights, the alternations run, the objective after each step,
        the solver iterations of each f-step and the absolute ``mu`` used.
        """
        from tqdm import tqdm

        alpha = f_step.alpha
        mu_abs = f_step.settings.mu if self.mu_scaling == "absolute" else None
        n_alternations = self.max_iter if self.adaptive_weights else 1
        # alternations before the last solve to the looser EARLY_SOLVER_TOL (their F only
        # steers the next w-step); the F that is returned is refined to solver_tol
        early_tol = self.solver_tol
        if self.adaptive_weights and f_step.settings.solver != "exact":
            early_tol = max(self.solver_tol, EARLY_SOLVER_TOL)
        F = f_step.rhs.copy()  # warm start: the propagation's first term
        history, iterations = [], []
        step = 0.5  # the first w-step's search starts at the full step 2 · 0.5
        bar = tqdm(
            range(n_alternations), desc="alternations", disable=not self.verbose, leave=False
        )
        n_iter = 0
        for k in bar:
            n_iter += 1
            t0 = time.perf_counter()
            rtol = early_tol if k < n_alternations - 1 else self.solver_tol
            F, its = f_step(hg, F, rtol)
            hg_f = hg
            timings["f_step"].append(time.perf_counter() - t0)
            iterations.append(its)
            c = np.asarray(hg.edge_statistics(F), dtype=np.float64)
            if mu_abs is None:  # natural units, fixed once (see `mu`)
                mu_abs = f_step.settings.mu * hg.n_edges * max(float(c.mean()), _TINY) / 2.0
            J = objective(F, Y, c, w, alpha=alpha, mu=mu_abs)
            history.append(J)
            if not self.adaptive_weights:
                break
            t0 = time.perf_counter()
            w_new, J_new, hg_new, step = self._w_step(
                hg, F, Y, c, w, J, alpha, mu_abs, first_step=min(1.0, 2.0 * step)
            )
            timings["w_step"].append(time.perf_counter() - t0)
            change, decrease = 0.0, 0.0
            if hg_new is not None:
                change = np.linalg.norm(w_new - w) / np.linalg.norm(w)
                decrease = (J - J_new) / max(abs(J), _TINY)
                history.append(J_new)
                w, hg = w_new, hg_new
            bar.set_postfix(objective=f"{history[-1]:.6g}", change=f"{change:.2e}")
            if change < self.tol or decrease < self.tol:
                break
        bar.close()
        if rtol > self.solver_tol:  # stopped early: refine the last f-step's solution
            t0 = time.perf_counter()
            F, its = f_step(hg_f, F, self.solver_tol)
            timings["f_step"][-1] += time.perf_counter() - t0
            iterations[-1] += its
        return F, hg, n_iter, history, iterations, mu_abs

    def _store(self, X, alpha, alpha_scores, F, hg, n_iter, history, iterations, mu_abs):
        """Set the fitted attributes (``alpha_scores_`` only with ``alpha="auto"``)."""
        self.scores_ = F
        self.alpha_ = float(alpha)
        if alpha_scores is not None:
            self.alpha_scores_ = alpha_scores
        elif hasattr(self, "alpha_scores_"):
            del self.alpha_scores_  # from an earlier fit with alpha="auto"
        self.edge_weights_ = np.asarray(hg.weights)
        self.hypergraph_ = hg
        self.n_iter_ = n_iter
        self.objective_ = history
        self.mu_ = float(mu_abs)
        self.solver_iterations_ = iterations
        self.n_features_in_ = X.shape[1]
        self._X_fit = X

    def _w_step(self, hg, F, Y, c, w, J, alpha, mu, first_step=1.0):
        """Safeguarded weight update; returns ``(w, J, hypergraph, step)``.

        ``hypergraph`` is None (and ``w``, ``J`` the inputs) when every step was rejected.
        The search starts at ``first_step``: the fit passes twice the last accepted step, since
        a backtracking search that starts at 1 every time re-tests steps that have just failed
        (see benchmarks/TUNING.md).
        """
        if self.weight_update == "simplex":
            target = simplex_weights(c, mu)
        elif self.weight_update == "degree_aware":
            target = simplex_weights(c - degree_term(hg, F), mu)
        else:
            target = closed_form_weights(c, mu)
        # longest step along the direction that keeps every weight >= 0 (a simplex target
        # never leaves the simplex; Gao's closed form can): w_i + t (target_i − w_i) >= 0
        leaving = target < 0
        step = min(1.0, float(np.min(w[leaving] / (w[leaving] - target[leaving]), initial=1.0)))
        step = min(step, first_step)
        if step <= 0.0:
            return w, J, None, 0.0
        for _ in range(MAX_BACKTRACKS + 1):
            # clip: at the boundary a weight can round to -1e-19
            w_try = np.maximum(w + step * (target - w), 0.0)
            hg_try = hg.with_weights(w_try.astype(hg.dtype))
            c_try = np.asarray(hg_try.edge_statistics(F), dtype=np.float64)
            J_try = objective(F, Y, c_try, w_try, alpha=alpha, mu=mu)
            if J_try <= J:
                return w_try, J_try, hg_try, step
            step *= 0.5
        return w, J, None, 0.0

    # -- prediction --------------------------------------------------------------------------

    def decision_function(self, X=None):
        """Tag relevance scores.

        Parameters
        ----------
        X : array-like of shape (n_new, n_features), optional
            New images.  ``None`` returns the scores of the fitted images (``scores_``).  A new
            image gets the mean score of its ``n_neighbors`` nearest fitted images: one
            propagation step through the visual hyperedge it would form.

        Returns
        -------
        ndarray of shape (n_images, n_tags)
        """
        check_is_fitted(self, "scores_")
        if X is None:
            return self.scores_
        from ..hypergraph import kneighbors

        X = check_features(X, n_features=self.n_features_in_).astype(self._X_fit.dtype, copy=False)
        k = min(self.n_neighbors, self._X_fit.shape[0])
        _, idx = kneighbors(X, k, database=self._X_fit, metric=self.metric, n_jobs=self.n_jobs)
        return self.scores_[idx].mean(axis=1)

    def predict(self, X=None, k=5):
        """The ``k`` highest-scoring tags of each image, as a 0/1 indicator matrix.

        Ties are broken by the smaller tag index; with fewer than ``k`` tags every tag is
        returned.  ``X=None`` tags the fitted images.

        Parameters
        ----------
        X : array-like of shape (n_new, n_features), optional
            New images (see :meth:`decision_function`); ``None`` for the fitted images.
        k : int, default=5
            Tags per image.

        Returns
        -------
        ndarray of shape (n_images, n_tags), uint8
        """
        k = check_int(k, "k", low=1)
        scores = self.decision_function(X)
        k = min(k, scores.shape[1])
        order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        out = np.zeros(scores.shape, dtype=np.uint8)
        np.put_along_axis(out, order, 1, axis=1)
        return out

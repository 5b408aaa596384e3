"""The held-out choices of :class:`~hyperlearn.tagging.HypergraphTagger` and its progress.

:class:`HeldOutChoices` is a mixin of the estimator: the feature scaling (``standardize``), the
propagation strength ``alpha``, the weight penalty ``mu`` and the prior's weight
``feature_prior``, each as given or chosen on the observed tags of a held-out fifth of the
tagged images (:mod:`._selection`, :mod:`._prior`).  :class:`FitStages` is the progress bar
over the stages of a fit (``verbose=True``).
"""

from __future__ import annotations

import time

import numpy as np

from . import _selection
from ._families import visual_families
from ._frequency import choose_frequency_correction, tag_frequencies
from ._prior import blend_folds, fold_priors, select_prior
from ._selection import (
    ALPHA_GRID,
    DEFAULT_ALPHA,
    MU_GRID,
    choose_candidate,
    more_folds,
    mu_validation_scores,
    standardization_and_neighbors,
    validation_problem,
    validation_scores,
)

__all__ = ["FitStages", "HeldOutChoices"]


class FitStages:
    """With ``verbose``: a progress bar over the stages of a fit, naming the running one."""

    NAMES = ("features", "hypergraph", "held-out choices", "alternations", "prior")

    def __init__(self, verbose):
        self.bar, self.started = None, False
        if verbose:
            from tqdm import tqdm

            self.bar = tqdm(
                total=len(self.NAMES),
                desc="HypergraphTagger.fit",
                bar_format="{desc}: stage {n}/{total} done, {elapsed}{postfix}",
                leave=False,
            )

    def begin(self, name):
        if self.bar is None:
            return
        if self.started:
            self.bar.update(1)
        self.started = True
        self.bar.set_postfix_str(name)

    def close(self):
        if self.bar is not None:
            self.bar.update(1)
            self.bar.close()


class HeldOutChoices:
    """The held-out choices of a fit (a mixin of ``HypergraphTagger``, whose parameters and
    ``_alternation`` it reads, and on which it sets ``standardize_``, ``alpha_scores_``,
    ``mu_scores_``, ``feature_prior_`` and ``feature_prior_scores_``)."""

    def _search_settings(self, dtype):
        return {
            "incidence": self.incidence,
            "metric": self.metric,
            "n_jobs": self.n_jobs,
            "dtype": dtype,
            "random_state": self.random_state,
        }

    def _selection_problem(self, subset, visual, extra, views, raw_views, settings):
        """The held-out selection's ``visual`` families, ``extra`` hyperedges and (raw)
        ``views``: the fit's own, or, for a subset of the images, their kNN families searched
        among the subset alone (at the density of a data set of that size) and the extra
        hyperedges restricted to it."""
        from sklearn.utils import Bunch

        if subset is None:
            return Bunch(visual=visual, extra=extra, views=raw_views)
        from ..hypergraph import Hypergraph

        dtype = views[0].dtype
        visual = visual_families(
            [V[subset] for V in views], settings.scales, **self._search_settings(dtype)
        )
        if extra is not None:
            H = extra.incidence[subset]
            extra = Hypergraph.from_incidence(H, dtype=dtype, allow_empty_edges=True)
        return Bunch(visual=visual, extra=extra, views=[V[subset] for V in raw_views])

    def _trial_alternation(self, mu):
        """The alternation of a held-out μ trial: the fit's, solved to the selection's
        tolerance."""
        run = self._alternation(mu)
        run.solver_tol = max(run.solver_tol, _selection.SELECTION_RTOL)
        return run

    def _prepare_views(self, views, Y, settings, timings):
        """The views to search (standardised where chosen), their ``(mean, scale)`` or None,
        and the neighbour search of each view if the ``"auto"`` choice already made it."""
        from ._families import standardize_features

        t0 = time.perf_counter()
        choices, searched = [], []
        for V in views:
            choice, neighbors = self.standardize, None
            if choice == "auto":
                choice, _, neighbors = standardization_and_neighbors(
                    V,
                    Y,
                    settings.scales,
                    metric=self.metric,
                    n_jobs=self.n_jobs,
                    random_state=self.random_state,
                )
            choices.append(bool(choice))
            searched.append(neighbors)
        self.standardize_ = choices
        shifts, out = [], []
        for V, choice in zip(views, choices, strict=True):
            if choice:
                values = np.asarray(V, dtype=np.float64)
                scale = values.std(axis=0)
                scale[scale == 0] = 1.0
                shifts.append((values.mean(axis=0), scale))
                out.append(standardize_features(V))
            else:
                shifts.append(None)
                out.append(V)
        timings["selection"] += time.perf_counter() - t0
        return out, shifts, searched

    def _select(self, visual, extra, Y, validation, settings, timings):
        """``(alpha, mu, F_hidden)``: as given, or chosen on the held-out images when
        ``"auto"``; ``F_hidden`` the held-out images' scores at them (None if not needed).

        The held-out solves stop at ``max(solver_tol, SELECTION_RTOL)``; the μ trial starts
        from the fixed-weight solution at the chosen ``α``."""
        alpha, mu = settings.alpha, settings.mu
        self.__dict__.pop("alpha_scores_", None)  # from an earlier fit with "auto"
        self.__dict__.pop("mu_scores_", None)
        if mu == "auto" and not self.adaptive_weights:
            mu = np.inf
        if "auto" not in (alpha, mu, settings.prior, settings.frequency):
            return alpha, mu, None
        t0 = time.perf_counter()
        families, Y_train = validation_problem(visual, extra, Y, validation, settings.tag_weight)
        grid = ALPHA_GRID if alpha == "auto" else (alpha,)
        hidden, mu_hidden, solutions = {}, {}, {}
        scores, per_image = validation_scores(
            families,
            Y,
            Y_train,
            validation,
            grid,
            max(self.solver_tol, _selection.SELECTION_RTOL),
            hidden=hidden,
            solutions=solutions,
            default=DEFAULT_ALPHA if alpha == "auto" else float(alpha),
        )
        if alpha == "auto":
            alpha = choose_candidate(per_image, DEFAULT_ALPHA)
            self.alpha_scores_ = scores
        adaptive = bool(self.adaptive_weights) and mu != np.inf
        hidden_needed = "auto" in (settings.prior, settings.frequency)
        if mu == "auto" or (hidden_needed and adaptive):
            mu_scores, mu_per_image = mu_validation_scores(
                families,
                Y,
                Y_train,
                validation,
                alpha,
                self._trial_alternation,
                MU_GRID if mu == "auto" else (mu,),
                hidden=mu_hidden,
                F0=solutions[float(alpha)],
            )
            if mu == "auto":
                mu_scores[np.inf], mu_per_image[np.inf] = scores[alpha], per_image[alpha]
                mu = choose_candidate(mu_per_image, np.inf)
                self.mu_scores_ = mu_scores
        timings["selection"] += time.perf_counter() - t0
        F_hidden = mu_hidden.get(float(mu), hidden[float(alpha)])
        return alpha, mu, F_hidden

    def _folds(self, visual, extra, Y, validation, alpha, mu, F_hidden, settings, timings):
        """``[(validation, F_hidden)]`` of every held-out fold: the selection's own, and for a
        small data set (:func:`~._selection.more_folds`) the scores of the others' held-out
        images at the chosen ``alpha`` and ``mu``, solved as the selection's trials are."""
        folds = [(validation, F_hidden)]
        if F_hidden is None or "auto" not in (settings.prior, settings.frequency):
            return folds
        t0 = time.perf_counter()
        rtol = max(self.solver_tol, _selection.SELECTION_RTOL)
        adaptive = bool(self.adaptive_weights) and mu != np.inf
        for fold in more_folds(Y, validation, self.validation_fraction, self.random_state):
            families, Y_train = validation_problem(visual, extra, Y, fold, settings.tag_weight)
            hidden, solutions = {}, {}
            validation_scores(
                families,
                Y,
                Y_train,
                fold,
                (alpha,),
                rtol,
                hidden=hidden,
                solutions=solutions,
                default=float(alpha),
            )
            F = hidden[float(alpha)]
            if adaptive:
                mu_hidden = {}
                mu_validation_scores(
                    families,
                    Y,
                    Y_train,
                    fold,
                    alpha,
                    self._trial_alternation,
                    (mu,),
                    hidden=mu_hidden,
                    F0=solutions[float(alpha)],
                )
                F = mu_hidden[float(mu)]
            folds.append((fold, F))
        timings["selection"] += time.perf_counter() - t0
        return folds

    def _select_prior(self, views, Y, folds, settings, timings):
        """The prior's weight γ: as given, or chosen on the held-out ``folds`` when
        ``"auto"``; and the held-out images' scores at it (per fold; None if not needed)."""
        self.__dict__.pop("feature_prior_scores_", None)
        gamma, s_hidden = settings.prior, [F for _, F in folds]
        needed = gamma == "auto" or (gamma != 0 and settings.frequency == "auto")
        if folds[0][1] is None or not needed:
            self.feature_prior_ = float(settings.prior)
            return self.feature_prior_, s_hidden
        t0 = time.perf_counter()
        if gamma == "auto":
            gamma, self.feature_prior_scores_, s_hidden = select_prior(
                views, Y, folds, standardize=self.standardize_
            )
        else:  # only the frequency correction's choice needs these scores
            priors = fold_priors(views, Y, folds, self.standardize_)
            s_hidden = blend_folds(folds, priors, gamma)
        timings["selection"] += time.perf_counter() - t0
        self.feature_prior_ = float(gamma)
        return self.feature_prior_, s_hidden

    def _select_frequency(self, Y, folds, s_hidden, settings, timings):
        """The fraction β of the tag-frequency correction: as given, or chosen on the held-out
        ``folds`` (scores ``s_hidden``) when ``"auto"``."""
        self.__dict__.pop("frequency_correction_scores_", None)
        if settings.frequency != "auto":
            self.frequency_correction_ = float(settings.frequency)
            return self.frequency_correction_
        t0 = time.perf_counter()
        targets, frequencies = [], []
        for validation, _ in folds:
            shown = np.ones(Y.shape[0], dtype=bool)
            shown[validation] = False
            targets.append(np.asarray(Y[validation]))
            frequencies.append(tag_frequencies(Y, np.flatnonzero(shown)))
        beta, self.frequency_correction_scores_ = choose_frequency_correction(
            s_hidden, targets, frequencies
        )
        timings["selection"] += time.perf_counter() - t0
        self.frequency_correction_ = float(beta)
        return self.frequency_correction_

"""Compare the tagger's solvers with two baselines on one data set: fits, metrics, table rows.

This is the logic behind ``hyperlearn tag`` (and ``make demo``); the command line only parses
arguments and prints.  Every method is fitted on the same features and observed tags, timed
after a warm-up that compiles (or loads) the Numba kernels, and scored against the true tags
when they are known.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

__all__ = [
    "BASELINES",
    "COMPARE_SOLVERS",
    "EXACT_MAX_N",
    "KNN_DEFAULT_K",
    "WARMUP_IMAGES",
    "CompareSettings",
    "evaluate",
    "fit_baselines",
    "fit_solver",
    "methods_to_run",
    "table_rows",
    "top_tags",
    "warm_up_fits",
]

#: Solvers of :class:`~hyperlearn.HypergraphTagger` compared, in table order.
COMPARE_SOLVERS = ("block_cg", "cg", "tessellated", "exact")
#: Above this many images the comparison skips the ``exact`` solver: it factorises the dense
#: n × n matrix I − αΘ (tag hyperedges make Θ dense), O(n³) time and 8n² bytes.
EXACT_MAX_N = 5000
#: kNN voting's k when ``alpha="auto"`` finds no clearly better one on held-out tags.
KNN_DEFAULT_K = 10
#: Images of the warm-up fits that compile (or load) every solver's kernels before timing.
WARMUP_IMAGES = 120

BASELINES = {
    "knn_voting": "kNN tag voting: mean observed tags of the k nearest images (itself excluded)",
    "user_tags": "the observed user tags as given (untagged images: no information)",
}


@dataclass(frozen=True)
class CompareSettings:
    """Parameters shared by every method of a comparison (defaults: the estimator's).

    Attributes
    ----------
    n_neighbors : int
        Neighbours per visual hyperedge, and kNN voting's k unless ``alpha="auto"``.
    alpha : float or "auto"
        Propagation strength; ``"auto"`` also chooses kNN voting's k on held-out tags.
    max_iter : int
        Maximum alternations of the tagger.
    random_state : int or None
        Seeds the tagger and the held-out draws.
    n_jobs : int or None
        Threads of the Numba kernels and BLAS.
    validation_fraction : float
        With ``alpha="auto"``: fraction of the tagged images whose observed tags are hidden to
        choose alpha and kNN voting's k (the estimator's default).
    verbose : bool
        Progress bars of each fit (the tagger's ``verbose``).
    """

    n_neighbors: int = 20
    alpha: float | str = "auto"
    max_iter: int = 10
    random_state: int | None = 0
    n_jobs: int | None = None
    validation_fraction: float = 0.2
    verbose: bool = False

    def tagger(self, solver):
        """A :class:`~hyperlearn.HypergraphTagger` with these settings and ``solver``."""
        from ._estimator import HypergraphTagger

        return HypergraphTagger(
            n_neighbors=self.n_neighbors,
            alpha=self.alpha,
            max_iter=self.max_iter,
            validation_fraction=self.validation_fraction,
            solver=solver,
            random_state=self.random_state,
            n_jobs=self.n_jobs,
            verbose=self.verbose,
        )


def methods_to_run(n_images, *, compare, solver):
    """The solvers to fit and notes about any left out.

    Parameters
    ----------
    n_images : int
    compare : bool
        Every solver of ``COMPARE_SOLVERS`` (``exact`` only up to ``EXACT_MAX_N`` images), or
        only ``solver``.
    solver : str

    Returns
    -------
    solvers : list of str
    notes : list of str
    """
    if not compare:
        return [solver], []
    solvers = list(COMPARE_SOLVERS)
    notes = []
    if n_images > EXACT_MAX_N:
        solvers.remove("exact")
        notes.append(
            f"exact skipped: n = {n_images} > {EXACT_MAX_N} (dense O(n^3) factorisation); use "
            f"--n-images {EXACT_MAX_N} or fewer to include it"
        )
    return solvers, notes


def warm_up_fits(X, Y, untagged, solvers, settings, *, baselines):
    """Fit every solver (and kNN voting) on a few tagged images so that kernels are compiled.

    The fits use a fixed alpha: the held-out selection runs the same kernels.  Nothing is
    returned; the point is the side effect on Numba's caches.
    """
    from ._baselines import knn_tag_voting

    idx = np.flatnonzero(~untagged)[: min(X.shape[0], WARMUP_IMAGES)]
    k_warm = min(settings.n_neighbors, len(idx) - 1)
    if k_warm < 1 or not Y[idx].any():
        return
    for solver in solvers:
        model = settings.tagger(solver).set_params(n_neighbors=k_warm, max_iter=2, alpha=0.9)
        model.fit(X[idx], Y[idx])
    if baselines:
        knn_tag_voting(X[idx], Y[idx], n_neighbors=k_warm)


def fit_solver(X, Y, solver, settings):
    """Fit the tagger with ``solver``; a result dict (scores, time, alpha, iteration counts)."""
    model = settings.tagger(solver)
    t0 = time.perf_counter()
    model.fit(X, Y)
    elapsed = time.perf_counter() - t0
    return {
        "method": solver,
        "kind": "solver",
        "scores": np.asarray(model.scores_),
        "time_s": elapsed,
        "alpha": float(model.alpha_),
        "mu": float(model.mu_),
        "feature_prior": float(model.feature_prior_),
        "frequency_correction": float(model.frequency_correction_),
        "alpha_scores": getattr(model, "alpha_scores_", None),
        "alternations": int(model.n_iter_),
        "solver_iterations": [int(i) for i in model.solver_iterations_],
        "objective": [float(v) for v in model.objective_],
    }


def _knn_voting(X, Y, settings):
    """kNN voting scores, its k, and the held-out scores of each k (``alpha="auto"`` only)."""
    from ._baselines import knn_tag_voting, select_knn_k

    k, k_scores = settings.n_neighbors, None
    if settings.alpha == "auto":  # the same held-out protocol as the tagger's alpha
        k, k_scores = select_knn_k(
            X,
            Y,
            default=KNN_DEFAULT_K,
            validation_fraction=settings.validation_fraction,
            random_state=settings.random_state,
            n_jobs=settings.n_jobs,
        )
    return knn_tag_voting(X, Y, n_neighbors=k), k, k_scores


def fit_baselines(X, Y, settings):
    """Result dicts of the two baselines of ``BASELINES`` (kNN voting's time includes its k)."""
    from ._baselines import user_tag_scores

    results = []
    t0 = time.perf_counter()
    scores, k, k_scores = _knn_voting(X, Y, settings)
    results.append(_baseline_result("knn_voting", scores, time.perf_counter() - t0))
    results[-1].update(n_neighbors=k, k_scores=k_scores)
    t0 = time.perf_counter()
    scores = user_tag_scores(Y)
    results.append(_baseline_result("user_tags", scores, time.perf_counter() - t0))
    return results


def _baseline_result(name, scores, elapsed):
    return {
        "method": name,
        "kind": "baseline",
        "scores": np.asarray(scores, dtype=float),
        "time_s": elapsed,
        "alternations": None,
        "solver_iterations": None,
    }


def evaluate(results, truth, untagged, k):
    """Add ``"metrics"`` to each result: F1@k (all, untagged), P@k and MAP against ``truth``.

    Without ``truth`` (None) the metrics are an empty dict; ``f1@k_untagged`` is None when no
    image is untagged.
    """
    from ..metrics import f1_at_k, mean_average_precision, precision_at_k

    for r in results:
        r["metrics"] = {}
        if truth is None:
            continue
        S = r["scores"]
        r["metrics"] = {
            f"f1@{k}_all": f1_at_k(truth, S, k),
            f"f1@{k}_untagged": f1_at_k(truth[untagged], S[untagged], k)
            if untagged.any()
            else None,
            f"p@{k}": precision_at_k(truth, S, k),
            "map": mean_average_precision(truth, S),
        }


def _fmt(v, spec):
    return "-" if v is None else format(v, spec)


def _row(r, k, has_truth, has_untagged):
    m = r["metrics"]
    row = [r["method"]]
    if has_truth:
        row.append(_fmt(m[f"f1@{k}_all"], ".4f"))
        if has_untagged:
            row.append(_fmt(m[f"f1@{k}_untagged"], ".4f"))
        row += [_fmt(m[f"p@{k}"], ".4f"), _fmt(m["map"], ".4f")]
    its = r["solver_iterations"]
    row += [
        f"{r['time_s']:.3f}",
        _fmt(r["alternations"], "d"),
        "-" if its is None else str(sum(its)),
    ]
    return row


def table_rows(results, k, has_truth, has_untagged):
    """The comparison table as lines of text: header, rule, one row per method.

    The method is left-aligned, numbers right-aligned; metric columns only with ``has_truth``
    (the untagged column only with ``has_untagged``).
    """
    headers = ["method"]
    if has_truth:
        headers += [f"F1@{k} all"] + ([f"F1@{k} untagged"] if has_untagged else [])
        headers += [f"P@{k}", "MAP"]
    headers += ["time (s)", "alt", "solver its"]
    rows = [_row(r, k, has_truth, has_untagged) for r in results]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]

    def line(cells):
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    return [line(headers), "  ".join("-" * w for w in widths), *(line(r) for r in rows)]


def top_tags(scores, names, k):
    """Names of the top-``k`` tags of each row of ``scores`` (ties: the smaller tag index)."""
    from ..metrics import top_k_indicator

    mask = top_k_indicator(scores, k)
    order = (-scores).argsort(axis=1, kind="stable")
    return [[names[t] for t in order[i] if mask[i, t]][:k] for i in range(scores.shape[0])]

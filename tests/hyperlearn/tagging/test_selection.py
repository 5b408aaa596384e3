"""Held-out selection of alpha (``HypergraphTagger(alpha="auto")``) and of kNN voting's k.

The oracles rebuild everything independently: the split from its definition, the hypergraph
incidence from scikit-learn's nearest neighbours, Θ densely, the solve with NumPy, F1@5 with
scikit-learn's ``f1_score`` on the top-5 indicator.
"""

import numpy as np
import pytest
from sklearn.metrics import f1_score
from sklearn.neighbors import NearestNeighbors
from sklearn.utils import check_random_state

import hyperlearn.metrics
from hyperlearn import Hypergraph, HypergraphTagger
from hyperlearn.datasets import make_tagged_shapes
from hyperlearn.hypergraph import _reference
from hyperlearn.tagging import ALPHA_GRID, KNN_K_GRID, _selection, choose_candidate, select_knn_k
from hyperlearn.tagging._families import visual_families
from hyperlearn.tagging._selection import (
    DEFAULT_ALPHA,
    GRID_PATIENCE,
    MU_GRID,
    holdout_split,
    more_folds,
    per_image_f1,
)

N_IMAGES = 120
#: The model of the alpha oracle: binary kNN hyperedges on the raw features, fixed weights.
PLAIN = {
    "incidence": "binary",
    "standardize": False,
    "mu": np.inf,
    "feature_prior": 0.0,
    "frequency_correction": 0.0,
}
#: Held-out F1 evaluations of a default fit besides the alpha grid's: raw and standardised
#: votes, the finite mu candidates (all on the same hidden images).
OTHER_EVALUATIONS = 2 + len(MU_GRID)
TAG_WEIGHT = 0.1  # the estimator's default initial tag-hyperedge weight (visual ones: 1)
# The selection's block CG stops at this relative residual; its scores are then within
# κ·CG_TOL (κ ≤ 1/(1 − α) ≤ 34 on the grid) of the dense solve's, so both rank the tags alike
# unless two scores of an image are that close.  F1 values are means of ratios of small
# integers: equal rankings give F1 equal to rounding.
CG_TOL = 1e-11
F1_ROUNDING = 1e-12


@pytest.fixture(scope="module")
def data():
    d = make_tagged_shapes(N_IMAGES, random_state=0, untagged_fraction=0.2)
    return d.features.astype(np.float64), d.tags_observed, d.tags_true


def oracle_split(Y, fraction, seed):
    tagged = np.flatnonzero(Y.any(axis=1))
    size = round(fraction * tagged.size)
    return np.sort(check_random_state(seed).choice(tagged, size=size, replace=False))


def neighbours(X, k):
    """k nearest other images of each image (scikit-learn, self dropped)."""
    _, idx = NearestNeighbors(n_neighbors=k + 1).fit(X).kneighbors(X)
    return idx[:, 1:]


def top5(Y_true, scores):
    order = np.argsort(-scores, axis=1, kind="stable")[:, : min(5, Y_true.shape[1])]
    Z = np.zeros_like(Y_true)
    np.put_along_axis(Z, order, 1, axis=1)
    return Z


def top5_f1(Y_true, scores):
    """(mean F1, per-image F1) of the top-5 tags, both from scikit-learn."""
    Z = top5(Y_true, scores)
    pairs = zip(Y_true, Z, strict=True)
    per_image = np.array([f1_score(y, z, zero_division=0.0) for y, z in pairs])
    return f1_score(Y_true, Z, average="samples", zero_division=0.0), per_image


def oracle_choice(results, default):
    """Best mean (first on ties) if its paired gain over the default is > 1 standard error."""
    best_mean = max(mean for mean, _ in results.values())
    best = next(c for c, (mean, _) in results.items() if mean >= best_mean - F1_ROUNDING)
    gain = results[best][1] - results[default][1]
    if best == default or gain.mean() <= np.std(gain, ddof=1) / np.sqrt(gain.size):
        return default
    return best


def oracle_reached(means, grid):
    """The candidates of ``grid`` walked in order until GRID_PATIENCE successive ones are not
    above the best so far (values within F1_ROUNDING count as equal)."""
    reached, best, below = [], None, 0
    for c in grid:
        reached.append(c)
        if best is None or means[c] > means[best] + F1_ROUNDING:
            best, below = c, 0
        else:
            below += 1
            if below >= GRID_PATIENCE:
                break
    return reached


def oracle_alpha_scores(X, Y, n_neighbors, validation):
    n, T = Y.shape
    Y_train = Y.astype(np.float64)
    Y_train[validation] = 0
    H_knn = np.zeros((n, n))
    H_knn[np.arange(n), np.arange(n)] = 1
    np.put_along_axis(H_knn, neighbours(X, n_neighbors), 1, axis=1)
    H = np.hstack([H_knn.T, Y_train])  # column e = hyperedge e (image e and its neighbours)
    w = np.r_[np.ones(n), np.full(T, TAG_WEIGHT)]
    theta = _reference.normalized_adjacency(H, w)
    out = {}
    for a in ALPHA_GRID:
        F = np.linalg.solve(np.eye(n) - a * theta, (1 - a) * Y_train)
        out[a] = top5_f1(Y[validation], F[validation])
    return out


def test_alpha_is_the_best_of_the_grid_on_the_hidden_observed_tags(data, monkeypatch):
    X, Y, _ = data
    monkeypatch.setattr(_selection, "SELECTION_RTOL", CG_TOL)  # solve as the oracle does
    model = HypergraphTagger(alpha="auto", n_neighbors=5, solver="exact", max_iter=2, **PLAIN)
    model.set_params(random_state=0, solver_tol=CG_TOL).fit(X, Y)
    expected = oracle_alpha_scores(X, Y, 5, oracle_split(Y, 0.2, 0))
    reached = oracle_reached({a: mean for a, (mean, _) in expected.items()}, ALPHA_GRID)
    assert list(model.alpha_scores_) == reached
    for a in reached:
        assert model.alpha_scores_[a] == pytest.approx(expected[a][0], abs=F1_ROUNDING)
    assert model.alpha_ == oracle_choice({a: expected[a] for a in reached}, DEFAULT_ALPHA)
    # the final fit is the ordinary fit at that alpha
    fixed = HypergraphTagger(alpha=model.alpha_, n_neighbors=5, solver="exact", max_iter=2)
    fixed.set_params(random_state=0, solver_tol=CG_TOL, **PLAIN).fit(X, Y)
    np.testing.assert_array_equal(fixed.scores_, model.scores_)


def test_selection_scores_only_hidden_observed_tags(data, monkeypatch):
    """Every F1 of the selection compares with rows of the OBSERVED Y of tagged images."""
    X, Y, Y_true = data
    seen = []
    real = hyperlearn.metrics.f1_at_k

    def recording(Y_ref, scores, k=5, **kw):
        seen.append(np.array(Y_ref))
        return real(Y_ref, scores, k, **kw)

    monkeypatch.setattr(hyperlearn.metrics, "f1_at_k", recording)
    model = HypergraphTagger(alpha="auto", n_neighbors=5, max_iter=1, random_state=1).fit(X, Y)
    validation = oracle_split(Y, 0.2, 1)
    # a small set: the prior's weight and the frequency correction are also scored on the
    # other folds, each solved once at the chosen alpha (and once more at a finite mu)
    folds = more_folds(Y, validation, 0.2, 1)
    per_fold = 1 + (model.mu_ != np.inf)
    n_main = OTHER_EVALUATIONS + len(model.alpha_scores_)
    assert len(folds) == 4 and len(seen) == n_main + per_fold * len(folds)
    tagged = Y[Y.any(axis=1)]
    # the scaling's leave-one-out votes are scored on every tagged image, the rest on V
    for ref in seen[:2]:
        np.testing.assert_array_equal(ref, tagged)
    for ref in seen[2:n_main]:
        np.testing.assert_array_equal(ref, Y[validation])
    for ref, fold in zip(seen[n_main:], [f for f in folds for _ in range(per_fold)], strict=True):
        np.testing.assert_array_equal(ref, Y[fold])
    # together, the folds hold out every tagged image once
    held = np.concatenate([validation, *folds])
    np.testing.assert_array_equal(np.sort(held), np.flatnonzero(Y.any(axis=1)))
    assert Y[validation].any(axis=1).all()
    assert not np.array_equal(Y[validation], Y_true[validation])  # noisy: not the truth
    # the truth is never an input: the same X, Y give the same choice whatever it is
    assert model.alpha_ in ALPHA_GRID


def test_selection_is_deterministic_given_random_state(data):
    X, Y, _ = data

    def fit(seed):
        return HypergraphTagger(alpha="auto", n_neighbors=5, max_iter=1, random_state=seed).fit(
            X, Y
        )

    a, b = fit(3), fit(3)
    assert a.alpha_ == b.alpha_ and a.alpha_scores_ == b.alpha_scores_
    np.testing.assert_array_equal(a.scores_, b.scores_)
    assert not np.array_equal(holdout_split(Y, 0.2, 3), holdout_split(Y, 0.2, 4))


def test_hypergraph_built_once_for_the_whole_grid(data, monkeypatch):
    X, Y, _ = data
    import hyperlearn.hypergraph

    calls = {"kneighbors": 0, "from_labels": 0}
    real = Hypergraph.from_labels.__func__

    def counting(cls, *args, **kwargs):
        calls["from_labels"] += 1
        return real(cls, *args, **kwargs)

    real_search = hyperlearn.hypergraph.kneighbors

    def searching(*args, **kwargs):
        calls["kneighbors"] += 1
        return real_search(*args, **kwargs)

    monkeypatch.setattr(Hypergraph, "from_labels", classmethod(counting))
    monkeypatch.setattr(hyperlearn.hypergraph, "kneighbors", searching)
    HypergraphTagger(alpha="auto", n_neighbors=5, max_iter=1, standardize=False).fit(X, Y)
    # one kNN search; tag hyperedges once for the validation grid, once per further held-out
    # fold of this small set, once for the final fit
    more = round(1 / 0.2) - 1
    assert calls == {"kneighbors": 1, "from_labels": 2 + more}


def test_fitted_alpha_attributes(data):
    X, Y, _ = data
    model = HypergraphTagger(alpha=0.5, n_neighbors=5, max_iter=1).fit(X, Y)
    assert model.alpha_ == 0.5 and not hasattr(model, "alpha_scores_")
    model.set_params(alpha="auto").fit(X, Y)
    assert model.alpha_ in ALPHA_GRID and "selection" in model.timings_
    model.set_params(alpha=0.7).fit(X, Y)
    assert model.alpha_ == 0.7 and not hasattr(model, "alpha_scores_")


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"alpha": "best"}, TypeError, r"alpha='best' is not valid: expected 'auto' or a finite"),
        ({"alpha": "AUTO"}, TypeError, r"alpha='AUTO' is not valid: expected 'auto' or"),
        ({"alpha": 1.0}, ValueError, r"alpha=1\.0 is out of range: expected 'auto' or .* \(0, 1\)"),
        ({"alpha": "auto", "validation_fraction": 0.0}, ValueError, "validation_fraction=0.0"),
        ({"alpha": "auto", "validation_fraction": 1.0}, ValueError, "validation_fraction=1.0"),
        ({"alpha": "auto", "validation_fraction": "half"}, TypeError, "validation_fraction='half'"),
        ({"validation_fraction": -0.1}, ValueError, "validation_fraction=-0.1"),
    ],
)
def test_bad_selection_parameters(data, params, error, match):
    X, Y, _ = data
    with pytest.raises(error, match=match):
        HypergraphTagger(n_neighbors=5, **params).fit(X, Y)


def test_too_few_tagged_images_to_hold_out(data):
    X, Y, _ = data
    tagged = np.flatnonzero(Y.any(axis=1))
    Y = np.zeros_like(Y)
    Y[tagged[:2]] = data[1][tagged[:2]]  # two tagged images: 20 % of them rounds to none
    with pytest.raises(ValueError, match=r"validation_fraction=0.2 of the 2 tagged images"):
        HypergraphTagger(alpha="auto", n_neighbors=5).fit(X, Y)
    # fixed alpha, mu and standardisation do not need a held-out set
    HypergraphTagger(alpha=0.9, n_neighbors=5, max_iter=1, **PLAIN).fit(X, Y)


# --- kNN tag voting --------------------------------------------------------------------------


def test_select_knn_k_is_the_best_k_on_the_hidden_observed_tags(data):
    X, Y, _ = data
    k, scores = select_knn_k(X, Y, random_state=0)
    validation = oracle_split(Y, 0.2, 0)
    Y_train = Y.astype(np.float64)
    Y_train[validation] = 0
    idx = neighbours(X, max(KNN_K_GRID))
    expected = {
        kk: top5_f1(Y[validation], Y_train[idx[validation, :kk]].mean(axis=1)) for kk in KNN_K_GRID
    }
    assert list(scores) == list(KNN_K_GRID)
    for kk in KNN_K_GRID:
        assert scores[kk] == pytest.approx(expected[kk][0], abs=F1_ROUNDING)
    assert k == oracle_choice(expected, 10)
    k_best, _ = select_knn_k(X, Y, default=None, random_state=0)
    assert k_best == next(kk for kk in KNN_K_GRID if scores[kk] == max(scores.values()))


def test_knn_and_tagger_hold_out_the_same_images(data, monkeypatch):
    X, Y, _ = data
    seen = []
    real = hyperlearn.metrics.f1_at_k
    monkeypatch.setattr(
        hyperlearn.metrics,
        "f1_at_k",
        lambda Y_ref, S, k=5, **kw: seen.append(np.array(Y_ref)) or real(Y_ref, S, k, **kw),
    )
    select_knn_k(X, Y, random_state=5)
    model = HypergraphTagger(alpha="auto", n_neighbors=5, max_iter=1, random_state=5).fit(X, Y)
    n_main = len(KNN_K_GRID) + OTHER_EVALUATIONS + len(model.alpha_scores_)
    per_fold = 1 + (model.mu_ != np.inf)  # then the further folds of a small set
    assert len(seen) == n_main + per_fold * (round(1 / 0.2) - 1)
    n_knn = len(KNN_K_GRID)  # then the scaling's two leave-one-out scores (all tagged images)
    for ref in seen[1:n_knn] + seen[n_knn + 2 : n_main]:
        np.testing.assert_array_equal(ref, seen[0])


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"ks": ()}, ValueError, "ks must hold"),
        ({"ks": (5, 0)}, ValueError, "ks=0 is out of range: expected an integer >= 1"),
        ({"ks": (2.5,)}, TypeError, "ks=2.5 is not valid: expected an integer"),
        ({"ks": (N_IMAGES,)}, ValueError, "every k in ks must be <"),
        ({"validation_fraction": 1.5}, ValueError, "validation_fraction=1.5"),
        ({"ks": (5, 20), "default": 10}, ValueError, "default must be one of ks"),
    ],
)
def test_select_knn_k_bad_input(data, kwargs, error, match):
    X, Y, _ = data
    with pytest.raises(error, match=match):
        select_knn_k(X, Y, **kwargs)


def test_every_solver_sees_the_same_validation_scores(data):
    """The grid is solved by block CG whatever the fit's solver (no dense factorisations)."""
    X, Y, _ = data
    scores = [
        HypergraphTagger(alpha="auto", n_neighbors=5, max_iter=1, solver=solver, random_state=0)
        .fit(X, Y)
        .alpha_scores_
        for solver in ("block_cg", "exact", "cg")
    ]
    assert scores[0] == scores[1] == scores[2]


def test_grid_walk_stops_after_patience_declines_and_keeps_two_solutions(data, monkeypatch):
    """The walk up the alpha grid leaves after GRID_PATIENCE successive candidates below the
    best so far; the solutions of the default and of the best are the ones kept."""
    X, Y, _ = data
    means = iter([0.5, 0.6, 0.55, 0.58, 0.9])  # 0.35 best; 0.5 and 0.7 below it: stop
    monkeypatch.setattr(_selection, "GRID_PATIENCE", 2)
    real = _selection._held_out_f1

    def prescribed(Y_, validation, F):
        _, per_image = real(Y_, validation, F)
        return next(means), per_image

    monkeypatch.setattr(_selection, "_held_out_f1", prescribed)
    vis = visual_families([X], (5,), incidence="binary")
    validation = holdout_split(Y, 0.2, 0)
    families, Y_train = _selection.validation_problem(vis, None, Y, validation, TAG_WEIGHT)
    solutions = {}
    scores, _ = _selection.validation_scores(
        families, Y, Y_train, validation, ALPHA_GRID, 1e-8, solutions=solutions, default=0.2
    )
    assert list(scores) == [0.2, 0.35, 0.5, 0.7]
    assert sorted(solutions) == [0.2, 0.35]
    for a, F in solutions.items():  # each is the solution of its own system
        identity = np.eye(Y.shape[0])
        A = identity - a * (families.hypergraph.normalized_adjacency() @ identity)
        residual = np.linalg.norm(A @ F - (1 - a) * Y_train) / np.linalg.norm((1 - a) * Y_train)
        assert residual <= 1e-8


def test_fit_after_selection_is_the_fixed_fit_at_the_chosen_alpha(data):
    """Selection changes which alpha is used, not how the fit at that alpha is solved."""
    X, Y, _ = data
    auto = HypergraphTagger(alpha="auto", n_neighbors=5, max_iter=1, random_state=0, **PLAIN)
    auto.fit(X, Y)
    fixed = HypergraphTagger(alpha=auto.alpha_, n_neighbors=5, max_iter=1, **PLAIN).fit(X, Y)
    np.testing.assert_array_equal(auto.scores_, fixed.scores_)


def test_held_out_solves_meet_the_selection_tolerance(data):
    """At the default SELECTION_RTOL the held-out scores are within κ·rtol·‖rhs‖ of the dense
    solve's (κ = (1 + α)/(1 − α) bounds cond(I − αΘ)): block CG's relative residual bound."""
    X, Y, _ = data
    validation = holdout_split(Y, 0.2, 0)
    vis = visual_families([X], (5,), incidence="binary")
    families, Y_train = _selection.validation_problem(vis, None, Y, validation, TAG_WEIGHT)
    hidden = {}
    rtol = _selection.SELECTION_RTOL
    _selection.validation_scores(families, Y, Y_train, validation, ALPHA_GRID, rtol, hidden=hidden)
    identity = np.eye(Y.shape[0])
    theta = families.hypergraph.normalized_adjacency() @ identity
    for a, F_hidden in hidden.items():
        rhs = (1 - a) * Y_train
        exact = np.linalg.solve(identity - a * theta, rhs)[validation]
        kappa = (1 + a) / (1 - a)
        assert np.linalg.norm(F_hidden - exact) <= kappa * rtol * np.linalg.norm(rhs)


# --- the rule that keeps the default unless another candidate is clearly better -------------


def test_choice_keeps_the_default_within_one_standard_error():
    default = np.array([0.5, 0.5, 0.5, 0.5])
    noisy = np.array([0.3, -0.1, 0.3, -0.1])  # gain: mean 0.1, std(ddof=1) 0.231, se 0.115
    assert choose_candidate({0.9: default, 0.5: default + noisy}, 0.9) == 0.9
    clear = np.array([0.15, 0.05, 0.15, 0.05])  # gain: mean 0.1, se 0.029
    assert choose_candidate({0.9: default, 0.5: default + clear}, 0.9) == 0.5
    # the best mean is compared with the default, not with the runner-up
    runner_up = default + np.array([0.1, 0.0, 0.1, 0.0])
    assert choose_candidate({0.9: default, 0.7: runner_up, 0.5: default + clear}, 0.9) == 0.5
    # one held-out image gives no standard error: keep the default
    assert choose_candidate({0.9: np.array([0.2]), 0.5: np.array([0.9])}, 0.9) == 0.9


def test_per_image_f1_averages_to_f1_at_k(data):
    _, Y, Y_true = data
    scores = np.random.default_rng(0).random(Y.shape)
    values = per_image_f1(Y_true, scores, 5)
    assert values.mean() == pytest.approx(hyperlearn.metrics.f1_at_k(Y_true, scores, 5), rel=1e-12)
    np.testing.assert_allclose(values, top5_f1(Y_true, scores)[1], rtol=1e-12)


def test_choose_standardization_uses_an_evenly_spaced_subset_beyond_the_cap(monkeypatch):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 5)) * np.array([1.0, 10.0, 100.0, 1.0, 1.0])
    Y = (rng.random((300, 4)) < 0.3).astype(np.float64)
    subset = np.linspace(0, 299, 100).round().astype(np.int64)
    expected = _selection.choose_standardization(X[subset], Y[subset], 5)
    monkeypatch.setattr(_selection, "STANDARDIZATION_MAX_IMAGES", 100)
    assert _selection.choose_standardization(X, Y, 5) == expected


def oracle_loo_votes(X, Y, k, queries):
    """Mean observed tags of the k nearest other images of each query (scikit-learn)."""
    _, idx = NearestNeighbors(n_neighbors=k + 1).fit(X).kneighbors(X[queries])
    rows = [row[row != q][:k] for q, row in zip(queries, idx, strict=True)]
    return np.array([Y[r].mean(axis=0) for r in rows])


@pytest.mark.parametrize("max_queries", [None, 40])
def test_choose_standardization_is_leave_one_out_kNN_voting(data, monkeypatch, max_queries):
    """Every tagged image (or an evenly spaced MAX_QUERIES of them) votes from its k nearest
    other images, with raw and standardised features; the choice is the oracle's rule."""
    X, Y, _ = data
    X = X * np.linspace(1.0, 300.0, X.shape[1])  # scales spread: standardising matters
    queries = np.flatnonzero(Y.any(axis=1))
    if max_queries is not None:
        monkeypatch.setattr(_selection, "STANDARDIZATION_MAX_QUERIES", max_queries)
        queries = queries[np.linspace(0, queries.size - 1, max_queries).round().astype(int)]
    Xs = (X - X.mean(axis=0)) / np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0)
    expected = {
        False: top5_f1(Y[queries], oracle_loo_votes(X, Y, 5, queries)),
        True: top5_f1(Y[queries], oracle_loo_votes(Xs, Y, 5, queries)),
    }
    choice, scores = _selection.choose_standardization(X, Y, 5)
    for standardize in (False, True):
        assert scores[standardize] == pytest.approx(expected[standardize][0], abs=F1_ROUNDING)
    assert choice == oracle_choice(expected, False)


def test_standardization_and_neighbors_is_the_same_choice_from_the_build_search(data):
    """The leave-one-out votes taken from a self-search of all images equal the oracle's, and
    the search handed over is the one the build would make of the chosen features."""
    from hyperlearn.hypergraph import kneighbors
    from hyperlearn.tagging._families import standardize_features

    X, Y, _ = data
    X = X * np.linspace(1.0, 300.0, X.shape[1])
    queries = np.flatnonzero(Y.any(axis=1))
    Xs = (X - X.mean(axis=0)) / np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0)
    expected = {
        False: top5_f1(Y[queries], oracle_loo_votes(X, Y, 5, queries)),
        True: top5_f1(Y[queries], oracle_loo_votes(Xs, Y, 5, queries)),
    }
    choice, scores, (dist, idx) = _selection.standardization_and_neighbors(X, Y, (5, 8))
    for standardize in (False, True):
        assert scores[standardize] == pytest.approx(expected[standardize][0], abs=F1_ROUNDING)
    assert choice == oracle_choice(expected, False)
    assert (choice, scores) == _selection.choose_standardization(X, Y, 5)
    searched = standardize_features(X) if choice else X
    d_ref, i_ref = kneighbors(searched, 8, method="auto")
    assert np.array_equal(idx, i_ref) and np.array_equal(dist, d_ref)


@pytest.mark.parametrize("scale_spread", [1.0, 300.0])
def test_auto_standardization_fit_is_bitwise_the_fit_at_its_choice(data, scale_spread):
    """The build reuses the choice's search: the fit equals the one told the chosen value."""
    X, Y, _ = data
    X = X * np.linspace(1.0, scale_spread, X.shape[1])
    params = {"n_neighbors": 5, "random_state": 2, "max_iter": 2}
    auto = HypergraphTagger(**params).fit(X, Y)
    told = HypergraphTagger(standardize=auto.standardize_[0], **params).fit(X, Y)
    assert (auto.hypergraph_.incidence != told.hypergraph_.incidence).nnz == 0
    assert np.array_equal(auto.scores_, told.scores_)
    assert auto.alpha_ == told.alpha_ and auto.feature_prior_ == told.feature_prior_


def test_standardization_and_neighbors_falls_back_beyond_the_caps(monkeypatch):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((200, 4)) * np.array([1.0, 50.0, 1.0, 5.0])
    Y = (rng.random((200, 3)) < 0.4).astype(np.float64)
    monkeypatch.setattr(_selection, "STANDARDIZATION_MAX_QUERIES", 50)
    choice, scores, searched = _selection.standardization_and_neighbors(X, Y, (5,))
    assert searched is None
    assert (choice, scores) == _selection.choose_standardization(X, Y, 5)


def test_selection_beyond_the_cap_runs_on_a_random_subset_with_its_own_hyperedges(
    data, monkeypatch
):
    """Beyond SELECTION_MAX_IMAGES the held-out choices are those of the same selection run on
    a random subset (kNN hyperedges searched within it); the fit itself uses every image."""
    X, Y, _ = data
    monkeypatch.setattr(_selection, "SELECTION_MAX_IMAGES", 70)
    model = HypergraphTagger(alpha="auto", n_neighbors=5, max_iter=1, random_state=3, **PLAIN)
    model.fit(X, Y)
    rng = check_random_state(3)
    subset = _selection.selection_subset(N_IMAGES, rng)
    assert subset.size == 70 and np.all(np.diff(subset) > 0)
    validation = holdout_split(Y[subset], 0.2, rng)
    vis = visual_families([X[subset]], (5,), incidence="binary")
    families, Y_train = _selection.validation_problem(vis, None, Y[subset], validation, TAG_WEIGHT)
    expected, _ = _selection.validation_scores(
        families, Y[subset], Y_train, validation, ALPHA_GRID, _selection.SELECTION_RTOL
    )
    assert model.alpha_scores_ == expected
    assert model.scores_.shape == Y.shape
    fixed = HypergraphTagger(alpha=model.alpha_, n_neighbors=5, max_iter=1, **PLAIN).fit(X, Y)
    np.testing.assert_array_equal(model.scores_, fixed.scores_)
    assert _selection.selection_subset(70, rng) is None  # up to the cap: every image


def test_selection_subset_restricts_the_extra_hyperedges(data, monkeypatch):
    X, Y, _ = data
    monkeypatch.setattr(_selection, "SELECTION_MAX_IMAGES", 70)
    groups = np.arange(N_IMAGES) % 7  # e.g. seven photographers
    extra = Hypergraph.from_labels(np.eye(7)[groups])
    model = HypergraphTagger(n_neighbors=5, max_iter=1, random_state=0).fit(X, Y, hypergraph=extra)
    assert "user" in [name for name, _ in model.families_]
    assert set(model.alpha_scores_) <= set(ALPHA_GRID) and model.alpha_ in model.alpha_scores_

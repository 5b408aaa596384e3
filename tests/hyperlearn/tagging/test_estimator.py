"""HypergraphTagger: solvers against the exact solve, monotone objective, estimator contracts."""

import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors
from sklearn.utils.estimator_checks import parametrize_with_checks

from hyperlearn import Hypergraph, HypergraphTagger
from hyperlearn.datasets import load_digits_tags, make_tagged_shapes
from hyperlearn.hypergraph import _reference
from hyperlearn.metrics import f1_at_k
from hyperlearn.tagging import knn_tag_voting, user_tag_scores
from hyperlearn.tagging._solvers import shifted_operator
from hyperlearn.testing import assert_solution_accuracy

#: The plain model the oracles describe: alpha 0.9, binary kNN hyperedges on the raw features,
#: mu = 1 (scale-free) when weights are learned, the scores as solved (rows not normalised),
#: no linear-feature prior.
PLAIN = {
    "alpha": 0.9,
    "mu": 1.0,
    "standardize": False,
    "incidence": "binary",
    "n_neighbors": 10,
    "normalize_scores": False,
    "feature_prior": 0.0,
    "frequency_correction": 0.0,
}


def plain(**params):
    return HypergraphTagger(**{**PLAIN, **params})


@pytest.fixture(scope="module")
def shapes():
    return make_tagged_shapes(300, random_state=0, untagged_fraction=0.2)


@pytest.fixture(scope="module")
def digits():
    return load_digits_tags(random_state=0, untagged_fraction=0.2)


def dense_solution(hg, Y, alpha):
    """Oracle: (1 − α)(I − αΘ)^{-1} Y with the dense reference Θ."""
    theta = _reference.normalized_adjacency(hg.incidence.toarray(), hg.weights)
    n = theta.shape[0]
    return np.linalg.solve(np.eye(n) - alpha * theta, (1 - alpha) * Y)


def test_exact_solver_equals_the_dense_oracle(shapes):
    Y = shapes.tags_observed
    model = plain(solver="exact", adaptive_weights=False).fit(shapes.features, Y)
    expected = dense_solution(model.hypergraph_, Y.astype(float), model.alpha_)
    # backward-stable Cholesky in float64: error ≲ κ · n · eps64 relative, κ ≤ 1/(1 − α) = 10,
    # plus the rounding of the result to the dtype of the features (float32 here)
    n = Y.shape[0]
    rel = np.linalg.norm(model.scores_ - expected) / np.linalg.norm(expected)
    assert rel <= 10 * n * np.finfo(np.float64).eps + np.finfo(model.scores_.dtype).eps


@pytest.mark.parametrize("solver", ["block_cg", "cg", "tessellated"])
@pytest.mark.parametrize("alpha", [0.5, 0.9, 0.99])
def test_iterative_solvers_agree_with_exact(shapes, solver, alpha):
    X, Y = shapes.features.astype(np.float64), shapes.tags_observed
    tol = 1e-8
    exact = plain(solver="exact", alpha=alpha, adaptive_weights=False).fit(X, Y)
    model = plain(
        solver=solver, alpha=alpha, adaptive_weights=False, solver_tol=tol, random_state=0
    ).fit(X, Y)
    # residual criterion, and ‖x − x*‖/‖x*‖ <= κ·relres per column with κ(I − αΘ) <= 1/(1 − α)
    assert_solution_accuracy(
        shifted_operator(model.hypergraph_, alpha),
        model.scores_,
        (1 - alpha) * Y.astype(np.float64),
        rtol=tol,
        condition_number=1 / (1 - alpha),
        x_true=exact.scores_,
    )
    untagged = ~np.any(exact.scores_, axis=0)  # tags nobody carries: exactly zero scores
    assert not np.any(model.scores_[:, untagged])


#: c in the rounding bound c·n·eps·κ of a dense symmetric eigendecomposition and its inverse
ROUNDING_SLACK = 10


def test_tessellated_preconditioner_with_one_full_rank_block_is_the_inverse(shapes):
    """One block of full rank is factored exactly: the Woodbury operator is (I − αΘ)^{-1}."""
    from hyperlearn.tagging._solvers import tessellated_preconditioner

    X, Y = shapes.features[:80].astype(np.float64), shapes.tags_observed[:80]
    alpha = 0.9
    hg = plain(solver="exact", adaptive_weights=False).fit(X, Y).hypergraph_
    M = tessellated_preconditioner(hg, alpha, n_blocks=1, rank=80, random_state=0)
    theta = _reference.normalized_adjacency(hg.incidence.toarray(), hg.weights)
    inverse = np.linalg.inv(np.eye(80) - alpha * theta)
    kappa = 1 / (1 - alpha)
    bound = ROUNDING_SLACK * 80 * np.finfo(np.float64).eps * kappa * np.linalg.norm(inverse, 2)
    assert np.abs(M.matmat(np.eye(80)) - inverse).max() <= bound
    # so preconditioned CG (per column, in lockstep) converges in one iteration
    from hyperlearn.linalg import block_cg

    rhs = (1 - alpha) * Y.astype(np.float64)
    history = []
    _, info = block_cg(
        shifted_operator(hg, alpha), rhs, M=M, rtol=1e-8, residuals=history, method="batched"
    )
    assert info == 0 and len(history) - 1 == 1


def test_tessellated_preconditioner_saves_iterations(digits):
    X, Y = digits.features[:400].astype(np.float64), digits.tags_observed[:400]
    kw = dict(adaptive_weights=False, solver_tol=1e-8)
    cg = plain(solver="block_cg", **kw).fit(X, Y)
    tess = plain(solver="tessellated", n_blocks=1, rank=60, random_state=0, **kw)
    assert tess.fit(X, Y).solver_iterations_[0] < cg.solver_iterations_[0]


@pytest.mark.parametrize("mu", [1.0, 0.05])
def test_scores_are_those_of_the_final_weights_to_solver_tol(digits, mu):
    """Early f-steps stop at EARLY_SOLVER_TOL; scores_ solve the system of hypergraph_."""
    from hyperlearn.tagging._alternation import EARLY_SOLVER_TOL

    X, Y = digits.features[:400].astype(np.float64), digits.tags_observed[:400]
    tol, alpha = 1e-8, 0.9
    model = plain(max_iter=5, solver_tol=tol, mu=mu).fit(X, Y)
    assert EARLY_SOLVER_TOL > tol
    assert len(model.objective_) >= 3  # a w-step was accepted: the weights moved
    np.testing.assert_array_equal(model.hypergraph_.weights, model.edge_weights_)
    assert_solution_accuracy(
        shifted_operator(model.hypergraph_, alpha),
        model.scores_,
        (1 - alpha) * Y.astype(np.float64),
        rtol=tol,
        condition_number=1 / (1 - alpha),
    )


@pytest.mark.parametrize("weight_update", ["simplex", "closed_form", "degree_aware"])
def test_objective_is_non_increasing_with_the_exact_solver(shapes, weight_update):
    X = shapes.features.astype(np.float64)  # float64 hypergraph: J is evaluated to ~eps64
    model = plain(solver="exact", max_iter=6, tol=1e-12, weight_update=weight_update).fit(
        X, shapes.tags_observed
    )
    J = np.array(model.objective_)
    assert len(J) >= 3  # f-step, accepted w-step, final f-step
    # each f-step is an exact minimisation, each w-step is accepted only if J does not rise
    assert np.all(np.diff(J) <= 1e-10 * np.abs(J[:-1]))


def test_closed_form_update_stops_at_the_non_negative_boundary(shapes):
    """With a small μ the unprojected centred target has negative entries: the step is cut."""
    from hyperlearn.tagging import centred_closed_form
    from hyperlearn.tagging._weights import penalty_scales

    X, Y = shapes.features, shapes.tags_observed
    first = plain(solver="exact", adaptive_weights=False).fit(X, Y)
    hg = first.hypergraph_
    c = np.asarray(hg.edge_statistics(first.scores_), dtype=float)
    model = plain(solver="exact", max_iter=3, mu=1e-3, weight_update="closed_form").fit(X, Y)
    w0 = np.asarray(hg.weights, dtype=float)
    target = centred_closed_form(c, w0, penalty_scales(hg.edge_degrees), model.mu_)
    assert np.any(target < 0)  # the case this test is about
    w = model.edge_weights_
    assert np.all(w >= 0)
    assert w.sum() == pytest.approx(1.0, abs=1e-6)
    assert np.all(np.diff(model.objective_) <= 1e-10 * np.abs(model.objective_[:-1]))


def test_weights_stay_on_the_simplex(shapes):
    model = plain(max_iter=4, tol=1e-12).fit(shapes.features, shapes.tags_observed)
    w = model.edge_weights_
    assert np.all(w >= 0)
    assert w.sum() == pytest.approx(1.0, abs=1e-6)  # float32 features: weights stored float32
    np.testing.assert_array_equal(model.hypergraph_.weights, w)


def test_weights_follow_the_centred_w_step(shapes):
    """One alternation accepted in full: w = the centred, size-weighted projection of the
    exact gradient ``c − b`` (the default, degree-aware update)."""
    from hyperlearn.tagging import centred_weights, degree_term
    from hyperlearn.tagging._weights import penalty_scales

    X, Y = shapes.features, shapes.tags_observed
    model = plain(solver="exact", max_iter=1, mu=5.0).fit(X, Y)
    assert len(model.objective_) == 3  # f-step, w-step accepted, final f-step
    first = plain(solver="exact", adaptive_weights=False).fit(X, Y)
    hg = first.hypergraph_
    c = np.asarray(hg.edge_statistics(first.scores_), dtype=float)
    gradient = c - degree_term(hg, first.scores_)
    w0 = np.asarray(hg.weights, dtype=float)
    expected = centred_weights(gradient, w0, penalty_scales(hg.edge_degrees), model.mu_)
    np.testing.assert_allclose(model.edge_weights_, expected, rtol=1e-5, atol=1e-9)


def test_fit_is_deterministic(shapes):
    kw = dict(solver="tessellated", max_iter=3, random_state=3)
    a = HypergraphTagger(**kw).fit(shapes.features, shapes.tags_observed)
    b = HypergraphTagger(**kw).fit(shapes.features, shapes.tags_observed)
    assert a.alpha_ == b.alpha_ and a.mu_ == b.mu_ and a.standardize_ == b.standardize_
    np.testing.assert_array_equal(a.scores_, b.scores_)
    np.testing.assert_array_equal(a.edge_weights_, b.edge_weights_)


def test_float32_stays_float32(shapes):
    X = shapes.features.astype(np.float32)
    model = HypergraphTagger(max_iter=2).fit(X, shapes.tags_observed)
    assert model.scores_.dtype == np.float32
    X64 = shapes.features.astype(np.float64)
    assert HypergraphTagger(max_iter=2).fit(X64, shapes.tags_observed).scores_.dtype == np.float64


def test_fitted_attributes(shapes):
    model = plain(max_iter=3, tol=1e-12).fit(shapes.features, shapes.tags_observed)
    n, T = shapes.tags_observed.shape
    assert model.scores_.shape == (n, T)
    assert model.hypergraph_.n_edges == n + T
    # one f-step per alternation, then the final one at the final weights
    assert model.n_iter_ + 1 == len(model.timings_["f_step"]) == len(model.solver_iterations_)
    assert 1 <= model.n_iter_ <= 3
    assert model.timings_["total"] >= model.timings_["build"] > 0
    assert all(i > 0 for i in model.solver_iterations_)


def test_extra_hypergraph_is_appended(shapes):
    X, Y = shapes.features, shapes.tags_observed
    n = X.shape[0]
    extra = Hypergraph.from_edges([list(range(0, n, 2)), list(range(1, n, 2))], n_vertices=n)
    model = HypergraphTagger(max_iter=1).fit(X, Y, hypergraph=extra)
    assert model.hypergraph_.n_edges == n + Y.shape[1] + 2
    with pytest.raises(ValueError, match="hypergraph must be a Hypergraph on the"):
        HypergraphTagger().fit(X, Y, hypergraph=Hypergraph.from_edges([[0, 1]], n_vertices=3))


def test_out_of_sample_scores_average_the_nearest_fitted_images(shapes):
    X, Y = shapes.features, shapes.tags_observed
    model = plain(max_iter=2, n_neighbors=7).fit(X, Y)
    rng = np.random.default_rng(0)
    X_new = X[:20] + 0.01 * rng.standard_normal(X[:20].shape).astype(X.dtype)
    idx = NearestNeighbors(n_neighbors=7).fit(X).kneighbors(X_new, return_distance=False)
    np.testing.assert_allclose(
        model.decision_function(X_new), model.scores_[idx].mean(axis=1), rtol=1e-6
    )
    assert model.decision_function() is model.scores_
    with pytest.raises(ValueError, match="features"):
        model.decision_function(X_new[:, :-1])


def test_predict_returns_the_top_k_tags(shapes):
    model = HypergraphTagger(max_iter=1).fit(shapes.features, shapes.tags_observed)
    P = model.predict(k=3)
    assert P.shape == model.scores_.shape
    np.testing.assert_array_equal(P.sum(axis=1), 3)
    top = np.argsort(-model.scores_, axis=1, kind="stable")[:, :3]
    np.testing.assert_array_equal(np.take_along_axis(P, top, axis=1), 1)
    n_tags = model.scores_.shape[1]
    assert model.predict(shapes.features[:5], k=n_tags).sum() == 5 * n_tags
    # the k rule of the top-k metrics: k beyond the tags is an error, never clipped
    with pytest.raises(
        ValueError, match=rf"k={n_tags + 1} exceeds the number of tags \({n_tags}\)"
    ):
        model.predict(shapes.features[:5], k=n_tags + 1)
    with pytest.raises(TypeError, match="k"):
        model.predict(k=2.0)


def test_tag_completion_beats_both_baselines_on_digits(digits):
    """The main claim on the bundled digits: the untagged images' scores beat kNN voting's."""
    X, Y, truth, untagged = digits.features, digits.tags_observed, digits.tags_true, digits.untagged
    F = HypergraphTagger(solver="block_cg", random_state=0).fit(X, Y).scores_
    ours = f1_at_k(truth[untagged], F[untagged], k=5)
    knn = f1_at_k(truth[untagged], knn_tag_voting(X, Y)[untagged], k=5)
    user = f1_at_k(truth[untagged], user_tag_scores(Y)[untagged], k=5)
    assert ours > knn and ours > user
    # on the images without any user tag, user tags give nothing to go on
    assert f1_at_k(truth[untagged], F[untagged], k=5) > f1_at_k(
        truth[untagged], user_tag_scores(Y)[untagged], k=5
    )


BAD_INPUTS = [
    ({}, lambda X, Y: (X, np.where(Y == 1, 2, 0)), ValueError, "only 0 and 1"),
    ({}, lambda X, Y: (X, Y[:-1]), ValueError, "rows"),
    ({}, lambda X, Y: (X, np.zeros_like(Y)), ValueError, "no observed tag"),
    (
        {},
        lambda X, Y: (np.where(np.arange(X.size).reshape(X.shape) == 5, np.nan, X), Y),
        ValueError,
        "NaN",
    ),
    ({}, lambda X, Y: (X, Y[:, 0]), ValueError, "2-D 0/1 matrix"),
    ({}, lambda X, Y: (X, None), ValueError, "requires y"),
    ({}, lambda X, Y: (X, Y.astype(str)), TypeError, "0/1 numbers"),
    ({"alpha": 1.0}, None, ValueError, r"alpha=1\.0 is out of range"),
    ({"alpha": 0.0}, None, ValueError, r"alpha=0\.0 is out of range"),
    ({"alpha": -0.5}, None, ValueError, r"alpha=-0\.5 is out of range"),
    ({"alpha": None}, None, TypeError, "alpha=None is not valid"),
    ({"mu": 0}, None, ValueError, r"mu=0\.0 is out of range: expected 'auto' or inf or a finite"),
    ({"mu": -np.inf}, None, ValueError, "mu=-inf is out of range"),
    ({"max_iter": 0}, None, ValueError, "max_iter=0 is out of range: expected an integer >= 1"),
    ({"max_iter": 2.0}, None, TypeError, "max_iter=2.0 is not valid: expected an integer"),
    ({"tol": -1}, None, ValueError, r"tol=-1\.0 is out of range"),
    ({"solver_tol": "1e-6"}, None, TypeError, "solver_tol='1e-6' is not valid"),
    ({"n_neighbors": 0}, None, ValueError, "n_neighbors=0 is out of range"),
    ({"n_neighbors": 10_000}, None, ValueError, "n_neighbors=10000 is out of range.*< the number"),
    ({"n_neighbors": True}, None, TypeError, "n_neighbors=True is not valid"),
    ({"solver": "lu"}, None, ValueError, "solver='lu' is not valid: expected one of 'block_cg'"),
    ({"weight_update": "sgd"}, None, ValueError, "weight_update='sgd' is not valid"),
    ({"mu_scaling": "log"}, None, ValueError, "mu_scaling='log' is not valid"),
    ({"tag_weight": -1}, None, ValueError, r"tag_weight=-1\.0 is out of range: .* >= 0"),
    ({"tag_weight": "1"}, None, TypeError, "tag_weight='1' is not valid"),
    ({"solver": "tessellated", "n_blocks": 0}, None, ValueError, "n_blocks=0 is out of range"),
    ({"solver": "tessellated", "n_blocks": 61}, None, ValueError, "n_blocks=61 .*number of images"),
    ({"solver": "tessellated", "rank": 0}, None, ValueError, "rank=0 is out of range"),
    ({"solver": "tessellated", "rank": 1.5}, None, TypeError, "rank=1.5 is not valid"),
]


@pytest.mark.parametrize(("params", "transform", "error", "match"), BAD_INPUTS)
def test_bad_input_gets_a_clear_error(shapes, params, transform, error, match):
    X, Y = shapes.features[:60], shapes.tags_observed[:60]
    if transform is not None:
        X, Y = transform(X, Y)
    with pytest.raises(error, match=match):
        HypergraphTagger(**params).fit(X, Y)


def test_exact_refuses_large_problems():
    from hyperlearn.tagging._solvers import EXACT_MAX_VERTICES

    X = np.zeros((EXACT_MAX_VERTICES + 1, 1))
    with pytest.raises(ValueError, match="at most"):
        HypergraphTagger(solver="exact")._validate_params(X.shape[0])


# The common checks generate integer class targets (0, 1, 2, ...) or continuous ones, while a
# tagger needs a 0/1 tag MATRIX: every check that fits on such a target fails by design.
_NEEDS_BINARY_TAGS = "the common checks' targets are not 0/1 tag matrices (multi-label setting)"
EXPECTED_FAILED = {
    name: _NEEDS_BINARY_TAGS
    for name in (
        "check_fit_score_takes_y",
        "check_estimators_overwrite_params",
        "check_dont_overwrite_parameters",
        "check_estimators_fit_returns_self",
        "check_readonly_memmap_input",
        "check_n_features_in_after_fitting",
        "check_positive_only_tag_during_fit",
        "check_estimators_dtypes",
        "check_dtype_object",
        "check_f_contiguous_array_estimator",
        "check_methods_sample_order_invariance",
        "check_methods_subset_invariance",
        "check_fit2d_1feature",
        "check_dict_unchanged",
        "check_fit2d_predict1d",
    )
}


@parametrize_with_checks(
    [HypergraphTagger(max_iter=2, n_neighbors=3)],
    expected_failed_checks=lambda est: EXPECTED_FAILED,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_verbose_fit_shows_its_stages_and_changes_nothing(digits, capsys):
    """``verbose=True`` names every stage of the fit on stderr (tqdm) and leaves the result
    bitwise as it is without the bars."""
    X, Y = digits.features[::4], digits.tags_observed[::4]
    quiet = HypergraphTagger(random_state=0).fit(X, Y)
    capsys.readouterr()
    loud = HypergraphTagger(random_state=0, verbose=True).fit(X, Y)
    err = capsys.readouterr().err
    for stage in ("features", "hypergraph", "held-out choices", "alternations", "prior"):
        assert stage in err
    assert "stage 4/5 done, " in err  # the last stage running (the bar is cleared after)
    assert np.array_equal(loud.scores_, quiet.scores_)

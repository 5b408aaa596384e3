"""Hyperedge families, the centred weight model in the estimator, and ML-kNN.

Oracles: scikit-learn's nearest neighbours for the kNN incidences and for ML-kNN (whose
frequencies are recounted with plain loops), the fixed-weight fit for ``mu → ∞``.
"""

import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors

from hyperlearn import Hypergraph, HypergraphTagger
from hyperlearn.datasets import make_tagged_shapes
from hyperlearn.tagging import ml_knn_scores
from hyperlearn.tagging._families import (
    assemble_families,
    knn_incidence,
    standardize_features,
    visual_families,
)

N = 150


@pytest.fixture(scope="module")
def data():
    d = make_tagged_shapes(N, random_state=1, untagged_fraction=0.3)
    return d.features.astype(np.float64), d.tags_observed


def sk_neighbours(X, k):
    dist, idx = NearestNeighbors(n_neighbors=k + 1).fit(X).kneighbors(X)
    return dist[:, 1:], idx[:, 1:]


@pytest.mark.parametrize("incidence", ["binary", "probabilistic"])
def test_knn_incidence_matches_its_definition(data, incidence):
    X, _ = data
    k = 6
    dist, idx = sk_neighbours(X, 10)
    H = knn_incidence(idx, dist, k, incidence=incidence).toarray()
    sigma = dist[:, k - 1].mean()
    expected = np.zeros((N, N))
    for i in range(N):
        expected[i, i] = 1.0
        for d, j in zip(dist[i, :k], idx[i, :k], strict=True):
            expected[j, i] = 1.0 if incidence == "binary" else np.exp(-((d / sigma) ** 2))
    np.testing.assert_allclose(H, expected, rtol=1e-12, atol=0)


def test_families_share_one_search_per_view_and_start_equal(data):
    X, Y = data
    views = [X, X[:, ::-1].copy() * 3.0]
    visual = visual_families(views, (4, 8), incidence="binary")
    assert [f.name for f in visual] == ["view0/k=4", "view0/k=8", "view1/k=4", "view1/k=8"]
    fam = assemble_families(visual, Y, None, 0.1)
    assert fam.names == ("view0/k=4", "view0/k=8", "view1/k=4", "view1/k=8", "tags")
    totals = fam.family_totals(fam.initial_weights)
    visual_totals = [totals[name] for name in fam.names[:-1]]
    np.testing.assert_allclose(visual_totals, visual_totals[0], rtol=1e-12)
    # a tag hyperedge starts at tag_weight times a hyperedge of a visual family
    w0 = fam.initial_weights
    assert w0[fam.slices[-1]][0] == pytest.approx(0.1 * w0[0])
    assert sum(totals.values()) == pytest.approx(1.0)
    assert fam.hypergraph.n_edges == 4 * N + Y.shape[1]


def plain(**params):
    base = {
        "alpha": 0.9,
        "standardize": False,
        "normalize_scores": False,
        "solver": "exact",
        "feature_prior": 0.0,
        "frequency_correction": 0.0,
    }
    return HypergraphTagger(**{**base, **params})


def test_infinite_mu_is_the_fixed_weight_model(data):
    X, Y = data
    fixed = plain(adaptive_weights=False).fit(X, Y)
    inf = plain(mu=np.inf).fit(X, Y)
    np.testing.assert_array_equal(inf.scores_, fixed.scores_)
    np.testing.assert_array_equal(inf.edge_weights_, fixed.edge_weights_)
    assert inf.mu_ == np.inf and inf.n_iter_ == 1


def test_large_mu_tends_to_the_fixed_weights(data):
    """μ = 1e10 (scale-free): each weight moves by its relative gain / 1e10, so the scores
    differ from the fixed model's by about κ·max relative weight change ≲ 1e-8."""
    X, Y = data
    fixed = plain(adaptive_weights=False).fit(X, Y)
    big = plain(mu=1e10, max_iter=3).fit(X, Y)
    w0 = fixed.edge_weights_
    assert np.max(np.abs(big.edge_weights_ - w0) / w0.max()) <= 1e-8
    rel = np.linalg.norm(big.scores_ - fixed.scores_) / np.linalg.norm(fixed.scores_)
    assert rel <= 1e-7


def test_objective_is_non_increasing_with_an_iterative_solver(data):
    X, Y = data
    model = plain(mu=0.2, max_iter=6, tol=1e-12, solver="block_cg", solver_tol=1e-10).fit(X, Y)
    J = np.array(model.objective_)
    assert len(J) >= 3
    # CG lowers the energy from its warm start; the w-step is accepted only if J does not rise
    assert np.all(np.diff(J) <= 1e-10 * np.abs(J[:-1]))


def test_families_and_their_weights_are_reported(data):
    X, Y = data
    view = X[:, : X.shape[1] // 2].copy()
    model = plain(scales=(5, 10), mu=0.5, max_iter=3).fit(X, Y, views=[view])
    names = [name for name, _ in model.families_]
    assert names == ["view0/k=5", "view0/k=10", "view1/k=5", "view1/k=10", "tags"]
    assert set(model.family_weights_) == set(names) == set(model.initial_family_weights_)
    for name, block in model.families_:
        assert model.family_weights_[name] == pytest.approx(model.edge_weights_[block].sum())
    assert sum(model.family_weights_.values()) == pytest.approx(1.0, abs=1e-12)
    assert model.hypergraph_.n_edges == 4 * N + Y.shape[1]
    np.testing.assert_array_equal(model.hypergraph_.weights, model.edge_weights_)
    assert model.family_weights_ != model.initial_family_weights_  # the weights moved


def test_default_selection_is_deterministic_for_a_random_state(data):
    X, Y = data
    a = HypergraphTagger(random_state=7).fit(X, Y)
    b = HypergraphTagger(random_state=7).fit(X, Y)
    assert (a.alpha_, a.mu_, a.standardize_) == (b.alpha_, b.mu_, b.standardize_)
    assert a.alpha_scores_ == b.alpha_scores_ and a.mu_scores_ == b.mu_scores_
    np.testing.assert_array_equal(a.scores_, b.scores_)
    assert set(a.mu_scores_) == {np.inf, 1.0}


def test_standardisation_is_chosen_when_a_noise_feature_dominates():
    """A feature of pure noise 1000 times larger than the rest hides the neighbours (enough
    held-out images that the gain of standardising is several standard errors)."""
    d = make_tagged_shapes(400, random_state=1, untagged_fraction=0.3)
    X, Y = d.features.astype(np.float64), d.tags_observed
    noise = 1e3 * X.std() * np.random.default_rng(0).standard_normal((400, 1))
    model = HypergraphTagger(random_state=0, alpha=0.5, mu=np.inf)
    assert model.fit(np.hstack([X, noise]), Y).standardize_ == [True]
    assert model.set_params(standardize=False).fit(X, Y).standardize_ == [False]


def test_new_images_use_the_fitted_standardisation(data):
    X, Y = data
    model = plain(standardize=True, adaptive_weights=False, n_neighbors=7).fit(X, Y)
    Xs = standardize_features(X)
    shift = (X.mean(axis=0), np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0))
    X_new = X[:10] + 0.01
    idx = NearestNeighbors(n_neighbors=7).fit(Xs).kneighbors((X_new - shift[0]) / shift[1])[1]
    np.testing.assert_allclose(
        model.decision_function(X_new), model.scores_[idx].mean(axis=1), rtol=1e-10
    )


def test_normalised_scores_are_row_distributions_with_the_same_ranking(data):
    X, Y = data
    raw = plain(adaptive_weights=False).fit(X, Y).scores_
    norm = plain(adaptive_weights=False, normalize_scores=True).fit(X, Y).scores_
    np.testing.assert_allclose(norm.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(norm * raw.sum(axis=1, keepdims=True), raw, rtol=1e-12)


@pytest.mark.parametrize(
    ("params", "fit_kw", "error", "match"),
    [
        ({"scales": (5, 0)}, {}, ValueError, "scales=0 is out of range"),
        ({"scales": 5}, {}, TypeError, "scales must be a sequence"),
        ({"scales": ()}, {}, ValueError, "scales is empty"),
        ({"incidence": "soft"}, {}, ValueError, "incidence='soft' is not valid"),
        ({"standardize": "yes"}, {}, ValueError, "standardize='yes' is not valid"),
        ({}, {"views": np.zeros((N, 3))}, TypeError, "views must be a list"),
        ({}, {"views": [np.zeros((N - 1, 3))]}, ValueError, r"views\[0\] has 149 rows"),
    ],
)
def test_bad_family_parameters(data, params, fit_kw, error, match):
    X, Y = data
    with pytest.raises(error, match=match):
        HypergraphTagger(**params).fit(X, Y, **fit_kw)


def oracle_ml_knn(X, Y, k, s=1.0):
    """ML-kNN recounted with loops (Zhang & Zhou 2007), on the tagged rows as training set."""
    train = np.flatnonzero(Y.any(axis=1))
    Xt, Yt = X[train], Y[train]
    m, T = Yt.shape
    nn = NearestNeighbors(n_neighbors=k + 1).fit(Xt)
    own = nn.kneighbors(Xt, return_distance=False)[:, 1:]
    scores = np.zeros(Y.shape)
    for t in range(T):
        prior = (s + Yt[:, t].sum()) / (2 * s + m)
        c1, c0 = np.zeros(k + 1), np.zeros(k + 1)
        for i in range(m):
            count = int(Yt[own[i], t].sum())
            (c1 if Yt[i, t] else c0)[count] += 1
        p1 = (s + c1) / (s * (k + 1) + c1.sum())
        p0 = (s + c0) / (s * (k + 1) + c0.sum())
        for i in range(X.shape[0]):
            nb = nn.kneighbors(X[i : i + 1], k + 1, return_distance=False)[0]
            nb = [j for j in nb if train[j] != i][:k]
            count = int(Yt[nb, t].sum())
            yes, no = prior * p1[count], (1 - prior) * p0[count]
            scores[i, t] = yes / (yes + no)
    return scores


def test_ml_knn_matches_the_loop_oracle(data):
    X, Y = data
    np.testing.assert_allclose(ml_knn_scores(X, Y, 5), oracle_ml_knn(X, Y, 5), rtol=1e-12)
    with pytest.raises(ValueError, match="n_neighbors"):
        ml_knn_scores(X, Y, 10_000)


def test_user_hyperedges_are_a_family(data):
    X, Y = data
    extra = Hypergraph.from_edges([list(range(0, N, 2)), list(range(1, N, 2))], n_vertices=N)
    model = plain(adaptive_weights=False).fit(X, Y, hypergraph=extra)
    assert [name for name, _ in model.families_][-1] == "user"
    assert model.edge_weights_[-2:].tolist() == pytest.approx([model.edge_weights_[0]] * 2)

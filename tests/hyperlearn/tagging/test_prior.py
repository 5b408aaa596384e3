"""The linear-feature prior (``HypergraphTagger(feature_prior=...)``).

Oracles: the ridge coefficients from ``numpy.linalg.lstsq`` on the augmented least-squares
problem ``[X; √λ I] B ≈ [Y; 0]``; GCV from the explicit hat matrix; the fitted model from
scikit-learn's ``Ridge``; the blend from its definition.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import Ridge

from hyperlearn import HypergraphTagger
from hyperlearn.datasets import load_digits_tags
from hyperlearn.tagging import _prior
from hyperlearn.tagging._prior import (
    PRIOR_GRID,
    RIDGE_PENALTY_GRID,
    LinearPrior,
    blend,
    choose_prior,
    ridge_gcv,
    row_normalize,
)
from hyperlearn.tagging._selection import per_image_f1

EPS = np.finfo(np.float64).eps
#: Rounding constant of the error bound below (products of length m err by about m·ε).
ROUNDING_CONSTANT = 10.0


def lstsq_ridge(X, Y, lam):
    d = X.shape[1]
    A = np.vstack([X, np.sqrt(lam) * np.eye(d)])
    b = np.vstack([Y, np.zeros((d, Y.shape[1]))])
    return np.linalg.lstsq(A, b, rcond=None)[0]


def ridge_error_bound(X, Y, B, lam):
    """‖ΔB‖ for B = (XᵀX + λI)⁻¹XᵀY by the eigen route: the product XᵀY errs by up to
    n·ε‖X‖‖Y‖ (with cancellation), magnified by ‖(XᵀX + λI)⁻¹‖ = 1/(s_min² + λ); the
    eigendecomposition of order d errs by d·ε relative, magnified by κ² = (s_max² + λ)/(s_min² + λ).
    The lstsq oracle's own error (κ·(n + d)·ε relative) is below the sum."""
    n, d = X.shape
    s2 = np.linalg.svd(X, compute_uv=False) ** 2
    s2_min = s2.min() if s2.size == d else 0.0
    kappa2 = (s2.max() + lam) / (s2_min + lam)
    product = n * np.linalg.norm(X) * np.linalg.norm(Y) / (s2_min + lam)
    return ROUNDING_CONSTANT * EPS * (product + (n + d) * kappa2 * np.linalg.norm(B))


def centred(rng, n, d, t):
    X = rng.standard_normal((n, d)) * rng.uniform(0.1, 3.0, d)
    Y = X[:, : min(d, 3)] @ rng.standard_normal((min(d, 3), t)) + rng.standard_normal((n, t))
    return X - X.mean(axis=0), Y - Y.mean(axis=0)


@settings(deadline=None, max_examples=30)
@given(
    n=st.integers(2, 40),
    d=st.integers(1, 40),
    t=st.integers(1, 4),
    seed=st.integers(0, 2**31 - 1),
)
def test_ridge_equals_the_lstsq_oracle(n, d, t, seed):
    """Both routes (d ≤ n: features' Gram matrix; d > n: images' Gram matrix)."""
    X, Y = centred(np.random.default_rng(seed), n, d, t)
    B, lam = ridge_gcv(X, Y)
    oracle = lstsq_ridge(X, Y, lam)
    assert np.linalg.norm(B - oracle) <= ridge_error_bound(X, Y, oracle, lam)


@pytest.mark.parametrize(("n", "d"), [(60, 8), (12, 30)])
def test_penalty_minimises_gcv_of_the_explicit_hat_matrix(n, d):
    X, Y = centred(np.random.default_rng(n + d), n, d, 3)
    _, lam = ridge_gcv(X, Y)
    scale = np.trace(X.T @ X) / d
    gcv = []
    for relative in RIDGE_PENALTY_GRID:
        H = X @ np.linalg.solve(X.T @ X + relative * scale * np.eye(d), X.T)
        residual = np.sum((Y - H @ Y) ** 2)
        gcv.append(residual / (n * (1 - np.trace(H) / n) ** 2))
    assert lam == pytest.approx(RIDGE_PENALTY_GRID[int(np.argmin(gcv))] * scale, rel=1e-12)


def test_linear_prior_is_sklearn_ridge_on_standardised_features():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((80, 6)) * [1, 10, 100, 0.1, 1, 5] + 7.0
    Y = (X @ rng.standard_normal((6, 4)) > 0).astype(np.uint8)
    rows = np.arange(0, 80, 2)
    model = LinearPrior().fit(X, Y, rows)
    Xs = (X - X.mean(axis=0)) / X.std(axis=0)
    oracle = Ridge(alpha=model.penalty_).fit(Xs[rows], Y[rows].astype(float))
    # both solve the same well-conditioned 6×6 problem: agreement to rounding (κ < 1e3)
    np.testing.assert_allclose(model.predict(X), oracle.predict(Xs), rtol=0, atol=1e-10)


def test_linear_prior_unstandardised_is_sklearn_ridge_on_centred_features():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((90, 5)) * [1, 3, 0.5, 2, 1] + 4.0
    Y = (X @ rng.standard_normal((5, 3)) > 0).astype(np.uint8)
    rows = np.arange(1, 90, 3)
    model = LinearPrior().fit(X, Y, rows, standardize=False)
    assert np.array_equal(model.scale_, np.ones(5))
    oracle = Ridge(alpha=model.penalty_).fit(X[rows], Y[rows].astype(float))
    # the same well-conditioned 5×5 problem (κ < 1e2): agreement to rounding
    np.testing.assert_allclose(model.predict(X), oracle.predict(X), rtol=0, atol=1e-10)


def test_fit_views_standardises_per_view():
    rng = np.random.default_rng(6)
    A = rng.standard_normal((70, 3)) * 10.0
    B = rng.standard_normal((70, 2)) * 0.1
    Y = (rng.random((70, 4)) < 0.4).astype(np.uint8)
    rows = np.arange(70)
    model = LinearPrior().fit_views([A, B], Y, rows, standardize=[True, False])
    np.testing.assert_array_equal(model.scale_[:3], A.std(axis=0))
    np.testing.assert_array_equal(model.scale_[3:], 1.0)
    direct = LinearPrior().fit(np.hstack([A, B]), Y, rows, standardize=[1, 1, 1, 0, 0])
    np.testing.assert_array_equal(model.predict_views([A, B]), direct.predict(np.hstack([A, B])))
    with pytest.raises(ValueError, match="standardize has 1 entries for 2 views"):
        LinearPrior().fit_views([A, B], Y, rows, standardize=[True])


@settings(deadline=None, max_examples=30)
@given(seed=st.integers(0, 2**31 - 1), gamma=st.sampled_from(PRIOR_GRID))
def test_blend_is_a_row_distribution_keeping_zero_weight(seed, gamma):
    rng = np.random.default_rng(seed)
    F = rng.uniform(0, 1, (7, 5))
    P = rng.standard_normal((7, 5))
    S = blend(F, P, gamma)
    Pn = np.clip(P, 0, None)
    has = Pn.sum(axis=1) > 0
    expected = (1 - gamma) * F / F.sum(axis=1, keepdims=True)
    expected[has] += gamma * Pn[has] / Pn[has].sum(axis=1, keepdims=True)
    np.testing.assert_allclose(S, expected, rtol=1e-14, atol=1e-15)
    if gamma == 0:
        assert np.array_equal(S, row_normalize(F))


def test_choose_prior_keeps_zero_on_ties_and_takes_a_clear_gain():
    rng = np.random.default_rng(0)
    Y = np.zeros((50, 6), dtype=np.uint8)
    Y[np.arange(50), rng.integers(0, 6, 50)] = 1
    noise = rng.uniform(0, 1, Y.shape)
    gamma, scores = choose_prior(noise, noise, Y)  # every γ gives the same scores
    assert gamma == 0.0 and set(scores) == set(PRIOR_GRID)
    gamma, scores = choose_prior(noise, Y + 0.1 * noise, Y)  # the prior knows the tags
    assert gamma > 0.0
    # the criterion: mean of F1@1, F1@3 and F1@5 (all below the 6 tags)
    expected = np.mean([per_image_f1(Y, Y + 0.1 * noise, k) for k in (1, 3, 5)], axis=0)
    assert scores[gamma] == pytest.approx(expected.mean())


@pytest.fixture(scope="module")
def digits():
    d = load_digits_tags(random_state=0)
    keep = np.arange(0, d.features.shape[0], 3)
    return d.features[keep], d.tags_observed[keep]


def test_weight_zero_never_fits_the_ridge_and_auto_zero_is_bitwise_the_same(digits, monkeypatch):
    X, Y = digits
    auto = HypergraphTagger(random_state=0).fit(X, Y)
    assert auto.feature_prior_ == 0.0  # digits: the propagation alone is kept
    assert auto.feature_prior_penalty_ is None

    def refuse(*args, **kwargs):
        raise AssertionError("the ridge was fitted with feature_prior=0")

    monkeypatch.setattr(_prior.LinearPrior, "fit", refuse)
    off = HypergraphTagger(random_state=0, feature_prior=0).fit(X, Y)
    assert off.feature_prior_ == 0.0 and not hasattr(off, "feature_prior_scores_")
    assert np.array_equal(off.scores_, auto.scores_)
    assert off.scores_.dtype == auto.scores_.dtype


def linear_tags(n=400, d=30, t=10, seed=0):
    """Tags that are thresholds of linear functions of 30 features: sparse neighbourhoods
    in 30 dimensions, an exact linear cue."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    logits = X @ rng.standard_normal((d, t))
    Y = (logits > np.quantile(logits, 0.7, axis=0)).astype(np.uint8)
    return X, Y


def test_selected_prior_is_positive_on_linear_tags_and_helps():
    X, Y_true = linear_tags()
    hidden = np.random.default_rng(1).random(X.shape[0]) < 0.3
    Y = np.where(hidden[:, None], 0, Y_true).astype(np.uint8)
    auto = HypergraphTagger(random_state=0).fit(X, Y)
    off = HypergraphTagger(random_state=0, feature_prior=0).fit(X, Y)
    assert auto.feature_prior_ > 0.0
    assert auto.feature_prior_scores_[auto.feature_prior_] > auto.feature_prior_scores_[0.0]
    assert auto.feature_prior_penalty_ > 0.0
    f1_auto = per_image_f1(Y_true[hidden], auto.scores_[hidden], 3).mean()
    f1_off = per_image_f1(Y_true[hidden], off.scores_[hidden], 3).mean()
    assert f1_auto > f1_off
    np.testing.assert_allclose(auto.scores_.sum(axis=1), 1.0, rtol=1e-5)


def test_prior_selection_is_deterministic_for_a_random_state():
    X, Y = linear_tags(seed=2)
    Y[::4] = 0
    a = HypergraphTagger(random_state=5).fit(X, Y)
    b = HypergraphTagger(random_state=5).fit(X, Y)
    assert a.feature_prior_scores_ == b.feature_prior_scores_
    assert a.feature_prior_ == b.feature_prior_
    assert np.array_equal(a.scores_, b.scores_)


@pytest.mark.parametrize("standardize", [True, False])
def test_fixed_weight_blends_the_ridge_of_all_tagged_images(standardize):
    X, Y = linear_tags(n=200, seed=4)
    X = X * np.linspace(0.1, 10.0, X.shape[1])  # scales apart: standardising changes the ridge
    Y[::5] = 0
    fixed = {"random_state": 0, "standardize": standardize, "frequency_correction": 0.0}
    plain = HypergraphTagger(feature_prior=0.0, **fixed)
    mixed = HypergraphTagger(feature_prior=0.5, **fixed)
    plain, mixed = plain.fit(X, Y), mixed.fit(X, Y)
    assert mixed.standardize_ == [standardize]
    # the ridge sees the features as the neighbour search does
    rows = np.flatnonzero(Y.any(axis=1))
    P = LinearPrior().fit(X, Y, rows, standardize=standardize).predict(X)
    other = LinearPrior().fit(X, Y, rows, standardize=not standardize).predict(X)
    assert np.abs(P - other).max() > 1e-3
    expected = blend(plain.scores_, P, 0.5)
    np.testing.assert_allclose(mixed.scores_, expected, rtol=1e-6, atol=1e-7)  # float32 out
    assert mixed.feature_prior_ == 0.5 and not hasattr(mixed, "feature_prior_scores_")


@pytest.mark.parametrize(
    ("value", "error"), [(1.5, ValueError), (-0.1, ValueError), ("best", (TypeError, ValueError))]
)
def test_bad_feature_prior_is_refused_naming_it(value, error):
    X, Y = linear_tags(n=60)
    with pytest.raises(error, match="feature_prior"):
        HypergraphTagger(feature_prior=value).fit(X, Y)

"""The tag-frequency correction (``HypergraphTagger(frequency_correction=...)``) and the
held-out folds of small data sets.

Oracles: the correction from its definition, elementwise in float64; the frequencies from
counting; the criterion from per-image F1 of each ``k``.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hyperlearn import HypergraphTagger
from hyperlearn.datasets import make_tagged_shapes
from hyperlearn.hypergraph import kneighbors
from hyperlearn.tagging import FREQUENCY_GRID, _frequency
from hyperlearn.tagging._frequency import (
    FREQUENCY_DEFAULT,
    choose_frequency_correction,
    correct_frequencies,
    tag_frequencies,
)
from hyperlearn.tagging._selection import (
    RANKING_FOLDS_MAX_TAGGED,
    more_folds,
    per_image_f1,
    per_image_f1_ranks,
)

#: Rounding of a row sum of t terms and one subtraction, relative to the row's scale.
ROUNDING_CONSTANT = 10.0


def oracle(S, p, beta):
    S = np.asarray(S, dtype=np.float64)
    p_hat = p / p.sum()
    out = np.empty_like(S)
    for i in range(S.shape[0]):
        for t in range(S.shape[1]):
            out[i, t] = (S[i, t] - beta * p_hat[t] * S[i].sum()) / (1 - beta)
    return out


def test_tag_frequencies_count_the_tagged_images_only():
    Y = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 0], [1, 0, 0]], dtype=np.uint8)
    # 3 tagged images (the empty row is not one); counts 3, 1, 0
    np.testing.assert_allclose(tag_frequencies(Y), [4 / 4, 2 / 4, 1 / 4])
    np.testing.assert_allclose(tag_frequencies(Y, [1, 2]), [2 / 2, 2 / 2, 1 / 2])
    import scipy.sparse as sp

    np.testing.assert_array_equal(tag_frequencies(sp.csr_matrix(Y)), tag_frequencies(Y))


@pytest.mark.parametrize("beta", [0.0, 0.25, 0.5, 0.9])
def test_correction_matches_its_definition_and_keeps_row_sums(beta, monkeypatch):
    rng = np.random.default_rng(0)
    S = rng.random((37, 6))
    S[3] = 0.0  # an image without scores stays without scores
    p = rng.random(6) + 0.01
    monkeypatch.setattr(_frequency, "_BLOCK_ROWS", 5)  # several row blocks
    out = correct_frequencies(S, p, beta)
    scale = np.abs(S).sum(axis=1, keepdims=True) / (1 - beta)
    bound = ROUNDING_CONSTANT * S.shape[1] * np.finfo(np.float64).eps * scale
    assert np.all(np.abs(out - oracle(S, p, beta)) <= bound)
    np.testing.assert_allclose(out.sum(axis=1), S.sum(axis=1), rtol=1e-12, atol=1e-15)
    assert not out[3].any()
    if beta == 0:
        assert out is S


def test_correction_is_linear():
    """So the mean of corrected neighbour scores (decision_function) is the corrected mean."""
    rng = np.random.default_rng(5)
    S = rng.random((40, 5))
    p = rng.random(5) + 0.01
    groups = rng.integers(0, 40, (6, 9))
    mean_of_corrected = correct_frequencies(S, p, 0.75)[groups].mean(axis=1)
    corrected_mean = correct_frequencies(S[groups].mean(axis=1), p, 0.75)
    np.testing.assert_allclose(mean_of_corrected, corrected_mean, rtol=1e-12, atol=1e-14)


def test_correction_keeps_dtype_and_works_in_place():
    rng = np.random.default_rng(1)
    S = rng.random((10, 4)).astype(np.float32)
    p = np.array([0.5, 0.2, 0.2, 0.1])
    expected = oracle(S, p, 0.5)
    copy = correct_frequencies(S, p, 0.5)
    assert copy.dtype == np.float32 and copy is not S
    same = correct_frequencies(S, p, 0.5, in_place=True)
    assert same is S
    np.testing.assert_allclose(S, expected, rtol=1e-5, atol=1e-6)  # float32 rounding
    np.testing.assert_array_equal(S, copy)


@settings(deadline=None, max_examples=40)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(2, 30),
    t=st.integers(2, 8),
    beta=st.sampled_from(FREQUENCY_GRID),
)
def test_normalised_rows_keep_the_order_of_the_images_for_each_tag(seed, n, t, beta):
    """For rows summing to 1 the correction subtracts a constant per tag: the images' order
    for one tag (what MAP over tags ranks) does not change."""
    rng = np.random.default_rng(seed)
    S = rng.random((n, t))
    S /= S.sum(axis=1, keepdims=True)
    out = correct_frequencies(S, rng.random(t) + 0.01, beta)
    for tag in range(t):
        order = np.argsort(S[:, tag], kind="stable")
        assert np.all(np.diff(out[order, tag]) >= -1e-12)


def frequent_but_wrong(n=400, seed=0):
    """Held-out scores where the frequent tag 0 (not an image's tag) leads the image's own tag
    (1..5) by about 0.15 in half of the images: the default fraction corrects only some of
    those, a larger one all."""
    rng = np.random.default_rng(seed)
    own = rng.integers(1, 6, n)
    Y = np.zeros((n, 6), dtype=np.uint8)
    Y[np.arange(n), own] = 1
    S = 0.05 * rng.random((n, 6))
    S[:, 0] += 0.5
    S[np.arange(n), own] += np.where(np.arange(n) % 2 == 0, 0.35, 0.6)
    p = np.array([0.9, 0.2, 0.2, 0.2, 0.2, 0.2])
    return S, Y, p


def test_choose_keeps_the_default_on_ties_and_takes_a_clear_gain():
    rng = np.random.default_rng(2)
    Y = (rng.random((60, 5)) < 0.3).astype(np.uint8)
    p = np.full(5, 0.3)  # equal frequencies: every β ranks alike
    beta, scores = choose_frequency_correction(rng.random((60, 5)), Y, p)
    assert beta == FREQUENCY_DEFAULT and set(scores) == set(FREQUENCY_GRID)
    assert len(set(scores.values())) == 1
    S, Y, p = frequent_but_wrong()
    beta, scores = choose_frequency_correction(S, Y, p)
    assert beta > FREQUENCY_DEFAULT
    # the criterion: the mean of per-image F1@1, F1@3 and F1@5 (all below the 6 tags)
    corrected = correct_frequencies(S, p, beta)
    expected = np.mean([per_image_f1(Y, corrected, k) for k in (1, 3, 5)], axis=0).mean()
    assert scores[beta] == pytest.approx(expected, rel=1e-12)
    assert scores[beta] > scores[0.0]


def test_choose_scores_all_folds_together():
    S, Y, p = frequent_but_wrong()
    halves = [slice(0, 150), slice(150, None)]
    beta, scores = choose_frequency_correction(
        [S[h] for h in halves], [Y[h] for h in halves], [p, p]
    )
    assert (beta, scores) == choose_frequency_correction(S, Y, p)


def test_ranking_criterion_uses_the_ks_below_the_tag_count():
    rng = np.random.default_rng(3)
    Y = (rng.random((20, 4)) < 0.4).astype(np.uint8)
    S = rng.random((20, 4))
    expected = (per_image_f1(Y, S, 1) + per_image_f1(Y, S, 3)) / 2  # 5 is not below 4 tags
    np.testing.assert_allclose(per_image_f1_ranks(Y, S), expected)
    two = (Y[:, :2], S[:, :2])  # 2 tags: only k = 1 is below the tag count
    np.testing.assert_allclose(per_image_f1_ranks(*two), per_image_f1(*two, 1))


def test_more_folds_partition_the_other_tagged_images():
    rng = np.random.default_rng(4)
    Y = (rng.random((300, 5)) < 0.3).astype(np.uint8)
    tagged = np.flatnonzero(Y.any(axis=1))
    validation = np.sort(rng.choice(tagged, 50, replace=False))
    folds = more_folds(Y, validation, 0.2, 7)
    assert len(folds) == 4
    held = np.concatenate([validation, *folds])
    np.testing.assert_array_equal(np.sort(held), tagged)  # each tagged image once
    assert all(np.array_equal(f, np.sort(f)) for f in folds)
    sizes = [f.size for f in folds]
    assert max(sizes) - min(sizes) <= 1
    assert all(
        np.array_equal(a, b) for a, b in zip(folds, more_folds(Y, validation, 0.2, 7), strict=True)
    )
    (rest,) = more_folds(Y, validation, 0.6, 7)  # 1/0.6 rounds to 2 folds: one more
    np.testing.assert_array_equal(rest, np.setdiff1d(tagged, validation))
    assert more_folds(Y, validation, 0.8, 7) == []  # 1/0.8 rounds to 1 fold: no more
    big = np.ones((RANKING_FOLDS_MAX_TAGGED + 1, 1), dtype=np.uint8)
    assert more_folds(big, np.arange(10), 0.2, 0) == []


@pytest.fixture(scope="module")
def shapes():
    d = make_tagged_shapes(300, random_state=0, untagged_fraction=0.2)
    return d.features, d.tags_observed


def test_given_fraction_is_applied_after_the_prior_and_keeps_tag_rankings(shapes):
    from hyperlearn.metrics import mean_average_precision

    X, Y = shapes
    fixed = {"random_state": 0, "feature_prior": 0.5, "alpha": 0.5, "mu": np.inf}
    fixed["standardize"] = False
    plain = HypergraphTagger(frequency_correction=0.0, **fixed).fit(X, Y)
    corrected = HypergraphTagger(frequency_correction=0.5, **fixed).fit(X, Y)
    assert corrected.frequency_correction_ == 0.5
    assert not hasattr(corrected, "frequency_correction_scores_")
    p = tag_frequencies(Y)
    np.testing.assert_array_equal(corrected.tag_frequencies_, p)
    expected = oracle(plain.scores_, p, 0.5)
    np.testing.assert_allclose(corrected.scores_, expected, rtol=1e-5, atol=1e-6)  # float32
    np.testing.assert_allclose(corrected.scores_.sum(axis=1), 1.0, rtol=1e-5)
    # rows summing to 1: each tag's column is shifted and scaled alike, so the images' order
    # per tag (and MAP over tags) is unchanged up to float32 ties
    Y_any = Y.astype(bool)
    assert mean_average_precision(Y_any, corrected.scores_) == pytest.approx(
        mean_average_precision(Y_any, plain.scores_), abs=1e-6
    )
    # a new image: the mean of its neighbours' (corrected) scores
    _, idx = kneighbors(X[:5], corrected.n_neighbors, database=X)
    new = corrected.decision_function(X[:5])
    np.testing.assert_allclose(new, corrected.scores_[idx].mean(axis=1), rtol=1e-6)
    expected_new = oracle(plain.scores_[idx].mean(axis=1), p, 0.5)
    np.testing.assert_allclose(new, expected_new, rtol=1e-5, atol=1e-6)


def test_auto_fraction_is_chosen_from_the_grid_deterministically(shapes):
    X, Y = shapes
    a = HypergraphTagger(random_state=3).fit(X, Y)
    b = HypergraphTagger(random_state=3).fit(X, Y)
    assert a.frequency_correction_ in FREQUENCY_GRID
    assert set(a.frequency_correction_scores_) == set(FREQUENCY_GRID)
    assert a.frequency_correction_scores_ == b.frequency_correction_scores_
    np.testing.assert_array_equal(a.scores_, b.scores_)


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [
        (1.0, ValueError, r"frequency_correction=1\.0 is out of range"),
        (-0.1, ValueError, r"frequency_correction=-0\.1 is out of range"),
        ("best", TypeError, r"frequency_correction='best' is not valid"),
    ],
)
def test_bad_fraction_is_refused_by_name(shapes, value, error, match):
    X, Y = shapes
    with pytest.raises(error, match=match):
        HypergraphTagger(frequency_correction=value).fit(X, Y)

"""The social-tag noise model of both generators, measured on large samples."""

import numpy as np
import pytest

from hyperlearn.datasets import load_digits_tags, make_tagged_shapes

from ._checks import Z_BOUND, binomial_z, check_noise_model
from .conftest import N_LARGE, NOISE


def test_shapes_rates_within_binomial_bounds(shapes_large):
    check_noise_model(shapes_large.tags_true, shapes_large.tags_observed, *NOISE)


def test_shapes_rates_per_tag(shapes_large):
    """Each tag column follows the same rates (the noise does not depend on the tag)."""
    true = shapes_large.tags_true.astype(bool)
    obs = shapes_large.tags_observed.astype(bool)
    missing, spurious = NOISE
    for t in range(true.shape[1]):
        n_true = int(true[:, t].sum())
        n_false = N_LARGE - n_true
        z_m = binomial_z(int((true[:, t] & ~obs[:, t]).sum()), n_true, missing)
        z_s = binomial_z(int((~true[:, t] & obs[:, t]).sum()), n_false, spurious)
        assert abs(z_m) <= Z_BOUND and abs(z_s) <= Z_BOUND, (shapes_large.tag_names[t], z_m, z_s)


@pytest.mark.parametrize("noise", [(0.6, 0.15), (0.1, 0.01), (0.45, 0.3)])
def test_digits_rates_within_binomial_bounds(noise):
    d = load_digits_tags(tag_noise=noise, random_state=11)
    check_noise_model(d.tags_true, d.tags_observed, *noise)


@pytest.mark.parametrize("make", ["shapes", "digits"])
def test_one_sided_and_zero_noise(make):
    def draw(noise):
        if make == "shapes":
            return make_tagged_shapes(200, tag_noise=noise, random_state=2, features=False)
        return load_digits_tags(200, tag_noise=noise, random_state=2)

    exact = draw((0.0, 0.0))
    np.testing.assert_array_equal(exact.tags_observed, exact.tags_true)
    only_missing = draw((0.5, 0.0))
    assert not (only_missing.tags_observed > only_missing.tags_true).any()
    assert (only_missing.tags_observed < only_missing.tags_true).any()
    only_spurious = draw((0.0, 0.2))
    assert not (only_spurious.tags_observed < only_spurious.tags_true).any()
    assert (only_spurious.tags_observed > only_spurious.tags_true).any()


# 1000 images, 40 % of them kept: about 2800 true and 8800 absent cells for the rate checks
N_UNTAGGED_TEST = 1000


@pytest.mark.parametrize("fraction", [0.25, 0.6])
def test_untagged_fraction(fraction):
    n = N_UNTAGGED_TEST
    d = make_tagged_shapes(n, random_state=5, untagged_fraction=fraction, features=False)
    n_untagged = round(fraction * n)
    np.testing.assert_array_equal(d.untagged, ~d.tags_observed.any(axis=1))
    # round(f n) stripped images, plus those that lost their about 7 tags to the noise: at most a
    # handful (probability about 0.3**7 = 2e-4 per image)
    assert n_untagged <= d.untagged.sum() <= n_untagged + 5
    # the other images follow the noise model unchanged
    keep = ~d.untagged
    check_noise_model(d.tags_true[keep], d.tags_observed[keep], *NOISE)
    # the stripped images are a uniform random subset: the count in the first half is
    # hypergeometric with mean n_untagged / 2
    half = n // 2
    p = n_untagged / n
    sd = np.sqrt(half * p * (1 - p) * (n - half) / (n - 1))
    z = (d.untagged[:half].sum() - half * p) / sd
    assert abs(z) <= Z_BOUND, z


def test_untagged_digits():
    d = load_digits_tags(300, random_state=0, untagged_fraction=0.5, tag_noise=(0.0, 0.0))
    assert d.untagged.sum() == 150 and not d.tags_observed[d.untagged].any()


def test_untagged_flags_every_image_without_observed_tags():
    """Images that lose every tag to the noise are flagged too (as load_tags_npz does)."""
    d = load_digits_tags(300, random_state=0, tag_noise=(0.9, 0.0))
    np.testing.assert_array_equal(d.untagged, ~d.tags_observed.any(axis=1))
    # about 5 true tags each: P(no tag kept) = 0.9**5 = 0.59, so many such images
    assert d.untagged.sum() > 100

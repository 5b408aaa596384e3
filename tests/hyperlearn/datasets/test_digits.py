"""load_digits_tags: tags derived from the digit, checked against an independent table."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_digits

from hyperlearn.datasets import DIGIT_ATTRIBUTES, load_digits_tags

N_DIGITS = 1797


def _is_prime(d):
    return d >= 2 and all(d % q for q in range(2, d))


# Written here independently of the module: arithmetic properties computed, glyph properties as
# the usual printed forms of the digits (closed loop: 0, 4, 6, 8, 9; a curved stroke in all but 1,
# 4, 7).
ORACLE = {
    "even": lambda d: d % 2 == 0,
    "odd": lambda d: d % 2 == 1,
    "prime": _is_prime,
    "at_least_5": lambda d: d >= 5,
    "has_loop": lambda d: d in {0, 4, 6, 8, 9},
    "curved": lambda d: d not in {1, 4, 7},
    "straight_only": lambda d: d in {1, 4, 7},
    "multiple_of_3": lambda d: d % 3 == 0,
    "perfect_square": lambda d: math.isqrt(d) ** 2 == d,
}


def _expected_tags(digit):
    return [int(digit == k) for k in range(10)] + [int(ORACLE[name](digit)) for name in ORACLE]


@pytest.fixture(scope="module")
def digits_all():
    return load_digits_tags(random_state=0)


def test_layout(digits_all):
    d = digits_all
    assert d.images.shape == (N_DIGITS, 8, 8) and d.images.dtype == np.float32
    assert d.images.min() >= 0 and d.images.max() <= 1
    assert d.features.shape == (N_DIGITS, 64) and d.features.dtype == np.float32
    np.testing.assert_array_equal(d.features, d.images.reshape(N_DIGITS, 64))
    assert d.tag_names == [f"digit_{k}" for k in range(10)] + list(ORACLE)
    assert list(DIGIT_ATTRIBUTES) == list(ORACLE)
    for key in ("tags_true", "tags_observed"):
        assert d[key].shape == (N_DIGITS, 19) and d[key].dtype == np.uint8
    assert d.target.dtype == np.int64
    assert d.target_names == [str(k) for k in range(10)]


def test_all_images_in_original_order(digits_all):
    ref = load_digits()
    np.testing.assert_array_equal(digits_all.target, ref.target)
    np.testing.assert_array_equal(digits_all.images, (ref.images / 16).astype(np.float32))


def test_tags_match_independent_table_for_every_image(digits_all):
    expected = np.array([_expected_tags(int(d)) for d in digits_all.target], dtype=np.uint8)
    np.testing.assert_array_equal(digits_all.tags_true, expected)
    # all ten classes and every tag occur
    assert np.array_equal(np.unique(digits_all.target), np.arange(10))
    assert digits_all.tags_true.any(axis=0).all()


def test_subset_is_a_sample_of_real_digits():
    ref = load_digits()
    flat = {
        row.tobytes(): t
        for row, t in zip(ref.data.astype(np.float32) / 16, ref.target, strict=True)
    }
    d = load_digits_tags(150, random_state=4)
    assert d.images.shape == (150, 8, 8)
    for row, t in zip(d.features, d.target, strict=True):
        assert flat[row.tobytes()] == t
    expected = np.array([_expected_tags(int(t)) for t in d.target], dtype=np.uint8)
    np.testing.assert_array_equal(d.tags_true, expected)


def test_determinism():
    a = load_digits_tags(100, random_state=9, untagged_fraction=0.2)
    b = load_digits_tags(100, random_state=9, untagged_fraction=0.2)
    for key in ("images", "features", "tags_true", "tags_observed", "untagged", "target"):
        np.testing.assert_array_equal(a[key], b[key])
    c = load_digits_tags(100, random_state=10, untagged_fraction=0.2)
    assert not np.array_equal(a.images, c.images)
    assert not np.array_equal(a.tags_observed, c.tags_observed)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (
            {"n_images": 0},
            ValueError,
            r"n_images=0 is out of range: expected an integer in \[1, 1797\]",
        ),
        ({"n_images": N_DIGITS + 1}, ValueError, f"n_images={N_DIGITS + 1} is out of range"),
        ({"n_images": 10.5}, TypeError, "n_images=10.5 is not valid"),
        ({"n_images": True}, TypeError, "n_images=True is not valid"),
        ({"tag_noise": (1.2, 0.0)}, ValueError, r"tag_noise\[0\] \(missing rate\)=1.2"),
        ({"tag_noise": 0.3}, TypeError, "tag_noise=0.3 is not valid: expected a pair"),
        ({"untagged_fraction": 1.5}, ValueError, "untagged_fraction=1.5 is out of range"),
        ({"random_state": "zero"}, ValueError, "seed"),
    ],
)
def test_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        load_digits_tags(**kwargs)


@settings(max_examples=12)
@given(n=st.integers(1, 60), seed=st.integers(0, 2**32 - 1))
def test_properties(n, seed):
    d = load_digits_tags(n, tag_noise=(0.0, 0.0), random_state=seed)
    assert d.tags_true.shape == (n, 19)
    # exactly one digit tag, and it is the target
    assert (d.tags_true[:, :10].sum(axis=1) == 1).all()
    np.testing.assert_array_equal(d.tags_true[:, :10].argmax(axis=1), d.target)
    np.testing.assert_array_equal(d.tags_observed, d.tags_true)

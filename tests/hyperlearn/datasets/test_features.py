"""image_features: documented blocks against simple NumPy oracles, batch independence, errors."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from hyperlearn.datasets import image_features, make_tagged_shapes

# Blocks are computed in float64 and returned as float32 by default: a float32 result is within a
# few float32 ulps of the float64 oracle.
F32_RTOL = 1e-6
F64_RTOL = 1e-12


def _blocks(X, colour_bins, hog_cells, orientations, pixel_cells, channels):
    a = colour_bins**channels
    b = a + hog_cells**2 * orientations
    c = b + pixel_cells**2 * channels
    assert X.shape[1] == c
    return X[:, :a], X[:, a:b], X[:, b:]


def _random_images(n=5, size=16, channels=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, size, size, channels))


@pytest.mark.parametrize(
    ("params", "channels", "size"),
    [
        ({}, 3, 32),
        ({"colour_bins": 2, "hog_cells": 2, "orientations": 6, "pixel_cells": 4}, 3, 16),
        ({"colour_bins": 8, "hog_cells": 3, "orientations": 4, "pixel_cells": 5}, 3, 20),
        ({"colour_bins": 4}, 1, 17),
    ],
)
def test_colour_block_is_the_joint_histogram(params, channels, size):
    images = _random_images(4, size, channels)
    X = image_features(images, dtype=np.float64, **params)
    full = {"colour_bins": 4, "hog_cells": 4, "orientations": 9, "pixel_cells": 8, **params}
    colour, _, _ = _blocks(X, **full, channels=channels)
    b = full["colour_bins"]
    for i in range(len(images)):
        hist, _ = np.histogramdd(images[i].reshape(-1, channels), bins=b, range=[(0, 1)] * channels)
        np.testing.assert_allclose(colour[i], hist.ravel() / size**2, rtol=F64_RTOL)
    np.testing.assert_allclose(colour.sum(axis=1), 1.0, rtol=F64_RTOL)


def test_colour_of_a_flat_image_lands_in_its_bin():
    image = np.empty((1, 8, 8, 3))
    image[:] = (0.9, 0.1, 0.6)  # bins (3, 0, 2) of 4 -> column (3*4 + 0)*4 + 2 = 50
    colour, grad, _ = _blocks(image_features(image), 4, 4, 9, 8, 3)
    expected = np.zeros(64)
    expected[50] = 1.0
    np.testing.assert_array_equal(colour[0], expected)
    # a flat image has no gradient
    assert not grad.any()


@pytest.mark.parametrize(("axis", "expected_bin"), [(2, 0), (1, 4)])
def test_gradient_orientation_of_a_step_edge(axis, expected_bin):
    """A step along x (vertical edge) has angle 0; along y, angle π/2 -> bin floor(9/2) = 4."""
    image = np.zeros((1, 16, 16, 3))
    if axis == 2:
        image[:, :, 8:] = 1.0
    else:
        image[:, 8:, :] = 1.0
    _, grad, _ = _blocks(image_features(image, dtype=np.float64), 4, 4, 9, 8, 3)
    cells = grad.reshape(16, 9)
    active = np.flatnonzero(cells.sum(axis=1) > 0)
    assert active.size == 8  # the two rows (or columns) of cells that the edge crosses
    for cell in active:
        assert np.argmax(cells[cell]) == expected_bin
        np.testing.assert_allclose(cells[cell].sum(), cells[cell, expected_bin], rtol=F64_RTOL)


def test_gradient_cells_have_norm_below_one():
    X = image_features(_random_images(6, 32), dtype=np.float64)
    _, grad, _ = _blocks(X, 4, 4, 9, 8, 3)
    # documented: the block is (weights[1] / hog_cells) times cell histograms of norm < 1
    norms = np.linalg.norm(grad.reshape(6, 16, 9) * 4, axis=2)
    assert (norms < 1).all() and (norms > 0.5).all()


@pytest.mark.parametrize(("size", "cells", "channels"), [(32, 8, 3), (20, 8, 3), (9, 3, 1)])
def test_pixel_block_is_the_pooled_thumbnail(size, cells, channels):
    images = _random_images(3, size, channels, seed=size)
    X = image_features(images, pixel_cells=cells, hog_cells=2, dtype=np.float64)
    _, _, pixels = _blocks(X, 4, 2, 9, cells, channels)
    step = size // cells
    oracle = np.empty((3, cells, cells, channels))
    for r in range(cells):
        for c in range(cells):
            patch = images[:, r * step : (r + 1) * step, c * step : (c + 1) * step]
            oracle[:, r, c] = patch.mean(axis=(1, 2))
    scale = 1.0 / (0.5 * cells * np.sqrt(channels))  # documented reference norm
    np.testing.assert_allclose(pixels, oracle.reshape(3, -1) * scale, rtol=F64_RTOL)


def test_weights_scale_the_blocks():
    images = _random_images(3, 16)
    base = image_features(images, dtype=np.float64)
    scaled = image_features(images, weights=(2.0, 0.0, 0.5), dtype=np.float64)
    pairs = zip(_blocks(base, 4, 4, 9, 8, 3), _blocks(scaled, 4, 4, 9, 8, 3), strict=True)
    for (b0, b1), w in zip(pairs, (2.0, 0.0, 0.5), strict=True):
        np.testing.assert_allclose(b1, w * b0, rtol=F64_RTOL)


def test_grayscale_and_dtype():
    images = _random_images(3, 16, 1)
    X = image_features(images[..., 0])
    assert X.shape == (3, 4 + 16 * 9 + 64) and X.dtype == np.float32
    np.testing.assert_array_equal(X, image_features(images))
    X64 = image_features(images, dtype=np.float64)
    assert X64.dtype == np.float64
    np.testing.assert_allclose(X, X64, rtol=F32_RTOL, atol=1e-7)


def test_shapes_features_are_image_features_of_the_images():
    d = make_tagged_shapes(8, random_state=0)
    np.testing.assert_array_equal(d.features, image_features(d.images))


def test_deterministic_and_input_untouched():
    images = _random_images(4, 16)
    copy = images.copy()
    a = image_features(images)
    b = image_features(images)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(images, copy)


@settings(max_examples=25)
@given(
    images=hnp.arrays(
        np.float64,
        st.tuples(st.integers(1, 4), st.integers(8, 14), st.integers(8, 14), st.just(3)),
        elements=st.floats(0, 1),
    ),
)
def test_batch_independent_finite_and_bounded(images):
    """Each image's features are the same alone or in a batch; the blocks obey their bounds."""
    X = image_features(images, dtype=np.float64)
    assert np.isfinite(X).all()
    for i in range(len(images)):
        np.testing.assert_array_equal(X[i], image_features(images[i : i + 1], dtype=np.float64)[0])
    colour, grad, pixels = _blocks(X, 4, 4, 9, 8, 3)
    np.testing.assert_allclose(colour.sum(axis=1), 1.0, rtol=F64_RTOL)
    assert (colour >= 0).all() and (grad >= 0).all() and (pixels >= 0).all()
    assert (np.linalg.norm(grad, axis=1) < 1).all()
    # pixel block: thumbnail values <= 1, divided by 0.5 * 8 * sqrt(3)
    assert pixels.max() <= 1 / (4 * np.sqrt(3)) * (1 + F64_RTOL)


GOOD = np.full((2, 16, 16, 3), 0.5)


@pytest.mark.parametrize(
    ("images", "kwargs", "error", "match"),
    [
        (np.zeros((16, 16)), {}, ValueError, "shape"),
        (np.zeros((2, 16, 16, 3, 1)), {}, ValueError, "shape"),
        (np.zeros((2, 16, 16, 2)), {}, ValueError, "shape"),
        (np.zeros((0, 16, 16, 3)), {}, ValueError, "n >= 1"),
        (np.full((1, 16, 16, 3), np.nan), {}, ValueError, "NaN"),
        (np.full((1, 16, 16, 3), np.inf), {}, ValueError, "NaN or infinite"),
        (np.full((1, 16, 16, 3), 255.0), {}, ValueError, r"\[0, 1\]"),
        (np.full((1, 16, 16, 3), -0.1), {}, ValueError, r"\[0, 1\]"),
        (np.full((1, 16, 16, 3), "a"), {}, TypeError, "numeric"),
        (GOOD, {"colour_bins": 0}, ValueError, "colour_bins=0 is out of range"),
        (GOOD, {"colour_bins": 2.5}, TypeError, "colour_bins=2.5 is not valid"),
        (GOOD, {"orientations": True}, TypeError, "orientations=True is not valid"),
        (GOOD, {"hog_cells": 17}, ValueError, "hog_cells"),
        (GOOD, {"pixel_cells": 20}, ValueError, "pixel_cells"),
        (GOOD, {"weights": (1.0, 1.0)}, ValueError, "weights"),
        (GOOD, {"weights": (1.0, -1.0, 1.0)}, ValueError, "weights"),
        (GOOD, {"weights": (1.0, np.nan, 1.0)}, ValueError, "weights"),
        (GOOD, {"weights": "abc"}, ValueError, "weights"),
    ],
)
def test_bad_input(images, kwargs, error, match):
    with pytest.raises(error, match=match):
        image_features(images, **kwargs)

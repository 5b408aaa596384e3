"""Statistical bounds and consistency checks shared by the dataset tests."""

import numpy as np

from hyperlearn.datasets import COLOURS
from hyperlearn.datasets._shapes import render_shape_masks

# k successes in N Bernoulli(p) trials are accepted when |k - N p| <= Z_BOUND · sqrt(N p (1 - p)).
# Under the model the two-sided false-alarm probability per check is P(|Z| > 5) ≈ 5.7e-7
# (normal approximation to the binomial, excellent here: N p (1 - p) > 100 in every use).
Z_BOUND = 5.0

# Painted pixels = clip(palette colour + jitter) + N(0, 0.03²) noise, clipped to [0, 1]. The
# Euclidean deviation of a pixel from its shape's median colour is about 0.03·sqrt(χ²₃); 0.25
# is 8.3σ per pixel, P(χ²₃ > 69) < 1e-14, so a pixel beyond it was not painted with that colour.
SAME_PAINT = 0.25

# Nearest palette colour: the closest two palette colours (red, orange) are 0.46 apart and the
# colour jitter moves a colour by at most 0.08·sqrt(3) = 0.14 < 0.46 / 2, so the median pixel of a
# shape is nearest its own palette colour (the median removes the pixel noise).
PALETTE = np.array(list(COLOURS.values()))

# Every shape covers at least this many pixels (MIN_RADIUS = 3 keeps the thinnest kinds visible).
MIN_PIXELS = 4


def binomial_z(successes, trials, p):
    """Standardised deviation of a Binomial(trials, p) count."""
    return (successes - trials * p) / np.sqrt(trials * p * (1 - p))


def check_noise_model(tags_true, tags_observed, missing, spurious):
    """Missing and spurious rates within Z_BOUND binomial standard deviations of the model."""
    true = tags_true.astype(bool)
    obs = tags_observed.astype(bool)
    n_true, n_false = int(true.sum()), int((~true).sum())
    z_missing = binomial_z(int((true & ~obs).sum()), n_true, missing)
    z_spurious = binomial_z(int((~true & obs).sum()), n_false, spurious)
    assert abs(z_missing) <= Z_BOUND, (z_missing, n_true)
    assert abs(z_spurious) <= Z_BOUND, (z_spurious, n_false)


def _dilate(mask):
    out = mask.copy()
    out[..., 1:, :] |= mask[..., :-1, :]
    out[..., :-1, :] |= mask[..., 1:, :]
    out[..., :, 1:] |= mask[..., :, :-1]
    out[..., :, :-1] |= mask[..., :, 1:]
    return out


def check_shapes_rendering(data, image_size):
    """What the tags say is what was painted: checks on the generator's own shape metadata.

    Re-renders each shape's pixel mask from ``data.shape_params`` with the generator's geometry
    and checks, image by image, that (1) shape and colour tags are exactly the kinds and colours
    listed, (2) masks are non-empty and keep a one-pixel gap (nothing hides a tagged shape), (3)
    each mask is painted in one colour, the one its tag names.
    """
    p = data.shape_params
    n_kinds = 10
    n_colours = len(PALETTE)
    masks = render_shape_masks(p, image_size)
    present = p.kind >= 0
    assert np.array_equal(present, p.colour >= 0)
    assert np.array_equal(present, ~np.isnan(p.radius))
    assert present[:, 0].all(), "the main shape is always present"
    assert np.array_equal(p.kind[:, 0], data.target)
    for i in range(len(data.target)):
        kinds = set(p.kind[i][present[i]].tolist())
        colours = set(p.colour[i][present[i]].tolist())
        assert set(np.flatnonzero(data.tags_true[i, :n_kinds]).tolist()) == kinds
        tagged_colours = np.flatnonzero(data.tags_true[i, n_kinds : n_kinds + n_colours])
        assert set(tagged_colours.tolist()) == colours
    pixels = masks.sum(axis=(2, 3))
    assert (pixels[present] >= MIN_PIXELS).all(), pixels[present].min()
    assert (pixels[~present] == 0).all()
    # gap: a shape's grown mask meets no other shape
    grown = _dilate(masks)
    for a in range(masks.shape[1]):
        for b in range(masks.shape[1]):
            if a != b:
                assert not (grown[:, a] & masks[:, b]).any()
    for i, j in zip(*np.nonzero(present), strict=True):
        painted = data.images[i][masks[i, j]].astype(np.float64)
        median = np.median(painted, axis=0)
        assert np.linalg.norm(painted - median, axis=1).max() <= SAME_PAINT, (i, j)
        nearest = np.argmin(np.linalg.norm(PALETTE - median, axis=1))
        assert nearest == p.colour[i, j], (i, j, median)

"""make_tagged_shapes: determinism, documented shapes/dtypes/ranges, tags = what is painted."""

import hashlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hyperlearn.datasets import COLOURS, SHAPES, make_tagged_shapes
from hyperlearn.datasets._shapes import ATTRIBUTES

from ._checks import Z_BOUND, binomial_z, check_shapes_rendering
from .conftest import N_LARGE

N_TAGS = len(SHAPES) + len(COLOURS) + len(ATTRIBUTES)


def _assert_same(a, b):
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], np.ndarray):
            np.testing.assert_array_equal(a[key], b[key])
    for key in a.shape_params:
        np.testing.assert_array_equal(a.shape_params[key], b.shape_params[key])


def test_documented_layout(shapes_large):
    d = shapes_large
    n = N_LARGE
    assert d.images.shape == (n, 32, 32, 3) and d.images.dtype == np.float32
    assert d.images.min() >= 0.0 and d.images.max() <= 1.0
    assert d.features is None
    assert 20 <= N_TAGS <= 40
    assert d.tag_names == [*SHAPES, *COLOURS, *ATTRIBUTES]
    assert len(set(d.tag_names)) == N_TAGS
    for key in ("tags_true", "tags_observed"):
        assert d[key].shape == (n, N_TAGS) and d[key].dtype == np.uint8
        assert set(np.unique(d[key]).tolist()) <= {0, 1}
    assert d.untagged.dtype == bool
    np.testing.assert_array_equal(d.untagged, ~d.tags_observed.any(axis=1))
    assert d.target.dtype == np.int64
    assert d.target_names == list(SHAPES)
    for key in ("kind", "colour", "cy", "cx", "radius"):
        assert d.shape_params[key].shape == (n, 3)


def test_features_documented_shape():
    d = make_tagged_shapes(12, random_state=0)
    assert d.features.shape == (12, 400) and d.features.dtype == np.float32
    assert np.isfinite(d.features).all()


def test_every_tagged_shape_is_painted(shapes_large):
    check_shapes_rendering(shapes_large, 32)


def test_attribute_tags_follow_documented_definitions(shapes_large):
    d, s = shapes_large, 32
    p = d.shape_params
    tag = {name: d.tags_true[:, d.tag_names.index(name)].astype(bool) for name in ATTRIBUTES}
    n_painted = (p.kind >= 0).sum(axis=1)
    np.testing.assert_array_equal(tag["single"], n_painted == 1)
    np.testing.assert_array_equal(tag["multiple"], n_painted > 1)
    np.testing.assert_array_equal(tag["large"], p.radius[:, 0] >= 9 / 32 * s)
    np.testing.assert_array_equal(tag["small"], p.radius[:, 0] <= 7 / 32 * s)
    np.testing.assert_array_equal(tag["left"], p.cx[:, 0] < 0.4 * s)
    np.testing.assert_array_equal(tag["right"], p.cx[:, 0] > 0.6 * s)
    np.testing.assert_array_equal(tag["top"], p.cy[:, 0] < 0.4 * s)
    np.testing.assert_array_equal(tag["bottom"], p.cy[:, 0] > 0.6 * s)
    # every attribute tag occurs, and none is always on
    rates = d.tags_true.mean(axis=0)
    assert (rates > 0.05).all() and (rates < 0.95).all(), rates


# Unstriped backgrounds are uniform: dark gray level + tint <= 0.3 + 0.06 = 0.36, bright
# >= 0.55 - 0.06 = 0.49; the median background pixel (pixel noise 0.03, specks < 10 % of the
# pixels) falls on the right side of the midpoint 0.42.
BRIGHTNESS_THRESHOLD = 0.42


def test_bright_background_tag_matches_pixels(shapes_large):
    d = shapes_large
    from hyperlearn.datasets._shapes import render_shape_masks

    masks = render_shape_masks(d.shape_params, 32).any(axis=1)
    bright = d.tags_true[:, d.tag_names.index("bright_background")].astype(bool)
    striped = d.tags_true[:, d.tag_names.index("striped_background")].astype(bool)
    checked = 0
    for i in np.flatnonzero(~striped)[:400]:
        level = np.median(d.images[i][~masks[i]].mean(axis=1))
        assert (level > BRIGHTNESS_THRESHOLD) == bright[i], (i, level)
        checked += 1
    assert checked > 200


def test_classes_in_range_and_uniform(shapes_large):
    d = shapes_large
    counts = np.bincount(d.target, minlength=10)
    assert counts.size == 10 and (counts > 0).all()
    z = binomial_z(counts, N_LARGE, 1 / 10)
    assert np.abs(z).max() <= Z_BOUND, z
    # the main shape's kind tag is always true
    assert d.tags_true[np.arange(N_LARGE), d.target].all()


@pytest.mark.parametrize("n_classes", [2, 3, 7])
def test_n_classes(n_classes):
    d = make_tagged_shapes(300, n_classes=n_classes, random_state=1, features=False)
    assert d.target_names == list(SHAPES[:n_classes])
    # 300 draws: P(some class absent) <= 7 (6/7)^300 < 1e-18
    assert np.array_equal(np.unique(d.target), np.arange(n_classes))


def test_same_seed_identical_and_different_seeds_differ():
    a = make_tagged_shapes(40, random_state=3)
    b = make_tagged_shapes(40, random_state=3)
    _assert_same(a, b)
    c = make_tagged_shapes(40, random_state=np.random.RandomState(3))
    _assert_same(a, c)
    d = make_tagged_shapes(40, random_state=4)
    assert not np.array_equal(a.images, d.images)
    assert not np.array_equal(a.tags_true, d.tags_true)
    assert not np.array_equal(a.tags_observed, d.tags_observed)


def test_global_rng_untouched():
    before = np.random.get_state()  # noqa: NPY002 - the legacy global RNG must not be used
    make_tagged_shapes(5, random_state=0, features=False)
    after = np.random.get_state()  # noqa: NPY002
    assert before[0] == after[0] and before[2:] == after[2:]
    np.testing.assert_array_equal(before[1], after[1])


def test_features_flag_does_not_change_the_draws():
    a = make_tagged_shapes(10, random_state=5, features=False)
    b = make_tagged_shapes(10, random_state=5, features=True)
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.tags_observed, b.tags_observed)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_images": 0}, ValueError, "n_images=0 is out of range: expected an integer >= 1"),
        ({"n_images": -3}, ValueError, "n_images=-3 is out of range"),
        ({"n_images": 2.5}, TypeError, "n_images=2.5 is not valid: expected an integer"),
        ({"n_images": True}, TypeError, "n_images=True is not valid"),
        ({"n_images": "10"}, TypeError, "n_images='10' is not valid"),
        (
            {"image_size": 15},
            ValueError,
            "image_size=15 is out of range: expected an integer >= 16",
        ),
        ({"image_size": 32.0}, TypeError, "image_size=32.0 is not valid"),
        (
            {"n_classes": 1},
            ValueError,
            r"n_classes=1 is out of range: expected an integer in \[2, 10\]",
        ),
        ({"n_classes": 11}, ValueError, "n_classes=11 is out of range"),
        ({"n_classes": 3.0}, TypeError, "n_classes=3.0 is not valid"),
        ({"n_classes": True}, TypeError, "n_classes=True is not valid"),
        (
            {"tag_noise": (1.0, 0.0)},
            ValueError,
            r"tag_noise\[0\] \(missing rate\)=1.0 is out of range",
        ),
        ({"tag_noise": (0.1, -0.1)}, ValueError, r"tag_noise\[1\] \(spurious rate\)=-0.1"),
        ({"tag_noise": (float("nan"), 0.0)}, ValueError, r"tag_noise\[0\] \(missing rate\)=nan"),
        ({"tag_noise": (0.1,)}, ValueError, r"tag_noise=\(0.1,\) has 1 entries: expected a pair"),
        ({"tag_noise": (0.1, 0.2, 0.3)}, ValueError, "has 3 entries"),
        ({"tag_noise": None}, TypeError, "tag_noise=None is not valid: expected a pair"),
        ({"tag_noise": "ab"}, TypeError, "tag_noise='ab' is not valid"),
        ({"tag_noise": ("a", "b")}, TypeError, r"tag_noise\[0\] \(missing rate\)='a' is not valid"),
        (
            {"untagged_fraction": 1.0},
            ValueError,
            r"untagged_fraction=1.0 is out of range: .*\[0, 1\)",
        ),
        ({"untagged_fraction": -0.1}, ValueError, "untagged_fraction=-0.1 is out of range"),
        ({"untagged_fraction": float("nan")}, ValueError, "untagged_fraction=nan"),
        ({"untagged_fraction": True}, TypeError, "untagged_fraction=True is not valid"),
        ({"random_state": "seed"}, ValueError, "seed"),
    ],
)
def test_bad_input(kwargs, error, match):
    args = {"n_images": 5, "features": False, **kwargs}
    with pytest.raises(error, match=match):
        make_tagged_shapes(**args)


def _digest(d):
    h = hashlib.sha256()
    for a in (d.images, d.tags_true, d.tags_observed, d.untagged, d.target,
              *(d.shape_params[k] for k in ("kind", "colour", "cy", "cx", "radius"))):  # fmt: skip
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        (
            {"n_images": 300, "random_state": 7, "untagged_fraction": 0.2},
            "89efc66a3ac1274aaa946cc0e7e0ec805cc490b7c9329354e5c660d40f8d0aec",
        ),
        (
            {
                "n_images": 20,
                "image_size": 40,
                "n_classes": 3,
                "tag_noise": (0.1, 0.2),
                "random_state": 1,
            },
            "c45c2a2bc8f36d7dbd72010929206b3c08cad282e01c4931cfcef1756a5842cf",
        ),
    ],
)
def test_output_is_frozen_for_a_random_state(kwargs, expected):
    """Bit for bit the images, tags and shape parameters of the reference generator.

    The digests were taken from the generator before it was split into draw / place / render /
    tag steps; the legacy ``RandomState`` streams are frozen by NumPy, so any change here is a
    change of the data every figure in the README was measured on.
    """
    assert _digest(make_tagged_shapes(**kwargs, features=False)) == expected


@settings(max_examples=25)
@given(
    n=st.integers(1, 6),
    size=st.integers(16, 48),
    n_classes=st.integers(2, 10),
    seed=st.integers(0, 2**32 - 1),
    untagged_fraction=st.sampled_from([0.0, 0.3, 0.5, 0.9]),
)
def test_properties_any_size(n, size, n_classes, seed, untagged_fraction):
    d = make_tagged_shapes(
        n,
        image_size=size,
        n_classes=n_classes,
        tag_noise=(0.0, 0.0),
        random_state=seed,
        untagged_fraction=untagged_fraction,
        features=True,
    )
    assert d.images.shape == (n, size, size, 3) and d.images.dtype == np.float32
    assert d.images.min() >= 0.0 and d.images.max() <= 1.0
    assert d.features.shape == (n, 400) and np.isfinite(d.features).all()
    assert ((0 <= d.target) & (d.target < n_classes)).all()
    check_shapes_rendering(d, size)
    # no noise: observed = true, except on the round(f n) images stripped of every tag
    assert d.untagged.sum() == round(untagged_fraction * n)
    assert not d.tags_observed[d.untagged].any()
    np.testing.assert_array_equal(d.tags_observed[~d.untagged], d.tags_true[~d.untagged])


# On dark, unstriped, uncluttered backgrounds a pixel has channels <= 0.3 + 0.06 (+ noise),
# while every palette colour has a channel >= 0.85 (>= 0.77 after jitter): a background pixel is
# more than OTHER_PAINT (L∞) from any shape colour by > 7 noise σ, a painted pixel within 5σ.
OTHER_PAINT = 0.2


def test_painted_region_is_exactly_the_mask(shapes_large):
    """Pixels next to a shape (outside every mask) do not carry the shape's colour."""
    from hyperlearn.datasets._shapes import render_shape_masks

    d = shapes_large
    col = {name: d.tags_true[:, d.tag_names.index(name)].astype(bool) for name in d.tag_names}
    plain = ~col["bright_background"] & ~col["striped_background"] & ~col["cluttered"]
    idx = np.flatnonzero(plain)[:300]
    assert idx.size > 200
    masks = render_shape_masks(
        {key: value[idx] for key, value in d.shape_params.items()},
        32,
    )
    anywhere = masks.any(axis=1)
    for row, i in enumerate(idx):
        for j in np.flatnonzero(d.shape_params.kind[i] >= 0):
            m = masks[row, j]
            ring = np.zeros_like(m)
            ring[1:] |= m[:-1]
            ring[:-1] |= m[1:]
            ring[:, 1:] |= m[:, :-1]
            ring[:, :-1] |= m[:, 1:]
            ring &= ~anywhere[row]
            colour = np.median(d.images[i][m], axis=0)
            gap = np.abs(d.images[i][ring] - colour).max(axis=1)
            assert (gap > OTHER_PAINT).all(), (i, j, gap.min())


def _background_rows_cols(image, mask):
    """Medians of the gray background pixels of each row and of each column."""
    gray = np.where(mask, np.nan, image.astype(np.float64).mean(axis=2))
    return np.nanmedian(gray, axis=1), np.nanmedian(gray, axis=0)


# Stripes are constant along one axis and alternate ±0.12 across it with half-period 3.9–9 px, so
# on a 32-px side both levels occur (never clipped: the background stays inside [0, 1]): the row or
# column medians of the background span ≈ 0.24.
# Without stripes they differ only by the noise of a median of >= 10 pixels (σ ≈ 0.017/sqrt(10)).
STRIPE_SPREAD = 0.12
# Unstriped, uncluttered background pixels stay within 6σ = 0.18 of the median colour (σ = 0.03);
# a speck has a uniform random colour, farther than CLUTTER_DEVIATION in some channel with
# probability >= 1 - 0.5**3, and a cluttered image has 12 specks (some may be under shapes).
CLUTTER_DEVIATION = 0.25


def test_background_tags_match_pixels(shapes_large):
    from hyperlearn.datasets._shapes import render_shape_masks

    d = shapes_large
    masks = render_shape_masks(d.shape_params, 32).any(axis=1)
    tag = {name: d.tags_true[:, d.tag_names.index(name)].astype(bool) for name in d.tag_names}
    striped, cluttered = tag["striped_background"], tag["cluttered"]
    for i in np.flatnonzero(~cluttered)[:300]:
        rows, cols = _background_rows_cols(d.images[i], masks[i])
        spread = max(np.ptp(rows), np.ptp(cols))
        assert (spread > STRIPE_SPREAD) == striped[i], (i, spread)
    for i in np.flatnonzero(~striped)[:300]:
        background = d.images[i][~masks[i]].astype(np.float64)
        deviation = np.abs(background - np.median(background, axis=0)).max()
        assert (deviation > CLUTTER_DEVIATION) == cluttered[i], (i, deviation)


def test_chunked_rendering_does_not_change_the_images(monkeypatch):
    """Pixels are rendered by chunks of images; the chunk size must not change any value."""
    import hyperlearn.datasets._features as features_module
    import hyperlearn.datasets._shapes as shapes_module

    reference = make_tagged_shapes(23, random_state=8)
    monkeypatch.setattr(shapes_module, "_CHUNK", 5)
    monkeypatch.setattr(features_module, "_CHUNK", 4)
    _assert_same(make_tagged_shapes(23, random_state=8), reference)

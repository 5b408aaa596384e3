"""Synthetic tagged images: coloured shapes on cluttered backgrounds (no downloads)."""

from __future__ import annotations

import numpy as np
from sklearn.utils import Bunch, check_random_state

from ..utils._validation import check_int, check_real
from ._features import image_features
from ._noise import check_tag_noise, corrupt_tags

__all__ = ["COLOURS", "SHAPES", "make_tagged_shapes"]

SHAPES = (
    "circle",
    "square",
    "triangle",
    "cross",
    "ring",
    "hbar",
    "vbar",
    "diamond",
    "frame",
    "xcross",
)
COLOURS = {
    "red": (0.9, 0.1, 0.1),
    "green": (0.1, 0.8, 0.2),
    "blue": (0.15, 0.25, 0.95),
    "yellow": (0.95, 0.9, 0.1),
    "magenta": (0.85, 0.15, 0.85),
    "cyan": (0.1, 0.85, 0.9),
    "orange": (1.0, 0.55, 0.05),
    "white": (0.97, 0.97, 0.97),
}
ATTRIBUTES = (
    "single",
    "multiple",
    "large",
    "small",
    "left",
    "right",
    "top",
    "bottom",
    "cluttered",
    "bright_background",
    "striped_background",
)
MAX_SECONDARY = 2
# images rendered at once: bounds the float64 work arrays (about 60 kB per image at 32×32)
_CHUNK = 256
# smallest radius in pixels: every kind then covers several pixels at any image size
MIN_RADIUS = 3.0
# candidate positions tried per secondary shape before it is left out
PLACEMENT_TRIES = 6
# 2×2 coloured specks drawn in the background of a cluttered image
N_SPECKS = 12


def _pixel_grid(s):
    """Coordinates (2, s, s) of the pixel centres: row ``i + 0.5``, column ``j + 0.5``."""
    return np.mgrid[0:s, 0:s].astype(np.float64) + 0.5


def _dilate(mask):
    """Grow boolean masks (n, s, s) by one pixel in the four axis directions."""
    out = mask.copy()
    out[:, 1:] |= mask[:, :-1]
    out[:, :-1] |= mask[:, 1:]
    out[:, :, 1:] |= mask[:, :, :-1]
    out[:, :, :-1] |= mask[:, :, 1:]
    return out


def _shape_mask(kind, dy, dx, r):
    """Boolean masks of shape ``kind`` for centred coordinates dy, dx (k, s, s), radii r (k,1,1)."""
    ady, adx = np.abs(dy), np.abs(dx)
    if kind == "circle":
        return dy**2 + dx**2 <= r**2
    if kind == "ring":
        d2 = dy**2 + dx**2
        return (d2 <= r**2) & (d2 >= (0.55 * r) ** 2)
    if kind == "square":
        return (ady <= 0.85 * r) & (adx <= 0.85 * r)
    if kind == "frame":
        outer = (ady <= 0.9 * r) & (adx <= 0.9 * r)
        return outer & ~((ady <= 0.5 * r) & (adx <= 0.5 * r))
    if kind == "diamond":
        return ady + adx <= r
    if kind == "triangle":
        # apex up (rows grow downwards): half-width grows linearly from the apex to the base
        return (dy <= 0.8 * r) & (adx <= 0.55 * (dy + r)) & (dy >= -r)
    if kind == "cross":
        arm = 0.32 * r
        return ((adx <= arm) & (ady <= r)) | ((ady <= arm) & (adx <= r))
    if kind == "xcross":
        return (np.abs(adx - ady) <= 0.35 * r) & (adx <= 0.8 * r) & (ady <= 0.8 * r)
    if kind == "hbar":
        return (ady <= 0.28 * r) & (adx <= r)
    if kind == "vbar":
        return (adx <= 0.28 * r) & (ady <= r)
    raise ValueError(f"unknown shape {kind!r}")


def _masks(kinds, cy, cx, r, grid, active):
    """Pixel masks (n, s, s) of one shape per image (all False where not ``active``)."""
    n = kinds.shape[0]
    out = np.zeros((n, *grid[0].shape), dtype=bool)
    for t, kind in enumerate(SHAPES):
        idx = np.flatnonzero(active & (kinds == t))
        if idx.size:
            dy = grid[0][None] - cy[idx, None, None]
            dx = grid[1][None] - cx[idx, None, None]
            out[idx] = _shape_mask(kind, dy, dx, r[idx, None, None])
    return out


def render_shape_masks(shape_params, image_size):
    """Masks (n, 1 + MAX_SECONDARY, s, s) of the shapes described by ``shape_params``.

    ``shape_params`` is the Bunch entry of :func:`make_tagged_shapes`; absent shapes (kind -1)
    get an empty mask. Rendering uses the generator's own geometry, so tests can check that what
    the tags say is what was painted.
    """
    s = int(image_size)
    grid = _pixel_grid(s)
    kind = np.asarray(shape_params["kind"])
    n, k = kind.shape
    out = np.zeros((n, k, s, s), dtype=bool)
    for j in range(k):
        active = kind[:, j] >= 0
        out[:, j] = _masks(
            np.where(active, kind[:, j], 0),
            np.nan_to_num(shape_params["cy"][:, j]),
            np.nan_to_num(shape_params["cx"][:, j]),
            np.nan_to_num(shape_params["radius"][:, j]),
            grid,
            active,
        )
    return out


def make_tagged_shapes(
    n_images=2000,
    image_size=32,
    n_classes=10,
    tag_noise=(0.3, 0.05),
    random_state=None,
    *,
    untagged_fraction=0.0,
    features=True,
):
    """Generate small RGB images of coloured shapes with true and noisy (social) tags.

    Each image has a dark or bright background, optionally striped, with pixel noise and,
    for cluttered images, random coloured specks. On it sit one *main* shape (radius 6–11 pixels
    at 32×32) and up to two smaller secondary shapes (radius 3–5; radii scale with the image
    side but stay >= 3 pixels), each of one of ten shape kinds and eight colours (with a small
    colour jitter). Shapes never overlap or touch, so every
    tagged shape is entirely visible (the main one up to the image border).

    Parameters
    ----------
    n_images : int, default=2000
        Number of images.
    image_size : int, default=32
        Side ``s`` of the square images (>= 16); sizes and positions scale with ``s / 32``.
    n_classes : int, default=10
        Number of classes of ``target`` (2 to 10): the main shape's kind is drawn uniformly among
        the first ``n_classes`` kinds of :data:`SHAPES` and is the class.
    tag_noise : (float, float), default=(0.3, 0.05)
        ``(missing_rate, spurious_rate)``: each true tag is dropped with probability
        ``missing_rate`` and each absent tag added with probability ``spurious_rate``.
    random_state : int, RandomState instance or None, default=None
        Seed of everything random (shapes, colours, noise).
    untagged_fraction : float in [0, 1), default=0.0
        Fraction of images whose observed tags are all removed (the images to tag).
    features : bool, default=True
        Compute ``features`` with :func:`image_features` (skip for speed when only the images
        are needed).

    Returns
    -------
    data : sklearn.utils.Bunch
        * ``images`` : float32 (n, image_size, image_size, 3) in [0, 1].
        * ``features`` : float32 (n, 400) from :func:`image_features` (None if
          ``features=False``).
        * ``tags_true`` : uint8 (n, 29) 0/1 — the ten shape kinds present, the eight colours
          present, and eleven attributes (see Notes).
        * ``tags_observed`` : uint8 (n, 29) — ``tags_true`` through the noise model.
        * ``untagged`` : bool (n,) — images without any observed tag (the images to tag).
        * ``tag_names`` : list of 29 str.
        * ``target`` : int64 (n,) — the main shape's kind, in ``range(n_classes)``.
        * ``target_names`` : list of ``n_classes`` str.
        * ``shape_params`` : Bunch of (n, 3) arrays describing what was painted, column 0 the
          main shape, columns 1–2 the secondary ones: ``kind`` (index into :data:`SHAPES`, -1 if
          absent), ``colour`` (index into :data:`COLOURS`, -1 if absent), centre ``cy``, ``cx``
          (pixels from the top-left corner) and ``radius`` (NaN if absent).

    Raises
    ------
    TypeError
        If ``n_images``, ``image_size`` or ``n_classes`` is not an integer, ``tag_noise`` not a
        pair of real numbers, or ``untagged_fraction`` not a real number.
    ValueError
        If ``n_images`` < 1, ``image_size`` < 16, ``n_classes`` not in [2, 10], ``tag_noise``
        not of length 2, a ``tag_noise`` rate or ``untagged_fraction`` outside [0, 1).

    Notes
    -----
    Shape and colour tags are exactly the kinds and colours of the painted shapes (a kind or
    colour used twice is one tag). Attribute tags: ``single`` / ``multiple`` (one shape or more),
    ``large`` (main radius >= 9/32 of the side) / ``small`` (<= 7/32), ``left`` / ``right``
    (main centre ``cx`` < 0.4 s / > 0.6 s), ``top`` / ``bottom`` (``cy`` < 0.4 s / > 0.6 s),
    ``cluttered`` (coloured 2×2 specks in the background, drawn under the shapes),
    ``bright_background`` (gray level 0.55–0.75 instead of 0.18–0.3), ``striped_background``
    (±0.12 stripes; with the ±0.06 colour tint the background stays inside [0, 1] before the
    pixel noise, so stripes are never flattened by clipping).

    Secondary shapes are drawn with probabilities 0.4 / 0.35 / 0.25 for none / one / two; each is
    put at the first of ``PLACEMENT_TRIES`` random centres where it keeps a one-pixel gap from the
    shapes already placed, and is left out (neither painted nor tagged) if none fits, so about
    1.8 shapes per image are painted at 32×32. About 7 of the 29 tags are true per image.

    Observed tags: each cell of ``tags_true`` independently kept with probability
    ``1 - missing_rate`` if true, or set with probability ``spurious_rate`` if false; then
    ``round(untagged_fraction * n_images)`` random images lose all their observed tags.
    ``untagged`` flags every image without an observed tag: those, plus the rare images that
    lost all their tags to the noise (probability about ``missing_rate**7`` at 32×32).

    Deterministic for a fixed ``random_state``; vectorised NumPy.  Pixels and features are
    computed by chunks of images, so the peak memory is about 30 kB per image at 32×32 (the
    float32 images take 12 kB).

    Examples
    --------
    >>> data = make_tagged_shapes(50, random_state=0)
    >>> data.images.shape, data.images.dtype, data.tags_true.shape
    ((50, 32, 32, 3), dtype('float32'), (50, 29))
    >>> bool(data.images.min() >= 0 and data.images.max() <= 1), int(data.target.max()) < 10
    (True, True)
    """
    n = check_int(n_images, "n_images", low=1)
    s = check_int(image_size, "image_size", low=16)
    n_classes = check_int(n_classes, "n_classes", low=2, high=len(SHAPES))
    noise = check_tag_noise(tag_noise)
    untagged_fraction = check_real(
        untagged_fraction, "untagged_fraction", low=0, high=1, high_open=True
    )
    rng = check_random_state(random_state)
    # the order of the steps is the order of the draws: it fixes the output for a random_state
    scene = _draw_scene(rng, n, s, n_classes)
    shapes = _place_shapes(scene, n, s)
    images = _render(scene, shapes, rng, n, s)
    tags = _true_tags(scene, shapes, s)
    tags_observed, untagged = corrupt_tags(tags, noise, untagged_fraction, rng)
    return Bunch(
        images=images,
        features=image_features(images) if features else None,
        tags_true=tags.astype(np.uint8),
        tags_observed=tags_observed,
        untagged=untagged,
        tag_names=[*SHAPES, *COLOURS, *ATTRIBUTES],
        target=scene.main_kind.astype(np.int64),
        target_names=list(SHAPES[:n_classes]),
        shape_params=Bunch(
            kind=shapes.kind,
            colour=shapes.colour,
            cy=shapes.cy,
            cx=shapes.cx,
            radius=shapes.radius,
        ),
    )


def _draw_scene(rng, n, s, n_classes):
    """Every random scene parameter, drawn up front in a fixed order (all but the pixel noise)."""
    scale = s / 32.0
    n_colours = len(COLOURS)
    d = Bunch(scale=scale)
    d.bright = rng.random_sample(n) < 0.3
    d.striped = rng.random_sample(n) < 0.3
    d.cluttered = rng.random_sample(n) < 0.4
    # levels keep level ± tint ± stripe inside [0, 1]: clipping would flatten the stripes
    d.bg_level = np.where(d.bright, rng.uniform(0.55, 0.75, n), rng.uniform(0.18, 0.3, n))
    d.bg_tint = rng.uniform(-0.06, 0.06, (n, 3))
    d.stripe_phase = rng.uniform(0, 2 * np.pi, n)
    d.stripe_freq = rng.uniform(0.35, 0.8, n) / scale
    d.stripe_vertical = rng.random_sample(n) < 0.5

    d.main_kind = rng.randint(0, n_classes, n)
    d.main_r = np.maximum(rng.uniform(6.0, 11.0, n) * scale, MIN_RADIUS)
    d.main_cy = rng.uniform(0.3, 0.7, n) * s + rng.uniform(-0.22, 0.22, n) * s
    d.main_cx = rng.uniform(0.3, 0.7, n) * s + rng.uniform(-0.22, 0.22, n) * s
    d.main_col = rng.randint(0, n_colours, n)
    d.n_secondary = rng.choice(3, size=n, p=[0.4, 0.35, 0.25])
    d.sec_kind = rng.randint(0, len(SHAPES), (n, MAX_SECONDARY))
    # at least MIN_RADIUS pixels: thinner shapes (bars, frames) vanish between pixel centres
    d.sec_r = np.maximum(rng.uniform(3.0, 5.0, (n, MAX_SECONDARY)) * scale, MIN_RADIUS)
    # candidate centres: the first one that does not touch an earlier shape is used
    d.cand_cy = rng.uniform(0.12, 0.88, (n, MAX_SECONDARY, PLACEMENT_TRIES)) * s
    d.cand_cx = rng.uniform(0.12, 0.88, (n, MAX_SECONDARY, PLACEMENT_TRIES)) * s
    d.sec_col = rng.randint(0, n_colours, (n, MAX_SECONDARY))
    d.jitter = rng.uniform(-0.08, 0.08, (n, 1 + MAX_SECONDARY, 3))
    d.speck_y = rng.randint(0, s - 1, (n, N_SPECKS))
    d.speck_x = rng.randint(0, s - 1, (n, N_SPECKS))
    d.speck_col = rng.random_sample((n, N_SPECKS, 3))
    return d


def _place_shapes(d, n, s):
    """The main shape, then the secondary ones where they touch no shape placed before.

    Returns a Bunch: ``kind``, ``colour``, ``cy``, ``cx``, ``radius`` (n, 1 + MAX_SECONDARY)
    as in ``shape_params``, and ``masks`` (n, 1 + MAX_SECONDARY, s, s).
    """
    grid = _pixel_grid(s)
    width = 1 + MAX_SECONDARY
    kind = np.full((n, width), -1, dtype=np.int64)
    colour = np.full((n, width), -1, dtype=np.int64)
    cy, cx, radius = (np.full((n, width), np.nan) for _ in range(3))
    kind[:, 0], colour[:, 0] = d.main_kind, d.main_col
    cy[:, 0], cx[:, 0], radius[:, 0] = d.main_cy, d.main_cx, d.main_r
    mask = _masks(d.main_kind, d.main_cy, d.main_cx, d.main_r, grid, np.ones(n, dtype=bool))
    shape_masks = [mask]
    occupied = _dilate(mask)
    for j in range(MAX_SECONDARY):
        placed = np.zeros((n, s, s), dtype=bool)
        todo = d.n_secondary > j
        for t in range(PLACEMENT_TRIES):
            m = _masks(
                d.sec_kind[:, j], d.cand_cy[:, j, t], d.cand_cx[:, j, t], d.sec_r[:, j], grid, todo
            )
            ok = todo & ~(m & occupied).any(axis=(1, 2))
            placed[ok] = m[ok]
            cy[ok, 1 + j], cx[ok, 1 + j] = d.cand_cy[ok, j, t], d.cand_cx[ok, j, t]
            todo &= ~ok
        ok = ~np.isnan(cy[:, 1 + j])
        kind[ok, 1 + j], colour[ok, 1 + j] = d.sec_kind[ok, j], d.sec_col[ok, j]
        radius[ok, 1 + j] = d.sec_r[ok, j]
        shape_masks.append(placed)
        occupied |= _dilate(placed)
    masks = np.stack(shape_masks, axis=1)
    return Bunch(kind=kind, colour=colour, cy=cy, cx=cx, radius=radius, masks=masks)


def _render(d, shapes, rng, n, s):
    """Pixels, by chunks of images (bounded float64 work arrays).

    The pixel noise is drawn last, chunk after chunk, which gives the same stream as one draw
    for all images.
    """
    grid = _pixel_grid(s)
    palette = np.array(list(COLOURS.values()))
    paint = np.clip(palette[np.maximum(shapes.colour, 0)] + d.jitter, 0, 1)
    images = np.empty((n, s, s, 3), dtype=np.float32)
    for start in range(0, n, _CHUNK):
        c = slice(start, min(start + _CHUNK, n))
        m = c.stop - c.start
        canvas = np.empty((m, s, s, 3))
        canvas[:] = (d.bg_level[c, None] + d.bg_tint[c])[:, None, None, :]
        coord = np.where(d.stripe_vertical[c, None, None], grid[1][None], grid[0][None])
        phase = coord * d.stripe_freq[c, None, None] + d.stripe_phase[c, None, None]
        canvas += (0.12 * np.sign(np.sin(phase)) * d.striped[c, None, None])[..., None]
        # clutter: 2×2 specks of random colour in cluttered images (under the shapes)
        idx = np.flatnonzero(d.cluttered[c])
        ys, xs, cols = d.speck_y[c][idx], d.speck_x[c][idx], d.speck_col[c][idx]
        for dy in (0, 1):
            for dx in (0, 1):
                canvas[idx[:, None], ys + dy, xs + dx] = cols
        for j in range(1 + MAX_SECONDARY):
            mask = shapes.masks[c, j]
            canvas[mask] = paint[c, j][np.nonzero(mask)[0]]
        canvas += rng.normal(0.0, 0.03, (m, s, s, 3))
        images[c] = np.clip(canvas, 0.0, 1.0)
    return images


def _true_tags(d, shapes, s):
    """True tags (n, 29) bool: exactly the shapes and colours painted, then the attributes."""
    kind, colour = shapes.kind, shapes.colour
    n = kind.shape[0]
    n_shapes, n_colours = len(SHAPES), len(COLOURS)
    rows = np.arange(n)
    tags = np.zeros((n, n_shapes + n_colours + len(ATTRIBUTES)), dtype=bool)
    for j in range(1 + MAX_SECONDARY):
        present = rows[kind[:, j] >= 0]
        tags[present, kind[present, j]] = True
        tags[present, n_shapes + colour[present, j]] = True
    n_drawn = (kind >= 0).sum(axis=1)
    attr = {
        "single": n_drawn == 1,
        "multiple": n_drawn > 1,
        "large": d.main_r >= 9.0 * d.scale,
        "small": d.main_r <= 7.0 * d.scale,
        "left": d.main_cx < 0.4 * s,
        "right": d.main_cx > 0.6 * s,
        "top": d.main_cy < 0.4 * s,
        "bottom": d.main_cy > 0.6 * s,
        "cluttered": d.cluttered,
        "bright_background": d.bright,
        "striped_background": d.striped,
    }
    for i, name in enumerate(ATTRIBUTES):
        tags[:, n_shapes + n_colours + i] = attr[name]
    return tags

"""Hand-crafted image features: colour histogram, gradient-orientation histograms, small pixels."""

from __future__ import annotations

import numpy as np

from ..utils._validation import check_int

__all__ = ["image_features"]

# images per chunk: about 0.1 kB of float64 work arrays per pixel and channel, so ~80 MB at 32×32
_CHUNK = 256


def _check_images(images):
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[0] == 0 or images.shape[3] not in (1, 3):
        raise ValueError(
            "images must have shape (n, height, width, 3) or (n, height, width) with n >= 1; "
            f"got shape {images.shape}."
        )
    if not np.issubdtype(images.dtype, np.number):
        raise TypeError(f"images must be numeric; got dtype {images.dtype}.")
    if not np.all(np.isfinite(images)):
        raise ValueError("images contain NaN or infinite values.")
    lo, hi = images.min(), images.max()
    if lo < 0 or hi > 1:
        raise ValueError(
            f"images must have pixel values in [0, 1]; got values in [{lo}, {hi}] (divide 8-bit "
            "images by 255)."
        )
    return images


def _block_mean(images, cells):
    """Average-pool (n, h, w, c) to (n, cells, cells, c); h and w are cropped to a multiple."""
    n, h, w, c = images.shape
    bh, bw = h // cells, w // cells
    cropped = images[:, : bh * cells, : bw * cells]
    return cropped.reshape(n, cells, bh, cells, bw, c).mean(axis=(2, 4))


def _colour_histogram(images, bins):
    n = images.shape[0]
    q = np.clip((images * bins).astype(np.int64), 0, bins - 1)
    if images.shape[3] == 3:
        code = (q[..., 0] * bins + q[..., 1]) * bins + q[..., 2]
        n_codes = bins**3
    else:
        code = q[..., 0]
        n_codes = bins
    code = code.reshape(n, -1) + (np.arange(n) * n_codes)[:, None]
    hist = np.bincount(code.ravel(), minlength=n * n_codes).reshape(n, n_codes)
    return hist / code.shape[1]


def _orientation_histograms(images, cells, orientations):
    n, h, w, _ = images.shape
    gray = images.mean(axis=3, dtype=np.float64)
    gy = np.zeros_like(gray)
    gx = np.zeros_like(gray)
    # central differences inside; the outermost rows/columns get no gradient
    gy[:, 1:-1] = 0.5 * (gray[:, 2:] - gray[:, :-2])
    gx[:, :, 1:-1] = 0.5 * (gray[:, :, 2:] - gray[:, :, :-2])
    mag = np.hypot(gx, gy)
    # unsigned orientation in [0, π): an edge and its reverse count the same
    angle = np.mod(np.arctan2(gy, gx), np.pi)
    obin = np.minimum((angle / np.pi * orientations).astype(np.int64), orientations - 1)
    cy = np.minimum(np.arange(h) * cells // h, cells - 1)
    cx = np.minimum(np.arange(w) * cells // w, cells - 1)
    cell = cy[:, None] * cells + cx[None, :]
    n_bins = cells * cells * orientations
    code = (cell[None] * orientations + obin) + (np.arange(n) * n_bins)[:, None, None]
    hist = np.bincount(code.ravel(), weights=mag.ravel(), minlength=n * n_bins)
    hist = hist.reshape(n, cells * cells, orientations)
    # per-cell L2 normalisation (as HOG) so contrast does not dominate the shape information
    norm = np.sqrt((hist**2).sum(axis=2, keepdims=True) + 1e-3)
    return (hist / norm).reshape(n, n_bins)


def image_features(
    images,
    *,
    colour_bins=4,
    hog_cells=4,
    orientations=9,
    pixel_cells=8,
    weights=(1.0, 1.0, 1.0),
    dtype=np.float32,
):
    """Describe images by three concatenated, separately normalised feature blocks.

    Parameters
    ----------
    images : array-like of shape (n, height, width, 3) or (n, height, width)
        Pixel values in [0, 1] (RGB, or grayscale).
    colour_bins : int, default=4
        Bins per channel of the joint colour histogram (``colour_bins**3`` features for RGB).
    hog_cells : int, default=4
        The image is split in ``hog_cells × hog_cells`` cells for the orientation histograms.
    orientations : int, default=9
        Unsigned gradient-orientation bins over [0, π) per cell.
    pixel_cells : int, default=8
        Side of the average-pooled thumbnail (``pixel_cells² × channels`` features).
    weights : tuple of 3 floats, default=(1, 1, 1)
        Weights of the colour, gradient and pixel blocks, applied after each block is divided by
        a fixed reference norm (see Notes) so that the weights are comparable.
    dtype : dtype, default=float32
        Output dtype.

    Returns
    -------
    X : ndarray of shape (n, n_features)
        Finite features, columns ordered colour block, gradient block, pixel block.
        ``n_features = colour_bins**3 + hog_cells² · orientations + pixel_cells² · 3`` for RGB
        (400 with the defaults), ``colour_bins + hog_cells² · orientations + pixel_cells²`` for
        grayscale.

    Raises
    ------
    ValueError
        If ``images`` has another shape, is empty, has NaN/inf or values outside [0, 1], an
        integer parameter is below 1, ``hog_cells`` or ``pixel_cells`` exceeds the image side,
        or ``weights`` is not 3 non-negative finite numbers.
    TypeError
        If ``images`` is not numeric, or an integer parameter is not an integer.

    Notes
    -----
    * Colour: normalised joint histogram of the quantised RGB values (fraction of pixels per
      colour cube cell): a pixel with channel bins ``(i, j, k) = floor(b · (r, g, bl))`` (1.0
      in the last bin) counts in column ``(i · b + j) · b + k``.
    * Shape: magnitude-weighted histograms of the unsigned gradient orientation
      ``atan2(∂y, ∂x) mod π`` of the gray image in each cell, each L2-normalised (the HOG idea of
      Dalal & Triggs 2005, without block overlap).
    * Layout: the average-pooled ``pixel_cells × pixel_cells`` thumbnail, row-major, channels
      last (rows and columns beyond a multiple of ``pixel_cells`` are left out).

    Block scaling: with ``b = colour_bins``, ``c = hog_cells``, ``p = pixel_cells`` and ``C``
    channels, the colour block is ``weights[0] · h`` where ``h`` sums to 1 over its ``b**C`` bins
    (so the block sums to ``weights[0]``); the gradient block is ``weights[1] / c`` times the
    ``c²`` cell histograms, each of Euclidean norm < 1 (so its norm is < ``weights[1]``); the
    pixel block is ``weights[2] / (0.5 · p · sqrt(C))`` times the thumbnail (the norm of a
    mid-gray thumbnail is ``0.5 · p · sqrt(C)``). These divisors are constants, not statistics
    of the batch: each image's features are the same whichever other images are passed with it.

    Everything is vectorised NumPy (``np.bincount``).

    References
    ----------
    N. Dalal and B. Triggs, "Histograms of oriented gradients for human detection", CVPR 2005.

    Examples
    --------
    >>> import numpy as np
    >>> image_features(np.zeros((2, 32, 32, 3))).shape
    (2, 400)
    """
    images = _check_images(images)
    colour_bins, hog_cells, orientations, pixel_cells = (
        check_int(value, name, low=1)
        for name, value in (
            ("colour_bins", colour_bins),
            ("hog_cells", hog_cells),
            ("orientations", orientations),
            ("pixel_cells", pixel_cells),
        )
    )
    _, h, w, _ = images.shape
    if hog_cells > min(h, w) or pixel_cells > min(h, w):
        raise ValueError(
            f"hog_cells={hog_cells} and pixel_cells={pixel_cells} must not exceed the image side "
            f"{min(h, w)}."
        )
    try:
        weights = np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"weights must be 3 non-negative finite floats; got {weights!r}."
        ) from None
    if weights.shape != (3,) or np.any(weights < 0) or not np.all(np.isfinite(weights)):
        raise ValueError(f"weights must be 3 non-negative finite floats; got {weights!r}.")
    n, _, _, n_channels = images.shape
    # Fixed bounds on each block's per-image Euclidean norm (not statistics of the batch), so an
    # image's features do not depend on which other images are described with it.
    bounds = (1.0, float(hog_cells), 0.5 * float(pixel_cells) * np.sqrt(n_channels))
    scales = weights / np.array(bounds)
    n_features = int(colour_bins) ** n_channels + hog_cells**2 * orientations
    n_features += pixel_cells**2 * n_channels
    X = np.empty((n, n_features), dtype=dtype)
    # features are per image, so chunks bound the float64 work arrays without changing results
    for start in range(0, n, _CHUNK):
        chunk = images[start : start + _CHUNK].astype(np.float64, copy=False)
        blocks = [
            _colour_histogram(chunk, int(colour_bins)),
            _orientation_histograms(chunk, int(hog_cells), int(orientations)),
            _block_mean(chunk, int(pixel_cells)).reshape(chunk.shape[0], -1),
        ]
        X[start : start + _CHUNK] = np.hstack(
            [block * scale for block, scale in zip(blocks, scales, strict=True)]
        )
    return X

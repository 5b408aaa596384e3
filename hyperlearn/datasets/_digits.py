"""scikit-learn's bundled 8×8 digits with tags derived from the digit (no downloads)."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits
from sklearn.utils import Bunch, check_random_state

from ..utils._validation import check_int, check_real
from ._noise import check_tag_noise, corrupt_tags

__all__ = ["DIGIT_ATTRIBUTES", "load_digits_tags"]

# attribute -> the digits that have it (as written in the usual hand-written forms)
DIGIT_ATTRIBUTES = {
    "even": (0, 2, 4, 6, 8),
    "odd": (1, 3, 5, 7, 9),
    "prime": (2, 3, 5, 7),
    "at_least_5": (5, 6, 7, 8, 9),
    "has_loop": (0, 4, 6, 8, 9),
    "curved": (0, 2, 3, 5, 6, 8, 9),
    "straight_only": (1, 4, 7),
    "multiple_of_3": (0, 3, 6, 9),
    "perfect_square": (0, 1, 4, 9),
}


def load_digits_tags(
    n_images=None,
    tag_noise=(0.3, 0.05),
    random_state=None,
    *,
    untagged_fraction=0.0,
):
    """scikit-learn's digits (1797 images, 8×8) as a multi-label tagging problem.

    Parameters
    ----------
    n_images : int or None, default=None
        Number of images (a random subset, at most 1797); None keeps all, in the original order.
    tag_noise : (float, float), default=(0.3, 0.05)
        ``(missing_rate, spurious_rate)`` of the observed tags (same model as
        :func:`make_tagged_shapes`).
    random_state : int, RandomState instance or None, default=None
        Seed of the subset and of the tag noise.
    untagged_fraction : float in [0, 1), default=0.0
        Fraction of images whose observed tags are all removed (the images to tag).

    Returns
    -------
    data : sklearn.utils.Bunch
        ``images`` float32 (n, 8, 8) in [0, 1]; ``features`` float32 (n, 64), the pixels scaled
        to [0, 1] (the classic representation on which kNN is accurate for digits);
        ``tags_true`` / ``tags_observed`` uint8 (n, 19); ``untagged`` bool (n,) (images without
        an observed tag: the stripped ones and the few that lost every tag to the noise);
        ``tag_names`` (``digit_0`` … ``digit_9`` then :data:`DIGIT_ATTRIBUTES`); ``target`` the
        digit; ``target_names``.

    Raises
    ------
    TypeError
        If ``n_images`` is not an integer (or None), ``tag_noise`` not a pair of real numbers,
        or ``untagged_fraction`` not a real number.
    ValueError
        If ``n_images`` is not in [1, 1797], ``tag_noise`` not of length 2, a ``tag_noise``
        rate or ``untagged_fraction`` outside [0, 1).

    Notes
    -----
    Tags: the digit itself (``digit_0`` … ``digit_9``) and the attributes of
    :data:`DIGIT_ATTRIBUTES` (arithmetic: parity, prime, >= 5, multiple of 3, perfect square;
    glyph: a closed loop, a curved stroke, straight strokes only, as in the usual printed forms).
    Each image has about 5 true tags. Noise model as in :func:`make_tagged_shapes`.

    Examples
    --------
    >>> data = load_digits_tags(100, random_state=0)
    >>> data.features.shape, data.tags_true.shape
    ((100, 64), (100, 19))
    >>> int(data.tags_true[0, :10].sum())  # exactly one digit tag per image
    1
    """
    noise = check_tag_noise(tag_noise)
    untagged_fraction = check_real(
        untagged_fraction, "untagged_fraction", low=0, high=1, high_open=True
    )
    rng = check_random_state(random_state)
    digits = load_digits()
    n_total = digits.images.shape[0]
    if n_images is None:
        index = np.arange(n_total)
    else:
        n = check_int(n_images, "n_images", low=1, high=n_total)
        index = np.sort(rng.permutation(n_total)[:n])
    images = (digits.images[index] / 16.0).astype(np.float32)
    target = digits.target[index].astype(np.int64)
    table = np.zeros((10, 10 + len(DIGIT_ATTRIBUTES)), dtype=bool)
    table[np.arange(10), np.arange(10)] = True
    for j, members in enumerate(DIGIT_ATTRIBUTES.values()):
        table[list(members), 10 + j] = True
    tags = table[target]
    tags_observed, untagged = corrupt_tags(tags, noise, untagged_fraction, rng)
    return Bunch(
        images=images,
        features=images.reshape(len(index), -1).copy(),
        tags_true=tags.astype(np.uint8),
        tags_observed=tags_observed,
        untagged=untagged,
        tag_names=[f"digit_{d}" for d in range(10)] + list(DIGIT_ATTRIBUTES),
        target=target,
        target_names=[str(d) for d in range(10)],
    )

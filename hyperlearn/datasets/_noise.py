"""The social-tag noise model shared by the dataset generators, and its parameter check."""

from __future__ import annotations

import numpy as np

from ..utils._validation import check_real, describe


def check_tag_noise(tag_noise):
    """Validate ``tag_noise = (missing_rate, spurious_rate)``, both real numbers in [0, 1).

    Returns
    -------
    (float, float)

    Raises
    ------
    TypeError
        ``tag_noise`` is not a sequence, or a rate is not a real number.
    ValueError
        ``tag_noise`` does not have two entries, or a rate is NaN or outside [0, 1).
    """
    if isinstance(tag_noise, (str, bytes)) or not hasattr(tag_noise, "__len__"):
        raise TypeError(
            f"tag_noise={describe(tag_noise)} is not valid: expected a pair "
            "(missing_rate, spurious_rate)."
        )
    if len(tag_noise) != 2:
        raise ValueError(
            f"tag_noise={describe(tag_noise)} has {len(tag_noise)} entries: expected a pair "
            "(missing_rate, spurious_rate)."
        )
    missing, spurious = (
        check_real(value, f"tag_noise[{i}] ({name} rate)", low=0, high=1, high_open=True)
        for i, (name, value) in enumerate(zip(("missing", "spurious"), tag_noise, strict=True))
    )
    return missing, spurious


def corrupt_tags(tags_true, tag_noise, untagged_fraction, rng):
    """Observed tags: drop true tags, add spurious ones, and strip a fraction of images bare.

    Each true tag is kept with probability ``1 - missing``; each absent tag is added with
    probability ``spurious``, independently (the Bernoulli model of noisy social tags). Then a
    random ``untagged_fraction`` of the images loses every observed tag. Returns
    ``(tags_observed, untagged)`` with ``untagged`` the boolean mask of the images without any
    observed tag (the images to tag): the stripped ones plus any that lost every tag to the
    noise, as :func:`load_tags_npz` defines it for users' data.
    """
    missing, spurious = tag_noise
    n, T = tags_true.shape
    u = rng.random_sample((n, T))
    observed = np.where(tags_true, u >= missing, u < spurious)
    untagged = np.zeros(n, dtype=bool)  # the images stripped on purpose
    n_untagged = round(untagged_fraction * n)
    if n_untagged:
        untagged[rng.permutation(n)[:n_untagged]] = True
        observed[untagged] = False
    return observed.astype(np.uint8), ~observed.any(axis=1)

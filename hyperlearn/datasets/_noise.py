"""Validation helpers and the social-tag noise model shared by the dataset generators."""

from __future__ import annotations

import numbers

import numpy as np


def check_tag_noise(tag_noise):
    """Validate ``tag_noise = (missing_rate, spurious_rate)``, both in [0, 1)."""
    try:
        missing, spurious = (float(v) for v in tag_noise)
    except (TypeError, ValueError):
        raise ValueError(
            f"tag_noise must be a pair (missing_rate, spurious_rate); got {tag_noise!r}."
        ) from None
    for name, value in (("missing", missing), ("spurious", spurious)):
        if not (0.0 <= value < 1.0) or not np.isfinite(value):
            raise ValueError(
                f"tag_noise {name} rate must be in [0, 1); got {value!r} in "
                f"tag_noise={tag_noise!r}."
            )
    return missing, spurious


def check_fraction(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be a float in [0, 1); got {value!r}.")
    return float(value)


def check_positive_int(value, name, minimum=1):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}.")
    return int(value)


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

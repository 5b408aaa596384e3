r"""Tag-frequency correction of the tagger's scores.

Propagated scores carry the frequency of each tag: a frequent tag reaches an image through many
neighbours and many large tag hyperedges, so it leads the ranking of images where a kNN vote or
a classifier would put a rarer tag first.  Neighbour-voting tag relevance (Li, Snoek and
Worring 2008) subtracts from a tag's votes those it would get by its frequency alone; here a
fraction β of that expectation is subtracted from each image's scores,

.. math::

    S'_{it} = \frac{S_{it} − β\,\hat p_t \sum_l S_{il}}{1 − β},\qquad
    \hat p_t = \frac{p_t}{\sum_l p_l},\quad p_t = \frac{n_t + 1}{n + 1},

with ``n_t`` of the ``n`` tagged images tagged ``t``.  Each row keeps its sum (1 for
normalised scores), and entries may become negative: a tag less relevant to the image than
its frequency alone would make it.  When the rows sum to 1 the correction is a shift and a
scaling of each tag's column, the same for every image, so the order of the images for one
tag (MAP over tags, tag-based image search) does not change at all; the order of an image's
tags moves away from the frequent ones.  ``β = 0`` leaves the scores as they are; the full
correction of neighbour voting (``β → 1``) over-ranks rare tags for scores as smooth as
propagated ones.  ``β`` is chosen on held-out tags (:func:`choose_frequency_correction`).
"""

from __future__ import annotations

import numpy as np

from ..utils._validation import check_real
from ._selection import choose_candidate, per_image_f1_ranks

__all__ = [
    "FREQUENCY_DEFAULT",
    "FREQUENCY_GRID",
    "check_frequency_correction",
    "choose_frequency_correction",
    "correct_frequencies",
    "tag_frequencies",
]

#: Candidate fractions β of ``frequency_correction="auto"``; ``FREQUENCY_DEFAULT`` is kept
#: unless another value is clearly better on held-out tags.  See benchmarks/TUNING.md.
FREQUENCY_GRID = (0.0, 0.25, 0.5, 0.75)
FREQUENCY_DEFAULT = 0.25
_BLOCK_ROWS = 1 << 14


def check_frequency_correction(value):
    """``frequency_correction`` validated: ``"auto"`` or a fraction β in [0, 1) (as float)."""
    return check_real(value, "frequency_correction", low=0, high=1, high_open=True, allow=("auto",))


def tag_frequencies(Y, rows=None):
    """Smoothed frequency ``(n_t + 1)/(n + 1)`` of each tag among the tagged images of ``Y``
    (those of ``rows`` only, if given), float64 of shape (n_tags,)."""
    Y = Y.tocsr() if hasattr(Y, "tocsr") else np.asarray(Y)
    if rows is not None:
        Y = Y[rows]
    tagged = np.asarray(Y.sum(axis=1)).ravel() > 0
    counts = np.asarray(Y[tagged].sum(axis=0), dtype=np.float64).ravel()
    return (counts + 1.0) / (tagged.sum() + 1.0)


def correct_frequencies(scores, frequencies, beta, *, in_place=False):
    """``(S − β p̂ ⊗ rowsum(S))/(1 − β)`` (see the module), in the dtype of ``scores``.

    Linear in ``S``, so the mean of corrected rows is the corrected mean.

    Parameters
    ----------
    scores : ndarray of shape (n_images, n_tags)
    frequencies : ndarray of shape (n_tags,)
    beta : float in [0, 1)
    in_place : bool, default=False
        Overwrite ``scores`` (and return it) instead of returning a new array.  ``beta = 0``
        returns ``scores`` itself either way.

    Computed in blocks of rows, so no (n, t) float64 temporary is made.
    """
    if beta == 0:
        return scores
    out = scores if in_place else np.array(scores, copy=True)
    expected = beta * frequencies / frequencies.sum()
    for start in range(0, out.shape[0], _BLOCK_ROWS):
        block = out[start : start + _BLOCK_ROWS]
        totals = block.sum(axis=1, dtype=np.float64)
        block[...] = (block - np.outer(totals, expected)) / (1.0 - beta)
    return out


def choose_frequency_correction(
    hidden_scores, Y_hidden, frequencies, grid=FREQUENCY_GRID, default=FREQUENCY_DEFAULT
):
    """The held-out choice of β: ``(β, {β: criterion})``.

    Parameters
    ----------
    hidden_scores : ndarray of shape (n_validation, n_tags), or a list of them
        Scores of the held-out images, computed with their observed tags hidden (one array
        per held-out fold).
    Y_hidden : ndarray of shape (n_validation, n_tags), or a list of them
        Their observed tags.
    frequencies : ndarray of shape (n_tags,), or a list of them
        :func:`tag_frequencies` of the tagged images outside the held-out ones.
    grid : sequence of float in [0, 1)
        Candidates; ``default`` is replaced only for a clearly better per-image criterion
        (:func:`~hyperlearn.tagging.choose_candidate`) over all folds: the mean of F1@1, F1@3
        and F1@5 (:func:`~hyperlearn.tagging._selection.per_image_f1_ranks`).
    """
    if not isinstance(hidden_scores, list):
        hidden_scores, Y_hidden, frequencies = [hidden_scores], [Y_hidden], [frequencies]
    per_image, scores = {}, {}
    for beta in grid:
        f1 = np.concatenate(
            [
                per_image_f1_ranks(Y_v, correct_frequencies(S_v, p_v, float(beta)))
                for S_v, Y_v, p_v in zip(hidden_scores, Y_hidden, frequencies, strict=True)
            ]
        )
        per_image[float(beta)], scores[float(beta)] = f1, float(f1.mean())
    return choose_candidate(per_image, float(default)), scores

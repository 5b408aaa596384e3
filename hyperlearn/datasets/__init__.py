"""Offline datasets for image tagging (generated or bundled; nothing is ever downloaded).

* :func:`make_tagged_shapes` — synthetic RGB images of coloured shapes with true and noisy tags.
* :func:`make_clustered_tags` — large Gaussian-cluster features with topic tags, made in blocks.
* :func:`load_digits_tags` — scikit-learn's bundled digits with tags derived from the digit.
* :func:`load_tags_npz` — a user's own features ``X`` and observed tags ``Y`` from an ``.npz``.
* :func:`image_features` — colour histogram + gradient-orientation histograms + thumbnail.
"""

from ._clustered import make_clustered_tags
from ._digits import DIGIT_ATTRIBUTES, load_digits_tags
from ._features import image_features
from ._npz import load_tags_npz
from ._shapes import COLOURS, SHAPES, make_tagged_shapes

__all__ = [
    "COLOURS",
    "DIGIT_ATTRIBUTES",
    "SHAPES",
    "image_features",
    "load_digits_tags",
    "load_tags_npz",
    "make_clustered_tags",
    "make_tagged_shapes",
]

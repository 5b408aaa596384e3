"""A large clustered tagging data set, generated in blocks of rows (frugal and deterministic)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.utils import Bunch

from ..utils._validation import check_float_dtype, check_int, check_real
from ._noise import check_tag_noise

__all__ = ["make_clustered_tags"]

#: Rows generated per block: each block draws from its own child seed, so the data depend on the
#: arguments and the seed only (not on memory or thread settings).
BLOCK_ROWS = 65_536
#: Probability that an image carries each tag of its cluster's topic (at least one is kept).
TOPIC_TAG_PROBABILITY = 0.8
#: Tag ``t`` enters a topic with probability proportional to ``1 / (t + TAG_POPULARITY_SHIFT)``
#: (a Zipf-like popularity: low tag indices are shared by many clusters).
TAG_POPULARITY_SHIFT = 10.0


def make_clustered_tags(
    n_samples=100_000,
    n_features=128,
    n_tags=100,
    *,
    n_clusters=None,
    cluster_std=0.5,
    tags_per_cluster=6,
    tag_noise=(0.3, 0.002),
    untagged_fraction=0.2,
    dtype=np.float32,
    random_state=None,
):
    r"""Image-like features in Gaussian clusters, each cluster owning a topic of tags.

    Made for scale tests: a million images of 128 float32 features take 512 MB, and the tags are
    sparse.  The rows are generated in blocks of :data:`BLOCK_ROWS`, each from its own child of
    ``SeedSequence(random_state)``, so memory beyond the output is one block, and the result
    depends only on the arguments.

    Parameters
    ----------
    n_samples : int, default=100_000
        Number of images (rows), at least 2.
    n_features : int, default=128
        Feature dimension.
    n_tags : int, default=100
        Vocabulary size (NUS-WIDE has 81 concepts).
    n_clusters : int or None, default=None
        Number of clusters; ``None`` gives ``max(20, n_samples // 200)``.
    cluster_std : float, default=0.5
        Standard deviation of each feature around its cluster centre (centres are standard
        normal vectors, so two centres are about ``sqrt(2 n_features)`` apart).
    tags_per_cluster : int, default=6
        Size of each cluster's topic (at most ``n_tags``).
    tag_noise : (float, float), default=(0.3, 0.002)
        ``(missing_rate, spurious_rate)``: each true tag is dropped from the observed tags with
        the first probability, each absent tag added with the second.
    untagged_fraction : float in [0, 1), default=0.2
        Probability that an image loses all its observed tags (the images to tag).
    dtype : {numpy.float32, numpy.float64}, default=numpy.float32
        Dtype of the features.
    random_state : int or None, default=None
        Seed (``None``: fresh entropy, not reproducible).

    Returns
    -------
    data : sklearn.utils.Bunch
        ``features`` (n_samples, n_features) of ``dtype``; ``tags_true`` and ``tags_observed``
        ``scipy.sparse.csr_matrix`` of uint8 (n_samples, n_tags); ``untagged`` bool (n_samples,)
        (no observed tag: the stripped images and those that lost every tag to the noise);
        ``target`` int32 cluster of each image; ``topics`` int (n_clusters, tags_per_cluster);
        ``tag_names``.

    Raises
    ------
    TypeError
        A count that is not an integer, a rate that is not a real number, a bad ``dtype``.
    ValueError
        A count or rate out of range.

    Notes
    -----
    Image ``i`` of cluster ``c`` has features :math:`x_i = \mu_c + \sigma \varepsilon_i` with
    :math:`\mu_c, \varepsilon_i \sim N(0, I)`; its true tags are each tag of topic ``c`` with
    probability :data:`TOPIC_TAG_PROBABILITY` (at least one).  Clusters are drawn uniformly.

    Examples
    --------
    >>> from hyperlearn.datasets import make_clustered_tags
    >>> data = make_clustered_tags(1000, n_features=16, n_tags=20, random_state=0)
    >>> data.features.shape, data.features.dtype, data.tags_observed.shape
    ((1000, 16), dtype('float32'), (1000, 20))
    >>> bool((make_clustered_tags(1000, 16, 20, random_state=0).features == data.features).all())
    True
    """
    n = check_int(n_samples, "n_samples", low=2)
    d = check_int(n_features, "n_features", low=1)
    T = check_int(n_tags, "n_tags", low=1)
    n_clusters = check_int(n_clusters, "n_clusters", low=1, allow=(None,))
    n_clusters = max(20, n // 200) if n_clusters is None else n_clusters
    sigma = check_real(cluster_std, "cluster_std", low=0)
    per_topic = check_int(tags_per_cluster, "tags_per_cluster", low=1, high=T)
    noise = check_tag_noise(tag_noise)
    untagged_fraction = check_real(
        untagged_fraction, "untagged_fraction", low=0, high=1, high_open=True
    )
    dtype = check_float_dtype(dtype)
    seeds = np.random.SeedSequence(random_state)
    model_seed, *block_seeds = seeds.spawn(1 + -(-n // BLOCK_ROWS))

    model = np.random.default_rng(model_seed)
    centres = model.standard_normal((n_clusters, d), dtype=np.float32).astype(dtype)
    popularity = 1.0 / (np.arange(T) + TAG_POPULARITY_SHIFT)
    popularity /= popularity.sum()
    topics = np.stack(
        [model.choice(T, size=per_topic, replace=False, p=popularity) for _ in range(n_clusters)]
    )

    features = np.empty((n, d), dtype=dtype)
    target = np.empty(n, dtype=np.int32)
    true_parts, observed_parts = [], []
    for b, seed in enumerate(block_seeds):
        rng = np.random.default_rng(seed)
        rows = slice(b * BLOCK_ROWS, min((b + 1) * BLOCK_ROWS, n))
        size = rows.stop - rows.start
        cluster = rng.integers(n_clusters, size=size, dtype=np.int32)
        target[rows] = cluster
        block = rng.standard_normal((size, d), dtype=np.float32).astype(dtype, copy=False)
        block *= sigma
        block += centres[cluster]
        features[rows] = block
        tags_true = _true_tags(rng, topics[cluster], T)
        true_parts.append(sp.csr_matrix(tags_true))
        observed_parts.append(
            sp.csr_matrix(_observed_tags(rng, tags_true, noise, untagged_fraction))
        )
    tags_true = sp.vstack(true_parts, format="csr")
    tags_observed = sp.vstack(observed_parts, format="csr")
    untagged = np.diff(tags_observed.indptr) == 0
    return Bunch(
        features=features,
        tags_true=tags_true,
        tags_observed=tags_observed,
        untagged=untagged,
        target=target,
        topics=topics,
        tag_names=[f"tag_{t}" for t in range(T)],
    )


def _true_tags(rng, topic_rows, n_tags):
    """Dense uint8 true tags of one block: each topic tag with TOPIC_TAG_PROBABILITY, >= 1."""
    size, per_topic = topic_rows.shape
    keep = rng.random((size, per_topic)) < TOPIC_TAG_PROBABILITY
    keep[np.arange(size), rng.integers(per_topic, size=size)] = True
    tags = np.zeros((size, n_tags), dtype=np.uint8)
    rows = np.repeat(np.arange(size), per_topic)
    tags[rows[keep.ravel()], topic_rows.ravel()[keep.ravel()]] = 1
    return tags


def _observed_tags(rng, tags_true, noise, untagged_fraction):
    """Dense uint8 observed tags of one block (the Bernoulli noise model, then stripping)."""
    missing, spurious = noise
    u = rng.random(tags_true.shape, dtype=np.float32)
    observed = np.where(tags_true == 1, u >= missing, u < spurious)
    observed[rng.random(tags_true.shape[0]) < untagged_fraction] = False
    return observed.astype(np.uint8)

"""make_clustered_tags: shapes, determinism, the tag model, bad parameters."""

import numpy as np
import pytest
import scipy.sparse as sp

from hyperlearn.datasets import _clustered, make_clustered_tags


@pytest.fixture(scope="module")
def data():
    return make_clustered_tags(2000, n_features=8, n_tags=30, random_state=0)


def test_shapes_and_types(data):
    assert data.features.shape == (2000, 8) and data.features.dtype == np.float32
    for Y in (data.tags_true, data.tags_observed):
        assert sp.isspmatrix_csr(Y) and Y.shape == (2000, 30) and Y.dtype == np.uint8
        assert set(np.unique(Y.data)) <= {1}
    assert data.untagged.dtype == bool and data.target.dtype == np.int32
    assert data.topics.shape == (max(20, 2000 // 200), 6) and len(data.tag_names) == 30
    wide = make_clustered_tags(50, 3, 7, dtype=np.float64, random_state=1)
    assert wide.features.dtype == np.float64


def test_same_seed_same_data_across_blocks(monkeypatch):
    # several blocks of rows: each block has its own seed, so a smaller block size gives other
    # (equally valid) data, but the same seed always the same data
    monkeypatch.setattr(_clustered, "BLOCK_ROWS", 300)
    one = make_clustered_tags(1000, 4, 10, random_state=3)
    two = make_clustered_tags(1000, 4, 10, random_state=3)
    np.testing.assert_array_equal(one.features, two.features)
    assert (one.tags_observed != two.tags_observed).nnz == 0
    other = make_clustered_tags(1000, 4, 10, random_state=4)
    assert not np.array_equal(one.features, other.features)


def test_true_tags_come_from_the_cluster_topic(data):
    Y = data.tags_true.toarray()
    assert Y.sum(axis=1).min() >= 1  # at least one true tag per image
    topic = data.topics[data.target]
    in_topic = np.zeros_like(Y, dtype=bool)
    np.put_along_axis(in_topic, topic, True, axis=1)
    assert not np.any(Y.astype(bool) & ~in_topic)


def test_observed_tags_follow_the_noise_model():
    data = make_clustered_tags(
        20_000, 4, 50, tag_noise=(0.3, 0.01), untagged_fraction=0.2, random_state=0
    )
    T = data.tags_true.toarray().astype(bool)
    seen = data.tags_observed.toarray().astype(bool)
    np.testing.assert_array_equal(data.untagged, ~seen.any(axis=1))
    stripped = data.untagged
    kept = ~stripped
    # Bernoulli rates, checked within 5 standard errors
    missing = 1 - seen[kept][T[kept]].mean()
    spurious = seen[kept][~T[kept]].mean()
    n_true, n_absent = T[kept].sum(), (~T[kept]).sum()
    assert abs(missing - 0.3) < 5 * np.sqrt(0.3 * 0.7 / n_true)
    assert abs(spurious - 0.01) < 5 * np.sqrt(0.01 * 0.99 / n_absent)
    assert abs(stripped.mean() - 0.2) < 0.02  # includes rows that lost every tag to the noise


def test_images_lie_around_their_cluster_centre():
    data = make_clustered_tags(4000, 16, 10, n_clusters=4, cluster_std=0.1, random_state=2)
    X = data.features.astype(np.float64)
    centres = np.stack([X[data.target == c].mean(axis=0) for c in range(4)])
    spread = np.linalg.norm(X - centres[data.target], axis=1)
    # ‖σ ε‖ with ε ~ N(0, I_16): about σ √16 = 0.4, far below the distance between centres
    assert spread.max() < 0.1 * (np.sqrt(16) + 5)
    gaps = np.linalg.norm(centres[:, None] - centres[None], axis=2)[np.triu_indices(4, 1)]
    assert gaps.min() > 4 * spread.max()


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"n_samples": 1}, ValueError, "n_samples=1 is out of range"),
        ({"n_features": 2.5}, TypeError, "n_features=2.5 is not valid"),
        ({"n_tags": 3, "tags_per_cluster": 4}, ValueError, "tags_per_cluster=4 is out of range"),
        ({"cluster_std": -1.0}, ValueError, "cluster_std=-1.0 is out of range"),
        ({"tag_noise": (0.3,)}, ValueError, "tag_noise=.* has 1 entries"),
        ({"untagged_fraction": 1.0}, ValueError, "untagged_fraction=1.0 is out of range"),
        ({"dtype": np.int32}, TypeError, "dtype=int32 is not supported"),
        ({"n_clusters": 0}, ValueError, "n_clusters=0 is out of range"),
    ],
)
def test_bad_parameters(kwargs, error, match):
    args = {"n_samples": 100, "n_features": 4, "n_tags": 10, **kwargs}
    with pytest.raises(error, match=match):
        make_clustered_tags(**args)

"""HypergraphTagger(backend="dask"): the same fit as the local one, on a real LocalCluster."""

import numpy as np
import pytest

from hyperlearn import HypergraphTagger
from hyperlearn.datasets import make_tagged_shapes

# The solves are bitwise; the edge statistics are sums over column groups added on the client,
# equal to the local ones to rounding, so the adaptive weights (and, through Θ, the scores) may
# differ at that level: a few hundred float64 roundings of O(1) quantities.
ROUNDING_TOL = 1e-9


@pytest.fixture(scope="module")
def data():
    return make_tagged_shapes(300, random_state=0, untagged_fraction=0.2)


def _fit(data, **kwargs):
    tagger = HypergraphTagger(
        alpha=0.9, mu=1.0, standardize=False, random_state=0, max_iter=3, **kwargs
    )
    return tagger.fit(data.features, data.tags_observed)


def test_fixed_weights_bitwise_equal_to_local(client, data):
    local = _fit(data, adaptive_weights=False)
    remote = _fit(data, adaptive_weights=False, backend="dask", client=client)
    np.testing.assert_array_equal(remote.scores_, local.scores_)
    np.testing.assert_array_equal(remote.edge_weights_, local.edge_weights_)


def test_adaptive_weights_equal_to_local_to_rounding(client, data):
    local = _fit(data)
    remote = _fit(data, backend="dask", client=client)
    assert remote.n_iter_ == local.n_iter_
    np.testing.assert_allclose(remote.edge_weights_, local.edge_weights_, rtol=0, atol=ROUNDING_TOL)
    np.testing.assert_allclose(remote.scores_, local.scores_, rtol=0, atol=ROUNDING_TOL)
    assert np.all(np.diff(remote.objective_) <= ROUNDING_TOL * np.abs(remote.objective_[:-1]))


def test_user_client_stays_open(client, data):
    _fit(data, adaptive_weights=False, backend="dask", client=client)
    assert client.status == "running"


def test_backend_refused_with_another_solver(data):
    with pytest.raises(ValueError, match=r"backend=.dask.*solver=.block_cg."):
        _fit(data, backend="dask", solver="cg")


def test_unknown_backend_named(data):
    with pytest.raises(ValueError, match="backend"):
        _fit(data, backend="spark")


def test_closed_client_reported(data):
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=1, processes=False, dashboard_address=":0") as cluster:
        closed = Client(cluster)
        closed.close()
        with pytest.raises(ValueError, match="client"):
            _fit(data, adaptive_weights=False, backend="dask", client=closed)

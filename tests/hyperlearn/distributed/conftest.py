"""One two-worker LocalCluster (threads, so it starts in milliseconds) for the whole package."""

import logging

import numpy as np
import pytest

pytest.importorskip("distributed")


@pytest.fixture(scope="session")
def client():
    from hyperlearn.distributed import managed_client

    # the cluster closes after pytest has closed its captured streams: keep its INFO lines out
    logging.getLogger("distributed").setLevel(logging.ERROR)
    with managed_client(n_workers=2, processes=False) as c:
        yield c


def knn_hypergraph(n, k=6, d=3, seed=0):
    from hyperlearn import Hypergraph

    X = np.random.default_rng(seed).standard_normal((n, d))
    return Hypergraph.from_knn(X, k)


def tag_matrix(n, t, seed=1, density=0.1):
    return (np.random.default_rng(seed).random((n, t)) < density).astype(np.float64)

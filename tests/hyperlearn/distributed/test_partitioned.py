"""Mode B: the vertex-partitioned product Θ·X, its traffic, and its layout checks."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from hyperlearn import Hypergraph
from hyperlearn.distributed import (
    DistributedHypergraph,
    RowBlocks,
    RowLayout,
    incoming_transfer_bytes,
    locality_order,
)
from hyperlearn.distributed._partitioned import _block_bounds
from hyperlearn.testing.strategies import hypergraphs

from .conftest import knn_hypergraph

EPS = np.finfo(np.float64).eps


def gamma(k):
    """Higham's γ_k = k u / (1 − k u): the relative error bound of a k-term sum or dot."""
    return k * EPS / (1 - k * EPS)


def product_error_bound(hg, X):
    """|fl(ΘX) − ΘX| ≤ (γ_{max|e|+2} + γ_{max deg+2}) Θ|X| entrywise (Θ ≥ 0), per evaluation.

    Stage 1 sums at most max|e| products (one multiplication more for each scale), stage 2 at
    most max-degree ones; Θ has non-negative entries, so |scales| |H| ... |X| = Θ|X|.
    """
    k1 = int(np.max(hg.edge_sizes)) + 2
    k2 = int(np.max(np.diff(hg.incidence.indptr))) + 2
    return (gamma(k1) + gamma(k2)) * (hg.normalized_adjacency() @ np.abs(X))


@pytest.mark.parametrize("n_blocks", [1, 2, 3, 7])
@pytest.mark.parametrize("ordering", ["rcm", "none"])
def test_product_equals_local_to_rounding(client, n_blocks, ordering):
    hg = knn_hypergraph(1200, k=7)
    X = np.random.default_rng(4).standard_normal((1200, 5))
    dhg = DistributedHypergraph(hg, client, n_blocks=n_blocks, ordering=ordering)
    Y = dhg.from_blocks(dhg.matmat(dhg.to_blocks(X)))
    Y_local = hg.normalized_adjacency() @ X
    # both evaluations err by at most the bound, so they differ by at most twice it
    assert np.all(np.abs(Y - Y_local) <= 2 * product_error_bound(hg, X))
    shifted = dhg.from_blocks(dhg.matmat(dhg.to_blocks(X), coef=-0.9, add=1.0))
    assert np.all(
        np.abs(shifted - (X - 0.9 * Y_local))
        <= 2 * product_error_bound(hg, X) + 2 * EPS * np.abs(X)
    )


def test_with_weights_sends_only_scales(client):
    hg = knn_hypergraph(800)
    w = np.random.default_rng(5).random(hg.n_edges) + 0.01
    dhg = DistributedHypergraph(hg, client)
    new = dhg.with_weights(w)
    assert new._static is dhg._static  # the blocks stay where they are
    X = np.random.default_rng(6).standard_normal((800, 3))
    hg_w = hg.with_weights(w)
    Y = new.from_blocks(new.matmat(new.to_blocks(X)))
    assert np.all(np.abs(Y - hg_w.normalized_adjacency() @ X) <= 2 * product_error_bound(hg_w, X))


def test_isolated_vertices_and_empty_edges(client):
    H = sp.csr_matrix(
        np.array([[1, 0, 0, 1], [1, 1, 0, 0], [0, 0, 0, 0], [0, 1, 0, 1], [0, 0, 0, 0.0]])
    )
    hg = Hypergraph.from_incidence(H, allow_empty_edges=True)
    X = np.arange(10.0).reshape(5, 2)
    for n_blocks in (1, 2, 5):
        dhg = DistributedHypergraph(hg, client, n_blocks=n_blocks)
        Y = dhg.from_blocks(dhg.matmat(dhg.to_blocks(X)))
        assert np.allclose(Y, hg.normalized_adjacency() @ X, rtol=1e-14, atol=1e-14)
        assert np.all(Y[[2, 4]] == 0)


@pytest.mark.parametrize("s", [1, 16])
def test_bytes_moved_match_the_model(client, s):
    hg = knn_hypergraph(3000, k=8)
    dhg = DistributedHypergraph(hg, client).wait()  # one block per worker
    assert dhg.shared_rows > 0
    X = dhg.to_blocks(np.ones((3000, s)))
    X.gather()
    incoming_transfer_bytes(client, reset=True)
    dhg.matmat(X).gather()  # the client's own fetches are not in the workers' logs
    moved = incoming_transfer_bytes(client)
    assert abs(moved - dhg.model_bytes(s)) <= 0.10 * dhg.model_bytes(s)


def test_locality_order_and_bounds():
    hg = knn_hypergraph(500)
    order = locality_order(hg)
    assert np.array_equal(np.sort(order), np.arange(500))
    bounds = _block_bounds(np.diff(hg.incidence.indptr), 7)
    assert bounds[0] == 0 and bounds[-1] == 500 and np.all(np.diff(bounds) >= 1)
    assert np.array_equal(_block_bounds(np.zeros(3, dtype=int), 3), [0, 1, 2, 3])


@settings(max_examples=15)
@given(
    hg=hypergraphs(n_vertices=(2, 40), n_edges=(1, 30), edge_size=(1, 5)),
    s=st.integers(1, 4),
    n_blocks=st.integers(1, 6),
    seed=st.integers(0, 2**31),
)
def test_property_product(client, hg, s, n_blocks, seed):
    rng = np.random.default_rng(seed)
    n = hg.n_vertices
    X = rng.standard_normal((n, s))
    dhg = DistributedHypergraph(hg, client, n_blocks=min(n_blocks, n))
    Y = dhg.from_blocks(dhg.matmat(dhg.to_blocks(X)))
    assert np.all(np.abs(Y - hg.normalized_adjacency() @ X) <= 2 * product_error_bound(hg, X))
    assert (
        dhg.model_bytes(s)
        == 2 * (sum(c.size for c in dhg._cols) - np.count_nonzero(hg.edge_sizes)) * s * 8
    )


def test_bad_inputs(client):
    hg = knn_hypergraph(200)
    dhg = DistributedHypergraph(hg, client, n_blocks=2)
    other = DistributedHypergraph(hg, client, n_blocks=3)
    X = other.to_blocks(np.ones((200, 2)))
    with pytest.raises(ValueError, match="partitioned as RowLayout"):
        dhg.matmat(X)
    with pytest.raises(ValueError, match="partitioned as"):
        dhg.from_blocks(X)
    with pytest.raises(TypeError, match="expected a RowBlocks"):
        dhg.matmat(np.ones((200, 2)))
    with pytest.raises(ValueError, match="X has 10 rows: expected 200"):
        dhg.to_blocks(np.ones((10, 2)))
    with pytest.raises(ValueError, match="n_blocks=201"):
        DistributedHypergraph(hg, client, n_blocks=201)
    with pytest.raises(ValueError, match="ordering"):
        DistributedHypergraph(hg, client, ordering="metis")
    with pytest.raises(TypeError, match="hypergraph"):
        DistributedHypergraph(np.eye(3), client)
    with pytest.raises(TypeError, match="client"):
        DistributedHypergraph(hg, None)
    with pytest.raises(ValueError, match="strictly increasing"):
        RowLayout([0, 5, 5], ["a", "b"])
    with pytest.raises(ValueError, match="one per block"):
        RowLayout([0, 5, 9], ["a"])
    with pytest.raises(ValueError, match="X has 9 rows: expected 200"):
        RowBlocks.from_array(client, np.ones((9, 2)), dhg.layout)

"""The locality-ordered matmat path and the thread/BLAS configuration.

The ordered path (``_LocalLayout``) renumbers vertices and hyperedges but keeps the entries of
every row and column in their original order, so it must reproduce the plain product BITWISE:
these tests compare with ``np.array_equal``, not with a tolerance.  The plain product itself is
checked against dense references in ``test_properties.py``.
"""

import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

from hyperlearn import Hypergraph
from hyperlearn.hypergraph import _kernels, _locality
from hyperlearn.utils import thread_limits

from .test_properties import hypergraphs

KINDS = ("adjacency", "normalized", "random_walk", "unnormalized")


def _operator(hg, kind):
    return hg.normalized_adjacency() if kind == "adjacency" else hg.laplacian(kind)


def _products(op, X, *, ordered, monkeypatch):
    """(matmat, rmatmat) with the ordered path forced on or off."""
    with monkeypatch.context() as m:
        m.setattr(_locality, "LOCALITY_MIN_BYTES", 0 if ordered else 2**62)
        m.setattr(_locality, "LOCALITY_MIN_VERTICES", 0 if ordered else 2**62)
        return op.matmat(X), op.rmatmat(X)


def _knn_like(n, rng, *, n_big=3, big=None, weighted=False, dtype=np.float64):
    """Hyperedge v = {v} ∪ 5 points near v on a ring (random vertex labels), plus a few big
    random hyperedges (above LOCALITY_MAX_EDGE_SIZE when ``big`` is), and two isolated
    vertices."""
    labels = rng.permutation(n)
    members = (np.arange(n)[:, None] + np.arange(-2, 4)[None, :]) % (n - 2)
    edges = [labels[row] for row in members]
    big = big or _locality.LOCALITY_MAX_EDGE_SIZE + 10
    edges += [rng.choice(n - 2, size=min(big, n - 2), replace=False) for _ in range(n_big)]
    edges.append([])  # an empty hyperedge
    hg = Hypergraph.from_edges(
        edges,
        n_vertices=n,
        weights=rng.uniform(0.5, 1.5, len(edges)),
        dtype=dtype,
        allow_empty_edges=True,
    )
    if weighted:
        H = hg.incidence.copy()
        H.data = rng.uniform(0.1, 1.0, H.nnz).astype(dtype)
        hg = Hypergraph.from_incidence(H, hg.weights, allow_empty_edges=True)
    return hg


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("kind", KINDS)
def test_ordered_path_is_bitwise_equal(monkeypatch, kind, weighted, dtype):
    rng = np.random.default_rng(0)
    hg = _knn_like(300, rng, weighted=weighted, dtype=dtype)
    op = _operator(hg, kind)
    X = rng.standard_normal((300, 7)).astype(dtype)
    plain = _products(op, X, ordered=False, monkeypatch=monkeypatch)
    ordered = _products(op, X, ordered=True, monkeypatch=monkeypatch)
    for a, b in zip(plain, ordered, strict=True):
        assert a.dtype == b.dtype == dtype
        assert np.array_equal(a, b)


@given(hg=hypergraphs(), k=st.integers(1, 5), seed=st.integers(0, 2**32 - 1))
def test_ordered_path_is_bitwise_equal_on_random_hypergraphs(hg, k, seed):
    X = np.random.default_rng(seed).standard_normal((hg.n_vertices, k)).astype(hg.dtype)
    mp = pytest.MonkeyPatch()
    try:
        for kind in KINDS:
            op = _operator(hg, kind)
            plain = _products(op, X, ordered=False, monkeypatch=mp)
            ordered = _products(op, X, ordered=True, monkeypatch=mp)
            for a, b in zip(plain, ordered, strict=True):
                assert np.array_equal(a, b)
    finally:
        mp.undo()


def test_ordered_path_matches_dense_reference(monkeypatch):
    # one exact-oracle check of the ordered path itself (float64, entries are sums of at most
    # K = n + m products: |error| <= ROUNDING_SLACK * K * eps * (|Θ| |X|))
    ROUNDING_SLACK = 2
    rng = np.random.default_rng(1)
    hg = _knn_like(200, rng, weighted=True)
    H = hg.incidence.toarray()
    d = H @ hg.weights
    dv = np.where(d > 0, 1 / np.sqrt(np.where(d > 0, d, 1)), 0.0)
    theta = (
        (dv[:, None] * H) @ np.diag(hg.weights / np.maximum(H.sum(0), 1e-300)) @ (H.T * dv[None, :])
    )
    X = rng.standard_normal((200, 4))
    Y, _ = _products(hg.normalized_adjacency(), X, ordered=True, monkeypatch=monkeypatch)
    K = hg.n_vertices + hg.n_edges
    bound = ROUNDING_SLACK * K * np.finfo(np.float64).eps * (np.abs(theta) @ np.abs(X))
    assert np.all(np.abs(Y - theta @ X) <= bound)


def test_ordered_path_independent_of_threads(monkeypatch):
    rng = np.random.default_rng(2)
    hg = _knn_like(400, rng)
    op = hg.normalized_adjacency()
    X = rng.standard_normal((400, 9))
    with thread_limits(1):
        one = _products(op, X, ordered=True, monkeypatch=monkeypatch)
    with thread_limits(2), monkeypatch.context() as m:
        m.setattr("hyperlearn.utils._numba.PARALLEL_MIN_WORK", 0)  # really run in parallel
        two = _products(op, X, ordered=True, monkeypatch=monkeypatch)
    for a, b in zip(one, two, strict=True):
        assert np.array_equal(a, b)


def test_layout_is_a_renumbering_shared_by_reweighted_hypergraphs():
    rng = np.random.default_rng(3)
    hg = _knn_like(250, rng, weighted=True)
    csr, csc = hg.incidence, hg.incidence_csc
    layout = _locality.local_layout(csr, csc, hg.is_binary)
    n, m = hg.shape
    assert np.array_equal(np.sort(layout.vorder), np.arange(n))
    assert np.array_equal(np.sort(layout.eorder), np.arange(m))
    expected = csr[layout.vorder][:, layout.eorder].toarray()
    assert np.array_equal(sp.csr_matrix(layout.csr[::-1], shape=(n, m)).toarray(), expected)
    assert np.array_equal(sp.csc_matrix(layout.csc[::-1], shape=(n, m)).toarray(), expected)
    # every renumbered column keeps its entries in the original order (bitwise equal sums)
    for new, old in enumerate(layout.eorder[:20]):
        lo, hi = layout.csc[0][new], layout.csc[0][new + 1]
        assert np.array_equal(
            layout.vorder[layout.csc[1][lo:hi]], csc.indices[csc.indptr[old] : csc.indptr[old + 1]]
        )
    # large and empty hyperedges are placed last
    sizes = np.diff(csc.indptr)[layout.eorder]
    steering = (sizes > 0) & (sizes <= _locality.LOCALITY_MAX_EDGE_SIZE)
    n_steering = int(steering.sum())
    assert 0 < n_steering < m
    assert steering[:n_steering].all() and not steering[n_steering:].any()
    reweighted = hg.with_weights(np.ones(hg.n_edges))
    assert _locality.local_layout(reweighted.incidence, reweighted.incidence_csc, False) is layout


@given(
    n=st.integers(1, 60),
    m=st.integers(0, 20),
    part=st.integers(1, 70),
    max_size=st.integers(0, 10),
    seed=st.integers(0, 2**32 - 1),
)
def test_locality_order_is_a_permutation(n, m, part, max_size, seed):
    rng = np.random.default_rng(seed)
    edges = [rng.choice(n, size=rng.integers(1, n + 1), replace=False) for _ in range(m)]
    hg = Hypergraph.from_edges(edges, n_vertices=n) if m else None
    if hg is None:
        csr = sp.csr_matrix((n, 0))
        csc = sp.csc_matrix((n, 0))
    else:
        csr, csc = hg.incidence, hg.incidence_csc
    order = _kernels.locality_order(
        csr.indptr, csr.indices, csc.indptr, csc.indices, max_size, part
    )
    assert np.array_equal(np.sort(order), np.arange(n))


def test_locality_order_groups_a_scrambled_chain():
    # a chain of 2-vertex hyperedges with random labels: each part of the order is a piece of
    # the chain grown around its seed, so a block of `part` consecutive vertices of the order
    # spans about `part` chain positions (random labels: about n); a part cut short where the
    # chain ends makes a few blocks straddle two pieces, hence the median
    n, part = 1000, 100
    rng = np.random.default_rng(4)
    labels = rng.permutation(n)
    edges = [[labels[i], labels[i + 1]] for i in range(n - 1)]
    hg = Hypergraph.from_edges(edges)
    order = _kernels.locality_order(
        hg.incidence.indptr,
        hg.incidence.indices,
        hg.incidence_csc.indptr,
        hg.incidence_csc.indices,
        64,
        part,
    )
    position = np.empty(n, dtype=np.intp)
    position[labels] = np.arange(n)  # chain position of each vertex
    blocks = position[order].reshape(-1, part)
    spans = blocks.max(axis=1) - blocks.min(axis=1)
    assert np.median(spans) < 2 * part


def test_single_column_matmat_equals_matvec_bitwise():
    rng = np.random.default_rng(5)
    hg = _knn_like(300, rng)
    for kind in KINDS:
        op = _operator(hg, kind)
        x = rng.standard_normal(300)
        assert np.array_equal(op.matmat(x[:, None])[:, 0], op.matvec(x))
        assert np.array_equal(op.rmatmat(x[:, None])[:, 0], op.rmatvec(x))


# -- threading configuration (problem: SciPy BLAS 10-800x slower in a Numba process) -------------


def test_kernels_import_sets_passive_openmp_and_leaves_blas_alone():
    # In a fresh process without the variable: importing the kernels sets OMP_WAIT_POLICY to
    # PASSIVE before Numba's OpenMP pool starts, and running a parallel kernel leaves the BLAS
    # thread counts alone (a library must not change them; callers use thread_limits).  An
    # ACTIVE (spinning) pool made SciPy's eigh 2-15x slower on the shared 2-core machine
    # (measurements in hyperlearn.utils._numba.configure_openmp).
    code = (
        "import numpy as np\n"
        "import scipy.linalg  # load every BLAS before counting\n"
        "from threadpoolctl import threadpool_info\n"
        "blas = lambda: [d['num_threads'] for d in threadpool_info() if d['user_api'] == 'blas']\n"
        "before = blas()\n"
        "import os, numba\n"
        "from hyperlearn import Hypergraph\n"
        "hg = Hypergraph.from_edges([[0, 1, 2], [2, 3]])\n"
        "numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)\n"
        "hg.normalized_adjacency().matmat(np.ones((4, 3)))\n"
        "print(os.environ.get('OMP_WAIT_POLICY'), numba.threading_layer(), before == blas())\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    policy, layer, blas_unchanged = result.stdout.split()
    assert policy == "PASSIVE"
    assert blas_unchanged == "True"
    if layer == "omp":  # the layer the policy applies to; tbb/workqueue do not spin on OpenMP
        assert policy == "PASSIVE"

"""Suite ``distributed``: hyperlearn.distributed on LocalClusters against local anchors.

Cases (per size n, a kNN hypergraph of clustered 3-D points, one hyperedge per vertex):

- ``theta``: time per ``Θ·X`` (s = 16, 64) — local operator (1 Numba thread and all) against
  the vertex-partitioned product (mode B) on 1 and 2 worker processes; beside each time the
  error against the local product and, for mode B, the bytes the workers' logs counted per
  product against the model ``2 (Σ_p |cols_p| − m) s 8``.
- ``solve``: the tagger's f-step ``(I − αΘ) F = (1 − α) Y`` for 64 tags — local ``block_cg``
  against mode A (replicated hypergraph, columns split) on 1 and 2 workers; accuracy: the
  largest difference to the local solution (0 means bitwise equal) and the worst relative
  true residual.
- ``cg-check``: mode B CG with the client looking at the residuals every 1, 2, 4, 8
  iterations (evidence for ``CHECK_EVERY``).
- ``overhead`` (n = 5000): the fixed cost of going through a cluster — a product locally and
  on 2 workers (threads, processes) — and the start-up time of a LocalCluster.
- ``rsvd``: ``distributed_svd`` against ``dask.array.linalg.svd_compressed(iterator="QR")`` at
  equal accuracy: each runs with the fewest power iterations reaching ``SVD_TARGET`` relative
  error in the top singular values (σ_j = j^{-1/2}, exact by construction).

Worker processes have one thread each, and one Numba/BLAS thread (``WORKER_ENV``); ratios
between rows of one case are the result, seconds are not (shared machine).
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from ._harness import Record, bench, skipped

SUITE = "distributed"
SIZES = [200_000]
QUICK_SIZES = [20_000]
COLUMNS = (16, 64)
N_TAGS = 64
TAG_DENSITY = 0.05
NEIGHBORS = 10
ALPHA = 0.9
RTOL = 1e-6
CHECK_EVERY_VALUES = (1, 2, 4, 8)
OVERHEAD_N = 5000
SVD_SHAPE = (20_000, 2_000)
QUICK_SVD_SHAPE = (4_000, 400)
SVD_RANK = 10
SVD_TARGET = 1e-3
SVD_MAX_POWER = 12
WORKER_ENV = {
    "NUMBA_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


# --- data and clusters -----------------------------------------------------------------------


def make_hypergraph(n, seed=0):
    """kNN hypergraph (each vertex and its NEIGHBORS nearest) of clustered 3-D points."""
    from sklearn.neighbors import NearestNeighbors

    from hyperlearn import Hypergraph

    rng = np.random.default_rng(seed)
    n_clusters = max(10, n // 250)
    centres = rng.uniform(size=(n_clusters, 3))
    X = centres[rng.integers(n_clusters, size=n)] + 0.03 * rng.standard_normal((n, 3))
    _, nbrs = NearestNeighbors(n_neighbors=NEIGHBORS + 1).fit(X).kneighbors(X)
    H = sp.csr_matrix(
        (np.ones(nbrs.size), (nbrs.ravel(), np.repeat(np.arange(n), NEIGHBORS + 1))),
        shape=(n, n),
    )
    H.data[:] = 1.0
    return Hypergraph.from_incidence(H)


def make_tags(n, seed=1):
    return (np.random.default_rng(seed).random((n, N_TAGS)) < TAG_DENSITY).astype(np.float64)


class _Cluster:
    """A LocalCluster of one-thread workers and its client, closed on exit."""

    def __init__(self, n_workers, processes=True):
        from distributed import Client, LocalCluster

        kwargs = {"env": WORKER_ENV} if processes else {}
        self.cluster = LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=processes,
            dashboard_address=":0",
            **kwargs,
        )
        self.client = Client(self.cluster)

    def __enter__(self):
        return self.client

    def __exit__(self, *exc):
        self.client.close()
        self.cluster.close()


def _numba_threads(n):
    import numba

    previous = numba.get_num_threads()
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    return previous


def _wait(blocks):
    from distributed import wait

    wait(blocks.futures)
    return blocks


# --- cases -----------------------------------------------------------------------------------


def _local_rows(case, params, fn, accuracy):
    """The local anchor on one Numba thread and on all of them."""
    import numba

    rows = []
    for threads in (1, numba.config.NUMBA_NUM_THREADS):
        previous = _numba_threads(threads)
        try:
            rows.append(
                bench(
                    SUITE,
                    case,
                    f"local {threads} thread(s)",
                    fn,
                    params=params,
                    accuracy=accuracy,
                    repeats=5,
                )
            )
        finally:
            _numba_threads(previous)
    return rows


def _case_theta(hg, s):
    from hyperlearn.distributed import DistributedHypergraph, incoming_transfer_bytes

    n = hg.n_vertices
    case, params = f"theta n={n} s={s}", {"n": n, "s": s}
    X = np.random.default_rng(2).standard_normal((n, s))
    op = hg.normalized_adjacency()
    exact = op @ X
    scale = np.abs(exact).max()
    records = _local_rows(
        case,
        params,
        lambda: op @ X,
        lambda Y: {"max_rel_err": float(np.abs(Y - exact).max() / scale)},
    )
    for n_workers in (1, 2):
        with _Cluster(n_workers) as client:
            dhg = DistributedHypergraph(hg, client).wait()
            Xb = _wait(dhg.to_blocks(X))
            Y = dhg.from_blocks(dhg.matmat(Xb))
            incoming_transfer_bytes(client, reset=True)
            _wait(dhg.matmat(Xb))
            moved = incoming_transfer_bytes(client)
            model = dhg.model_bytes(s)
            accuracy = {
                "max_rel_err": float(np.abs(Y - exact).max() / scale),
                "bytes": moved,
                "bytes/model": moved / model if model else None,
            }
            rec = bench(
                SUITE,
                case,
                f"mode B {n_workers} worker(s)",
                lambda dhg=dhg, Xb=Xb: _wait(dhg.matmat(Xb)),
                params=params,
                repeats=7,
            )
            rec["accuracy"].update(accuracy)
            rec["extra"].update(model_bytes=model, shared_rows=dhg.shared_rows)
            records.append(rec)
    return records


def _case_solve(hg):
    from hyperlearn.distributed import DaskBackend
    from hyperlearn.linalg import block_cg
    from hyperlearn.linalg._shifted import ShiftedOperator

    n = hg.n_vertices
    case, params = f"solve n={n} tags={N_TAGS}", {"n": n, "tags": N_TAGS, "rtol": RTOL}
    B = (1 - ALPHA) * make_tags(n)
    A = ShiftedOperator(hg.normalized_adjacency(), ALPHA)
    previous = _numba_threads(1)
    try:
        X_local, _ = block_cg(A, B, rtol=RTOL)
        local = bench(
            SUITE,
            case,
            "local block_cg 1 thread",
            lambda: block_cg(A, B, rtol=RTOL),
            params=params,
            repeats=3,
        )
    finally:
        _numba_threads(previous)
    bnorm = np.linalg.norm(B, axis=0)

    def accuracy(X):
        residual = np.linalg.norm(B - A @ X, axis=0) / np.where(bnorm > 0, bnorm, 1)
        return {
            "max_abs_diff_to_local": float(np.abs(X - X_local).max()),
            "max_rel_residual": float(residual.max()),
        }

    local["accuracy"].update(accuracy(X_local))
    records = [local]
    for n_workers in (1, 2):
        with _Cluster(n_workers) as client, DaskBackend(client) as backend:
            t0 = time.perf_counter()
            backend.solve(hg, B, ALPHA, rtol=RTOL)  # broadcast + compile on the workers
            first = time.perf_counter() - t0
            rec = bench(
                SUITE,
                case,
                f"mode A {n_workers} worker(s)",
                lambda: backend.solve(hg, B, ALPHA, rtol=RTOL)[0],
                params=params,
                accuracy=accuracy,
                repeats=3,
                warmup=0,
            )
            rec["extra"]["first_call_s"] = first
            records.append(rec)
    return records


def _case_check_every(hg):
    from hyperlearn.distributed import DistributedHypergraph, distributed_cg

    n = hg.n_vertices
    case = f"cg-check n={n} s=16"
    B = (1 - ALPHA) * make_tags(n)[:, :16]
    records = []
    with _Cluster(2) as client:
        dhg = DistributedHypergraph(hg, client).wait()
        Bb = _wait(dhg.to_blocks(B))
        for k in CHECK_EVERY_VALUES:
            rec = bench(
                SUITE,
                case,
                f"check_every={k}",
                lambda k=k: distributed_cg(dhg, Bb, ALPHA, rtol=RTOL, check_every=k),
                params={"n": n, "check_every": k},
                accuracy=lambda r: {"info": r[1]},
                repeats=3,
            )
            records.append(rec)
    return records


def _case_overhead():
    from hyperlearn.distributed import DistributedHypergraph

    hg = make_hypergraph(OVERHEAD_N)
    case, params = f"overhead n={OVERHEAD_N} s=16", {"n": OVERHEAD_N, "s": 16}
    X = np.random.default_rng(3).standard_normal((OVERHEAD_N, 16))
    op = hg.normalized_adjacency()
    records = [bench(SUITE, case, "local product", lambda: op @ X, params=params, number=None)]
    for processes in (False, True):
        kind = "processes" if processes else "threads"
        t0 = time.perf_counter()
        with _Cluster(2, processes=processes) as client:
            start = time.perf_counter() - t0
            dhg = DistributedHypergraph(hg, client).wait()
            Xb = _wait(dhg.to_blocks(X))
            rec = bench(
                SUITE,
                case,
                f"mode B product, 2 {kind}",
                lambda dhg=dhg, Xb=Xb: _wait(dhg.matmat(Xb)),
                params=params,
                repeats=9,
            )
        rec["extra"]["cluster_start_s"] = start
        records.append(rec)
        records.append(
            Record(SUITE, f"cluster start ({kind})", {"workers": 2}, f"LocalCluster {kind}", start)
        )
    return records


def _svd_matrix(m, n, seed=4):
    """``U diag(σ) Vᵀ`` with σ_j = j^{-1/2}: U from an orthonormal DCT basis, V from QR."""
    import scipy.fft

    rng = np.random.default_rng(seed)
    rows = rng.choice(m, size=n, replace=False)
    E = np.zeros((m, n))
    E[rows, np.arange(n)] = rng.choice([-1.0, 1.0], size=n)
    U = scipy.fft.idct(E, norm="ortho", axis=0)
    V, _ = np.linalg.qr(rng.standard_normal((n, n)))
    sigma = 1.0 / np.sqrt(np.arange(1, n + 1))
    return np.ascontiguousarray((U * sigma) @ V.T), sigma


def _fewest_power_iterations(run, sigma):
    """The smallest q whose relative top-k singular value error is ≤ SVD_TARGET (or None)."""
    for q in range(SVD_MAX_POWER + 1):
        s = run(q)[1]
        if np.max(np.abs(s - sigma[:SVD_RANK]) / sigma[:SVD_RANK]) <= SVD_TARGET:
            return q
    return None


def _case_rsvd(shape):
    import dask.array as da

    from hyperlearn.distributed import RowBlocks, distributed_svd
    from hyperlearn.distributed._rowblocks import even_layout

    m, n = shape
    A, sigma = _svd_matrix(m, n)
    case = f"rsvd {m}x{n} k={SVD_RANK}"

    def error(result):
        s = np.asarray(result[1])
        return {"max_rel_sv_err": float(np.max(np.abs(s - sigma[:SVD_RANK]) / sigma[:SVD_RANK]))}

    records = []
    with _Cluster(2) as client:
        workers = sorted(client.scheduler_info()["workers"])
        blocks = _wait(RowBlocks.from_array(client, A, even_layout(m, workers)))
        dA = client.persist(da.from_array(A, chunks=(-(-m // 2), n)))

        def ours(q):
            U, s, Vt = distributed_svd(blocks, SVD_RANK, n_iter=q, random_state=0)
            return U.gather(), s, Vt

        def theirs(q):
            u, s, v = da.linalg.svd_compressed(dA, SVD_RANK, n_power_iter=q, iterator="QR", seed=0)
            return tuple(client.compute([u, s, v], sync=True))

        for name, run in (("ours distributed_svd", ours), ("dask svd_compressed QR", theirs)):
            q = _fewest_power_iterations(run, sigma)
            params = {"m": m, "n": n, "k": SVD_RANK, "target": SVD_TARGET, "n_iter": q}
            if q is None:
                records.append(
                    skipped(
                        SUITE, case, name, f"no q <= {SVD_MAX_POWER} reached {SVD_TARGET}", params
                    )
                )
                continue
            records.append(
                bench(
                    SUITE,
                    case,
                    f"{name} (q={q})",
                    lambda run=run, q=q: run(q),
                    params=params,
                    accuracy=error,
                    repeats=3,
                )
            )
    return records


def run(sizes, *, quick=False):
    """All cases for each n in ``sizes``; the overhead and rsvd cases once."""
    records = []
    for n in sizes:
        hg = make_hypergraph(int(n))
        for s in COLUMNS:
            records += _case_theta(hg, s)
        records += _case_solve(hg)
        records += _case_check_every(hg)
    records += _case_overhead()
    records += _case_rsvd(QUICK_SVD_SHAPE if quick else SVD_SHAPE)
    return records

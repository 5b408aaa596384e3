"""Suite ``cg``: the tagging system (I − αΘ) X = (1 − α) Y solved for many tag columns.

Θ is the normalized adjacency of a hypergraph with one kNN hyperedge per image (k = 10) plus
one hyperedge per tag, applied matrix-free (:class:`hyperlearn.hypergraph.HypergraphOperator`).
For each size ``n``, number of right-hand sides ``s`` and ``α`` the suite runs, in one process
on the same data and with the same stopping rule ``‖b − Ax‖ <= rtol‖b‖``:

- ``block_cg`` (ours, default ``method="auto"``; the method it picked is in ``method``), the
  other method (``block_cg[block]`` or ``block_cg[batched]``), and ``block_cg`` with the
  Jacobi and the block-low-rank (tessellation) preconditioners,
- ``cg`` per column (ours),
- SciPy ``cg`` per column on the SAME matrix-free operator (the anchor of the targets),
- SciPy ``cg`` per column on the explicit sparse ``I − αΘ`` (when it fits the nnz budget),
- pyamg smoothed-aggregation-preconditioned CG on the explicit matrix (``bench`` extra;
  skipped if pyamg is not installed), set-up included,
- ``block_cg mixed``: ``precision="mixed"`` (float32 iterations on ``op.astype(float32)``,
  float64 reliable updates, the same float64 ``rtol``); float32 and float64 products apart,
- float32: ``block_cg`` and SciPy ``cg`` per column on the float32 operator at
  ``rtol = RTOL_FLOAT32`` (accuracy: true residual against the float64 system),
- a modelled floor: per iteration one operator product (measured) plus the memory traffic of
  the vector updates (``VECTOR_PASSES`` passes over n×m doubles at the measured copy
  bandwidth), times the iterations block_cg needed.

Accuracy beside every time: the largest TRUE relative residual over the columns (recomputed
here in float64), iterations and operator products (counted by the operator itself).

Sizes: an int ``n`` runs s ∈ {1, 50, 500} and α ∈ {0.9, 0.99}; a pair ``(n, s)`` (CLI
``20000x50``) runs only that s.  ``knn<n>x<s>`` (e.g. ``knn100000x20``) is the
many-dimensional case: the kNN (k = 10) hypergraph of ``n`` points in 32 dimensions (float32
features, as ``Hypergraph.from_knn`` builds it from them, no tag hyperedges), ``s``
right-hand sides, α = 0.9, with ``block_cg`` (auto, mixed), ``cg`` and SciPy ``cg`` per
column, each also on ONE Numba thread (``[1 thread]`` rows, the rest on the run's setting).
Per-column anchors are run on at most ``MAX_COLUMNS_PER_COLUMN_LOOP`` columns and their time
(wall and CPU) scaled to all s columns (noted).  On a machine shared with other work, compare
the ``cpu_s`` column with ``--numba-threads 1``: wall times of parallel kernels there wait for
a busy core.
"""

from __future__ import annotations

import time
from contextlib import contextmanager

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import cg as scipy_cg

from hyperlearn.linalg._shifted import ShiftedOperator as _Shifted

from ._harness import Record, SkipBenchmark, bench, bound, copy_bandwidth_gbs, skipped

SUITE = "cg"
SIZES = [20_000, 200_000, "knn100000x20"]
QUICK_SIZES = [(3_000, 1), (3_000, 50)]
ALPHAS = (0.9, 0.99)
N_RHS = (1, 50, 500)
RTOL = 1e-6
#: rtol of the float32 rows: 1e-6 lies below what float32 CG can attain on these systems
#: (about κ·eps32·‖A‖‖x‖/‖b‖), so SciPy would report a false success there (see cg's notes)
RTOL_FLOAT32 = 1e-4
N_NEIGHBORS = 10
N_TAGS = 500
# Column loops (cg per column, SciPy per column) cost s solves; above this many columns they
# run on the first MAX_COLUMNS_PER_COLUMN_LOOP columns and the time is scaled by s / that.
MAX_COLUMNS_PER_COLUMN_LOOP = 50
QUICK_MAX_COLUMNS_PER_COLUMN_LOOP = 10
# Memory floor of the vector updates per CG iteration: x += αp, r −= αq, p = r + βp, each
# reading two blocks and writing one (the dot products fused into them): 9 passes of n×m.
# (block_cg's batched method makes 10: the three updates plus the pᵀq reduction, fused.)
VECTOR_PASSES = 9


class ShiftedOperator(_Shifted):
    """``I − α Θ`` (the library's operator), counting the vectors it is applied to.

    ``products`` counts every vector; ``float32_products`` those given in float32 (the inner
    iterations of ``precision="mixed"``: on this operator's float32 copy, kept as
    ``self.cast``, or on the operator itself when Θ is float32 already).
    """

    def __init__(self, theta, alpha):
        super().__init__(theta, alpha)
        self.products = 0
        self.float32_products = 0
        self.cast = None

    def astype(self, dtype):
        cast = super().astype(dtype)
        if cast is self:
            return self
        self.cast = ShiftedOperator(cast.theta, cast.alpha)
        return self.cast

    def _count(self, X, columns):
        self.products += columns
        if X.dtype == np.float32:
            self.float32_products += columns

    def _matvec(self, x):
        self._count(np.asarray(x), 1)
        return super()._matvec(x)

    def _matmat(self, X):
        self._count(X, X.shape[1])
        return super()._matmat(X)


def make_tagging_hypergraph(n, seed=0):
    """kNN (k = 10) hyperedges on clustered 3-D features, plus N_TAGS tag hyperedges.

    Features: points around ``n // 200`` cluster centres.  Tags: each cluster owns 4 tags;
    each image gets 2 of its cluster's tags and 1 random tag (noisy observed tags).  The kNN
    search uses scikit-learn's KD-tree (exact; fast in 3-D), then builds the incidence.
    """
    from sklearn.neighbors import NearestNeighbors

    from hyperlearn.hypergraph import Hypergraph

    rng = np.random.default_rng(seed)
    n_clusters = max(10, n // 200)
    centres = rng.uniform(size=(n_clusters, 3))
    cluster = rng.integers(n_clusters, size=n)
    X = centres[cluster] + 0.03 * rng.standard_normal((n, 3))
    _, neighbours = NearestNeighbors(n_neighbors=N_NEIGHBORS + 1).fit(X).kneighbors(X)
    # hyperedge v = {v} ∪ kNN(v); the search returns v itself first (no duplicate points here)
    rows = neighbours.ravel()
    cols = np.repeat(np.arange(n), N_NEIGHBORS + 1)
    H_knn = sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(n, n))
    H_knn.data[:] = 1.0  # a repeated index (duplicate point) would sum to 2
    cluster_tags = rng.integers(N_TAGS, size=(n_clusters, 4))
    own = cluster_tags[cluster[:, None], rng.integers(4, size=(n, 2))]
    tags = np.concatenate([own, rng.integers(N_TAGS, size=(n, 1))], axis=1)
    Y = sp.csr_matrix(
        (np.ones(tags.size), (np.repeat(np.arange(n), 3), tags.ravel())), shape=(n, N_TAGS)
    )
    Y.data[:] = 1.0
    hg = Hypergraph.from_incidence(H_knn) | Hypergraph.from_labels(Y)
    return hg, Y


def _true_relative_residual(op, B, X):
    R = B - (X - op.alpha * op.theta.matmat(np.ascontiguousarray(X)))
    return float(np.max(np.linalg.norm(R, axis=0) / np.linalg.norm(B, axis=0)))


def _column_loop(solve, B, k):
    """Solve the first k columns one by one; returns (X[:, :k], iterations per column)."""
    X = np.empty((B.shape[0], k))
    iterations = []
    for j in range(k):
        X[:, j], its = solve(np.ascontiguousarray(B[:, j]))
        iterations.append(its)
    return X, iterations


def _cases(sizes):
    for size in sizes:
        if isinstance(size, tuple):
            n, s = size
            yield n, (s,)
        elif isinstance(size, int):
            yield size, N_RHS
        elif _knn_size(size) is not None:
            yield size, None
        else:
            raise ValueError(
                f"unknown cg size {size!r}: expected n (s = {', '.join(map(str, N_RHS))} "
                "right-hand sides), NxS (e.g. 20000 or 20000x50) or knnNxS (e.g. knn100000x20)"
            )


def _knn_size(size):
    """``"knn100000x20"`` -> (100000, 20); None for anything else."""
    if not isinstance(size, str) or not size.startswith("knn"):
        return None
    parts = size[3:].split("x")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        return None
    return int(parts[0]), int(parts[1])


def run(sizes, *, quick=False):
    records = []
    max_columns = QUICK_MAX_COLUMNS_PER_COLUMN_LOOP if quick else MAX_COLUMNS_PER_COLUMN_LOOP
    bandwidth = copy_bandwidth_gbs()
    for n, rhs_counts in _cases(sizes):
        if rhs_counts is None:
            records += _knn_case(*_knn_size(n), max_columns, bandwidth)
            continue
        t0 = time.perf_counter()
        hg, Y = make_tagging_hypergraph(n)
        theta = hg.normalized_adjacency()
        theta.matmat(np.ones((n, 2)))  # compile the Numba kernels outside the timings
        theta.matvec(np.ones(n))
        setup_s = time.perf_counter() - t0
        try:
            theta_explicit = hg.normalized_adjacency(explicit=True)
        except MemoryError as exc:  # NnzBudgetError derives from MemoryError
            theta_explicit = exc
        for alpha in ALPHAS:
            op = ShiftedOperator(theta, alpha)
            if isinstance(theta_explicit, MemoryError):
                explicit = theta_explicit
            else:
                explicit = (sp.identity(n, format="csr") - alpha * theta_explicit).tocsr()
            for s in rhs_counts:
                if s > N_TAGS:
                    continue
                B = (1 - alpha) * Y[:, :s].toarray()
                params = {"n": n, "s": s, "alpha": alpha, "rtol": RTOL, "nnz_H": hg.incidence.nnz}
                case = _Case(f"n={n} s={s} alpha={alpha}", params, op, explicit, B,
                             min(s, max_columns), bandwidth, setup_s)  # fmt: skip
                records += _run_case(case)
    return records


class _Case:
    """One case of the suite: the system, the anchors' column budget and the counters."""

    def __init__(self, name, params, op, explicit, B, k, bandwidth, setup_s, repeats=1):
        self.name, self.params, self.op, self.explicit, self.B = name, params, op, explicit, B
        self.n, self.s = B.shape
        self.k = k  # columns the per-column anchors run (their time is scaled by s / k)
        self.scale = self.s / k
        self.note_scaled = f"ran {k} of {self.s} columns, time scaled by {self.scale:g}"
        if k == self.s:
            self.note_scaled = ""
        self.bandwidth, self.setup_s, self.repeats = bandwidth, setup_s, repeats
        self.stats = {}  # products and iterations of the last call of each implementation
        self.float32 = None  # the float32 system, built on first use

    def counted(self, name, fn):
        """Wrap fn so that its products and iterations of the LAST call are recorded."""

        def wrapped():
            self.op.products = 0
            result = fn()
            self.stats[name] = {"products": self.op.products, **result[1]}
            return result[0]

        return wrapped

    def accuracy(self, X):
        cols = X.shape[1]
        return {"max_true_rel_residual": _true_relative_residual(self.op, self.B[:, :cols], X)}

    def bench(self, impl, fn, **kw):
        kw.setdefault("params", self.params)
        kw.setdefault("accuracy", self.accuracy)
        return bench(SUITE, self.name, impl, fn, repeats=self.repeats, warmup=1, **kw)

    def scale_time(self, rec):
        """A per-column anchor ran ``k`` of ``s`` columns: its times scaled to all of them."""
        if rec.status == "ok":
            rec["time_s"] *= self.scale
            rec["extra"]["min_s"] *= self.scale
            rec["extra"]["cpu_s"] *= self.scale
            rec["note"] = self.note_scaled


KNN_DIMENSIONS = 32
KNN_ALPHA = 0.9


def make_knn_system(n, s, seed=0):
    """kNN (k = N_NEIGHBORS) hypergraph of n clustered float32 points in KNN_DIMENSIONS
    dimensions (``Hypergraph.from_knn``, its default dtype), and s sparse 0/1 columns."""
    from hyperlearn.hypergraph import Hypergraph

    rng = np.random.default_rng(seed)
    centres = 3 * rng.standard_normal((max(10, n // 500), KNN_DIMENSIONS))
    labels = rng.integers(centres.shape[0], size=n)
    X = (centres[labels] + rng.standard_normal((n, KNN_DIMENSIONS))).astype(np.float32)
    hg = Hypergraph.from_knn(X, N_NEIGHBORS)
    Y = (rng.random((n, s)) < 0.05).astype(np.float64)
    return hg, Y


def _knn_case(n, s, max_columns, bandwidth):
    """block_cg against the per-column loops on the kNN system, on the run's Numba threads and
    on one (the thread setting decides the ratio on a machine shared with other work)."""
    t0 = time.perf_counter()
    hg, Y = make_knn_system(n, s)
    theta = hg.normalized_adjacency()
    theta.matmat(np.ones((n, 2), dtype=theta.dtype))  # compile outside the timings
    setup_s = time.perf_counter() - t0
    op = ShiftedOperator(theta, KNN_ALPHA)
    params = {"n": n, "s": s, "alpha": KNN_ALPHA, "rtol": RTOL, "d": KNN_DIMENSIONS,
              "dtype_theta": str(theta.dtype), "nnz_H": hg.incidence.nnz}  # fmt: skip
    case = _Case(f"knn n={n} s={s} d={KNN_DIMENSIONS} alpha={KNN_ALPHA}", params, op,
                 MemoryError("not built"), (1 - KNN_ALPHA) * Y, min(s, max_columns), bandwidth,
                 setup_s)  # fmt: skip
    out = _block_cg_rows(case)
    out.append(_mixed_row(case))
    out.append(_column_loop_row(case, "cg per column", _ours_column(op)))
    out.append(_column_loop_row(case, "scipy cg per column", _scipy_column(op)))
    with _one_numba_thread():
        rec = case.bench("block_cg [1 thread]", case.counted("block_cg1", lambda: _run_block(case)))
        _annotate(rec, case.stats.get("block_cg1"), s)
        out.append(rec)
        out.append(_column_loop_row(case, "scipy cg per column [1 thread]", _scipy_column(op)))
    return out


@contextmanager
def _one_numba_thread():
    import numba

    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


def _run_case(case):
    """Every implementation on one case, ours first, then the anchors and the floor."""
    out = _block_cg_rows(case)
    out.append(_mixed_row(case))
    out.append(_jacobi_row(case))
    out.append(_column_loop_row(case, "cg per column", _ours_column(case.op)))
    out.append(_column_loop_row(case, "scipy cg per column", _scipy_column(case.op)))
    if isinstance(case.explicit, MemoryError):
        reason = f"explicit Θ: {case.explicit}"
        out.append(skipped(SUITE, case.name, "scipy cg explicit", reason, case.params))
    else:
        out.append(_column_loop_row(case, "scipy cg explicit", _scipy_column(case.explicit)))
    out.append(_pyamg(case))
    out.append(_blr(case))
    out.append(_float32_block_cg(case))
    out.append(_float32_scipy(case))
    floor = _floor_row(case)
    out.append(floor)
    _per_iteration_over_floor(out, floor["extra"]["floor_per_iteration_s"])
    return out


def _run_block(case, M=None, method="auto"):
    from hyperlearn.linalg import block_cg

    history = []
    X, info = block_cg(case.op, case.B, rtol=RTOL, M=M, residuals=history, method=method)
    return X, {"iterations": len(history) - 1, "info": info}


def _auto_method(case):
    from hyperlearn.linalg._cg import _choose_method

    return _choose_method(case.n, case.s, None)


def _block_cg_rows(case):
    """block_cg with method="auto" and, for several columns, with the other method."""
    auto = _auto_method(case)
    fn = case.counted("block_cg", lambda: _run_block(case))
    rec = case.bench("block_cg", fn)
    _annotate(rec, case.stats.get("block_cg"), case.s,
              extra={"setup_s": case.setup_s, "method": auto})  # fmt: skip
    out = [rec]
    if case.s > 1:
        other = "block" if auto == "batched" else "batched"
        impl = f"block_cg[{other}]"
        rec = case.bench(impl, case.counted(impl, lambda: _run_block(case, method=other)))
        _annotate(rec, case.stats.get(impl), case.s, extra={"method": other})
        out.append(rec)
    return out


def _jacobi_row(case):
    from hyperlearn.linalg import jacobi_preconditioner

    M = jacobi_preconditioner(case.op)
    rec = case.bench("block_cg+jacobi", case.counted("jacobi", lambda: _run_block(case, M)))
    _annotate(rec, case.stats.get("jacobi"), case.s)
    return rec


def _ours_column(op):
    from hyperlearn.linalg import cg

    def solve(b):
        history = []
        x, _info = cg(op, b, rtol=RTOL, residuals=history)
        return x, len(history) - 1

    return solve


def _scipy_column(A):
    def solve(b):
        count = [0]

        def callback(_):
            count[0] += 1

        x, _info = scipy_cg(A, b, rtol=RTOL, callback=callback)
        return x, count[0]

    return solve


def _column_loop_row(case, name, solve):
    """A per-column solver on the first ``k`` columns, its time scaled to all ``s``."""

    def run_loop():
        X, its = _column_loop(solve, case.B, case.k)
        return X, {"iterations_per_column": its}

    rec = case.bench(name, case.counted(name, run_loop))
    info = case.stats.get(name)
    case.scale_time(rec)
    if info is not None:
        its = info.pop("iterations_per_column")
        info["iterations"] = int(np.sum(its) * case.scale)
        info["max_iterations_per_column"] = int(np.max(its))
        info["mean_iterations_per_column"] = float(np.mean(its))
        if name == "scipy cg explicit":
            info["products"] = None  # the explicit matrix is not the counting operator
        else:
            info["products"] = int(info["products"] * case.scale)
    _annotate(rec, info, case.s)
    return rec


def _floor_row(case):
    """Modelled floor: per iteration one product (measured) plus VECTOR_PASSES passes over
    the n x m blocks at the measured copy bandwidth, times block_cg's iterations."""
    from hyperlearn.linalg._cg_block import DEFAULT_BLOCK_SIZE
    from hyperlearn.linalg._cg_lockstep import DEFAULT_BATCHED_WIDTH

    n, s, op = case.n, case.s, case.op
    width = DEFAULT_BATCHED_WIDTH if _auto_method(case) == "batched" else DEFAULT_BLOCK_SIZE
    chunks = -(-s // width)
    m = -(-s // chunks)  # block_cg's (balanced) chunk width
    P = np.random.default_rng(0).standard_normal((n, m))
    product = bench(SUITE, case.name, "_product", lambda: op.matmat(P), repeats=5, warmup=1)
    vector_s = VECTOR_PASSES * 8 * n * m / (case.bandwidth * 1e9)
    floor_per_iteration = product.time_s + vector_s
    floor_iterations = case.stats["block_cg"]["iterations"]  # block_cg's (all chunks)
    return bound(SUITE, case.name, "floor (block_cg its)", floor_per_iteration * floor_iterations,
                 params=case.params,
                 note=f"{floor_iterations} its x (A·P with {m} cols {product.time_s:.2e}s + "
                      f"{VECTOR_PASSES} passes of n x {m} at {case.bandwidth:.1f} GB/s)",
                 extra={"floor_per_iteration_s": floor_per_iteration, "product_s": product.time_s,
                        "vector_s": vector_s, "chunks": chunks})  # fmt: skip


def _per_iteration_over_floor(out, floor_per_iteration):
    for rec in out:
        if (
            rec.impl.startswith("block_cg")
            and "mixed" not in rec.impl  # float32 iterations: the float64 floor does not apply
            and rec.status == "ok"
            and rec.extra.get("iterations")
        ):
            per_iteration = rec.time_s / rec.extra["iterations"]
            rec["extra"]["per_iteration_s"] = per_iteration
            rec["extra"]["per_iteration_over_floor"] = per_iteration / floor_per_iteration


def _mixed_row(case):
    """block_cg(precision="mixed"): float32 iterations, float64 reliable updates, same rtol;
    float32 and float64 products counted apart, true float64 residual beside the time."""
    from hyperlearn.linalg import block_cg

    op, stats = case.op, {}

    def run():
        op.products = op.float32_products = 0
        history = []
        X, info = block_cg(op, case.B, rtol=RTOL, residuals=history, precision="mixed")
        counters = [op] if op.cast is None else [op, op.cast]
        total = sum(c.products for c in counters)
        float32 = sum(c.float32_products for c in counters)
        stats.update(
            iterations=len(history) - 1,
            info=info,
            products_float32=float32,
            products_float64=total - float32,
        )
        return X

    rec = case.bench("block_cg mixed", run, params={**case.params, "precision": "mixed"})
    total = stats.get("products_float32", 0) + stats.get("products_float64", 0)
    _annotate(rec, {**stats, "products": total}, case.s)
    return rec


def _float32_system(case):
    """The float32 operator and right-hand sides, the float32 params, and the accuracy of a
    float32 solution: its true relative residual against the float64 system (built once)."""
    if case.float32 is not None:
        return case.float32
    op, B = case.op, case.B
    hg32 = op.theta.hypergraph.astype(np.float32)
    op32 = ShiftedOperator(hg32.normalized_adjacency(), op.alpha)
    params = {**case.params, "dtype": "float32", "rtol": RTOL_FLOAT32}

    def accuracy(X):
        cols = X.shape[1]
        return {"max_true_rel_residual": _true_relative_residual(op, B[:, :cols], X.astype(float))}

    case.float32 = (op32, B.astype(np.float32), params, accuracy)
    return case.float32


def _float32_block_cg(case):
    """block_cg on the float32 operator, rtol ``RTOL_FLOAT32``."""
    from hyperlearn.linalg import block_cg

    op32, B32, params, accuracy = _float32_system(case)
    stats = {}

    def ours():
        history = []
        X, info = block_cg(op32, B32, rtol=RTOL_FLOAT32, residuals=history)
        stats.update(iterations=len(history) - 1, info=info)
        return X

    rec = case.bench("block_cg float32", ours, params=params, accuracy=accuracy)
    _annotate(rec, stats or None, case.s)
    return rec


def _float32_scipy(case):
    """SciPy cg per column on the float32 operator, rtol ``RTOL_FLOAT32``."""
    op32, B32, params, accuracy = _float32_system(case)

    def scipy_loop():
        X = np.empty((case.n, case.k), dtype=np.float32)
        for j in range(case.k):
            X[:, j], _ = scipy_cg(op32, np.ascontiguousarray(B32[:, j]), rtol=RTOL_FLOAT32)
        return X

    rec = case.bench("scipy cg per column float32", scipy_loop, params=params, accuracy=accuracy)
    case.scale_time(rec)
    return rec


# Tessellation of Θ for the block-low-rank preconditioner: blocks of ~BLR_BLOCK vertices,
# rank BLR_RANK per block (randomized Nyström, RCM ordering on the incidence pattern).
BLR_BLOCK = 1000
BLR_RANK = 60


def _blr(case):
    from hyperlearn.linalg import tessellate

    impl = "block_cg+blr"
    op, n = case.op, case.n
    t0 = time.perf_counter()
    try:
        blr = tessellate(op.theta, max(1, n // BLR_BLOCK), BLR_RANK, random_state=0)
        M = blr.preconditioner(op.alpha)
    except Exception as exc:  # work in progress upstream: report, do not abort the suite
        reason = f"tessellate failed: {type(exc).__name__}: {exc}"
        return skipped(SUITE, case.name, impl, reason, case.params)
    setup_s = time.perf_counter() - t0
    rec = case.bench(impl, case.counted(impl, lambda: _run_block(case, M)))
    _annotate(rec, case.stats.get(impl), case.s, extra={"tessellate_s": setup_s})
    rec["note"] = f"tessellate({max(1, n // BLR_BLOCK)} blocks, rank {BLR_RANK}) not timed"
    return rec


def _annotate(rec, info, s, extra=None):
    if rec.status != "ok" or info is None:
        return
    rec["extra"].update(info)
    if info.get("products") is not None:
        rec["extra"]["products_per_column"] = info["products"] / s
    rec["extra"].update(extra or {})


def _pyamg(case):
    impl = "pyamg sa+cg"
    try:
        import pyamg
    except ImportError:
        return skipped(SUITE, case.name, impl, "pyamg not installed (optional)", case.params)
    explicit, B = case.explicit, case.B
    if isinstance(explicit, MemoryError):
        reason = f"needs the explicit matrix: {explicit}"
        return skipped(SUITE, case.name, impl, reason, case.params)

    def run():
        ml = pyamg.smoothed_aggregation_solver(explicit, symmetry="hermitian")
        X = np.empty((case.n, case.k))
        for j in range(case.k):
            X[:, j] = ml.solve(B[:, j], tol=RTOL, accel="cg")
        return X

    try:
        rec = case.bench(impl, run)
    except SkipBenchmark as exc:
        return skipped(SUITE, case.name, impl, str(exc), case.params)
    if rec.status == "ok":
        case.scale_time(rec)
        rec["note"] = ("setup included; " + case.note_scaled).strip("; ")
    return rec


__all__ = ["QUICK_SIZES", "SIZES", "Record", "run"]

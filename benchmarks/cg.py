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
``20000x50``) runs only that s.  Per-column anchors are run on at most
``MAX_COLUMNS_PER_COLUMN_LOOP`` columns and their time (wall and CPU) scaled to all s columns
(noted).  On a machine shared with other work, compare the ``cpu_s`` column with
``--numba-threads 1``: wall times of parallel kernels there wait for a busy core.
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import cg as scipy_cg

from hyperlearn.linalg._shifted import ShiftedOperator as _Shifted

from ._harness import Record, SkipBenchmark, bench, bound, copy_bandwidth_gbs, skipped

SUITE = "cg"
SIZES = [20_000, 200_000]
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

    ``astype`` returns a counting copy too, kept as ``self.cast`` (block_cg's
    ``precision="mixed"`` makes one per solve), so that the float32 products of a mixed solve
    are counted apart from the float64 ones.
    """

    def __init__(self, theta, alpha):
        super().__init__(theta, alpha)
        self.products = 0
        self.cast = None

    def astype(self, dtype):
        cast = super().astype(dtype)
        if cast is self:
            return self
        self.cast = ShiftedOperator(cast.theta, cast.alpha)
        return self.cast

    def _matvec(self, x):
        self.products += 1
        return super()._matvec(x)

    def _matmat(self, X):
        self.products += X.shape[1]
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
        else:
            raise ValueError(
                f"unknown cg size {size!r}: expected n (s = {', '.join(map(str, N_RHS))} "
                "right-hand sides) or NxS, e.g. 20000 or 20000x50"
            )


def run(sizes, *, quick=False):
    from hyperlearn.linalg import block_cg, cg, jacobi_preconditioner

    records = []
    repeats = 1
    max_columns = QUICK_MAX_COLUMNS_PER_COLUMN_LOOP if quick else MAX_COLUMNS_PER_COLUMN_LOOP
    bandwidth = copy_bandwidth_gbs()
    for n, rhs_counts in _cases(sizes):
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
                case = f"n={n} s={s} alpha={alpha}"
                params = {"n": n, "s": s, "alpha": alpha, "rtol": RTOL, "nnz_H": hg.incidence.nnz}
                B = (1 - alpha) * Y[:, :s].toarray()
                k = min(s, max_columns)
                scale = s / k
                note_scaled = f"ran {k} of {s} columns, time scaled by {scale:g}" if k < s else ""
                records += _run_case(
                    case, params, op, explicit, B, k, scale, note_scaled, repeats, bandwidth,
                    block_cg, cg, jacobi_preconditioner, setup_s,
                )  # fmt: skip
    return records


def _run_case(case, params, op, explicit, B, k, scale, note_scaled, repeats, bandwidth,
              block_cg, cg, jacobi_preconditioner, setup_s):  # fmt: skip
    n, s = B.shape
    out = []
    stats = {}

    def counted(name, fn):
        """Wrap fn so that its products and iterations of the LAST call are recorded."""

        def wrapped():
            op.products = 0
            result = fn()
            stats[name] = {"products": op.products, **result[1]}
            return result[0]

        return wrapped

    def accuracy(X):
        cols = X.shape[1]
        return {"max_true_rel_residual": _true_relative_residual(op, B[:, :cols], X)}

    # -- ours: block_cg (method="auto") and each method -------------------------------------
    from hyperlearn.linalg._cg import _choose_method

    auto_method = _choose_method(n, s, None)

    def run_block(M=None, method="auto"):
        history = []
        X, info = block_cg(op, B, rtol=RTOL, M=M, residuals=history, method=method)
        return X, {"iterations": len(history) - 1, "info": info}

    rec = bench(SUITE, case, "block_cg", counted("block_cg", run_block), params=params,
                accuracy=accuracy, repeats=repeats, warmup=1)  # fmt: skip
    _annotate(rec, stats.get("block_cg"), s, extra={"setup_s": setup_s, "method": auto_method})
    out.append(rec)
    block_iterations = stats["block_cg"]["iterations"]
    if s > 1:
        other = "block" if auto_method == "batched" else "batched"
        impl = f"block_cg[{other}]"
        rec = bench(SUITE, case, impl, counted(impl, lambda: run_block(method=other)),
                    params=params, accuracy=accuracy, repeats=repeats, warmup=1)  # fmt: skip
        _annotate(rec, stats.get(impl), s, extra={"method": other})
        out.append(rec)

    out.append(_mixed_row(case, params, op, B, repeats, accuracy, block_cg))

    M = jacobi_preconditioner(op)
    rec = bench(SUITE, case, "block_cg+jacobi", counted("jacobi", lambda: run_block(M)),
                params=params, accuracy=accuracy, repeats=repeats, warmup=1)  # fmt: skip
    _annotate(rec, stats.get("jacobi"), s)
    out.append(rec)

    # -- per-column loops: ours and SciPy on the same operator ----------------------------
    def ours_column(b):
        history = []
        x, _info = cg(op, b, rtol=RTOL, residuals=history)
        return x, len(history) - 1

    def scipy_column(A):
        def solve(b):
            count = [0]

            def callback(_):
                count[0] += 1

            x, _info = scipy_cg(A, b, rtol=RTOL, callback=callback)
            return x, count[0]

        return solve

    loops = [("cg per column", ours_column), ("scipy cg per column", scipy_column(op))]
    if isinstance(explicit, MemoryError):
        out.append(skipped(SUITE, case, "scipy cg explicit", f"explicit Θ: {explicit}", params))
    else:
        loops.append(("scipy cg explicit", scipy_column(explicit)))
    for name, solve in loops:

        def run_loop(solve=solve):
            X, its = _column_loop(solve, B, k)
            return X, {"iterations_per_column": its}

        rec = bench(SUITE, case, name, counted(name, run_loop), params=params,
                    accuracy=accuracy, repeats=repeats, warmup=1)  # fmt: skip
        info = stats.get(name)
        if rec.status == "ok":
            rec["time_s"] *= scale
            rec["extra"]["min_s"] *= scale
            rec["extra"]["cpu_s"] *= scale
            rec["note"] = note_scaled
        if info is not None:
            its = info.pop("iterations_per_column")
            info["iterations"] = int(np.sum(its) * scale)
            info["max_iterations_per_column"] = int(np.max(its))
            info["mean_iterations_per_column"] = float(np.mean(its))
            if name == "scipy cg explicit":
                info["products"] = None  # the explicit matrix is not the counting operator
            else:
                info["products"] = int(info["products"] * scale)
        _annotate(rec, info, s)
        out.append(rec)

    # -- pyamg (optional) -----------------------------------------------------------------
    out.append(_pyamg(case, params, explicit, B, k, scale, note_scaled, repeats, accuracy))

    # -- ours with the block-low-rank (tessellation) preconditioner -----------------------
    out.append(_blr(case, params, op, B, repeats, accuracy, counted, run_block, stats, s))

    # -- float32: the same system in single precision (ours and SciPy per column) ------------
    out += _float32_rows(case, params, op, B, k, scale, note_scaled, repeats, block_cg)

    # -- modelled floor per iteration ---------------------------------------------------------
    from hyperlearn.linalg._cg import DEFAULT_BATCHED_WIDTH, DEFAULT_BLOCK_SIZE

    width = DEFAULT_BATCHED_WIDTH if auto_method == "batched" else DEFAULT_BLOCK_SIZE
    chunks = -(-s // width)
    m = -(-s // chunks)  # block_cg's (balanced) chunk width
    P = np.random.default_rng(0).standard_normal((n, m))
    product = bench(SUITE, case, "_product", lambda: op.matmat(P), repeats=5, warmup=1)
    vector_s = VECTOR_PASSES * 8 * n * m / (bandwidth * 1e9)
    floor_per_iteration = product.time_s + vector_s
    floor_iterations = block_iterations  # block_cg's iterations (all chunks)
    out.append(
        bound(SUITE, case, "floor (block_cg its)", floor_per_iteration * floor_iterations,
              params=params,
              note=f"{floor_iterations} its x (A·P with {m} cols {product.time_s:.2e}s + "
                   f"{VECTOR_PASSES} passes of n x {m} at {bandwidth:.1f} GB/s)",
              extra={"floor_per_iteration_s": floor_per_iteration, "product_s": product.time_s,
                     "vector_s": vector_s, "chunks": chunks})
    )  # fmt: skip
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
    return out


def _mixed_row(case, params, op, B, repeats, accuracy, block_cg):
    """block_cg(precision="mixed"): float32 iterations, float64 reliable updates, same rtol;
    float32 and float64 products counted apart, true float64 residual beside the time."""
    stats = {}

    def run():
        op.products = 0
        history = []
        X, info = block_cg(op, B, rtol=RTOL, residuals=history, precision="mixed")
        stats.update(
            iterations=len(history) - 1,
            info=info,
            products_float32=op.cast.products if op.cast is not None else 0,
            products_float64=op.products,
        )
        return X

    rec = bench(SUITE, case, "block_cg mixed", run, params={**params, "precision": "mixed"},
                accuracy=accuracy, repeats=repeats, warmup=1)  # fmt: skip
    total = stats.get("products_float32", 0) + stats.get("products_float64", 0)
    _annotate(rec, {**stats, "products": total}, B.shape[1])
    return rec


def _float32_rows(case, params, op, B, k, scale, note_scaled, repeats, block_cg):
    """block_cg and SciPy cg per column on the float32 operator, rtol ``RTOL_FLOAT32``.

    Accuracy: the true relative residual of the float32 solution against the float64
    system (what a user of the float32 result gets)."""
    hg32 = op.theta.hypergraph.astype(np.float32)
    op32 = ShiftedOperator(hg32.normalized_adjacency(), op.alpha)
    B32 = B.astype(np.float32)
    params = {**params, "dtype": "float32", "rtol": RTOL_FLOAT32}

    def accuracy(X):
        cols = X.shape[1]
        return {"max_true_rel_residual": _true_relative_residual(op, B[:, :cols], X.astype(float))}

    out = []

    def ours():
        history = []
        X, info = block_cg(op32, B32, rtol=RTOL_FLOAT32, residuals=history)
        ours.stats = {"iterations": len(history) - 1, "info": info}
        return X

    rec = bench(SUITE, case, "block_cg float32", ours, params=params, accuracy=accuracy,
                repeats=repeats, warmup=1)  # fmt: skip
    _annotate(rec, getattr(ours, "stats", None), B.shape[1])
    out.append(rec)

    def scipy_loop():
        X = np.empty((B.shape[0], k), dtype=np.float32)
        for j in range(k):
            X[:, j], _ = scipy_cg(op32, np.ascontiguousarray(B32[:, j]), rtol=RTOL_FLOAT32)
        return X

    rec = bench(SUITE, case, "scipy cg per column float32", scipy_loop, params=params,
                accuracy=accuracy, repeats=repeats, warmup=1)  # fmt: skip
    if rec.status == "ok":
        rec["time_s"] *= scale
        rec["extra"]["min_s"] *= scale
        rec["extra"]["cpu_s"] *= scale
        rec["note"] = note_scaled
    out.append(rec)
    return out


# Tessellation of Θ for the block-low-rank preconditioner: blocks of ~BLR_BLOCK vertices,
# rank BLR_RANK per block (randomized Nyström, RCM ordering on the incidence pattern).
BLR_BLOCK = 1000
BLR_RANK = 60


def _blr(case, params, op, B, repeats, accuracy, counted, run_block, stats, s):
    from hyperlearn.linalg import tessellate

    impl = "block_cg+blr"
    n = B.shape[0]
    t0 = time.perf_counter()
    try:
        blr = tessellate(op.theta, max(1, n // BLR_BLOCK), BLR_RANK, random_state=0)
        M = blr.preconditioner(op.alpha)
    except Exception as exc:  # work in progress upstream: report, do not abort the suite
        return skipped(SUITE, case, impl, f"tessellate failed: {type(exc).__name__}: {exc}", params)
    setup_s = time.perf_counter() - t0
    rec = bench(SUITE, case, impl, counted(impl, lambda: run_block(M)), params=params,
                accuracy=accuracy, repeats=repeats, warmup=1)  # fmt: skip
    _annotate(rec, stats.get(impl), s, extra={"tessellate_s": setup_s})
    rec["note"] = f"tessellate({max(1, n // BLR_BLOCK)} blocks, rank {BLR_RANK}) not timed"
    return rec


def _annotate(rec, info, s, extra=None):
    if rec.status != "ok" or info is None:
        return
    rec["extra"].update(info)
    if info.get("products") is not None:
        rec["extra"]["products_per_column"] = info["products"] / s
    rec["extra"].update(extra or {})


def _pyamg(case, params, explicit, B, k, scale, note_scaled, repeats, accuracy):
    try:
        import pyamg
    except ImportError:
        return skipped(SUITE, case, "pyamg sa+cg", "pyamg not installed (optional)", params)
    if isinstance(explicit, MemoryError):
        return skipped(SUITE, case, "pyamg sa+cg", f"needs the explicit matrix: {explicit}", params)

    def run():
        ml = pyamg.smoothed_aggregation_solver(explicit, symmetry="hermitian")
        X = np.empty((B.shape[0], k))
        for j in range(k):
            X[:, j] = ml.solve(B[:, j], tol=RTOL, accel="cg")
        return X

    try:
        rec = bench(SUITE, case, "pyamg sa+cg", run, params=params, accuracy=accuracy,
                    repeats=repeats, warmup=1)  # fmt: skip
    except SkipBenchmark as exc:
        return skipped(SUITE, case, "pyamg sa+cg", str(exc), params)
    if rec.status == "ok":
        rec["time_s"] *= scale
        rec["extra"]["min_s"] *= scale
        rec["extra"]["cpu_s"] *= scale
        rec["note"] = ("setup included; " + note_scaled).strip("; ")
    return rec


__all__ = ["QUICK_SIZES", "SIZES", "Record", "run"]

"""Thread control for Numba kernels and BLAS.

Numba is imported only when a thread limit is actually set, so importing this module is cheap.
"""

from __future__ import annotations

import numbers
import os
from contextlib import contextmanager

__all__ = ["configure_openmp", "effective_n_jobs", "serial_below", "thread_limits", "warm_up"]

#: Below this many gathered entries (nnz × columns, about 3 ms of serial work) a kernel runs on
#: one thread.  On an idle machine a parallel region costs a wake-up of microseconds, but on an
#: oversubscribed one the region waits for its slowest thread to get a scheduler timeslice
#: (milliseconds): measured on the shared 2-core box (load average 7), Θx at nnz(H) = 760 000
#: took 13.7 ms wall on 2 threads against 6.5 ms on one.  Products above this size (Θ·X with
#: many columns, large n) amortise the wait and run in parallel.
PARALLEL_MIN_WORK = 1_000_000


def configure_openmp():
    """Make OpenMP worker threads sleep instead of spin between parallel regions.

    Sets ``OMP_WAIT_POLICY=PASSIVE`` unless the user has set it; it takes effect only if the
    OpenMP runtime used by Numba has not started yet, so call this before the first parallel
    kernel runs (``hyperlearn.hypergraph._kernels`` does it on import).  Why: with the default
    (spinning) policy, on a 2-core machine shared with other processes, a 2-thread Θx was
    measured 15x slower than on one thread (median 36 ms vs 2.4 ms, n = 50 000, nnz(H) = 550 000)
    because the spinning worker took the CPU the other thread needed; with PASSIVE it was
    4.6 ms.  On an idle machine the cost is a futex wake-up (microseconds) per parallel region.

    SciPy BLAS/LAPACK "slow after a Numba region" (reported 15 ms vs 19 µs for an axpy) was
    reproduced, but Numba is not its cause: it is OpenBLAS running 2 threads on a 2-core
    machine shared with other processes (load average 6-9): a threaded BLAS call waits until
    its worker thread gets a timeslice.  Fresh processes, medians (OpenBLAS 0.3.30/0.3.31,
    pthreads; Numba 0.68 OpenMP layer, libgomp):

    ================================ ============= ============ ============ ===========
    configuration                    daxpy n=10⁶   dgemm 300²   eigh 200²    daxpy n=10⁴
    ================================ ============= ============ ============ ===========
    2 BLAS threads, before any Numba 20-28 ms      44-58 ms     55-141 ms    2-3 µs
    same, after Numba, PASSIVE       0.1-28 ms     9-55 ms      76-342 ms    2-3 µs
    same, after Numba, ACTIVE        0.1-36 ms     68-80 ms     160-1150 ms  2-3 µs
    same, workqueue threading layer  0.2-28 ms     1-60 ms      111-140 ms   2-3 µs
    1 BLAS thread (threadpoolctl)    0.3-0.6 ms    1.4-1.7 ms   9-16 ms      2 µs
    ================================ ============= ============ ============ ===========

    So: neither the threading layer nor the wait policy cures it (ACTIVE makes it worse, which
    is why this function sets PASSIVE), and BLAS calls too small for OpenBLAS to thread are
    unaffected.  The cure is one BLAS thread on an oversubscribed machine:
    ``thread_limits(1)`` (or ``threadpoolctl.threadpool_limits(1)``) around the BLAS work.  A
    library must not change the process-wide BLAS setting on import, so nothing here does it
    (``tests/hyperlearn/hypergraph/test_locality.py`` checks both the policy and that).
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@contextmanager
def serial_below(work, threshold=None):
    """Run the enclosed Numba kernels on one thread when ``work < threshold``.

    ``threshold=None`` reads :data:`PARALLEL_MIN_WORK` at call time.  ``numba.set_num_threads``
    is thread-local and cheap; the previous count is restored.
    """
    if threshold is None:
        threshold = PARALLEL_MIN_WORK
    if work >= threshold:
        yield
        return
    import numba

    previous = numba.get_num_threads()
    if previous == 1:
        yield
        return
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


def effective_n_jobs(n_jobs):
    """Resolve an ``n_jobs`` argument to a positive thread count.

    Parameters
    ----------
    n_jobs : int or None
        ``None`` means "leave the current setting"; it resolves to the current Numba thread count.
        A positive integer is used as given (capped at the number of CPUs); ``-1`` means all CPUs,
        ``-2`` all but one, and so on (the joblib convention).

    Returns
    -------
    int
        Number of threads, at least 1.

    Raises
    ------
    ValueError
        If ``n_jobs`` is 0 or not an integer.
    """
    n_cpus = os.cpu_count() or 1
    if n_jobs is None:
        import numba

        return int(numba.get_num_threads())
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral):
        raise ValueError(f"n_jobs={n_jobs!r} is invalid: expected None or a non-zero integer.")
    n_jobs = int(n_jobs)
    if n_jobs == 0:
        raise ValueError(
            "n_jobs=0 is invalid: expected None, a positive integer, or -1 (all CPUs)."
        )
    if n_jobs < 0:
        return max(1, n_cpus + 1 + n_jobs)
    return min(n_jobs, n_cpus)


@contextmanager
def thread_limits(n_jobs=None):
    """Limit Numba and BLAS threads inside a ``with`` block.

    Numba kernels and BLAS calls in this package never run at the same time, so both pools are
    set to the same count: running them side by side is what would oversubscribe the CPUs.
    Settings are restored in ``finally``, also when the block raises.

    Parameters
    ----------
    n_jobs : int or None, default=None
        Number of threads (see :func:`effective_n_jobs`). ``None`` changes nothing.

    Yields
    ------
    int
        The number of threads in effect inside the block.

    Examples
    --------
    >>> from hyperlearn.utils import thread_limits
    >>> with thread_limits(1) as n:
    ...     n
    1
    """
    if n_jobs is None:
        import numba

        yield int(numba.get_num_threads())
        return

    import numba
    from threadpoolctl import threadpool_limits

    n_threads = effective_n_jobs(n_jobs)
    # Numba refuses more threads than its pool was started with.
    n_threads = min(n_threads, int(numba.config.NUMBA_NUM_THREADS))
    previous = numba.get_num_threads()
    numba.set_num_threads(n_threads)
    try:
        with threadpool_limits(limits=n_threads):
            yield n_threads
    finally:
        numba.set_num_threads(previous)


def warm_up(dtypes=("float64", "float32")):
    """Compile (or load from the on-disk cache) the hypergraph and CG kernels now.

    The first call of each Numba kernel in a process compiles it or loads it from the cache
    (about a second in all); call this before timing anything, or at start-up of a service.

    Parameters
    ----------
    dtypes : sequence of {"float64", "float32"}
        Dtypes of the hypergraphs and vectors to prepare for.

    Returns
    -------
    float
        Seconds spent.

    Examples
    --------
    >>> from hyperlearn.utils import warm_up
    >>> warm_up(["float64"]) >= 0
    True
    """
    import time

    import numpy as np

    from ..hypergraph import Hypergraph, kneighbors
    from ..linalg import block_cg

    start = time.perf_counter()
    rng = np.random.default_rng(0)
    points = rng.standard_normal((12, 3))
    for metric in ("euclidean", "cosine"):
        kneighbors(points, 2, metric=metric, screen=None)
        # the float32 screening kernels, serial and with per-worker lists (compiling them on a
        # cold cache takes about 10 s: it must not land inside the first timed fit)
        kneighbors(points, 2, metric=metric, screen="float32")
        kneighbors(points, 2, metric=metric, screen="float32", n_jobs=2, block_size=4)
    for dtype in dtypes:
        dtype = np.dtype(dtype).type
        binary = Hypergraph.from_knn(points.astype(dtype), 2)
        weighted = Hypergraph.from_incidence(binary.incidence * dtype(0.5))
        for hg in (binary, weighted):
            op = hg.normalized_adjacency()
            op.matvec(np.ones(hg.n_vertices, dtype=dtype))
            op.matmat(np.ones((hg.n_vertices, 2), dtype=dtype))
            hg.edge_statistics(np.ones((hg.n_vertices, 2), dtype=dtype))
        # the fused updates of block_cg's lockstep method (hyperlearn.linalg._cg_kernels)
        rhs = np.ones((points.shape[0], 2), dtype=dtype)
        block_cg(np.eye(points.shape[0], dtype=dtype), rhs, method="batched")
    return time.perf_counter() - start

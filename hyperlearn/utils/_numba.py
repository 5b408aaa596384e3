"""Thread control for Numba kernels and BLAS.

Numba is imported only when a thread limit is actually set, so importing this module is cheap.
"""

from __future__ import annotations

import os
from contextlib import contextmanager

from ._validation import check_int

__all__ = ["configure_openmp", "effective_n_jobs", "serial_below", "thread_limits"]

#: Below this many gathered entries (nnz × columns, a few ms of serial work) a kernel runs on one
#: thread: on an oversubscribed machine a parallel region waits for its slowest thread's
#: timeslice.  See benchmarks/TUNING.md.
PARALLEL_MIN_WORK = 1_000_000


def configure_openmp():
    """Make OpenMP worker threads sleep instead of spin between parallel regions.

    Sets ``OMP_WAIT_POLICY=PASSIVE`` unless the user has set it; it takes effect only if the
    OpenMP runtime used by Numba has not started yet, so call this before the first parallel
    kernel runs (``hyperlearn.hypergraph._kernels`` does it on import).  With the default
    (spinning) policy, on a machine shared with other processes, a spinning worker takes the CPU
    that the other threads need; on an idle machine the cost of PASSIVE is a futex wake-up
    (microseconds) per parallel region.

    BLAS calls that OpenBLAS threads can be slow on an oversubscribed machine whatever the wait
    policy or Numba's threading layer: a threaded BLAS call waits until its worker thread gets
    a timeslice.  The cure is one BLAS thread there: ``thread_limits(1)`` (or
    ``threadpoolctl.threadpool_limits(1)``) around the BLAS work.  A library must not change the
    process-wide BLAS setting on import, so nothing here does it
    (``tests/hyperlearn/hypergraph/test_locality.py`` checks both the policy and that).  The
    measurements behind both rules are in benchmarks/TUNING.md (section Threads).
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
    TypeError
        If ``n_jobs`` is not an integer (nor None).
    ValueError
        If ``n_jobs`` is 0.
    """
    n_cpus = os.cpu_count() or 1
    if n_jobs is None:
        import numba

        return int(numba.get_num_threads())
    n_jobs = check_int(n_jobs, "n_jobs")
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

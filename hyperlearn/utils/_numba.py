"""Thread control for Numba kernels and BLAS.

Numba is imported only when a thread limit is actually set, so importing this module is cheap.
"""

from __future__ import annotations

import numbers
import os
from contextlib import contextmanager

__all__ = ["effective_n_jobs", "thread_limits"]


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

"""The Dask client a distributed computation runs on: checks, worker lists, a managed cluster.

``client=None`` everywhere in :mod:`hyperlearn.distributed` means "start a ``LocalCluster`` for
this call (or this ``with`` block) and close it afterwards"; a user's :class:`distributed.Client`
is used as it is and never closed here.
"""

from __future__ import annotations

import contextlib

from ..utils._validation import check_choice, check_int, describe

__all__ = ["as_client", "check_client", "managed_client", "worker_addresses"]

#: How long a blocking wait for distributed results may take before it is reported as a
#: failure instead of hanging (seconds); every public function takes ``timeout=``.
DEFAULT_TIMEOUT = 600.0


def check_client(client, name="client"):
    """Return ``client`` if it is a running :class:`distributed.Client`, else raise.

    Raises
    ------
    TypeError
        Not a ``distributed.Client``.
    ValueError
        A client that is closed (or closing): it can run nothing.
    """
    from distributed import Client

    if not isinstance(client, Client):
        raise TypeError(f"{name}={describe(client)} is not valid: expected a distributed.Client.")
    status = getattr(client, "status", "unknown")
    if status != "running":
        raise ValueError(
            f"{name} is not running (status {status!r}): expected a connected "
            "distributed.Client; create a new one (a closed client cannot be reopened)."
        )
    return client


def worker_addresses(client):
    """Addresses of the client's workers, sorted (a stable order for placing blocks).

    Raises
    ------
    RuntimeError
        The cluster has no worker.
    """
    workers = sorted(client.scheduler_info(n_workers=-1)["workers"])
    if not workers:
        raise RuntimeError("the Dask cluster has no worker: start at least one.")
    return workers


@contextlib.contextmanager
def managed_client(client=None, *, n_workers=2, processes=False, threads_per_worker=1):
    """A running client: ``client`` itself, or a ``LocalCluster`` closed on exit.

    Parameters
    ----------
    client : distributed.Client or None
        A user's client, checked and yielded unchanged (not closed).  ``None`` starts a
        ``LocalCluster(n_workers, threads_per_worker, processes, dashboard_address=":0")``
        and closes it (and its client) when the block ends, also on error.  ``":0"`` puts
        the scheduler's HTTP server on a free port (with ``None`` it still binds the default
        port 8787 and warns when another cluster holds it).
    n_workers, threads_per_worker : int, default=2, 1
        Of the local cluster.
    processes : bool, default=False
        Worker processes (``True``) or threads of this process (``False``).  Worker
        processes are spawned: a script that asks for them must guard its entry point with
        ``if __name__ == "__main__":`` (Python's multiprocessing rule), or the workers fail
        to start.  Threads start in milliseconds and need no guard; the Numba kernels and
        BLAS release the GIL, so threads also run in parallel.

    Yields
    ------
    distributed.Client
    """
    if client is not None:
        yield check_client(client)
        return
    check_int(n_workers, "n_workers", low=1)
    check_int(threads_per_worker, "threads_per_worker", low=1)
    check_choice(processes, "processes", (True, False))
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=n_workers,
        threads_per_worker=threads_per_worker,
        processes=processes,
        dashboard_address=":0",
    )
    try:
        local = Client(cluster)
        try:
            yield local
        finally:
            local.close()
    finally:
        cluster.close()


def as_client(client):
    """``client`` checked, or ``None`` kept (the caller then uses :func:`managed_client`)."""
    return None if client is None else check_client(client)

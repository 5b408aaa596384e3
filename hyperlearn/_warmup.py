"""``hyperlearn.warm_up``: compile (or load from Numba's on-disk cache) every kernel now.

Each package that owns Numba kernels registers a private ``_warm_up(dtypes)`` in its
``__init__`` that runs each of its kernels once on a tiny input; this module, at the top of the
layers, calls them in turn.  The bottom layer (``hyperlearn.utils``) therefore imports nothing of
the package.
"""

from __future__ import annotations

import importlib
import time

from .utils._validation import check_float_dtype

__all__ = ["warm_up"]

#: Packages whose ``_warm_up(dtypes)`` compiles their kernels, in call order.
WARM_UP_PACKAGES = ("hyperlearn.hypergraph", "hyperlearn.linalg")


def warm_up(dtypes=("float64", "float32")):
    """Compile (or load from the on-disk cache) the hypergraph and CG kernels now.

    The first call of each Numba kernel in a process compiles it or loads it from Numba's cache;
    call this before timing anything, or at the start-up of a service, so that no first request
    pays for it.

    Parameters
    ----------
    dtypes : sequence of {"float64", "float32"}, default=("float64", "float32")
        Dtypes of the hypergraphs and vectors to prepare for.

    Returns
    -------
    float
        Seconds spent.

    Raises
    ------
    TypeError
        A dtype other than float32 or float64.

    Notes
    -----
    The packages called are those of ``WARM_UP_PACKAGES``: :mod:`hyperlearn.hypergraph` (exact
    kNN search with and without float32 screening, Θ products, edge statistics) and
    :mod:`hyperlearn.linalg` (the lockstep updates of ``block_cg``).

    Examples
    --------
    >>> from hyperlearn import warm_up
    >>> warm_up(["float64"]) >= 0
    True
    """
    if isinstance(dtypes, str):
        dtypes = (dtypes,)
    resolved = tuple(check_float_dtype(d, "dtypes") for d in dtypes)
    start = time.perf_counter()
    for name in WARM_UP_PACKAGES:
        importlib.import_module(name)._warm_up(resolved)
    return time.perf_counter() - start

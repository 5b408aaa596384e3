"""Approximate k nearest neighbours of a point set by NN-descent (the optional ``ann`` extra).

NN-descent [1]_ (through pynndescent) builds an approximate kNN graph in about
``O(n^1.14)`` distance evaluations instead of the ``n²`` of an exact search, in ``O(n k)``
memory.  Its candidates are then re-ranked here with exact distances, so every returned
distance is exact and each row is sorted by (distance, index) as in the exact search; only
the SET of neighbours may miss some true ones (recall below 1).

References
----------
.. [1] W. Dong, M. Charikar, K. Li, "Efficient k-nearest neighbor graph construction for generic
   similarity measures", WWW 2011.
"""

from __future__ import annotations

import importlib.util

import numpy as np

__all__ = ["ANN_MIN_SAMPLES", "approximate_kneighbors", "has_pynndescent", "resolve_method"]

KNN_METHODS = ("auto", "exact", "approximate")
#: ``method="auto"`` searches approximately from this many points (when pynndescent is
#: installed): there NN-descent wins even with its one-off compilation.  See benchmarks/TUNING.md.
ANN_MIN_SAMPLES = 100_000
#: NN-descent keeps ``k + ANN_EXTRA_CANDIDATES`` neighbours per point (besides the point), re-ranked
#: exactly down to ``k``: a few more candidates buy recall.  See benchmarks/TUNING.md.
ANN_EXTRA_CANDIDATES = 5


def has_pynndescent():
    """Whether pynndescent can be imported (without importing it)."""
    return importlib.util.find_spec("pynndescent") is not None


def resolve_method(method, n_samples):
    """``"exact"`` or ``"approximate"`` for ``method`` (already validated) and ``n_samples``.

    Raises
    ------
    ImportError
        ``method="approximate"`` without pynndescent.
    """
    if method == "approximate":
        _import_pynndescent()
        return method
    if method == "auto" and n_samples >= ANN_MIN_SAMPLES and has_pynndescent():
        return "approximate"
    return "exact"


def _import_pynndescent():
    try:
        import pynndescent
    except ImportError as exc:
        raise ImportError(
            "method='approximate' needs pynndescent, which is not installed: it is the optional "
            "'ann' extra (pip install 'hyperlearn[ann]', or pip install pynndescent)."
        ) from exc
    return pynndescent


def _seed(random_state):
    """An int seed (or None) for pynndescent from an int, a NumPy Generator/RandomState or None."""
    if random_state is None or isinstance(random_state, (int, np.integer)):
        return None if random_state is None else int(random_state)
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2**31 - 1))
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(2**31 - 1))
    raise TypeError(
        f"random_state={random_state!r} is not valid: expected None, an int, a "
        "numpy.random.Generator or a numpy.random.RandomState."
    )


def approximate_kneighbors(X, n_neighbors, *, cosine, random_state, n_threads):
    """Approximate ``n_neighbors`` nearest neighbours of every row of ``X`` among the others.

    Parameters
    ----------
    X : ndarray of shape (n, d), float32 or float64, C-contiguous
        Validated points (rows normalised for the cosine metric).
    n_neighbors : int
        ``k``, with ``1 <= k <= n - 1``.
    cosine : bool
        Cosine distance ``1 − xᵀy`` of the normalised rows, else euclidean.
    random_state : None, int, numpy.random.Generator or numpy.random.RandomState
        Seed of NN-descent's random projection trees and sampling.
    n_threads : int
        Threads of NN-descent and of the re-ranking.

    Returns
    -------
    distances : ndarray of shape (n, k), float64
    indices : ndarray of shape (n, k), int64
        Sorted by (distance, index), each point's own index excluded; the distances are
        computed directly (in the dtype of ``X``, summed in float64).  Rows for which NN-descent
        found fewer than the candidates asked for are searched exactly.
    """
    from . import _knn_kernels

    pynndescent = _import_pynndescent()
    n = X.shape[0]
    k = n_neighbors
    n_build = min(n - 1, k + 1 + ANN_EXTRA_CANDIDATES)
    index = pynndescent.NNDescent(
        X,
        metric="cosine" if cosine else "euclidean",
        n_neighbors=n_build,
        random_state=_seed(random_state),
        n_jobs=n_threads,
        low_memory=True,
    )
    graph = np.asarray(index.neighbor_graph[0], dtype=np.int64)
    del index
    candidates, complete = _other_candidates(graph, n_build - 1)
    distances = np.empty((n, k))
    indices = np.empty((n, k), dtype=np.int64)
    kth_raw = np.empty(n)
    if complete.all():
        _knn_kernels.knn_rerank(X, X, candidates, cosine, distances, indices, kth_raw)
        return distances, indices
    rows, missing = np.flatnonzero(complete), np.flatnonzero(~complete)
    part_d, part_i = distances[rows], indices[rows]
    _knn_kernels.knn_rerank(X[rows], X, candidates[rows], cosine, part_d, part_i, kth_raw[rows])
    distances[rows], indices[rows] = part_d, part_i
    distances[missing], indices[missing] = _exact_rows(X, missing, k, cosine, n_threads)
    return distances, indices


def _other_candidates(graph, n_candidates):
    """The first ``n_candidates`` entries of each row of ``graph`` that are neither the row's own
    index nor padding (-1), in their order, and the mask of the rows that have that many."""
    n = graph.shape[0]
    valid = (graph >= 0) & (graph != np.arange(n)[:, None])
    order = np.argsort(~valid, axis=1, kind="stable")  # valid entries first, order kept
    candidates = np.take_along_axis(graph, order, axis=1)[:, :n_candidates]
    complete = valid.sum(axis=1) >= n_candidates
    return np.ascontiguousarray(candidates), complete


def _exact_rows(X, rows, k, cosine, n_threads):
    """Exact neighbours (self excluded) of the rows ``rows`` of ``X`` by the float64 search."""
    from tqdm.auto import tqdm

    from ._knn import DEFAULT_KNN_BLOCK, _float64_search

    Q = np.asarray(X, dtype=np.float64)
    bar = tqdm(total=0, disable=True)
    return _float64_search(Q, Q, rows, True, cosine, k, DEFAULT_KNN_BLOCK, n_threads, bar)

"""Hypothesis strategies for hypergraphs and matrices whose spectra are known exactly.

Every strategy draws its randomness through hypothesis (sizes, values, and the integer seed of
any NumPy ``Generator`` used inside), so failures are reproducible and shrink: sizes shrink
towards their lower bounds, seeds towards 0, hypergraphs towards few, small, unit-weight
hyperedges on consecutive vertices.

Size-like arguments accept an ``int`` (fixed), a ``(low, high)`` tuple (inclusive range) or a
hypothesis strategy.  Requires the ``hypothesis`` package (``pip install hypothesis`` or the
``dev`` extra: ``pip install 'hyperlearn[dev]'``).
"""

from __future__ import annotations

import math
import numbers

try:
    from hypothesis import assume
    from hypothesis import strategies as st
    from hypothesis.strategies import SearchStrategy
except ImportError as exc:  # pragma: no cover - exercised by a subprocess test
    raise ImportError(
        "hyperlearn.testing.strategies requires the 'hypothesis' package, which is not "
        "installed: run `pip install hypothesis` (or `pip install 'hyperlearn[dev]'`).  "
        "The assertions in hyperlearn.testing work without it."
    ) from exc

import numpy as np
import scipy.sparse as sp

from ..utils._validation import check_choice, check_float_dtype, check_int, check_real, describe

__all__ = ["hypergraphs", "matrices_with_spectrum", "spd_matrices", "spd_systems"]

SPECTRA = ("exact_rank", "fast_decay", "slow_decay")
WEIGHT_KINDS = ("random", "unit", "spread")
_SEEDS = st.integers(min_value=0, max_value=2**32 - 1)


# ---------------------------------------------------------------------------------------------
# argument handling


def _is_pair(value):
    return isinstance(value, tuple) and len(value) == 2


def _bounded_strategy(value, name, *, low, check, between, expected):
    """value | (low, high) | strategy -> strategy of ``between(lo, hi)`` values >= ``low``."""
    if isinstance(value, SearchStrategy):
        return value
    if not _is_pair(value):
        if isinstance(value, tuple):
            raise TypeError(
                f"{name}={describe(value)} is not valid: expected {expected}, a (low, high) tuple "
                "or a hypothesis strategy."
            )
        return st.just(check(value, name, low=low))
    lo = check(value[0], f"{name}[0]", low=low)
    hi = check(value[1], f"{name}[1]", low=low)
    if hi < lo:
        raise ValueError(
            f"{name}={value!r} is not valid: expected (low, high) with {low} <= low <= high."
        )
    return between(lo, hi)


def _int_strategy(value, name, *, low):
    """int | (low, high) | strategy -> strategy of ints >= ``low`` (checked at draw time too)."""
    return _bounded_strategy(
        value, name, low=low, check=check_int, between=st.integers, expected="an int"
    )


def _float_strategy(value, name, *, low):
    """number | (low, high) | strategy -> strategy of finite floats >= ``low``."""

    def between(lo, hi):
        return st.floats(lo, hi, allow_nan=False, allow_infinity=False)

    return _bounded_strategy(
        value, name, low=low, check=check_real, between=between, expected="a number"
    )


def _range_of(value):
    """(low, high) of an int/tuple argument, or None for a strategy."""
    if isinstance(value, numbers.Integral):
        return int(value), int(value)
    if isinstance(value, tuple):
        return int(value[0]), int(value[1])
    return None


def _dtype_strategy(value):
    if isinstance(value, SearchStrategy):
        return value
    return st.just(check_float_dtype(value, "dtype"))


def _drawn_dtype(draw, strategy):
    dtype = np.dtype(draw(strategy))
    if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"dtype strategy drew {dtype}: expected float32 or float64.")
    return dtype.type


def _draw_int(draw, strategy, name, low):
    value = draw(strategy)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"the {name} strategy drew {value!r}: expected an integer >= {low}.")
    return int(value)


def _haar_orthonormal(rng, n, k):
    """n×k matrix with orthonormal columns, Haar distributed (QR of a Gaussian, signs fixed)."""
    if k == 0:
        return np.zeros((n, 0))
    Z = rng.standard_normal((n, k))
    Q, R = np.linalg.qr(Z)
    signs = np.sign(np.diag(R))
    signs[signs == 0] = 1.0
    return Q * signs


def _sparse_orthonormal(rng, n, k):
    """n×k orthonormal columns that are signed indicators of k disjoint, non-empty index groups."""
    perm = rng.permutation(n)
    cuts = np.sort(rng.choice(np.arange(1, n), size=k - 1, replace=False)) if k > 1 else []
    Q = np.zeros((n, k))
    for j, group in enumerate(np.split(perm, cuts)):
        Q[group, j] = rng.choice([-1.0, 1.0], size=group.size) / math.sqrt(group.size)
    return Q


# ---------------------------------------------------------------------------------------------
# hypergraphs


class _HypergraphPlan:
    """Validated arguments of :func:`hypergraphs`: strategies, and ranges when they are fixed."""

    def __init__(self, n_vertices, n_edges, edge_size, weights, dtype, allow_isolated, prob):
        self.n_st = _int_strategy(n_vertices, "n_vertices", low=1)
        self.m_st = _int_strategy(n_edges, "n_edges", low=0)
        self.size_st = _int_strategy(edge_size, "edge_size", low=1)
        self.dtype_st = _dtype_strategy(dtype)
        for name, flag in (("allow_isolated", allow_isolated), ("probabilistic", prob)):
            if not isinstance(flag, bool):
                raise TypeError(f"{name}={describe(flag)} is not valid: expected a bool.")
        if isinstance(weights, str):
            check_choice(weights, "weights", WEIGHT_KINDS)
        elif not isinstance(weights, SearchStrategy):
            raise TypeError(
                f"weights={describe(weights)} is not valid: expected one of {WEIGHT_KINDS} or a "
                "strategy of non-negative floats."
            )
        self.weights, self.allow_isolated, self.probabilistic = weights, allow_isolated, prob
        self.edge_size = edge_size
        self.n_range, self.m_range = _range_of(n_vertices), _range_of(n_edges)
        self.s_range = _range_of(edge_size)
        self._check_ranges(n_vertices, edge_size)

    def _check_ranges(self, n_vertices, edge_size):
        n_range, m_range, s_range = self.n_range, self.m_range, self.s_range
        if n_range and s_range and n_range[1] < s_range[0]:
            raise ValueError(
                f"n_vertices={n_vertices!r} and edge_size={edge_size!r} are inconsistent: a "
                f"hyperedge needs at least {s_range[0]} distinct vertices."
            )
        fixed = n_range and m_range and s_range
        if not self.allow_isolated and fixed and n_range[0] > m_range[1] * s_range[1]:
            raise ValueError(
                f"allow_isolated=False cannot cover n_vertices >= {n_range[0]} with at most "
                f"{m_range[1]} hyperedges of at most {s_range[1]} vertices."
            )


def _draw_counts(draw, plan):
    """Number of vertices n and of hyperedges m."""
    n_range, m_range, s_range = plan.n_range, plan.m_range, plan.s_range
    if not plan.allow_isolated and n_range and s_range and m_range:
        # draw the number of hyperedges first so that the vertex range can be made feasible
        n_low = max(n_range[0], s_range[0])
        m = draw(st.integers(max(m_range[0], -(-n_low // s_range[1])), m_range[1]))
        n = draw(st.integers(n_low, min(n_range[1], m * s_range[1])))
    elif n_range and s_range:
        n = draw(st.integers(max(n_range[0], s_range[0]), n_range[1]))
        m = _draw_int(draw, plan.m_st, "n_edges", 0)
    else:
        n = _draw_int(draw, plan.n_st, "n_vertices", 1)
        m = _draw_int(draw, plan.m_st, "n_edges", 0)
    return n, m


def _draw_sizes(draw, plan, n, m):
    """Drawn size of each hyperedge and the largest size allowed (None for a strategy)."""
    if plan.s_range:
        lo, hi = plan.s_range[0], min(plan.s_range[1], n)
        if lo > n:
            raise ValueError(f"edge_size={plan.edge_size!r} needs more than n_vertices={n}.")
        return [draw(st.integers(lo, hi)) for _ in range(m)], hi
    sizes = []
    for _ in range(m):
        size = _draw_int(draw, plan.size_st, "edge_size", 1)
        if size > n:
            raise ValueError(f"the edge_size strategy drew {size} > n_vertices={n}.")
        sizes.append(size)
    return sizes, None


def _cover_vertices(draw, n, sizes, cap):
    """Spread a drawn permutation of the n vertices over the hyperedges, at most ``cap`` each.

    A hyperedge takes more than its drawn size only when the later ones could not hold the rest;
    the permutation shrinks to consecutive blocks.  ``sizes`` is updated in place.
    """
    m = len(sizes)
    assume(n <= m * cap)
    order = draw(st.permutations(range(n)))
    edges, position = [], 0
    for j in range(m):
        left = n - position
        take = min(max(min(sizes[j], left), left - (m - j - 1) * cap), cap)
        edges.append(list(order[position : position + take]))
        position += take
        sizes[j] = max(sizes[j], take)
    return edges


def _draw_members(draw, plan, n, m):
    sizes, hi = _draw_sizes(draw, plan, n, m)
    if plan.allow_isolated:
        edges = [[] for _ in range(m)]
    else:
        edges = _cover_vertices(draw, n, sizes, hi if hi is not None else max(sizes, default=0))
    for j in range(m):
        need = sizes[j] - len(edges[j])
        if need > 0:
            available = sorted(set(range(n)) - set(edges[j]))
            edges[j] += draw(
                st.lists(st.sampled_from(available), min_size=need, max_size=need, unique=True)
            )
    return edges


def _draw_weights(draw, weights, m):
    """Hyperedge weights as an array, or None for unit weights."""
    w = None
    if weights == "random":
        if draw(st.booleans()):
            finite = st.floats(0.1, 10.0, allow_nan=False, allow_infinity=False)
            w = draw(st.lists(finite, min_size=m, max_size=m))
    elif weights == "spread":
        exponents = draw(st.lists(st.floats(-3.0, 3.0), min_size=m, max_size=m))
        w = [10.0**e for e in exponents]
    elif isinstance(weights, SearchStrategy):
        w = [draw(weights) for _ in range(m)]
        bad = [v for v in w if not (math.isfinite(v) and v >= 0)]
        if bad:
            raise ValueError(f"the weights strategy drew {bad[0]!r}: expected finite values >= 0.")
    return None if w is None else np.asarray(w)


def _build_hypergraph(draw, plan):
    from ..hypergraph import Hypergraph

    n, m = _draw_counts(draw, plan)
    edges = _draw_members(draw, plan, n, m)
    w = _draw_weights(draw, plan.weights, m)
    dt = _drawn_dtype(draw, plan.dtype_st)
    if plan.probabilistic and m and draw(st.booleans()):
        rows = np.concatenate([np.asarray(e, dtype=np.int64) for e in edges])
        cols = np.repeat(np.arange(m), [len(e) for e in edges])
        values = draw(st.lists(st.floats(0.05, 1.0), min_size=rows.size, max_size=rows.size))
        H = sp.csc_matrix((np.asarray(values), (rows, cols)), shape=(n, m))
        return Hypergraph.from_incidence(H, weights=w, dtype=dt)
    return Hypergraph.from_edges(edges, n_vertices=n, weights=w, dtype=dt)


def hypergraphs(
    n_vertices=(1, 10),
    n_edges=(1, 8),
    edge_size=(1, 4),
    weights="random",
    dtype=np.float64,
    allow_isolated=True,
    probabilistic=False,
):
    """Strategy for :class:`hyperlearn.Hypergraph` instances.

    Parameters
    ----------
    n_vertices, n_edges, edge_size : int, (low, high) or strategy
        Number of vertices (≥ 1), of hyperedges (≥ 0), and of distinct members per hyperedge
        (≥ 1, capped at the number of vertices).  Duplicate hyperedges can occur.
    weights : {"random", "unit", "spread"} or strategy of floats, default="random"
        ``"unit"``: all ones.  ``"random"``: all ones or (hypothesis decides; shrinks to ones)
        independent weights in [0.1, 10].  ``"spread"``: 10^t with t drawn in [−3, 3] (six
        decades).  A strategy is drawn once per hyperedge; its values must be finite and ≥ 0
        (zero weights are allowed: vertices only in zero-weight hyperedges are then isolated).
    dtype : float32, float64 or strategy of those, default=float64
    allow_isolated : bool, default=True
        If False, every vertex lies in at least one hyperedge: the vertices are first spread
        over the hyperedges (a drawn permutation), then the hyperedges are topped up with drawn
        members.  This needs n_vertices <= n_edges · max edge size; draws that violate it are
        rejected (avoid it with consistent ranges; fixed ranges are checked up front).
    probabilistic : bool, default=False
        If False the incidence is 0/1.  If True, hypothesis decides (shrinking to 0/1) whether
        the memberships h(v, e) are drawn in [0.05, 1] (a probabilistic hypergraph, as built by
        Gao et al.'s kNN construction).

    Returns
    -------
    SearchStrategy[Hypergraph]
        Built with :meth:`Hypergraph.from_edges` (0/1) or :meth:`Hypergraph.from_incidence`
        (graded memberships).  Shrinks towards few vertices, few hyperedges of the smallest
        size on the lowest vertex ids, unit weights and 0/1 memberships.

    Raises
    ------
    ValueError, TypeError
        For invalid arguments (checked when the strategy is created where possible).

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> from hyperlearn.testing import assert_normalized_laplacian
    >>> from hyperlearn.testing.strategies import hypergraphs
    >>> @settings(deadline=None, max_examples=10)  # the first call compiles Numba kernels
    ... @given(hypergraphs(n_vertices=(2, 6), allow_isolated=False))
    ... def test_laplacian(hg):
    ...     assert_normalized_laplacian(hg)
    >>> test_laplacian()
    """
    plan = _HypergraphPlan(
        n_vertices, n_edges, edge_size, weights, dtype, allow_isolated, probabilistic
    )
    return st.composite(_build_hypergraph)(plan)


# ---------------------------------------------------------------------------------------------
# matrices with a known spectrum


def _spectrum_values(spectrum, r, rank, draw):
    j = np.arange(r, dtype=np.float64)
    if spectrum == "exact_rank":
        values = draw(st.lists(st.floats(0.01, 1.0), min_size=rank, max_size=rank))
        s = np.zeros(r)
        s[:rank] = np.sort(values)[::-1]
        return s
    if spectrum == "fast_decay":
        return 10.0 ** (-j / rank)
    if spectrum == "slow_decay":
        return 1.0 / (1.0 + j / rank)
    s = np.asarray(spectrum(r), dtype=np.float64)
    if s.shape != (r,) or not np.all(np.isfinite(s)) or np.any(s < 0) or np.any(np.diff(s) > 0):
        raise ValueError(
            f"spectrum callable returned {s!r} for min(m, n) = {r}: expected {r} finite, "
            "non-negative, non-increasing values."
        )
    return s


def matrices_with_spectrum(
    shape=((2, 16), (2, 16)), spectrum="exact_rank", rank=None, dtype=np.float64, sparse=False
):
    """Strategy for ``(A, U, s, Vt)`` with ``A = U @ diag(s) @ Vt`` known exactly.

    Parameters
    ----------
    shape : (rows, cols) or strategy of tuples
        ``rows`` and ``cols``: int, (low, high) or strategy, each ≥ 1.
    spectrum : {"exact_rank", "fast_decay", "slow_decay"} or callable, default="exact_rank"
        Singular values s_j, j = 0, …, min(m, n) − 1 (σ₁ = s_0 ≤ 1):

        - ``"exact_rank"``: ``rank`` drawn values in [0.01, 1], sorted, then zeros;
        - ``"fast_decay"``: s_j = 10^(−j/rank) (one decade per ``rank`` indices);
        - ``"slow_decay"``: s_j = 1/(1 + j/rank);
        - callable ``f(r)`` returning r non-negative, non-increasing values.
    rank : int, (low, high), strategy or None
        Rank (``exact_rank``) or decay scale; ``None`` draws it in [1, min(m, n)].  Values
        above min(m, n) are capped at min(m, n).
    dtype : float32, float64 or strategy, default=float64
        dtype of A.
    sparse : bool, default=False
        If True, A is a ``scipy.sparse.csr_matrix`` and the singular vectors are signed
        indicator vectors of disjoint random index groups (still orthonormal), so A is a
        permuted block-diagonal matrix of rank-one blocks.  Otherwise U and V are Haar-random.

    Returns
    -------
    SearchStrategy[tuple]
        ``(A, U, s, Vt)``: U (m, r) and Vt (r, n) with orthonormal columns/rows, s (r,)
        non-increasing, r = min(m, n), all float64.  A is the float64 product rounded once to
        ``dtype``, so ‖A − U diag(s) Vt‖₂ ≤ ½·eps(dtype)·‖A‖_F.  The random factors come from a
        NumPy Generator whose seed is drawn by hypothesis.

    Examples
    --------
    >>> import numpy as np
    >>> from hypothesis import given
    >>> from hyperlearn.testing.strategies import matrices_with_spectrum
    >>> @given(matrices_with_spectrum((5, 4), spectrum="exact_rank", rank=2))
    ... def test_rank(args):
    ...     A, U, s, Vt = args
    ...     assert np.linalg.matrix_rank(A) == 2
    >>> test_rank()
    """
    if isinstance(shape, SearchStrategy):
        shape_st = shape
    elif isinstance(shape, tuple) and len(shape) == 2:
        shape_st = st.tuples(
            _int_strategy(shape[0], "shape[0]", low=1), _int_strategy(shape[1], "shape[1]", low=1)
        )
    else:
        raise TypeError(
            f"shape={shape!r} is not valid: expected a (rows, cols) tuple or a strategy."
        )
    if not (callable(spectrum) or spectrum in SPECTRA):
        raise ValueError(
            f"spectrum={spectrum!r} is not valid: expected one of {SPECTRA} or a callable."
        )
    rank_st = None if rank is None else _int_strategy(rank, "rank", low=1)
    dtype_st = _dtype_strategy(dtype)
    if not isinstance(sparse, bool):
        raise TypeError(f"sparse={sparse!r} is not valid: expected a bool.")

    @st.composite
    def build(draw):
        m, n = draw(shape_st)
        if m < 1 or n < 1:
            raise ValueError(f"the shape strategy drew {(m, n)}: expected positive sizes.")
        r = min(m, n)
        k = draw(st.integers(1, r)) if rank_st is None else _draw_int(draw, rank_st, "rank", 1)
        k = min(k, r)
        s = _spectrum_values(spectrum, r, k, draw)
        rng = np.random.default_rng(draw(_SEEDS))
        make = _sparse_orthonormal if sparse else _haar_orthonormal
        U = make(rng, m, r)
        V = make(rng, n, r)
        Vt = np.ascontiguousarray(V.T)
        dt = _drawn_dtype(draw, dtype_st)
        A = ((U * s) @ Vt).astype(dt)
        if sparse:
            A = sp.csr_matrix(A)
            A.eliminate_zeros()
        return A, U, s, Vt

    return build()


# ---------------------------------------------------------------------------------------------
# symmetric positive definite matrices and systems


def _spd_parts(draw, n_st, kappa_st, dtype_st, spectrum=None):
    n = _draw_int(draw, n_st, "n", 1)
    if spectrum is not None:
        eigenvalues = np.asarray(spectrum(n), dtype=np.float64)
        if eigenvalues.shape != (n,) or not np.all(np.isfinite(eigenvalues)):
            raise ValueError(
                f"spectrum callable returned {eigenvalues!r} for n = {n}: expected {n} finite "
                "non-negative values."
            )
        if np.any(eigenvalues < 0):
            raise ValueError(f"spectrum callable returned negative values for n = {n}.")
        eigenvalues = np.sort(eigenvalues)
    else:
        kappa = draw(kappa_st)
        if not (math.isfinite(kappa) and kappa >= 1.0):
            raise ValueError(
                f"the condition_number strategy drew {kappa!r}: expected a finite >= 1."
            )
        if n == 1:
            exponents = np.zeros(1)  # a 1×1 matrix has condition number 1
        else:
            interior = draw(st.lists(st.floats(0.0, 1.0), min_size=n - 2, max_size=n - 2))
            exponents = np.sort(np.concatenate([[0.0, 1.0], interior]))
        eigenvalues = np.sort(kappa ** (-exponents))  # ascending, from 1/κ to 1
    rng = np.random.default_rng(draw(_SEEDS))
    V = _haar_orthonormal(rng, n, n)
    A = (V * eigenvalues) @ V.T
    A = 0.5 * (A + A.T)  # exactly symmetric
    dt = _drawn_dtype(draw, dtype_st)
    return A.astype(dt), eigenvalues, V, rng


def spd_matrices(
    n=(1, 12), condition_number=None, dtype=np.float64, *, spectrum=None, return_eigh=False
):
    """Strategy for dense symmetric positive definite matrices with a prescribed condition number.

    A = V diag(λ) Vᵀ with V Haar-random (seed drawn by hypothesis), λ_max = 1, λ_min = 1/κ and
    the other eigenvalues κ^(−t) for drawn t ∈ [0, 1] (log-uniform in between); A is made exactly
    symmetric in float64, then rounded once to ``dtype`` (κ of the rounded matrix differs by a
    relative O(κ·eps(dtype))).

    Parameters
    ----------
    n : int, (low, high) or strategy, default=(1, 12)
        Order of A (≥ 1).  For n = 1 the condition number is 1 whatever is requested.
    condition_number : float, (low, high) or strategy, default=None
        κ₂(A) ≥ 1; None means (1, 1e3) unless ``spectrum`` is given.
    spectrum : callable, optional
        ``spectrum(n)`` returns the n eigenvalues (≥ 0, any order) instead, e.g.
        ``lambda n: np.exp(-np.arange(n) / 8)`` for a decaying, Θ-like spectrum, or one with
        zeros for a positive *semi*-definite matrix.  Exclusive with ``condition_number``.
    dtype : float32, float64 or strategy, default=float64
    return_eigh : bool, default=False
        If True, draw ``(A, eigenvalues, V)`` instead of A: eigenvalues ascending (float64) and
        the orthonormal eigenvectors (float64), as :func:`numpy.linalg.eigh`.

    Returns
    -------
    SearchStrategy[ndarray] or SearchStrategy[tuple]

    Examples
    --------
    >>> import numpy as np
    >>> from hypothesis import given
    >>> from hyperlearn.testing.strategies import spd_matrices
    >>> @given(spd_matrices(n=(2, 6), condition_number=100.0))
    ... def test_cond(A):
    ...     assert abs(np.linalg.cond(A) / 100.0 - 1) < 1e-8
    >>> test_cond()
    """
    n_st = _int_strategy(n, "n", low=1)
    if spectrum is not None and condition_number is not None:
        raise ValueError(
            "spectrum and condition_number are exclusive: the spectrum fixes the condition number."
        )
    if spectrum is not None and not callable(spectrum):
        raise TypeError(f"spectrum={spectrum!r} is not valid: expected a callable n -> values.")
    if condition_number is None:
        condition_number = (1.0, 1e3)
    kappa_st = _float_strategy(condition_number, "condition_number", low=1.0)
    dtype_st = _dtype_strategy(dtype)

    @st.composite
    def build(draw):
        A, eigenvalues, V, _ = _spd_parts(draw, n_st, kappa_st, dtype_st, spectrum)
        return (A, eigenvalues, V) if return_eigh else A

    return build()


def spd_systems(n=(1, 12), condition_number=(1.0, 1e3), dtype=np.float64, n_rhs=None):
    """Strategy for SPD linear systems ``(A, b, x_true)`` with a known solution.

    A is drawn as in :func:`spd_matrices`; ``x_true`` has standard normal entries (float64, from
    a Generator seeded by hypothesis) and ``b = A x_true`` is computed in float64 from the stored
    A, then rounded to ``dtype``.  So x_true solves the stored system up to the rounding of b,
    ‖b − A x_true‖ ≤ ½·eps(dtype)·‖b‖ (``assert_solution_accuracy`` accounts for it).

    Parameters
    ----------
    n, condition_number, dtype
        As in :func:`spd_matrices`.
    n_rhs : int, (low, high), strategy or None, default=None
        None: ``b`` and ``x_true`` of shape (n,); otherwise (n, n_rhs) for block solvers.  A
        strategy may also draw None (e.g. ``st.none() | st.integers(1, 4)``).

    Returns
    -------
    SearchStrategy[tuple]
        ``(A, b, x_true)``.

    Examples
    --------
    >>> import numpy as np
    >>> from hypothesis import given
    >>> from hyperlearn.testing import assert_solution_accuracy
    >>> from hyperlearn.testing.strategies import spd_systems
    >>> @given(spd_systems(n=(1, 8), condition_number=(1.0, 50.0)))
    ... def test_solve(system):
    ...     A, b, x_true = system
    ...     x = np.linalg.solve(A, b)
    ...     assert_solution_accuracy(A, x, b, rtol=1e-10, x_true=x_true)
    >>> test_solve()
    """
    n_st = _int_strategy(n, "n", low=1)
    kappa_st = _float_strategy(condition_number, "condition_number", low=1.0)
    dtype_st = _dtype_strategy(dtype)
    rhs_st = None if n_rhs is None else _int_strategy(n_rhs, "n_rhs", low=1)

    @st.composite
    def build(draw):
        A, _, _, rng = _spd_parts(draw, n_st, kappa_st, dtype_st)
        size = A.shape[0]
        n_columns = None if rhs_st is None else draw(rhs_st)
        if n_columns is None:
            x_true = rng.standard_normal(size)
        else:
            if isinstance(n_columns, bool) or not isinstance(n_columns, numbers.Integral):
                raise ValueError(f"the n_rhs strategy drew {n_columns!r}: expected an int or None.")
            if n_columns < 1:
                raise ValueError(f"the n_rhs strategy drew {n_columns!r}: expected >= 1.")
            x_true = rng.standard_normal((size, int(n_columns)))
        b = (A.astype(np.float64) @ x_true).astype(A.dtype)
        return A, b, x_true

    return build()

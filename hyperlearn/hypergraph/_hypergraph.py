"""The immutable :class:`Hypergraph` value type."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..utils._validation import check_choice, check_nonnegative_vector
from ._storage import _freeze, _readonly, index_dtype_for

__all__ = ["Hypergraph"]

LAPLACIAN_KINDS = ("normalized", "random_walk", "unnormalized")


class Hypergraph:
    r"""An immutable weighted hypergraph stored as an incidence matrix.

    The incidence matrix ``H`` (``n_vertices × n_edges``) has ``H[v, e] > 0`` iff vertex ``v``
    belongs to hyperedge ``e``; values are 1 for an ordinary hypergraph and may lie in (0, ∞)
    for a probabilistic one.  It is stored once as CSR and once as CSC (sorted indices, no
    duplicates, no explicit zeros; int32 indices while they fit, int64 beyond) with read-only
    arrays, so a ``Hypergraph`` can be shared freely.  ``with_weights`` returns a new hypergraph
    that shares the incidence arrays.

    Build one with :meth:`from_edges`, :meth:`from_incidence` (also ``Hypergraph(H, weights)``),
    :meth:`from_knn`, :meth:`from_labels`, :meth:`from_networkx`, or combine hyperedge families
    with :meth:`hstack` / ``h1 | h2``.

    Parameters
    ----------
    incidence : array-like or sparse matrix of shape (n_vertices, n_edges)
        Same as :meth:`from_incidence`.
    weights : array-like of shape (n_edges,), default=None
        Non-negative hyperedge weights; ``None`` gives all ones.
    dtype : {None, numpy.float32, numpy.float64}, default=None
        Storage dtype; ``None`` follows the input (float32 stays float32; bool and integer
        incidences become float64).

    Attributes
    ----------
    n_vertices, n_edges : int
    incidence : scipy.sparse.csr_matrix of shape (n_vertices, n_edges)
    incidence_csc : scipy.sparse.csc_matrix, the same matrix in CSC form
    weights : ndarray of shape (n_edges,)
        Hyperedge weights ``w``.
    vertex_degrees : ndarray of shape (n_vertices,)
        WEIGHTED degrees ``d(v) = Σ_e w(e) h(v, e)``, i.e. ``H @ w``.
    edge_degrees : ndarray of shape (n_edges,)
        Unweighted degrees ``δ(e) = Σ_v h(v, e)`` (column sums of ``H``).
    dtype : numpy.float32 or numpy.float64

    Notes
    -----
    The normalized adjacency is

    .. math:: Θ = D_v^{-1/2} H W D_e^{-1} H^T D_v^{-1/2},

    with :math:`D_v = \operatorname{diag}(H w)` (weighted) and
    :math:`D_e = \operatorname{diag}(\mathbf 1^T H)` (unweighted).  With these degrees
    :math:`Θ = B B^T` for :math:`B = D_v^{-1/2} H W^{1/2} D_e^{-1/2}`, so Θ is positive
    semi-definite, and :math:`D_v^{-1} H W D_e^{-1} H^T` is row-stochastic, so the spectrum of Θ
    lies in [0, 1] with eigenvector :math:`D_v^{1/2}\mathbf 1` for eigenvalue 1, for ANY
    non-negative weights [1]_.  (An unweighted :math:`D_v` breaks this when the weights are not
    uniform.)

    Isolated vertices (``d(v) = 0``: in no hyperedge, or only in zero-weight hyperedges) are
    allowed: :math:`d(v)^{-1/2}` is taken as 0, so their rows and columns of Θ are zero (and the
    normalized Laplacian ``I − Θ`` has a 1 on their diagonal).  Empty hyperedges (``δ(e) = 0``)
    contribute nothing.

    Two rules hold for every constructor.  *Repeated memberships count once*: a vertex listed
    twice in a hyperedge, or a sparse entry stored twice with the same value, is one membership
    (stored twice with different values, it is refused).  *Empty hyperedges are refused unless
    allowed* with ``allow_empty_edges=True``, which is the default of :meth:`from_labels` only
    (its hyperedge ``t`` is label ``t``, and an unused label is normal in tag data) and what
    :meth:`from_networkx` does for a hyperedge node without neighbours.

    References
    ----------
    .. [1] D. Zhou, J. Huang, B. Schölkopf, "Learning with hypergraphs: clustering,
       classification, and embedding", NIPS 2006.

    Examples
    --------
    >>> from hyperlearn import Hypergraph
    >>> hg = Hypergraph.from_edges([[0, 1, 2], [2, 3]], weights=[1.0, 2.0])
    >>> hg
    Hypergraph(n_vertices=4, n_edges=2, nnz=5, dtype=float64)
    >>> hg.vertex_degrees.tolist()
    [1.0, 1.0, 3.0, 2.0]
    >>> hg.edge_degrees.tolist()
    [3.0, 2.0]
    """

    # The value type is immutable; equality compares arrays, so it is not hashable.
    __hash__ = None

    def __init__(self, incidence, weights=None, *, dtype=None):
        other = type(self).from_incidence(incidence, weights, dtype=dtype)
        self._init_from(other._csr, other._csc, other._weights)

    # -- construction helpers (private) ----------------------------------------------------

    def _init_from(self, csr, csc, weights):
        self._csr = csr
        self._csc = csc
        self._weights = weights
        self._cache = {}

    @classmethod
    def _from_canonical(cls, csc, weights, *, dtype):
        """Wrap a canonical CSC incidence (sorted, no duplicates, no zeros, finite, >= 0)."""
        n, m = csc.shape
        csc = sp.csc_matrix(csc, dtype=dtype)
        idx = index_dtype_for(n, m, csc.nnz)
        csr = csc.tocsr()
        csr.sort_indices()
        csc = _freeze(csc, idx)
        csr = _freeze(csr, idx)
        if weights is None:
            weights = np.ones(m, dtype=dtype)
        else:
            weights = check_nonnegative_vector(weights, m, "weights", dtype=dtype)
        obj = cls.__new__(cls)
        obj._init_from(csr, csc, _readonly(weights))
        return obj

    # -- constructors (implemented in _construct.py and _knn.py) ------------------------------

    @classmethod
    def from_edges(
        cls, edges, n_vertices=None, weights=None, *, dtype=None, allow_empty_edges=False
    ):
        """Build a hypergraph from lists of member vertices.

        Parameters
        ----------
        edges : sequence of sequences of int, or tuple ``(indptr, indices)``
            Either a ragged list (``edges[e]`` lists the vertices of hyperedge ``e``) or the
            compressed form: the members of hyperedge ``e`` are
            ``indices[indptr[e]:indptr[e + 1]]`` (a tuple of exactly two NumPy arrays is always
            read this way; pass a list for two hyperedges).  No Python loop runs per hyperedge.
            Members repeated within one hyperedge count once (value 1).
        n_vertices : int, default=None
            Number of vertices; ``None`` means ``max(vertex id) + 1``.  Vertices in no
            hyperedge are isolated (zero rows and columns of Θ).
        weights : array-like of shape (n_edges,), default=None
            Non-negative finite weights; ``None`` gives ones.
        dtype : {None, numpy.float32, numpy.float64}, default=None
            ``None``: float32 if ``weights`` is a float32 array, else float64.
        allow_empty_edges : bool, default=False
            Empty hyperedges are rejected unless this is true (then they contribute nothing).

        Returns
        -------
        Hypergraph

        Raises
        ------
        ValueError
            Vertex ids negative or ``>= n_vertices``; empty hyperedges; bad weights (wrong
            length, negative, NaN/inf); malformed ``indptr``.
        TypeError
            Vertex ids that are not integers.

        Examples
        --------
        >>> from hyperlearn import Hypergraph
        >>> hg = Hypergraph.from_edges([[0, 1, 1], [1, 2]], n_vertices=4)
        >>> hg.incidence.toarray().tolist()
        [[1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.0, 0.0]]
        """
        from ._construct import from_edges

        return from_edges(
            cls,
            edges,
            n_vertices=n_vertices,
            weights=weights,
            dtype=dtype,
            allow_empty_edges=allow_empty_edges,
        )

    @classmethod
    def from_incidence(cls, H, weights=None, *, dtype=None, allow_empty_edges=False):
        """Build a hypergraph from an incidence matrix.

        Parameters
        ----------
        H : array-like or sparse matrix of shape (n_vertices, n_edges)
            Non-negative finite entries; ``H[v, e] > 0`` means ``v ∈ e`` (values other than 1
            give a probabilistic hypergraph).  An entry stored more than once in sparse input
            (COO, or non-canonical CSR/CSC) counts once if every copy has the same value and
            is refused otherwise (SciPy would add them: call ``H.sum_duplicates()`` first if
            that is meant).  Explicit zeros are dropped.  Bool/int inputs become float64.
        weights : array-like of shape (n_edges,), default=None
            Non-negative finite weights; ``None`` gives ones.
        dtype : {None, numpy.float32, numpy.float64}, default=None
            ``None`` follows ``H`` (float32 stays float32).
        allow_empty_edges : bool, default=False
            All-zero columns are rejected unless this is true.

        Returns
        -------
        Hypergraph

        Raises
        ------
        ValueError
            Not 2-D, no rows, negative or NaN/inf entries, empty columns, an entry stored
            twice with different values, bad weights.
        TypeError
            Complex, object or string dtype.

        Examples
        --------
        >>> import numpy as np, scipy.sparse as sp
        >>> from hyperlearn import Hypergraph
        >>> H = sp.coo_matrix((np.ones(4), ([0, 1, 1, 1], [0, 0, 0, 1])), shape=(2, 2))
        >>> Hypergraph.from_incidence(H).incidence.toarray().tolist()  # (1, 0) stored twice
        [[1.0, 0.0], [1.0, 1.0]]
        """
        from ._construct import from_incidence

        return from_incidence(
            cls, H, weights=weights, dtype=dtype, allow_empty_edges=allow_empty_edges
        )

    @classmethod
    def from_labels(cls, Y, weights=None, *, dtype=None, allow_empty_edges=True):
        """One hyperedge per column of a 0/1 label matrix.

        Hyperedge ``t`` holds the vertices (rows) with ``Y[v, t] = 1``.  By default columns
        without any 1 (unused labels) are kept as empty hyperedges, so that hyperedge ``t`` is
        always label ``t``; they contribute nothing to Θ.  An entry stored twice in sparse
        input counts once (see :meth:`from_incidence`).

        Parameters
        ----------
        Y : array-like or sparse matrix of shape (n_vertices, n_labels)
            Binary (0/1 or bool) entries.
        weights : array-like of shape (n_labels,), default=None
        dtype : {None, numpy.float32, numpy.float64}, default=None
            ``None``: float32 if ``Y`` is float32, else float64.
        allow_empty_edges : bool, default=True
            ``False`` refuses all-zero columns, as :meth:`from_edges` and
            :meth:`from_incidence` do by default.

        Returns
        -------
        Hypergraph

        Raises
        ------
        ValueError
            Entries other than 0 and 1; NaN/inf; not 2-D; bad weights; all-zero columns with
            ``allow_empty_edges=False``.

        Examples
        --------
        >>> import numpy as np
        >>> from hyperlearn import Hypergraph
        >>> hg = Hypergraph.from_labels(np.array([[1, 0, 0], [1, 1, 0]]))
        >>> hg.edge_degrees.tolist()
        [2.0, 1.0, 0.0]
        """
        from ._construct import from_labels

        return from_labels(
            cls, Y, weights=weights, dtype=dtype, allow_empty_edges=allow_empty_edges
        )

    @classmethod
    def from_knn(
        cls,
        X,
        n_neighbors=10,
        *,
        metric="euclidean",
        weights=None,
        n_jobs=None,
        block_size=None,
        dtype=None,
        progress=False,
        method="auto",
        random_state=None,
    ):
        """One hyperedge per vertex: the vertex and its ``n_neighbors`` nearest neighbours.

        Hyperedge ``v`` (column ``v`` of ``H``) is ``{v} ∪ kNN(v)``, ``kNN(v)`` the
        ``n_neighbors`` points closest to ``v`` OTHER than ``v`` (a duplicate of ``v`` counts),
        so every hyperedge has ``n_neighbors + 1`` members.  The search is :func:`kneighbors`:
        exact (ties broken by the smaller index) below
        :data:`~hyperlearn.hypergraph.ANN_MIN_SAMPLES` points, approximate
        (NN-descent, ``O(n k)`` memory, recall below 1) from there when pynndescent is
        installed.  No ``n × n`` matrix is formed either way.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Finite features; float32 stays float32 (distances are computed in float64).
        n_neighbors : int, default=10
            ``1 <= n_neighbors <= n_samples - 1``.
        metric : {"euclidean", "cosine"}, default="euclidean"
        weights : array-like of shape (n_samples,), default=None
            Hyperedge weights; ``None`` gives ones.
        n_jobs : int, default=None
            Threads for the search (see :func:`hyperlearn.utils.thread_limits`).
        block_size : int, default=None
            Database points per distance block of the exact search; ``None`` picks 1024.
        dtype : {None, numpy.float32, numpy.float64}, default=None
            ``None`` follows ``X``.
        progress : bool, default=False
            Show a tqdm progress bar (exact search).
        method : {"auto", "exact", "approximate"}, default="auto"
            The neighbour search, as in :func:`kneighbors` (``"auto"``: approximate from
            ``ANN_MIN_SAMPLES`` points when pynndescent is installed).
        random_state : None, int or numpy.random.Generator, default=None
            Seed of the approximate search: the same seed and number of threads give the same
            hypergraph (NN-descent's parallel updates depend on the thread count).

        Returns
        -------
        Hypergraph
            ``n_samples`` vertices and ``n_samples`` hyperedges.

        Raises
        ------
        ValueError
            ``X`` not 2-D, empty, or with NaN/inf; ``n_neighbors`` out of range; unknown metric
            or method.
        ImportError
            ``method="approximate"`` without pynndescent.

        Examples
        --------
        >>> import numpy as np
        >>> from hyperlearn import Hypergraph
        >>> X = np.array([[0.0], [1.0], [3.0], [7.0]])
        >>> Hypergraph.from_knn(X, n_neighbors=1).incidence.toarray().astype(int).tolist()
        [[1, 1, 0, 0], [1, 1, 1, 0], [0, 0, 1, 1], [0, 0, 0, 1]]
        """
        from ._knn import from_knn

        return from_knn(
            cls,
            X,
            n_neighbors,
            metric=metric,
            weights=weights,
            n_jobs=n_jobs,
            block_size=block_size,
            dtype=dtype,
            progress=progress,
            method=method,
            random_state=random_state,
        )

    @classmethod
    def from_networkx(cls, G, *, dtype=None):
        """Build a hypergraph from a bipartite NetworkX graph.

        Every node needs a ``"bipartite"`` attribute: 0 for vertices, 1 for hyperedges (the
        NetworkX convention).  Vertices and hyperedges are numbered in the node order of ``G``.
        The optional node attribute ``"weight"`` of a hyperedge node is its weight (default
        1); the optional edge attribute ``"weight"`` is the incidence value (default 1).
        A hyperedge node without neighbours becomes an empty hyperedge.
        Round trip: ``Hypergraph.from_networkx(hg.to_networkx()) == hg``.

        Parameters
        ----------
        G : networkx.Graph
        dtype : {None, numpy.float32, numpy.float64}, default=None (float64)

        Returns
        -------
        Hypergraph

        Raises
        ------
        ValueError
            A node without a 0/1 ``"bipartite"`` attribute, a graph edge joining two nodes of
            the same side, no vertex nodes, or bad weights.
        """
        from ._construct import from_networkx

        return from_networkx(cls, G, dtype=dtype)

    @staticmethod
    def hstack(hypergraphs):
        """Concatenate hyperedge families over the same vertices.

        Parameters
        ----------
        hypergraphs : sequence of Hypergraph
            At least one, all with the same ``n_vertices``.

        Returns
        -------
        Hypergraph
            Hyperedges (and weights) of ``hypergraphs[0]`` first, then ``hypergraphs[1]`` …
            float32 only if every input is float32.

        Raises
        ------
        ValueError
            Empty sequence or different vertex counts.
        TypeError
            An element that is not a Hypergraph.

        Examples
        --------
        >>> from hyperlearn import Hypergraph
        >>> a = Hypergraph.from_edges([[0, 1]], n_vertices=3)
        >>> b = Hypergraph.from_edges([[1, 2], [0, 2]], weights=[2.0, 3.0])
        >>> (a | b).weights.tolist()
        [1.0, 2.0, 3.0]
        """
        from ._construct import hstack

        return hstack(Hypergraph, hypergraphs)

    def __or__(self, other):
        if not isinstance(other, Hypergraph):
            return NotImplemented
        return Hypergraph.hstack([self, other])

    # -- attributes ----------------------------------------------------------------------------

    @property
    def n_vertices(self):
        return self._csr.shape[0]

    @property
    def n_edges(self):
        return self._csr.shape[1]

    @property
    def shape(self):
        """``(n_vertices, n_edges)``."""
        return self._csr.shape

    @property
    def nnz(self):
        """Number of (vertex, hyperedge) memberships, ``Σ_e |e|``."""
        return self._csr.nnz

    @property
    def dtype(self):
        return self._weights.dtype.type

    @property
    def incidence(self):
        return self._csr

    @property
    def incidence_csc(self):
        return self._csc

    @property
    def weights(self):
        return self._weights

    @property
    def is_binary(self):
        """True when every stored incidence value is exactly 1 (an ordinary hypergraph)."""
        if "is_binary" not in self._cache:
            self._cache["is_binary"] = bool(np.all(self._csr.data == 1))
        return self._cache["is_binary"]

    @property
    def edge_sizes(self):
        """Number of members ``|e|`` of each hyperedge (int64)."""
        if "edge_sizes" not in self._cache:
            self._cache["edge_sizes"] = _readonly(np.diff(self._csc.indptr).astype(np.int64))
        return self._cache["edge_sizes"]

    @property
    def vertex_degrees(self):
        if "vertex_degrees" not in self._cache:
            # accumulate in float64 so that float32 degrees are correctly rounded sums
            H = self._csr.astype(np.float64) if self.dtype == np.float32 else self._csr
            d = np.asarray(H @ self._weights.astype(np.float64)).ravel()
            self._cache["vertex_degrees"] = _readonly(d.astype(self.dtype))
        return self._cache["vertex_degrees"]

    @property
    def edge_degrees(self):
        if "edge_degrees" not in self._cache:
            delta = np.add.reduceat(
                np.append(self._csc.data.astype(np.float64), 0.0),
                np.asarray(self._csc.indptr[:-1], dtype=np.int64),
            )[: self.n_edges]
            delta[self.edge_sizes == 0] = 0.0  # reduceat returns the next value for empty runs
            self._cache["edge_degrees"] = _readonly(delta.astype(self.dtype))
        return self._cache["edge_degrees"]

    def edge(self, e):
        """Sorted member vertices of hyperedge ``e`` (a read-only view)."""
        lo, hi = self._csc.indptr[e], self._csc.indptr[e + 1]
        return self._csc.indices[lo:hi]

    # -- derived hypergraphs -------------------------------------------------------------------

    def with_weights(self, weights):
        """A new hypergraph with the same incidence and other hyperedge weights.

        The incidence arrays are shared (they are read-only), so this costs O(n_edges) plus the
        new degrees.  ``weights`` is cast to ``self.dtype``.

        Raises
        ------
        ValueError
            Wrong length, negative, NaN or infinite weights.
        """
        w = check_nonnegative_vector(weights, self.n_edges, "weights", dtype=self.dtype)
        obj = Hypergraph.__new__(Hypergraph)
        obj._init_from(self._csr, self._csc, _readonly(w))
        for key in ("is_binary", "edge_sizes", "edge_degrees"):  # do not depend on w
            if key in self._cache:
                obj._cache[key] = self._cache[key]
        return obj

    def astype(self, dtype):
        """The same hypergraph stored in ``dtype`` (float32 or float64)."""
        from ..utils._validation import check_float_dtype

        dtype = check_float_dtype(dtype)
        if dtype == self.dtype:
            return self
        return Hypergraph._from_canonical(self._csc, self._weights.astype(dtype), dtype=dtype)

    # -- operators -----------------------------------------------------------------------------

    def normalized_adjacency(self, explicit=False, *, nnz_budget=None):
        """Θ = Dv^{-1/2} H W De^{-1} Hᵀ Dv^{-1/2}, matrix-free or explicit.

        Parameters
        ----------
        explicit : bool, default=False
            ``False``: a :class:`HypergraphOperator` (cached on this immutable hypergraph).
            ``True``: a ``scipy.sparse.csr_matrix``.
        nnz_budget : int, default=None
            Only with ``explicit=True``: refuse (before allocating) when the predicted number
            of nonzeros ``Σ_e |e|²`` exceeds it.  ``None`` uses
            :data:`hyperlearn.hypergraph.DEFAULT_NNZ_BUDGET`.

        Returns
        -------
        HypergraphOperator or scipy.sparse.csr_matrix
            Rows and columns of isolated vertices are zero.

        Raises
        ------
        MemoryError
            (:class:`NnzBudgetError`) predicted nnz above the budget.
        """
        return self._operator("adjacency", explicit, nnz_budget)

    def laplacian(self, kind="normalized", explicit=False, *, nnz_budget=None):
        """Hypergraph Laplacian, matrix-free or explicit.

        Parameters
        ----------
        kind : {"normalized", "random_walk", "unnormalized"}, default="normalized"
            - ``"normalized"``: ``Δ = I − Θ`` (Zhou), symmetric PSD, spectrum in [0, 1];
            - ``"random_walk"``: ``I − Dv^{-1} H W De^{-1} Hᵀ`` (not symmetric);
            - ``"unnormalized"``: ``Dv − H W De^{-1} Hᵀ``, symmetric PSD.

            Isolated vertices get a row/column of the identity (first two) or zero (third).
        explicit : bool, default=False
            ``False``: a :class:`HypergraphOperator`; ``True``: a ``scipy.sparse.csr_matrix``.
        nnz_budget : int, default=None
            See :meth:`normalized_adjacency`.

        Returns
        -------
        HypergraphOperator or scipy.sparse.csr_matrix

        Raises
        ------
        ValueError
            Unknown ``kind``.
        MemoryError
            (:class:`NnzBudgetError`) predicted nnz above the budget.
        """
        check_choice(kind, "kind", LAPLACIAN_KINDS)
        return self._operator(kind, explicit, nnz_budget)

    def _operator(self, kind, explicit, nnz_budget):
        from ._operators import HypergraphOperator

        key = ("operator", kind)
        if key not in self._cache:
            self._cache[key] = HypergraphOperator(self, kind=kind)
        op = self._cache[key]
        return op.to_sparse(nnz_budget=nnz_budget) if explicit else op

    def edge_statistics(self, F):
        """Per-hyperedge smoothness ``c_e = ‖γ_eᵀ F‖² / δ(e)`` with ``γ_e = Dv^{-1/2} H[:, e]``.

        This is the quantity of the closed-form hyperedge-weight update of Gao et al. (2013):
        ``Σ_e w_e c_e`` equals ``tr(Fᵀ Θ F)``.  One parallel pass over the CSC incidence.

        Parameters
        ----------
        F : array-like of shape (n_vertices,) or (n_vertices, n_columns)

        Returns
        -------
        ndarray of shape (n_edges,)
            Dtype ``result_type(self.dtype, F.dtype)``; 0 for empty hyperedges.

        Raises
        ------
        ValueError
            Wrong number of rows, NaN/inf.

        Examples
        --------
        >>> import numpy as np
        >>> from hyperlearn import Hypergraph
        >>> hg = Hypergraph.from_edges([[0, 1], [1, 2]], weights=[1.0, 3.0])
        >>> F = np.array([[1.0], [2.0], [0.5]])
        >>> c = hg.edge_statistics(F)
        >>> bool(np.isclose(c @ hg.weights, F.T @ (hg.normalized_adjacency() @ F)))
        True
        """
        from ._operators import edge_statistics

        return edge_statistics(self, F)

    # -- conversion ----------------------------------------------------------------------------

    def to_networkx(self, kind="bipartite", *, nnz_budget=None):
        """Convert to a NetworkX graph.

        Parameters
        ----------
        kind : {"bipartite", "clique"}, default="bipartite"
            - ``"bipartite"``: vertex nodes ``0 … n−1`` (``bipartite=0``) and hyperedge nodes
              ``("e", j)`` (``bipartite=1``, node attribute ``weight`` = ``w_j``); graph edges
              carry ``weight = H[v, j]``.  Lossless (see :meth:`from_networkx`).
            - ``"clique"``: nodes ``0 … n−1``, an edge ``u–v`` (u ≠ v) for each pair sharing a
              hyperedge, ``weight = (H W De^{-1} Hᵀ)[u, v]``; no self-loops.
        nnz_budget : int, default=None
            For ``"clique"``: refuse when the predicted nnz ``Σ_e |e|²`` exceeds it.

        Returns
        -------
        networkx.Graph

        Raises
        ------
        ValueError
            Unknown ``kind``.
        MemoryError
            (:class:`NnzBudgetError`) clique expansion predicted above the budget.
        """
        from ._construct import to_networkx

        return to_networkx(self, kind=kind, nnz_budget=nnz_budget)

    # -- dunder --------------------------------------------------------------------------------

    def __repr__(self):
        return (
            f"Hypergraph(n_vertices={self.n_vertices}, n_edges={self.n_edges}, "
            f"nnz={self.nnz}, dtype={np.dtype(self.dtype).name})"
        )

    def __eq__(self, other):
        """Exact equality of shape, dtype, incidence (pattern and values) and weights."""
        if not isinstance(other, Hypergraph):
            return NotImplemented
        if self is other:
            return True
        a, b = self._csr, other._csr
        return (
            a.shape == b.shape
            and self.dtype == other.dtype
            and a.nnz == b.nnz
            and np.array_equal(a.indptr, b.indptr)
            and np.array_equal(a.indices, b.indices)
            and np.array_equal(a.data, b.data)
            and np.array_equal(self._weights, other._weights)
        )

    def __getstate__(self):
        # cached operators and degrees are rebuilt on demand
        return {"csr": self._csr, "csc": self._csc, "weights": self._weights}

    def __setstate__(self, state):
        # NumPy does not pickle the read-only flag: restore immutability
        idx = state["csr"].indices.dtype
        csr = _freeze(state["csr"], idx)
        csc = _freeze(state["csc"], idx)
        self._init_from(csr, csc, _readonly(state["weights"]))

r"""Matrix-free hypergraph operators (SciPy ``LinearOperator``) and their explicit forms.

Every operator here has the form

.. math:: A = \operatorname{diag}(c) + \operatorname{diag}(a)\, H\, \operatorname{diag}(s)\,
          H^T \operatorname{diag}(b),

with ``a``, ``b`` per-vertex scalings, ``s`` a per-hyperedge scaling and ``c`` an optional
diagonal.  The kinds used by :class:`Hypergraph`:

============== ============ =========== ============ =========
kind           a            s           b            c
============== ============ =========== ============ =========
adjacency (Θ)  d^{-1/2}     w/δ         d^{-1/2}     —
normalized     −d^{-1/2}    w/δ         d^{-1/2}     1
random_walk    −d^{-1}      w/δ         1            1
unnormalized   −1           w/δ         1            d
============== ============ =========== ============ =========

where ``d = H w`` are the weighted vertex degrees and ``δ = 1ᵀH`` the unweighted hyperedge
degrees; ``d^{-1/2}`` and ``w/δ`` are taken as 0 where ``d = 0`` (isolated vertices) or
``δ = 0`` (empty hyperedges).  The scalings are computed once per operator.

A product is two gather passes (see ``_kernels``): ``z = s ⊙ Hᵀ(b ⊙ x)`` over the CSC form of
``H`` (each hyperedge sums its members), then ``y = a ⊙ H z`` over the CSR form (each vertex
sums its hyperedges).  For a 0/1 incidence the values of ``H`` are never read.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator

from ..utils._numba import serial_below
from ..utils._validation import check_choice, check_int, check_matrix, describe
from . import _locality

__all__ = [
    "DEFAULT_NNZ_BUDGET",
    "HypergraphOperator",
    "IncidenceProductOperator",
    "NnzBudgetError",
    "check_nnz_budget",
    "edge_statistics",
]

#: Default cap on the number of stored nonzeros of an explicit operator.  5·10⁷ nonzeros take
#: about 600 MB as float64 CSR with int32 indices (12 bytes each), and SciPy's sparse product
#: needs temporaries of similar size.  Raise it with ``nnz_budget=``.
DEFAULT_NNZ_BUDGET = 50_000_000

OPERATOR_KINDS = ("adjacency", "normalized", "random_walk", "unnormalized")


class NnzBudgetError(MemoryError):
    """Raised, before allocating, when an explicit matrix would exceed its nnz budget."""


def check_nnz_budget(edge_sizes, nnz_budget, *, what, extra=0):
    """Refuse when ``Σ_e |e|² + extra`` exceeds the budget; return the predicted bound.

    ``Σ_e |e|²`` bounds the nonzeros of ``H diag(s) Hᵀ`` (each hyperedge contributes at most a
    dense ``|e| × |e|`` block; overlaps only lower the count).
    """
    budget = (
        DEFAULT_NNZ_BUDGET if nnz_budget is None else check_int(nnz_budget, "nnz_budget", low=0)
    )
    sizes = np.asarray(edge_sizes, dtype=np.int64)
    predicted = int(np.dot(sizes, sizes)) + int(extra)
    if predicted > budget:
        raise NnzBudgetError(
            f"{what} would store up to {predicted} nonzeros (Σ_e |e|² bound), above "
            f"nnz_budget={budget}: use the matrix-free operator, or pass a larger nnz_budget "
            "if the memory is available."
        )
    return predicted


def _prefetch_distance(X):
    """Prefetch distance for gathering rows of ``X`` (0: off, rows too short to pay)."""
    from . import _kernels

    if X.shape[1] * X.itemsize >= _kernels.PREFETCH_MIN_ROW_BYTES:
        return _kernels.PREFETCH_DISTANCE
    return 0


def _extreme_scale(w_max, dtype):
    """Whether weights whose largest is ``w_max`` risk over- or underflow in ``dtype``'s scalings:
    outside ``[sqrt(tiny), sqrt(max)]`` (float32: about [1e-19, 2e19])."""
    info = np.finfo(dtype)
    return w_max > 0 and not (np.sqrt(info.tiny) <= w_max <= np.sqrt(info.max))


def _check_weight_range(w, dtype, kind):
    """Refuse positive weights spanning more than ``1/sqrt(tiny)`` of ``dtype``.

    Within that range every factor of the scale-invariant operators (``d^{-1/2}``, ``w/δ`` and
    their products, once the largest weight is scaled to about 1) stays a normal number; beyond
    it a vertex whose hyperedges all have negligible weights gets degree and edge scales that
    underflow, and its row of Θ would be 0 instead of what scale invariance gives.
    """
    positive = w[w > 0]
    if positive.size == 0:
        return
    info = np.finfo(dtype)
    limit = np.sqrt(info.tiny)
    ratio = positive.min() / positive.max()
    if ratio < limit:
        raise ValueError(
            f"the positive hyperedge weights span a factor {1 / ratio:.3g} (smallest "
            f"{positive.min():.3g}, largest {positive.max():.3g}): a {kind!r} operator in "
            f"{np.dtype(dtype).name} supports at most {1 / limit:.3g}. Set negligible weights to "
            "0"
            + (", or use float64 (hypergraph.astype(numpy.float64))." if info.bits < 64 else ".")
        )


def _safe_power(values, power):
    """``values**power`` where ``values > 0``, else 0 (float64)."""
    values = np.asarray(values, dtype=np.float64)
    out = np.zeros_like(values)
    positive = values > 0
    out[positive] = values[positive] ** power
    return out


class IncidenceProductOperator(LinearOperator):
    r"""Matrix-free ``A = diag(c) + diag(a) H diag(s) Hᵀ diag(b)`` for a sparse ``H``.

    The base class of :class:`HypergraphOperator`; also what
    :meth:`HypergraphOperator.principal_block` returns.  Construct it through those.

    Parameters
    ----------
    csr, csc : scipy.sparse.csr_matrix, scipy.sparse.csc_matrix
        The same canonical ``n × m`` matrix ``H`` (sorted indices, no duplicates).
    left, edge_scale, right : ndarray
        ``a`` (n,), ``s`` (m,), ``b`` (n,).
    diag : ndarray of shape (n,) or None
        ``c``.
    binary : bool
        All values of ``H`` are 1: skip reading them.
    symmetric : bool
        Whether ``A`` is symmetric (``a = ±b``); ``A.T`` then returns ``A`` itself.
    dtype : numpy.float32 or numpy.float64

    Notes
    -----
    ``matvec``/``matmat`` return ``result_type(self.dtype, x.dtype)`` for real floating ``x``
    (float32 operator and float32 ``x`` stay float32); integer ``x`` gives ``self.dtype``.
    ``matmat`` accepts C- or F-ordered ``X`` (converted once to C order).  Results do not
    depend on the number of threads.
    """

    def __init__(self, csr, csc, left, edge_scale, right, diag, *, binary, symmetric, dtype):
        n, m = csr.shape
        super().__init__(dtype=np.dtype(dtype), shape=(n, n))
        self._csr = csr
        self._csc = csc
        self._binary = bool(binary)
        self.symmetric = bool(symmetric)
        self._left = np.ascontiguousarray(left, dtype=dtype)
        self._edge_scale = np.ascontiguousarray(edge_scale, dtype=dtype)
        self._right = np.ascontiguousarray(right, dtype=dtype)
        self._diag = None if diag is None else np.ascontiguousarray(diag, dtype=dtype)
        self._ones_m = np.ones(m, dtype=dtype)
        for arr in (self._left, self._edge_scale, self._right, self._diag, self._ones_m):
            if arr is not None:
                arr.flags.writeable = False

    # -- products --------------------------------------------------------------------------------

    def _check_operand(self, x, *, vector):
        """Refuse an operand of the wrong shape with a message naming both shapes (SciPy's
        own check says only "dimension mismatch")."""
        shape = tuple(np.shape(x))
        n = self.shape[1]
        if vector:
            ok, expected = shape in ((n,), (n, 1)), f"({n},) or ({n}, 1)"
        else:
            ok, expected = len(shape) == 2 and shape[0] == n, f"({n}, k)"
        if not ok:
            raise ValueError(
                f"x has shape {shape}: expected {expected} to multiply the {n}x{n} "
                f"{type(self).__name__}."
            )

    def dot(self, x):
        if not (isinstance(x, LinearOperator) or np.isscalar(x)):
            self._check_operand(x, vector=np.ndim(x) == 1)
        return super().dot(x)

    def matvec(self, x):
        self._check_operand(x, vector=True)
        return super().matvec(x)

    def rmatvec(self, x):
        self._check_operand(x, vector=True)
        return super().rmatvec(x)

    def matmat(self, X):
        self._check_operand(X, vector=False)
        return super().matmat(X)

    def rmatmat(self, X):
        self._check_operand(X, vector=False)
        return super().rmatmat(X)

    def _out_dtype(self, x):
        if x.dtype.kind == "f":
            return np.result_type(self.dtype, x.dtype)
        if x.dtype.kind in "biu":
            return self.dtype
        raise TypeError(f"x has dtype {x.dtype}: expected real numbers.")

    def _apply_vec(self, x, left, right):
        from . import _kernels

        if np.iscomplexobj(x):
            return self._apply_vec(x.real, left, right) + 1j * self._apply_vec(x.imag, left, right)
        dtype = self._out_dtype(x)
        x = np.asarray(x, dtype=dtype).ravel()
        xb = x * right  # prescaled once: pass 1 then gathers a single array
        n, m = self._csr.shape
        z = np.empty(m, dtype=dtype)
        y = np.empty(n, dtype=dtype)
        csc, csr = self._csc, self._csr
        with serial_below(csr.nnz):
            if self._binary:
                _kernels.gather_vec_pattern(csc.indptr, csc.indices, self._edge_scale, xb, z)
                _kernels.gather_vec_pattern(csr.indptr, csr.indices, left, z, y)
            else:
                _kernels.gather_vec(csc.indptr, csc.indices, csc.data, self._edge_scale, xb, z)
                _kernels.gather_vec(csr.indptr, csr.indices, csr.data, left, z, y)
        if self._diag is not None:
            y += self._diag * x
        return y

    def _apply_mat(self, X, left, right):
        if np.iscomplexobj(X):
            return self._apply_mat(X.real, left, right) + 1j * self._apply_mat(X.imag, left, right)
        dtype = self._out_dtype(X)
        X = np.ascontiguousarray(X, dtype=dtype)
        if X.shape[1] == 1 and self._binary and dtype == np.float64:
            # The vector kernels compute exactly the same sums here (bitwise) and are faster
            # than the block kernels on one column.  See benchmarks/TUNING.md.
            return self._apply_vec(X[:, 0], left, right).reshape(-1, 1)
        if self._use_locality(X):
            Y = self._apply_mat_local(X, left, right)
        else:
            Y = np.empty_like(X)
            self._gathers(
                (self._csc.indptr, self._csc.indices, self._csc.data),
                (self._csr.indptr, self._csr.indices, self._csr.data),
                left,
                self._edge_scale,
                right,
                X,
                Y,
                _prefetch_distance(X),
            )
        if self._diag is not None:
            Y += self._diag[:, None] * X
        return Y

    def _gathers(self, csc_arrays, csr_arrays, left, edge_scale, right, X, Y, pf):
        """``Y = diag(left) H diag(edge_scale) Hᵀ diag(right) X`` by the two gather passes."""
        from . import _kernels

        Z = np.empty((csc_arrays[0].shape[0] - 1, X.shape[1]), dtype=Y.dtype)
        # the right scaling is fused into pass 1 (one extra scalar per gathered row)
        with serial_below(csr_arrays[1].shape[0] * X.shape[1]):
            if self._binary:
                _kernels.gather_mat_pattern(
                    csc_arrays[0], csc_arrays[1], edge_scale, right, X, Z, pf
                )
                _kernels.gather_mat_pattern(
                    csr_arrays[0], csr_arrays[1], left, self._ones_m, Z, Y, pf
                )
            else:
                _kernels.gather_mat(*csc_arrays, edge_scale, right, X, Z, pf)
                _kernels.gather_mat(*csr_arrays, left, self._ones_m, Z, Y, pf)

    def _apply_mat_local(self, X, left, right):
        """The gathers on the locality-ordered incidence: ``Y[π] = A_π X[π]``; bitwise equal to
        the plain product (see ``_locality.LocalLayout``)."""
        layout = _locality.local_layout(self._csr, self._csc, self._binary)
        order = layout.vorder
        # one C-contiguous copy of the permuted rows in, one out: O(n k), far below the gathers
        x_perm = X[order]
        y_perm = np.empty_like(x_perm)
        self._gathers(
            layout.csc,
            layout.csr,
            left[order],
            self._edge_scale[layout.eorder],
            right[order],
            x_perm,
            y_perm,
            _prefetch_distance(x_perm),
        )
        Y = np.empty_like(y_perm)
        Y[order] = y_perm
        return Y

    def _use_locality(self, X):
        """Whether ``matmat`` runs on the locality-ordered incidence (see ``_locality``)."""
        return self._csr.nnz > 0 and _locality.pays_off(X)

    def _matvec(self, x):
        return self._apply_vec(x, self._left, self._right)

    def _rmatvec(self, x):
        return self._apply_vec(x, self._right, self._left)

    def _matmat(self, X):
        return self._apply_mat(X, self._left, self._right)

    def _rmatmat(self, X):
        return self._apply_mat(X, self._right, self._left)

    def _transposed(self):
        if self.symmetric:
            return self
        return IncidenceProductOperator(
            self._csr,
            self._csc,
            self._right,
            self._edge_scale,
            self._left,
            self._diag,
            binary=self._binary,
            symmetric=False,
            dtype=self.dtype,
        )

    def _adjoint(self):
        return self._transposed()

    def _transpose(self):
        return self._transposed()

    # -- precision -------------------------------------------------------------------------------

    def astype(self, dtype):
        r"""The same operator computing in ``dtype``, sharing the incidence matrix.

        Only the scale vectors ``a``, ``s``, ``b`` and ``c`` are copied (rounded from this
        operator's values, so a float32 copy of a float64 operator is at least as accurate as
        one built from a float32 hypergraph); the CSR/CSC incidence ``H`` -- index arrays and
        values -- is the same object.  Used by
        ``hyperlearn.linalg.block_cg(..., precision="mixed")`` for its float32 inner solves.

        Parameters
        ----------
        dtype : numpy.float32 or numpy.float64

        Returns
        -------
        IncidenceProductOperator
            ``self`` when ``dtype`` is already the operator's; otherwise a new
            :class:`IncidenceProductOperator` (also for a :class:`HypergraphOperator`: its
            ``hypergraph`` keeps its own dtype, so the copy does not claim to be its operator).

        Raises
        ------
        ValueError
            ``dtype`` is not float32 or float64.

        Notes
        -----
        A product in float32 differs from the float64 one entrywise by at most
        :math:`\gamma_K (|c| |x| + |a| |H| |s| |H|^T |b| |x|)` with
        :math:`\gamma_K = K u / (1 - K u)`, :math:`u = 2^{-24}` and
        :math:`K = \max_e |e| + \max_v \deg(v) + 7`: along one path of the two gather
        passes the two sums make at most ``|e| - 1`` and ``deg(v) - 1`` roundings, the casts of
        the scales and the scalar products at most 9 more (with the diagonal term and a
        non-binary ``H``).  A non-binary ``H`` keeps its values' dtype: the kernels then form
        ``h * scale`` in the wider type.

        Examples
        --------
        >>> import numpy as np
        >>> from hyperlearn import Hypergraph
        >>> theta = Hypergraph.from_edges([[0, 1, 2], [2, 3]]).normalized_adjacency()
        >>> theta32 = theta.astype(np.float32)
        >>> theta32.dtype
        dtype('float32')
        >>> x = np.arange(4.0)
        >>> bool(np.allclose(theta32 @ x.astype(np.float32), theta @ x, rtol=1e-6))
        True
        """
        try:
            dtype = np.dtype(dtype)
        except TypeError as exc:
            raise ValueError(
                f"astype: dtype={dtype!r} is not a dtype; expected numpy.float32 or numpy.float64."
            ) from exc
        if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise ValueError(
                f"astype: dtype={dtype} is not supported; expected numpy.float32 or numpy.float64."
            )
        if dtype == self.dtype:
            return self
        return IncidenceProductOperator(
            self._csr,
            self._csc,
            self._left,
            self._edge_scale,
            self._right,
            self._diag,
            binary=self._binary,
            symmetric=self.symmetric,
            dtype=dtype,
        )

    # -- structure -------------------------------------------------------------------------------

    def diagonal(self):
        """The diagonal of the operator, in O(nnz(H)) (no product with the identity).

        ``A[v, v] = c_v + a_v b_v Σ_e h_ve² s_e``.
        """
        H = self._csr.astype(np.float64)
        if not self._binary:
            H = H.multiply(H).tocsr()
        d = np.asarray(H @ self._edge_scale.astype(np.float64)).ravel()
        d *= self._left.astype(np.float64) * self._right.astype(np.float64)
        if self._diag is not None:
            d += self._diag
        return d.astype(self.dtype)

    def principal_block(self, index):
        """Matrix-free principal submatrix ``A[index][:, index]``.

        The scalings (so the degrees) stay those of the whole hypergraph: this is a block of
        ``A``, not the operator of an induced sub-hypergraph.  Hyperedges with no member in
        ``index`` are dropped from the block's incidence.

        Parameters
        ----------
        index : array-like of int, or boolean mask of length ``shape[0]``
            Row/column indices (in the order wanted).

        Returns
        -------
        IncidenceProductOperator
            Of shape ``(len(index), len(index))``, same dtype and kernels.

        Raises
        ------
        ValueError
            Indices out of range, a mask of the wrong length, or a non-1-D index.
        """
        n = self.shape[0]
        idx = np.asarray(index)
        if idx.dtype == bool:
            if idx.shape != (n,):
                raise ValueError(
                    f"index is a boolean mask of shape {idx.shape}: expected shape ({n},)."
                )
            idx = np.flatnonzero(idx)
        elif idx.ndim != 1 or (idx.size and idx.dtype.kind not in "iu"):
            raise ValueError(
                f"index={describe(idx)} is invalid: expected a 1-D array of integer vertex "
                "indices or a boolean mask."
            )
        idx = idx.astype(np.int64, copy=False)
        if idx.size and (idx.min() < -n or idx.max() >= n):
            raise ValueError(f"index has entries out of range for an operator of size {n}.")
        idx = np.where(idx < 0, idx + n, idx)
        sub = self._csr[idx]
        used = np.flatnonzero(np.bincount(sub.indices, minlength=self._csr.shape[1]))
        sub = sub[:, used].tocsr()
        sub.sort_indices()
        csc = sub.tocsc()
        csc.sort_indices()
        return IncidenceProductOperator(
            sub,
            csc,
            self._left[idx],
            self._edge_scale[used],
            self._right[idx],
            None if self._diag is None else self._diag[idx],
            binary=self._binary,
            symmetric=self.symmetric,
            dtype=self.dtype,
        )

    def to_sparse(self, *, nnz_budget=None):
        """The explicit matrix as ``scipy.sparse.csr_matrix`` of ``self.dtype``.

        Parameters
        ----------
        nnz_budget : int, default=None
            Refuse, before allocating, when the predicted nonzeros ``Σ_e |e|² (+ n)`` exceed
            it; ``None`` uses :data:`DEFAULT_NNZ_BUDGET`.

        Raises
        ------
        NnzBudgetError
            (a ``MemoryError``) when over budget.
        """
        n = self.shape[0]
        check_nnz_budget(
            np.diff(self._csc.indptr),
            nnz_budget,
            what=f"the explicit {n}x{n} operator",
            extra=0 if self._diag is None else n,
        )
        H = self._csr.astype(self.dtype)
        A = sp.diags(self._left) @ H @ sp.diags(self._edge_scale) @ (H.T @ sp.diags(self._right))
        if self._diag is not None:
            A = A + sp.diags(self._diag)
        A = sp.csr_matrix(A, dtype=self.dtype)
        A.sort_indices()
        return A


class HypergraphOperator(IncidenceProductOperator):
    r"""Matrix-free normalized adjacency Θ (or a Laplacian) of a :class:`Hypergraph`.

    .. math:: Θ = D_v^{-1/2} H W D_e^{-1} H^T D_v^{-1/2}

    applied without forming Θ: two parallel gather passes over the incidence matrix, scalings
    fused, cost ``O(nnz(H))`` per column.  Usually obtained from
    :meth:`Hypergraph.normalized_adjacency` or :meth:`Hypergraph.laplacian`, which cache it on
    the (immutable) hypergraph.

    Parameters
    ----------
    hypergraph : Hypergraph
    kind : {"adjacency", "normalized", "random_walk", "unnormalized"}, default="adjacency"
        Θ, ``I − Θ``, ``I − Dv^{-1} H W De^{-1} Hᵀ``, or ``Dv − H W De^{-1} Hᵀ``.

    Attributes
    ----------
    hypergraph : Hypergraph
    kind : str
    symmetric : bool
        False only for ``"random_walk"``.
    dtype, shape
        As for any ``LinearOperator``; the dtype is the hypergraph's.

    Notes
    -----
    Isolated vertices (weighted degree 0) have zero rows and columns in Θ (their scaling
    ``d^{-1/2}`` is taken as 0).  For any non-negative weights Θ is symmetric PSD with
    spectrum in [0, 1] and ``Θ Dv^{1/2} 1 = Dv^{1/2} 1`` on the non-isolated vertices.

    Examples
    --------
    >>> import numpy as np
    >>> from hyperlearn import Hypergraph
    >>> hg = Hypergraph.from_edges([[0, 1, 2], [2, 3]], weights=[1.0, 2.0])
    >>> theta = hg.normalized_adjacency()
    >>> u = np.sqrt(hg.vertex_degrees)
    >>> bool(np.allclose(theta @ u, u))
    True
    """

    def __init__(self, hypergraph, kind="adjacency"):
        check_choice(kind, "kind", OPERATOR_KINDS)
        d = hypergraph.vertex_degrees
        delta = hypergraph.edge_degrees.astype(np.float64)
        w = hypergraph.weights.astype(np.float64)
        if kind != "unnormalized":
            _check_weight_range(w, hypergraph.dtype, kind)
            if w.size and _extreme_scale(w.max(), hypergraph.dtype):
                # Θ, I − Θ and I − Dv⁻¹HWDe⁻¹Hᵀ do not change when w is scaled, but their
                # factors do: with weights near the limits of the dtype the scalings over- or
                # underflowed (float32 weights of 1e-45 gave edge scales of 0, so Θ = 0).  Such
                # weights are scaled by a power of two (exact) to a largest weight in [0.5, 1),
                # and the degrees summed again as ``vertex_degrees`` sums them.  Ordinary
                # weights keep the hypergraph's own degrees, bit for bit.
                w = np.ldexp(w, -np.frexp(w.max())[1])
                d = np.asarray(hypergraph.incidence.astype(np.float64) @ w).ravel()
                d = d.astype(hypergraph.dtype)
        edge_scale = np.divide(w, delta, out=np.zeros_like(w), where=delta > 0)
        n = hypergraph.n_vertices
        diag = None
        if kind == "adjacency":
            left = right = _safe_power(d, -0.5)
        elif kind == "normalized":
            right = _safe_power(d, -0.5)
            left = -right
            diag = np.ones(n)
        elif kind == "random_walk":
            left = -_safe_power(d, -1.0)
            right = np.ones(n)
            diag = np.ones(n)
        else:
            left = -np.ones(n)
            right = np.ones(n)
            diag = np.asarray(d, dtype=np.float64)
        super().__init__(
            hypergraph.incidence,
            hypergraph.incidence_csc,
            left,
            edge_scale,
            right,
            diag,
            binary=hypergraph.is_binary,
            symmetric=kind != "random_walk",
            dtype=hypergraph.dtype,
        )
        self.hypergraph = hypergraph
        self.kind = kind

    def __repr__(self):
        n = self.shape[0]
        return (
            f"<{n}x{n} HypergraphOperator kind={self.kind!r} dtype={self.dtype} "
            f"n_edges={self.hypergraph.n_edges} nnz(H)={self.hypergraph.nnz}>"
        )


def edge_statistics(hypergraph, F):
    """See :meth:`Hypergraph.edge_statistics`."""
    from . import _kernels

    F = np.asarray(F) if not hasattr(F, "shape") else F
    if getattr(F, "ndim", None) == 1:
        F = F.reshape(-1, 1)
    F = check_matrix(F, "F", min_cols=0)
    if F.shape[0] != hypergraph.n_vertices:
        raise ValueError(f"F has {F.shape[0]} rows: expected n_vertices={hypergraph.n_vertices}.")
    dtype = np.result_type(hypergraph.dtype, F.dtype)
    F = np.ascontiguousarray(F, dtype=dtype)
    colscale = _safe_power(hypergraph.vertex_degrees, -0.5).astype(dtype)
    edgescale = _safe_power(hypergraph.edge_degrees, -1.0).astype(dtype)
    csc = hypergraph.incidence_csc
    out = np.empty(hypergraph.n_edges, dtype=dtype)
    with serial_below(csc.nnz * F.shape[1]):
        _kernels.edge_statistics(
            csc.indptr, csc.indices, csc.data, colscale, edgescale, F, out, _prefetch_distance(F)
        )
    return out

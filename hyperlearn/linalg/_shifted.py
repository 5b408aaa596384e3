"""``I − αΘ`` applied matrix-free: the system matrix of label propagation."""

from __future__ import annotations

import numpy as np
from scipy.sparse import issparse
from scipy.sparse.linalg import LinearOperator

from ..utils._validation import check_real, describe, float_dtype_of

__all__ = ["ShiftedOperator", "shifted"]


def shifted(theta, alpha):
    """The operator ``I − α Θ``, never formed, that ``block_cg(precision="mixed")`` can cast.

    Parameters
    ----------
    theta : {ndarray, sparse matrix or array, LinearOperator} of shape (n, n)
        Real square matrix or operator, typically a normalized adjacency
        (:meth:`hyperlearn.Hypergraph.normalized_adjacency`).  Integer and boolean arrays are
        converted to float64, float16 to float32.
    alpha : float
        The shift ``α`` (for label propagation ``0 <= α < 1``, which keeps ``I − αΘ``
        positive definite when the spectrum of ``Θ`` lies in [-1, 1]).

    Returns
    -------
    ShiftedOperator
        A :class:`~scipy.sparse.linalg.LinearOperator` of ``theta``'s shape and dtype
        applying ``x ↦ x − α Θ x`` (one product with ``Θ``); ``astype(dtype)`` returns the same
        operator computing in ``dtype`` (``Θ`` cast: arrays and sparse matrices by their own
        ``astype``, operators such as ``HypergraphOperator`` through theirs);
        ``diagonal()`` is ``1 − α diag(Θ)`` when ``Θ`` has a cheap diagonal (so
        :func:`jacobi_preconditioner` accepts it).

    Raises
    ------
    TypeError
        ``theta`` is not an array, a sparse matrix or a LinearOperator, or its dtype is not
        real; ``alpha`` is not a real number.
    ValueError
        ``theta`` is not square (2-D); ``alpha`` is NaN or infinite.

    Notes
    -----
    ``precision="mixed"`` of :func:`block_cg` runs its inner iterations on
    ``A.astype(float32)``.  SciPy's operator algebra (``aslinearoperator(I) - alpha * theta``)
    builds a composite without ``astype``, which ``precision="mixed"`` refuses; this operator
    is the public way to the same ``I − αΘ`` with a float32 copy (for a
    ``HypergraphOperator`` the copy shares the incidence and casts only its scale vectors).

    Examples
    --------
    >>> import numpy as np
    >>> from hyperlearn.linalg import block_cg, shifted
    >>> theta = np.array([[0.0, 0.5, 0.5], [0.5, 0.0, 0.5], [0.5, 0.5, 0.0]])
    >>> A = shifted(theta, 0.9)
    >>> A @ np.ones(3)
    array([0.1, 0.1, 0.1])
    >>> A.astype(np.float32).dtype
    dtype('float32')
    >>> X, info = block_cg(A, np.eye(3), rtol=1e-10, precision="mixed")
    >>> info
    0
    >>> bool(np.allclose((np.eye(3) - 0.9 * theta) @ X, np.eye(3), atol=1e-9))
    True
    """
    alpha = check_real(alpha, "alpha")
    if isinstance(theta, np.ndarray) or issparse(theta):
        dtype = float_dtype_of(theta.dtype, "theta")
        theta = theta.astype(dtype, copy=False)
    elif not isinstance(theta, LinearOperator):
        raise TypeError(
            f"theta={describe(theta)} is not valid: expected an ndarray, a scipy sparse "
            "matrix/array or a LinearOperator."
        )
    elif theta.dtype is None or np.dtype(theta.dtype).kind != "f":
        raise TypeError(f"theta has dtype {theta.dtype}: expected a real floating dtype.")
    if len(theta.shape) != 2 or theta.shape[0] != theta.shape[1]:
        raise ValueError(f"theta has shape {theta.shape}: expected a square (n, n) operator.")
    return ShiftedOperator(theta, alpha)


class ShiftedOperator(LinearOperator):
    """``I − α Θ`` for a symmetric operator ``Θ`` (e.g. a ``HypergraphOperator``), never formed.

    One product with ``Θ`` per application (``Θ`` an ndarray, a sparse matrix or a
    LinearOperator); ``diagonal()`` is ``1 − α diag(Θ)`` when ``Θ`` has a cheap ``diagonal()``
    (so :func:`hyperlearn.linalg.jacobi_preconditioner` accepts it).  Build it with
    :func:`shifted`, which validates its inputs.
    """

    def __init__(self, theta, alpha):
        self.theta = theta
        self.alpha = float(alpha)
        super().__init__(dtype=theta.dtype, shape=theta.shape)

    def _theta_times(self, X):
        if isinstance(self.theta, LinearOperator):
            return self.theta.matvec(X) if X.ndim == 1 else self.theta.matmat(X)
        return self.theta @ X

    def _matvec(self, x):
        x = np.asarray(x).reshape(-1)
        return x - self.alpha * np.asarray(self._theta_times(x)).reshape(-1)

    def _matmat(self, X):
        Y = np.asarray(self._theta_times(X))
        if Y.dtype != np.result_type(X, Y) or not Y.flags.writeable or np.shares_memory(Y, X):
            return X - self.alpha * Y
        # in place: one n x k temporary fewer per product (block CG applies this every step)
        Y *= -self.alpha
        Y += X
        return Y

    def _adjoint(self):
        return self

    def astype(self, dtype):
        """``I − α Θ`` computing in ``dtype``: ``Θ`` cast (see below), ``α`` unchanged.

        Parameters
        ----------
        dtype : numpy.float32 or numpy.float64

        Returns
        -------
        ShiftedOperator
            ``self`` when ``dtype`` is already the operator's dtype; otherwise
            ``ShiftedOperator(Θ', α)`` with ``Θ' = Θ.astype(dtype)`` (for a
            ``HypergraphOperator`` a copy of its scale vectors only, sharing the incidence).

        Raises
        ------
        ValueError
            ``Θ`` has no ``astype`` method (a generic ``LinearOperator``), or
            ``dtype`` is not a real floating type.
        """
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise ValueError(
                f"ShiftedOperator.astype: dtype={dtype} is not supported; expected a real "
                "floating dtype such as numpy.float32 or numpy.float64."
            )
        if dtype == self.dtype:
            return self
        if not callable(getattr(self.theta, "astype", None)):
            raise ValueError(
                f"ShiftedOperator.astype: Θ of type {type(self.theta).__name__} has no "
                "`astype(dtype)` method, so I − αΘ cannot be cast to "
                f"{dtype.name}; give Θ such a method (returning Θ computing in that dtype)."
            )
        return ShiftedOperator(self.theta.astype(dtype), self.alpha)

    def diagonal(self):
        return 1.0 - self.alpha * np.asarray(self.theta.diagonal())

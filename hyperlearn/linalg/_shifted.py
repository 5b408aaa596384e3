"""``I − αΘ`` applied matrix-free: the system matrix of label propagation."""

from __future__ import annotations

import numpy as np
from scipy.sparse.linalg import LinearOperator

__all__ = ["ShiftedOperator"]


class ShiftedOperator(LinearOperator):
    """``I − α Θ`` for a symmetric operator ``Θ`` (e.g. a ``HypergraphOperator``), never formed.

    One product with ``Θ`` per application; ``diagonal()`` is ``1 − α diag(Θ)`` when ``Θ`` has a
    cheap ``diagonal()`` (so :func:`hyperlearn.linalg.jacobi_preconditioner` accepts it).
    """

    def __init__(self, theta, alpha):
        self.theta = theta
        self.alpha = float(alpha)
        super().__init__(dtype=theta.dtype, shape=theta.shape)

    def _matvec(self, x):
        x = np.asarray(x).reshape(-1)
        return x - self.alpha * self.theta.matvec(x)

    def _matmat(self, X):
        Y = np.asarray(self.theta.matmat(X))
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
        return 1.0 - self.alpha * self.theta.diagonal()

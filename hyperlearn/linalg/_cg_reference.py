"""NumPy twins of the fused lockstep-CG kernels of ``_cg_kernels.py``.

Each method computes, with plain NumPy expressions, what the kernel of the same name computes
in one fused pass.  They serve as the oracle of the kernel tests
(``tests/hyperlearn/linalg/test_cg_kernels.py``) and as the implementation for complex dtypes,
which the Numba kernels do not cover.
"""

from __future__ import annotations

from ._cg_system import column_dots

__all__ = ["NumpyBatchedOps"]


class NumpyBatchedOps:
    """The fused updates of lockstep CG in NumPy (same signatures as ``NumbaBatchedOps``)."""

    @staticmethod
    def column_dots(P, Q):
        """``out[j] = Re(p_jᴴ q_j)``."""
        return column_dots(P, Q)

    @staticmethod
    def residual_update(R, Q, a):
        """``R -= Q · diag(a)`` in place; returns the squared column norms of the new ``R``."""
        R -= Q * a.astype(R.dtype)
        return column_dots(R, R)

    @staticmethod
    def direction_update(X, P, Z, a, beta):
        """``X += P · diag(a)``, then ``P = Z + P · diag(beta)``, in place."""
        X += P * a.astype(X.dtype)
        P *= beta.astype(P.dtype)
        P += Z

    @staticmethod
    def fold_update(X, x_cols, X_lo, P, a, scale, cols):
        """``X[:, x_cols[k]] += scale[c] (X_lo[:, c] + a[c] P[:, c])`` and ``X_lo[:, c] = 0``
        for ``c = cols[k]``."""
        step = X_lo[:, cols].astype(X.dtype) + P[:, cols].astype(X.dtype) * a[cols]
        X[:, x_cols] += step * scale[cols]
        X_lo[:, cols] = 0

    @staticmethod
    def replace_residuals(R, P, cols, R_true, inv_norm, rescale):
        """``R[:, c] = R_true[:, k] inv_norm[k]`` and ``P[:, c] *= rescale[k]``."""
        R[:, cols] = R_true * inv_norm
        P[:, cols] *= rescale.astype(P.dtype)

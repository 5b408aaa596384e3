"""``block_cg(precision="mixed")``: lockstep CG in low precision with reliable updates.

Steps M1-M6 of the Notes of :func:`hyperlearn.linalg.block_cg`.  Each column runs the
recurrence of :func:`~hyperlearn.linalg.cg` on its residual scaled to unit norm, in float32
(complex64), with one low-precision product per iteration for all active columns.  The
low-precision iterate is an update to the working-precision iterate; whenever a column's
recursive residual has fallen by ``MIXED_RELIABLE_UPDATE`` since its last update, the update
is folded in and the TRUE residual recomputed in working precision (Sleijpen & van der Vorst
1996), without restarting the search direction.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import issparse
from scipy.sparse.linalg import LinearOperator, aslinearoperator

from ._cg_lockstep import DEFAULT_BATCHED_WIDTH, batched_ops, lockstep_on_columns
from ._cg_system import STAGNATION_LIMIT, apply, nonfinite, positive

#: The low precision of the inner solves for each working dtype.  Other dtypes (float32,
#: complex64: already the low precision) solve in working precision.
LOW_PRECISION = {
    np.dtype(np.float64): np.dtype(np.float32),
    np.dtype(np.complex128): np.dtype(np.complex64),
}

# A reliable update when a column's recursive residual has fallen by this factor since the
# last one; it must stay well above the drift κ·eps32 of the low-precision recurrence.
# See benchmarks/TUNING.md.
MIXED_RELIABLE_UPDATE = 1e-3
# ... and at the latest every min(MIXED_UPDATE_PERIOD, n) iterations (CG ends within n in exact
# arithmetic), which feeds the stagnation guard.  See benchmarks/TUNING.md.
MIXED_UPDATE_PERIOD = 100
# A column whose true residual fails STAGNATION_LIMIT consecutive updates without falling
# below this factor times its best is finished in working precision.  See benchmarks/TUNING.md.
MIXED_MIN_REDUCTION = 0.5


def low_precision_operator(A, dtype):
    """``A`` computing in ``dtype`` for the inner solves of ``precision="mixed"``.

    ndarrays and scipy sparse matrices are cast; an operator must offer ``astype(dtype)``
    (as ``HypergraphOperator`` and ``ShiftedOperator`` do).  A generic LinearOperator cannot be
    cast: wrapping it (cast in, product in float64, cast out) would make each inner product
    cost MORE than a working-precision one, defeating the purpose.
    """
    if issparse(A):
        return aslinearoperator(A.astype(dtype))
    if isinstance(A, LinearOperator) or hasattr(A, "matvec"):
        if A.dtype == dtype:
            return A
        astype = getattr(A, "astype", None)
        if not callable(astype):
            raise ValueError(
                f"block_cg: precision='mixed' needs `A` in {dtype.name} for its inner solves, "
                f"but `A` of type {type(A).__name__} has no `astype(dtype)` method; pass an "
                "ndarray, a scipy sparse matrix/array or an operator with `astype` (e.g. "
                "hyperlearn.linalg.shifted(theta, alpha), a HypergraphOperator), or use "
                "precision='working'."
            )
        return aslinearoperator(astype(dtype))
    return aslinearoperator(np.asarray(A).astype(dtype))


class CastPreconditioner(LinearOperator):
    """A preconditioner applied in its own precision to low-precision blocks (cast in/out)."""

    def __init__(self, M, dtype):
        self.M = M
        super().__init__(dtype=dtype, shape=M.shape)

    def _matvec(self, x):
        return np.asarray(self.M.matvec(np.asarray(x, dtype=self.M.dtype)), dtype=self.dtype)

    def _matmat(self, X):
        return np.asarray(self.M.matmat(np.asarray(X, dtype=self.M.dtype)), dtype=self.dtype)

    def _adjoint(self):
        return self


def low_precision_preconditioner(M_in, M, dtype):
    """The inner solves' preconditioner: ``M`` cast like ``A`` where it can be (ndarray,
    sparse, ``astype``), otherwise ``M`` itself applied to cast blocks (a generic operator,
    ``A.psolve``).  Its precision only affects the inner convergence rate: the outer loop
    checks the true residual in working precision."""
    if M is None:
        return None
    if M_in is not None:
        if issparse(M_in) or isinstance(M_in, np.ndarray):
            return low_precision_operator(M_in, dtype)
        if callable(getattr(M_in, "astype", None)) and hasattr(M_in, "matvec"):
            return low_precision_operator(M_in, dtype)
    return CastPreconditioner(M, dtype)


class _Chunk:
    """Low-precision state of the active columns of one chunk (Steps M1-M5)."""

    FIELDS = ("active", "tol", "rz", "scale", "last", "best", "failed", "since")
    BLOCKS = ("X_lo", "R", "P")

    def keep(self, stay):
        """Drop the columns not in the mask ``stay``."""
        for name in self.FIELDS:
            setattr(self, name, getattr(self, name)[stay])
        for name in self.BLOCKS:
            setattr(self, name, np.ascontiguousarray(getattr(self, name)[:, stay]))


class MixedCG:
    """``precision="mixed"`` over the columns of a :class:`System` (Steps M1-M6)."""

    def __init__(self, system, A_low, M_low, block_size, callback, history):
        self.sys = system
        self.A_low = A_low
        self.M_low = M_low
        self.block_size = block_size
        self.callback = callback
        self.history = history
        self.low = LOW_PRECISION[system.dtype]
        self.ops = batched_ops(self.low)
        self.iterations = 0  # low- and working-precision iterations, in total

    def run(self):
        sys_ = self.sys
        X, B = sys_.x, sys_.b
        s = B.shape[1]
        X[:, sys_.bnorm == 0] = 0  # A x = 0 has the unique solution 0 (A positive definite)
        self.R0 = None
        product0 = None
        if X.any():
            product0 = apply(sys_.A, X, sys_.dtype, name=sys_.name)
            self.R0 = B - product0
            self.resnorm = np.linalg.norm(self.R0, axis=0)
        else:
            self.resnorm = sys_.bnorm.copy()
        if self.history is not None:
            self.history[:] = [self.resnorm.copy()]
        if not np.all(np.isfinite(self.resnorm)):
            return X, nonfinite(sys_, "A", product0)
        self.converged = self.resnorm <= sys_.tol
        self.fallback = np.zeros(s, dtype=bool)
        waiting = np.flatnonzero(~self.converged)
        n_chunks = -(-waiting.size // self.width())
        for chunk in np.array_split(waiting, max(n_chunks, 1)):
            if chunk.size and self.iterations < sys_.maxiter:
                self._solve(chunk)
        info = 0
        rest = np.flatnonzero(self.fallback & ~self.converged)
        budget = sys_.maxiter - self.iterations
        if rest.size and budget > 0:
            info = min(self._working_precision(rest, budget), 0)  # > 0: counted in total below
        if info == 0 and not np.all(self.converged):
            info = max(self.iterations, 1)
        return X, info

    def width(self):
        return DEFAULT_BATCHED_WIDTH if self.block_size is None else int(self.block_size)

    def _apply_low(self, op, V, param):
        return np.ascontiguousarray(apply(op, V, self.low, name=self.sys.name, param=param))

    def _true_residuals(self, cols):
        sys_ = self.sys
        X_c = np.ascontiguousarray(sys_.x[:, cols])
        return sys_.b[:, cols] - apply(sys_.A, X_c, sys_.dtype, name=sys_.name)

    def _record(self, active, X_lo, scale):
        if self.history is not None:
            self.history.append(self.resnorm.copy())
        if self.callback is not None:
            X = self.sys.x.copy()
            X[:, active] += X_lo.astype(self.sys.dtype) * scale
            self.callback(X)

    def _start(self, active):
        """Step M1: the true residuals scaled to unit norm (float32's range is then no issue
        however small they become) and cast; returns the chunk, or None on breakdown."""
        sys_, low = self.sys, self.low
        c = _Chunk()
        c.active, c.tol = active, sys_.tol[active]
        c.scale = self.resnorm[active].copy()
        R_true = sys_.b[:, active] if self.R0 is None else self.R0[:, active]
        c.R = np.ascontiguousarray(R_true / c.scale, dtype=low)
        c.X_lo = np.zeros((sys_.x.shape[0], active.size), dtype=low)
        c.last = c.scale.copy()  # true residual norm at the last reliable update
        c.since = np.zeros(active.size, dtype=int)  # iterations since then
        c.best = c.scale.copy()
        c.failed = np.zeros(active.size, dtype=int)
        Z = c.R if self.M_low is None else self._apply_low(self.M_low, c.R, "M")
        c.rz = self.ops.column_dots(c.R, Z)
        if not positive(c.rz):
            self._abandon(active)
            return None
        c.P = Z.copy()
        return c

    def _solve(self, active):
        """Steps M1-M5 for the columns ``active`` (one chunk)."""
        c = self._start(active)
        if c is None:
            return
        period = min(MIXED_UPDATE_PERIOD, self.sys.x.shape[0])
        while c.active.size and self.iterations < self.sys.maxiter:
            if not self._step(c, period):
                return
        if c.active.size:  # out of iterations
            self.sys.x[:, c.active] += c.X_lo.astype(self.sys.dtype) * c.scale

    def _step(self, c, period):
        """One low-precision iteration of the chunk ``c``; False after a breakdown."""
        ops = self.ops
        Q = self._apply_low(self.A_low, c.P, "A")  # Step M2
        pq = ops.column_dots(c.P, Q)
        if not positive(pq):
            self._abandon(c.active, c.X_lo, c.scale)
            return False
        a = c.rz / pq
        rr = ops.residual_update(c.R, Q, a)
        del Q
        self.iterations += 1
        estimate = np.sqrt(rr) * c.scale
        c.since += 1
        update = np.flatnonzero(  # Step M3
            (estimate <= MIXED_RELIABLE_UPDATE * c.last) | (estimate <= c.tol) | (c.since >= period)
        )
        leaving = np.zeros(c.active.size, dtype=bool)
        rescale = np.ones(c.active.size)
        if update.size:
            self._reliable_update(c, update, a, rr, estimate, leaving, rescale)
        self.resnorm[c.active] = estimate
        if self.M_low is None:
            Z, rz_next = c.R, rr
        else:
            Z = self._apply_low(self.M_low, c.R, "M")
            rz_next = ops.column_dots(c.R, Z)
        stay = ~leaving
        if not positive(rz_next[stay]):
            self._abandon(c.active[stay], c.X_lo[:, stay], c.scale[stay])
            return False
        beta = np.where(leaving, 0.0, rz_next / (c.rz * rescale**2))  # Step M5
        ops.direction_update(c.X_lo, c.P, Z, a, beta)
        c.rz = rz_next
        if leaving.any():
            c.keep(stay)
        self._record(c.active, c.X_lo, c.scale)
        return True

    def _reliable_update(self, c, update, a, rr, estimate, leaving, rescale):
        """Steps M3-M4 for the columns ``update`` of the chunk (arrays updated in place)."""
        cols = c.active[update]
        self.ops.fold_update(self.sys.x, cols, c.X_lo, c.P, a, c.scale, update)
        a[update] = 0.0  # already folded in: the direction update must not repeat it
        R_true = self._true_residuals(cols)
        true = np.linalg.norm(R_true, axis=0)
        estimate[update] = true
        done = true <= c.tol[update]
        self.converged[cols[done]] = True
        # the stagnation guard of cg, on the true residuals at the updates
        improved = true < MIXED_MIN_REDUCTION * c.best[update]
        c.failed[update] = np.where(improved, 0, c.failed[update] + 1)
        c.best[update] = np.minimum(c.best[update], true)
        stalled = ~done & ((c.failed[update] >= STAGNATION_LIMIT) | ~np.isfinite(true))
        self.fallback[cols[stalled]] = True
        leaving[update] = done | stalled
        keep = ~(done | stalled)
        k = update[keep]
        # Step M4: the true residual replaces the recursive one, in the new scale; the
        # direction is rescaled, not restarted.
        rescale[k] = c.scale[k] / true[keep]
        c.scale[k] = c.last[k] = true[keep]
        c.since[k] = 0
        R_keep = np.ascontiguousarray(R_true[:, keep])
        self.ops.replace_residuals(c.R, c.P, k, R_keep, 1.0 / true[keep], rescale[k])
        rr[k] = 1.0  # R[:, k] has unit norm (to the rounding of its cast)

    def _abandon(self, active, X_lo=None, scale=None):
        """A low-precision breakdown (non-finite, or a curvature rᴴMr / pᴴAp <= 0): the
        columns go to working precision, which decides (Step M6)."""
        if X_lo is not None and np.all(np.isfinite(X_lo)):
            self.sys.x[:, active] += X_lo.astype(self.sys.dtype) * scale
        self.fallback[active] = True

    def _working_precision(self, cols, budget):
        """Step M6: the columns low precision could not finish, solved by lockstep CG in
        working precision from their current iterate; returns its info."""
        info, history = lockstep_on_columns(self.sys, cols, budget, self.block_size, self.callback)
        self.iterations += len(history) - 1
        if info == 0:
            self.converged[cols] = True
        if self.history is not None:
            for norms in history[1:]:
                self.resnorm[cols] = norms
                self.history.append(self.resnorm.copy())
        return info

"""Lockstep CG (``block_cg(method="batched")``): one CG recurrence per column, one product.

Each column follows the recurrence of :func:`hyperlearn.linalg.cg` with its own step lengths;
the columns share only the product ``A @ P`` with all active directions.  The vector updates
are the fused Numba kernels of ``_cg_kernels.py`` for real dtypes; complex dtypes use their
NumPy twins in ``_cg_reference.py``.  Also here: Step 8 of ``block_cg`` (true residuals of
apparently converged columns, residual replacement, stagnation guard), shared with block CG.
"""

from __future__ import annotations

import numpy as np

from ._cg_system import (
    INFO_A_NOT_POSITIVE_DEFINITE,
    INFO_M_NOT_POSITIVE_DEFINITE,
    INFO_NONFINITE,
    STAGNATION_FACTOR,
    STAGNATION_LIMIT,
    apply,
    nonfinite,
)

# Widest chunk of columns iterated at once: a product with a wide block costs far less per
# column than a matvec until the blocks leave the cache.  See benchmarks/TUNING.md.
DEFAULT_BATCHED_WIDTH = 64


class NumbaBatchedOps:
    """The fused Numba kernels of ``_cg_kernels``, on one thread for small blocks."""

    def __init__(self):
        from ..utils._numba import serial_below
        from . import _cg_kernels  # imports Numba: only when a batched solve runs

        self._kernels = _cg_kernels
        self._serial_below = serial_below

    def column_dots(self, P, Q):
        with self._serial_below(P.size):
            return self._kernels.column_dots(P, Q)

    def residual_update(self, R, Q, a):
        with self._serial_below(R.size):
            return self._kernels.residual_update(R, Q, a)

    def direction_update(self, X, P, Z, a, beta):
        with self._serial_below(X.size):
            self._kernels.direction_update(X, P, Z, a, beta)

    def fold_update(self, X, x_cols, X_lo, P, a, scale, cols):
        with self._serial_below(X.shape[0] * cols.size):
            self._kernels.fold_update(X, x_cols, X_lo, P, a, scale, cols)

    def replace_residuals(self, R, P, cols, R_true, inv_norm, rescale):
        with self._serial_below(R.shape[0] * cols.size):
            self._kernels.replace_residuals(R, P, cols, R_true, inv_norm, rescale)


def batched_ops(dtype):
    """The fused updates for ``dtype``: Numba kernels (real), NumPy twins (complex)."""
    if dtype.kind == "f":
        return NumbaBatchedOps()
    from ._cg_reference import NumpyBatchedOps

    return NumpyBatchedOps


def check_candidates(system, active, candidates, X_act, R_act, norms, state):
    """True residuals of the apparently converged active columns ``candidates`` (Step 8).

    Shared by both block_cg methods.  A column whose true residual meets its tolerance is marked
    converged in ``state.converged``; the others get their true residual written into ``R_act``
    (residual replacement, as in :func:`cg`) and count towards the stagnation guard
    (``state.failed`` / ``state.best_true``).  ``norms`` receives the true norms.  Returns the
    masks (over the active columns) of the columns leaving the block (converged or given up)
    and of the columns whose residual was replaced.
    """
    leaving = np.zeros(active.size, dtype=bool)
    replaced = np.zeros(active.size, dtype=bool)
    if candidates.size == 0:
        return leaving, replaced
    tol = system.tol[active]
    cols = active[candidates]
    X_c = np.ascontiguousarray(X_act[:, candidates])
    true_residuals = system.b[:, cols] - apply(system.A, X_c, system.dtype, name=system.name)
    true_norms = np.linalg.norm(true_residuals, axis=0)
    for k, (j, col, tn) in enumerate(zip(candidates, cols, true_norms, strict=True)):
        norms[j] = tn
        if tn <= tol[j]:
            state.converged[col] = leaving[j] = True
            continue
        R_act[:, j] = true_residuals[:, k]  # residual replacement
        replaced[j] = True
        if tn < STAGNATION_FACTOR * state.best_true[col]:
            state.failed[col] = 0
        else:
            state.failed[col] += 1
        state.best_true[col] = min(state.best_true[col], tn)
        if state.failed[col] >= STAGNATION_LIMIT:
            leaving[j] = True  # given up: not converged, reported through info > 0
    return leaving, replaced


def check_rz(rz, system=None, Z=None):
    """Breakdown code of the curvatures ``rᴴMr`` (0 when all are finite and positive); a
    non-finite ``Z = M R`` is reported as such (see :func:`nonfinite`)."""
    if not np.all(np.isfinite(rz)):
        return INFO_NONFINITE if system is None else nonfinite(system, "M", Z)
    if np.any(rz <= 0):  # rᴴMr <= 0 with r != 0: M is not positive definite (exact test)
        return INFO_M_NOT_POSITIVE_DEFINITE
    return 0


class BatchedCG:
    """Lockstep CG over the columns of a :class:`System`, in chunks of at most ``width``.

    Work per iteration: one product plus about 10 passes over the n x m active blocks (fused
    kernels) -- no m x m Gram work.
    """

    def __init__(self, system, width, callback, history):
        self.sys = system
        self.width = width
        self.callback = callback
        self.history = history
        self.ops = batched_ops(system.dtype)

    def run(self):
        sys_ = self.sys
        X = sys_.x
        s = sys_.b.shape[1]
        X[:, sys_.bnorm == 0] = 0  # A x = 0 has the unique solution 0 (A positive definite)
        self.R0 = None
        if X.any():
            self.R0 = apply(sys_.A, X, sys_.dtype, copy=True, name=sys_.name)
            np.subtract(sys_.b, self.R0, out=self.R0)
            self.resnorm = np.linalg.norm(self.R0, axis=0)
        else:
            self.resnorm = sys_.bnorm.copy()
        self.converged = self.resnorm <= sys_.tol
        self.best_true = np.full(s, np.inf)
        self.failed = np.zeros(s, dtype=int)
        if self.history is not None:
            self.history[:] = [self.resnorm.copy()]
        waiting = np.flatnonzero(~self.converged)
        n_chunks = -(-waiting.size // self.width)
        info, iterations = 0, 0
        for chunk in np.array_split(waiting, max(n_chunks, 1)):
            if chunk.size:
                info, its = self._solve(chunk)
                iterations += its
                if info < 0:
                    break
        if info == 0 and not np.all(self.converged):
            info = max(iterations, 1)
        return X, info

    def _start(self, active):
        """The blocks of the chunk ``active``; returns the breakdown code of ``rᴴMr``."""
        sys_ = self.sys
        whole = active.size == sys_.b.shape[1]  # the usual case: the blocks are X and B
        self.active = active
        self.X_a = sys_.x if whole else np.ascontiguousarray(sys_.x[:, active])
        if self.R0 is not None:
            self.R_a = self.R0 if whole else np.ascontiguousarray(self.R0[:, active])
        else:
            self.R_a = sys_.b.copy() if whole else np.ascontiguousarray(sys_.b[:, active])
        self.tol_a = sys_.tol[active]
        M = sys_.M
        Z = self.R_a if M is None else np.ascontiguousarray(self._precondition(self.R_a))
        self.rz = self.ops.column_dots(self.R_a, Z) if M is not None else self.resnorm[active] ** 2
        self.P = Z.copy()
        return check_rz(self.rz, sys_, None if M is None else Z)

    def _precondition(self, R):
        return apply(self.sys.M, R, self.sys.dtype, name=self.sys.name, param="M")

    def _solve(self, active):
        """Iterate the columns ``active`` to convergence; returns (breakdown info, iterations)."""
        info = self._start(active)
        iterations = 0
        while info == 0 and self.active.size and iterations < self.sys.maxiter:
            info, counted = self._step()
            iterations += counted
            if info:
                break
            self._report()
        if self.active.size and self.X_a is not self.sys.x:
            self.sys.x[:, self.active] = self.X_a
        return info, iterations

    def _step(self):
        """One lockstep iteration; returns ``(info, iterations done: 0 or 1)``."""
        sys_, dtype, ops = self.sys, self.sys.dtype, self.ops
        P, R_a = self.P, self.R_a
        Q = np.ascontiguousarray(apply(sys_.A, P, dtype, name=sys_.name))
        pq = ops.column_dots(P, Q)
        if not np.all(np.isfinite(pq)):
            return nonfinite(sys_, "A", Q), 0
        if np.any(pq <= 0):  # pᴴAp <= 0 with p != 0: A is not positive definite (exact)
            return INFO_A_NOT_POSITIVE_DEFINITE, 0
        a = self.rz / pq
        rr = ops.residual_update(R_a, Q, a)
        del Q
        norms = np.sqrt(rr)
        # Apparent convergence: the iterate of these columns is brought up to date now (the
        # fused update below does it for the others) and the true residual checked.
        candidates = np.flatnonzero(norms <= self.tol_a)
        if candidates.size:
            self.X_a[:, candidates] += P[:, candidates] * a[candidates].astype(dtype)
            a[candidates] = 0.0
        leaving, restart = check_candidates(
            sys_, self.active, candidates, self.X_a, R_a, norms, self
        )
        rr[restart] = norms[restart] ** 2
        self.resnorm[self.active] = norms
        if sys_.M is None:
            Z, rz_next = R_a, rr
        else:
            Z = np.ascontiguousarray(self._precondition(R_a))
            rz_next = ops.column_dots(R_a, Z)
        info = check_rz(rz_next[~leaving], sys_, None if sys_.M is None else Z)
        if info:
            return info, 1
        # a restarted column continues from its steepest-descent direction, as in cg
        rz = self.rz
        beta = np.where(restart | leaving, 0.0, rz_next / np.where(rz > 0, rz, 1.0))
        ops.direction_update(self.X_a, P, Z, a, beta)
        self.rz = rz_next
        if leaving.any():
            self._retire(leaving)
        return 0, 1

    def _retire(self, leaving):
        """Finished columns leave the chunk (their iterate written back into ``X``)."""
        X = self.sys.x
        if self.X_a is not X:
            X[:, self.active[leaving]] = self.X_a[:, leaving]
        stay = ~leaving
        self.active, self.tol_a, self.rz = self.active[stay], self.tol_a[stay], self.rz[stay]
        self.X_a = np.ascontiguousarray(self.X_a[:, stay])
        self.R_a = np.ascontiguousarray(self.R_a[:, stay])
        self.P = np.ascontiguousarray(self.P[:, stay])

    def _report(self):
        if self.history is not None:
            self.history.append(self.resnorm.copy())
        if self.callback is not None:
            X = self.sys.x
            if self.X_a is not X:
                X[:, self.active] = self.X_a
            self.callback(X)


def lockstep_on_columns(system, cols, budget, block_size, callback):
    """Columns ``cols`` of ``system`` solved by lockstep CG in working precision from their
    current iterates in ``system.x`` (updated in place), with at most ``budget`` iterations.

    ``callback`` (or None) receives the full (n, s) iterate.  Returns ``(info, history)``,
    ``history`` the residual norms of those columns, the initial ones first.  Used where
    another method hands its unfinished columns over (``precision="mixed"``, Step M6; block
    CG past exact-arithmetic termination).
    """
    sub = system.columns(cols, maxiter=budget)
    sub_callback = None
    if callback is not None:

        def sub_callback(X_sub):
            X = system.x.copy()
            X[:, cols] = X_sub
            callback(X)

    history = []
    width = DEFAULT_BATCHED_WIDTH if block_size is None else int(block_size)
    X_sub, info = BatchedCG(sub, width, sub_callback, history).run()
    system.x[:, cols] = X_sub
    return info, history

"""Breakdown-free block CG (``block_cg(method="block")``), Steps 1-8 of ``block_cg``'s Notes.

All active columns share one search space, re-orthonormalised with rank revealing each
iteration (Dubrulle 2001; Ji & Li 2017), so duplicate or dependent directions cost no product.
Columns are solved in consecutive chunks of at most ``block_size``; a chunk still running past
exact-arithmetic termination is finished by lockstep CG (``_cg_lockstep.py``).
"""

from __future__ import annotations

import numpy as np

from ._cg_lockstep import check_candidates, lockstep_on_columns
from ._cg_system import (
    INFO_A_NOT_POSITIVE_DEFINITE,
    INFO_M_NOT_POSITIVE_DEFINITE,
    apply,
    column_dots,
    herm,
    nonfinite,
)

# Directions whose column-scaled Gram eigenvalue falls below eps**DEFLATION_EXPONENT times the
# largest are dropped: the kept basis is then orthonormal to about sqrt(eps).
# See benchmarks/TUNING.md.
DEFLATION_EXPONENT = 0.5

# Widest chunk of right-hand sides iterated as one block: the O(n m^2) Gram work outgrows the
# saving in products for very sparse operators.  See benchmarks/TUNING.md.
DEFAULT_BLOCK_SIZE = 16

# A chunk of b columns still running after 2 ceil(n / b) + BLOCK_CG_SLACK iterations (past
# exact-arithmetic termination) is finished by lockstep CG.  See benchmarks/TUNING.md.
BLOCK_CG_SLACK = 10


def orthonormal_basis(W, threshold):
    """Orthonormal basis of the numerically independent directions of ``W`` (Step 4).

    Scaling the columns to unit norm first makes the rank decision independent of how far each
    column has converged: a residual 1e-8 times smaller than its neighbours is not dependent.
    """
    gram = herm(W) @ W
    scale = np.real(np.diagonal(gram)).copy()
    nonzero = scale > 0
    if not np.all(nonzero):
        W, gram, scale = W[:, nonzero], gram[np.ix_(nonzero, nonzero)], scale[nonzero]
    if W.shape[1] == 0:
        return W
    scale = 1.0 / np.sqrt(scale)
    gram = gram * scale[:, None] * scale[None, :]
    lam, V = np.linalg.eigh(gram)
    keep = lam > threshold * lam[-1]
    T = (scale[:, None] * V[:, keep]) / np.sqrt(lam[keep])
    return W @ T.astype(W.dtype, copy=False)


class BlockCG:
    """State of one block CG solve over the columns of a :class:`System`."""

    def __init__(self, system, block_size, callback, history):
        self.sys = system
        self.block_size = block_size
        self.callback = callback
        self.history = history
        s = system.b.shape[1]
        self.X = system.x  # full (n, s) iterate; active columns live in self.X_act meanwhile
        self.threshold = np.finfo(system.dtype).eps ** DEFLATION_EXPONENT
        self.best_true = np.full(s, np.inf)
        self.failed = np.zeros(s, dtype=int)
        self._initial_residuals()
        self.converged = self.resnorm <= system.tol
        self.waiting = [j for j in range(s) if not self.converged[j]]
        self._clear_block()

    def _initial_residuals(self):
        """Step 1 for every column now when X0 is given (so that the history starts
        complete); with X0 = 0 the initial residual is B itself."""
        system, X = self.sys, self.X
        s = system.b.shape[1]
        X[:, system.bnorm == 0] = 0  # A x = 0 has the unique solution 0 (A positive definite)
        self.R0 = None
        self.resnorm = np.full(s, np.nan)
        if X.any():
            self.R0 = np.empty_like(X)
            for start in range(0, s, self.block_size):
                cols = slice(start, start + self.block_size)
                self.R0[:, cols] = system.b[:, cols] - apply(
                    system.A, X[:, cols].copy(), system.dtype, name=system.name
                )
            self.resnorm[:] = np.linalg.norm(self.R0, axis=0)
        else:
            self.resnorm[:] = system.bnorm

    def _clear_block(self):
        n = self.X.shape[0]
        self.active = np.zeros(0, dtype=np.intp)
        self.X_act = np.zeros((n, 0), dtype=self.sys.dtype)
        self.R_act = np.zeros((n, 0), dtype=self.sys.dtype)
        self.P_old = self.Q_old = self.gram_inv_old = None

    def _admit(self):
        """Start the next chunk of (at most ``block_size``) waiting columns as a fresh block.

        Columns never join a running block: a new column's directions are not A-conjugate to
        the block's earlier search spaces, and mixing them in would cost the running columns
        the optimality of CG over their whole Krylov space.
        """
        n_chunks = -(-len(self.waiting) // self.block_size)
        size = -(-len(self.waiting) // n_chunks)  # balanced: 50 -> 13 + 13 + 12 + 12
        new, self.waiting = self.waiting[:size], self.waiting[size:]
        new = np.asarray(new, dtype=np.intp)
        new_residuals = self.sys.b[:, new] if self.R0 is None else self.R0[:, new]
        self.active = new
        self.chunk_limit = 2 * -(-self.sys.b.shape[0] // max(new.size, 1)) + BLOCK_CG_SLACK
        self.X_act = np.ascontiguousarray(self.X[:, new])
        self.R_act = np.ascontiguousarray(new_residuals)
        self.P_old = self.Q_old = self.gram_inv_old = None

    def _retire(self, leaving):
        """Write finished columns back into X and drop them from the block."""
        self.X[:, self.active[leaving]] = self.X_act[:, leaving]
        stay = ~leaving
        self.active = self.active[stay]
        self.X_act = np.ascontiguousarray(self.X_act[:, stay])
        self.R_act = np.ascontiguousarray(self.R_act[:, stay])

    def _record(self):
        if self.history is not None:
            self.history.append(self.resnorm.copy())

    def run(self):
        if self.history is not None:
            self.history[:] = []
        self._record()
        iterations = 0  # in total, over all chunks
        chunk_iterations = 0
        info = 0
        while True:
            if not self.active.size:
                if not self.waiting:
                    break
                self._admit()
                chunk_iterations = 0
            if chunk_iterations >= self.sys.maxiter:
                # This chunk is out of iterations: its columns stay unconverged (info > 0).
                self._retire(np.ones(self.active.size, dtype=bool))
                continue
            if chunk_iterations >= self.chunk_limit:
                # past exact-arithmetic termination: lockstep CG finishes (see BLOCK_CG_SLACK)
                budget = self.sys.maxiter - chunk_iterations
                sub_info, sub_iterations = self._finish_by_lockstep(budget)
                iterations += sub_iterations
                if sub_info < 0:
                    info = sub_info
                    break
                continue
            info = self._iterate()
            if info:
                break
            iterations += 1
            chunk_iterations += 1
        if self.active.size:
            self.X[:, self.active] = self.X_act
        if info == 0 and not np.all(self.converged):
            info = max(iterations, 1)
        return self.X, info

    def _search_block(self, Z):
        """Steps 3-4: the new orthonormal search block ``P`` from ``Z = M R``."""
        if self.P_old is not None:  # Step 3
            W = Z - self.P_old @ (self.gram_inv_old @ (herm(self.Q_old) @ Z))
        else:
            W = Z
        P = orthonormal_basis(W, self.threshold)  # Step 4
        if P.shape[1] == 0:
            # Z lies in span(P_old) to rounding: restart the search space from Z itself.
            P = orthonormal_basis(Z, self.threshold)
        return P

    def _iterate(self):
        """Steps 2-8 of one block iteration; returns a breakdown code (0: none)."""
        sys_, dtype = self.sys, self.sys.dtype
        R = self.R_act
        Z = R if sys_.M is None else apply(sys_.M, R, dtype, name=sys_.name, param="M")  # Step 2
        rz = column_dots(R, Z)
        if not np.all(np.isfinite(rz)):
            return nonfinite(sys_, "M", None if sys_.M is None else Z)
        if np.any(rz <= 0):  # threshold 0: the exact test for rᴴMr > 0 with r != 0
            return INFO_M_NOT_POSITIVE_DEFINITE
        P = self._search_block(Z)
        Q = apply(sys_.A, P, dtype, name=sys_.name)  # Step 5
        with np.errstate(invalid="ignore", over="ignore"):  # a non-finite Q is reported below
            G = herm(P) @ Q  # Step 6
            G = (G + herm(G)) / 2
        if not np.all(np.isfinite(G)):
            return nonfinite(sys_, "A", Q)
        mu, U = np.linalg.eigh(G)
        if mu[0] <= 0:  # threshold 0: exact test for a direction with pᴴAp <= 0
            return INFO_A_NOT_POSITIVE_DEFINITE
        gram_inv = (U / mu) @ herm(U)
        alpha = gram_inv @ (herm(P) @ R)  # Step 7
        self.X_act += P @ alpha
        self.R_act -= Q @ alpha
        norms = np.linalg.norm(self.R_act, axis=0)
        candidates = np.flatnonzero(norms <= sys_.tol[self.active])  # Step 8
        leaving, _ = check_candidates(
            sys_, self.active, candidates, self.X_act, self.R_act, norms, self
        )
        self.resnorm[self.active] = norms
        if leaving.any():
            self._retire(leaving)
        self.P_old, self.Q_old, self.gram_inv_old = P, Q, gram_inv
        self._record()
        if self.callback is not None:
            self.X[:, self.active] = self.X_act
            self.callback(self.X)
        return 0

    def _finish_by_lockstep(self, budget):
        """The active chunk's columns solved by lockstep CG from their current iterates with at
        most ``budget`` iterations; retires them.  Returns ``(info, iterations)``."""
        cols = self.active
        self.X[:, cols] = self.X_act
        info, history = lockstep_on_columns(self.sys, cols, budget, None, self.callback)
        if info == 0:
            self.converged[cols] = True
        for norms in history[1:]:
            self.resnorm[cols] = norms
            self._record()
        self._clear_block()
        return info, max(len(history) - 1, 0)

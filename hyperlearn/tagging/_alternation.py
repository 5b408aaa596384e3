"""The alternating minimisation of a fit: f-steps and safeguarded, centred w-steps.

``J(F, w) = tr(Fᵀ(I − Θ(w))F) + λ‖F − Y‖² + μ Σ_e s_e (w_e − w₀_e)²`` (see ``_weights``) is
lowered in turn over ``F`` (the f-step, a linear solve) and over ``w`` (the w-step, a projection
followed by a backtracking search on the true objective).  The two places a distributed backend
replaces are :class:`FStep` (the solve) and :func:`edge_statistics` (the per-hyperedge sums).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ._solvers import solve_f_step
from ._weights import (
    centred_closed_form,
    centred_weights,
    degree_term,
    natural_mu,
    objective,
    penalty_scales,
)

__all__ = ["EARLY_SOLVER_TOL", "MAX_BACKTRACKS", "Alternation", "FStep", "edge_statistics"]

#: Relative residual of the f-steps of all but the last alternation (iterative solvers): they
#: only steer the next w-step, and the returned scores are refined to ``solver_tol``.
EARLY_SOLVER_TOL = 1e-3
#: Backtracking halvings of the safeguarded w-step before the step is rejected.
MAX_BACKTRACKS = 8
_TINY = np.finfo(np.float64).tiny


def edge_statistics(hypergraph, F):
    """``c_e = ‖γ_eᵀ F‖² / δ(e)`` of every hyperedge, float64 (``Σ_e w_e c_e = tr(FᵀΘF)``)."""
    return np.asarray(hypergraph.edge_statistics(F), dtype=np.float64)


class FStep:
    """The f-step of one fit: solve ``(I − αΘ) F = (1 − α) Y`` for the current weights.

    One random stream (``rng``) seeds every solve; ``state`` carries what a solver reuses
    between alternations (the tessellated preconditioner).
    """

    def __init__(self, solver, alpha, Y, rng, *, n_blocks=1, rank=1):
        self.solver, self.alpha, self.rng = solver, alpha, rng
        self.n_blocks, self.rank = n_blocks, rank
        self.rhs = (1.0 - alpha) * Y
        self.state = {}

    def __call__(self, hypergraph, F0, rtol):
        seed = self.rng.randint(np.iinfo(np.int32).max)
        F, its, info = solve_f_step(
            self.solver,
            hypergraph,
            self.alpha,
            self.rhs,
            F0,
            rtol=rtol,
            n_blocks=self.n_blocks,
            rank=self.rank,
            random_state=seed,
            state=self.state,
        )
        self._check_info(info)
        return F, int(its)

    def _check_info(self, info):
        if info < 0:
            raise RuntimeError(
                f"the f-step solver '{self.solver}' broke down (info={info}; see "
                "hyperlearn.linalg.cg): I − αΘ should be positive definite for "
                "non-negative weights, so this indicates NaN/inf in the features."
            )

    def edge_statistics(self, hypergraph, F):
        """``c_e`` of every hyperedge for the scores ``F`` (where the solve ran)."""
        return edge_statistics(hypergraph, F)


@dataclass
class Alternation:
    """Settings and results of one alternating minimisation.

    Set ``mu`` (scale-free, or absolute with ``mu_scaling="absolute"``; ``inf`` keeps ``w₀``),
    ``weight_update``, ``max_iter``, ``tol``, ``solver_tol``, ``adaptive`` and call :meth:`run`;
    it fills ``F`` (the scores of the final weights), ``hypergraph``, ``weights``, ``n_iter``,
    ``history`` (the objective after every step, non-increasing), ``iterations`` (solver
    iterations per f-step), ``mu_abs`` and the per-step times.
    """

    mu: float = np.inf
    mu_scaling: str = "relative"
    weight_update: str = "degree_aware"
    max_iter: int = 10
    tol: float = 1e-4
    solver_tol: float = 1e-6
    adaptive: bool = True
    history: list = field(default_factory=list)
    iterations: list = field(default_factory=list)
    f_times: list = field(default_factory=list)
    w_times: list = field(default_factory=list)

    def run(self, hypergraph, w0, Y, f_step, bar=None, *, F0=None):
        """Alternate from the weights ``w0`` of ``hypergraph`` until ``tol`` or ``max_iter``.

        The first f-step starts from ``F0`` (n × T) when given, else from ``(1 − α) Y``.

        The last f-step is always taken with the final weights and to ``solver_tol``, so
        ``F``, ``weights`` and ``hypergraph`` describe one state.  ``bar`` (a tqdm bar or None)
        advances once per alternation and is closed at the end.
        """
        # the weights the hypergraph holds (rounded to its dtype), so that J is evaluated with
        # the weights Θ is built from
        self.w0 = np.asarray(np.asarray(w0).astype(hypergraph.dtype), dtype=np.float64)
        self.scales = penalty_scales(hypergraph.edge_degrees)
        self.alpha, self.Y = f_step.alpha, Y
        self.mu_abs = None
        adaptive = self.adaptive and self.mu != np.inf
        n_alternations = self.max_iter if adaptive else 1
        early = self.solver_tol
        if adaptive and f_step.solver != "exact":
            early = max(self.solver_tol, EARLY_SOLVER_TOL)
        self._statistics = f_step.edge_statistics
        F = f_step.rhs.copy() if F0 is None else np.array(F0, dtype=f_step.rhs.dtype)
        hg, w = hypergraph, self.w0
        step, self.n_iter = 0.5, 0  # the first search starts at the full step 2 · 0.5
        for _ in range(n_alternations):
            self.n_iter += 1
            if bar is not None:
                bar.update(1)
            F, J, c = self._f_step(f_step, hg, F, w, early if adaptive else self.solver_tol)
            if not adaptive:
                break
            t0 = time.perf_counter()
            w_new, J_new, hg_new, step = self._w_step(hg, F, c, w, J, min(1.0, 2.0 * step))
            self.w_times.append(time.perf_counter() - t0)
            if hg_new is None:
                break
            change = np.linalg.norm(w_new - w) / np.linalg.norm(w)
            decrease = (J - J_new) / max(abs(J), _TINY)
            self.history.append(J_new)
            w, hg = w_new, hg_new
            if bar is not None:
                bar.set_postfix(objective=f"{J_new:.6g}", change=f"{change:.2e}")
            if change < self.tol or decrease < self.tol:
                break
        if adaptive:  # the scores of the final weights, to solver_tol
            F, _, _ = self._f_step(f_step, hg, F, w, self.solver_tol)
        if bar is not None:
            bar.close()
        self.F, self.hypergraph, self.weights = F, hg, w
        if self.mu_abs is None:
            self.mu_abs = np.inf
        return self

    def _f_step(self, f_step, hg, F, w, rtol):
        t0 = time.perf_counter()
        F, its = f_step(hg, F, rtol)
        c = self._statistics(hg, F)
        if self.mu_abs is None and np.isfinite(self.mu):  # natural units, fixed once
            relative = self.mu_scaling == "relative"
            self.mu_abs = natural_mu(self.mu, c, self.w0, self.scales) if relative else self.mu
        J = self._objective(F, c, w)
        self.history.append(J)
        self.iterations.append(its)
        self.f_times.append(time.perf_counter() - t0)
        return F, J, c

    def _objective(self, F, c, w):
        mu = np.inf if self.mu_abs is None else self.mu_abs
        return objective(F, self.Y, c, w, alpha=self.alpha, mu=mu, w0=self.w0, scales=self.scales)

    def _target(self, hg, F, c):
        if self.weight_update == "degree_aware":
            c = c - degree_term(hg, F)
        if self.weight_update == "closed_form":
            return centred_closed_form(c, self.w0, self.scales, self.mu_abs)
        return centred_weights(c, self.w0, self.scales, self.mu_abs)

    def _w_step(self, hg, F, c, w, J, first_step):
        """Safeguarded weight update; returns ``(w, J, hypergraph, step)``.

        ``hypergraph`` is None when every step was rejected.  The search starts at
        ``first_step``: twice the last accepted step, since a search that starts at 1 every
        time re-tests steps that have just failed (see benchmarks/TUNING.md).
        """
        target = self._target(hg, F, c)
        # longest step that keeps every weight >= 0 (only the closed form can leave the simplex)
        leaving = target < 0
        step = min(1.0, float(np.min(w[leaving] / (w[leaving] - target[leaving]), initial=1.0)))
        step = min(step, first_step)
        if step <= 0.0:
            return w, J, None, 0.0
        for _ in range(MAX_BACKTRACKS + 1):
            # clip: at the boundary a weight can round to -1e-19
            w_try = np.maximum(w + step * (target - w), 0.0).astype(hg.dtype)
            hg_try = hg.with_weights(w_try)
            w_try = w_try.astype(np.float64)
            J_try = self._objective(F, self._statistics(hg_try, F), w_try)
            if J_try <= J:
                return w_try, J_try, hg_try, step
            step *= 0.5
        return w, J, None, 0.0

"""Test systems, exact oracles and derived tolerances shared by the CG test modules."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator

from hyperlearn.testing import assert_solution_accuracy

DTYPES = (np.float32, np.float64)

# Requested relative tolerances per dtype.  CG's attainable relative residual is about
# eps * kappa; the table's kappa <= ~700 gives 1e-13 in float64 and 8e-5 in float32, so these
# leave a factor >= 10 of headroom (float32 here is the tightest that is still attainable).
RTOL = {np.dtype(np.float32): 1e-4, np.dtype(np.float64): 1e-8}

# Finite-precision CG lags the exact-arithmetic Chebyshev bound by a few iterations (loss of
# orthogonality; a residual-replacement restart in float32): allowed extra iterations.
ITERATION_SLACK = 5


@dataclass
class System:
    name: str
    A: object  # what the solver gets (ndarray or sparse), in `dtype`
    dense: np.ndarray  # the same matrix in float64: the exact oracle's input
    dtype: np.dtype

    @property
    def n(self):
        return self.dense.shape[0]

    @property
    def eigenvalues(self):
        return sla.eigvalsh(self.dense)

    @property
    def kappa(self):
        w = self.eigenvalues
        return float(w[-1] / w[0])

    def solve(self, b):
        """Exact oracle: dense Cholesky solve in float64."""
        return sla.solve(self.dense, np.asarray(b, dtype=np.float64), assume_a="pos")


def _rhs(n, s, seed=0, dtype=np.float64):
    """An (n, s) block of standard normal right-hand sides."""
    return np.random.default_rng(seed).standard_normal((n, s)).astype(dtype)


def _make(name, matrix, dtype):
    dtype = np.dtype(dtype)
    A = matrix.astype(dtype)
    dense = A.toarray() if sp.issparse(A) else np.array(A)
    return System(f"{name}-{dtype.name}", A, dense.astype(np.float64), dtype)


def spd_random(n, dtype, seed=0):
    rng = np.random.default_rng(seed)
    G = rng.standard_normal((n, n))
    return _make("spd_random", G @ G.T / n + 0.5 * np.eye(n), dtype)


def poisson1d(n, dtype):
    return _make("poisson1d", sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(n, n)).tocsr(), dtype)


def poisson2d(N, dtype):
    P = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(N, N))
    return _make("poisson2d", sp.kronsum(P, P).tocsr(), dtype)


def diagonal(n, dtype, kappa=100.0):
    return _make("diagonal", sp.diags(np.linspace(1.0, kappa, n)).tocsr(), dtype)


def random_incidence(n_vertices, n_edges, seed=0):
    """0/1 incidence (n_vertices x n_edges) of random hyperedges of 2..6 vertices, plus one
    singleton-free 'self' edge per vertex pair so that no vertex is isolated."""
    rng = np.random.default_rng(seed)
    rows, cols = [], []
    for e in range(n_edges):
        members = rng.choice(n_vertices, size=rng.integers(2, 7), replace=False)
        rows.extend(members)
        cols.extend([e] * len(members))
    # every vertex joins an edge with its successor (a ring), so all degrees are positive
    for v in range(n_vertices):
        rows.extend([v, (v + 1) % n_vertices])
        cols.extend([n_edges + v] * 2)
    data = np.ones(len(rows))
    return sp.csr_matrix((data, (rows, cols)), shape=(n_vertices, n_edges + n_vertices))


def hypergraph_theta(H, weights):
    """Zhou's normalised adjacency Θ = Dv^-1/2 H W De^-1 Hᵀ Dv^-1/2 (explicit, float64)."""
    dv = np.asarray(H @ weights).ravel()
    de = np.asarray(H.sum(axis=0)).ravel()
    G = sp.diags(dv**-0.5) @ H @ sp.diags(np.sqrt(weights / de))
    return (G @ G.T).tocsr()


def hypergraph_system(n, alpha, dtype, seed=0):
    """The tagging system matrix I − αΘ (κ <= 1 / (1 − α)), built with numpy/scipy only."""
    H = random_incidence(n, n // 2, seed)
    weights = np.random.default_rng(seed + 1).uniform(0.5, 2.0, H.shape[1])
    A = sp.identity(n, format="csr") - alpha * hypergraph_theta(H, weights)
    return _make(f"hypergraph_alpha{alpha}", A.tocsr(), dtype)


def table():
    """The table of cases crossed with the solvers."""
    cases = []
    for dtype in DTYPES:
        cases += [
            spd_random(30, dtype),
            poisson1d(40, dtype),
            poisson2d(10, dtype),
            diagonal(60, dtype),
        ]
        cases += [hypergraph_system(120, alpha, dtype) for alpha in (0.5, 0.9, 0.99)]
    return cases


def chebyshev_iterations(kappa, rtol):
    """Iterations after which exact CG has ||r_k|| <= rtol ||r_0||, by the κ bound.

    ||e_k||_A <= 2 ((√κ−1)/(√κ+1))^k ||e_0||_A and ||r_k|| / ||r_0|| <= √κ ||e_k||_A / ||e_0||_A
    give k = ½ √κ ln(2 √κ / rtol) (using ln((√κ+1)/(√κ−1)) >= 2/√κ).
    """
    root = math.sqrt(kappa)
    return math.ceil(0.5 * root * math.log(2.0 * root / rtol))


def rounding_allowance(system, x, b, tol):
    """How far the float64 residual may exceed a tolerance met in working precision.

    The solver computes r = fl(b − A x) in its dtype: |fl(r) − r| <= γ_{k+1} (|b| + |A||x|)
    entrywise (k = nonzeros per row, γ_m = m u / (1 − m u), u the unit roundoff), and its norm
    to a relative γ_n.  So ||b − A x|| <= tol (1 + γ_n) + γ_{k+1} || |b| + |A||x| ||.
    """
    u = np.finfo(system.dtype).eps / 2
    absA = np.abs(system.dense)
    k = int(np.max(np.count_nonzero(absA, axis=1)))

    def gamma(m):
        return m * u / (1 - m * u)

    x64 = np.asarray(x, dtype=np.float64)
    b64 = np.asarray(b, dtype=np.float64)
    magnitude = np.linalg.norm(np.abs(b64) + absA @ np.abs(x64), axis=0)
    return tol * gamma(system.n) + gamma(k + 1) * magnitude


def assert_converged(system, B, X, rtol):
    """The true float64 residual meets ``rtol`` up to :func:`rounding_allowance`, and the
    forward error against the exact oracle meets the κ·relres bound.

    The residual check is kept here because it is 7-300x tighter on these systems than the
    generic rounding term c·√n·eps·(‖|A|‖₂‖x‖₂ + ‖b‖₂) of ``assert_solution_accuracy``; the
    forward-error check is the public one (with the exact κ and the Cholesky solution).
    """
    tol = rtol * np.linalg.norm(B.astype(np.float64), axis=0)
    residual = np.linalg.norm(B - system.dense @ X.astype(np.float64), axis=0)
    assert np.all(residual <= tol + rounding_allowance(system, X, B, tol))
    assert_solution_accuracy(
        system.dense, X, B, rtol=rtol, x_true=system.solve(B), condition_number=system.kappa
    )


class CountingOperator(LinearOperator):
    """Wraps a matrix; counts the vectors it is applied to (a matmat of s columns counts s)."""

    def __init__(self, A):
        self.matrix = A
        self.products = 0
        super().__init__(dtype=A.dtype, shape=A.shape)

    def _matvec(self, x):
        self.products += 1
        return self.matrix @ np.asarray(x).reshape(-1)

    def _matmat(self, X):
        self.products += X.shape[1]
        return self.matrix @ X

    def _adjoint(self):
        return self

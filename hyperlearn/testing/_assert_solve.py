"""assert_solution_accuracy: the residual criterion of a linear solve and its forward error."""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from . import _linalg
from ._bounds import SOLVE_ROUNDING_SLACK, gamma
from ._inputs import check_dense, check_operator, check_safety, check_tolerance

__all__ = ["assert_solution_accuracy"]


def _norms_per_column(X):
    return np.linalg.norm(X, axis=0)


def _max_row_nonzeros(A):
    """Largest number of stored entries in a row of an explicit matrix (n for dense)."""
    if sp.issparse(A):
        counts = np.diff(sp.csr_matrix(A).indptr)
        return int(counts.max()) if counts.size else 0
    return int(A.shape[1])


def _check_finite_matrix(A):
    """NaN or inf in an explicit A (reference data) is a ValueError."""
    values = A.data if sp.issparse(A) else A if isinstance(A, np.ndarray) else None
    if values is None or values.dtype.kind not in "fc":
        return
    n_bad = int(values.size - np.count_nonzero(np.isfinite(values)))
    if n_bad:
        raise ValueError(f"A contains {n_bad} NaN or infinite value(s): expected finite.")


def _check_system(A, x, b, x_true, condition_number):
    A = check_operator(A, "A")
    n = A.shape[0]
    if A.shape[1] != n:
        raise ValueError(f"A has shape {A.shape}: expected a square matrix.")
    _check_finite_matrix(A)
    x = check_dense(x, "x", (1, 2), computed=True)
    b = check_dense(b, "b", (1, 2))
    if x.shape != b.shape or x.shape[0] != n:
        raise ValueError(
            f"x has shape {x.shape} and b has shape {b.shape}: expected both ({n},) or ({n}, s)."
        )
    if x_true is not None:
        x_true = check_dense(x_true, "x_true", (1, 2))
        if x_true.shape != x.shape:
            raise ValueError(f"x_true has shape {x_true.shape}: expected {x.shape} (as x).")
    if condition_number is not None:
        # κ₂(A) = σ_max/σ_min is always >= 1
        condition_number = check_tolerance(condition_number, "condition_number")
        if condition_number < 1.0:
            raise ValueError(
                f"condition_number={condition_number!r} is out of range: expected a finite "
                "real number >= 1.0 (κ₂(A) is always >= 1)."
            )
    return A, x, b, x_true, condition_number


class _System:
    """The float64 quantities both checks use: columns of x and b, norms, measurement eps."""

    def __init__(self, A, x, b):
        n = A.shape[0]
        self.n = n
        self.X = x.reshape(n, -1).astype(np.float64)
        self.B = b.reshape(n, -1).astype(np.float64)
        self.exact_arithmetic = isinstance(A, np.ndarray) or sp.issparse(A)
        self.A_measure = A.astype(np.float64) if self.exact_arithmetic else A
        self.eps_work = _linalg.machine_eps(_linalg.operator_dtype(A), x.dtype, b.dtype)
        # float64 residuals for arrays; a LinearOperator is applied in its own arithmetic
        self.eps_measure = _linalg.machine_eps(
            np.float64 if self.exact_arithmetic else _linalg.operator_dtype(A)
        )
        self.abs_norm = _linalg.abs_norm_bound(A)
        AX = _linalg.apply(self.A_measure, self.X)
        if not np.all(np.isfinite(AX)):
            raise ValueError(
                "A @ x holds NaN or infinite values for a finite x: the operator A must be finite."
            )
        self.residual = _norms_per_column(self.B - AX)
        self.b_norm = _norms_per_column(self.B)
        self.x_norm = _norms_per_column(self.X)

    def rounding_slack(self):
        """Per-column slack of the residual measurement, its formula and its constants."""
        if self.exact_arithmetic:
            # Componentwise (Higham 2002, Lemma 3.5 / §3.5): a residual b − Ax computed in any
            # summation order, with at most k nonzeros per row of A, is off by at most
            # γ_{k+1}(|A||x| + |b|) per entry; once in the solver's working precision, once in
            # this float64 measurement.
            k = _max_row_nonzeros(self.A_measure)
            size = _norms_per_column(
                np.asarray(abs(self.A_measure) @ np.abs(self.X), dtype=np.float64) + np.abs(self.B)
            )
            slack = (gamma(k + 1, self.eps_work / 2) + gamma(k + 1, self.eps_measure / 2)) * size
            formula = "(γ_{k+1}(u) + γ_{k+1}(u64))·‖|A||x| + |b|‖₂"
            constants = f"k = {k} nonzeros per row, u = eps/2 = {self.eps_work / 2:.3e}"
            return slack, formula, constants
        slack = (
            SOLVE_ROUNDING_SLACK
            * math.sqrt(self.n)
            * self.eps_work
            * (self.abs_norm * self.x_norm + self.b_norm)
        )
        formula = "c·√n·eps·(‖|A|‖₂‖x‖₂ + ‖b‖₂)"
        constants = (
            f"c = {SOLVE_ROUNDING_SLACK:g}, n = {self.n}, eps = {self.eps_work:.3e}, "
            f"‖|A|‖₂ ≤ {self.abs_norm:.6e}"
        )
        return slack, formula, constants


def _check_residual(system, rtol, atol, safety):
    slack, formula, constants = system.rounding_slack()
    residual, b_norm = system.residual, system.b_norm
    allowed = safety * np.maximum(rtol * b_norm, atol) + slack
    bad = np.flatnonzero(~(residual <= allowed))
    if bad.size:
        j = int(bad[np.argmax(residual[bad] - allowed[bad])])
        raise AssertionError(
            f"Residual criterion violated in column {j} ({bad.size} of {residual.size} columns):\n"
            f"  observed ‖b − Ax‖₂ = {residual[j]:.6e}\n"
            f"  allowed  = safety·max(rtol‖b‖₂, atol) + {formula}"
            f" = {safety:g}·max({rtol:g}·{b_norm[j]:.6e}, {atol:g}) + {slack[j]:.3e}"
            f" = {allowed[j]:.6e}\n"
            f"  {constants}, ‖x‖₂ = {system.x_norm[j]:.6e}"
        )
    return {"residual": residual, "allowed_residual": allowed}


def _exact_condition_number(A):
    if not _linalg.can_densify(A):
        raise ValueError(
            f"condition_number=None needs an exact SVD of A, done only for n <= "
            f"{_linalg.DENSE_MAX_N}; A has n = {A.shape[0]}: pass condition_number."
        )
    sv = scipy.linalg.svdvals(_linalg.to_dense64(A), check_finite=False)
    return float(sv[0] / sv[-1]) if sv[-1] > 0 else math.inf


def _check_forward(system, x_true, condition_number, safety):
    X_true = x_true.reshape(system.n, -1).astype(np.float64)
    res_true = system.B - _linalg.apply(system.A_measure, X_true)
    true_norm = _norms_per_column(X_true)
    # measurement error of the two residual norms (float64 unless A is a LinearOperator)
    measure = (
        SOLVE_ROUNDING_SLACK
        * math.sqrt(system.n)
        * system.eps_measure
        * system.abs_norm
        * (true_norm + system.x_norm)
    )
    r_true = _norms_per_column(res_true) + measure
    denom = system.b_norm - r_true
    forward = _norms_per_column(system.X - X_true) / np.where(true_norm > 0, true_norm, np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        bound = condition_number * (system.residual + measure + r_true) / denom
    bound = np.where(denom > 0, bound, np.inf)  # b ≈ 0: relative forward error is undefined
    allowed = safety * bound
    bad = np.flatnonzero(~(forward <= allowed))
    if bad.size:
        j = int(bad[0])
        raise AssertionError(
            f"Forward error exceeds the condition-number bound in column {j}:\n"
            f"  observed ‖x − x*‖₂/‖x*‖₂ = {forward[j]:.6e}\n"
            f"  allowed  = safety·κ₂(A)·(‖r‖₂ + ‖r*‖₂)/(‖b‖₂ − ‖r*‖₂) = {safety:g}·"
            f"{condition_number:.6e}·({system.residual[j]:.3e} + {r_true[j]:.3e})/"
            f"({system.b_norm[j]:.3e} − {r_true[j]:.3e}) = {allowed[j]:.6e}\n"
            "  (r = b − Ax, r* = b − Ax*, measured in float64 plus the measurement slack "
            f"c·√n·eps·‖|A|‖₂(‖x‖+‖x*‖) = {measure[j]:.3e} with c = {SOLVE_ROUNDING_SLACK:g})"
        )
    return {
        "forward_error": forward,
        "allowed_forward_error": allowed,
        "condition_number": condition_number,
    }


def assert_solution_accuracy(
    A, x, b, *, rtol, atol=0.0, condition_number=None, x_true=None, safety=1.0
):
    r"""Assert the stopping criterion of an iterative solve and, optionally, its forward error.

    1. **Residual criterion** (the contract of ``hyperlearn.linalg.cg`` and SciPy's ``cg``), per
       column of ``b``:

       .. math::

          \|b - Ax\|_2 \le \text{safety}\cdot\max(\text{rtol}\,\|b\|_2,\ \text{atol})
          + c\sqrt{n}\,\varepsilon\,(\||A|\|_2\|x\|_2 + \|b\|_2),

       the last term (``c = SOLVE_ROUNDING_SLACK``, ε the machine epsilon of the lowest
       precision among ``A, x, b``) covering the difference between the residual a solver
       computes in working precision and the float64 residual this assertion computes (Higham 2002,
       §3.5); ‖|A|‖₂ is bounded by √(‖A‖₁‖A‖_∞).  That form is used for a
       ``LinearOperator``, whose entries are unknown.  For an explicit ``A`` (ndarray or
       sparse) the rigorous componentwise bound replaces it:

       .. math::

          \|b - Ax\|_2 \le \text{safety}\cdot\max(\text{rtol}\,\|b\|_2,\ \text{atol})
          + (\gamma_{k+1}(u) + \gamma_{k+1}(u_{64}))\,\|\,|A||x| + |b|\,\|_2,

       with k the largest number of nonzeros in a row of A, u the unit roundoff of the working
       precision, :math:`\gamma_m(u) = mu/(1 - mu)` (Higham 2002, Lemma 3.5): once for the
       solver's own residual, once for this float64 measurement.

    2. **Forward error**, when ``x_true`` is given: with r = b − Ax and r* = b − Ax*
       (r* ≠ 0 only through the rounding of b = Ax*),

       .. math::

          \frac{\|x - x^*\|_2}{\|x^*\|_2} \le \text{safety}\cdot
          \kappa_2(A)\,\frac{\|r\|_2 + \|r^*\|_2}{\|b\|_2 - \|r^*\|_2},

       which follows from x − x* = A⁻¹(r* − r) and ‖x*‖ ≥ ‖b − r*‖/‖A‖; with r* = 0 it is the
       classical κ·relres bound (Golub & Van Loan 2013, §2.6.2).  The residuals are measured, so
       the bound is rigorous up to the float64 measurement.

    Parameters
    ----------
    A : ndarray, sparse matrix or LinearOperator of shape (n, n)
    x : ndarray of shape (n,) or (n, s)
        Computed solution.
    b : ndarray of shape (n,) or (n, s)
        Right-hand side(s); each column is checked separately.
    rtol, atol : float
        The tolerances the solver was given.
    condition_number : float, optional
        κ₂(A) ≥ 1.  If ``x_true`` is given and this is omitted, κ₂ is computed exactly with
        LAPACK, which requires n <= 1000.
    x_true : ndarray of the shape of ``x``, optional
        Exact solution; enables the forward-error check.
    safety : float, default=1
        Factor ≥ 1 on the solver tolerance and on the forward bound (both are deterministic).

    Returns
    -------
    report : dict
        ``residual`` (per column), ``allowed_residual``, and with ``x_true``: ``forward_error``,
        ``allowed_forward_error``, ``condition_number``.

    Raises
    ------
    AssertionError
        When a check fails, or ``x`` holds NaN or infinite values; the message names the
        column, the bound and the observed value.
    TypeError
        A wrong type (an operator of unknown kind, a non-real dtype, a non-numeric tolerance).
    ValueError
        Inconsistent shapes, NaN or infinite entries in ``A``, ``b`` or ``x_true``, tolerances
        out of range.

    References
    ----------
    N. J. Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., SIAM 2002, §3.5, §7.1.

    G. H. Golub, C. F. Van Loan, *Matrix Computations*, 4th ed., 2013, §2.6.2.

    Examples
    --------
    >>> import numpy as np
    >>> from hyperlearn.testing import assert_solution_accuracy
    >>> A = np.array([[4.0, 1.0], [1.0, 3.0]])
    >>> x_true = np.array([1.0, -2.0])
    >>> b = A @ x_true
    >>> x = np.linalg.solve(A, b)
    >>> report = assert_solution_accuracy(A, x, b, rtol=1e-12, x_true=x_true)
    >>> bool(report["forward_error"].max() < 1e-12)
    True
    """
    A, x, b, x_true, condition_number = _check_system(A, x, b, x_true, condition_number)
    rtol = check_tolerance(rtol, "rtol")
    atol = check_tolerance(atol, "atol")
    safety = check_safety(safety)
    system = _System(A, x, b)
    report = _check_residual(system, rtol, atol, safety)
    if x_true is None:
        return report
    if condition_number is None:
        condition_number = _exact_condition_number(A)
    report.update(_check_forward(system, x_true, condition_number, safety))
    return report

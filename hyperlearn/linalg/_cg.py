"""Conjugate-gradient solvers whose success report can be trusted.

:func:`cg` follows the call signature and ``(x, info)`` contract of :func:`scipy.sparse.linalg.cg`
with one deliberate difference: ``info == 0`` is returned only after the TRUE residual
``norm(b - A @ x)`` has been recomputed and meets ``max(rtol * norm(b), atol)``.  :func:`block_cg`
solves for many right-hand sides at once with one operator product per iteration: by block CG
(deflating dependent and converged directions) or by CG in lockstep (fused Numba updates,
``_cg_kernels.py``), whichever the shape of the problem favours.
:func:`jacobi_preconditioner` builds ``M = diag(A)^-1``.

Every input is validated and coerced in one place, :func:`_make_system`; the solver loops only
apply operators and update vectors.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
from scipy.sparse import issparse
from scipy.sparse.linalg import LinearOperator, aslinearoperator

__all__ = [
    "INFO_A_NOT_POSITIVE_DEFINITE",
    "INFO_M_NOT_POSITIVE_DEFINITE",
    "INFO_NONFINITE",
    "block_cg",
    "cg",
    "jacobi_preconditioner",
]

# ---------------------------------------------------------------------------------------------
# ``info`` codes for breakdown (negative), documented in the docstrings of cg and block_cg.
# ---------------------------------------------------------------------------------------------
#: A search direction p with pᴴAp <= 0 was met (block: the Gram matrix PᴴAP is not positive
#: definite): A is not symmetric positive definite, so CG is not applicable.
INFO_A_NOT_POSITIVE_DEFINITE = -1
#: A residual r with rᴴMr <= 0 was met: the preconditioner M is not positive definite.
INFO_M_NOT_POSITIVE_DEFINITE = -2
#: A product with A or M returned NaN or infinity.
INFO_NONFINITE = -3

# ---------------------------------------------------------------------------------------------
# Named safeguards
# ---------------------------------------------------------------------------------------------
# Residual replacement: when the recursively updated residual says "converged" but the true one
# does not, the true residual replaces it and the iteration goes on.  If the tolerance lies below
# the attainable accuracy (about eps * ||A|| * ||x||), this would repeat until maxiter (10 n
# iterations); so a column whose true residual fails STAGNATION_LIMIT consecutive replacements
# without falling below STAGNATION_FACTOR times its best value so far is given up (info > 0).
STAGNATION_LIMIT = 3
STAGNATION_FACTOR = 0.5

# Block CG deflation: new search directions are orthonormalised from the eigendecomposition of
# their column-scaled Gram matrix; eigenvalues below DEFLATION_EXPONENT-th power of the machine
# epsilon (relative to the largest) mark (nearly) dependent directions, which are dropped.  The
# Gram matrix squares the condition number, so with eps**0.5 the kept basis is orthonormal to
# about eps / eps**0.5 = sqrt(eps), and a dropped direction carries at most eps**0.25 of a
# column's (unit-scaled) content -- which the next residual brings back if it still matters.
DEFLATION_EXPONENT = 0.5

# Block CG works on at most this many right-hand sides at a time (consecutive chunks of nearly
# equal size, each a fresh block CG run).  Each iteration costs one product with m columns plus
# ~8 n m^2 multiply-adds of Gram work, which outgrows the product for very sparse operators:
# on the hypergraph tagging system (~14 incidence nonzeros per row, n = 20k, 1 core) chunks of
# 16 and 32 were fastest, 64 was 1.5x slower (benchmarks/cg.py).  Larger blocks cut iterations
# further and pay off when a product is expensive: pass ``block_size``.  Block CG only pays when
# A.matmat is cheaper per column than A.matvec; for the same operator at n = 200k (random vertex
# order, n x m blocks far beyond cache) it was 1.5-4x DEARER per column, and cg per column won.
DEFAULT_BLOCK_SIZE = 16
# In exact arithmetic block CG with b columns ends after at most ceil(n / b) iterations (its
# Krylov space grows by b directions per step).  A chunk still running after twice that plus
# BLOCK_CG_SLACK iterations is living on rounding errors: its short recurrence has lost
# conjugacy, and on ill-conditioned systems it stagnated for good (n = 40, kappa = 1e6, 5
# columns, rtol 1e-10: relative residual 2.3e-9 after 20 000 iterations; n = 200, kappa = 1e9:
# residual 4.5 x ||b||).  Its columns are then finished by lockstep CG from their current
# iterates (each column's own recurrence, with cg's restart on stagnation), which converged
# there in 244 iterations.
BLOCK_CG_SLACK = 10

BLOCK_CG_METHODS = ("auto", "block", "batched")

BLOCK_CG_PRECISIONS = ("working", "mixed")

#: ``precision="mixed"``: the low precision of the inner solves for each working dtype.  Other
#: dtypes (float32, complex64: already the low precision) solve in working precision.
LOW_PRECISION = {
    np.dtype(np.float64): np.dtype(np.float32),
    np.dtype(np.complex128): np.dtype(np.complex64),
}

#: ``precision="mixed"``: a column's low-precision iterate is folded into the working-precision
#: one, and its true residual recomputed in working precision, whenever its recursive residual
#: has fallen by this factor since the last such reliable update.  Each update costs one
#: working-precision product per updated column; the low-precision recurrence drifts from the
#: truth by about κ·eps32 relative to the residual at the last update, so the factor must stay
#: well above that.  Measured (8-50 columns, 1 thread): on the tagging system (n = 20 000,
#: s = 50, rtol 1e-6) 1e-3 needs the iterations of float64 (17 / 26) and 2 updates per column;
#: 1e-7 (updates only at apparent convergence) saved the intermediate update there (1.44x vs
#: 1.15x float64's speed at alpha 0.9, min of 7) but cost 2 more iterations at alpha 0.99, and
#: on 2-D Poisson (n = 1600, rtol 1e-10) 338 iterations against 168 with 1e-3 (float64: 143).
MIXED_RELIABLE_UPDATE = 1e-3
#: ... and at the latest every ``min(MIXED_UPDATE_PERIOD, n)`` iterations: in exact arithmetic
#: CG ends within n iterations, so a low-precision recurrence that has not gained the factor
#: above by then is not converging (κ·eps32 near 1); the forced updates feed the stagnation
#: guard, which hands such columns to working precision after STAGNATION_LIMIT of them.
MIXED_UPDATE_PERIOD = 100
#: The stagnation guard of the reliable updates: a column whose true residual fails
#: STAGNATION_LIMIT consecutive updates without falling below this factor times its best so
#: far is out of low precision's reach (κ·eps32 near 1, or the tolerance near the attainable
#: accuracy) and is finished in working precision from its current iterate.
MIXED_MIN_REDUCTION = 0.5

#: ``method="batched"`` iterates at most this many columns at once.  One product with a wide
#: block costs far less per column than a matvec (the operator is streamed once), until the
#: blocks leave the cache: on the hypergraph tagging operator (n = 20 000, nnz(H) = 275 000,
#: 1 thread) a product cost 0.16-0.45 of a matvec per column at 50 columns, about the same at
#: 100, and MORE than a matvec from 128 columns on.
DEFAULT_BATCHED_WIDTH = 64

#: ``method="auto"`` takes true block CG when ``n <= BLOCK_AUTO_MAX_ROWS_PER_COLUMN * m`` for
#: the block width ``m``, and batched CG otherwise.  Block CG ends in at most about n / m
#: iterations (the block Krylov space then fills R^n), so when n / m is below the iteration
#: count of CG it needs far fewer iterations; otherwise it saves few (measured 0-15 %) and its
#: O(n m^2) Gram work per iteration outweighs the saving.  Measured (rtol 1e-8, 1 thread,
#: block vs batched): dense SPD n = 500 with 8 / 50 columns 27 vs 97 ms / 112 vs 164 ms
#: (n / m = 62 / 31); n = 2000, 8 columns 1.9 vs 1.8 s (250), 50 columns 7.5 vs 4.0 s; 2-D
#: Poisson n = 2500 and 40 000: batched 1.1-2.7x faster; hypergraph tagging systems
#: (n = 20 000, 200 000, 50 columns): batched 1.7-2.1x faster.
BLOCK_AUTO_MAX_ROWS_PER_COLUMN = 100


def _choose_method(n, s, block_size):
    """``method="auto"``: see :data:`BLOCK_AUTO_MAX_ROWS_PER_COLUMN`."""
    m = min(s, DEFAULT_BLOCK_SIZE) if block_size is None else min(s, block_size)
    return "block" if m > 1 and n <= BLOCK_AUTO_MAX_ROWS_PER_COLUMN * m else "batched"


# ---------------------------------------------------------------------------------------------
# Validation (the only place that inspects user input)
# ---------------------------------------------------------------------------------------------
@dataclass
class _System:
    A: LinearOperator
    M: LinearOperator | None  # None means the identity
    x: np.ndarray  # working copy of the initial guess, (n,) for cg, (n, s) for block_cg
    b: np.ndarray  # (n,) for cg, (n, s) for block_cg, C-contiguous, dtype of the solution
    bnorm: np.ndarray  # norm of b (scalar array for cg, (s,) for block_cg)
    tol: np.ndarray  # max(rtol * bnorm, atol), same shape as bnorm
    maxiter: int
    dtype: np.dtype
    squeeze: bool  # block_cg called with a 1-D B: return a 1-D X


def _solution_dtype(a_char, b_char):
    """SciPy's rule: non-floating types count as float64, then the usual promotion."""
    chars = [c if c in "fdFD" else "d" for c in (a_char, b_char)]
    return np.promote_types(*chars)


def _check_tolerance(name, param, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0:
        raise ValueError(
            f"{name}: invalid `{param}`={value!r}; expected a real, non-negative number "
            "(the convergence test is norm(b - A @ x) <= max(rtol * norm(b), atol))."
        )
    return float(value)


def _as_operator(name, param, op):
    try:
        return aslinearoperator(op)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"{name}: `{param}` of type {type(op).__name__} is not usable as a linear operator; "
            "expected an ndarray, a scipy sparse matrix/array or a LinearOperator."
        ) from exc


def _make_system(name, A, b, x0, M, *, rtol, atol, maxiter, callback, residuals, block):
    """Validate and coerce every input of a CG solver; return a :class:`_System`."""
    A_in = A
    A = _as_operator(name, "A", A)
    if len(A.shape) != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"{name}: `A` must be square; got shape {A.shape}.")
    n = A.shape[0]

    rhs = "B" if block else "b"
    if issparse(b):
        b = b.toarray()  # e.g. a sparse 0/1 tag matrix: the solution is dense anyway
    b = np.asarray(b)
    if block:
        if b.ndim not in (1, 2) or b.shape[0] != n:
            raise ValueError(
                f"{name}: shapes of A {A.shape} and {rhs} {b.shape} are incompatible; "
                f"expected {rhs} of shape ({n}, s) or ({n},)."
            )
    elif b.shape not in ((n,), (n, 1)):
        raise ValueError(
            f"{name}: shapes of A {A.shape} and {rhs} {b.shape} are incompatible; "
            f"expected {rhs} of shape ({n},) or ({n}, 1)."
        )
    if b.dtype.char not in "fdFD":
        if not (np.issubdtype(b.dtype, np.number) or b.dtype == bool):
            raise TypeError(f"{name}: `{rhs}` must be numeric; got dtype {b.dtype}.")
    dtype = _solution_dtype(A.dtype.char if A.dtype is not None else "d", b.dtype.char)
    squeeze = block and b.ndim == 1
    b = np.ascontiguousarray(b, dtype=dtype)
    b = b.reshape(n, -1) if block else b.reshape(n)
    if not np.all(np.isfinite(b)):
        raise ValueError(f"{name}: `{rhs}` contains NaN or infinity.")

    rtol = _check_tolerance(name, "rtol", rtol)
    atol = _check_tolerance(name, "atol", atol)

    if maxiter is None:
        maxiter = 10 * n
    elif isinstance(maxiter, bool) or not isinstance(maxiter, numbers.Integral) or maxiter < 1:
        raise ValueError(f"{name}: invalid `maxiter`={maxiter!r}; expected an integer >= 1.")
    maxiter = int(maxiter)

    if callback is not None and not callable(callback):
        raise TypeError(f"{name}: `callback` must be callable or None; got {callback!r}.")
    if residuals is not None and not isinstance(residuals, list):
        raise TypeError(
            f"{name}: `residuals` must be a list (its contents are replaced by the residual "
            f"norm history) or None; got {type(residuals).__name__}."
        )

    if M is None:
        # SciPy's convention: an operator that carries its own ``psolve`` preconditions itself.
        psolve = getattr(A_in, "psolve", None)
        if callable(psolve):
            M = LinearOperator(A.shape, matvec=psolve, dtype=dtype)
    else:
        M = _as_operator(name, "M", M)
        if M.shape != A.shape:
            raise ValueError(
                f"{name}: shapes of A {A.shape} and M {M.shape} differ; M must be {A.shape}."
            )

    x0_name = "X0" if block else "x0"
    if x0 is None:
        x = np.zeros_like(b)
    elif isinstance(x0, str):
        if x0 != "Mb":
            raise ValueError(f"{name}: `{x0_name}`={x0!r}; the only string accepted is 'Mb'.")
        x = b.copy() if M is None else _apply(M, b, dtype, copy=True)
    else:
        x = np.array(x0, dtype=dtype, order="C")  # always a copy: x0 is never mutated
        if block:
            if x.size != b.size or x.shape[0] != n:
                raise ValueError(
                    f"{name}: shapes of {rhs} {b.shape} and {x0_name} {x.shape} are incompatible."
                )
        elif x.shape not in ((n,), (n, 1)):
            raise ValueError(
                f"{name}: shapes of A {A.shape} and {x0_name} {x.shape} are incompatible; "
                f"expected ({n},) or ({n}, 1)."
            )
        x = x.reshape(b.shape)
        if not np.all(np.isfinite(x)):
            raise ValueError(f"{name}: `{x0_name}` contains NaN or infinity.")

    bnorm = np.linalg.norm(b, axis=0)
    tol = np.maximum(rtol * bnorm, atol)
    return _System(A, M, x, b, bnorm, tol, maxiter, np.dtype(dtype), squeeze)


def _apply(op, v, dtype, copy=False):
    """``op @ v`` for a vector or a block, returned in the working dtype."""
    out = op.matvec(v) if v.ndim == 1 else op.matmat(v)
    out = np.asarray(out, dtype=dtype)
    if out.shape != v.shape:
        out = out.reshape(v.shape)
    return out.copy() if copy and np.shares_memory(out, v) else out


# ---------------------------------------------------------------------------------------------
# cg
# ---------------------------------------------------------------------------------------------
def cg(A, b, x0=None, *, rtol=1e-5, atol=0.0, maxiter=None, M=None, callback=None, residuals=None):
    """Solve ``A x = b`` for Hermitian positive definite ``A`` by (preconditioned) CG.

    The signature and the ``(x, info)`` contract are those of :func:`scipy.sparse.linalg.cg`,
    except that success (``info == 0``) is reported only after the TRUE residual has been
    recomputed and meets the requested tolerance.

    Parameters
    ----------
    A : {ndarray, sparse matrix or array, LinearOperator} of shape (n, n)
        Hermitian (real symmetric) positive definite matrix or operator.
    b : ndarray of shape (n,) or (n, 1)
        Right-hand side.
    x0 : ndarray of shape (n,) or (n, 1), or 'Mb', optional
        Initial guess (zeros by default; ``'Mb'`` starts from ``M @ b``).  It is never modified.
    rtol, atol : float, optional
        Convergence test: ``norm(b - A @ x) <= max(rtol * norm(b), atol)``, checked on the true
        residual.  Defaults ``rtol=1e-5``, ``atol=0``.  Both must be non-negative.
    maxiter : int, optional
        Maximum number of iterations (operator products apart from the residual checks);
        default ``10 * n``.
    M : {ndarray, sparse matrix or array, LinearOperator}, optional
        Hermitian positive definite preconditioner approximating ``A^-1``.  If omitted and ``A``
        has a ``psolve`` method, that is used (as SciPy does).
    callback : callable, optional
        Called as ``callback(xk)`` after each iteration with the current iterate.
    residuals : list, optional
        If given, its contents are replaced by the residual norm history:
        ``residuals[k] = norm(r_k)`` for ``k = 0 .. iterations``, ``r_0 = b - A x0`` included.
        Entries are the recursively updated residuals, except ``r_0`` and every entry at which
        the true residual was recomputed (always the last one when ``info == 0``).

    Returns
    -------
    x : ndarray of shape (n,)
        The approximate solution, in the dtype SciPy would use (float32 stays float32).
    info : int
        ``0``: converged, the true residual meets the tolerance.
        ``> 0``: not converged; the number of iterations done.  Returned after ``maxiter``
        iterations, or earlier when residual replacement shows that the true residual has
        stagnated above the tolerance (the attainable accuracy is reached).
        ``-1`` (``INFO_A_NOT_POSITIVE_DEFINITE``): a direction with ``pᴴAp <= 0`` was met.
        ``-2`` (``INFO_M_NOT_POSITIVE_DEFINITE``): a residual with ``rᴴMr <= 0`` was met.
        ``-3`` (``INFO_NONFINITE``): ``A`` or ``M`` produced NaN or infinity.
        On breakdown ``x`` is the last iterate.

    Raises
    ------
    ValueError
        Incompatible shapes, negative or non-numeric ``rtol``/``atol``, ``maxiter < 1``,
        NaN or infinity in ``b`` or ``x0``, a string ``x0`` other than ``'Mb'``.
    TypeError
        ``A`` or ``M`` not usable as an operator, ``callback`` not callable, ``residuals``
        not a list, positional arguments after ``x0``.

    Notes
    -----
    Preconditioned CG as in Saad (2003), Algorithm 9.1; the comments in the code carry these
    step numbers:

    1. :math:`r_0 = b - A x_0`, :math:`z_0 = M r_0`, :math:`p_0 = z_0`
    2. for :math:`j = 0, 1, \\dots` until convergence:
    3. :math:`\\alpha_j = (r_j, z_j) / (A p_j, p_j)`
    4. :math:`x_{j+1} = x_j + \\alpha_j p_j`
    5. :math:`r_{j+1} = r_j - \\alpha_j A p_j`
    6. :math:`z_{j+1} = M r_{j+1}`
    7. :math:`\\beta_j = (r_{j+1}, z_{j+1}) / (r_j, z_j)`
    8. :math:`p_{j+1} = z_{j+1} + \\beta_j p_j`

    The recursively updated :math:`r_j` drifts from :math:`b - A x_j` by rounding errors of
    order :math:`\\varepsilon \\sum_i |\\alpha_i| \\|A p_i\\|`; in float32 SciPy's ``cg`` can
    report success with a true residual :math:`10^4` times the request.  Here, whenever the
    recursive residual meets the tolerance the true residual is computed (one extra product);
    if it fails, it replaces the recursive one and CG restarts from the current iterate
    (:math:`p = z`), which is iterative refinement in working precision (residual replacement,
    van der Vorst & Ye 2000).  Without preconditioning, in exact arithmetic,
    :math:`\\|e_k\\|_A \\le 2 ((\\sqrt\\kappa - 1)/(\\sqrt\\kappa + 1))^k \\|e_0\\|_A`.

    References
    ----------
    .. [1] Y. Saad, "Iterative Methods for Sparse Linear Systems", 2nd ed., SIAM, 2003, §9.2.
    .. [2] H. A. van der Vorst and Q. Ye, "Residual replacement strategies for Krylov subspace
       iterative methods for the convergence of true residuals", SIAM J. Sci. Comput. 22 (2000).

    Examples
    --------
    >>> import numpy as np
    >>> from hyperlearn.linalg import cg
    >>> A = np.array([[4.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 2.0]])
    >>> b = np.array([1.0, 2.0, 3.0])
    >>> history = []
    >>> x, info = cg(A, b, rtol=1e-10, residuals=history)
    >>> info
    0
    >>> bool(np.linalg.norm(b - A @ x) <= 1e-10 * np.linalg.norm(b))
    True
    >>> len(history) <= 4  # r_0 and at most n = 3 iterations (plus rounding)
    True
    """
    system = _make_system(
        "cg",
        A,
        b,
        x0,
        M,
        rtol=rtol,
        atol=atol,
        maxiter=maxiter,
        callback=callback,
        residuals=residuals,
        block=False,
    )
    return _cg_loop(system, callback, residuals)


def _cg_loop(system, callback, history):
    A, M, x, b, dtype = system.A, system.M, system.x, system.b, system.dtype
    tol = float(system.tol)
    if system.bnorm == 0:
        # A is positive definite, so A x = 0 has the unique solution 0 (SciPy returns zeros too).
        if history is not None:
            history[:] = [0.0]
        return np.zeros_like(b), 0

    dot = np.vdot  # conjugates its first argument; equals np.dot for real vectors
    # NumPy in-place updates through one preallocated buffer (no allocation per iteration).
    # SciPy's BLAS wrappers (scipy.linalg.blas.*axpy) were measured 1000x slower than NumPy
    # here after a Numba/OpenMP parallel region had run, so the loops use NumPy only.
    work = np.empty_like(x)

    # Step 1: r_0 = b - A x_0 (a true residual).
    r = b - _apply(A, x, dtype) if x.any() else b.copy()
    rnorm = float(np.linalg.norm(r))
    if history is not None:
        history[:] = [rnorm]
    if rnorm <= tol:
        return x, 0
    z = r if M is None else _apply(M, r, dtype)
    rho = dot(r, z).real
    if not np.isfinite(rho):
        return x, INFO_NONFINITE
    if rho <= 0:  # rᴴMr <= 0 with r != 0: M is not positive definite (threshold 0: exact test)
        return x, INFO_M_NOT_POSITIVE_DEFINITE
    p = z.copy()

    best_true = rnorm  # smallest true residual norm seen, for the stagnation safeguard
    failed_replacements = 0
    iteration = 0
    while True:  # Step 2
        q = _apply(A, p, dtype)
        pq = dot(p, q).real
        if not np.isfinite(pq):
            return x, INFO_NONFINITE
        if pq <= 0:  # pᴴAp <= 0 with p != 0: A is not positive definite (exact test)
            return x, INFO_A_NOT_POSITIVE_DEFINITE
        alpha = rho / pq  # Step 3
        x += np.multiply(p, alpha, out=work)  # Step 4
        r -= np.multiply(q, alpha, out=work)  # Step 5
        iteration += 1
        rnorm = float(np.linalg.norm(r))
        if history is not None:
            history.append(rnorm)
        if callback is not None:
            callback(x)

        restart = False
        if rnorm <= tol:
            # Apparent convergence: check the true residual (one extra product).
            r = b - _apply(A, x, dtype)
            rnorm = float(np.linalg.norm(r))
            if history is not None:
                history[-1] = rnorm
            if rnorm <= tol:
                return x, 0
            # Residual replacement; give up if the true residual no longer improves.
            if rnorm < STAGNATION_FACTOR * best_true:
                failed_replacements = 0
            else:
                failed_replacements += 1
            best_true = min(best_true, rnorm)
            if failed_replacements >= STAGNATION_LIMIT:
                return x, iteration
            restart = True
        if iteration >= system.maxiter:
            return x, iteration

        z = r if M is None else _apply(M, r, dtype)  # Step 6
        rho_next = dot(r, z).real
        if not np.isfinite(rho_next):
            return x, INFO_NONFINITE
        if rho_next <= 0:
            return x, INFO_M_NOT_POSITIVE_DEFINITE
        if restart:
            # The replaced residual is not orthogonal to the earlier ones, so Step 7's beta
            # would not make p A-conjugate: restart from the steepest-descent direction.
            p = z.copy()
        else:
            beta = rho_next / rho  # Step 7
            p *= beta  # Step 8
            p += z
        rho = rho_next


# ---------------------------------------------------------------------------------------------
# block_cg
# ---------------------------------------------------------------------------------------------
def block_cg(
    A,
    B,
    X0=None,
    *,
    rtol=1e-5,
    atol=0.0,
    maxiter=None,
    M=None,
    callback=None,
    residuals=None,
    block_size=None,
    method="auto",
    precision="working",
):
    """Solve ``A X = B`` for many right-hand sides with one operator product per iteration.

    Every iteration makes ONE product of ``A`` with a block of directions (``A.matmat``), so
    the operator is streamed once for all active columns instead of once per column.  Two
    methods share this contract:

    - ``"block"``: breakdown-free block CG.  All active columns share one search space, so
      they help each other converge (fewer iterations and products per column than separate
      CG runs); costs O(n m^2) Gram work per iteration for m columns.  Its short recurrence
      loses conjugacy to rounding on ill-conditioned systems, so a chunk of m columns still
      running after 2 ceil(n / m) + ``BLOCK_CG_SLACK`` iterations (past exact-arithmetic
      termination) is finished by lockstep CG from its current iterates.
    - ``"batched"``: lockstep CG.  Each column runs :func:`cg`'s own recurrence (same
      iterations and products as separate CG runs) and only the product is shared; costs
      O(n m) fused vector work per iteration (Numba kernels).  Far cheaper per iteration, so it
      wins whenever block CG cannot cut the iteration count by much -- on sparse and
      matrix-free operators with n much larger than m.

    Parameters
    ----------
    A : {ndarray, sparse matrix or array, LinearOperator} of shape (n, n)
        Hermitian (real symmetric) positive definite matrix or operator.
    B : ndarray or sparse matrix of shape (n, s), or ndarray of shape (n,)
        Right-hand sides (a sparse ``B`` is densified: ``X`` is dense anyway).
    X0 : ndarray of the shape of B, or 'Mb', optional
        Initial guess (zeros by default).  It is never modified.
    rtol, atol : float, optional
        Per-column convergence test on the TRUE residual:
        ``norm(B[:, j] - A @ X[:, j]) <= max(rtol * norm(B[:, j]), atol)``.
    maxiter : int, optional
        Maximum number of block iterations per chunk of ``block_size`` columns (default
        ``10 * n``).  With ``precision="mixed"``: of low-precision iterations and
        working-precision fallback iterations, in total over all chunks.
    M : {ndarray, sparse matrix or array, LinearOperator}, optional
        Hermitian positive definite preconditioner approximating ``A^-1`` (applied with
        ``M.matmat``).
    callback : callable, optional
        Called as ``callback(Xk)`` after each iteration with the current (n, s) iterate.
    residuals : list, optional
        If given, its contents are replaced by the history of per-column residual norms:
        ``residuals[k]`` is an array of shape (s,) after ``k`` iterations (``k = 0`` is
        ``B - A X0``).  A column that has finished keeps its final (true) residual norm.
    block_size : int, optional
        Largest number of right-hand sides iterated at once (default ``min(s, 16)``).  When
        ``s`` is larger the columns are solved in consecutive chunks of nearly equal size (at
        most this), each a fresh block CG run: the Gram work grows like ``n m^2`` per
        iteration for ``m`` columns and outgrows the saving in products for very sparse
        operators; raise it when a product with ``A`` is expensive.  With
        ``method="batched"`` it is the width of the chunks (default
        ``min(s, DEFAULT_BATCHED_WIDTH)`` = 64).
    method : {"auto", "block", "batched"}, default="auto"
        ``"auto"`` takes ``"block"`` when ``n <= 100 m`` for the block width ``m`` (block CG
        then ends in far fewer iterations than CG: at most about n / m) and ``"batched"``
        otherwise; see :data:`BLOCK_AUTO_MAX_ROWS_PER_COLUMN` for the measurements.  With
        ``precision="mixed"`` the lockstep method always runs ("block" is refused).
    precision : {"working", "mixed"}, default="working"
        ``"working"``: every operation in the dtype of the solution.  ``"mixed"`` (float64
        or complex128 systems): the CG iterations run in float32 (complex64) -- products
        with a float32 copy of ``A`` and ``M``, half the memory traffic -- while the iterate
        is accumulated in float64 and the true residual recomputed in float64 at "reliable
        updates" (Notes), so the result meets the same float64 tolerance as ``"working"``
        with the same ``info`` contract.  ``A`` is cast if it is an ndarray or a sparse
        matrix, or through its ``astype(dtype)`` method (``HypergraphOperator``,
        ``ShiftedOperator``); ``M`` likewise, or else is applied in its own precision to
        cast blocks.  Columns the low precision cannot finish (``κ·eps32`` near 1, a
        tolerance near float64's attainable accuracy, a float32 breakdown) are finished by
        float64 lockstep CG from their current iterate.  ``callback`` and ``residuals``
        work per iteration as in working precision: ``callback`` gets the float64 iterate
        (assembled, one extra n x s pass per call), ``residuals`` the recursive estimates
        except at reliable updates, where the true float64 norms replace them.  A float32
        or complex64 system is already in low precision: ``"mixed"`` then solves exactly as
        ``"working"`` does.

    Returns
    -------
    X : ndarray of shape (n, s) (or (n,) for a 1-D B)
        Approximate solutions, in the dtype SciPy's ``cg`` would use.
    info : int
        The worst column: ``0`` when every column converged (true residual checked); a negative
        breakdown code as in :func:`cg` (``-1`` A not positive definite: the Gram matrix
        ``PᴴAP`` of the search block is not positive definite; ``-2`` M not positive definite;
        ``-3`` NaN/infinity from A or M); otherwise ``> 0``, the number of block iterations
        done over all chunks (``maxiter`` reached, or some column stagnated above its
        tolerance).  On breakdown the solve stops: ``X`` holds the last iterate, and columns
        of chunks not yet started keep their initial guess.

    Raises
    ------
    ValueError, TypeError
        As :func:`cg`, for the same kinds of invalid input; also ``block_size < 1``, an
        unknown ``method`` or ``precision``; with ``precision="mixed"`` (float64 systems):
        ``method="block"``, or an operator ``A`` that cannot be cast (a LinearOperator
        without ``astype``).

    Notes
    -----
    A breakdown-free variant of O'Leary's block CG in the spirit of Dubrulle (2001) and
    Ji & Li (2017): the search block is re-orthonormalised with rank revealing each iteration,
    so it may have fewer columns than the residual block.  With ``W`` the active columns,
    the code's step numbers are:

    1. :math:`R = B - A X_0`; columns that already meet the tolerance are done.
    2. :math:`Z = M R` (check :math:`r_j^H z_j > 0`).
    3. :math:`W = Z - P_{old} G_{old}^{-1} Q_{old}^H Z` (A-orthogonal to the last block; skipped
       in the first iteration).
    4. :math:`P = \\mathrm{orth}(W)`: eigendecomposition of the column-scaled Gram matrix
       :math:`D W^H W D`, dropping eigenvalues below :math:`\\varepsilon^{1/2}` times the
       largest; duplicate or dependent right-hand sides, and residual columns that became
       dependent, thereby cost no product.
    5. :math:`Q = A P` (the one product of the iteration).
    6. :math:`G = P^H Q`; breakdown ``-1`` if it is not positive definite.
    7. :math:`\\alpha = G^{-1} P^H R`, :math:`X \\mathrel{+}= P \\alpha`,
       :math:`R \\mathrel{-}= Q \\alpha` (each column's A-norm error is minimised over
       span(P), so it never grows, whatever rounding does to conjugacy).
    8. Columns whose updated residual meets the tolerance get their true residual computed;
       those that pass leave the block (they cost nothing more), the others continue with the
       true residual (residual replacement, with the stagnation guard of :func:`cg`).

    In exact arithmetic block CG converges like CG with the effective condition number
    :math:`\\lambda_n / \\lambda_s` (O'Leary 1980).

    ``method="batched"`` runs, for each active column j, the recurrence of :func:`cg`:
    :math:`q = A p_j`, :math:`a_j = r_j^H z_j / p_j^H q`, :math:`r_j \\mathrel{-}= a_j q`,
    :math:`x_j \\mathrel{+}= a_j p_j`, :math:`p_j = z_j + \\beta_j p_j`, with the products of
    all columns in one ``A.matmat``; the true-residual check, residual replacement and
    stagnation guard are those of :func:`cg` (step 8 above), and finished columns leave the
    block.  Breakdown codes: ``-1`` when some :math:`p_j^H A p_j \\le 0`, ``-2`` when some
    :math:`r_j^H M r_j \\le 0`.

    ``precision="mixed"`` is lockstep CG in float32 with reliable updates in float64
    (Sleijpen & van der Vorst 1996; as used for mixed-precision CG by Clark et al. 2010).
    For each active column, with :math:`x` (float64) and the float32 quantities
    :math:`\\hat x, \\hat r, p` and a scale :math:`\\sigma`:

    M1. :math:`r = b - A x` in float64, :math:`\\sigma = \\|r\\|`,
        :math:`\\hat r = \\mathrm{fl}_{32}(r / \\sigma)` (unit norm: float32's range never
        matters), :math:`\\hat x = 0`, :math:`p = M \\hat r`.
    M2. One float32 iteration of :func:`cg`'s recurrence for :math:`A \\hat x = \\hat r`
        with the float32 copies of A and M (all active columns in one product).
    M3. When the estimate :math:`\\sigma \\|\\hat r\\|` has fallen by
        ``MIXED_RELIABLE_UPDATE`` since the column's last update, or below its tolerance, or
        ``min(MIXED_UPDATE_PERIOD, n)`` iterations have passed: :math:`x \\mathrel{+}=
        \\sigma \\hat x` (float64), :math:`\\hat x = 0`, and the TRUE residual
        :math:`r = b - A x` is computed in float64; a column meeting its tolerance leaves.
    M4. Otherwise the true residual replaces the recursive one: :math:`\\sigma' = \\|r\\|`,
        :math:`\\hat r = r / \\sigma'`, :math:`p \\mathrel{*}= \\sigma / \\sigma'` --
        the search direction is rescaled, NOT restarted, so the column keeps CG's (superlinear)
        convergence.  Restarting at each refinement step, as classical iterative refinement
        does, was measured first: on the tagging system the restarted float32 solves needed
        33-39 iterations against 26 in float64 and ended 0.6-1.1x as fast as float64; with
        reliable updates the iteration counts equal float64's.
    M5. :math:`\\beta` uses the rescaled :math:`r^H z` of the last iteration.
    M6. Columns whose true residual fails ``STAGNATION_LIMIT`` consecutive updates without
        falling below ``MIXED_MIN_REDUCTION`` times its best, or that break down in float32,
        are solved by float64 lockstep CG from their current iterate (the rest of
        ``maxiter``).  So ``info == 0`` still means every TRUE float64 residual met its
        tolerance, and ``info > 0`` is returned when the budget ran out first.

    Each float32 iteration costs about half a float64 one (the product gathers rows of half
    the width; the vector updates move half the bytes); the float64 work is one product per
    column per update (about ``log(rtol) / log(MIXED_RELIABLE_UPDATE) + 1`` of them).
    Measured on the tagging system (n = 20 000, 50 columns, rtol 1e-6, 1 thread,
    benchmarks/cg.py, 3 runs on a shared machine): 1.0-1.24x (alpha 0.9) and 1.26-1.74x
    (alpha 0.99) the speed of ``"working"``, with the same iteration counts (17 / 26).  It
    pays less or loses where float32 CG converges more slowly than float64 CG: larger κ with
    tight tolerances (1-D Poisson n = 400, rtol 1e-10: 810 iterations against 400; 2-D
    Poisson n = 1600, rtol 1e-10: 168 against 143), and small problems that fit in cache
    (n = 3000: 0.8-0.95x), where the per-iteration overheads dominate.

    References
    ----------
    .. [1] D. P. O'Leary, "The block conjugate gradient algorithm and related methods",
       Linear Algebra Appl. 29 (1980) 293-322.
    .. [2] A. A. Dubrulle, "Retooling the method of block conjugate gradients",
       Electron. Trans. Numer. Anal. 12 (2001) 216-233.
    .. [3] H. Ji and Y. Li, "A breakdown-free block conjugate gradient method",
       BIT Numer. Math. 57 (2017) 379-403.
    .. [4] G. L. G. Sleijpen and H. A. van der Vorst, "Reliable updated residuals in hybrid
       Bi-CG methods", Computing 56 (1996) 141-163.
    .. [5] M. A. Clark, R. Babich, K. Barros, R. C. Brower and C. Rebbi, "Solving lattice QCD
       systems of equations using mixed precision solvers on GPUs", Comput. Phys. Commun.
       181 (2010) 1517-1528.

    Examples
    --------
    >>> import numpy as np
    >>> from hyperlearn.linalg import block_cg
    >>> rng = np.random.default_rng(0)
    >>> G = rng.standard_normal((30, 30))
    >>> A = G @ G.T + 30 * np.eye(30)
    >>> B = rng.standard_normal((30, 4))
    >>> B[:, 3] = B[:, 0]  # a duplicate right-hand side is handled
    >>> X, info = block_cg(A, B, rtol=1e-8)
    >>> info
    0
    >>> bool(np.all(np.linalg.norm(B - A @ X, axis=0) <= 1e-8 * np.linalg.norm(B, axis=0)))
    True
    """
    system = _make_system(
        "block_cg",
        A,
        B,
        X0,
        M,
        rtol=rtol,
        atol=atol,
        maxiter=maxiter,
        callback=callback,
        residuals=residuals,
        block=True,
    )
    s = system.b.shape[1]
    if block_size is not None and (
        isinstance(block_size, bool)
        or not isinstance(block_size, numbers.Integral)
        or block_size < 1
    ):
        raise ValueError(
            f"block_cg: invalid `block_size`={block_size!r}; expected an integer >= 1."
        )
    if not isinstance(method, str) or method not in BLOCK_CG_METHODS:
        raise ValueError(
            f"block_cg: invalid `method`={method!r}; expected one of {BLOCK_CG_METHODS}."
        )
    if not isinstance(precision, str) or precision not in BLOCK_CG_PRECISIONS:
        raise ValueError(
            f"block_cg: invalid `precision`={precision!r}; expected one of {BLOCK_CG_PRECISIONS}."
        )
    if precision == "mixed" and system.dtype in LOW_PRECISION:
        if method == "block":
            raise ValueError(
                "block_cg: precision='mixed' runs the lockstep method; got method='block' "
                "(expected 'auto' or 'batched')."
            )
        low = LOW_PRECISION[system.dtype]
        A_low = _low_precision_operator(A, low)
        M_low = _low_precision_preconditioner(M, system.M, low)
        X, info = _MixedCG(system, A_low, M_low, block_size, callback, residuals).run()
    else:
        if method == "auto":
            method = _choose_method(system.b.shape[0], s, block_size)
        X, info = _working_solve(system, method, block_size, callback, residuals)
    return (X.reshape(-1) if system.squeeze else X), info


def _working_solve(system, method, block_size, callback, history):
    """The solve in the system's own dtype by ``method`` ("block" or "batched")."""
    s = system.b.shape[1]
    if method == "batched":
        width = DEFAULT_BATCHED_WIDTH if block_size is None else int(block_size)
        return _BatchedCG(system, width, callback, history).run()
    width = max(1, min(s, DEFAULT_BLOCK_SIZE)) if block_size is None else int(block_size)
    if width == 1:
        return _columns_by_cg(system, callback, history)
    return _BlockCG(system, width, callback, history).run()


# ---------------------------------------------------------------------------------------------
# precision="mixed": iterative refinement with low-precision inner solves
# ---------------------------------------------------------------------------------------------
def _low_precision_operator(A, dtype):
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
                "HypergraphOperator, ShiftedOperator), or use precision='working'."
            )
        return aslinearoperator(astype(dtype))
    return aslinearoperator(np.asarray(A).astype(dtype))


class _CastPreconditioner(LinearOperator):
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


def _low_precision_preconditioner(M_in, M, dtype):
    """The inner solves' preconditioner: ``M`` cast like ``A`` where it can be (ndarray,
    sparse, ``astype``), otherwise ``M`` itself applied to cast blocks (a generic operator,
    ``A.psolve``).  Its precision only affects the inner convergence rate: the outer loop
    checks the true residual in working precision."""
    if M is None:
        return None
    if M_in is not None:
        if issparse(M_in) or isinstance(M_in, np.ndarray):
            return _low_precision_operator(M_in, dtype)
        if callable(getattr(M_in, "astype", None)) and hasattr(M_in, "matvec"):
            return _low_precision_operator(M_in, dtype)
    return _CastPreconditioner(M, dtype)


def _positive(values):
    """All finite and > 0 (threshold 0: the exact test for the curvatures of CG)."""
    return bool(np.all(np.isfinite(values) & (values > 0)))


class _MixedCG:
    """``precision="mixed"``: lockstep CG in low precision with reliable updates in working
    precision (Steps M1-M6 in the Notes of :func:`block_cg`).

    Each column runs the recurrence of :func:`cg` on its residual scaled to unit norm, in low
    precision (``_batched_ops`` kernels, one low-precision product per iteration for all
    active columns).  The low-precision iterate is an update ``x_lo`` to the working-precision
    iterate ``x``; whenever a column's recursive residual has fallen by
    ``MIXED_RELIABLE_UPDATE`` since its last update (or below its tolerance), ``x += s x_lo``
    and the TRUE residual ``b - A x`` is recomputed in working precision and replaces the
    recursive one -- without restarting the search direction, so the columns keep CG's
    convergence instead of restarting it at every refinement step.
    """

    def __init__(self, system, A_low, M_low, block_size, callback, history):
        self.sys = system
        self.A_low = A_low
        self.M_low = M_low
        self.block_size = block_size
        self.callback = callback
        self.history = history
        self.low = LOW_PRECISION[system.dtype]
        self.ops = _batched_ops(self.low)
        self.iterations = 0  # low- and working-precision iterations, in total

    def run(self):
        sys_, dtype = self.sys, self.sys.dtype
        X, B = sys_.x, sys_.b
        s = B.shape[1]
        X[:, sys_.bnorm == 0] = 0  # A x = 0 has the unique solution 0 (A positive definite)
        self.R0 = None
        if X.any():
            self.R0 = B - _apply(sys_.A, X, dtype)
            self.resnorm = np.linalg.norm(self.R0, axis=0)
        else:
            self.resnorm = sys_.bnorm.copy()
        if self.history is not None:
            self.history[:] = [self.resnorm.copy()]
        if not np.all(np.isfinite(self.resnorm)):
            return X, INFO_NONFINITE
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

    def _true_residuals(self, cols):
        sys_ = self.sys
        X_c = np.ascontiguousarray(sys_.x[:, cols])
        return sys_.b[:, cols] - _apply(sys_.A, X_c, sys_.dtype)

    def _record(self, active, X_lo, scale):
        if self.history is not None:
            self.history.append(self.resnorm.copy())
        if self.callback is not None:
            X = self.sys.x.copy()
            X[:, active] += X_lo.astype(self.sys.dtype) * scale
            self.callback(X)

    def _solve(self, active):
        """Steps M1-M5 for the columns ``active`` (one chunk)."""
        sys_, dtype, low, ops = self.sys, self.sys.dtype, self.low, self.ops
        A_low, M_low, X = self.A_low, self.M_low, sys_.x
        n = X.shape[0]
        tol = sys_.tol[active]
        # Step M1: the true residuals, scaled to unit norm (float32's range is then no issue
        # however small the residuals become) and cast.
        scale = self.resnorm[active].copy()
        R_true = sys_.b[:, active] if self.R0 is None else self.R0[:, active]
        R = np.ascontiguousarray(R_true / scale, dtype=low)
        X_lo = np.zeros((n, active.size), dtype=low)
        last = scale.copy()  # true residual norm at the last reliable update
        since = np.zeros(active.size, dtype=int)  # iterations since then
        period = min(MIXED_UPDATE_PERIOD, n)
        best = scale.copy()
        failed = np.zeros(active.size, dtype=int)
        Z = R if M_low is None else np.ascontiguousarray(_apply(M_low, R, low))
        rz = ops.column_dots(R, Z)
        if not _positive(rz):
            self._abandon(active)
            return
        P = Z.copy()
        while active.size and self.iterations < sys_.maxiter:
            Q = np.ascontiguousarray(_apply(A_low, P, low))  # Step M2
            pq = ops.column_dots(P, Q)
            if not _positive(pq):
                self._abandon(active, X_lo, scale)
                return
            a = rz / pq
            rr = ops.residual_update(R, Q, a)
            del Q
            self.iterations += 1
            estimate = np.sqrt(rr) * scale
            # Step M3: reliable updates.
            since += 1
            update = np.flatnonzero(
                (estimate <= MIXED_RELIABLE_UPDATE * last) | (estimate <= tol) | (since >= period)
            )
            leaving = np.zeros(active.size, dtype=bool)
            rescale = np.ones(active.size)
            if update.size:
                cols = active[update]
                ops.fold_update(X, cols, X_lo, P, a, scale, update)
                a[update] = 0.0  # already folded in: the direction update must not repeat it
                R_true = self._true_residuals(cols)
                true = np.linalg.norm(R_true, axis=0)
                estimate[update] = true
                done = true <= tol[update]
                self.converged[cols[done]] = True
                # the stagnation guard of cg, on the true residuals at the updates
                improved = true < MIXED_MIN_REDUCTION * best[update]
                failed[update] = np.where(improved, 0, failed[update] + 1)
                best[update] = np.minimum(best[update], true)
                stalled = ~done & ((failed[update] >= STAGNATION_LIMIT) | ~np.isfinite(true))
                self.fallback[cols[stalled]] = True
                leaving[update] = done | stalled
                keep = ~(done | stalled)
                k = update[keep]
                # Step M4: the true residual replaces the recursive one, in the new scale;
                # the direction is rescaled, not restarted.
                rescale[k] = scale[k] / true[keep]
                scale[k] = last[k] = true[keep]
                since[k] = 0
                ops.replace_residuals(
                    R, P, k, np.ascontiguousarray(R_true[:, keep]), 1.0 / true[keep], rescale[k]
                )
                rr[k] = 1.0  # R[:, k] has unit norm (to the rounding of its cast)
            self.resnorm[active] = estimate
            if M_low is None:
                Z, rz_next = R, rr
            else:
                Z = np.ascontiguousarray(_apply(M_low, R, low))
                rz_next = ops.column_dots(R, Z)
            stay = ~leaving
            if not _positive(rz_next[stay]):
                self._abandon(active[stay], X_lo[:, stay], scale[stay])
                return
            beta = np.where(leaving, 0.0, rz_next / (rz * rescale**2))  # Step M5
            ops.direction_update(X_lo, P, Z, a, beta)
            rz = rz_next
            if leaving.any():
                active, tol, rz = active[stay], tol[stay], rz[stay]
                scale, last, best = scale[stay], last[stay], best[stay]
                failed, since = failed[stay], since[stay]
                X_lo = np.ascontiguousarray(X_lo[:, stay])
                R = np.ascontiguousarray(R[:, stay])
                P = np.ascontiguousarray(P[:, stay])
            self._record(active, X_lo, scale)
        if active.size:  # out of iterations
            X[:, active] += X_lo.astype(dtype) * scale

    def _abandon(self, active, X_lo=None, scale=None):
        """A low-precision breakdown (non-finite, or a curvature rᴴMr / pᴴAp <= 0): the
        columns go to working precision, which decides (Step M6)."""
        if X_lo is not None and np.all(np.isfinite(X_lo)):
            self.sys.x[:, active] += X_lo.astype(self.sys.dtype) * scale
        self.fallback[active] = True

    def _working_precision(self, cols, budget):
        """Step M6: the columns low precision could not finish, solved by lockstep CG in
        working precision from their current iterate; returns its info."""
        info, history = _lockstep_on_columns(self.sys, cols, budget, self.block_size, self.callback)
        self.iterations += len(history) - 1
        if info == 0:
            self.converged[cols] = True
        if self.history is not None:
            for norms in history[1:]:
                self.resnorm[cols] = norms
                self.history.append(self.resnorm.copy())
        return info


def _lockstep_on_columns(system, cols, budget, block_size, callback):
    """Columns ``cols`` of ``system`` solved by lockstep CG in working precision from their
    current iterates in ``system.x`` (updated in place), with at most ``budget`` iterations.

    ``callback`` (or None) receives the full (n, s) iterate.  Returns ``(info, history)``,
    ``history`` the residual norms of those columns, the initial ones first.  Used where
    another method hands its unfinished columns over (``precision="mixed"``, Step M6; block
    CG past exact-arithmetic termination, see BLOCK_CG_SLACK).
    """
    sub = _System(
        system.A,
        system.M,
        np.ascontiguousarray(system.x[:, cols]),
        np.ascontiguousarray(system.b[:, cols]),
        system.bnorm[cols],
        system.tol[cols],
        budget,
        system.dtype,
        False,
    )
    sub_callback = None
    if callback is not None:

        def sub_callback(X_sub):
            X = system.x.copy()
            X[:, cols] = X_sub
            callback(X)

    history = []
    X_sub, info = _working_solve(sub, "batched", block_size, sub_callback, history)
    system.x[:, cols] = X_sub
    return info, history


def _columns_by_cg(system, callback, history):
    """``block_size == 1``: the columns one after another by :func:`cg`'s loop.

    Same results and contract as a block of width 1, without the s x s machinery (eigh and
    Gram products of 1 x 1 matrices cost more than the vector work at this width).
    """
    X, s = system.x, system.b.shape[1]
    norms = system.bnorm.copy()
    if X.any():
        norms = np.linalg.norm(system.b - _apply(system.A, X, system.dtype), axis=0)
    log = [norms.copy()]
    info, iterations, all_converged = 0, 0, True
    for j in range(s):
        column = _System(
            system.A,
            system.M,
            np.ascontiguousarray(X[:, j]),
            system.b[:, j].copy(),
            system.bnorm[j],
            system.tol[j],
            system.maxiter,
            system.dtype,
            False,
        )
        column_history = []

        def column_callback(xk, j=j):
            X[:, j] = xk
            callback(X)

        x, column_info = _cg_loop(
            column, None if callback is None else column_callback, column_history
        )
        X[:, j] = x
        for value in column_history[1:]:
            norms[j] = value
            log.append(norms.copy())
        norms[j] = column_history[-1]
        iterations += len(column_history) - 1
        if column_info < 0:
            info = column_info
            break
        all_converged &= column_info == 0
    if info == 0 and not all_converged:
        info = max(iterations, 1)
    if history is not None:
        history[:] = log
    return X, info


def _herm(X):
    """Conjugate transpose as a view for real arrays (``ndarray.conj`` would copy them)."""
    return X.conj().T if np.iscomplexobj(X) else X.T


def _column_dots(X, Y):
    """``[x_jᴴ y_j for each column j]`` (real part), without an n x s temporary."""
    return np.einsum("ij,ij->j", X.conj() if np.iscomplexobj(X) else X, Y).real


def _orthonormal_basis(W, threshold):
    """Orthonormal basis of the numerically independent directions of ``W`` (Step 4).

    Scaling the columns to unit norm first makes the rank decision independent of how far each
    column has converged: a residual 1e-8 times smaller than its neighbours is not dependent.
    """
    gram = _herm(W) @ W
    scale = np.real(np.diagonal(gram)).copy()
    nonzero = scale > 0
    if not np.all(nonzero):
        W, gram, scale = W[:, nonzero], gram[np.ix_(nonzero, nonzero)], scale[nonzero]
    if W.shape[1] == 0:
        return W
    scale = 1.0 / np.sqrt(scale)
    gram = gram * scale[:, None] * scale[None, :]
    lam, V = np.linalg.eigh(gram)  # NumPy's LAPACK: see the note in _cg_loop
    keep = lam > threshold * lam[-1]
    T = (scale[:, None] * V[:, keep]) / np.sqrt(lam[keep])
    return W @ T.astype(W.dtype, copy=False)


class _BlockCG:
    """State of one block_cg solve (Steps 1-8 of the docstring of :func:`block_cg`)."""

    def __init__(self, system, block_size, callback, history):
        self.sys = system
        self.block_size = block_size
        self.callback = callback
        self.history = history
        n, s = system.b.shape
        self.X = system.x  # full (n, s) iterate; active columns live in self.X_act meanwhile
        self.threshold = np.finfo(system.dtype).eps ** DEFLATION_EXPONENT
        self.resnorm = np.full(s, np.nan)
        self.converged = np.zeros(s, dtype=bool)
        self.best_true = np.full(s, np.inf)
        self.failed = np.zeros(s, dtype=int)
        # Step 1 for every column now when X0 is given (so that the history starts complete);
        # with X0 = 0 the initial residual is B itself.
        zero_rhs = system.bnorm == 0
        self.X[:, zero_rhs] = 0  # A x = 0 has the unique solution 0 (A positive definite)
        self.R0 = None
        if self.X.any():
            self.R0 = np.empty_like(self.X)
            for start in range(0, s, block_size):
                cols = slice(start, start + block_size)
                self.R0[:, cols] = system.b[:, cols] - _apply(
                    system.A, self.X[:, cols].copy(), system.dtype
                )
            self.resnorm[:] = np.linalg.norm(self.R0, axis=0)
        else:
            self.resnorm[:] = system.bnorm
        self.converged = self.resnorm <= system.tol
        self.waiting = [j for j in range(s) if not self.converged[j]]
        self.active = np.zeros(0, dtype=np.intp)
        self.X_act = np.zeros((n, 0), dtype=system.dtype)
        self.R_act = np.zeros((n, 0), dtype=system.dtype)
        self.P_old = self.Q_old = self.gram_inv_old = None

    def _admit(self):
        """Start the next chunk of (at most ``block_size``) waiting columns as a fresh block.

        Columns never join a running block: a new column's directions are not A-conjugate to
        the block's earlier search spaces, and mixing them in would cost the running columns
        the optimality of CG over their whole Krylov space (measured: more products per column
        than separate CG runs).
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
        sys_, dtype = self.sys, self.sys.dtype
        A, M = sys_.A, sys_.M
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
            if chunk_iterations >= sys_.maxiter:
                # This chunk is out of iterations: its columns stay unconverged (info > 0).
                self._retire(np.ones(self.active.size, dtype=bool))
                continue
            if chunk_iterations >= self.chunk_limit:
                # past exact-arithmetic termination: lockstep CG finishes (see BLOCK_CG_SLACK)
                sub_info, sub_iterations = self._finish_by_lockstep(sys_.maxiter - chunk_iterations)
                iterations += sub_iterations
                if sub_info < 0:
                    info = sub_info
                    break
                continue
            R = self.R_act
            Z = R if M is None else _apply(M, R, dtype)  # Step 2
            rz = _column_dots(R, Z)
            if not np.all(np.isfinite(rz)):
                info = INFO_NONFINITE
                break
            if np.any(rz <= 0):  # threshold 0: the exact test for rᴴMr > 0 with r != 0
                info = INFO_M_NOT_POSITIVE_DEFINITE
                break
            if self.P_old is not None:  # Step 3
                W = Z - self.P_old @ (self.gram_inv_old @ (_herm(self.Q_old) @ Z))
            else:
                W = Z
            P = _orthonormal_basis(W, self.threshold)  # Step 4
            if P.shape[1] == 0:
                # Z lies in span(P_old) to rounding: restart the search space from Z itself.
                P = _orthonormal_basis(Z, self.threshold)
            Q = _apply(A, P, dtype)  # Step 5
            G = _herm(P) @ Q  # Step 6
            G = (G + _herm(G)) / 2
            if not np.all(np.isfinite(G)):
                info = INFO_NONFINITE
                break
            mu, U = np.linalg.eigh(G)
            if mu[0] <= 0:  # threshold 0: exact test for a direction with pᴴAp <= 0
                info = INFO_A_NOT_POSITIVE_DEFINITE
                break
            gram_inv = (U / mu) @ _herm(U)
            alpha = gram_inv @ (_herm(P) @ R)  # Step 7
            self.X_act += P @ alpha
            self.R_act -= Q @ alpha
            iterations += 1
            chunk_iterations += 1
            norms = np.linalg.norm(self.R_act, axis=0)
            leaving = self._check_true_residuals(norms)  # Step 8
            self.resnorm[self.active] = norms
            if leaving.any():
                self._retire(leaving)
            self.P_old, self.Q_old, self.gram_inv_old = P, Q, gram_inv
            self._record()
            if self.callback is not None:
                self.X[:, self.active] = self.X_act
                self.callback(self.X)
        if self.active.size:
            self.X[:, self.active] = self.X_act
        if info == 0 and not np.all(self.converged):
            info = max(iterations, 1)
        return self.X, info

    def _finish_by_lockstep(self, budget):
        """The active chunk's columns solved by lockstep CG from their current iterates with at
        most ``budget`` iterations; retires them.  Returns ``(info, iterations)``."""
        cols = self.active
        self.X[:, cols] = self.X_act
        info, history = _lockstep_on_columns(self.sys, cols, budget, None, self.callback)
        if info == 0:
            self.converged[cols] = True
        for norms in history[1:]:
            self.resnorm[cols] = norms
            self._record()
        self.active = np.zeros(0, dtype=np.intp)
        self.X_act = np.zeros((self.X.shape[0], 0), dtype=self.sys.dtype)
        self.R_act = np.zeros((self.X.shape[0], 0), dtype=self.sys.dtype)
        self.P_old = self.Q_old = self.gram_inv_old = None
        return info, max(len(history) - 1, 0)

    def _check_true_residuals(self, norms):
        """Step 8: true residuals of apparently converged columns; returns the leaving mask."""
        candidates = np.flatnonzero(norms <= self.sys.tol[self.active])
        leaving, _ = _check_candidates(
            self.sys, self.active, candidates, self.X_act, self.R_act, norms, self
        )
        return leaving


def _check_candidates(system, active, candidates, X_act, R_act, norms, state):
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
    true_residuals = system.b[:, cols] - _apply(
        system.A, np.ascontiguousarray(X_act[:, candidates]), system.dtype
    )
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


class _NumpyBatchedOps:
    """The three fused updates of the batched loop in NumPy (complex dtypes)."""

    @staticmethod
    def column_dots(P, Q):
        return _column_dots(P, Q)

    @staticmethod
    def residual_update(R, Q, a):
        R -= Q * a.astype(R.dtype)
        return _column_dots(R, R)

    @staticmethod
    def direction_update(X, P, Z, a, beta):
        X += P * a.astype(X.dtype)
        P *= beta.astype(P.dtype)
        P += Z

    @staticmethod
    def fold_update(X, x_cols, X_lo, P, a, scale, cols):
        step = X_lo[:, cols].astype(X.dtype) + P[:, cols].astype(X.dtype) * a[cols]
        X[:, x_cols] += step * scale[cols]
        X_lo[:, cols] = 0

    @staticmethod
    def replace_residuals(R, P, cols, R_true, inv_norm, rescale):
        R[:, cols] = R_true * inv_norm
        P[:, cols] *= rescale.astype(P.dtype)


class _NumbaBatchedOps:
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


def _batched_ops(dtype):
    return _NumbaBatchedOps() if dtype.kind == "f" else _NumpyBatchedOps


class _BatchedCG:
    """Lockstep CG: one independent CG recurrence per column, one product per iteration.

    Each column follows exactly the recurrence of :func:`cg` (the same iterates up to the
    summation order of dot products), with its own step lengths; the columns share only the
    product ``A @ P`` with all active directions.  Work per iteration: one product plus about
    10 passes over the n x m active blocks (fused Numba kernels) -- no m x m Gram work.
    Columns are iterated in consecutive chunks of at most ``width`` (see
    :data:`DEFAULT_BATCHED_WIDTH`).
    """

    def __init__(self, system, width, callback, history):
        self.sys = system
        self.width = width
        self.callback = callback
        self.history = history
        self.ops = _batched_ops(system.dtype)

    def run(self):
        sys_, dtype = self.sys, self.sys.dtype
        X = sys_.x
        s = sys_.b.shape[1]
        X[:, sys_.bnorm == 0] = 0  # A x = 0 has the unique solution 0 (A positive definite)
        self.R0 = None
        if X.any():
            self.R0 = _apply(sys_.A, X, dtype, copy=True)
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

    def _solve(self, active):
        """Iterate the columns ``active`` to convergence; returns (breakdown info, iterations)."""
        sys_, dtype, ops = self.sys, self.sys.dtype, self.ops
        A, M, X = sys_.A, sys_.M, sys_.x
        s = sys_.b.shape[1]
        resnorm = self.resnorm
        whole = active.size == s  # the usual case: the blocks are X and B themselves
        X_a = X if whole else np.ascontiguousarray(X[:, active])
        if self.R0 is not None:
            R_a = self.R0 if whole else np.ascontiguousarray(self.R0[:, active])
        else:
            R_a = sys_.b.copy() if whole else np.ascontiguousarray(sys_.b[:, active])
        tol_a = sys_.tol[active]
        Z = R_a if M is None else np.ascontiguousarray(_apply(M, R_a, dtype))
        rz = ops.column_dots(R_a, Z) if M is not None else resnorm[active] ** 2
        info = self._check_rz(rz)
        P = Z.copy()
        iterations = 0
        while info == 0 and active.size and iterations < sys_.maxiter:
            Q = np.ascontiguousarray(_apply(A, P, dtype))
            pq = ops.column_dots(P, Q)
            if not np.all(np.isfinite(pq)):
                info = INFO_NONFINITE
                break
            if np.any(pq <= 0):  # pᴴAp <= 0 with p != 0: A is not positive definite (exact)
                info = INFO_A_NOT_POSITIVE_DEFINITE
                break
            a = rz / pq
            rr = ops.residual_update(R_a, Q, a)
            del Q
            iterations += 1
            norms = np.sqrt(rr)
            # Apparent convergence: the iterate of these columns is brought up to date now
            # (the fused update below does it for the others) and the true residual checked.
            candidates = np.flatnonzero(norms <= tol_a)
            if candidates.size:
                X_a[:, candidates] += P[:, candidates] * a[candidates].astype(dtype)
                a[candidates] = 0.0
            leaving, restart = _check_candidates(sys_, active, candidates, X_a, R_a, norms, self)
            rr[restart] = norms[restart] ** 2
            resnorm[active] = norms
            if M is None:
                Z, rz_next = R_a, rr
            else:
                Z = np.ascontiguousarray(_apply(M, R_a, dtype))
                rz_next = ops.column_dots(R_a, Z)
            info = self._check_rz(rz_next[~leaving])
            if info:
                break
            # a restarted column continues from its steepest-descent direction, as in cg
            beta = np.where(restart | leaving, 0.0, rz_next / np.where(rz > 0, rz, 1.0))
            ops.direction_update(X_a, P, Z, a, beta)
            rz = rz_next
            if leaving.any():
                if X_a is not X:
                    X[:, active[leaving]] = X_a[:, leaving]
                stay = ~leaving
                active, tol_a, rz = active[stay], tol_a[stay], rz[stay]
                X_a = np.ascontiguousarray(X_a[:, stay])
                R_a = np.ascontiguousarray(R_a[:, stay])
                P = np.ascontiguousarray(P[:, stay])
            if self.history is not None:
                self.history.append(resnorm.copy())
            if self.callback is not None:
                if X_a is not X:
                    X[:, active] = X_a
                self.callback(X)
        if active.size and X_a is not X:
            X[:, active] = X_a
        return info, iterations

    @staticmethod
    def _check_rz(rz):
        if not np.all(np.isfinite(rz)):
            return INFO_NONFINITE
        if np.any(rz <= 0):  # rᴴMr <= 0 with r != 0: M is not positive definite (exact test)
            return INFO_M_NOT_POSITIVE_DEFINITE
        return 0


# ---------------------------------------------------------------------------------------------
# Preconditioners
# ---------------------------------------------------------------------------------------------
class _DiagonalInverse(LinearOperator):
    """``x -> x / d`` for a positive diagonal ``d`` (Hermitian positive definite)."""

    def __init__(self, inverse_diagonal):
        self.inverse_diagonal = inverse_diagonal
        n = inverse_diagonal.shape[0]
        super().__init__(dtype=inverse_diagonal.dtype, shape=(n, n))

    def _matvec(self, x):
        return self.inverse_diagonal * np.asarray(x).reshape(-1)

    def _matmat(self, X):
        return self.inverse_diagonal[:, None] * X

    def _adjoint(self):
        return self

    def diagonal(self):
        return self.inverse_diagonal.copy()

    def astype(self, dtype):
        """The same preconditioner in ``dtype`` (the diagonal in its real counterpart)."""
        real = np.finfo(np.dtype(dtype)).dtype
        if real == self.inverse_diagonal.dtype:
            return self
        return _DiagonalInverse(self.inverse_diagonal.astype(real))


def jacobi_preconditioner(A):
    """Jacobi (diagonal) preconditioner ``M = diag(A)^-1`` as a LinearOperator.

    Parameters
    ----------
    A : {ndarray, sparse matrix or array, object with a ``.diagonal()`` method}
        Square matrix, or an operator that can return its diagonal cheaply (for example
        :class:`~hyperlearn.hypergraph.HypergraphOperator` or ``I - alpha * Theta`` built on
        it).  A generic :class:`~scipy.sparse.linalg.LinearOperator` cannot: extracting its
        diagonal would cost n products.

    Returns
    -------
    M : LinearOperator
        Applies ``x -> x / diag(A)`` (``matvec`` and ``matmat``), in the dtype of the diagonal.

    Raises
    ------
    TypeError
        ``A`` has no cheap diagonal.
    ValueError
        ``A`` is not square, or its diagonal has entries that are not positive and finite
        (then ``A`` is not positive definite and ``diag(A)^-1`` is no preconditioner for CG).

    Examples
    --------
    >>> import numpy as np
    >>> from hyperlearn.linalg import cg, jacobi_preconditioner
    >>> A = np.diag([1.0, 10.0, 100.0]) + 0.1
    >>> M = jacobi_preconditioner(A)
    >>> M @ np.array([1.1, 10.1, 100.1])
    array([1., 1., 1.])
    >>> x, info = cg(A, np.ones(3), M=M, rtol=1e-10)
    >>> info
    0
    """
    if isinstance(A, np.ndarray) or issparse(A):
        if A.ndim != 2 or A.shape[0] != A.shape[1]:
            raise ValueError(f"jacobi_preconditioner: `A` must be square; got shape {A.shape}.")
        diagonal = np.asarray(A.diagonal())
    elif callable(getattr(A, "diagonal", None)):
        diagonal = np.asarray(A.diagonal())
        shape = getattr(A, "shape", (diagonal.shape[0],) * 2)
        if len(shape) != 2 or shape[0] != shape[1] or diagonal.shape != (shape[0],):
            raise ValueError(
                f"jacobi_preconditioner: `A.diagonal()` returned shape {diagonal.shape} for "
                f"an operator of shape {shape}; expected ({shape[0]},)."
            )
    else:
        raise TypeError(
            f"jacobi_preconditioner: cannot get the diagonal of `A` of type "
            f"{type(A).__name__} cheaply; pass an ndarray, a scipy sparse matrix/array, or an "
            "operator with a `.diagonal()` method."
        )
    if diagonal.dtype.char not in "fdFD":
        diagonal = diagonal.astype(np.float64)
    if np.iscomplexobj(diagonal):
        if np.any(diagonal.imag != 0):
            raise ValueError(
                "jacobi_preconditioner: the diagonal of a Hermitian `A` must be real; "
                "got complex entries."
            )
        diagonal = diagonal.real
    bad = ~(np.isfinite(diagonal) & (diagonal > 0))
    if np.any(bad):
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"jacobi_preconditioner: diag(A) must be positive and finite; {int(bad.sum())} "
            f"entries are not (first: index {first}, value {diagonal[first]!r})."
        )
    return _DiagonalInverse(1.0 / diagonal)

"""Conjugate-gradient solvers whose success report can be trusted.

:func:`cg` follows the call signature and ``(x, info)`` contract of :func:`scipy.sparse.linalg.cg`
with one deliberate difference: ``info == 0`` is returned only after the TRUE residual
``norm(b - A @ x)`` has been recomputed and meets ``max(rtol * norm(b), atol)``.  :func:`block_cg`
solves for many right-hand sides at once with one operator product per iteration and dispatches
to an engine: block CG (``_cg_block.py``), CG in lockstep (``_cg_lockstep.py`` over the fused
kernels of ``_cg_kernels.py``) or lockstep CG in mixed precision (``_cg_mixed.py``).
:func:`jacobi_preconditioner` builds ``M = diag(A)^-1``.

Every input is validated and coerced in one place, ``_cg_system.make_system``; the solver
loops only apply operators and update vectors.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import issparse

from ..utils._validation import check_choice, check_int
from ._cg_block import DEFAULT_BLOCK_SIZE, BlockCG
from ._cg_lockstep import DEFAULT_BATCHED_WIDTH, BatchedCG
from ._cg_mixed import (
    LOW_PRECISION,
    MixedCG,
    low_precision_operator,
    low_precision_preconditioner,
)
from ._cg_system import (
    INFO_A_NOT_POSITIVE_DEFINITE,
    INFO_M_NOT_POSITIVE_DEFINITE,
    INFO_NONFINITE,
    STAGNATION_FACTOR,
    STAGNATION_LIMIT,
    System,
    _DiagonalInverse,
    apply,
    make_system,
    nonfinite,
)

__all__ = [
    "INFO_A_NOT_POSITIVE_DEFINITE",
    "INFO_M_NOT_POSITIVE_DEFINITE",
    "INFO_NONFINITE",
    "block_cg",
    "cg",
    "jacobi_preconditioner",
]

BLOCK_CG_METHODS = ("auto", "block", "batched")
BLOCK_CG_PRECISIONS = ("working", "mixed")

# method="auto" takes block CG when n <= BLOCK_AUTO_MAX_ROWS_PER_COLUMN * m (block width m):
# block CG then ends in about n / m iterations, far fewer than CG.  See benchmarks/TUNING.md.
BLOCK_AUTO_MAX_ROWS_PER_COLUMN = 100

# method="auto" runs lockstep CG only on at least this many columns, and cg's own loop column
# by column below: a product with a narrow block costs more per column than a matvec, and the
# fused updates do not make up for it.  See benchmarks/TUNING.md.
LOCKSTEP_MIN_COLUMNS = 8


def _choose_method(n, s, block_size):
    """``method="auto"``: block CG where its Krylov space fills R^n early (see
    :data:`BLOCK_AUTO_MAX_ROWS_PER_COLUMN`), otherwise lockstep CG on chunks of at least
    :data:`LOCKSTEP_MIN_COLUMNS` columns, otherwise ``"columns"`` (cg's loop per column)."""
    m = min(s, DEFAULT_BLOCK_SIZE) if block_size is None else min(s, block_size)
    if m > 1 and n <= BLOCK_AUTO_MAX_ROWS_PER_COLUMN * m:
        return "block"
    width = min(s, DEFAULT_BATCHED_WIDTH if block_size is None else block_size)
    return "batched" if width >= LOCKSTEP_MIN_COLUMNS else "columns"


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
        The approximate solution, in the dtype SciPy would use (float32 stays float32),
        except that float16 counts as float32 (the library's one float16 rule): float16
        ``A`` and ``b`` are solved in float32 and give a float32 ``x``.
    info : int
        ``0``: converged, the true residual meets the tolerance.
        ``> 0``: not converged; the number of iterations done.  Returned after ``maxiter``
        iterations, or earlier when residual replacement shows that the true residual has
        stagnated above the tolerance (the attainable accuracy is reached).
        ``-1`` (``INFO_A_NOT_POSITIVE_DEFINITE``): a direction with ``pᴴAp <= 0`` was met.
        ``-2`` (``INFO_M_NOT_POSITIVE_DEFINITE``): a residual with ``rᴴMr <= 0`` was met.
        ``-3`` (``INFO_NONFINITE``): a product with ``A`` or ``M`` produced NaN or infinity
        (with a ``RuntimeWarning`` naming the operator when its product itself was not
        finite).  An explicit ``A`` (ndarray or sparse) is checked before iterating instead
        (ValueError below), so this code comes from a LinearOperator, from ``M`` or from
        overflow.
        On breakdown ``x`` is the last iterate.

    Raises
    ------
    ValueError
        Incompatible shapes, negative or non-numeric ``rtol``/``atol`` (a ValueError as in
        SciPy), ``maxiter < 1``, NaN or infinity in ``b``, ``x0`` or an explicit ``A``
        (ndarray or sparse: its entries are checked once, in O(nnz)), a string ``x0`` other
        than ``'Mb'``; an operator ``A`` or ``M`` whose product returns another number of
        rows than its input has (the message names the operator and both shapes).
    TypeError
        ``A`` or ``M`` not usable as an operator, ``maxiter`` not an integer, ``callback``
        not callable, ``residuals`` not a list, positional arguments after ``x0``.

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
    system = make_system(
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


class _CGState:
    """The vectors of one (preconditioned) CG run and its stagnation guard."""

    def __init__(self, system, history):
        self.sys = system
        self.history = history
        self.x = system.x
        self.tol = float(system.tol)
        self.best_true = np.inf  # smallest true residual norm seen
        self.failed_replacements = 0
        # NumPy in-place updates through one preallocated buffer (no allocation per iteration);
        # SciPy's BLAS wrappers are avoided for a reason given in benchmarks/TUNING.md.
        self.work = np.empty_like(self.x)

    def product(self, op, v, param="A"):
        return apply(op, v, self.sys.dtype, name=self.sys.name, param=param)

    def precondition(self, r):
        """Step 6: ``z = M r`` and ``rho = rᴴz``; returns ``(z, rho, info)``."""
        z = r if self.sys.M is None else self.product(self.sys.M, r, "M")
        rho = np.vdot(r, z).real  # vdot conjugates its first argument
        if not np.isfinite(rho):
            return z, rho, nonfinite(self.sys, "M", None if self.sys.M is None else z)
        if rho <= 0:  # rᴴMr <= 0 with r != 0: M is not positive definite (exact test)
            return z, rho, INFO_M_NOT_POSITIVE_DEFINITE
        return z, rho, 0

    def true_residual(self):
        """The true residual at apparent convergence; returns ``(r, norm, verdict)`` with
        verdict 0 (converged), None (replace the residual and go on) or 1 (stagnated)."""
        r = self.sys.b - self.product(self.sys.A, self.x)
        rnorm = float(np.linalg.norm(r))
        if self.history is not None:
            self.history[-1] = rnorm
        if rnorm <= self.tol:
            return r, rnorm, 0
        # Residual replacement; give up if the true residual no longer improves.
        if rnorm < STAGNATION_FACTOR * self.best_true:
            self.failed_replacements = 0
        else:
            self.failed_replacements += 1
        self.best_true = min(self.best_true, rnorm)
        return r, rnorm, 1 if self.failed_replacements >= STAGNATION_LIMIT else None


def _curvature_check(pq, system, q):
    """Breakdown code of the curvature ``pᴴAp`` (0 when finite and positive)."""
    if not np.isfinite(pq):
        return nonfinite(system, "A", q)
    if pq <= 0:  # pᴴAp <= 0 with p != 0: A is not positive definite (exact test)
        return INFO_A_NOT_POSITIVE_DEFINITE
    return 0


def _cg_loop(system, callback, history):
    """Saad's Algorithm 9.1 with the true-residual check (step numbers as in :func:`cg`)."""
    if system.bnorm == 0:
        # A is positive definite, so A x = 0 has the unique solution 0 (SciPy returns zeros too).
        if history is not None:
            history[:] = [0.0]
        return np.zeros_like(system.b), 0
    st = _CGState(system, history)
    x, work = st.x, st.work
    # Step 1: r_0 = b - A x_0 (a true residual).
    r = system.b - st.product(system.A, x) if x.any() else system.b.copy()
    rnorm = float(np.linalg.norm(r))
    st.best_true = rnorm
    if history is not None:
        history[:] = [rnorm]
    if rnorm <= st.tol:
        return x, 0
    z, rho, info = st.precondition(r)
    if info:
        return x, info
    p = z.copy()
    iteration = 0
    while True:  # Step 2
        q = st.product(system.A, p)
        pq = np.vdot(p, q).real
        info = _curvature_check(pq, system, q)
        if info:
            return x, info
        alpha = rho / pq  # Step 3
        x += np.multiply(p, alpha, out=work)  # Step 4
        r -= np.multiply(q, alpha, out=work)  # Step 5
        iteration += 1
        rnorm = float(np.linalg.norm(r))
        if history is not None:
            history.append(rnorm)
        if callback is not None:
            callback(x)
        restart = rnorm <= st.tol
        if restart:  # apparent convergence: check the true residual (one extra product)
            r, rnorm, verdict = st.true_residual()
            if verdict is not None:
                return x, 0 if verdict == 0 else iteration
        if iteration >= system.maxiter:
            return x, iteration
        z, rho_next, info = st.precondition(r)  # Step 6
        if info:
            return x, info
        if restart:
            # The replaced residual is not orthogonal to the earlier ones, so Step 7's beta
            # would not make p A-conjugate: restart from the steepest-descent direction.
            p = z.copy()
        else:
            p *= rho_next / rho  # Steps 7-8
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
        then ends in far fewer iterations than CG: at most about n / m; the rule of
        ``BLOCK_AUTO_MAX_ROWS_PER_COLUMN``), otherwise ``"batched"`` when the lockstep chunks
        have at least ``LOCKSTEP_MIN_COLUMNS`` = 8 columns, and otherwise solves the columns
        one after another by :func:`cg`'s loop (a product with fewer columns costs more per
        column than a matvec).  With ``precision="mixed"`` the lockstep method always runs
        ("block" is refused).
    precision : {"working", "mixed"}, default="working"
        ``"working"``: every operation in the dtype of the solution.  ``"mixed"`` (float64
        or complex128 systems): the CG iterations run in float32 (complex64) -- products
        with a float32 copy of ``A`` and ``M``, half the memory traffic -- while the iterate
        is accumulated in float64 and the true residual recomputed in float64 at "reliable
        updates" (Notes), so the result meets the same float64 tolerance as ``"working"``
        with the same ``info`` contract.  ``A`` is cast if it is an ndarray or a sparse
        matrix, or through its ``astype(dtype)`` method (``HypergraphOperator``, the
        operator of :func:`shifted`); ``M`` likewise, or else is applied in its own precision to
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
        Approximate solutions, in the dtype of :func:`cg` (SciPy's rule, float16 counted
        as float32).
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
        As :func:`cg`, for the same kinds of invalid input (misbehaving operators included);
        also ``block_size`` not an integer >= 1 (TypeError / ValueError), an unknown
        ``method`` or ``precision``; with ``precision="mixed"`` (float64 systems):
        ``method="block"``, or an operator ``A`` that cannot be cast (a LinearOperator
        without ``astype``: build ``I − αΘ`` with :func:`shifted`).

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
        convergence instead of restarting it at every refinement step, as classical
        iterative refinement does.
    M5. :math:`\\beta` uses the rescaled :math:`r^H z` of the last iteration.
    M6. Columns whose true residual fails ``STAGNATION_LIMIT`` consecutive updates without
        falling below ``MIXED_MIN_REDUCTION`` times its best, or that break down in float32,
        are solved by float64 lockstep CG from their current iterate (the rest of
        ``maxiter``).  So ``info == 0`` still means every TRUE float64 residual met its
        tolerance, and ``info > 0`` is returned when the budget ran out first.

    Each float32 iteration costs about half a float64 one (the product gathers rows of half
    the width; the vector updates move half the bytes); the float64 work is one product per
    column per update (about ``log(rtol) / log(MIXED_RELIABLE_UPDATE) + 1`` of them).  It
    pays less, or loses, where float32 CG needs more iterations than float64 CG (large κ with
    tight tolerances) and on small problems whose per-iteration overheads dominate.

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
    system = make_system(
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
    block_size = check_int(block_size, "block_size", low=1, allow=(None,))
    method = check_choice(method, "method", BLOCK_CG_METHODS)
    precision = check_choice(precision, "precision", BLOCK_CG_PRECISIONS)
    if precision == "mixed" and system.dtype in LOW_PRECISION:
        if method == "block":
            raise ValueError(
                "block_cg: precision='mixed' runs the lockstep method; got method='block' "
                "(expected 'auto' or 'batched')."
            )
        low = LOW_PRECISION[system.dtype]
        A_low = low_precision_operator(A, low)
        M_low = low_precision_preconditioner(M, system.M, low)
        X, info = MixedCG(system, A_low, M_low, block_size, callback, residuals).run()
    else:
        if method == "auto":
            method = _choose_method(system.b.shape[0], system.b.shape[1], block_size)
        X, info = _working_solve(system, method, block_size, callback, residuals)
    return (X.reshape(-1) if system.squeeze else X), info


def _working_solve(system, method, block_size, callback, history):
    """The solve in the system's own dtype by ``method`` ("block", "batched" or "columns")."""
    s = system.b.shape[1]
    if method == "columns":
        return _columns_by_cg(system, callback, history)
    if method == "batched":
        width = DEFAULT_BATCHED_WIDTH if block_size is None else int(block_size)
        return BatchedCG(system, width, callback, history).run()
    width = max(1, min(s, DEFAULT_BLOCK_SIZE)) if block_size is None else int(block_size)
    if width == 1:
        return _columns_by_cg(system, callback, history)
    return BlockCG(system, width, callback, history).run()


def _columns_by_cg(system, callback, history):
    """``block_size == 1``: the columns one after another by :func:`cg`'s loop.

    Same results and contract as a block of width 1, without the s x s machinery (eigh and
    Gram products of 1 x 1 matrices cost more than the vector work at this width).
    """
    X, s = system.x, system.b.shape[1]
    norms = system.bnorm.copy()
    if X.any():
        norms = np.linalg.norm(
            system.b - apply(system.A, X, system.dtype, name=system.name), axis=0
        )
    log = [norms.copy()]
    info, iterations, all_converged = 0, 0, True
    for j in range(s):
        column = System(
            system.A,
            system.M,
            np.ascontiguousarray(X[:, j]),
            system.b[:, j].copy(),
            system.bnorm[j],
            system.tol[j],
            system.maxiter,
            system.dtype,
            False,
            system.name,
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


# ---------------------------------------------------------------------------------------------
# Preconditioners
# ---------------------------------------------------------------------------------------------
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
